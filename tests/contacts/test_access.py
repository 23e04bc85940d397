"""Roles decide what each member sees and may change; the API shows it as 404 (unseen) and
403 problems (seen but not allowed)."""

from __future__ import annotations

import pytest

from tests.contacts.conftest import item_ids
from vinculo.contacts.models import Account, Contact
from vinculo.core.models import Event, Team, TeamMember
from vinculo.core.roles import Role


@pytest.fixture
def office(workspace, make_member, key_for, contact_factory, admin):
    """Two sales people in one team, a third outside it, and a contact of each plus an
    unowned one."""
    ana = make_member("ana@acme.test", Role.SALES)
    beto = make_member("beto@acme.test", Role.SALES)
    caio = make_member("caio@acme.test", Role.SALES)
    team = Team.objects.for_workspace(workspace).create(workspace=workspace, name="Norte")
    for user in (ana, beto):
        TeamMember.objects.for_workspace(workspace).create(
            workspace=workspace, team=team, user=user
        )
    contacts = {
        "ana": contact_factory(first_name="Of Ana", owner_id=ana.pk),
        "beto": contact_factory(first_name="Of Beto", owner_id=beto.pk),
        "caio": contact_factory(first_name="Of Caio", owner_id=caio.pk),
        "admin": contact_factory(first_name="Of Admin", owner_id=admin.pk),
        "nobody": contact_factory(first_name="Of Nobody", owner_id=None),
    }
    keys = {"ana": key_for(ana), "caio": key_for(caio)}
    return {"users": {"ana": ana, "beto": beto, "caio": caio}, "contacts": contacts, "keys": keys}


def _ids(office, *names):
    return sorted(office["contacts"][n].pk for n in names)


def test_sales_sees_own_team_and_unowned_only(api, office):
    key = office["keys"]["ana"]
    assert sorted(item_ids(api.get("/api/v1/contacts", key=key))) == _ids(
        office, "ana", "beto", "nobody"
    )
    assert sorted(item_ids(api.get("/api/v1/contacts", key=office["keys"]["caio"]))) == _ids(
        office, "caio", "nobody"
    )
    # Search cannot reach past the scope either.
    assert item_ids(api.get("/api/v1/contacts", key=key, q="caio")) == []
    assert sorted(item_ids(api.get("/api/v1/contacts"))) == _ids(
        office, "ana", "beto", "caio", "admin", "nobody"
    )


def test_sales_gets_404_for_records_outside_the_scope(api, workspace, office):
    key = office["keys"]["ana"]
    hidden = office["contacts"]["caio"].pk
    assert api.get(f"/api/v1/contacts/{hidden}", key=key).status_code == 404
    assert api.patch(f"/api/v1/contacts/{hidden}", {"city": "X"}, key=key).status_code == 404
    assert Contact.objects.for_workspace(workspace).get(pk=hidden).city == ""
    teammate = office["contacts"]["beto"].pk
    r = api.patch(f"/api/v1/contacts/{teammate}", {"city": "Belém"}, key=key)
    assert r.status_code == 200 and r.json()["city"] == "Belém"


def test_sales_creates_contacts_owned_by_themselves(api, office):
    r = api.post("/api/v1/contacts", {"first_name": "New"}, key=office["keys"]["ana"])
    assert r.status_code == 201
    assert r.json()["owner"]["id"] == office["users"]["ana"].pk


def test_sales_cannot_delete_or_restore(api, workspace, office):
    key = office["keys"]["ana"]
    own = office["contacts"]["ana"].pk
    r = api.delete(f"/api/v1/contacts/{own}", key=key)
    assert r.status_code == 403
    assert r["Content-Type"] == "application/problem+json"
    assert r.json()["type"].endswith("/forbidden")
    assert Contact.objects.for_workspace(workspace).get(pk=own).deleted_at is None
    api.delete(f"/api/v1/contacts/{own}")  # the admin may
    assert api.post(f"/api/v1/contacts/{own}/restore", key=key).status_code == 403


@pytest.mark.parametrize("kind", ["contacts", "accounts"])
def test_read_only_reads_but_cannot_write(
    api, workspace, make_member, key_for, contact_factory, account_factory, kind
):
    record = (contact_factory if kind == "contacts" else account_factory)()
    key = key_for(make_member("viewer@acme.test", Role.READ_ONLY))
    url = f"/api/v1/{kind}"
    assert item_ids(api.get(url, key=key)) == [record.pk]
    assert api.get(f"{url}/{record.pk}", key=key).status_code == 200
    events_before = Event.objects.for_workspace(workspace).count()
    for response in (
        api.post(url, {"first_name": "X"} if kind == "contacts" else {"name": "X"}, key=key),
        api.patch(f"{url}/{record.pk}", {"city": "X"}, key=key),
        api.delete(f"{url}/{record.pk}", key=key),
        api.post(f"{url}/{record.pk}/restore", key=key),
    ):
        assert response.status_code == 403, response.content
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["type"].endswith("/forbidden")
    model = Contact if kind == "contacts" else Account
    assert model.objects.for_workspace(workspace).count() == 1
    assert model.objects.for_workspace(workspace).get().city == ""
    assert Event.objects.for_workspace(workspace).count() == events_before


def test_service_role_sees_accounts_but_cannot_create_them(
    api, make_member, key_for, account_factory
):
    account = account_factory()
    key = key_for(make_member("agent@acme.test", Role.SERVICE))
    assert item_ids(api.get("/api/v1/accounts", key=key)) == [account.pk]
    assert api.post("/api/v1/accounts", {"name": "X"}, key=key).status_code == 403
    assert api.post("/api/v1/contacts", {"first_name": "X"}, key=key).status_code == 201


def test_linking_an_account_outside_the_scope_is_refused(api, office, account_factory, workspace):
    hidden = account_factory(name="Caio's", owner_id=office["users"]["caio"].pk)
    r = api.post(
        "/api/v1/contacts",
        {"first_name": "X", "account_id": hidden.pk},
        key=office["keys"]["ana"],
    )
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["account_id"]
