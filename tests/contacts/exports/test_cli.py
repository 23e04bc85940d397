"""`vinculo export contacts|accounts`, run through the command's own parser against the test
database (tests/test_cli.py runs the binary itself for the platform)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.contacts.exports.conftest import SalesTeam, read_csv, read_xlsx
from vinculo.cli import main


@pytest.fixture
def people(workspace, contact_factory, account_factory):
    workspace.locale = "en"
    workspace.save(update_fields=["locale"])
    acme = account_factory(name="Acme", industry="Energy")
    contact_factory(first_name="Ana", lifecycle_stage="customer", city="Recife", account_id=acme.pk)
    contact_factory(first_name="Bia", lifecycle_stage="customer", city="Olinda")
    contact_factory(first_name="Caio", lifecycle_stage="lead", city="Natal")


def test_contacts_to_csv_with_filters_and_columns(people, tmp_path: Path, capsys) -> None:
    output = tmp_path / "customers.csv"
    code = main(
        [
            "export",
            "contacts",
            "--workspace",
            "acme",
            "--output",
            str(output),
            "--filter",
            "lifecycle_stage=customer",
            "--filter",
            "sort=-name",
            "--columns",
            "city,account",
        ]
    )
    assert code == 0
    assert read_csv(output.read_bytes()) == [
        ["Name", "City", "Company"],
        ["Bia", "Olinda", ""],
        ["Ana", "Recife", "Acme"],
    ]
    err = capsys.readouterr().err
    assert "100%" in err and "wrote 2 rows" in err
    assert not list(tmp_path.glob(".*partial"))


def test_accounts_to_xlsx_from_the_extension(people, tmp_path: Path) -> None:
    output = tmp_path / "accounts.xlsx"
    assert main(["export", "accounts", "--workspace", "acme", "--output", str(output)]) == 0
    rows = read_xlsx(output.read_bytes())
    assert rows[0][:3] == ["Name", "Domain", "Industry"] and rows[1][:3] == ["Acme", "", "Energy"]


def test_an_actor_exports_only_what_they_may_see(sales_team: SalesTeam, tmp_path: Path) -> None:
    output = tmp_path / "mine.csv"
    args = ["export", "contacts", "--workspace", "acme", "--output", str(output)]
    assert main([*args, "--actor", "carla@acme.test"]) == 0
    assert {r[0] for r in read_csv(output.read_bytes())[1:]} == {
        "Carla's Client",
        "Nobody's Client",
    }
    assert main(args) == 0
    assert len(read_csv(output.read_bytes())) == 5


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--filter", "lifecycle_stage=nope"], "--filter lifecycle_stage: Choose one of"),
        (["--filter", "colour=red"], "--filter colour: Unknown filter"),
        (["--filter", "nonsense"], "write it as KEY=VALUE"),
        (["--columns", "shoe_size"], "--columns: Unknown columns: shoe_size"),
        (["--actor", "nobody@else.test"], "is not a member"),
    ],
)
def test_bad_input_names_the_option(people, tmp_path: Path, capsys, extra, message) -> None:
    output = tmp_path / "out.csv"
    code = main(["export", "contacts", "--workspace", "acme", "--output", str(output), *extra])
    assert code == 2
    assert message in capsys.readouterr().err
    assert not output.exists() and not list(tmp_path.iterdir())


def test_an_unknown_workspace(db, tmp_path: Path, capsys) -> None:
    code = main(["export", "contacts", "--workspace", "nope", "--output", str(tmp_path / "x.csv")])
    assert code == 2 and "no workspace" in capsys.readouterr().err
