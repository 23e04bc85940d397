"""CSV export of a list: the view's filters and columns, UTF-8 with a byte-order mark, formulas
neutralised, only records the person may see."""

from __future__ import annotations

import csv
import io

import pytest
from django.conf import settings
from django.test import Client

from vinculo.contacts.services import savedview_create
from vinculo.core.models import User, Workspace
from vinculo.core.roles import Role
from vinculo.core.tenancy import workspace_scope


@pytest.fixture
def en_client(client: Client):
    def log_in(user: User) -> Client:
        client.force_login(user)
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        return client

    return log_in


def read_csv(response) -> tuple[bytes, list[list[str]]]:
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="')
    raw = b"".join(response.streaming_content)
    return raw, list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


def test_export_has_a_bom_the_list_columns_and_its_filters(
    en_client, admin: User, contact_factory, account_factory
) -> None:
    acme = account_factory(name="Acme")
    contact_factory(
        first_name="Ana",
        email="ana@example.com",
        account_id=acme.pk,
        tags=["vip", "fair"],
        lifecycle_stage="customer",
    )
    contact_factory(first_name="Bia", lifecycle_stage="lead")
    raw, rows = read_csv(en_client(admin).get("/contacts/export.csv?lifecycle_stage=customer"))
    assert raw.startswith(b"\xef\xbb\xbf")
    assert rows[0] == [
        "Name",
        "Email",
        "Phone",
        "Company",
        "Stage",
        "Owner",
        "Tags",
    ]
    assert rows[1:] == [["Ana", "ana@example.com", "", "Acme", "Customer", "", "fair, vip"]]


def test_cells_that_would_run_as_formulas_are_neutralised(
    en_client, admin: User, contact_factory
) -> None:
    contact_factory(first_name='=HYPERLINK("http://evil")', job_title="@SUM(A1)")
    contact_factory(first_name="+cmd", job_title="-2+3", phone="+55 11 98765-4321")
    client = en_client(admin)
    client.post("/contacts/columns", {"columns": ["job_title", "phone"]})
    _raw, rows = read_csv(client.get("/contacts/export.csv"))
    assert rows[0] == ["Name", "Job title", "Phone"]
    cells = [cell for row in rows[1:] for cell in row]
    assert '\'=HYPERLINK("http://evil")' in cells
    assert "'@SUM(A1)" in cells
    assert "'+cmd" in cells and "'-2+3" in cells
    assert "'+55 11 98765-4321" in cells
    assert not any(cell[:1] in "=+-@" for cell in cells if cell)


def test_export_uses_the_saved_views_columns(
    en_client, workspace: Workspace, admin: User, contact_factory, custom_field
) -> None:
    custom_field("budget", "money")
    contact_factory(first_name="Ana", city="Recife", custom_fields={"budget": "10"})
    view = savedview_create(
        workspace=workspace,
        actor=admin,
        object_type="contact",
        name="Money",
        columns=["city", "cf.budget"],
    )
    _raw, rows = read_csv(en_client(admin).get(f"/contacts/export.csv?view={view.pk}"))
    assert rows == [["Name", "City", "Budget"], ["Ana", "Recife", "R$ 10.00"]]


def test_export_only_what_the_person_may_see(
    en_client,
    workspace: Workspace,
    other_workspace: Workspace,
    make_member,
    contact_factory,
) -> None:
    seller = make_member("seller@acme.test", Role.SALES)
    other = make_member("other@acme.test", Role.SALES)
    contact_factory(first_name="Own", owner_id=seller.pk)
    hidden = contact_factory(first_name="Hidden", owner_id=other.pk)
    with workspace_scope(other_workspace):
        outsider = contact_factory(ws=other_workspace, first_name="Outsider")
    client = en_client(seller)
    _raw, rows = read_csv(client.get("/contacts/export.csv"))
    assert [r[0] for r in rows[1:]] == ["Own"]
    # Asking for the ids of records out of sight exports nothing of them.
    _raw, rows = read_csv(client.get(f"/contacts/export.csv?ids={hidden.pk}&ids={outsider.pk}"))
    assert rows[1:] == []


def test_export_selected_rows(en_client, admin: User, contact_factory) -> None:
    a = contact_factory(first_name="Ana")
    contact_factory(first_name="Bia")
    c = contact_factory(first_name="Caio")
    _raw, rows = read_csv(en_client(admin).get(f"/contacts/export.csv?ids={a.pk}&ids={c.pk}"))
    assert [r[0] for r in rows[1:]] == ["Ana", "Caio"]


def test_export_streams_every_page(en_client, admin: User, contact_factory) -> None:
    for i in range(205):
        contact_factory(first_name=f"P{i:03d}")
    _raw, rows = read_csv(en_client(admin).get("/contacts/export.csv?sort=-name"))
    assert len(rows) == 206
    assert rows[1][0] == "P204" and rows[-1][0] == "P000"


def test_export_in_portuguese(client: Client, admin: User, contact_factory) -> None:
    contact_factory(first_name="Ana", lifecycle_stage="customer")
    client.force_login(admin)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "pt-br"
    _raw, rows = read_csv(client.get("/contacts/export.csv"))
    assert rows[0][0] == "Nome"
    assert rows[1][4] == "Cliente"


def test_a_bad_filter_is_a_422(en_client, admin: User) -> None:
    response = en_client(admin).get("/contacts/export.csv?lifecycle_stage=nope")
    assert response.status_code == 422


def test_accounts_export(en_client, admin: User, account_factory) -> None:
    account_factory(name="Acme", domain="acme.com.br", industry="Energy", city="Recife")
    _raw, rows = read_csv(en_client(admin).get("/accounts/export.csv"))
    assert rows == [
        ["Name", "Domain", "Industry", "City", "Owner", "Tags"],
        ["Acme", "acme.com.br", "Energy", "Recife", "", ""],
    ]
