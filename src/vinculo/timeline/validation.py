"""Field checks shared by the timeline's services.

Each check appends to an `ErrorCollector` instead of raising, so one write reports every bad
field at once; the services raise after the last check. Field names are the ones callers send
(`contact_id`, `due_at`), so a form or an API client can put each message next to its input.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import models
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from vinculo.contacts.models import Account, Contact
from vinculo.core.access import visible
from vinculo.core.exceptions import ErrorCollector
from vinculo.core.models import Membership, User, Workspace
from vinculo.sales.models import Deal, Lead

# TextFields have no length in the database; these caps keep one row from swallowing the
# request budget (an interaction body is a summary; full email bodies live with the email).
MAX_BODY_LENGTH = 100_000


def field_max_length(model: type[models.Model], name: str) -> int:
    max_length = model._meta.get_field(name).max_length  # type: ignore[union-attr]
    return int(max_length) if max_length else MAX_BODY_LENGTH


def clean_text(
    errors: ErrorCollector,
    name: str,
    value: Any,
    *,
    max_length: int,
    required: bool = False,
    strip: bool = True,
) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors.add(name, "invalid", "Must be text.")
        return ""
    if strip:
        value = value.strip()
    if required and not value.strip():
        errors.add(name, "required", "This field is required.")
    elif len(value) > max_length:
        errors.add(name, "too-long", f"At most {max_length} characters (got {len(value)}).")
    return value


def clean_choice(
    errors: ErrorCollector,
    name: str,
    value: Any,
    *,
    choices: type[models.TextChoices],
    required: bool = True,
) -> str:
    if value is None or value == "":
        if required:
            errors.add(name, "required", "This field is required.")
        return ""
    allowed = list(choices.values)
    if value not in allowed:
        errors.add(name, "invalid-choice", f"Must be one of: {', '.join(allowed)}.")
        return ""
    return str(value)


def workspace_zone(workspace: Workspace) -> dt.tzinfo:
    try:
        return ZoneInfo(workspace.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def clean_datetime(
    errors: ErrorCollector,
    name: str,
    value: Any,
    *,
    workspace: Workspace,
    required: bool = False,
) -> dt.datetime | None:
    """An aware datetime. A time without an offset is read in the workspace's time zone: that
    is what a person typing "10:00" in the CRM means."""
    if value is None or value == "":
        if required:
            errors.add(name, "required", "This field is required.")
        return None
    if isinstance(value, str):
        parsed = parse_datetime(value.strip())
        if parsed is None:
            errors.add(name, "invalid", "Must be a date and time (ISO 8601).")
            return None
        value = parsed
    if not isinstance(value, dt.datetime):
        errors.add(name, "invalid", "Must be a date and time (ISO 8601).")
        return None
    if timezone.is_naive(value):
        value = timezone.make_aware(value, workspace_zone(workspace))
    return value


# PositiveIntegerField's range on every backend we support.
MAX_DURATION_SECONDS = 2_147_483_647


def clean_duration(errors: ErrorCollector, name: str, value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        errors.add(name, "invalid", "Must be a whole number of seconds.")
        return None
    if value < 0:
        errors.add(name, "negative", "Cannot be negative.")
        return None
    if value > MAX_DURATION_SECONDS:
        errors.add(name, "too-large", f"At most {MAX_DURATION_SECONDS} seconds.")
        return None
    return value


def clean_bool(errors: ErrorCollector, name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        errors.add(name, "invalid", "Must be true or false.")
        return False
    return value


def _clean_id(errors: ErrorCollector, name: str, value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        errors.add(name, "invalid", "Must be a positive integer id.")
        return None
    return value


def clean_contact(
    errors: ErrorCollector, name: str, value: Any, *, workspace: Workspace, actor: User | None
) -> Contact | None:
    """A live contact of this workspace that the actor may see. A contact of another workspace
    gets the same answer as one that never existed, so ids do not leak across tenants."""
    pk = _clean_id(errors, name, value)
    if pk is None:
        return None
    qs = Contact.objects.for_workspace(workspace).filter(pk=pk, deleted_at__isnull=True)
    contact = visible(qs, workspace=workspace, viewer=actor, module="contacts").first()
    if contact is None:
        errors.add(name, "not-found", f"There is no contact {pk} in this workspace.")
    return contact


def clean_account(
    errors: ErrorCollector, name: str, value: Any, *, workspace: Workspace, actor: User | None
) -> Account | None:
    pk = _clean_id(errors, name, value)
    if pk is None:
        return None
    qs = Account.objects.for_workspace(workspace).filter(pk=pk, deleted_at__isnull=True)
    account = visible(qs, workspace=workspace, viewer=actor, module="accounts").first()
    if account is None:
        errors.add(name, "not-found", f"There is no account {pk} in this workspace.")
    return account


def clean_lead(
    errors: ErrorCollector, name: str, value: Any, *, workspace: Workspace, actor: User | None
) -> Lead | None:
    """A live lead of this workspace the actor may see (the leads module's record access)."""
    pk = _clean_id(errors, name, value)
    if pk is None:
        return None
    qs = Lead.objects.for_workspace(workspace).filter(pk=pk, deleted_at__isnull=True)
    lead = visible(qs, workspace=workspace, viewer=actor, module="leads").first()
    if lead is None:
        errors.add(name, "not-found", f"There is no lead {pk} in this workspace.")
    return lead


def clean_deal(
    errors: ErrorCollector, name: str, value: Any, *, workspace: Workspace, actor: User | None
) -> Deal | None:
    """A live deal of this workspace the actor may see (the deals module's record access)."""
    pk = _clean_id(errors, name, value)
    if pk is None:
        return None
    qs = Deal.objects.for_workspace(workspace).filter(pk=pk, deleted_at__isnull=True)
    deal = visible(qs, workspace=workspace, viewer=actor, module="deals").first()
    if deal is None:
        errors.add(name, "not-found", f"There is no deal {pk} in this workspace.")
    return deal


def clean_member(
    errors: ErrorCollector, name: str, value: Any, *, workspace: Workspace
) -> User | None:
    """An active user with an active membership in the workspace."""
    pk = _clean_id(errors, name, value)
    if pk is None:
        return None
    membership = (
        Membership.objects.for_workspace(workspace)
        .filter(user_id=pk, is_active=True, user__is_active=True)
        .select_related("user")
        .first()
    )
    if membership is None:
        errors.add(name, "not-a-member", f"User {pk} is not an active member of this workspace.")
        return None
    return membership.user


def reject_unknown(errors: ErrorCollector, given: Iterable[str], allowed: Iterable[str]) -> None:
    for name in sorted(set(given) - set(allowed)):
        errors.add(name, "unknown-field", "This field cannot be changed here.")
