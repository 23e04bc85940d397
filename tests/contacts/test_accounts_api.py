"""The accounts API end to end."""

from __future__ import annotations

import pytest

from tests.contacts.conftest import error_fields, item_ids
from vinculo.contacts.models import Account

URL = "/api/v1/accounts"


def test_account_full_lifecycle_through_the_api(api, workspace, admin, custom_field):
    custom_field("tier", "choice", choices=["gold", "silver"], object_type="account")
    r = api.post(
        URL,
        {
            "name": " Padaria  Pão Quente ",
            "domain": "https://www.PaoQuente.com.br/contato",
            "website": "paoquente.com.br",
            "phone": "(11) 3333-4444",
            "size": "11-50",
            "industry": "Food",
            "country": "br",
            "tags": ["Key account"],
            "custom_fields": {"tier": "gold"},
        },
    )
    assert r.status_code == 201, r.content
    body = r.json()
    aid = body["id"]
    assert body["name"] == "Padaria Pão Quente"
    assert body["domain"] == "paoquente.com.br"
    assert body["website"] == "https://paoquente.com.br"
    assert body["phone"] == "+551133334444"
    assert body["owner"]["id"] == admin.pk
    assert [t["name"] for t in body["tags"]] == ["Key account"]
    assert body["custom_fields"] == {"tier": "gold"}

    assert api.get(f"{URL}/{aid}").json()["size"] == "11-50"
    r = api.patch(f"{URL}/{aid}", {"industry": "Bakery", "tags": []})
    assert r.json()["industry"] == "Bakery" and r.json()["tags"] == []
    assert item_ids(api.get(URL, industry="Bakery")) == [aid]
    assert item_ids(api.get(URL, domain="PAOQUENTE.com.br")) == [aid]
    assert item_ids(api.get(URL, size="11-50")) == [aid]
    assert item_ids(api.get(URL, **{"cf.tier": "gold"})) == [aid]
    assert item_ids(api.get(URL, **{"cf.tier": "silver"})) == []

    assert api.delete(f"{URL}/{aid}").status_code == 204
    assert api.get(f"{URL}/{aid}").status_code == 404
    assert api.post(f"{URL}/{aid}/restore").status_code == 200
    assert item_ids(api.get(URL)) == [aid]


def test_account_validation_reports_every_field(api, workspace):
    r = api.post(
        URL,
        {
            "name": "",
            "domain": "not a domain",
            "website": "ftp://files.example.com",
            "phone": "x",
            "size": "huge",
            "country": "Brasil",
            "custom_fields": {"nope": 1},
        },
    )
    assert error_fields(r) == {
        "name",
        "domain",
        "website",
        "phone",
        "size",
        "country",
        "custom_fields.nope",
    }
    assert Account.objects.for_workspace(workspace).count() == 0
    assert error_fields(api.post(URL, {"name": "A", "employees": 3})) == {"employees"}


def test_account_name_cannot_be_cleared(api, account_factory):
    account = account_factory(name="Acme")
    assert error_fields(api.patch(f"{URL}/{account.pk}", {"name": "  "})) == {"name"}
    assert error_fields(api.patch(f"{URL}/{account.pk}", {"name": None})) == {"name"}


@pytest.mark.parametrize("sort", ["name", "-name", "created_at", "-updated_at"])
def test_account_pages(api, account_factory, sort):
    made = {account_factory(name=f"Conta {i:02}").pk for i in range(7)}
    seen, cursor = [], None
    while True:
        params = {"limit": "2", "sort": sort} | ({"cursor": cursor} if cursor else {})
        r = api.get(URL, **params)
        seen += item_ids(r)
        cursor = r.json()["next_cursor"]
        if not cursor:
            break
    assert len(seen) == 7 and set(seen) == made


def test_account_filters(api, account_factory, make_member):
    seller = make_member("s@acme.test")
    a = account_factory(name="A", owner_id=seller.pk, city="Recife", state="PE", country="BR")
    b = account_factory(name="B", tags=["partner"], country="AR")
    assert item_ids(api.get(URL, owner=str(seller.pk))) == [a.pk]
    assert item_ids(api.get(URL, owner="none")) == [b.pk]
    assert item_ids(api.get(URL, city="Recife", state="PE")) == [a.pk]
    assert item_ids(api.get(URL, country="ar")) == [b.pk]
    assert item_ids(api.get(URL, tag="Partner")) == [b.pk]
    assert error_fields(api.get(URL, size="huge", country="Brazil")) == {"size", "country"}
