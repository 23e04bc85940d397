"""Validation of contact and account input: every field error of a write found at once.

The API, the pages, imports and automations hand the services a plain mapping of the fields
they mean to set (a partial update sends only what changes). These functions check and
normalise it and return the values to store; `ValidationFailed` lists every bad field.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import phonenumbers
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import DomainNameValidator, URLValidator
from django.utils import timezone
from django.utils.translation import gettext as _
from email_validator import EmailNotValidError, validate_email

from vinculo.contacts.models import Account, CompanySize, Contact, LifecycleStage
from vinculo.core.access import visible
from vinculo.core.custom_fields import clean_custom_fields
from vinculo.core.exceptions import ErrorCollector
from vinculo.core.models import (
    CustomFieldDefinition,
    CustomFieldObject,
    Membership,
    User,
    Workspace,
)

MAX_EMAILS = 10
MAX_PHONES = 10
MAX_TAGS = 50
TAG_MAX_LENGTH = 60
OLDEST_BIRTHDATE = dt.date(1900, 1, 1)
# Ids are 64-bit; a larger one is refused here rather than overflowing in the database driver.
MAX_ID = 2**63 - 1

# ISO 3166-1 alpha-2 codes as phonenumbers knows them: the library we already ship keeps the
# list current, and a country we cannot dial is one we cannot validate phones for anyway.
COUNTRY_CODES = frozenset(r for r in phonenumbers.SUPPORTED_REGIONS if len(r) == 2)
# Workspaces whose locale names no region still have an obvious home for national numbers.
LANGUAGE_REGIONS = {"pt": "BR", "es": "ES", "en": "US"}
_LANGUAGE_RE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,8})*$")

CONTACT_FIELDS = frozenset(
    {
        "first_name",
        "last_name",
        "email",
        "emails",
        "phone",
        "phones",
        "job_title",
        "birthdate",
        "language",
        "lifecycle_stage",
        "source",
        "account_id",
        "owner_id",
        "street",
        "city",
        "state",
        "postal_code",
        "country",
        "external_id",
        "tags",
        "custom_fields",
    }
)
ACCOUNT_FIELDS = frozenset(
    {
        "name",
        "domain",
        "industry",
        "size",
        "phone",
        "website",
        "owner_id",
        "street",
        "city",
        "state",
        "postal_code",
        "country",
        "external_id",
        "tags",
        "custom_fields",
    }
)
# Plain text columns: (input name, model field), checked against the model's max_length.
_CONTACT_TEXT = (
    "first_name",
    "last_name",
    "job_title",
    "source",
    "street",
    "city",
    "state",
    "postal_code",
    "external_id",
)
_ACCOUNT_TEXT = ("industry", "street", "city", "state", "postal_code", "external_id")


@dataclass
class CleanedInput:
    """Validated values: `fields` are model attributes to assign; `tags` is None when the
    input did not touch tags; `account` is the linked account (for the company name)."""

    fields: dict[str, Any] = field(default_factory=dict)
    tags: list[str] | None = None
    account: Account | None = None


@dataclass(frozen=True)
class BatchLookups:
    """What validating many records in a row (imports, the bulk API) reads once instead of
    once per record, with the same meaning as the single-record queries: the live custom-field
    definitions, the ids of the workspace's active members, and the live accounts the actor
    sees among those the batch links to."""

    definitions: Mapping[str, CustomFieldDefinition]
    member_ids: frozenset[int]
    accounts: Mapping[int, Account] = field(default_factory=dict)


# --- single values ------------------------------------------------------------------------------


@lru_cache(maxsize=256)
def _max_length(model: type[Any], name: str) -> int:
    return int(model._meta.get_field(name).max_length)


def _text(
    errors: ErrorCollector, name: str, value: Any, *, max_length: int, label: str = ""
) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        errors.add(name, "invalid-type", _("Enter text."))
        return ""
    text = " ".join(value.split()) if "\n" not in value else value.strip()
    if len(text) > max_length:
        errors.add(name, "too-long", _("Use at most %(max)d characters.") % {"max": max_length})
    return text


# A plain ASCII address: dot-atom local part of the common characters, a domain of letters,
# digits and inner hyphens ending in a letter TLD. For these email-validator's answer is the
# address itself once its domain is accepted, and domains repeat across a file, so only the
# domain goes through the library (cached). The library costs about 90 µs an address, which
# capped imports near 6,800 rows/s on one core (PITFALLS.md); this path costs about 2 µs.
# Anything else (quoted or non-ASCII local parts, IDN domains) goes through the library.
_PLAIN_EMAIL_RE = re.compile(
    r"[A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*"
    r"@((?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63})"
)


@lru_cache(maxsize=16384)
def _plain_domain_accepted(domain: str) -> bool:
    try:
        validate_email(f"a@{domain}", check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


@lru_cache(maxsize=65536)
def normalize_email(address: str) -> str:
    """The stored form of an address (lower-cased), or EmailNotValidError. Cached: imports
    and merges see the same addresses many times."""
    plain = _PLAIN_EMAIL_RE.fullmatch(address)
    if (
        plain is not None
        and len(address) <= 254
        and address.index("@") <= 64
        and "xn--" not in address.lower()  # punycode: the library stores its Unicode form
        and _plain_domain_accepted(plain.group(1).lower())
    ):
        return address.lower()
    return validate_email(address, check_deliverability=False).normalized.lower()


def _email(errors: ErrorCollector, name: str, value: Any) -> str | None:
    if not isinstance(value, str):
        errors.add(name, "invalid-type", _("Enter an email address."))
        return None
    value = value.strip()
    if not value:
        return None
    try:
        return normalize_email(value)
    except EmailNotValidError:
        errors.add(
            name,
            "invalid-email",
            _("Enter a valid email address: %(reason)s") % {"reason": _email_problem(value)},
        )
        return None


def _email_problem(address: str) -> str:
    """What is wrong with an address, in the user's language (the validation library only
    speaks English)."""
    local, at, domain = address.rpartition("@")
    if not at:
        return str(_("it needs an @ sign, as in ana@empresa.com.br."))
    if not local or "@" in local:
        return str(_("the part before the @ is not valid."))
    if " " in address:
        return str(_("it cannot contain spaces."))
    if "." not in domain:
        return str(_("the part after the @ needs a domain such as empresa.com.br."))
    return str(_("the part after the @ (%(domain)s) is not a valid domain.") % {"domain": domain})


def default_region(*, country: str, workspace: Workspace) -> str | None:
    """Where a number without a country code is dialled: the record's country, else the
    workspace's locale (pt-br → BR)."""
    if country:
        return country
    return _locale_region(workspace.locale or "")


@lru_cache(maxsize=64)
def _locale_region(locale: str) -> str | None:
    language, _sep, region = locale.lower().replace("_", "-").partition("-")
    if len(region) == 2 and region.upper() in COUNTRY_CODES:
        return region.upper()
    return LANGUAGE_REGIONS.get(language)


# Brazilian numbers typed the usual way ("(11) 98765-4321", "+55 11 3456-7890") are formatted
# by hand: the library takes about 25 µs a number, a third of an import's budget per row. Only
# digits with an area code that cannot start a national prefix (0, 90) and that match the
# country's national pattern as a whole take this path: for those the library neither strips
# a prefix nor a country code, so its E.164 is "+55" and the digits (tests hold the two equal).
_BR_METADATA = phonenumbers.PhoneMetadata.metadata_for_region("BR")
assert _BR_METADATA is not None and _BR_METADATA.general_desc is not None
_BR_NATIONAL_RE = re.compile(str(_BR_METADATA.general_desc.national_number_pattern))
_PHONE_PUNCTUATION = str.maketrans("", "", " ()-.")


def _brazilian_e164(raw: str) -> str | None:
    digits = (
        raw.encode("ascii").translate(None, b" ()-.").decode("ascii")  # 5 times as fast
        if raw.isascii()
        else raw.translate(_PHONE_PUNCTUATION)
    )
    if digits.startswith("+55"):
        digits = digits[3:]
    if (
        10 <= len(digits) <= 11
        and digits.isascii()
        and digits.isdigit()
        and digits[0] != "0"
        and digits[1] != "0"
        and _BR_NATIONAL_RE.fullmatch(digits)
    ):
        return f"+55{digits}"
    return None


def normalize_phone(raw: str, region: str | None) -> str:
    """E.164 form of `raw`, or ValueError. Only possibility is checked (length and country
    code), not validity: number ranges change faster than a deployed library's metadata,
    and a CRM must not refuse a customer's real number."""
    if region == "BR":
        fast = _brazilian_e164(raw)
        if fast is not None:
            return fast
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(str(exc)) from None
    if not phonenumbers.is_possible_number(number):
        raise ValueError("not a possible phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _phone(errors: ErrorCollector, name: str, value: Any, region: str | None) -> str | None:
    if not isinstance(value, str):
        errors.add(name, "invalid-type", _("Enter a phone number."))
        return None
    value = value.strip()
    if not value:
        return None
    if len(value) > 40:
        errors.add(name, "invalid-phone", _("This is not a phone number."))
        return None
    try:
        return normalize_phone(value, region)
    except ValueError:
        if region is None and not value.startswith("+"):
            message = _("Could not read this phone number; start it with + and the country code.")
        else:
            message = _("Could not read this phone number.")
        errors.add(name, "invalid-phone", message)
        return None


def _list(errors: ErrorCollector, name: str, value: Any, *, max_items: int) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        errors.add(name, "invalid-type", _("Send a list."))
        return []
    if len(value) > max_items:
        errors.add(name, "too-many", _("At most %(max)d items.") % {"max": max_items})
        return []
    return value


def _merge_primary(primary: str | None, rest: list[str]) -> list[str]:
    values = [primary] if primary else []
    for item in rest:
        if item not in values:
            values.append(item)
    return values


def _emails(
    errors: ErrorCollector, data: Mapping[str, Any], current: list[str]
) -> list[str] | None:
    """The new address list (primary first), or None when the input did not touch it.
    `email` is the primary slot: set it to move or add an address to the front, clear it to
    drop the primary."""
    if "email" not in data and "emails" not in data:
        return None
    if "emails" in data:
        items = _list(errors, "emails", data["emails"], max_items=MAX_EMAILS)
        listed = [e for i, raw in enumerate(items) if (e := _email(errors, f"emails.{i}", raw))]
    else:
        listed = list(current)
    if "email" in data:
        primary = _email(errors, "email", data["email"]) if data["email"] is not None else None
        if primary is None and "emails" not in data:
            listed = listed[1:]
        listed = _merge_primary(primary, listed)
    result = _merge_primary(None, listed)
    if len(result) > MAX_EMAILS:
        errors.add("emails", "too-many", _("At most %(max)d items.") % {"max": MAX_EMAILS})
    return result


def _phones(
    errors: ErrorCollector, data: Mapping[str, Any], current: list[str], region: str | None
) -> list[str] | None:
    """Like `_emails`, for phone numbers in E.164."""
    if "phone" not in data and "phones" not in data:
        return None
    if "phones" in data:
        items = _list(errors, "phones", data["phones"], max_items=MAX_PHONES)
        listed = [
            p for i, raw in enumerate(items) if (p := _phone(errors, f"phones.{i}", raw, region))
        ]
    else:
        listed = list(current)
    if "phone" in data:
        primary = (
            _phone(errors, "phone", data["phone"], region) if data["phone"] is not None else None
        )
        if primary is None and "phones" not in data:
            listed = listed[1:]
        listed = _merge_primary(primary, listed)
    result = _merge_primary(None, listed)
    if len(result) > MAX_PHONES:
        errors.add("phones", "too-many", _("At most %(max)d items.") % {"max": MAX_PHONES})
    return result


def _country(errors: ErrorCollector, value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        errors.add("country", "invalid-type", _("Enter a two-letter country code."))
        return ""
    code = value.strip().upper()
    if code and code not in COUNTRY_CODES:
        errors.add("country", "invalid-country", _("Enter an ISO 3166 two-letter code such as BR."))
        return ""
    return code


def _birthdate(errors: ErrorCollector, value: Any, *, workspace: Workspace) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value.strip())
        except ValueError:
            errors.add("birthdate", "invalid-date", _("Enter a valid date as YYYY-MM-DD."))
            return None
    if not isinstance(value, dt.date):
        errors.add("birthdate", "invalid-type", _("Enter a date as YYYY-MM-DD."))
        return None
    # Most birthdates are years ago: "today" in the workspace's zone is only worked out for
    # those near the present (a zone is never more than a day off from the machine's date).
    if value >= dt.date.today() - dt.timedelta(days=1) and value > timezone.localdate(
        timezone=workspace_zone(workspace)
    ):
        errors.add("birthdate", "in-future", _("The birthdate cannot be in the future."))
        return None
    if value < OLDEST_BIRTHDATE:
        errors.add("birthdate", "too-old", _("The birthdate is before 1900."))
        return None
    return value


def workspace_zone(workspace: Workspace) -> dt.tzinfo:
    """The workspace's time zone: what "today" and a bare date mean to its people."""
    try:
        return zoneinfo.ZoneInfo(workspace.time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return timezone.get_default_timezone()


def _choice(
    errors: ErrorCollector, name: str, value: Any, choices: list[str], *, blank: bool
) -> str:
    if value is None or value == "":
        if not blank:
            errors.add(
                name, "required", _("Choose one of: %(options)s.") % {"options": ", ".join(choices)}
            )
        return ""
    if not isinstance(value, str) or value not in choices:
        errors.add(
            name,
            "invalid-choice",
            _("Choose one of: %(options)s.") % {"options": ", ".join(choices)},
        )
        return ""
    return value


def _language(errors: ErrorCollector, value: Any) -> str:
    text = _text(errors, "language", value, max_length=_max_length(Contact, "language"))
    text = text.lower().replace("_", "-")
    if text and not _LANGUAGE_RE.match(text):
        errors.add("language", "invalid-language", _("Enter a language code such as pt-br."))
        return ""
    return text


def _owner(
    errors: ErrorCollector,
    value: Any,
    *,
    workspace: Workspace,
    lookups: BatchLookups | None = None,
) -> int | None:
    if value is None:
        return None
    if isinstance(value, User):
        value = value.pk
    if isinstance(value, bool) or not isinstance(value, int):
        errors.add("owner_id", "invalid-type", _("Send the owner's user id."))
        return None
    if not 0 < value <= MAX_ID:
        errors.add("owner_id", "not-a-member", _("The owner must be an active member."))
        return None
    is_member = (
        value in lookups.member_ids
        if lookups is not None
        else Membership.objects.for_workspace(workspace)
        .filter(user_id=value, is_active=True, user__is_active=True)
        .exists()
    )
    if not is_member:
        errors.add("owner_id", "not-a-member", _("The owner must be an active member."))
        return None
    return value


def _owner_input(
    errors: ErrorCollector,
    data: Mapping[str, Any],
    values: dict[str, Any],
    *,
    workspace: Workspace,
    actor: User | None,
    instance: Contact | Account | None,
    lookups: BatchLookups | None = None,
) -> None:
    """The owner to store: as sent (an unchanged one is not re-checked), else on a create the
    actor, who then sees what they just made."""
    if "owner_id" in data:
        if instance is not None and data["owner_id"] == instance.owner_id:
            return
        values["owner_id"] = _owner(errors, data["owner_id"], workspace=workspace, lookups=lookups)
    elif instance is None:
        values["owner_id"] = actor.pk if actor is not None else None


def _account(
    errors: ErrorCollector,
    value: Any,
    *,
    workspace: Workspace,
    actor: User | None,
    lookups: BatchLookups | None = None,
) -> Account | None:
    if value is None:
        return None
    if isinstance(value, Account):
        value = value.pk
    if isinstance(value, bool) or not isinstance(value, int):
        errors.add("account_id", "invalid-type", _("Send the account's id."))
        return None
    if not 0 < value <= MAX_ID:
        errors.add("account_id", "not-found", _("There is no such account."))
        return None
    # Linking needs sight of the account: otherwise the error would reveal that it exists.
    if lookups is not None:
        account = lookups.accounts.get(value)
    else:
        accounts = visible(
            Account.objects.for_workspace(workspace).filter(deleted_at__isnull=True),
            workspace=workspace,
            viewer=actor,
            module="accounts",
        )
        account = accounts.filter(pk=value).only("id", "name").first()
    if account is None:
        errors.add("account_id", "not-found", _("There is no such account."))
    return account


def _tags(errors: ErrorCollector, value: Any) -> list[str]:
    names: list[str] = []
    seen: set[str] = set()
    for i, raw in enumerate(_list(errors, "tags", value, max_items=MAX_TAGS)):
        if not isinstance(raw, str) or not raw.strip():
            errors.add(f"tags.{i}", "invalid-tag", _("A tag is a non-empty name."))
            continue
        name = " ".join(raw.split())
        if len(name) > TAG_MAX_LENGTH:
            errors.add(f"tags.{i}", "too-long", _("Use at most %(max)d characters.") % {"max": 60})
            continue
        if name.casefold() not in seen:
            seen.add(name.casefold())
            names.append(name)
    return names


def _unknown(errors: ErrorCollector, data: Mapping[str, Any], allowed: frozenset[str]) -> None:
    for name in data:
        if name not in allowed:
            errors.add(name, "unknown-field", _("There is no field '%(name)s'.") % {"name": name})


# --- records ------------------------------------------------------------------------------------


def contact_validate(
    *,
    workspace: Workspace,
    actor: User | None,
    data: Mapping[str, Any],
    instance: Contact | None,
    lookups: BatchLookups | None = None,
) -> CleanedInput:
    """Check a contact write (`instance` None: a create) and return what to store. Raises
    `ValidationFailed` listing every bad field; reads owners, accounts and field definitions
    (from `lookups` when given, without a query)."""
    errors = ErrorCollector()
    creating = instance is None
    _unknown(errors, data, CONTACT_FIELDS)
    out = CleanedInput()
    values = out.fields
    for name in _CONTACT_TEXT:
        if name in data:
            values[name] = _text(errors, name, data[name], max_length=_max_length(Contact, name))
    if "country" in data:
        values["country"] = _country(errors, data["country"])
    country = values.get("country", instance.country if instance else "")
    region = default_region(country=country, workspace=workspace)
    emails = _emails(errors, data, instance.emails if instance else [])
    if emails is not None:
        values["emails"] = emails
    phones = _phones(errors, data, instance.phones if instance else [], region)
    if phones is not None:
        values["phones"] = phones
    if "birthdate" in data:
        values["birthdate"] = _birthdate(errors, data["birthdate"], workspace=workspace)
    if "language" in data:
        values["language"] = _language(errors, data["language"])
    if "lifecycle_stage" in data:
        values["lifecycle_stage"] = _choice(
            errors, "lifecycle_stage", data["lifecycle_stage"], LifecycleStage.values, blank=False
        )
    _owner_input(
        errors, data, values, workspace=workspace, actor=actor, instance=instance, lookups=lookups
    )
    # A client that sends the whole record back must not fail on links it did not change
    # (an owner who has since left, an account deleted since).
    if "account_id" in data and not (instance and data["account_id"] == instance.account_id):
        out.account = _account(
            errors, data["account_id"], workspace=workspace, actor=actor, lookups=lookups
        )
        values["account_id"] = out.account.pk if out.account else None
    if "tags" in data:
        out.tags = _tags(errors, data["tags"])
    if "custom_fields" in data or creating:
        raw = data.get("custom_fields")
        if raw is not None and not isinstance(raw, Mapping):
            errors.add("custom_fields", "invalid-type", _("Send an object of field values."))
            raw = {}
        values["custom_fields"] = clean_custom_fields(
            workspace=workspace,
            object_type=CustomFieldObject.CONTACT,
            values=raw,
            current=instance.custom_fields if instance else None,
            errors=errors,
            partial=not creating,
            definitions=lookups.definitions if lookups is not None else None,
        )
    first = values.get("first_name", instance.first_name if instance else "")
    last = values.get("last_name", instance.last_name if instance else "")
    final_emails = values.get("emails", instance.emails if instance else [])
    if not (first or last or final_emails):
        names_sent = {"first_name", "last_name", "email", "emails"} & set(data)
        # Name the field the person is looking at; a create with none of them gets first_name.
        target = sorted(names_sent)[0] if names_sent and not creating else "first_name"
        if not any(e.field in {"email"} or e.field.startswith("emails") for e in errors.errors):
            errors.add(
                target,
                "required",
                _("A contact needs a first name, a last name or an email address."),
            )
    errors.raise_if_any()
    return out


def _domain(errors: ErrorCollector, value: Any) -> str:
    text = _text(errors, "domain", value, max_length=_max_length(Account, "domain"))
    text = text.lower()
    for prefix in ("https://", "http://"):
        text = text.removeprefix(prefix)
    text = text.split("/", 1)[0].removeprefix("www.")
    if not text:
        return ""
    try:
        DomainNameValidator(accept_idna=True)(text)
    except DjangoValidationError:
        errors.add("domain", "invalid-domain", _("Enter a domain such as example.com."))
        return ""
    return text


def _website(errors: ErrorCollector, value: Any) -> str:
    text = _text(errors, "website", value, max_length=_max_length(Account, "website"))
    if not text:
        return ""
    if "://" not in text:
        text = f"https://{text}"
    try:
        URLValidator(schemes=["http", "https"])(text)
    except DjangoValidationError:
        errors.add("website", "invalid-url", _("Enter a web address such as https://example.com."))
        return ""
    return text


def account_validate(
    *,
    workspace: Workspace,
    actor: User | None,
    data: Mapping[str, Any],
    instance: Account | None,
    lookups: BatchLookups | None = None,
) -> CleanedInput:
    """Check an account write (`instance` None: a create) and return what to store. Raises
    `ValidationFailed` listing every bad field; reads owners and field definitions (from
    `lookups` when given, without a query)."""
    errors = ErrorCollector()
    creating = instance is None
    _unknown(errors, data, ACCOUNT_FIELDS)
    out = CleanedInput()
    values = out.fields
    if "name" in data or creating:
        name = _text(errors, "name", data.get("name"), max_length=_max_length(Account, "name"))
        if not name:
            errors.add("name", "required", _("An account needs a name."))
        values["name"] = name
    for name in _ACCOUNT_TEXT:
        if name in data:
            values[name] = _text(errors, name, data[name], max_length=_max_length(Account, name))
    if "country" in data:
        values["country"] = _country(errors, data["country"])
    if "domain" in data:
        values["domain"] = _domain(errors, data["domain"])
    if "website" in data:
        values["website"] = _website(errors, data["website"])
    if "size" in data:
        values["size"] = _choice(errors, "size", data["size"], CompanySize.values, blank=True)
    if "phone" in data:
        country = values.get("country", instance.country if instance else "")
        region = default_region(country=country, workspace=workspace)
        phone = _phone(errors, "phone", data["phone"], region) if data["phone"] else None
        values["phone"] = phone or ""
    _owner_input(
        errors, data, values, workspace=workspace, actor=actor, instance=instance, lookups=lookups
    )
    if "tags" in data:
        out.tags = _tags(errors, data["tags"])
    if "custom_fields" in data or creating:
        raw = data.get("custom_fields")
        if raw is not None and not isinstance(raw, Mapping):
            errors.add("custom_fields", "invalid-type", _("Send an object of field values."))
            raw = {}
        values["custom_fields"] = clean_custom_fields(
            workspace=workspace,
            object_type=CustomFieldObject.ACCOUNT,
            values=raw,
            current=instance.custom_fields if instance else None,
            errors=errors,
            partial=not creating,
            definitions=lookups.definitions if lookups is not None else None,
        )
    errors.raise_if_any()
    return out
