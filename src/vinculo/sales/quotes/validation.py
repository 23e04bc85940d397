"""Field checks of quotes and orders. Each appends to an `ErrorCollector`, so one write reports
every bad field at once; names are those callers send (`lines.2.quantity`, `valid_until`)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from vinculo.contacts.models import Account, Contact
from vinculo.core.access import visible
from vinculo.core.exceptions import ErrorCollector
from vinculo.core.models import Workspace
from vinculo.sales.models import Deal, PriceList, Product

MAX_ID = 2**63 - 1
MAX_TERMS_LENGTH = 20_000
MAX_LINES = 500


def clean_id(errors: ErrorCollector, name: str, value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_ID:
        errors.add(name, "invalid", _("Must be a positive whole number (an id)."))
        return None
    return value


def clean_decimal(
    errors: ErrorCollector,
    name: str,
    value: Any,
    *,
    places: int,
    max_digits: int,
    minimum: Decimal | None = Decimal(0),
    maximum: Decimal | None = None,
    positive: bool = False,
    required: bool = True,
) -> Decimal | None:
    """A Decimal with at most `places` decimal places that fits `max_digits`. Text may use a
    decimal comma ("1,5"); floats are refused, since they cannot hold cents exactly."""
    if value is None or value == "":
        if required:
            errors.add(name, "required", _("This field is required."))
        return None
    if isinstance(value, bool | float):
        errors.add(name, "invalid", _("Must be a number written as text or a whole number."))
        return None
    if isinstance(value, str):
        text = value.strip().replace(" ", "").replace("\u00a0", "")
        # "1.234,56" (pt-BR) and "1,234.56" (en): the last separator is the decimal one.
        if "," in text and ("." not in text or text.rindex(",") > text.rindex(".")):
            text = text.replace(".", "").replace(",", ".")
        else:
            text = text.replace(",", "")
        value = text
    try:
        number = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        errors.add(name, "invalid", _("Must be a number."))
        return None
    if not number.is_finite():
        errors.add(name, "invalid", _("Must be a number."))
        return None
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -places:
        errors.add(
            name,
            "too-precise",
            _("At most %(places)d decimal places.") % {"places": places},
        )
        return None
    if positive and number <= 0:
        errors.add(name, "not-positive", _("Must be greater than zero."))
        return None
    if minimum is not None and number < minimum:
        errors.add(name, "too-small", _("Must be at least %(min)s.") % {"min": minimum})
        return None
    limit = Decimal(10) ** (max_digits - places)
    if maximum is not None and number > maximum:
        errors.add(name, "too-large", _("Must be at most %(max)s.") % {"max": maximum})
        return None
    if abs(number) >= limit:
        errors.add(name, "too-large", _("Must be less than %(max)s.") % {"max": limit})
        return None
    return number.quantize(Decimal(1).scaleb(-places))


def clean_text(
    errors: ErrorCollector,
    name: str,
    value: Any,
    *,
    max_length: int,
    required: bool = False,
) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors.add(name, "invalid", _("Must be text."))
        return ""
    value = value.strip()
    if required and not value:
        errors.add(name, "required", _("This field is required."))
    elif len(value) > max_length:
        errors.add(
            name,
            "too-long",
            _("At most %(max)d characters (got %(got)d).") % {"max": max_length, "got": len(value)},
        )
    return value


def clean_date(
    errors: ErrorCollector, name: str, value: Any, *, required: bool = False
) -> dt.date | None:
    if value is None or value == "":
        if required:
            errors.add(name, "required", _("This field is required."))
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            parsed = parse_date(value.strip())
        except ValueError:
            parsed = None
        if parsed is not None:
            return parsed
    errors.add(name, "invalid", _("Must be a date (YYYY-MM-DD)."))
    return None


def clean_currency(errors: ErrorCollector, name: str, value: Any) -> str:
    if value is None or value == "":
        return ""
    if not isinstance(value, str) or len(value.strip()) != 3 or not value.strip().isalpha():
        errors.add(name, "invalid", _("Must be a three-letter currency code (ISO 4217)."))
        return ""
    return value.strip().upper()


def clean_deal(
    errors: ErrorCollector, name: str, value: Any, *, workspace: Workspace, actor: Any
) -> Deal | None:
    pk = clean_id(errors, name, value)
    if pk is None:
        if value in (None, ""):
            errors.add(name, "required", _("This field is required."))
        return None
    qs = Deal.objects.for_workspace(workspace).filter(pk=pk, deleted_at__isnull=True)
    deal = (
        visible(qs, workspace=workspace, viewer=actor, module="deals")
        .select_related("contact", "account")
        .first()
    )
    if deal is None:
        errors.add(name, "not-found", _("There is no deal %(id)s in this workspace.") % {"id": pk})
    return deal


def clean_product(
    errors: ErrorCollector, name: str, value: Any, *, workspace: Workspace
) -> Product | None:
    pk = clean_id(errors, name, value)
    if pk is None:
        return None
    product = (
        Product.objects.for_workspace(workspace).filter(pk=pk, deleted_at__isnull=True).first()
    )
    if product is None:
        errors.add(
            name, "not-found", _("There is no product %(id)s in this workspace.") % {"id": pk}
        )
    return product


def clean_price_list(
    errors: ErrorCollector, name: str, value: Any, *, workspace: Workspace
) -> PriceList | None:
    pk = clean_id(errors, name, value)
    if pk is None:
        return None
    price_list = (
        PriceList.objects.for_workspace(workspace).filter(pk=pk, deleted_at__isnull=True).first()
    )
    if price_list is None:
        errors.add(
            name, "not-found", _("There is no price list %(id)s in this workspace.") % {"id": pk}
        )
    return price_list


def clean_contact(
    errors: ErrorCollector, name: str, value: Any, *, workspace: Workspace, actor: Any
) -> Contact | None:
    """A live contact of this workspace that the actor may see; one of another workspace gets
    the same answer as one that never existed."""
    pk = clean_id(errors, name, value)
    if pk is None:
        return None
    qs = Contact.objects.for_workspace(workspace).filter(pk=pk, deleted_at__isnull=True)
    contact = visible(qs, workspace=workspace, viewer=actor, module="contacts").first()
    if contact is None:
        errors.add(
            name, "not-found", _("There is no contact %(id)s in this workspace.") % {"id": pk}
        )
    return contact


def clean_account(
    errors: ErrorCollector, name: str, value: Any, *, workspace: Workspace, actor: Any
) -> Account | None:
    pk = clean_id(errors, name, value)
    if pk is None:
        return None
    qs = Account.objects.for_workspace(workspace).filter(pk=pk, deleted_at__isnull=True)
    account = visible(qs, workspace=workspace, viewer=actor, module="accounts").first()
    if account is None:
        errors.add(
            name, "not-found", _("There is no account %(id)s in this workspace.") % {"id": pk}
        )
    return account


def reject_unknown(errors: ErrorCollector, given: Any, allowed: Any) -> None:
    for name in sorted(set(given) - set(allowed)):
        errors.add(name, "unknown-field", _("There is no such field."))


def clean_moment(
    errors: ErrorCollector, name: str, value: Any, *, zone: dt.tzinfo
) -> dt.datetime | None:
    """An aware datetime; a date alone or a time without an offset is read in the workspace's
    time zone (what a person or a shop system exporting "2024-05-03" means)."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        text = value.strip()
        parsed: Any = parse_datetime(text)
        if parsed is None:
            try:
                day = parse_date(text)
            except ValueError:
                day = None
            parsed = dt.datetime.combine(day, dt.time.min) if day is not None else None
        value = parsed
    elif isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time.min)
    if not isinstance(value, dt.datetime):
        errors.add(name, "invalid", _("Must be a date or a date and time (ISO 8601)."))
        return None
    if timezone.is_naive(value):
        value = timezone.make_aware(value, zone)
    return value
