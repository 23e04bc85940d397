"""POST /api/v1/contacts/bulk and /accounts/bulk: upserts with a result per item, through the
same writer as file imports."""

from __future__ import annotations

import pytest
from django.utils import translation

from tests.contacts.conftest import error_fields
from vinculo.contacts.models import Account, Contact
from vinculo.core.models import Event
from vinculo.core.roles import Role


@pytest.fixture(autouse=True)
def english():
    """Messages in English (the workspace's pt-br catalogue is compiled separately)."""
    with translation.override("en"):
        yield


URL = "/api/v1/contacts/bulk"


def test_creates_updates_and_reports_each_item(api, workspace, contact_factory):
    ana = contact_factory(first_name="Ana", email="ana@exemplo.com", city="Recife")
    bia = contact_factory(first_name="Bia", external_id="CRM-2")
    r = api.post(
        URL,
        {
            "items": [
                {"first_name": "Caio", "email": "caio@exemplo.com", "tags": ["vip"]},
                {"email": "ANA@exemplo.com", "city": "Natal"},
                {"external_id": "CRM-2", "last_name": "Souza"},
                {"first_name": "", "email": "not-an-email", "birthdate": "2999-01-01"},
                {"first_name": "Caio C", "email": "caio@exemplo.com"},
            ]
        },
    )

    assert r.status_code == 200, r.content
    body = r.json()
    assert [i["status"] for i in body["items"]] == [
        "created",
        "updated",
        "updated",
        "failed",
        "updated",
    ]
    assert [i["index"] for i in body["items"]] == [0, 1, 2, 3, 4]
    assert (body["created"], body["updated"], body["skipped"], body["failed"]) == (1, 3, 0, 1)
    caio = Contact.objects.for_workspace(workspace).get(email="caio@exemplo.com")
    assert body["items"][0]["id"] == body["items"][4]["id"] == caio.pk
    assert caio.first_name == "Caio C"
    assert list(caio.tags.values_list("name", flat=True)) == ["vip"]
    assert body["items"][1]["id"] == ana.pk and body["items"][2]["id"] == bia.pk
    ana.refresh_from_db()
    bia.refresh_from_db()
    assert (ana.city, bia.last_name) == ("Natal", "Souza")
    failed = body["items"][3]
    assert failed["id"] is None
    assert {e["field"] for e in failed["errors"]} == {"email", "birthdate"}
    assert all(e["message"] for e in failed["errors"])
    event = Event.objects.for_workspace(workspace).filter(type="contact.created").latest("id")
    assert event.payload["source"] == "api" and event.subject_id == caio.pk


def test_fill_and_skip(api, workspace, contact_factory):
    ana = contact_factory(first_name="Ana", email="ana@exemplo.com", city="Recife")
    item = {"email": "ana@exemplo.com", "city": "Natal", "job_title": "CEO"}

    skipped = api.post(URL, {"items": [item], "on_match": "skip"}).json()
    assert skipped["items"][0]["status"] == "skipped" and skipped["items"][0]["id"] == ana.pk
    filled = api.post(URL, {"items": [item], "on_match": "fill"}).json()
    assert filled["items"][0]["status"] == "updated"
    ana.refresh_from_db()
    assert (ana.city, ana.job_title) == ("Recife", "CEO")


def test_match_by_email_only_creates_a_new_contact_for_a_new_external_id(api, workspace):
    api.post(URL, {"items": [{"first_name": "Ana", "email": "ana@exemplo.com"}]})
    body = api.post(
        URL,
        {"items": [{"first_name": "Ana", "external_id": "X1"}], "match_by": ["external_id"]},
    ).json()
    assert body["items"][0]["status"] == "created"
    assert Contact.objects.for_workspace(workspace).count() == 2


def test_accounts_by_external_id_or_domain(api, workspace, account_factory):
    acme = account_factory(name="Acme", domain="acme.com")
    r = api.post(
        "/api/v1/accounts/bulk",
        {
            "items": [
                {"name": "Acme Ltda", "domain": "https://www.ACME.com/"},
                {"name": "Globex", "external_id": "G-1", "size": "11-50"},
                {"name": ""},
            ]
        },
    )
    body = r.json()
    assert [i["status"] for i in body["items"]] == ["updated", "created", "failed"]
    acme.refresh_from_db()
    assert acme.name == "Acme Ltda"
    assert Account.objects.for_workspace(workspace).get(external_id="G-1").size == "11-50"


def test_more_than_a_thousand_items_is_413(api, workspace):
    r = api.post(URL, {"items": [{"first_name": f"P{i}"} for i in range(1001)]})
    assert r.status_code == 413
    assert r["Content-Type"] == "application/problem+json"
    assert "1,000" in r.json()["detail"]
    assert not Contact.objects.for_workspace(workspace).exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"items": "nope"}, "items"),
        ({}, "items"),
        ({"items": [], "surprise": 1}, "surprise"),
        ({"items": [1, 2]}, "items.0"),
        ({"items": [], "match_by": ["shoe_size"]}, "match_by"),
        ({"items": [], "on_match": "merge"}, "on_match"),
    ],
)
def test_malformed_bodies_are_422(api, body, field):
    r = api.post(URL, body)
    assert field in error_fields(r)


def test_not_json_is_400(api):
    r = api.post(URL, raw="{items: [", content_type="application/json")
    assert r.status_code == 400
    assert r["Content-Type"] == "application/problem+json"


def test_rights_create_and_edit(api, workspace, make_member, key_for):
    reader = key_for(make_member("reader@acme.test", Role.READ_ONLY))
    r = api.post(URL, {"items": [{"first_name": "Ana"}]}, key=reader)
    assert r.status_code == 403
    service = key_for(make_member("service@acme.test", Role.SERVICE))
    r = api.post("/api/v1/accounts/bulk", {"items": [{"name": "Acme"}]}, key=service)
    assert r.status_code == 403
    assert not Account.objects.for_workspace(workspace).exists()


def test_items_never_match_records_of_another_workspace(
    api, workspace, other_workspace, other_key, contact_factory
):
    theirs = contact_factory(ws=other_workspace, first_name="Ana", email="ana@exemplo.com")
    body = api.post(URL, {"items": [{"first_name": "Nova", "email": "ana@exemplo.com"}]}).json()

    assert body["items"][0]["status"] == "created"
    assert body["items"][0]["id"] != theirs.pk
    theirs.refresh_from_db()
    assert theirs.first_name == "Ana"
    # And an account of another workspace cannot be linked.
    from vinculo.contacts.services import account_create

    foreign = account_create(workspace=other_workspace, actor=None, data={"name": "Globex"})
    body = api.post(URL, {"items": [{"first_name": "Bia", "account_id": foreign.pk}]}).json()
    assert body["items"][0]["status"] == "failed"
    assert body["items"][0]["errors"][0]["field"] == "account_id"
    r = api.post(URL, {"items": [{"email": "ana@exemplo.com", "city": "X"}]}, key=other_key)
    assert r.json()["items"][0]["id"] == theirs.pk


def test_items_the_caller_cannot_see_are_not_touched(
    api, workspace, make_member, key_for, contact_factory
):
    rep = make_member("rep@acme.test", Role.SALES)
    other = make_member("other@acme.test", Role.SALES)
    theirs = contact_factory(actor=other, owner_id=other.pk, first_name="Ana", email="a@x.com")
    r = api.post(URL, {"items": [{"email": "a@x.com", "city": "Natal"}]}, key=key_for(rep))
    item = r.json()["items"][0]
    assert item["status"] == "failed" and item["errors"][0]["code"] == "match-not-visible"
    theirs.refresh_from_db()
    assert theirs.city == ""


def test_queries_do_not_grow_with_the_items(
    api, workspace, account_factory, contact_factory, django_assert_max_num_queries
):
    accounts = [account_factory(name=f"Acme {i}") for i in range(3)]
    for i in range(50):
        contact_factory(first_name=f"Old{i}", email=f"old{i}@exemplo.com", tags=["x"])

    def body(n: int, offset: int) -> dict:
        items = []
        for i in range(n):
            if i % 2:
                items.append(
                    {"email": f"old{i % 50}@exemplo.com", "city": f"C{offset}", "tags": ["y"]}
                )
            else:
                items.append(
                    {
                        "first_name": f"N{offset}-{i}",
                        "email": f"new{offset}-{i}@exemplo.com",
                        "account_id": accounts[i % 3].pk,
                        "tags": ["vip", f"t{i % 4}"],
                    }
                )
        return {"items": items}

    with django_assert_max_num_queries(40) as few:
        assert api.post(URL, body(10, 1)).status_code == 200
    with django_assert_max_num_queries(len(few.captured_queries) + 4):
        r = api.post(URL, body(100, 2))
    assert r.status_code == 200
    assert r.json()["created"] == 50 and r.json()["updated"] == 50
