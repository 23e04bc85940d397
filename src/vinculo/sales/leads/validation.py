"""Validation of lead input: every field error of a write found at once.

Pages, the API, web forms, imports and automations hand the services a plain mapping of the
fields they mean to set (an update sends only what changes). The checks of single values are
the contacts' own (email, phone, country, domain, web address, owner), so a lead refuses
exactly what a contact refuses and converts into one without surprises.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.utils.translation import gettext as _

from vinculo.contacts.models import CompanySize
from vinculo.contacts.validation import (
    MAX_ID,
    BatchLookups,
    CleanedInput,
    default_region,
)
from vinculo.contacts.validation import _choice as clean_choice
from vinculo.contacts.validation import _country as clean_country
from vinculo.contacts.validation import _domain as clean_domain
from vinculo.contacts.validation import _email as clean_email
from vinculo.contacts.validation import _owner as clean_owner
from vinculo.contacts.validation import _phone as clean_phone
from vinculo.contacts.validation import _text as clean_text
from vinculo.contacts.validation import _unknown as reject_unknown
from vinculo.contacts.validation import _website as clean_website
from vinculo.core.custom_fields import clean_custom_fields
from vinculo.core.exceptions import ErrorCollector, FieldError
from vinculo.core.models import Team, User, Workspace
from vinculo.sales.models import Lead

# The object type of the custom fields defined for leads.
LEAD_OBJECT = "lead"

# Plain text columns, checked against the model's max_length.
TEXT_FIELDS = (
    "first_name",
    "last_name",
    "job_title",
    "company_name",
    "industry",
    "city",
    "state",
    "message",
    "source",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "campaign",
    "external_id",
)
LEAD_FIELDS = frozenset(
    {
        *TEXT_FIELDS,
        "email",
        "phone",
        "company_domain",
        "company_size",
        "website",
        "country",
        "web_form_id",
        "owner_id",
        "team_id",
        "custom_fields",
    }
)
# What a lead's `*.created` / `*.updated` events describe, by the names the API uses.
LEAD_TRACKED = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "job_title",
    "company_name",
    "company_domain",
    "company_size",
    "industry",
    "website",
    "city",
    "state",
    "country",
    "message",
    "source",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "campaign",
    "web_form_id",
    "owner_id",
    "team_id",
    "external_id",
)
UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")


# Text columns without a length in the database (the message) are capped here, so one row
# cannot swallow the request budget.
TEXT_MAX_LENGTH = 10_000


def _max_length(name: str) -> int:
    length = Lead._meta.get_field(name).max_length  # type: ignore[union-attr]
    return int(length) if length else TEXT_MAX_LENGTH


def _renamed(errors: ErrorCollector, name: str, check: Callable[..., Any], *args: Any) -> Any:
    """Run a contacts check that names its own field (`domain`) under the lead's name
    (`company_domain`)."""
    local = ErrorCollector()
    value = check(local, *args)
    errors.errors += [FieldError(name, e.code, e.message) for e in local.errors]
    return value


def clean_id(errors: ErrorCollector, name: str, value: Any, *, message: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        errors.add(name, "invalid-type", _("Send a numeric id."))
        return None
    if not 0 < value <= MAX_ID:
        errors.add(name, "not-found", message)
        return None
    return value


def clean_team(errors: ErrorCollector, value: Any, *, workspace: Workspace) -> int | None:
    if isinstance(value, Team):
        value = value.pk
    message = _("There is no such team.")
    pk = clean_id(errors, "team_id", value, message=message)
    if pk is None:
        return None
    if not Team.objects.for_workspace(workspace).filter(pk=pk).exists():
        errors.add("team_id", "not-found", message)
        return None
    return pk


def _web_form(errors: ErrorCollector, value: Any, *, workspace: Workspace) -> int | None:
    from vinculo.marketing.models import WebForm

    message = _("There is no such web form.")
    pk = clean_id(errors, "web_form_id", value, message=message)
    if pk is None:
        return None
    if not WebForm.objects.for_workspace(workspace).filter(pk=pk).exists():
        errors.add("web_form_id", "not-found", message)
        return None
    return pk


def lead_validate(
    *,
    workspace: Workspace,
    actor: User | None,
    data: Mapping[str, Any],
    instance: Any,
    lookups: BatchLookups | None = None,
    default_owner: bool = False,
) -> CleanedInput:
    """Check a lead write (`instance` None: a create) and return what to store in
    `CleanedInput.fields`. Raises `ValidationFailed` listing every bad field. With
    `default_owner`, a create that names no owner is given to the actor (a lead typed in by a
    person is theirs; one from a web form or an import waits for the assignment rules)."""
    errors = ErrorCollector()
    creating = instance is None
    reject_unknown(errors, data, LEAD_FIELDS)
    out = CleanedInput()
    values = out.fields
    for name in TEXT_FIELDS:
        if name in data:
            values[name] = clean_text(errors, name, data[name], max_length=_max_length(name))
    if "country" in data:
        values["country"] = clean_country(errors, data["country"])
    if "email" in data:
        email = clean_email(errors, "email", data["email"]) if data["email"] is not None else None
        values["email"] = email or ""
    if "phone" in data:
        country = values.get("country", getattr(instance, "country", "") or "")
        region = default_region(country=country, workspace=workspace)
        raw = data["phone"]
        phone = clean_phone(errors, "phone", raw, region) if raw not in (None, "") else None
        values["phone"] = phone or ""
    if "company_domain" in data:
        values["company_domain"] = _renamed(
            errors, "company_domain", clean_domain, data["company_domain"]
        )
    if "website" in data:
        values["website"] = _renamed(errors, "website", clean_website, data["website"])
        if (
            values["website"]
            and "company_domain" not in data
            and not getattr(instance, "company_domain", "")
        ):
            # The company's domain follows from its site, so accounts match by it later.
            values["company_domain"] = clean_domain(ErrorCollector(), values["website"])
    if "company_size" in data:
        values["company_size"] = clean_choice(
            errors, "company_size", data["company_size"], CompanySize.values, blank=True
        )
    if "web_form_id" in data:
        values["web_form_id"] = _web_form(errors, data["web_form_id"], workspace=workspace)
    if "owner_id" in data:
        if instance is None or data["owner_id"] != instance.owner_id:
            values["owner_id"] = clean_owner(
                errors, data["owner_id"], workspace=workspace, lookups=lookups
            )
    elif creating and default_owner and actor is not None and actor.pk:
        values["owner_id"] = actor.pk
    if "team_id" in data and (instance is None or data["team_id"] != instance.team_id):
        values["team_id"] = clean_team(errors, data["team_id"], workspace=workspace)
    if "custom_fields" in data or creating:
        raw_custom = data.get("custom_fields")
        if raw_custom is not None and not isinstance(raw_custom, Mapping):
            errors.add("custom_fields", "invalid-type", _("Send an object of field values."))
            raw_custom = {}
        values["custom_fields"] = clean_custom_fields(
            workspace=workspace,
            object_type=LEAD_OBJECT,
            values=raw_custom,
            current=getattr(instance, "custom_fields", None) if instance is not None else None,
            errors=errors,
            partial=not creating,
            definitions=lookups.definitions if lookups is not None else None,
        )

    def after(name: str) -> Any:
        return values.get(name, getattr(instance, name, "") if instance is not None else "")

    identifying = ("first_name", "last_name", "email", "phone", "company_name")
    if not any(after(name) for name in identifying):
        sent = [n for n in identifying if n in data]
        if not any(e.field in identifying for e in errors.errors):
            errors.add(
                sent[0] if sent and not creating else "email",
                "required",
                _("A lead needs a name, an email address, a phone or a company."),
            )
    errors.raise_if_any()
    return out


def clean_reason(errors: ErrorCollector, value: Any, *, required: bool) -> str:
    text = clean_text(errors, "reason", value, max_length=_max_length("disqualified_reason"))
    if required and not text:
        errors.add("reason", "required", _("Say why the lead is disqualified."))
    return text
