"""Reading import files: what a CSV or XLSX file holds, row by row, never all of it at once.

`inspect_file` looks at an upload once and says how to read it (`TableInfo`) or why it cannot be
imported (`ImportFileError`, a sentence naming the problem). `iter_rows` then streams the data
rows from any position (the import cursor), and `count_rows` counts them for the progress bar.

How files are read, so that nothing is mangled silently:

- CSV text is UTF-8 (with or without a byte-order mark), UTF-16 with a byte-order mark (Excel's
  "Unicode text"), or else Windows-1252, which covers Latin-1. The whole file is checked, not
  only its start, because Excel exports put accented names anywhere.
- Mixed encodings: a file that holds both lines that are valid UTF-8 with accents and lines
  that are not is read in the encoding most of its lines use. Every line in the other encoding
  is still decoded correctly (so reports show the real text), but its row carries a `problem`
  and is not imported: re-saving the file in one encoding and importing those rows again is
  the fix, and guessing per line without telling anyone would hide a damaged file.
- Blank rows (nothing but delimiters and spaces) are not data rows: they are skipped and do not
  count. The header is the first row that is not blank.
- A row with more cells than the header (other than empty trailing ones) or fewer has a
  `problem` ("ragged"); its cells are padded with "" to the header's width so a caller can
  still show them.
- A quote that is never closed would swallow the rest of the file into one value: the
  inspection refuses such a file and names the line; a quoted value that runs into rows of its
  own further on is a `problem` of that row.
- XLSX: the first visible worksheet, read with python-calamine (which loads the sheet into its
  own memory; a sheet has at most 1,048,576 rows). Dates become yyyy-mm-dd, whole numbers lose
  their ".0", and `line` is the sheet's row number.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from decimal import Decimal
from itertools import chain, islice
from pathlib import Path, PurePath
from typing import Any

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from python_calamine import (
    CalamineSheet,
    CalamineWorkbook,
    PasswordError,
    SheetTypeEnum,
    SheetVisibleEnum,
)

from vinculo.contacts.imports.values import parse_date
from vinculo.core.exceptions import FieldError, ValidationFailed

MAX_IMPORT_BYTES: int = int(getattr(settings, "VINCULO_IMPORT_MAX_BYTES", 200 * 1024 * 1024))
SAMPLE_ROWS = 20
# Rows looked at to decide the delimiter and whether the first row holds titles.
SNIFF_ROWS = 100
SNIFF_CHARS = 64 * 1024
CHUNK_BYTES = 1024 * 1024
DELIMITERS = (";", ",", "\t", "|")

TEXT_EXTENSIONS = frozenset({".csv", ".txt", ".tsv", ""})
WORKBOOK_EXTENSIONS = frozenset({".xlsx", ".xlsm"})
OTHER_SPREADSHEETS = frozenset({".xls", ".xlsb", ".ods", ".numbers"})
UTF8_ENCODINGS = frozenset({"utf-8", "utf-8-sig"})
ASCII_COMPATIBLE = frozenset({"utf-8", "utf-8-sig", "cp1252", "latin-1"})

ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
BINARY_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", gettext_lazy("a PNG image")),
    (b"\xff\xd8\xff", gettext_lazy("a JPEG image")),
    (b"GIF87a", gettext_lazy("a GIF image")),
    (b"GIF89a", gettext_lazy("a GIF image")),
    (b"%PDF-", gettext_lazy("a PDF document")),
    (b"\x1f\x8b", gettext_lazy("a compressed (gzip) archive")),
    (b"Rar!\x1a\x07", gettext_lazy("a RAR archive")),
    (b"7z\xbc\xaf\x27\x1c", gettext_lazy("a 7-Zip archive")),
    (b"\x7fELF", gettext_lazy("a program")),
)
# Bytes that never appear in a text table (tab, line feed, form feed and carriage return do).
_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 12, 13))
_CONTROL_LIMIT = 0.01

# Windows-1252 leaves five bytes undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D); like browsers, read
# them as the Latin-1 control characters of the same number instead of failing the file.
_CP1252_ERRORS = "vinculo.cp1252"


def _cp1252_fallback(exc: UnicodeError) -> tuple[str | bytes, int]:
    if isinstance(exc, UnicodeDecodeError):
        return exc.object[exc.start : exc.end].decode("latin-1"), exc.end
    if isinstance(exc, UnicodeEncodeError):
        text = exc.object[exc.start : exc.end]
        if all(ord(ch) < 256 for ch in text):
            return text.encode("latin-1"), exc.end
    raise exc


codecs.register_error(_CP1252_ERRORS, _cp1252_fallback)

_SURROGATES = re.compile("[\udc80-\udcff]")
# In text read as Windows-1252, a UTF-8 sequence shows as a lead letter (Â…ô) followed by a
# character whose Windows-1252 byte is 0x80-0xBF ("Ã©"): only such lines can be UTF-8.
_UTF8_IN_CP1252 = re.compile(
    "[\u00c2-\u00f4][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6"
    "\u02dc\u2013\u2014\u2018-\u201a\u201c-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a"
    "\u20ac\u2122]"
)
# Windows-1252 text can be valid UTF-8 by chance ("é" and two no-break spaces read as one
# Chinese character). A line is only taken for UTF-8 if that reading is Latin text: letters up
# to Latin Extended-A, Vietnamese, punctuation, currency and letter-like symbols.
_UNLIKELY_IN_UTF8_LINE = re.compile(
    "[^\x00-\x7f\u00a0-\u017f\u1e00-\u1eff\u2000-\u206f\u20a0-\u20cf\u2100-\u214f]"
)
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_NUMERIC_RE = re.compile(
    r"^(?:R\$|US\$|\$|€|£)?\s*[-+−(]?[\d\s.,:/\-+()%ºª°#*]*\d[\d\s.,:/\-+()%ºª°#*]*$"
)
_URL_RE = re.compile(r"^(?:https?://|www\.)\S+$", re.IGNORECASE)
HEADER_MAX_LENGTH = 80


class ImportFileError(ValidationFailed):
    """The file cannot be imported at all; `detail` says why in a sentence for its owner.

    A ValidationFailed on the field "file", so pages and the API that already show field
    errors show this one next to the upload."""

    code = "import_file_invalid"
    title = "The file cannot be imported"
    field = "file"

    def __init__(self, detail: str) -> None:
        super().__init__([FieldError(self.field, self.code, detail)], detail)


@dataclass(frozen=True)
class TableInfo:
    """How to read one file, found by `inspect_file`."""

    file_format: str  # "csv" | "xlsx"
    encoding: str  # "utf-8-sig", "utf-8", "utf-16", "cp1252" ("" for xlsx)
    delimiter: str  # "," ";" "\t" "|" ("" for xlsx)
    has_header: bool
    headers: list[str]  # titles; without a header row "Column 1", "Column 2", …
    sample_rows: list[list[str]]  # the first data rows (up to SAMPLE_ROWS), as RawRow.cells


@dataclass(frozen=True, slots=True)
class RawRow:
    """One data row. `cells` has at least one entry per header (short rows are padded)."""

    index: int  # 0-based among data rows: the import cursor
    line: int  # 1-based line of the file where the row starts (sheet row number for xlsx)
    cells: list[str]  # every cell's text, stripped of surrounding whitespace
    problem: str | None  # why this row alone cannot be read as it is, or None


# ---------------------------------------------------------------------------------------------
# Inspection


def _max_bytes() -> int:
    return int(getattr(settings, "VINCULO_IMPORT_MAX_BYTES", MAX_IMPORT_BYTES))


def inspect_file(
    path: Path,
    *,
    original_name: str,
    max_bytes: int | None = None,
    has_header: bool | None = None,
) -> TableInfo:
    """How to read the file at `path` (uploaded as `original_name`), with its first rows.

    `has_header` forces the decision on the first row (the person said so on the mapping
    page); None lets the titles be recognised. Raises ImportFileError for an empty, binary,
    too large or unreadable file, one without data rows, with duplicate column titles, or
    with a quote that swallows the rest of the file.
    """
    name = PurePath(original_name).name or original_name
    extension = PurePath(name).suffix.lower()
    limit = _max_bytes() if max_bytes is None else max_bytes
    size = path.stat().st_size
    if size == 0:
        raise ImportFileError(
            _("“%(name)s” is empty: there is nothing to import.") % {"name": name}
        )
    if size > limit:
        raise ImportFileError(
            _(
                "“%(name)s” is %(size)s; files up to %(limit)s can be imported. "
                "Split it into smaller files."
            )
            % {"name": name, "size": filesizeformat(size), "limit": filesizeformat(limit)}
        )
    with path.open("rb") as f:
        head = f.read(SNIFF_CHARS)

    if head.startswith(ZIP_MAGIC):
        if extension not in WORKBOOK_EXTENSIONS and extension not in TEXT_EXTENSIONS:
            raise _not_a_table(name, _("a ZIP archive"))
        return _inspect_xlsx(path, name, has_header)
    if extension in OTHER_SPREADSHEETS or head.startswith(OLE2_MAGIC):
        raise ImportFileError(
            _(
                "“%(name)s” is in an older or different spreadsheet format. Open it in your "
                "spreadsheet program, save it as Excel (.xlsx) or CSV, and upload that file."
            )
            % {"name": name}
        )
    for magic, kind in BINARY_MAGIC:
        if head.startswith(magic):
            raise _not_a_table(name, str(kind))
    if extension in WORKBOOK_EXTENSIONS:
        raise ImportFileError(
            _(
                "“%(name)s” is named like an Excel workbook, but it is not one that can be "
                "opened. Save it again from Excel as .xlsx, or as CSV."
            )
            % {"name": name}
        )
    if extension not in TEXT_EXTENSIONS:
        raise ImportFileError(
            _(
                "“%(name)s” is not a file that can be imported: upload a CSV (.csv, .txt, "
                ".tsv) or an Excel (.xlsx) file."
            )
            % {"name": name}
        )
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding, quotes = "utf-16", 1
    else:
        if b"\x00" in head or _control_share(head) > _CONTROL_LIMIT:
            raise _not_a_table(name, None)
        encoding, quotes = _scan_encoding(path, bom=head.startswith(codecs.BOM_UTF8))
    return _inspect_csv(path, name, extension, encoding, quotes, has_header)


def _not_a_table(name: str, kind: str | None) -> ImportFileError:
    if kind:
        return ImportFileError(
            _(
                "“%(name)s” is not a table: it looks like %(kind)s. Upload a CSV or an "
                "Excel (.xlsx) file."
            )
            % {"name": name, "kind": kind}
        )
    return ImportFileError(
        _(
            "“%(name)s” is not a table: it holds binary data, not text. Upload a CSV or an "
            "Excel (.xlsx) file."
        )
        % {"name": name}
    )


def _control_share(head: bytes) -> float:
    return (len(head) - len(head.translate(None, _CONTROL_BYTES))) / max(len(head), 1)


def _scan_encoding(path: Path, *, bom: bool) -> tuple[str, int]:
    """The file's encoding (the majority one if it mixes two) and how many quotes it holds."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    quotes = 0
    valid = True
    with path.open("rb") as f:
        while chunk := f.read(CHUNK_BYTES):
            quotes += chunk.count(b'"')
            if valid:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    valid = False
        if valid:
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                valid = False
    utf8 = "utf-8-sig" if bom else "utf-8"
    if valid:
        return utf8, quotes
    utf8_lines = cp1252_lines = 0
    with path.open("rb") as f:
        for raw in f:
            if raw.isascii():
                continue
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                cp1252_lines += 1
            else:
                utf8_lines += 1
    # A byte-order mark is the writer saying "UTF-8": it breaks a tie.
    if utf8_lines > cp1252_lines or (bom and utf8_lines == cp1252_lines):
        return utf8, quotes
    return "cp1252", quotes


def _inspect_csv(
    path: Path,
    name: str,
    extension: str,
    encoding: str,
    quotes: int,
    has_header: bool | None,
) -> TableInfo:
    delimiter = _detect_delimiter(path, encoding, extension)
    if quotes % 2:
        # An odd number of quotes: one may open a value that never closes and would swallow
        # every row after it. Only then is the whole file parsed here.
        _refuse_swallowing_quote(path, encoding, delimiter, name)
    records = [
        (line, cells) for line, _end, cells, _problem, _cut in _sniffed(path, encoding, delimiter)
    ]
    return _table_info(name, "csv", encoding, delimiter, records, has_header, path)


def _sniffed(path: Path, encoding: str, delimiter: str) -> Iterator[_Record]:
    return islice(_csv_records(path, encoding, delimiter), SNIFF_ROWS)


def _detect_delimiter(path: Path, encoding: str, extension: str) -> str:
    """The delimiter that splits the first rows into the same number of cells most often
    (more cells on a tie). Counting through the csv module keeps quoted delimiters out."""
    errors = "replace" if encoding in UTF8_ENCODINGS or encoding == "utf-16" else _CP1252_ERRORS
    with path.open(encoding=encoding, errors=errors, newline="") as f:
        text = f.read(SNIFF_CHARS)
        truncated = bool(f.read(1))
    best, best_score = "", (0.0, 0)
    for delimiter in DELIMITERS:
        widths = [
            len(row)
            for row in islice(
                csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), SNIFF_ROWS + 1
            )
            if any(cell.strip() for cell in row)
        ]
        if truncated and len(widths) > 1:
            widths.pop()
        if not widths:
            continue
        width, times = Counter(widths).most_common(1)[0]
        score = (round(times / len(widths), 2), width)
        if width > 1 and score > best_score:
            best, best_score = delimiter, score
    if best:
        return best
    # One column, or nothing but delimiters: the delimiter that appears at all, if one does.
    counts = {delimiter: text.count(delimiter) for delimiter in DELIMITERS}
    seen = max(counts, key=lambda delimiter: counts[delimiter])
    if counts[seen]:
        return seen
    return "\t" if extension == ".tsv" else ","


def _refuse_swallowing_quote(path: Path, encoding: str, delimiter: str, name: str) -> None:
    for line, end, _cells, _problem, cut in _csv_records(path, encoding, delimiter):
        if cut and end > line:
            raise ImportFileError(
                _(
                    "In “%(name)s”, the quoted value that starts on line %(line)s is never "
                    "closed, so lines %(line)s to %(end)s would be read as one value. Fix the "
                    "quotes on line %(line)s and upload the file again."
                )
                % {"name": name, "line": line, "end": end}
            )


def _looks_like_value(cell: str) -> bool:
    """A cell that is data rather than a column title: a number, a date, an email, a link."""
    if _NUMERIC_RE.match(cell) or _EMAIL_RE.match(cell) or _URL_RE.match(cell):
        return True
    if not any(ch.isdigit() for ch in cell):
        return False
    try:
        parse_date(cell)
    except ValueError:
        return False
    return True


def _is_header(first: list[str]) -> bool:
    """Whether a row reads as column titles: mostly filled, no value-like or very long cells."""
    filled = [cell for cell in first if cell]
    if not filled or len(filled) * 2 < len(first):
        return False
    return not any(len(c) > HEADER_MAX_LENGTH or _looks_like_value(c) for c in filled)


def _trimmed_width(cells: list[str]) -> int:
    width = len(cells)
    while width and not cells[width - 1]:
        width -= 1
    return width


def _table_info(
    name: str,
    file_format: str,
    encoding: str,
    delimiter: str,
    records: list[tuple[int, list[str]]],
    has_header: bool | None,
    path: Path,
) -> TableInfo:
    if not records:
        raise ImportFileError(_("“%(name)s” holds no rows: every line is blank.") % {"name": name})
    first = records[0][1]
    header = _is_header(first) if has_header is None else has_header
    data = [cells for _line, cells in (records[1:] if header else records)]
    titles = first[: _trimmed_width(first)] if header else []
    if header:
        _refuse_duplicate_titles(name, titles)
    width = max(_table_width(data, len(titles), file_format), 1)
    headers = [
        titles[i] if i < len(titles) and titles[i] else _("Column %(number)s") % {"number": i + 1}
        for i in range(width)
    ]
    info = TableInfo(file_format, encoding, delimiter, header, headers, [])
    sample = [row.cells for row in islice(iter_rows(path, info), SAMPLE_ROWS)]
    if not sample:
        raise ImportFileError(
            _("“%(name)s” has column titles but no rows of data below them.") % {"name": name}
        )
    return replace(info, sample_rows=sample)


def _table_width(data: list[list[str]], titles: int, file_format: str) -> int:
    """How many columns the table has. The titles decide, unless most rows hold values past
    them (a column left untitled); a lone ragged row does not widen the table. Without
    titles, CSV rows agree on a width (the commonest), while a sheet's rows all span the
    used area, so the widest filled row counts."""
    if not data:
        return titles
    if titles:
        longer = [w for w in (_trimmed_width(cells) for cells in data) if w > titles]
        if len(longer) * 2 > len(data):
            return Counter(longer).most_common(1)[0][0]
        return titles
    if file_format == "xlsx":
        return max(_trimmed_width(cells) for cells in data)
    return Counter(len(cells) for cells in data).most_common(1)[0][0]


def _refuse_duplicate_titles(name: str, titles: list[str]) -> None:
    columns: dict[str, list[int]] = {}
    shown: dict[str, str] = {}
    for number, title in enumerate(titles, start=1):
        if title:
            key = " ".join(title.casefold().split())
            columns.setdefault(key, []).append(number)
            shown.setdefault(key, title)
    repeated = [
        _("“%(title)s” (columns %(columns)s)")
        % {"title": shown[key], "columns": ", ".join(str(n) for n in numbers)}
        for key, numbers in columns.items()
        if len(numbers) > 1
    ]
    if repeated:
        raise ImportFileError(
            _(
                "In “%(name)s”, each column needs a title of its own, but these appear more "
                "than once: %(titles)s. Rename them and upload the file again."
            )
            % {"name": name, "titles": "; ".join(repeated)}
        )


# ---------------------------------------------------------------------------------------------
# CSV records

# (first line, last line, stripped cells, problem, quote cut short by the end of the file or
# the field size limit)
type _Record = tuple[int, int, list[str], str | None, bool]


class _LineState:
    """What the line reader noticed while the csv reader pulled the lines of one record:
    `flagged` is the one thing the fast path looks at."""

    __slots__ = ("eof", "flagged", "foreign")

    def __init__(self) -> None:
        self.flagged = False
        self.foreign = ""  # the other encoding of a line of the current record, if any
        self.eof = False  # the csv reader asked for a line after the last one

    def take_problem(self, line: int, end: int) -> tuple[str | None, bool]:
        """The reading problem of the record just read (and whether a quote ran to the end
        of the file over several lines); clears what was noticed."""
        foreign, self.foreign, self.flagged = self.foreign, "", self.eof
        if self.eof:
            return _unclosed_quote(line, end), end > line
        if foreign:
            return _encoding_problem(foreign), False
        return None, False


def _open_text(path: Path, encoding: str, *, strict: bool = False) -> io.TextIOWrapper:
    if strict:
        errors = "strict"
    elif encoding in UTF8_ENCODINGS:
        # Invalid bytes are kept (as surrogates) so the line reader can decode them again.
        errors = "surrogateescape"
    elif encoding == "utf-16":
        errors = "replace"
    else:
        errors = _CP1252_ERRORS
    return path.open(encoding=encoding, errors=errors, newline="")


def _lines(f: io.TextIOWrapper, encoding: str, state: _LineState) -> Iterator[str]:
    """The file's lines, each decoded in the encoding it is really in; `state.foreign` names
    the encoding of a line that differs from the file's."""
    if encoding in UTF8_ENCODINGS:
        for line in f:
            if not line.isascii() and _SURROGATES.search(line):
                line = line.encode("utf-8", "surrogateescape").decode("cp1252", _CP1252_ERRORS)
                state.foreign, state.flagged = "cp1252", True
            yield line
    elif encoding in ("cp1252", "latin-1"):
        for line in f:
            if not line.isascii() and _UTF8_IN_CP1252.search(line):
                try:
                    text = line.encode("cp1252", _CP1252_ERRORS).decode("utf-8")
                except UnicodeDecodeError:
                    pass
                else:
                    if not _UNLIKELY_IN_UTF8_LINE.search(text):
                        line = text
                        state.foreign, state.flagged = "utf-8", True
            yield line
    else:
        yield from f
    state.eof = state.flagged = True


def _end_marker(state: _LineState) -> Iterator[str]:
    """Chained after a file's lines: notes that the csv reader wanted more than there is."""
    state.eof = state.flagged = True
    yield from ()


def _encoding_problem(line_encoding: str) -> str:
    if line_encoding == "cp1252":
        return _(
            "this row is not in UTF-8 like the rest of the file (it looks like Windows-1252); "
            "save the whole file as UTF-8 and import this row again"
        )
    return _(
        "this row is in UTF-8 while the rest of the file is in Windows-1252; save the whole "
        "file as UTF-8 and import this row again"
    )


def _unclosed_quote(line: int, end: int) -> str:
    if end <= line:
        return _("a quoted value on this line is never closed")
    return _(
        "a quoted value that starts on line %(line)s is never closed, so lines %(line)s to "
        "%(end)s were read as one row; fix the quotes and import these lines again"
    ) % {"line": line, "end": end}


def _csv_records(path: Path, encoding: str, delimiter: str) -> Iterator[_Record]:
    """Every record that is not blank, with the lines it spans. For inspection; iter_rows
    has a faster loop of its own."""
    state = _LineState()
    with _open_text(path, encoding) as f:
        reader = csv.reader(_lines(f, encoding, state), delimiter=delimiter or ",")
        last = 0
        while True:
            try:
                for row in reader:
                    line, last = last + 1, reader.line_num
                    cells = [cell.strip() for cell in row]
                    problem, cut = state.take_problem(line, last)
                    if any(cells):
                        yield line, last, cells, problem, cut
                return
            except csv.Error:
                line, last = last + 1, reader.line_num
                state.take_problem(line, last)
                yield line, last, [], _unclosed_quote(line, last), True


# ---------------------------------------------------------------------------------------------
# Rows


def iter_rows(path: Path, info: TableInfo, *, start: int = 0) -> Iterator[RawRow]:
    """The data rows from data-row index `start` on, streamed from the file."""
    if info.file_format == "xlsx":
        return _xlsx_rows(path, info, start)
    return _csv_rows(path, info, start)


def _csv_rows(path: Path, info: TableInfo, start: int) -> Iterator[RawRow]:
    width = max(len(info.headers), 1)
    encoding = info.encoding
    # A UTF-8 file is read strictly, the fastest way, until a byte proves it is not all UTF-8;
    # then it is read again line by line from the row that failed. Windows-1252 text is always
    # read line by line, since a UTF-8 line in it decodes without error but wrongly.
    careful = encoding not in UTF8_ENCODINGS
    while True:
        state = _LineState()
        index = -1 if info.has_header else 0
        try:
            with _open_text(path, encoding, strict=not careful) as f:
                lines = _lines(f, encoding, state) if careful else chain(f, _end_marker(state))
                reader = csv.reader(lines, delimiter=info.delimiter or ",")
                last = 0
                while True:
                    try:
                        for row in reader:
                            line = last + 1
                            last = reader.line_num
                            cells = [cell.strip() for cell in row]
                            if state.flagged:
                                problem, _cut = state.take_problem(line, last)
                            elif len(cells) == width and last == line and any(cells):
                                if index >= start:
                                    yield RawRow(index, line, cells, None)
                                index += 1
                                continue
                            else:
                                problem = None
                            if not any(cells):
                                continue
                            if index >= start:
                                yield _unusual_row(index, line, last, cells, problem, width, info)
                            index += 1
                        return
                    except csv.Error:
                        # The value outgrew the csv module's field size limit: a quote opened
                        # long ago has not closed. The reader starts afresh on the next line.
                        line, last = last + 1, reader.line_num
                        state.take_problem(line, last)
                        if index >= start:
                            yield RawRow(index, line, [""] * width, _unclosed_quote(line, last))
                        index += 1
        except UnicodeDecodeError:
            if careful:
                raise
            careful, start = True, max(start, index)


def _xlsx_rows(path: Path, info: TableInfo, start: int) -> Iterator[RawRow]:
    width = max(len(info.headers), 1)
    records = _xlsx_records(path)
    if info.has_header:
        next(records, None)
    for index, (line, cells) in enumerate(records):
        if index < start:
            continue
        if len(cells) == width:
            yield RawRow(index, line, cells, None)
        else:
            yield _unusual_row(index, line, line, cells, None, width, info)


def _unusual_row(
    index: int,
    line: int,
    end: int,
    cells: list[str],
    problem: str | None,
    width: int,
    info: TableInfo,
) -> RawRow:
    """A row that is ragged, spans several lines, or already has a reading problem."""
    count = len(cells)
    if count > width and not any(cells[width:]):
        cells = cells[:width]
    elif count > width and problem is None:
        problem = _ragged(_trimmed_width(cells), width, info)
    elif count < width:
        if problem is None and count and info.file_format == "csv":
            problem = _ragged(count, width, info)
        cells = cells + [""] * (width - count)
    if problem is None and end > line:
        problem = _swallowed_rows(line, end, cells, width, info.delimiter)
    return RawRow(index, line, cells, problem)


def _ragged(count: int, width: int, info: TableInfo) -> str:
    if info.has_header:
        return ngettext(
            "this row has %(cells)s cell, but the header has %(columns)s",
            "this row has %(cells)s cells, but the header has %(columns)s",
            count,
        ) % {"cells": count, "columns": width}
    return ngettext(
        "this row has %(cells)s cell, but the first rows have %(columns)s",
        "this row has %(cells)s cells, but the first rows have %(columns)s",
        count,
    ) % {"cells": count, "columns": width}


def _swallowed_rows(
    line: int, end: int, cells: list[str], width: int, delimiter: str
) -> str | None:
    """A value spanning lines is fine (an address, a note) unless its lines look like rows of
    the file: then a stray quote has joined rows that should stand apart."""
    if not delimiter or width < 2:
        return None
    for cell in cells:
        if "\n" in cell or "\r" in cell:
            for part in cell.splitlines()[1:]:
                pieces = part.split(delimiter)
                if len(pieces) >= width and sum(1 for p in pieces if p.strip()) >= 2:
                    return _(
                        "the quotes on line %(line)s look unbalanced: one value runs from "
                        "line %(line)s to %(end)s and seems to hold other rows"
                    ) % {"line": line, "end": end}
    return None


# ---------------------------------------------------------------------------------------------
# Counting


def count_rows(path: Path, info: TableInfo) -> int:
    """How many data rows `iter_rows` yields from the start, without building them."""
    if info.file_format == "csv":
        counted = _count_lines(path, info)
        return counted if counted is not None else _count_records(path, info)
    total = sum(1 for _record in _xlsx_records(path))
    return max(total - 1, 0) if info.has_header else total


def _count_records(path: Path, info: TableInfo) -> int:
    """Data rows counted with the csv reader (values may hold line breaks). Decoding is
    lenient: how lines are decoded does not change where records end."""
    records = 0
    with _open_text(path, info.encoding) as f:
        reader = csv.reader(f, delimiter=info.delimiter or ",")
        while True:
            try:
                for row in reader:
                    if any(map(str.strip, row)):
                        records += 1
                break
            except csv.Error:
                records += 1
    return max(records - 1, 0) if info.has_header else records


def _count_lines(path: Path, info: TableInfo) -> int | None:
    """Data rows counted from line ends, or None when the file needs the csv reader: a line
    with an odd number of quotes (a quoted value holding a line break, or a stray quote), a
    lone carriage return, or a multi-byte encoding.

    In a well-formed CSV a quoted value spanning lines leaves an odd number of quotes on its
    first line, so lines whose quotes all pair up are records of their own."""
    if info.encoding not in ASCII_COMPATIBLE:
        return None
    delimiter = re.escape((info.delimiter or ",").encode())
    space = rb"\xc2\xa0" if info.encoding in UTF8_ENCODINGS else rb"\xa0"
    # What a blank row may hold: delimiters, spaces, and quoted values of nothing but spaces.
    filler = rb"(?:[ \t\x0b\x0c" + delimiter + rb"]|" + space + rb'|"[ \t]*"(?!"))*'
    with path.open("rb") as f:
        first = f.read(CHUNK_BYTES)
        newline = b"\n" if b"\n" in first or b"\r" not in first else b"\r"
        ending = rb"\r?" if newline == b"\n" else b""
        blank_after = re.compile(
            re.escape(newline) + filler + ending + rb"(?=" + re.escape(newline) + rb")"
        )
        blank_line = re.compile(filler + ending)
        lines = blanks = 0
        pending = b""
        chunk = first
        while chunk:
            if newline == b"\n":
                lone_cr = chunk.count(b"\r") - chunk.count(b"\r\n") - chunk.endswith(b"\r")
                if lone_cr:
                    return None
            elif b"\n" in chunk:
                return None
            buffer = pending + chunk if pending else chunk
            cut = buffer.rfind(newline)
            if cut < 0:
                pending = buffer
            else:
                body, pending = buffer[: cut + 1], buffer[cut + 1 :]
                if b'"' in body and _odd_quotes(body):
                    return None
                lines += body.count(newline)
                blanks += len(blank_after.findall(body))
                if blank_line.fullmatch(body, 0, body.find(newline)):
                    blanks += 1
            chunk = f.read(CHUNK_BYTES)
    if pending:
        if pending.count(b'"') % 2:
            return None
        lines += 1
        if blank_line.fullmatch(pending):
            blanks += 1
    rows = lines - blanks
    return max(rows - 1, 0) if info.has_header else rows


# Reduces text to its quotes and line ends (carriage returns as line feeds), so one regular
# expression finds a line whose quotes do not pair up without a Python loop over lines.
_LINE_ENDS_AS_LF = bytes.maketrans(b"\r", b"\n")
_NOT_QUOTE_OR_LINE_END = bytes(b for b in range(256) if b not in b'"\r\n')
_ODD_QUOTES_LINE = re.compile(rb'(?m)^(?:"")*"$')


def _odd_quotes(body: bytes) -> bool:
    reduced = body.translate(_LINE_ENDS_AS_LF, _NOT_QUOTE_OR_LINE_END)
    return _ODD_QUOTES_LINE.search(reduced) is not None


# ---------------------------------------------------------------------------------------------
# XLSX


def _inspect_xlsx(path: Path, name: str, has_header: bool | None) -> TableInfo:
    records = list(islice(_xlsx_records(path, name=name), SNIFF_ROWS))
    if not records:
        raise ImportFileError(
            _("The first sheet of “%(name)s” is empty: there is nothing to import.")
            % {"name": name}
        )
    return _table_info(name, "xlsx", "", "", records, has_header, path)


def _first_sheet(path: Path, name: str) -> CalamineSheet:
    try:
        workbook = CalamineWorkbook.from_path(str(path))
        visible = [
            i
            for i, meta in enumerate(workbook.sheets_metadata)
            if meta.typ == SheetTypeEnum.WorkSheet and meta.visible == SheetVisibleEnum.Visible
        ]
        return workbook.get_sheet_by_index(visible[0] if visible else 0)
    except PasswordError:
        raise ImportFileError(
            _(
                "“%(name)s” is protected by a password. Save a copy without the password and "
                "upload that one."
            )
            % {"name": name}
        ) from None
    except Exception:  # calamine reports damage with many error types, none of them ours
        raise ImportFileError(
            _(
                "“%(name)s” could not be opened as an Excel workbook: it may be damaged or "
                "not really an .xlsx file. Save it again from Excel as .xlsx, or as CSV."
            )
            % {"name": name}
        ) from None


def _xlsx_records(path: Path, *, name: str = "") -> Iterator[tuple[int, list[str]]]:
    """(sheet row number, cells as text) for every row of the first sheet that is not blank."""
    sheet = _first_sheet(path, name or path.name)
    for number, row in enumerate(sheet.iter_rows(), start=1):
        cells = [value.strip() if type(value) is str else _cell_text(value) for value in row]
        if any(cells):
            yield number, cells


def _cell_text(value: Any) -> str:
    """A calamine value as the text an import parses: ISO dates, whole numbers without ".0"."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        text = repr(value)
        return format(Decimal(text), "f") if "e" in text else text
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if value is None:
        return ""
    return str(value).strip()
