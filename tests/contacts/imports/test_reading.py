"""Reading import files: encodings, delimiters, headers, streaming, and every kind of bad file."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import pytest
import xlsxwriter
from django.utils import translation
from hypothesis import HealthCheck, assume, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from vinculo.contacts.imports.reading import (
    SAMPLE_ROWS,
    ImportFileError,
    RawRow,
    TableInfo,
    count_rows,
    inspect_file,
    iter_rows,
)
from vinculo.core.exceptions import ValidationFailed

BRAZILIAN_HEADER = "Nome completo;E-mail;Telefone;Empresa;Cidade;UF;Data de nascimento"


def _write(tmp_path: Path, name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode(encoding) if isinstance(content, str) else content)
    return path


def _inspect(path: Path, **kwargs) -> TableInfo:
    return inspect_file(path, original_name=path.name, **kwargs)


def _rows(path: Path, info: TableInfo | None = None, start: int = 0) -> list[RawRow]:
    return list(iter_rows(path, info or _inspect(path), start=start))


def _refused(path: Path, **kwargs) -> str:
    with pytest.raises(ImportFileError) as caught:
        _inspect(path, **kwargs)
    return caught.value.detail


# ---------------------------------------------------------------------------------------------
# Encodings


def test_brazilian_excel_export_in_windows_1252(tmp_path):
    text = (
        f"{BRAZILIAN_HEADER}\r\n"
        "João da Conceição;joao@example.com.br;(11) 98765-4321;Ação Ltda;São Paulo;SP;"
        "31/12/1980\r\n"
        "Márcia Araújo;marcia@example.com.br;+55 21 3456-7890;Café & Cia;Niterói;RJ;"
        "05/03/1975\r\n"
    )
    path = _write(tmp_path, "clientes.csv", text, "cp1252")

    info = _inspect(path)

    assert (info.file_format, info.encoding, info.delimiter) == ("csv", "cp1252", ";")
    assert info.has_header
    assert info.headers == BRAZILIAN_HEADER.split(";")
    assert info.sample_rows[0][0] == "João da Conceição"
    assert info.sample_rows[1][3:5] == ["Café & Cia", "Niterói"]
    rows = _rows(path, info)
    assert [(r.index, r.line, r.problem) for r in rows] == [(0, 2, None), (1, 3, None)]
    assert count_rows(path, info) == 2


def test_utf8_with_bom_keeps_the_first_title_clean(tmp_path):
    path = _write(tmp_path, "export.csv", "Nome,E-mail\nZoë,zoe@example.com\n", "utf-8-sig")

    info = _inspect(path)

    assert info.encoding == "utf-8-sig"
    assert info.delimiter == ","
    assert info.headers == ["Nome", "E-mail"]
    assert _rows(path, info)[0].cells == ["Zoë", "zoe@example.com"]


def test_plain_utf8(tmp_path):
    path = _write(tmp_path, "a.csv", "name|city\nJosé|Florianópolis\n")

    info = _inspect(path)

    assert (info.encoding, info.delimiter) == ("utf-8", "|")
    assert info.sample_rows == [["José", "Florianópolis"]]


def test_windows_1252_bytes_it_leaves_undefined_do_not_fail_the_file(tmp_path):
    path = _write(tmp_path, "a.csv", b"name;note\nAna;caf\xe9 \x81\x9d\n")

    info = _inspect(path)

    assert info.encoding == "cp1252"
    assert _rows(path, info)[0].cells == ["Ana", "café \x81\x9d"]


def test_excel_unicode_text_utf16_with_tabs(tmp_path):
    path = _write(tmp_path, "a.txt", "Nome\tCidade\r\nÂngela\tMaceió\r\n", "utf-16")

    info = _inspect(path)

    assert (info.encoding, info.delimiter) == ("utf-16", "\t")
    assert _rows(path, info)[0].cells == ["Ângela", "Maceió"]
    assert count_rows(path, info) == 1


def test_mixed_encodings_mostly_utf8_flag_the_windows_1252_rows(tmp_path):
    lines = [b"nome;cidade"] + [f"Jos\u00e9 {i};S\u00e3o Paulo".encode() for i in range(5)]
    lines.insert(3, "Jo\u00e3o;Bel\u00e9m".encode("cp1252"))
    path = _write(tmp_path, "mixed.csv", b"\n".join(lines) + b"\n")

    info = _inspect(path)
    rows = _rows(path, info)

    assert info.encoding == "utf-8"
    flagged = [r for r in rows if r.problem]
    assert [(r.line, r.cells) for r in flagged] == [(4, ["João", "Belém"])]
    assert "Windows-1252" in flagged[0].problem
    assert all(r.cells[1] == "São Paulo" for r in rows if not r.problem)
    assert count_rows(path, info) == len(rows) == 6


def test_mixed_encodings_mostly_windows_1252_flag_the_utf8_rows(tmp_path):
    lines = [b"nome;cidade"] + [f"Jos\u00e9 {i};S\u00e3o Paulo".encode("cp1252") for i in range(5)]
    lines.append("Jo\u00e3o;Bel\u00e9m".encode())
    path = _write(tmp_path, "mixed.csv", b"\r\n".join(lines))

    info = _inspect(path)
    rows = _rows(path, info)

    assert info.encoding == "cp1252"
    assert [(r.line, r.cells) for r in rows if r.problem] == [(7, ["João", "Belém"])]
    assert "UTF-8" in rows[-1].problem


def test_windows_1252_text_that_happens_to_be_valid_utf8_is_not_flagged(tmp_path):
    # "é" and two no-break spaces are valid UTF-8 bytes (one Chinese character): not a UTF-8 row.
    lines = ["nome;obs", "José;café", "Zé;é\u00a0\u00a0"]
    path = _write(tmp_path, "a.csv", "\n".join(lines) + "\n", "cp1252")

    info = _inspect(path)
    rows = _rows(path, info)

    assert info.encoding == "cp1252"
    assert [(r.cells, r.problem) for r in rows] == [
        (["José", "café"], None),
        (["Zé", "é"], None),
    ]


def test_a_late_windows_1252_row_in_a_big_utf8_file_is_read_once(tmp_path):
    # The fast strict reading fails deep into the file and starts again from that row.
    rows_text = [f"Usu\u00e1rio {i};user{i}@example.com" for i in range(3000)]
    data = "\n".join(["nome;email", *rows_text]).encode()
    data += "\nJo\u00e3o;joao@example.com\nZ\u00e9;ze@example.com\n".encode("cp1252")
    path = _write(tmp_path, "late.csv", data)

    info = _inspect(path)
    rows = _rows(path, info)

    assert [r.index for r in rows] == list(range(3002))
    assert [r.cells[0] for r in rows[-2:]] == ["João", "Zé"]
    assert all(r.problem for r in rows[-2:]) and not any(r.problem for r in rows[:-2])
    assert [r.index for r in _rows(path, info, start=3001)] == [3001]


# ---------------------------------------------------------------------------------------------
# Delimiters, quoting and headers


@pytest.mark.parametrize(
    ("text", "delimiter"),
    [
        ("a;b;c\n1,5;2,75;3\n4;5,1;6\n", ";"),
        ('a,b,c\n1,"x; y",3\n4,5,6\n', ","),
        ("a\tb\tc\n1\tx, y\t3\n", "\t"),
        ("a|b|c\n1|2|3\n", "|"),
        ('name;note\n"Silva, Ana";"a;b"\n"Souza, Rui";c\n', ";"),
    ],
)
def test_delimiter_is_the_one_that_splits_rows_consistently(tmp_path, text, delimiter):
    assert _inspect(_write(tmp_path, "a.csv", text)).delimiter == delimiter


def test_one_column_file(tmp_path):
    path = _write(tmp_path, "emails.csv", "email\nana@example.com\nrui@example.com\n")

    info = _inspect(path)

    assert info.headers == ["email"]
    assert [r.cells for r in _rows(path, info)] == [["ana@example.com"], ["rui@example.com"]]


def test_quoted_values_with_delimiters_quotes_and_line_breaks(tmp_path):
    text = 'nome;endereco;obs\n"Ana";"Rua A, 10\nApto 2";"disse ""oi"""\nRui;Rua B;5" TV\n'
    path = _write(tmp_path, "a.csv", text)

    info = _inspect(path)
    rows = _rows(path, info)

    assert rows[0].cells == ["Ana", "Rua A, 10\nApto 2", 'disse "oi"']
    assert (rows[1].line, rows[1].cells, rows[1].problem) == (4, ["Rui", "Rua B", '5" TV'], None)
    assert count_rows(path, info) == 2


def test_file_without_header_gets_numbered_columns(tmp_path):
    text = "Ana;ana@example.com;11987654321\nRui;rui@example.com;2133334444\n"
    path = _write(tmp_path, "a.csv", text)

    info = _inspect(path)

    assert not info.has_header
    assert info.headers == ["Column 1", "Column 2", "Column 3"]
    rows = _rows(path, info)
    assert [(r.index, r.line) for r in rows] == [(0, 1), (1, 2)]
    assert count_rows(path, info) == 2


@pytest.mark.parametrize(
    "first_row",
    ["Ana;2024-01-31;10", "Ana;31/01/2024;x", "Ana;R$ 1.234,56;x", "Ana;https://a.example;x"],
)
def test_a_first_row_with_values_is_data(tmp_path, first_row):
    path = _write(tmp_path, "a.csv", f"{first_row}\nRui;x;y\n")

    assert not _inspect(path).has_header


def test_header_decision_can_be_forced(tmp_path):
    path = _write(tmp_path, "a.csv", "Ana;Silva\nRui;Souza\n")
    assert _inspect(path).has_header

    info = _inspect(path, has_header=False)

    assert info.headers == ["Column 1", "Column 2"]
    assert [r.cells for r in _rows(path, info)] == [["Ana", "Silva"], ["Rui", "Souza"]]
    assert count_rows(path, info) == 2


def test_blank_lines_and_delimiter_only_rows_are_not_rows(tmp_path):
    text = "\n\nnome;email\n\nAna;a@example.com\n;;\n  ;  \nRui;r@example.com\n\n"
    path = _write(tmp_path, "a.csv", text)

    info = _inspect(path)
    rows = _rows(path, info)

    assert info.headers == ["nome", "email"]
    assert [(r.index, r.line, r.cells[0]) for r in rows] == [(0, 5, "Ana"), (1, 8, "Rui")]
    assert count_rows(path, info) == 2


@pytest.mark.parametrize("newline", ["\r\n", "\r", "\n"])
def test_line_endings(tmp_path, newline):
    path = _write(tmp_path, "a.csv", newline.join(["nome;email", "Ana;a@x.com", "", "Rui;r@x.com"]))

    info = _inspect(path)

    assert [(r.line, r.cells) for r in _rows(path, info)] == [
        (2, ["Ana", "a@x.com"]),
        (4, ["Rui", "r@x.com"]),
    ]
    assert count_rows(path, info) == 2


def test_cells_are_stripped_and_trailing_empty_cells_ignored(tmp_path):
    path = _write(tmp_path, "a.csv", "nome;email;\n  Ana  ; a@x.com ;;;\n")

    info = _inspect(path)

    assert info.headers == ["nome", "email"]
    row = _rows(path, info)[0]
    assert (row.cells, row.problem) == (["Ana", "a@x.com"], None)


def test_untitled_column_with_data_gets_a_name(tmp_path):
    path = _write(tmp_path, "a.csv", "nome;email\nAna;a@x.com;VIP\n")

    info = _inspect(path)

    assert info.headers == ["nome", "email", "Column 3"]
    assert _rows(path, info)[0].problem is None


def test_sample_rows_are_the_first_twenty_rows(tmp_path):
    path = _write(tmp_path, "a.csv", "n;e\n" + "".join(f"N{i};e{i}@x.com\n" for i in range(50)))

    info = _inspect(path)

    assert len(info.sample_rows) == SAMPLE_ROWS
    assert info.sample_rows[0] == ["N0", "e0@x.com"]


# ---------------------------------------------------------------------------------------------
# Ragged rows and broken quotes: problems of one row


def test_ragged_rows_carry_a_problem_and_keep_their_cells(tmp_path):
    text = "a;b;c;d;e\n1;2;3;4;5\n1;2;3;4;5;6;7\n1;2;3\n1;2;3;4;5;;\n"
    path = _write(tmp_path, "a.csv", text)

    info = _inspect(path)
    rows = _rows(path, info)

    assert rows[0].problem is None
    assert rows[1].problem == "this row has 7 cells, but the header has 5"
    assert rows[1].cells == ["1", "2", "3", "4", "5", "6", "7"]
    assert rows[2].problem == "this row has 3 cells, but the header has 5"
    assert rows[2].cells == ["1", "2", "3", "", ""]
    assert rows[3].problem is None
    assert count_rows(path, info) == 4


def test_quote_that_swallows_the_rest_of_the_file_is_refused(tmp_path):
    text = 'nome;obs\nAna;ok\nRui;"nunca fecha\nBia;x\nCid;y\n'
    path = _write(tmp_path, "a.csv", text)

    detail = _refused(path)

    assert "starts on line 3 is never closed" in detail


def test_quote_never_closed_on_the_last_line_is_a_row_problem(tmp_path):
    path = _write(tmp_path, "a.csv", 'nome;obs\nAna;ok\nRui;"sem fim')

    info = _inspect(path)
    rows = _rows(path, info)

    assert rows[0].problem is None
    assert rows[1].problem == "a quoted value on this line is never closed"


def test_stray_quotes_that_join_rows_are_a_row_problem(tmp_path):
    text = 'nome;email;obs\nAna;a@x.com;"abre\nRui;r@x.com;x\nBia;b@x.com;fecha"\nCid;c@x.com;ok\n'
    path = _write(tmp_path, "a.csv", text)

    info = _inspect(path)
    rows = _rows(path, info)

    assert len(rows) == count_rows(path, info) == 2
    assert rows[0].line == 2
    assert "line 2" in rows[0].problem and "other rows" in rows[0].problem
    assert (rows[1].line, rows[1].problem) == (5, None)


def test_a_runaway_quote_past_the_csv_size_limit(tmp_path):
    filler = "".join(f"linha {i} sem aspas;x\n" for i in range(8000))
    text = f'nome;obs\nAna;"abre\n{filler}Rui;ok\n'
    path = _write(tmp_path, "a.csv", text)

    assert "starts on line 2 is never closed" in _refused(path)

    # Read anyway (as a job inspected before the file changed would): one row carries the
    # problem and reading picks up again after it.
    info = TableInfo("csv", "utf-8", ";", True, ["nome", "obs"], [])
    rows = _rows(path, info)
    assert rows[0].problem and "starts on line 2" in rows[0].problem
    assert rows[-1].cells == ["Rui", "ok"]
    assert count_rows(path, info) == len(rows)


# ---------------------------------------------------------------------------------------------
# Files that cannot be imported


def test_import_file_error_is_a_validation_error_on_the_file_field(tmp_path):
    with pytest.raises(ValidationFailed) as caught:
        _inspect(_write(tmp_path, "a.csv", b""))
    error = caught.value
    assert isinstance(error, ImportFileError)
    assert (error.code, error.status, error.field) == ("import_file_invalid", 422, "file")
    assert [(e.field, e.code) for e in error.errors] == [("file", "import_file_invalid")]


def test_empty_file(tmp_path):
    assert _refused(_write(tmp_path, "vazio.csv", b"")) == (
        "“vazio.csv” is empty: there is nothing to import."
    )


def test_file_of_blank_lines(tmp_path):
    assert "every line is blank" in _refused(_write(tmp_path, "a.csv", "\n \n;;\n"))


def test_png_image(tmp_path):
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))
    assert "looks like a PNG image" in _refused(_write(tmp_path, "photo.csv", png))


def test_binary_data(tmp_path):
    data = bytes(range(256)) * 8
    assert "binary data" in _refused(_write(tmp_path, "dados.csv", data))


def test_zip_archive_that_is_not_a_workbook(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "hello")

    assert "ZIP archive" in _refused(_write(tmp_path, "backup.zip", buffer.getvalue()))
    assert "could not be opened as an Excel workbook" in _refused(
        _write(tmp_path, "planilha.xlsx", buffer.getvalue())
    )


def test_text_named_like_a_workbook(tmp_path):
    assert "not one that can be opened" in _refused(_write(tmp_path, "a.xlsx", "a;b\n1;2\n"))


def test_older_spreadsheet_formats(tmp_path):
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512)
    assert "save it as Excel (.xlsx) or CSV" in _refused(_write(tmp_path, "antigo.xls", ole))
    assert "older or different" in _refused(_write(tmp_path, "a.ods", "a;b\n1;2\n"))


def test_unknown_extension(tmp_path):
    assert "upload a CSV" in _refused(_write(tmp_path, "dados.json", '{"a": 1}'))


def test_file_over_the_size_limit(tmp_path, settings):
    path = _write(tmp_path, "grande.csv", "nome\n" + "Ana\n" * 600)

    assert "Split it into smaller files" in _refused(path, max_bytes=1024)
    settings.VINCULO_IMPORT_MAX_BYTES = 2048
    with translation.override("en"):
        assert "files up to 1.0\xa0KB" in _refused(path, max_bytes=1024)
        assert "files up to 2.0\xa0KB" in _refused(path)


def test_header_without_data_rows(tmp_path):
    path = _write(tmp_path, "a.csv", f"{BRAZILIAN_HEADER}\n;;;;;;\n")

    assert _refused(path) == "“a.csv” has column titles but no rows of data below them."


def test_duplicate_titles_are_named(tmp_path):
    path = _write(tmp_path, "a.csv", "Nome;E-mail;Telefone;e-mail;Cidade;TELEFONE\n1;2;3;4;5;6\n")

    detail = _refused(path)

    assert "“E-mail” (columns 2, 4)" in detail
    assert "“Telefone” (columns 3, 6)" in detail


# ---------------------------------------------------------------------------------------------
# Streaming


def test_resume_from_a_row_index(tmp_path):
    path = _write(tmp_path, "a.csv", "n;e\n" + "".join(f"N{i};e{i}\n\n" for i in range(10)))
    info = _inspect(path)

    rows = _rows(path, info, start=7)

    assert [(r.index, r.line, r.cells[0]) for r in rows] == [
        (7, 16, "N7"),
        (8, 18, "N8"),
        (9, 20, "N9"),
    ]
    assert _rows(path, info, start=10) == []


def test_many_rows_stream_and_count(tmp_path):
    n = 30_000
    path = tmp_path / "big.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write("nome;email;cidade\n")
        for i in range(n):
            f.write(f"Pessoa {i};p{i}@example.com;São Paulo\n")
    info = _inspect(path)

    last = None
    for last in iter_rows(path, info):  # noqa: B007
        pass

    assert last is not None and (last.index, last.line) == (n - 1, n + 1)
    assert count_rows(path, info) == n


cell_text = st.text(alphabet=st.sampled_from("abcé ;,\"'\r\n\t|0\xa0"), max_size=8)


def _holds_rows(cell: str, delimiter: str) -> bool:
    """A value whose later lines look like rows of a 3-column file: flagged on purpose."""
    return any(
        len(p := part.split(delimiter)) >= 3 and sum(1 for x in p if x.strip()) >= 2
        for part in cell.splitlines()[1:]
    )


@hypothesis_settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(st.lists(cell_text, min_size=3, max_size=3), max_size=12),
    delimiter=st.sampled_from([";", ",", "\t", "|"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]),
    quoting=st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]),
    newline=st.sampled_from(["\r\n", "\n"]),
)
def test_whatever_csv_writes_comes_back(tmp_path, rows, delimiter, encoding, quoting, newline):
    """Any table written by a CSV writer reads back cell for cell, counted exactly."""
    assume(not any(_holds_rows(cell, delimiter) for row in rows for cell in row))
    data = [r for r in rows if any(c.strip() for c in r)]
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=newline, quoting=quoting)
    writer.writerow(["Título A", "Título B", "Título C"])
    writer.writerows(rows)
    path = tmp_path / "round.csv"
    path.write_bytes(buffer.getvalue().encode(encoding))
    info = TableInfo("csv", encoding, delimiter, True, ["Título A", "Título B", "Título C"], [])

    read = _rows(path, info)

    assert [r.cells for r in read] == [[c.strip() for c in r] for r in data]
    assert not any(r.problem for r in read)
    assert count_rows(path, info) == len(data)


# ---------------------------------------------------------------------------------------------
# XLSX


def _workbook(path: Path, build) -> Path:
    workbook = xlsxwriter.Workbook(str(path))
    build(workbook)
    workbook.close()
    return path


def test_xlsx_cells_become_text_the_engine_parses(tmp_path):
    import datetime as dt

    def build(wb):
        hidden = wb.add_worksheet("Oculta")
        hidden.write(0, 0, "não é esta")
        hidden.hide()
        sheet = wb.add_worksheet("Clientes")
        sheet.activate()
        date = wb.add_format({"num_format": "dd/mm/yyyy"})
        stamp = wb.add_format({"num_format": "dd/mm/yyyy hh:mm"})
        sheet.write_row(2, 0, ["Nome", "Nascimento", "Pedidos", "Valor", "VIP", "Visita"])
        sheet.write_row(3, 0, [" Ana ", None, 12, 1234.5, True])
        sheet.write_datetime(3, 1, dt.datetime(1980, 12, 31), date)
        sheet.write_datetime(3, 5, dt.datetime(2024, 5, 6, 14, 30), stamp)
        sheet.write_row(5, 0, ["Rui", 45000, 1234567890123, 0.1, False])

    path = _workbook(tmp_path / "clientes.xlsx", build)

    info = _inspect(path)
    rows = _rows(path, info)

    assert (info.file_format, info.encoding, info.delimiter) == ("xlsx", "", "")
    assert info.headers == ["Nome", "Nascimento", "Pedidos", "Valor", "VIP", "Visita"]
    assert [(r.index, r.line) for r in rows] == [(0, 4), (1, 6)]
    assert rows[0].cells == ["Ana", "1980-12-31", "12", "1234.5", "TRUE", "2024-05-06 14:30:00"]
    assert rows[1].cells == ["Rui", "45000", "1234567890123", "0.1", "FALSE", ""]
    assert info.sample_rows == [r.cells for r in rows]
    assert count_rows(path, info) == 2
    assert [r.index for r in _rows(path, info, start=1)] == [1]


def test_xlsx_ragged_row(tmp_path):
    def build(wb):
        sheet = wb.add_worksheet()
        sheet.write_row(0, 0, ["Nome", "Email"])
        for i in range(25):
            sheet.write_row(i + 1, 0, [f"N{i}", f"n{i}@x.com"])
        sheet.write_row(26, 0, ["Zé", "ze@x.com", None, "extra"])

    path = _workbook(tmp_path / "a.xlsx", build)
    info = _inspect(path)

    last = _rows(path, info)[-1]
    assert last.problem == "this row has 4 cells, but the header has 2"


def test_empty_xlsx(tmp_path):
    path = _workbook(tmp_path / "vazia.xlsx", lambda wb: wb.add_worksheet())

    assert "is empty" in _refused(path)


def test_xlsx_duplicate_titles(tmp_path):
    def build(wb):
        sheet = wb.add_worksheet()
        sheet.write_row(0, 0, ["Email", "Nome", "email"])
        sheet.write_row(1, 0, ["a@x.com", "Ana", "b@x.com"])

    assert "“Email” (columns 1, 3)" in _refused(_workbook(tmp_path / "a.xlsx", build))


def test_damaged_xlsx(tmp_path):
    def build(wb):
        wb.add_worksheet().write_row(0, 0, ["Nome", "Email"])

    good = _workbook(tmp_path / "good.xlsx", build).read_bytes()
    path = _write(tmp_path, "cortada.xlsx", good[: len(good) // 2])

    assert "could not be opened as an Excel workbook" in _refused(path)
