"""`vinculo import`: the same files as the pages, in the foreground, with a report and the
failed rows written as CSV."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import pytest
from django.utils import translation

from tests.contacts.imports.test_engine import BRAZIL_CSV, xlsx_bytes
from vinculo.cli import main
from vinculo.contacts.models import Account, Contact, ImportJob, JobStatus
from vinculo.core.roles import Role


@pytest.fixture(autouse=True)
def english():
    """Messages in English (the workspace's pt-br catalogue is compiled separately)."""
    with translation.override("en"):
        yield


@pytest.fixture
def brazil_file(tmp_path: Path) -> Path:
    path = tmp_path / "clientes.csv"
    path.write_bytes(BRAZIL_CSV.encode("cp1252"))
    return path


def _failures(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel reads the accents right
    return list(csv.reader(raw.decode("utf-8-sig").splitlines()))


def test_windows_1252_file_with_failures(workspace, admin, brazil_file, capsys):
    status = main(
        ["import", "contacts", str(brazil_file), "--workspace", "acme", "--user", admin.email]
    )

    out, err = capsys.readouterr()
    assert status == 0, err
    assert "created 3, updated 0, skipped 0, failed 1" in out
    failures = brazil_file.with_name("clientes-failures.csv")
    assert str(failures) in out
    rows = _failures(failures)
    assert rows[0][:3] == ["line", "field", "reason"]
    assert rows[1][:2] == ["4", "E-mail, Data de nascimento"]
    assert rows[1][3:] == ["Araújo", "não-é-email", "", "", "Maceió", "32/13/1990", ""]
    assert "import:" in err  # the progress line
    jose = Contact.objects.for_workspace(workspace).get(email="jose@exemplo.com.br")
    assert (jose.first_name, jose.city, jose.owner_id) == ("José", "São Paulo", admin.pk)


def test_bom_file_twice_and_overwrite(workspace, admin, tmp_path, capsys):
    path = tmp_path / "export.csv"
    path.write_bytes("\ufeffName,E-mail,City\nZoë Åberg,zoe@example.com,Lisboa\n".encode())
    assert main(["import", "contacts", str(path), "--workspace", "acme"]) == 0
    assert main(["import", "contacts", str(path), "--workspace", "acme"]) == 0
    out = capsys.readouterr().out
    assert "created 1, updated 0, skipped 0, failed 0" in out
    assert "created 0, updated 0, skipped 1, failed 0" in out
    path.write_bytes("\ufeffName,E-mail,City\nZoë Åberg,zoe@example.com,Porto\n".encode())
    assert (
        main(["import", "contacts", str(path), "--workspace", "acme", "--on-match", "overwrite"])
        == 0
    )
    assert "updated 1" in capsys.readouterr().out
    zoe = Contact.objects.for_workspace(workspace).get()
    assert (zoe.first_name, zoe.last_name, zoe.city, zoe.owner_id) == (
        "Zoë",
        "Åberg",
        "Porto",
        None,
    )


def test_xlsx_accounts_with_a_mapping_file(workspace, tmp_path, capsys):
    path = tmp_path / "empresas.xlsx"
    path.write_bytes(
        xlsx_bytes(
            [
                ["Razão social", "Site", "Fundada em", "Código"],
                ["Açaí & Cia", "acai.com.br", dt.date(2001, 5, 4), "A-1"],
                ["Globex", "globex.com", dt.date(1999, 1, 2), "A-2"],
            ]
        )
    )
    mapping = tmp_path / "mapa.json"
    mapping.write_text(json.dumps({"Razão social": "name", "1": "domain", "Código": "external_id"}))
    status = main(
        [
            "import",
            "accounts",
            str(path),
            "--workspace",
            "acme",
            "--mapping",
            str(mapping),
            "--match-by",
            "external_id",
        ]
    )

    assert status == 0, capsys.readouterr().err
    assert "created 2" in capsys.readouterr().out
    acai = Account.objects.for_workspace(workspace).get(external_id="A-1")
    assert (acai.name, acai.domain) == ("Açaí & Cia", "acai.com.br")


@pytest.mark.parametrize(
    ("content", "name", "words"),
    [
        (b"", "vazio.csv", "empty"),
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "foto.csv", "PNG"),
        (b"Nome;E-mail;Nome\nAna;a@b.com;Ana\n", "titulos.csv", "Nome"),
    ],
)
def test_file_errors_exit_2_with_the_reason(workspace, tmp_path, capsys, content, name, words):
    path = tmp_path / name
    path.write_bytes(content)
    assert main(["import", "contacts", str(path), "--workspace", "acme"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and words.lower() in err.lower()
    assert not ImportJob.objects.for_workspace(workspace).exists()


def test_usage_errors_exit_2(workspace, make_member, brazil_file, tmp_path, capsys):
    make_member("rep@acme.test", Role.SALES)
    assert main(["import", "contacts", str(tmp_path / "nope.csv"), "--workspace", "acme"]) == 2
    assert "no file" in capsys.readouterr().err
    assert main(["import", "contacts", str(brazil_file), "--workspace", "nope"]) == 2
    assert "no workspace" in capsys.readouterr().err
    code = main(
        ["import", "contacts", str(brazil_file), "--workspace", "acme", "--user", "x@y.test"]
    )
    assert code == 2 and "not an active member" in capsys.readouterr().err
    mapping = tmp_path / "mapa.json"
    mapping.write_text(json.dumps({"Coluna X": "email"}))
    code = main(
        ["import", "contacts", str(brazil_file), "--workspace", "acme", "--mapping", str(mapping)]
    )
    assert code == 2 and "no column 'Coluna X'" in capsys.readouterr().err
    mapping.write_text(json.dumps({"E-mail": "shoe_size"}))
    code = main(
        ["import", "contacts", str(brazil_file), "--workspace", "acme", "--mapping", str(mapping)]
    )
    assert code == 2 and "shoe_size" in capsys.readouterr().err
    code = main(
        ["import", "contacts", str(brazil_file), "--workspace", "acme", "--match-by", "shoe"]
    )
    assert code == 2 and "match_by" in capsys.readouterr().err
    assert not Contact.objects.for_workspace(workspace).exists()
    assert not ImportJob.objects.for_workspace(workspace).exclude(status=JobStatus.DRAFT).exists()


def test_failures_file_where_asked(workspace, brazil_file, tmp_path, capsys):
    target = tmp_path / "out" / "falhas.csv"
    target.parent.mkdir()
    code = main(
        ["import", "contacts", str(brazil_file), "--workspace", "acme", "--failures", str(target)]
    )
    assert code == 0
    assert str(target) in capsys.readouterr().out
    assert len(_failures(target)) == 2
