"""Reads of the core: tags, custom-field definitions, API keys and the caller's own context.

Each one applies record access itself, so the API and the pages never filter on their own.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from django.db.models.functions import Lower

from vinculo.core.access import can, membership_for, require
from vinculo.core.exceptions import NotFound, PermissionDenied
from vinculo.core.models import (
    ApiKey,
    CustomFieldDefinition,
    CustomFieldObject,
    Tag,
    User,
    Workspace,
)
from vinculo.core.pagination import Page, keyset_page
from vinculo.core.roles import MODULES, Right

# The module whose view right lets a member read the field definitions of each object.
CUSTOMFIELD_OBJECT_MODULES = {
    CustomFieldObject.CONTACT: "contacts",
    CustomFieldObject.ACCOUNT: "accounts",
    CustomFieldObject.LEAD: "leads",
}


def _valid_id(value: int) -> int | None:
    # Ids outside a signed 64-bit integer cannot exist; asking the database would overflow.
    return value if 0 < value < 2**63 else None


def _require_tag_reader(*, workspace: Workspace, viewer: User | None) -> None:
    # Tags are picked on contacts and accounts, so whoever sees contacts sees the tag list.
    if viewer is None or can(workspace=workspace, user=viewer, module="contacts", right="view"):
        return
    require(workspace=workspace, user=viewer, module="tags", right=Right.VIEW)


def tag_list(
    *,
    workspace: Workspace,
    viewer: User | None,
    q: str = "",
    deleted: bool = False,
    after: str | None = None,
    limit: int = 50,
) -> Page[Tag]:
    """Tags by name (case-insensitive), live ones or, with `deleted`, those in the bin. `q`
    matches any part of the name, ignoring case."""
    _require_tag_reader(workspace=workspace, viewer=viewer)
    qs = Tag.objects.for_workspace(workspace).filter(deleted_at__isnull=not deleted)
    # Control characters cannot be in a name (and PostgreSQL refuses NUL in a pattern).
    q = " ".join("".join(ch for ch in q if unicodedata.category(ch) != "Cc").split())
    if q:
        qs = qs.filter(name__icontains=q)
    # Lower(name) is what the unique index holds, so the sort walks that index.
    qs = qs.annotate(name_key=Lower("name"))
    return keyset_page(qs, order=["name_key", "id"], after=after, limit=limit)


def tag_get(*, workspace: Workspace, viewer: User | None, tag_id: int) -> Tag:
    """One tag, deleted or not (its `deleted_at` says which)."""
    _require_tag_reader(workspace=workspace, viewer=viewer)
    pk = _valid_id(tag_id)
    tag = Tag.objects.for_workspace(workspace).filter(pk=pk).first() if pk else None
    if tag is None:
        raise NotFound("No such tag.")
    return tag


def _readable_object_types(*, workspace: Workspace, viewer: User | None) -> list[str]:
    if viewer is None or can(workspace=workspace, user=viewer, module="settings", right="view"):
        return list(CustomFieldObject.values)
    return [
        object_type
        for object_type, module in CUSTOMFIELD_OBJECT_MODULES.items()
        if can(workspace=workspace, user=viewer, module=module, right="view")
    ]


def customfield_list(
    *,
    workspace: Workspace,
    viewer: User | None,
    object_type: str | None = None,
    deleted: bool = False,
    after: str | None = None,
    limit: int = 50,
) -> Page[CustomFieldDefinition]:
    """Field definitions in form order (object, position), of the objects the viewer may see:
    settings viewers see all; others those of the objects they can view."""
    readable = _readable_object_types(workspace=workspace, viewer=viewer)
    if object_type is not None:
        readable = [t for t in readable if t == object_type]
    qs = CustomFieldDefinition.objects.for_workspace(workspace).filter(
        object_type__in=readable, deleted_at__isnull=not deleted
    )
    return keyset_page(qs, order=["object_type", "position", "id"], after=after, limit=limit)


def customfield_get(
    *, workspace: Workspace, viewer: User | None, field_id: int
) -> CustomFieldDefinition:
    readable = _readable_object_types(workspace=workspace, viewer=viewer)
    pk = _valid_id(field_id)
    qs = CustomFieldDefinition.objects.for_workspace(workspace).filter(object_type__in=readable)
    definition = qs.filter(pk=pk).first() if pk else None
    if definition is None:
        raise NotFound("No such custom field.")
    return definition


def apikey_list(
    *,
    workspace: Workspace,
    viewer: User,
    everyone: bool = False,
    after: str | None = None,
    limit: int = 50,
) -> Page[ApiKey]:
    """The viewer's keys in this workspace, newest first, revoked ones included. With
    `everyone`, every member's keys: for those who may edit settings (admins), who may revoke
    them."""
    qs = ApiKey.objects.for_workspace(workspace).select_related("user")
    if everyone:
        if not can(workspace=workspace, user=viewer, module="settings", right=Right.EDIT):
            raise PermissionDenied("Only admins may list every member's API keys.")
    else:
        qs = qs.filter(user=viewer)
    return keyset_page(qs, order=["-created_at", "-id"], after=after, limit=limit)


@dataclass(frozen=True)
class Me:
    user: User
    workspace: Workspace
    role: str
    rights: dict[str, list[str]]


def me_get(*, workspace: Workspace, user: User) -> Me:
    """Who is calling, in which workspace, with which role and rights per module."""
    membership = membership_for(workspace=workspace, user=user)
    if membership is None:
        raise PermissionDenied("You are not a member of this workspace.")
    rights = {
        module: [
            right.value
            for right in Right
            if can(workspace=workspace, user=user, module=module, right=right)
        ]
        for module in MODULES
    }
    return Me(user=user, workspace=workspace, role=membership.role, rights=rights)


# --- the settings area: sections, workspace, members, invitations, teams ---------------------
from django.db.models import Prefetch, QuerySet  # noqa: E402

from vinculo.core.models import Invitation, Membership, Team, TeamMember  # noqa: E402

# Each settings section with the module whose view right opens it; None: every member (their
# own API keys). Order is the order of the sub-navigation.
SETTINGS_SECTIONS: tuple[tuple[str, str | None], ...] = (
    ("workspace", "settings"),
    ("users", "settings"),
    ("teams", "settings"),
    ("custom_fields", "settings"),
    ("tags", "tags"),
    ("api_keys", None),
)


@dataclass(frozen=True)
class SettingsAccess:
    """What the viewer may open and change in the settings area."""

    sections: list[str]
    manage_settings: bool
    manage_tags: bool
    manage_all_api_keys: bool


def settings_access(*, workspace: Workspace, viewer: User) -> SettingsAccess:
    """The sections of the settings area the viewer may open, in navigation order, and what
    they may change there. PermissionDenied for someone who is not an active member."""
    if membership_for(workspace=workspace, user=viewer) is None:
        raise PermissionDenied("You are not a member of this workspace.")
    sections = [
        name
        for name, module in SETTINGS_SECTIONS
        if module is None or can(workspace=workspace, user=viewer, module=module, right="view")
    ]
    edit_settings = can(workspace=workspace, user=viewer, module="settings", right=Right.EDIT)
    return SettingsAccess(
        sections=sections,
        manage_settings=edit_settings,
        manage_tags=can(workspace=workspace, user=viewer, module="tags", right=Right.EDIT),
        manage_all_api_keys=edit_settings,
    )


def membership_list(
    *,
    workspace: Workspace,
    viewer: User | None,
    active_only: bool = False,
    after: str | None = None,
    limit: int = 100,
) -> Page[Membership]:
    """The workspace's members with their users, by email; deactivated ones too unless
    `active_only`. For settings viewers (admins, managers)."""
    require(workspace=workspace, user=viewer, module="settings", right=Right.VIEW)
    qs = Membership.objects.for_workspace(workspace).select_related("user")
    if active_only:
        qs = qs.filter(is_active=True)
    return keyset_page(qs, order=["user__email", "id"], after=after, limit=limit)


def invitation_list(
    *, workspace: Workspace, viewer: User | None, after: str | None = None, limit: int = 100
) -> Page[Invitation]:
    """Invitations neither accepted nor revoked (expired ones included, to send again), newest
    first, with who sent them."""
    require(workspace=workspace, user=viewer, module="settings", right=Right.VIEW)
    qs = (
        Invitation.objects.for_workspace(workspace)
        .filter(accepted_at__isnull=True, revoked_at__isnull=True)
        .select_related("invited_by")
    )
    return keyset_page(qs, order=["-created_at", "-id"], after=after, limit=limit)


def _teams(workspace: Workspace) -> QuerySet[Team]:
    members = TeamMember.objects.for_workspace(workspace).select_related("user")
    return (
        Team.objects.for_workspace(workspace)
        .select_related("lead")
        .prefetch_related(Prefetch("members", queryset=members.order_by("user__email")))
    )


def team_list(
    *, workspace: Workspace, viewer: User | None, after: str | None = None, limit: int = 100
) -> Page[Team]:
    """Teams by name with their lead and members (two queries for any number of teams)."""
    require(workspace=workspace, user=viewer, module="settings", right=Right.VIEW)
    qs = _teams(workspace).annotate(name_key=Lower("name"))
    return keyset_page(qs, order=["name_key", "id"], after=after, limit=limit)


def team_get(*, workspace: Workspace, viewer: User | None, team_id: int) -> Team:
    require(workspace=workspace, user=viewer, module="settings", right=Right.VIEW)
    pk = _valid_id(team_id)
    team = _teams(workspace).filter(pk=pk).first() if pk else None
    if team is None:
        raise NotFound("No such team.")
    return team


@dataclass(frozen=True)
class InvitationLink:
    """An open invitation reached by its link, and whether its email already has an account
    (who must then log in as it to accept)."""

    invitation: Invitation
    account_exists: bool


def invitation_by_token(*, token: str) -> InvitationLink:
    """The invitation a link's token opens. NotFound for an unknown token; InvitationUnusable
    (with code expired / revoked / accepted) for one that can no longer be used."""
    from vinculo.core.services import invitation_check

    invitation = invitation_check(token)
    exists = User.objects.filter(email__iexact=invitation.email).exists()
    return InvitationLink(invitation=invitation, account_exists=exists)
