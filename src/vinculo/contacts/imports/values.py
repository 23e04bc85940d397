"""Cell text to values: dates, numbers and yes/no as people write them in Brazil and in English.

Spreadsheets exported in Brazil write `31/12/2024` and `1.234,56`; American ones `12/31/2024`
and `1,234.56`; Excel sometimes hands over a date as its serial number. Each parser accepts
all of these and raises `ValueError` with a sentence a person can act on when it cannot tell.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _

from vinculo.core.search import normalize_text

# Excel counts days from 1899-12-30 (its 1900 leap-year bug folded in). Only five-digit
# serials are taken as dates (1927-05-18 … 2173-10-14): a shorter number is far more often a
# year or a day than a date Excel forgot to format.
EXCEL_EPOCH = dt.date(1899, 12, 30)
_SERIAL_RE = re.compile(r"^(\d{5})(?:\.\d+)?$")
_TIME = r"(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:Z|[+-]\d{2}:?\d{2})?)?"
_YMD_RE = re.compile(r"^(\d{4})([-/.])(\d{1,2})\2(\d{1,2})" + _TIME + "$")
_DMY_RE = re.compile(r"^(\d{1,2})([-/.])(\d{1,2})\2(\d{4}|\d{2})" + _TIME + "$")
_COMPACT_RE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_DAY_RE = re.compile(r"^(\d{1,2})(?:st|nd|rd|th|o|a)?$")

# Month names and abbreviations in Portuguese and English, compared without accents.
MONTHS: dict[str, int] = {
    **dict.fromkeys(("jan", "janeiro", "january"), 1),
    **dict.fromkeys(("fev", "fevereiro", "feb", "february"), 2),
    **dict.fromkeys(("mar", "marco", "march"), 3),
    **dict.fromkeys(("abr", "abril", "apr", "april"), 4),
    **dict.fromkeys(("mai", "maio", "may"), 5),
    **dict.fromkeys(("jun", "junho", "june"), 6),
    **dict.fromkeys(("jul", "julho", "july"), 7),
    **dict.fromkeys(("ago", "agosto", "aug", "august"), 8),
    **dict.fromkeys(("set", "setembro", "sep", "sept", "september"), 9),
    **dict.fromkeys(("out", "outubro", "oct", "october"), 10),
    **dict.fromkeys(("nov", "novembro", "november"), 11),
    **dict.fromkeys(("dez", "dezembro", "dec", "december"), 12),
}
# Two-digit years land in the hundred years that end ten years from now: "85" is 1985 and
# "30" is 2030 (birthdates and contract dates both fit; a year outside it must be written whole).
TWO_DIGIT_YEAR_LOOKAHEAD = 10


def _not_a_date(text: str) -> ValueError:
    return ValueError(
        _("“%(value)s” is not a date; write it as dd/mm/yyyy or yyyy-mm-dd.") % {"value": text}
    )


def _build_date(text: str, year: int, month: int, day: int) -> dt.date:
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise ValueError(
            _("“%(value)s” is not a valid date: that day does not exist.") % {"value": text}
        ) from None


def _full_year(year: int, digits: int) -> int:
    if digits != 2:
        return year
    today = dt.date.today()
    full = today.year - today.year % 100 + year
    return full - 100 if full > today.year + TWO_DIGIT_YEAR_LOOKAHEAD else full


def _date_from_words(text: str, folded: str) -> dt.date | None:
    """ "31 de dezembro de 2024", "31 dez 2024", "Dec 31, 2024", "December 31st 2024"."""
    tokens = [t for t in re.split(r"[\s,./-]+", folded) if t and t != "de" and t != "of"]
    if len(tokens) != 3:
        return None
    if tokens[1] in MONTHS:
        day_token, month_token, year_token = tokens
    elif tokens[0] in MONTHS:
        month_token, day_token, year_token = tokens
    else:
        return None
    day_match = _DAY_RE.match(day_token)
    if not day_match or not re.fullmatch(r"\d{4}|\d{2}", year_token):
        return None
    year = _full_year(int(year_token), len(year_token))
    return _build_date(text, year, MONTHS[month_token], int(day_match.group(1)))


def parse_date(text: str, *, prefer_day_first: bool = True) -> dt.date:
    """A date from the ways people and spreadsheets write one.

    Accepts yyyy-mm-dd (with or without a time, which is dropped), dd/mm/yyyy, dd-mm-yyyy,
    dd.mm.yyyy (two-digit years too), mm/dd/yyyy when the day is over 12, yyyymmdd, month
    names in Portuguese and English, and five-digit Excel serial numbers. When day and month
    could be swapped (03/04/2024), `prefer_day_first` decides: day first is the Brazilian way.
    """
    value = text.strip()
    if not value:
        raise ValueError(_("The date is empty."))
    if match := _YMD_RE.match(value):
        year, month, day = int(match.group(1)), int(match.group(3)), int(match.group(4))
        return _build_date(value, year, month, day)
    if match := _DMY_RE.match(value):
        first, second = int(match.group(1)), int(match.group(3))
        year = _full_year(int(match.group(4)), len(match.group(4)))
        if first > 12 or (prefer_day_first and second <= 12):
            day, month = first, second
        else:
            month, day = first, second
        return _build_date(value, year, month, day)
    if match := _COMPACT_RE.match(value):
        return _build_date(value, int(match.group(1)), int(match.group(2)), int(match.group(3)))
    if match := _SERIAL_RE.match(value):
        return EXCEL_EPOCH + dt.timedelta(days=int(match.group(1)))
    found = _date_from_words(value, normalize_text(value))
    if found is None:
        raise _not_a_date(value)
    return found


# ---------------------------------------------------------------------------------------------
# Numbers

_CURRENCY = r"(?:R\$|US\$|U\$|\$|€|£|BRL|USD|EUR)"
_NUMBER_RE = re.compile(
    r"^(?P<open>\()?\s*(?P<sign>[-+−])?\s*(?:" + _CURRENCY + r"\s*)?(?P<sign2>[-+−])?\s*"
    r"(?P<digits>[\d.,' ’]*\d[\d.,' ’]*|[.,]\d+)"
    r"\s*(?:" + _CURRENCY + r")?\s*(?P<trailing>[-−])?\s*(?P<close>\))?$",
    re.IGNORECASE | re.ASCII,
)
_SCIENTIFIC_RE = re.compile(r"^[-+]?\d+(?:\.\d+)?[eE][-+]?\d{1,3}$")
_SPACE_GROUP_CHARS = re.compile(r"[ '’]")
_SPACE_GROUPED_RE = re.compile(r"^(\d{1,3}(?:[ '’]\d{3})+)([.,]\d*)?$")
_SPACES = str.maketrans({"\u00a0": " ", "\u202f": " ", "\u2009": " "})


def _not_a_number(text: str) -> ValueError:
    return ValueError(
        _("“%(value)s” is not a number; write it like 1234,56, 1.234,56 or 1,234.56.")
        % {"value": text}
    )


def _grouped(digits: str, separator: str) -> bool:
    """True when `digits` is thousands written with `separator`: 1.234.567 or 12,345."""
    groups = digits.split(separator)
    return (
        1 <= len(groups[0]) <= 3
        and groups[0].isdigit()
        and all(len(g) == 3 and g.isdigit() for g in groups[1:])
    )


def _plain_digits(text: str, digits: str, decimal_separator: str | None) -> str:
    """The number as `1234.56`, from its digits with whatever separators it was written with."""
    if _SPACE_GROUP_CHARS.search(digits):
        # Spaces and apostrophes only ever group thousands (1 234,56; 1'234.56).
        match = _SPACE_GROUPED_RE.match(digits)
        if not match:
            raise _not_a_number(text)
        digits = _SPACE_GROUP_CHARS.sub("", match.group(1)) + (match.group(2) or "")
    dots, commas = digits.count("."), digits.count(",")
    if dots and commas:
        decimal = "." if digits.rfind(".") > digits.rfind(",") else ","
        group = "," if decimal == "." else "."
        whole, _dec, fraction = digits.rpartition(decimal)
        if digits.count(decimal) != 1 or not fraction.isdigit() or not _grouped(whole, group):
            raise _not_a_number(text)
        return whole.replace(group, "") + "." + fraction
    separator = "." if dots else "," if commas else ""
    if not separator:
        return digits
    if dots + commas > 1:
        if not _grouped(digits, separator):
            raise _not_a_number(text)
        return digits.replace(separator, "")
    whole, _dec, fraction = digits.partition(separator)
    if not (whole.isdigit() or whole == "") or not (fraction.isdigit() or fraction == ""):
        raise _not_a_number(text)
    # "1.500" and "1,500": a single separator before exactly three digits is read as thousands
    # unless told otherwise; a price written as 1.500 is far commoner in a CRM than 1.5 written
    # with three decimals. Callers that know the file's convention pass `decimal_separator`.
    ambiguous = len(fraction) == 3 and _grouped(digits, separator) and whole != "0"
    if ambiguous and decimal_separator != separator:
        return whole + fraction
    return (whole or "0") + "." + (fraction or "0")


def parse_number(text: str, *, decimal_separator: str | None = None) -> Decimal:
    """A number written the Brazilian way (1.234,56), the English way (1,234.56) or plainly
    (1234.5, -12, 1E+05), with an optional currency (R$, US$, $, €, £), a sign before or after
    it, or accounting parentheses for negatives.

    A single "." or "," followed by exactly three digits (1.500) is ambiguous: it is read as
    thousands unless `decimal_separator` names that character as the decimal one.
    """
    value = text.strip().translate(_SPACES)
    if not value:
        raise ValueError(_("The number is empty."))
    if _SCIENTIFIC_RE.match(value):
        return Decimal(value)
    match = _NUMBER_RE.match(value)
    if not match or bool(match["open"]) != bool(match["close"]):
        raise _not_a_number(value)
    signs = [s for s in (match["sign"], match["sign2"], match["trailing"]) if s]
    if len(signs) > 1 or (match["open"] and signs):
        raise _not_a_number(value)
    negative = bool(match["open"]) or (bool(signs) and signs[0] != "+")
    digits = match["digits"].strip()
    try:
        number = Decimal(_plain_digits(value, digits, decimal_separator))
    except InvalidOperation:
        raise _not_a_number(value) from None
    return -number if negative else number


# ---------------------------------------------------------------------------------------------
# Yes / no

TRUE_WORDS = frozenset(
    {"sim", "s", "yes", "y", "true", "t", "verdadeiro", "v", "1", "x", "on", "✓", "✔"}
)
FALSE_WORDS = frozenset({"nao", "n", "no", "false", "f", "falso", "0", "", "off"})


def parse_bool(text: str) -> bool:
    """Yes or no: sim/não, s/n, yes/no, y/n, true/false, verdadeiro/falso, 1/0, or a
    checkbox column where "x" means yes and an empty cell no."""
    word = normalize_text(text)
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(
        _("“%(value)s” is not yes or no; write sim/não, yes/no, true/false or 1/0.")
        % {"value": text.strip()}
    )
