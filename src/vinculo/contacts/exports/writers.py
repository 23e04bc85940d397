"""Export files: CSV for spreadsheets (UTF-8 with a byte-order mark so Excel reads the accents,
cells that a spreadsheet would run as formulas neutralised) and XLSX (dates and numbers as typed
cells, text always as text, so no formula is ever evaluated; bold, frozen header row).

Cells are formatted like the list shows them, in the language and time zone active while
writing. This is the hot path of a million-row export: a column's cells are made for a whole
chunk of row tuples at once (see `selectors.export_chunks`) by a comprehension built once per
export; nothing here renders a template or touches a model object per row.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal, InvalidOperation
from operator import itemgetter
from typing import IO, Any

import xlsxwriter  # type: ignore[import-untyped]
from django.utils import dateformat, timezone
from django.utils.formats import get_format
from django.utils.translation import pgettext
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE

from vinculo.contacts.exports.selectors import OWNER_NAME, TAG_NAMES, ExportPlan, export_chunks
from vinculo.contacts.forms import (
    CURRENCY_SYMBOLS,
    Column,
    custom_value_display,
    stage_label,
)
from vinculo.contacts.models import CompanySize, ExportFormat, LifecycleStage
from vinculo.core.models import CustomFieldType, User, Workspace
from vinculo.web.formatting import phone_display

Row = tuple[Any, ...]
Progress = Callable[[int], None]

# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection, OWASP).
_FORMULA_FIRST = frozenset("=+-@\t\r")

CONTENT_TYPES: dict[str, str] = {
    ExportFormat.CSV: "text/csv; charset=utf-8",
    ExportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def neutralise(cell: str) -> str:
    """A cell a spreadsheet would run as a formula, quoted so it shows as the text it is."""
    return f"'{cell}" if cell[:1] in _FORMULA_FIRST else cell


# --- phones --------------------------------------------------------------------------------------

# phonenumbers takes about 90 µs to parse and format a number: 90 s for a million contacts, three
# times the whole export budget. How it groups a number's digits depends only on the country
# code, the first national digits and the length, so one number formatted by the library serves
# as the template of every number sharing its country code, first five national digits and
# length; a test checks the templates against the library for numbers of every region.
_NATIONAL_DIGITS_IN_KEY = 5
_PhoneTemplate = tuple[str, Callable[[str], Any]]
_PHONE_TEMPLATES: dict[tuple[str, int], _PhoneTemplate | None] = {}
_COUNTRY_CODE_SIZES: dict[str, int] = {}


def _country_code_length(e164: str) -> int:
    for size in (1, 2, 3):
        if e164[1 : 1 + size].isdigit() and int(e164[1 : 1 + size]) in COUNTRY_CODE_TO_REGION_CODE:
            return size
    return 3


def _phone_template(e164: str) -> _PhoneTemplate | None:
    """("%s %s %s-%s", a getter of the digit groups) from the library's own formatting of
    `e164`; None when its digits are not those of the number, in order."""
    shown = phone_display(e164)
    pattern: list[str] = []
    groups: list[slice] = []
    position = 0
    start: int | None = None
    for char in shown:
        if char.isdigit() or (char == "+" and position == 0):
            if position >= len(e164) or e164[position] != char:
                return None
            if start is None:
                start = position
            position += 1
            continue
        if start is not None:
            groups.append(slice(start, position))
            pattern.append("%s")
            start = None
        pattern.append(char.replace("%", "%%"))
    if start is not None:
        groups.append(slice(start, position))
        pattern.append("%s")
    if position != len(e164) or not groups:
        return None
    getter = itemgetter(*groups)
    if len(groups) == 1:
        single = getter
        return "".join(pattern), lambda number: (single(number),)
    return "".join(pattern), getter


def phone_text(e164: str) -> str:
    """A stored E.164 number as the list shows it (+55 11 98765-4321)."""
    if not e164:
        return ""
    prefix = e164[:4]
    size = _COUNTRY_CODE_SIZES.get(prefix)
    if size is None:
        size = _COUNTRY_CODE_SIZES[prefix] = _country_code_length(e164)
    key = (e164[: 1 + size + _NATIONAL_DIGITS_IN_KEY], len(e164))
    try:
        template = _PHONE_TEMPLATES[key]
    except KeyError:
        template = _PHONE_TEMPLATES[key] = _phone_template(e164) if e164[:1] == "+" else None
    if template is None:
        return phone_display(e164)
    pattern, groups = template
    return pattern % groups(e164)


# --- dates ---------------------------------------------------------------------------------------

# Django format characters that depend on the date alone and on the time of day alone. A format
# made only of these (and literal text) is formatted piecewise with a cache per date and per
# time, instead of once per value: a million datetimes share a few thousand dates.
_DATE_CHARS = frozenset("bdDEFjlLmMnNoStwWyYz")
_TIME_CHARS = frozenset("aAfgGhHiPsu")
_ALL_CHARS = frozenset("aAbcdDeEfFgGhHiIjlLmMnNoOPrsStTuUwWyYzZ")


def _runs(fmt: str) -> list[tuple[str, str]] | None:
    """`fmt` cut into runs of ("date" | "time", format); None when some character depends on
    the whole moment (time zone names, ISO, epoch)."""
    runs: list[tuple[str, str]] = []
    kind = "date"
    current = ""
    i = 0
    while i < len(fmt):
        char = fmt[i]
        if char == "\\" and i + 1 < len(fmt):
            current += fmt[i : i + 2]
            i += 2
            continue
        if char in _ALL_CHARS:
            wanted = "date" if char in _DATE_CHARS else "time" if char in _TIME_CHARS else ""
            if not wanted:
                return None
            if wanted != kind and current:
                runs.append((kind, current))
                current = ""
            kind = wanted
        current += char
        i += 1
    if current:
        runs.append((kind, current))
    return runs


class MomentFormatter:
    """Dates and datetimes as the list shows them (SHORT_DATE_FORMAT, SHORT_DATETIME_FORMAT in
    the active language), datetimes in `zone`. Build it inside the language it writes."""

    def __init__(self, zone: dt.tzinfo) -> None:
        self.zone = zone
        self.date_format = str(get_format("SHORT_DATE_FORMAT"))
        self.datetime_format = str(get_format("SHORT_DATETIME_FORMAT"))
        self._runs = _runs(self.datetime_format)
        self._dates: dict[Any, str] = {}
        self._parts: list[dict[Any, str]] = [{} for _ in self._runs or ()]

    def date_text(self, value: dt.date) -> str:
        text = self._dates.get(value)
        if text is None:
            text = self._dates[value] = dateformat.format(value, self.date_format)
        return text

    def datetime_text(self, value: dt.datetime) -> str:
        local = value.astimezone(self.zone) if timezone.is_aware(value) else value
        if self._runs is None:
            return dateformat.format(local, self.datetime_format)
        pieces = []
        for (kind, fmt), cache in zip(self._runs, self._parts, strict=True):
            key: Any = local.date() if kind == "date" else local.time()
            text = cache.get(key)
            if text is None:
                if len(cache) > 100_000:
                    cache.clear()
                text = cache[key] = dateformat.format(local, fmt)
            pieces.append(text)
        return "".join(pieces)

    def local(self, value: dt.datetime) -> dt.datetime:
        """Naive local time, as spreadsheets store datetimes."""
        if timezone.is_aware(value):
            value = value.astimezone(self.zone)
        return value.replace(tzinfo=None)


# Django date format characters as Excel number-format codes.
_EXCEL_CODES = {
    "d": "dd",
    "j": "d",
    "m": "mm",
    "n": "m",
    "Y": "yyyy",
    "y": "yy",
    "H": "hh",
    "G": "h",
    "i": "mm",
    "s": "ss",
    "b": "mmm",
    "M": "mmm",
    "F": "mmmm",
    "D": "ddd",
    "l": "dddd",
    "P": "h:mm AM/PM",
    "g": "h",
    "h": "hh",
    "A": "AM/PM",
    "a": "AM/PM",
}


def excel_format(fmt: str, fallback: str) -> str:
    """A Django date format as an Excel number format, or `fallback` when some part has no
    Excel equivalent."""
    out = []
    i = 0
    while i < len(fmt):
        char = fmt[i]
        if char == "\\" and i + 1 < len(fmt):
            out.append(f'"{fmt[i + 1]}"')
            i += 2
            continue
        if char in _EXCEL_CODES:
            out.append(_EXCEL_CODES[char])
        elif char in _ALL_CHARS:
            return fallback
        elif char in " /-.:,":
            out.append(char)
        else:
            out.append(f'"{char}"')
        i += 1
    return "".join(out)


# --- cells ---------------------------------------------------------------------------------------

# What a typed XLSX cell holds: text, a moment, a date, a number, a money amount, a yes/no.
TEXT, MOMENT, DAY, NUMBER, MONEY, BOOLEAN = "text", "moment", "date", "number", "money", "boolean"
_MOMENT_COLUMNS = frozenset({"created_at", "updated_at", "last_activity_at"})
# Cells made of our own words (stage and size labels) or of dates never start a formula.
_SAFE_COLUMNS = frozenset({"lifecycle_stage", "size"}) | _MOMENT_COLUMNS
_CUSTOM_KINDS = {
    CustomFieldType.NUMBER.value: NUMBER,
    CustomFieldType.MONEY.value: MONEY,
    CustomFieldType.DATE.value: DAY,
    CustomFieldType.BOOLEAN.value: BOOLEAN,
}

# A column's cells for a chunk of rows, computed a column at a time: a comprehension per
# column costs a fraction of a function call per cell.
Cells = Callable[[list[Row]], list[Any]]


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _iso_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        return None


def _boolean(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _day_text(value: Any, day: Callable[[dt.date], str]) -> str:
    if value is None or value == "":
        return ""
    parsed = _iso_date(value)
    return day(parsed) if parsed is not None else str(value)


def _neutralised(cells: list[str]) -> list[str]:
    first = _FORMULA_FIRST
    return [f"'{c}" if c[:1] in first else c for c in cells]


def _neutralising(text: Cells) -> Cells:
    return lambda rows: _neutralised(text(rows))


class CellMaker:
    """The cells of a plan's columns: their text as the list shows it (CSV, and text cells of
    XLSX) and, for XLSX, each column's kind and typed values."""

    def __init__(self, plan: ExportPlan, *, currency: str, zone: dt.tzinfo) -> None:
        self.plan = plan
        self.currency = currency
        self.moments = MomentFormatter(zone)
        self.layout = plan.layout
        # Labels are looked up once, in the language of the export.
        self.stages = {value: stage_label(value) for value in LifecycleStage.values}
        self.sizes = {value: str(label) for value, label in CompanySize.choices}

    def headers(self) -> list[str]:
        return [str(column.label) for column in self.plan.columns]

    def kind(self, column: Column) -> str:
        if column.definition is not None:
            return _CUSTOM_KINDS.get(str(column.definition.field_type), TEXT)
        return MOMENT if column.key in _MOMENT_COLUMNS else TEXT

    def csv_columns(self) -> list[Cells]:
        """Each column's text, neutralised where a person's text could start a formula."""
        columns = []
        for column in self.plan.columns:
            text = self._text(column)
            if column.key in _SAFE_COLUMNS and column.definition is None:
                columns.append(text)
            else:
                columns.append(_neutralising(text))
        return columns

    def xlsx_columns(self) -> list[tuple[str, Cells]]:
        """Each column's kind and values (None or "" when empty): text as the list shows it
        (an XLSX text cell is never run, so nothing is neutralised), datetimes in local time,
        dates, Decimals, booleans."""
        return [
            (kind, self._text(column) if kind == TEXT else self._typed(column, kind))
            for column in self.plan.columns
            for kind in (self.kind(column),)
        ]

    def _typed(self, column: Column, kind: str) -> Cells:
        if column.definition is not None:
            at = self.layout["custom_fields"]
            key = column.definition.key
            convert = {NUMBER: _decimal, MONEY: _decimal, DAY: _iso_date, BOOLEAN: _boolean}[kind]
            return lambda rows: [convert((r[at] or {}).get(key)) for r in rows]
        at = self.layout[column.key]
        local = self.moments.local
        return lambda rows: [local(r[at]) if r[at] is not None else None for r in rows]

    def _text(self, column: Column) -> Cells:
        layout = self.layout
        key = column.key
        if column.definition is not None and self.kind(column) == DAY:
            at, cf_key, day = layout["custom_fields"], column.definition.key, self.moments.date_text
            return lambda rows: [_day_text((r[at] or {}).get(cf_key), day) for r in rows]
        if column.definition is not None:
            at = layout["custom_fields"]
            definition, cf_key, currency = column.definition, column.definition.key, self.currency
            return lambda rows: [
                custom_value_display(definition, (r[at] or {}).get(cf_key), currency) for r in rows
            ]
        if key == "name" and self.plan.object_type == "contact":
            pk, first, last, email = (
                layout["id"],
                layout["first_name"],
                layout["last_name"],
                layout["email"],
            )
            return lambda rows: [
                f"{r[first]} {r[last]}"
                if r[first] and r[last]
                else r[first] or r[last] or r[email] or f"#{r[pk]}"
                for r in rows
            ]
        if key == "owner":
            at = layout[OWNER_NAME]
            return lambda rows: [r[at] for r in rows]
        if key == "tags":
            at = layout[TAG_NAMES]
            return lambda rows: [", ".join(r[at]) for r in rows]
        if key == "lifecycle_stage":
            at, stages = layout["lifecycle_stage"], self.stages
            return lambda rows: [stages.get(r[at], r[at]) for r in rows]
        if key == "size" and self.plan.object_type == "account":
            at, sizes = layout["size"], self.sizes
            return lambda rows: [sizes.get(r[at], r[at]) if r[at] else "" for r in rows]
        if key == "phone":
            at = layout["phone"]
            return lambda rows: [phone_text(r[at]) for r in rows]
        if key in _MOMENT_COLUMNS:
            at, moment = layout[key], self.moments.datetime_text
            return lambda rows: [moment(r[at]) if r[at] is not None else "" for r in rows]
        at = layout[self.plan.kind.fields[key][0]]
        return lambda rows: [r[at] or "" for r in rows]


# --- CSV -----------------------------------------------------------------------------------------


def _csv_pieces(cells: CellMaker, chunks: Iterable[list[Row]]) -> Iterator[tuple[str, int]]:
    """The file's text a chunk at a time (the header first), with the rows each piece holds."""
    columns = cells.csv_columns()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(_neutralised(cells.headers()))
    yield buffer.getvalue(), 0
    for rows in chunks:
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(zip(*[column(rows) for column in columns], strict=True))
        yield buffer.getvalue(), len(rows)


def csv_stream(cells: CellMaker, chunks: Iterable[list[Row]]) -> Iterator[bytes]:
    """A CSV file as bytes, for a streamed download: the byte-order mark, then a piece per
    chunk of rows."""
    yield codecs.BOM_UTF8
    for text, _count in _csv_pieces(cells, chunks):
        yield text.encode("utf-8")


def write_csv(
    cells: CellMaker, chunks: Iterable[list[Row]], target: IO[bytes], progress: Progress | None
) -> int:
    """Write the CSV file to `target`; returns the rows written."""
    target.write(codecs.BOM_UTF8)
    total = 0
    for text, count in _csv_pieces(cells, chunks):
        target.write(text.encode("utf-8"))
        total += count
        if count and progress is not None:
            progress(total)
    return total


# --- XLSX ----------------------------------------------------------------------------------------

_WIDTHS = {"name": 28, "email": 32, "account": 28, "tags": 24, "website": 28, "domain": 22}


def _money_format(currency: str) -> str:
    symbol = CURRENCY_SYMBOLS.get(currency, currency).replace('"', "")
    return f'"{symbol}" #,##0.00'


def write_xlsx(
    cells: CellMaker,
    chunks: Iterable[list[Row]],
    target: IO[bytes],
    progress: Progress | None,
    *,
    in_memory: bool = False,
) -> int:
    """Write the XLSX workbook to `target`; returns the rows written. Constant-memory mode
    writes each row out as it goes, so a million rows need no more memory than a few (a small
    export is built `in_memory`, without temporary files)."""
    workbook = xlsxwriter.Workbook(
        target,
        {
            "constant_memory": not in_memory,
            "in_memory": in_memory,
            # Text stays text: no formula, number or link is ever made of a cell's content.
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
        },
    )
    sheet = workbook.add_worksheet(str(cells.plan.kind.label)[:31])
    header = workbook.add_format({"bold": True})
    formats = {
        MOMENT: workbook.add_format(
            {"num_format": excel_format(cells.moments.datetime_format, "yyyy-mm-dd hh:mm")}
        ),
        DAY: workbook.add_format(
            {"num_format": excel_format(cells.moments.date_format, "yyyy-mm-dd")}
        ),
        MONEY: workbook.add_format({"num_format": _money_format(cells.currency)}),
        NUMBER: None,
    }
    columns = cells.xlsx_columns()
    for col, column in enumerate(cells.plan.columns):
        kind = columns[col][0]
        sheet.set_column(col, col, 20 if kind == MOMENT else _WIDTHS.get(column.key, 16))
    sheet.freeze_panes(1, 0)
    for col, text in enumerate(cells.headers()):
        sheet.write_string(0, col, text, header)
    write_string, write_datetime = sheet.write_string, sheet.write_datetime
    write_number, write_boolean = sheet.write_number, sheet.write_boolean
    done = 0
    for rows in chunks:
        values = [(kind, column(rows)) for kind, column in columns]
        # Row by row: constant-memory mode flushes a row once the next one starts.
        for i in range(len(rows)):
            row_number = done + i + 1
            for col, (kind, cells_of_column) in enumerate(values):
                value = cells_of_column[i]
                if value is None or value == "":
                    continue
                if kind == TEXT:
                    write_string(row_number, col, value)
                elif kind in (MOMENT, DAY):
                    write_datetime(row_number, col, value, formats[kind])
                elif kind == BOOLEAN:
                    write_boolean(row_number, col, value)
                else:
                    write_number(row_number, col, float(value), formats[kind])
        done += len(rows)
        if progress is not None:
            progress(done)
    if done:
        sheet.autofilter(0, 0, done, len(columns) - 1)
    workbook.close()
    return done


def write_export(
    cells: CellMaker,
    chunks: Iterable[list[Row]],
    target: IO[bytes],
    progress: Progress | None = None,
) -> int:
    """Write the plan's format to the binary file `target`; returns the rows written."""
    if cells.plan.file_format == ExportFormat.XLSX:
        return write_xlsx(cells, chunks, target, progress)
    return write_csv(cells, chunks, target, progress)


def write_plan(
    *,
    workspace: Workspace,
    viewer: User | None,
    plan: ExportPlan,
    target: IO[bytes],
    zone: dt.tzinfo,
    progress: Progress | None = None,
) -> int:
    """Write the records of `plan` that `viewer` may see (None: the system, all of them) to
    `target` in the plan's format, in the active language and in `zone`; returns the rows
    written."""
    cells = CellMaker(plan, currency=workspace.currency, zone=zone)
    chunks = export_chunks(workspace=workspace, viewer=viewer, plan=plan)
    return write_export(cells, chunks, target, progress)


def file_name(plan: ExportPlan, day: dt.date) -> str:
    """`contacts-2026-11-01.csv`, with the kind of record in the language of the export."""
    words = {
        "contact": pgettext("export file name", "contacts"),
        "account": pgettext("export file name", "accounts"),
    }
    return f"{words[plan.object_type]}-{day.isoformat()}.{plan.file_format}"
