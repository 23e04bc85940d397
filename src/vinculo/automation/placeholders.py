"""`{{ field }}` placeholders in the texts of actions (emails, notifications, tasks).

Deliberately not the Django template language: rule texts are written by workspace users, and a
template engine would let them reach attributes and methods of the objects it is given. Here a
placeholder names a condition field ("first_name", "account.name", "owner") and nothing else;
its value is inserted as plain text.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

from django.utils import formats, timezone
from django.utils.translation import gettext as _

from vinculo.automation.conditions import read_value, resolve_field
from vinculo.core.exceptions import FieldError
from vinculo.core.models import Team, User, Workspace

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_.]+)\s*\}\}")
EXTRA = frozenset({"rule.name", "record.name", "record.url"})


def placeholder_errors(text: str, *, subject_type: str, path: str) -> list[FieldError]:
    errors = []
    for name in sorted(set(PLACEHOLDER.findall(text or ""))):
        if name not in EXTRA and resolve_field(name, subject_type=subject_type) is None:
            errors.append(
                FieldError(
                    path,
                    "unknown-placeholder",
                    _("Unknown placeholder {{ %(name)s }}.") % {"name": name},
                )
            )
    return errors


def _text(value: Any, kind: str, workspace: Workspace) -> str:
    if value is None:
        return ""
    if kind == "user":
        user = User.objects.filter(pk=value).first()
        return user.display_name if user else ""
    if kind == "team":
        team = Team.objects.for_workspace(workspace).filter(pk=value).first()
        return team.name if team else ""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dt.datetime):
        return formats.date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT")
    if isinstance(value, dt.date):
        return formats.date_format(value, "SHORT_DATE_FORMAT")
    if isinstance(value, Decimal | float):
        return formats.number_format(value, use_l10n=True)
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    return str(value)


def render(
    text: str,
    *,
    workspace: Workspace,
    subject_type: str,
    obj: Any,
    extra: dict[str, str] | None = None,
) -> str:
    """`text` with each placeholder replaced by the record's value (empty when unknown)."""
    extra = extra or {}

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in extra:
            return extra[name]
        resolved = resolve_field(name, subject_type=subject_type)
        if resolved is None:
            return ""
        target = obj
        for hop in resolved.hops:
            target = hop(target) if target is not None else None
        return _text(read_value(target, resolved.spec), resolved.spec.kind, workspace)

    return PLACEHOLDER.sub(value, text or "")
