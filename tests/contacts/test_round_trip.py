"""A list exported to a file and imported again gives back the same records: into another
workspace as new records, and into its own workspace as nothing new."""

from __future__ import annotations

from pathlib import Path

from vinculo.cli import main
from vinculo.contacts.models import Contact
from vinculo.core.tenancy import workspace_scope

COLUMNS = "email,phone,account,job_title,lifecycle_stage,tags,source,city,state,country"


def _people(ws) -> list[tuple]:
    rows = []
    for c in (
        Contact.objects.for_workspace(ws)
        .select_related("account")
        .prefetch_related("tags")
        .order_by("email")
    ):
        rows.append(
            (
                c.first_name,
                c.last_name,
                c.email,
                c.phone,
                c.account.name if c.account else "",
                c.job_title,
                c.lifecycle_stage,
                sorted(t.name for t in c.tags.all()),
                c.source,
                c.city,
                c.state,
                c.country,
            )
        )
    return rows


def test_export_then_import_round_trips_a_list(
    workspace,
    admin,
    other_workspace,
    other_admin,
    contact_factory,
    account_factory,
    tmp_path: Path,
    capsys,
) -> None:
    acme = account_factory(name="Acme Energia")
    contact_factory(
        first_name="José",
        last_name="Araújo",
        email="jose@acme.com.br",
        phone="+5511987654321",
        account_id=acme.pk,
        job_title="Diretor",
        lifecycle_stage="customer",
        tags=["vip", "sul"],
        source="Feira",
        city="São Paulo",
        state="SP",
        country="BR",
    )
    contact_factory(
        first_name="Ana",
        last_name="Lima",
        email="ana@exemplo.com",
        phone="+5581998765432",
        lifecycle_stage="lead",
        city="Recife",
        state="PE",
        country="BR",
    )
    contact_factory(first_name="=cmd", last_name="Souza", email="formula@exemplo.com")
    file = tmp_path / "contacts.csv"
    exported = main(
        ["export", "contacts", "--workspace", "acme", "--output", str(file), "--columns", COLUMNS]
    )
    assert exported == 0, capsys.readouterr().err
    before = _people(workspace)

    # Into another workspace: the same people, as new records.
    imported = main(
        [
            "import",
            "contacts",
            str(file),
            "--workspace",
            other_workspace.slug,
            "--user",
            other_admin.email,
        ]
    )
    out, err = capsys.readouterr()
    assert imported == 0, err
    assert "created 3, updated 0, skipped 0, failed 0" in out
    with workspace_scope(other_workspace):
        copied = _people(other_workspace)
    # The formula guard's apostrophe is the one difference a spreadsheet would also keep.
    assert [r for r in copied if r[2] != "formula@exemplo.com"] == [
        r for r in before if r[2] != "formula@exemplo.com"
    ]

    # Back into its own workspace: every row matches its record; nothing new.
    again = main(["import", "contacts", str(file), "--workspace", "acme", "--user", admin.email])
    out, err = capsys.readouterr()
    assert again == 0, err
    assert "created 0" in out and "failed 0" in out
    assert _people(workspace) == before
