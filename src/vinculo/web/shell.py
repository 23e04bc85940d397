"""What every page of the app shell shows: navigation, workspaces, the user's preferences."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from functools import cache
from typing import Any, cast

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from vinculo.core.access import can, membership_for
from vinculo.core.models import Membership, User, Workspace
from vinculo.core.roles import Role


@dataclass(frozen=True)
class NavItem:
    label: str
    url: str
    active: bool = False
    section: str = ""


# (url name, label, module needed to see it). Later modules append theirs; an entry whose
# URL does not exist yet is left out, so the sidebar never shows a dead link.
NAV_ENTRIES: list[tuple[str, Any, str | None]] = [
    ("home", _("Home"), None),
    ("contacts:list", _("Contacts"), "contacts"),
    ("contacts:accounts", _("Accounts"), "accounts"),
    ("timeline:my_tasks", _("My tasks"), "timeline"),
    ("settings:index", _("Settings"), "settings"),
]


@cache
def common_time_zones() -> list[str]:
    preferred = ["America/Sao_Paulo", "America/Manaus", "America/Recife", "America/Noronha", "UTC"]
    rest = sorted(
        z
        for z in zoneinfo.available_timezones()
        if "/" in z and not z.startswith(("Etc/", "SystemV/"))
    )
    return preferred + [z for z in rest if z not in preferred]


def _nav(request: HttpRequest, user: User, workspace: Workspace | None) -> list[NavItem]:
    items = []
    for name, label, module in NAV_ENTRIES:
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        if module and (
            workspace is None
            or not can(workspace=workspace, user=user, module=module, right="view")
        ):
            continue
        active = request.path == url if url == "/" else request.path.startswith(url)
        items.append(NavItem(label=str(label), url=url, active=active))
    return items


def shell(request: HttpRequest) -> dict[str, Any]:
    if not request.user.is_authenticated:
        return {}
    user = cast(User, request.user)
    workspace: Workspace | None = getattr(request, "workspace", None)
    membership = membership_for(workspace=workspace, user=user) if workspace else None
    workspaces = [
        m.workspace
        for m in Membership.all_tenants.filter(user=user, is_active=True)
        .select_related("workspace")
        .order_by("workspace__name")
    ]
    name = user.display_name
    initials = "".join(part[0] for part in name.split()[:2]).upper() or "?"
    return {
        "workspace": workspace,
        "shell": {
            "nav": _nav(request, user, workspace),
            "workspaces": workspaces,
            "initials": initials,
            "role_label": Role(membership.role).label if membership else "",
            "time_zones": common_time_zones(),
            "time_zone": timezone.get_current_timezone_name(),
        },
    }
