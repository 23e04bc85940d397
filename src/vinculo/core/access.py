"""Record access: who may do what, and which records they see. The only place that reads roles.

Selectors call `visible(...)`; services call `require(...)`. The UI and the API never filter on
their own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from django.db.models import Q, QuerySet

from vinculo.core.exceptions import PermissionDenied
from vinculo.core.models import Membership, Team, TeamMember
from vinculo.core.roles import ROLE_SPECS, Right, RoleSpec, Scope

if TYPE_CHECKING:
    from vinculo.core.models import User, Workspace

Q_ = TypeVar("Q_", bound=QuerySet)

_CACHE_ATTR = "_vinculo_memberships"


def membership_for(*, workspace: Workspace, user: User | None) -> Membership | None:
    """The user's active membership, cached on the user object for the request's lifetime."""
    if user is None or not user.is_authenticated:
        return None
    cache: dict[int, Membership | None] = user.__dict__.setdefault(_CACHE_ATTR, {})
    if workspace.pk not in cache:
        cache[workspace.pk] = (
            Membership.objects.for_workspace(workspace).filter(user=user, is_active=True).first()
        )
    return cache[workspace.pk]


def remember_membership(*, user: User, workspace: Workspace, membership: Membership | None) -> None:
    """Seed the per-request cache with a membership already loaded (API key authentication reads
    it anyway), so the access checks of the same request ask the database no second time."""
    user.__dict__.setdefault(_CACHE_ATTR, {})[workspace.pk] = membership


def role_spec(*, workspace: Workspace, user: User | None) -> RoleSpec | None:
    membership = membership_for(workspace=workspace, user=user)
    return ROLE_SPECS.get(membership.role) if membership else None


def can(*, workspace: Workspace, user: User | None, module: str, right: Right | str) -> bool:
    spec = role_spec(workspace=workspace, user=user)
    return spec is not None and spec.allows(module, Right(right))


def require(*, workspace: Workspace, user: User | None, module: str, right: Right | str) -> None:
    """Raise `PermissionDenied` unless the user holds `right` on `module`. A None user is the
    system itself (tasks, automations, demo data) and may do anything."""
    if user is None:
        return
    if not can(workspace=workspace, user=user, module=module, right=right):
        raise PermissionDenied(f"Your role does not allow {right} on {module}.")


def team_user_ids(*, workspace: Workspace, user: User) -> list[int]:
    """The user and everyone sharing a team with them, leads included (a lead need not be a
    member of the team they lead). One query."""
    teams = Team.objects.for_workspace(workspace).filter(Q(members__user=user) | Q(lead=user))
    team_ids = teams.values("id")
    members = (
        TeamMember.objects.for_workspace(workspace)
        .filter(team_id__in=team_ids)
        .values_list("user_id", flat=True)
    )
    leads = (
        Team.objects.for_workspace(workspace)
        .filter(id__in=team_ids, lead__isnull=False)
        .values_list("lead_id", flat=True)
    )
    ids = set(members.union(leads))
    ids.add(user.pk)
    return sorted(ids)


def visible(
    qs: Q_, *, workspace: Workspace, viewer: User | None, module: str, owner_field: str = "owner"
) -> Q_:
    """Narrow `qs` to what `viewer` may see in `module`. None viewer: the system, sees all.

    A viewer without view rights sees nothing (an empty queryset, not an error), so that lists
    answer with no items and details with 404, exactly as for records that do not exist.
    """
    if viewer is None:
        return qs
    spec = role_spec(workspace=workspace, user=viewer)
    if spec is None or not spec.allows(module, Right.VIEW):
        return qs.none()
    if spec.scope == Scope.ALL:
        return qs
    if spec.scope == Scope.OWN:
        return qs.filter(Q(**{owner_field: viewer.pk}))
    # Unowned records are the team's shared pool, so a team scope sees them too.
    team = team_user_ids(workspace=workspace, user=viewer)
    return qs.filter(Q(**{f"{owner_field}__in": team}) | Q(**{f"{owner_field}__isnull": True}))
