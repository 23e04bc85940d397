"""What an export holds: the list's filters and sort, its columns or the chosen ids, and only
records the person may see; bad input named field by field."""

from __future__ import annotations

import io
import zoneinfo

import pytest

from tests.contacts.exports.conftest import SalesTeam, read_csv
from vinculo.contacts.exports.selectors import export_count, export_plan
from vinculo.contacts.exports.writers import write_plan
from vinculo.core.exceptions import PermissionDenied, ValidationFailed
from vinculo.core.models import User, Workspace
from vinculo.core.roles import Role


def rows_of(workspace: Workspace, viewer: User | None, object_type: str = "contact", **kwargs):
    plan = export_plan(workspace=workspace, viewer=viewer, object_type=object_type, **kwargs)
    out = io.BytesIO()
    write_plan(
        workspace=workspace,
        viewer=viewer,
        plan=plan,
        target=out,
        zone=zoneinfo.ZoneInfo("America/Sao_Paulo"),
    )
    return read_csv(out.getvalue())


def test_filters_sort_and_columns_are_the_lists(workspace, admin, contact_factory) -> None:
    contact_factory(first_name="Ana", lifecycle_stage="customer", city="Recife", tags=["vip"])
    contact_factory(first_name="Bia", lifecycle_stage="customer", city="Olinda")
    contact_factory(first_name="Caio", lifecycle_stage="lead", city="Recife", tags=["vip"])
    rows = rows_of(
        workspace,
        admin,
        params={"lifecycle_stage": "customer", "sort": "-name"},
        columns=["city"],
    )
    assert rows == [["Name", "City"], ["Bia", "Olinda"], ["Ana", "Recife"]]
    rows = rows_of(workspace, admin, params={"tag": "vip", "q": "caio"}, columns=["tags"])
    assert rows == [["Name", "Tags"], ["Caio", "vip"]]
    # The name always leads, as on the list; columns keep the order given.
    rows = rows_of(workspace, admin, params={"city": "Olinda"}, columns=["city", "name", "tags"])
    assert rows[0] == ["Name", "City", "Tags"]


def test_custom_field_filters_and_columns(workspace, admin, contact_factory, custom_field) -> None:
    custom_field("segment", "choice", choices=["retail", "b2b"])
    contact_factory(first_name="Ana", custom_fields={"segment": "retail"})
    contact_factory(first_name="Bia", custom_fields={"segment": "b2b"})
    rows = rows_of(workspace, admin, params={"cf.segment": "b2b"}, columns=["cf.segment"])
    assert rows == [["Name", "Segment"], ["Bia", "b2b"]]


def test_chosen_ids_only(workspace, admin, contact_factory) -> None:
    a = contact_factory(first_name="Ana")
    contact_factory(first_name="Bia")
    c = contact_factory(first_name="Caio")
    assert [r[0] for r in rows_of(workspace, admin, ids=[c.pk, a.pk])[1:]] == ["Ana", "Caio"]


def test_accounts(workspace, admin, account_factory) -> None:
    account_factory(name="Acme", domain="acme.com.br", size="11-50", industry="Energy")
    rows = rows_of(workspace, admin, "account", columns=["domain", "size", "industry"])
    assert rows == [
        ["Name", "Domain", "Size", "Industry"],
        ["Acme", "acme.com.br", "11–50 employees", "Energy"],
    ]


def test_a_sales_rep_exports_only_their_teams_records(
    workspace, sales_team: SalesTeam, other_workspace, contact_factory
) -> None:
    contact_factory(ws=other_workspace, first_name="Outsider")
    names = {r[0] for r in rows_of(workspace, sales_team.ana)[1:]}
    assert names == {"Ana's Client", "Bruno's Client", "Nobody's Client"}
    # Asking for ids out of sight exports nothing of them.
    hidden = sales_team.carla_contact.pk
    assert rows_of(workspace, sales_team.ana, ids=[hidden])[1:] == []
    plan = export_plan(workspace=workspace, viewer=sales_team.carla, object_type="contact")
    assert export_count(workspace=workspace, viewer=sales_team.carla, plan=plan) == 2


def test_only_members_who_may_view_the_records_export_them(workspace, make_member) -> None:
    service = make_member("service@acme.test", Role.SERVICE)
    export_plan(workspace=workspace, viewer=service, object_type="account")
    outsider = User.objects.create_user(email="out@else.test", password="x")
    with pytest.raises(PermissionDenied):
        export_plan(workspace=workspace, viewer=outsider, object_type="contact")


def fields(exc: pytest.ExceptionInfo[ValidationFailed]) -> set[str]:
    return {e.field for e in exc.value.errors}


def test_bad_input_is_named_field_by_field(workspace, admin) -> None:
    with pytest.raises(ValidationFailed) as exc:
        export_plan(workspace=workspace, viewer=admin, object_type="deal")
    assert fields(exc) == {"object_type"}
    with pytest.raises(ValidationFailed) as exc:
        export_plan(
            workspace=workspace,
            viewer=admin,
            object_type="contacts",
            file_format="pdf",
            params={"lifecycle_stage": "nope", "colour": "red", "cf.missing": "x", "sort": "x"},
            columns=["email", "shoe_size"],
            ids=[0],
        )
    assert fields(exc) == {
        "format",
        "filters.lifecycle_stage",
        "filters.colour",
        "filters.cf.missing",
        "filters.sort",
        "columns",
        "ids",
    }
    messages = {e.field: e.message for e in exc.value.errors}
    assert "shoe_size" in messages["columns"]
    # The list page ignores parameters it does not know, and so does its export.
    export_plan(
        workspace=workspace,
        viewer=admin,
        object_type="contact",
        params={"colour": "x"},
        strict=False,
    )


def test_rows_cost_a_fixed_number_of_queries(
    workspace, admin, make_member, contact_factory, account_factory, django_assert_max_num_queries
) -> None:
    sellers = [make_member(f"s{i}@acme.test") for i in range(3)]
    accounts = [account_factory(name=f"Co {i}") for i in range(3)]
    for i in range(30):
        contact_factory(
            first_name=f"P{i}",
            owner_id=sellers[i % 3].pk,
            account_id=accounts[i % 3].pk,
            tags=[f"t{i % 4}", "all"],
        )
    columns = ["email", "phone", "account", "owner", "tags", "created_at"]
    # The plan (role, custom fields), the rows, their owners, the tag names and links; on
    # SQLite three PRAGMAs too (memory-mapped reading, on and off).
    with django_assert_max_num_queries(9):
        rows = rows_of(workspace, admin, columns=columns)
    assert len(rows) == 31
    assert all(r[3].startswith("Co ") and r[4] and "all" in r[5] for r in rows[1:])
