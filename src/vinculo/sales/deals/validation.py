"""Checks of the values a deal, a deal line, a product or a price list is given.

The API, the pages, imports and automations hand the services plain mappings; these functions
turn each value into what is stored or add a `FieldError` naming the field, so one answer lists
every bad field at once.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _

from vinculo.core.exceptions import ErrorCollector

# Ids are 64-bit; a larger one is refused here rather than overflowing in the database driver.
MAX_ID = 2**63 - 1
# MONEY columns hold 14 digits, two of them after the point.
MAX_MONEY = Decimal("999999999999.99")
MAX_QUANTITY = Decimal("999999999.999")
CENT = Decimal("0.01")
_CURRENCY_RE = re.compile(r"^[A-Z]{3}$")


def text(
    errors: ErrorCollector,
    name: str,
    value: Any,
    *,
    max_length: int,
    required: bool = False,
    label: str = "",
) -> str:
    """Trimmed text (inner whitespace collapsed); "" for None."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors.add(name, "invalid-type", _("Enter text."))
        return ""
    cleaned = " ".join(value.split())
    if required and not cleaned:
        errors.add(name, "required", _("This field is required."))
    elif len(cleaned) > max_length:
        errors.add(name, "too-long", _("Use at most %(max)d characters.") % {"max": max_length})
    return cleaned


def long_text(errors: ErrorCollector, name: str, value: Any, *, max_length: int) -> str:
    """Text whose line breaks matter (descriptions): only trimmed at both ends."""
    if value is None:
        return ""
    if not isinstance(value, str):
        errors.add(name, "invalid-type", _("Enter text."))
        return ""
    cleaned = value.strip()
    if len(cleaned) > max_length:
        errors.add(name, "too-long", _("Use at most %(max)d characters.") % {"max": max_length})
    return cleaned


def decimal(
    errors: ErrorCollector,
    name: str,
    value: Any,
    *,
    minimum: Decimal = Decimal(0),
    maximum: Decimal = MAX_MONEY,
    places: Decimal = CENT,
    required: bool = True,
) -> Decimal | None:
    """A number (int, Decimal, or text with a point) rounded to `places`."""
    if value is None or value == "":
        if required:
            errors.add(name, "required", _("Enter a number."))
        return None
    if isinstance(value, bool):
        errors.add(name, "invalid-number", _("Enter a number."))
        return None
    try:
        number = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        errors.add(name, "invalid-number", _("Enter a number."))
        return None
    if not number.is_finite():
        errors.add(name, "invalid-number", _("Enter a number."))
        return None
    number = number.quantize(places, rounding=ROUND_HALF_UP)
    if number < minimum:
        errors.add(
            name,
            "too-small",
            _("Enter a number of at least %(min)s.") % {"min": _plain(minimum)},
        )
        return None
    if number > maximum:
        errors.add(
            name,
            "too-large",
            _("Enter a number of at most %(max)s.") % {"max": _plain(maximum)},
        )
        return None
    return number


def _plain(number: Decimal) -> str:
    return format(number.normalize(), "f")


def money(errors: ErrorCollector, name: str, value: Any, *, required: bool = True) -> Any:
    return decimal(errors, name, value, required=required)


def percent(errors: ErrorCollector, name: str, value: Any) -> Decimal | None:
    return decimal(errors, name, value, maximum=Decimal(100))


def quantity(errors: ErrorCollector, name: str, value: Any) -> Decimal | None:
    number = decimal(
        errors, name, value, maximum=MAX_QUANTITY, places=Decimal("0.001"), minimum=Decimal(0)
    )
    if number is not None and number <= 0:
        errors.add(name, "too-small", _("The quantity must be more than zero."))
        return None
    return number


def whole(
    errors: ErrorCollector, name: str, value: Any, *, minimum: int, maximum: int
) -> int | None:
    if isinstance(value, bool) or value is None or value == "":
        errors.add(name, "invalid-number", _("Enter a whole number."))
        return None
    try:
        number = int(str(value).strip()) if not isinstance(value, int) else value
    except ValueError:
        errors.add(name, "invalid-number", _("Enter a whole number."))
        return None
    if not minimum <= number <= maximum:
        errors.add(
            name,
            "out-of-range",
            _("Enter a whole number from %(min)d to %(max)d.") % {"min": minimum, "max": maximum},
        )
        return None
    return number


def currency(errors: ErrorCollector, name: str, value: Any, *, default: str) -> str:
    """An ISO 4217 code; blank means the workspace's currency."""
    if value is None or value == "":
        return default
    if not isinstance(value, str) or not _CURRENCY_RE.match(value.strip().upper()):
        errors.add(name, "invalid-currency", _("Enter a three-letter currency code such as BRL."))
        return default
    return value.strip().upper()


def date(errors: ErrorCollector, name: str, value: Any) -> dt.date | None:
    """A date, from a date or YYYY-MM-DD text; None for blank."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    errors.add(name, "invalid-date", _("Enter a date as YYYY-MM-DD."))
    return None


def choice(
    errors: ErrorCollector, name: str, value: Any, choices: list[str], *, blank: bool = False
) -> str:
    if (value is None or value == "") and blank:
        return ""
    if not isinstance(value, str) or value not in choices:
        errors.add(
            name,
            "invalid-choice",
            _("Choose one of: %(options)s.") % {"options": ", ".join(choices)},
        )
        return ""
    return value


def boolean(errors: ErrorCollector, name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    errors.add(name, "invalid-type", _("Send true or false."))
    return False


def ident(errors: ErrorCollector, name: str, value: Any, *, message: str) -> int | None:
    """A positive 64-bit id; None (no error) for None/blank."""
    if value is None or value == "":
        return None
    if hasattr(value, "pk"):
        value = value.pk
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_ID:
        errors.add(name, "not-found", message)
        return None
    return value


def unknown(errors: ErrorCollector, data: Mapping[str, Any], allowed: frozenset[str]) -> None:
    for name in data:
        if name not in allowed:
            errors.add(name, "unknown-field", _("There is no field '%(name)s'.") % {"name": name})


def line_total(quantity: Decimal, unit_price: Decimal, discount_percent: Decimal) -> Decimal:
    """quantity × unit price less the discount, to the cent."""
    gross = quantity * unit_price
    net = gross * (Decimal(100) - discount_percent) / Decimal(100)
    return net.quantize(CENT, rounding=ROUND_HALF_UP)
