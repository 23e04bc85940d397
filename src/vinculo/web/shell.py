"""What every page of the app shell shows: navigation, workspaces, the user's preferences.

The context processor hands templates a `ShellContext` whose parts are computed on first use:
htmx partials (a search dropdown, a table body) never touch `shell` and so cost no query for it.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from functools import cache, cached_property
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
    icon: str = "dot"


# (url name, label, module needed to see it). Later modules append theirs; an entry whose
# URL does not exist yet is left out, so the sidebar never shows a dead link.
NAV_ENTRIES: list[tuple[str, Any, str | None]] = [
    ("home", _("Home"), None),
    ("contacts:list", _("Contacts"), "contacts"),
    ("contacts:accounts", _("Accounts"), "accounts"),
    ("sales:lead_list", _("Leads"), "leads"),
    ("sales:deal_board", _("Deals"), "deals"),
    ("sales:quote_list", _("Quotes"), "deals"),
    ("sales:order_list", _("Orders"), "deals"),
    ("sales:forecast", _("Forecast"), "forecasts"),
    ("timeline:my_tasks", _("My tasks"), "timeline"),
    ("marketing:webform_list", _("Web forms"), "webforms"),
    ("automation:rule_list", _("Automation"), "automation"),
    ("settings:index", _("Settings"), "settings"),
]

# The icon (a name known to the <c-icon> component) of each navigation entry; entries without
# one get a neutral dot. Later modules add theirs next to their NAV_ENTRIES line.
NAV_ICONS: dict[str, str] = {
    "home": "home",
    "contacts:list": "users",
    "contacts:accounts": "building",
    "timeline:my_tasks": "check",
    "sales:lead_list": "inbox",
    "sales:deal_board": "kanban",
    "sales:quote_list": "file",
    "sales:order_list": "cart",
    "sales:forecast": "chart",
    "marketing:webform_list": "form",
    "automation:rule_list": "bolt",
    "settings:index": "settings",
}


MENU_TIME_ZONES = (
    "America/Sao_Paulo",
    "America/Manaus",
    "America/Recife",
    "America/Noronha",
    "America/Rio_Branco",
    "UTC",
)


@cache
def common_time_zones() -> list[str]:
    preferred = list(MENU_TIME_ZONES)
    rest = sorted(
        z
        for z in zoneinfo.available_timezones()
        if "/" in z and not z.startswith(("Etc/", "SystemV/"))
    )
    return preferred + [z for z in rest if z not in preferred]


def _is_active(path: str, url: str) -> bool:
    if url == "/":
        return path == "/"
    return path == url or path.startswith(url.rstrip("/") + "/")


def _nav(request: HttpRequest, user: User, workspace: Workspace | None) -> list[NavItem]:
    # A page belongs to an entry when it sits under the entry's path *and* in its URL namespace:
    # /accounts/2fa/ (allauth) is under /accounts/ but is not the Accounts module.
    match = request.resolver_match
    current_namespace = match.namespace if match is not None else None
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
        items.append(
            NavItem(
                label=str(label),
                url=url,
                active=_is_active(request.path, url)
                and name.rpartition(":")[0] == current_namespace,
                icon=NAV_ICONS.get(name, "dot"),
            )
        )
    # Only the most specific entry is current (a /contacts/accounts/ page is not "Contacts").
    active = [i for i in items if i.active]
    if len(active) > 1:
        keep = max(active, key=lambda i: len(i.url))
        items = [
            NavItem(i.label, i.url, i is keep, i.section, i.icon) if i.active else i for i in items
        ]
    return items


class ShellContext:
    """The shell's parts for one request, each computed when a template first reads it."""

    def __init__(self, request: HttpRequest, user: User, workspace: Workspace | None) -> None:
        self._request = request
        self._user = user
        self._workspace = workspace

    @cached_property
    def nav(self) -> list[NavItem]:
        return _nav(self._request, self._user, self._workspace)

    @cached_property
    def workspaces(self) -> list[Workspace]:
        return [
            m.workspace
            for m in Membership.all_tenants.filter(user=self._user, is_active=True)
            .select_related("workspace")
            .order_by("workspace__name")
        ]

    @cached_property
    def initials(self) -> str:
        name = self._user.display_name
        return "".join(part[0] for part in name.split()[:2]).upper() or "?"

    @cached_property
    def role_label(self) -> str:
        if self._workspace is None:
            return ""
        membership = membership_for(workspace=self._workspace, user=self._user)
        return str(Role(membership.role).label) if membership else ""

    @cached_property
    def time_zones(self) -> list[str]:
        """The zones the user menu offers: Brazil's and UTC, plus the one in use. The full list
        (hundreds) lives on the preferences page rather than in every page's HTML."""
        zones = list(MENU_TIME_ZONES)
        if self.time_zone not in zones:
            zones.insert(0, self.time_zone)
        return zones

    @cached_property
    def time_zone(self) -> str:
        return timezone.get_current_timezone_name()

    @cached_property
    def search_query(self) -> str:
        """What the top-bar search box shows: the query of the search page being viewed."""
        match = self._request.resolver_match
        if match is not None and match.view_name == "web:search":
            return self._request.GET.get("q", "")[:200]
        return ""


def shell(request: HttpRequest) -> dict[str, Any]:
    if not request.user.is_authenticated:
        return {}
    user = cast(User, request.user)
    workspace: Workspace | None = getattr(request, "workspace", None)
    return {"workspace": workspace, "shell": ShellContext(request, user, workspace)}
