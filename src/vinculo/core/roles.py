"""Roles: per-module rights and a visibility scope (own / team / all).

Kept as code, not rows, so every workspace has the same well-understood roles and the access
checks need no query. `core.access` is the only module that interprets them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    ADMIN = "admin", _("Admin")
    MANAGER = "manager", _("Manager")
    SALES = "sales", _("Sales")
    MARKETING = "marketing", _("Marketing")
    SERVICE = "service", _("Service")
    READ_ONLY = "read_only", _("Read-only")


class Scope(StrEnum):
    OWN = "own"
    TEAM = "team"
    ALL = "all"


class Right(StrEnum):
    VIEW = "view"
    CREATE = "create"
    EDIT = "edit"
    DELETE = "delete"


# Modules are the areas a right applies to; later apps add theirs here. Tags are their own
# module so managers can curate them without holding the workspace's other settings. Privacy
# (a person's data export and erasure under LGPD/GDPR) is kept to admins and managers.
# Sales: leads, deals (pipelines, deals, quotes and orders), products (catalogue and price
# lists), forecasts (forecasts, quotas and pipeline analytics); automation rules; web forms.
MODULES = (
    "contacts",
    "accounts",
    "timeline",
    "tags",
    "privacy",
    "settings",
    "leads",
    "deals",
    "products",
    "forecasts",
    "automation",
    "webforms",
)

ALL_RIGHTS = frozenset(Right)
VIEW_ONLY = frozenset({Right.VIEW})
WORK = frozenset({Right.VIEW, Right.CREATE, Right.EDIT})


@dataclass(frozen=True)
class RoleSpec:
    scope: Scope
    rights: dict[str, frozenset[Right]]

    def allows(self, module: str, right: Right) -> bool:
        return right in self.rights.get(module, frozenset())


ROLE_SPECS: dict[str, RoleSpec] = {
    Role.ADMIN: RoleSpec(Scope.ALL, dict.fromkeys(MODULES, ALL_RIGHTS)),
    Role.MANAGER: RoleSpec(
        Scope.ALL,
        {
            "contacts": ALL_RIGHTS,
            "accounts": ALL_RIGHTS,
            "timeline": ALL_RIGHTS,
            "tags": ALL_RIGHTS,
            "privacy": ALL_RIGHTS,
            "settings": VIEW_ONLY,
            "leads": ALL_RIGHTS,
            "deals": ALL_RIGHTS,
            "products": ALL_RIGHTS,
            "forecasts": ALL_RIGHTS,
            "automation": ALL_RIGHTS,
            "webforms": ALL_RIGHTS,
        },
    ),
    Role.SALES: RoleSpec(
        Scope.TEAM,
        {
            "contacts": WORK,
            "accounts": WORK,
            "timeline": ALL_RIGHTS,
            "leads": WORK,
            "deals": WORK,
            "products": VIEW_ONLY,
            "forecasts": VIEW_ONLY,
        },
    ),
    Role.MARKETING: RoleSpec(
        Scope.ALL,
        {
            "contacts": WORK,
            "accounts": WORK,
            "timeline": WORK,
            "leads": WORK,
            "deals": VIEW_ONLY,
            "products": VIEW_ONLY,
            "webforms": ALL_RIGHTS,
            "automation": WORK,
        },
    ),
    Role.SERVICE: RoleSpec(
        Scope.ALL,
        {
            "contacts": WORK,
            "accounts": VIEW_ONLY,
            "timeline": ALL_RIGHTS,
            "deals": VIEW_ONLY,
            "products": VIEW_ONLY,
        },
    ),
    Role.READ_ONLY: RoleSpec(
        Scope.ALL,
        {
            "contacts": VIEW_ONLY,
            "accounts": VIEW_ONLY,
            "timeline": VIEW_ONLY,
            "leads": VIEW_ONLY,
            "deals": VIEW_ONLY,
            "products": VIEW_ONLY,
            "forecasts": VIEW_ONLY,
        },
    ),
}
