"""No endpoint lets one workspace read or change another's records: details answer 404 exactly
like a record that does not exist, and lists (also searched) never show them."""

from __future__ import annotations

import pytest

from tests.contacts.conftest import item_ids
from vinculo.contacts.models import Account, Contact
from vinculo.core.models import Event

KINDS = ["contacts", "accounts"]


@pytest.fixture
def ours(workspace, contact_factory, account_factory):
    return {
        "contacts": contact_factory(
            first_name="Segredo", last_name="Nosso", phones=["11 98765-4321"]
        ),
        "accounts": account_factory(name="Segredo Nosso Ltda", phone="11 98765-4321"),
    }


@pytest.fixture
def theirs(other_workspace, contact_factory, account_factory):
    return {
        "contacts": contact_factory(ws=other_workspace, first_name="Segredo", last_name="Deles"),
        "accounts": account_factory(ws=other_workspace, name="Segredo Deles Ltda"),
    }


def _assert_not_found(response):
    assert response.status_code == 404, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["type"].endswith("/not-found")


@pytest.mark.parametrize("kind", KINDS)
def test_other_workspace_gets_404_on_every_detail_endpoint(api, other_key, ours, kind):
    record = ours[kind]
    url = f"/api/v1/{kind}/{record.pk}"
    missing = f"/api/v1/{kind}/{record.pk + 10_000}"
    for path in (url, missing):
        _assert_not_found(api.get(path, key=other_key))
        _assert_not_found(api.patch(path, {"city": "Hacked"}, key=other_key))
        _assert_not_found(api.delete(path, key=other_key))
        _assert_not_found(api.post(f"{path}/restore", key=other_key))
    # The missing and the foreign record answer byte for byte alike, except the path.
    a = api.get(url, key=other_key).json()
    b = api.get(missing, key=other_key).json()
    assert {k: v for k, v in a.items() if k != "instance"} == {
        k: v for k, v in b.items() if k != "instance"
    }


@pytest.mark.parametrize("kind", KINDS)
def test_other_workspace_cannot_change_or_restore(api, workspace, other_key, ours, kind):
    record = ours[kind]
    model = Contact if kind == "contacts" else Account
    api.delete(f"/api/v1/{kind}/{record.pk}")  # our own delete
    _assert_not_found(api.post(f"/api/v1/{kind}/{record.pk}/restore", key=other_key))
    row = model.objects.for_workspace(workspace).get(pk=record.pk)
    assert row.deleted_at is not None
    assert row.city == ""
    assert not Event.all_tenants.filter(subject_id=record.pk, type__endswith=".restored").exists()


@pytest.mark.parametrize("kind", KINDS)
def test_lists_never_show_another_workspace(api, other_key, ours, theirs, kind):
    assert item_ids(api.get(f"/api/v1/{kind}")) == [ours[kind].pk]
    assert item_ids(api.get(f"/api/v1/{kind}", key=other_key)) == [theirs[kind].pk]
    assert item_ids(api.get(f"/api/v1/{kind}", q="segredo")) == [ours[kind].pk]
    assert item_ids(api.get(f"/api/v1/{kind}", q="segredo", key=other_key)) == [theirs[kind].pk]
    assert item_ids(api.get(f"/api/v1/{kind}", q="98765", key=other_key)) == []
    assert item_ids(api.get(f"/api/v1/{kind}", q="nosso", key=other_key)) == []


@pytest.mark.parametrize("kind", KINDS)
def test_deleted_lists_never_show_another_workspace(api, other_key, ours, theirs, kind):
    api.delete(f"/api/v1/{kind}/{ours[kind].pk}")
    assert item_ids(api.get(f"/api/v1/{kind}", deleted="true", key=other_key)) == []
    assert item_ids(api.get(f"/api/v1/{kind}", deleted="true")) == [ours[kind].pk]


def test_foreign_ids_in_filters_and_links_reveal_nothing(
    api, other_key, ours, theirs, other_workspace
):
    account = ours["accounts"]
    assert item_ids(api.get("/api/v1/contacts", account=str(account.pk), key=other_key)) == []
    r = api.post("/api/v1/contacts", {"first_name": "X", "account_id": account.pk}, key=other_key)
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["account_id"]
    ours_tags = api.post("/api/v1/contacts", {"first_name": "T", "tags": ["inside"]}).json()
    tag_id = ours_tags["tags"][0]["id"]
    assert item_ids(api.get("/api/v1/contacts", tag=str(tag_id), key=other_key)) == []
