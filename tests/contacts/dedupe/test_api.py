"""The dedupe API: the queue, dismissals, scans, merges and the "already exists" check, with
rights, problem+json errors, other workspaces and query budgets."""

from __future__ import annotations

import pytest

from tests.contacts.dedupe.conftest import pair_of
from vinculo.contacts.models import Contact, DuplicateCandidate, DuplicateScan, JobStatus
from vinculo.core.roles import Role
from vinculo.timeline.models import Note
from vinculo.timeline.services import note_create


@pytest.fixture
def twins(workspace, contact_factory, run_scan):
    a = contact_factory(
        first_name="Ana", last_name="Souza", emails=["ana@example.com"], city="Recife"
    )
    b = contact_factory(first_name="Ana", last_name="Sousa", emails=["ana@example.com"])
    run_scan()
    return a, b


def test_queue_lists_open_pairs_with_reasons(api, workspace, twins):
    a, b = twins
    body = api.get("/api/v1/duplicates", object_type="contact").json()
    assert body["next_cursor"] is None
    [item] = body["items"]
    assert item["first"] == {"id": a.pk, "name": "Ana Souza"}
    assert item["second"] == {"id": b.pk, "name": "Ana Sousa"}
    assert item["score"] >= 95 and item["status"] == "open"
    assert {"kind": "email", "value": "ana@example.com"} in item["reasons"]
    assert api.get("/api/v1/duplicates", object_type="accounts").json()["items"] == []
    bad = api.get("/api/v1/duplicates", object_type="deals")
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "object_type"


def test_queue_queries_do_not_grow(
    api, workspace, contact_factory, run_scan, django_assert_max_num_queries
):
    for i in range(40):
        for _ in range(2):
            contact_factory(first_name=f"Par{i}", emails=[f"p@mail{i}.com.br"])
    run_scan()
    # key, membership, key touch; the pairs, their records, their tags.
    with django_assert_max_num_queries(7):
        body = api.get("/api/v1/duplicates", object_type="contact", limit="30").json()
    assert len(body["items"]) == 30
    with django_assert_max_num_queries(7):
        rest = api.get(
            "/api/v1/duplicates", object_type="contact", cursor=body["next_cursor"]
        ).json()
    assert len(rest["items"]) == 10


def test_dismiss(api, workspace, twins):
    a, b = twins
    pair = pair_of(workspace, a.pk, b.pk)
    response = api.post(f"/api/v1/duplicates/{pair.pk}/dismiss")
    assert response.status_code == 200
    assert response.json()["status"] == "dismissed"
    assert api.get("/api/v1/duplicates").json()["items"] == []
    again = api.post(f"/api/v1/duplicates/{pair.pk}/dismiss")
    assert again.status_code == 404 and again["Content-Type"] == "application/problem+json"


def test_scan_through_the_api(api, workspace, contact_factory, django_capture_on_commit_callbacks):
    contact_factory(first_name="Bia", phones=["+5511987654321"])
    contact_factory(first_name="Bia", phones=["11 98765-4321"], country="BR")
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/v1/duplicates/scans", {"object_type": "contacts"})
    assert response.status_code == 202
    scan_id = response.json()["id"]
    detail = api.get(f"/api/v1/duplicates/scans/{scan_id}").json()
    assert detail["status"] == "done" and detail["pairs_found"] == 1 and detail["percent"] == 100
    assert api.post("/api/v1/duplicates/scans", {"object_type": "x"}).status_code == 422
    assert (
        api.post("/api/v1/duplicates/scans", {"object_type": "contact", "extra": 1}).status_code
        == 422
    )


def test_merge_contacts(api, workspace, admin, twins):
    a, b = twins
    note_create(workspace=workspace, actor=admin, body="Ligou ontem", contact_id=b.pk)
    response = api.post(
        "/api/v1/contacts/merge",
        {"survivor_id": a.pk, "other_id": b.pk, "choices": {"last_name": "other"}},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["id"] == a.pk and body["last_name"] == "Sousa" and body["city"] == "Recife"
    assert Note.objects.for_workspace(workspace).get(body="Ligou ontem").contact_id == a.pk
    assert api.get(f"/api/v1/contacts/{b.pk}").status_code == 404
    assert pair_of(workspace, a.pk, b.pk).status == DuplicateCandidate.Status.MERGED


def test_merge_errors_are_problems_naming_the_field(api, workspace, twins):
    a, b = twins
    same = api.post("/api/v1/contacts/merge", {"survivor_id": a.pk, "other_id": a.pk})
    assert same.status_code == 422 and same["Content-Type"] == "application/problem+json"
    assert [e["field"] for e in same.json()["errors"]] == ["other_id"]
    choice = api.post(
        "/api/v1/contacts/merge",
        {"survivor_id": a.pk, "other_id": b.pk, "choices": {"city": "mine"}},
    )
    assert [e["field"] for e in choice.json()["errors"]] == ["choices.city"]
    missing = api.post("/api/v1/contacts/merge", {"survivor_id": a.pk})
    assert missing.status_code == 422
    assert (
        api.post("/api/v1/contacts/merge", {"survivor_id": a.pk, "other_id": 10**12}).status_code
        == 404
    )
    assert Contact.objects.for_workspace(workspace).filter(deleted_at__isnull=False).count() == 0


def test_merge_accounts(api, workspace, account_factory, contact_factory):
    keep = account_factory(name="Acme Ltda", domain="acme.com.br")
    gone = account_factory(name="ACME", domain="acme.com.br", industry="Varejo")
    person = contact_factory(first_name="P", account_id=gone.pk)
    response = api.post("/api/v1/accounts/merge", {"survivor_id": keep.pk, "other_id": gone.pk})
    assert response.status_code == 200, response.content
    assert response.json()["industry"] == "Varejo"
    person.refresh_from_db()
    assert person.account_id == keep.pk


def test_merge_needs_rights(api, workspace, twins, make_member, key_for):
    a, b = twins
    seller = make_member("seller@acme.test", Role.SALES)
    for contact in twins:
        Contact.objects.for_workspace(workspace).filter(pk=contact.pk).update(owner_id=seller.pk)
    response = api.post(
        "/api/v1/contacts/merge", {"survivor_id": a.pk, "other_id": b.pk}, key=key_for(seller)
    )
    assert response.status_code == 403


def test_check_endpoints(api, workspace, contact_factory, account_factory):
    ana = contact_factory(
        first_name="Ana", emails=["ana@work.com", "ana@home.com"], phones=["+5511987654321"]
    )
    body = api.get("/api/v1/contacts/duplicates/check", email="ANA@home.com").json()
    assert body["items"] == [
        {"id": ana.pk, "name": "Ana", "field": "email", "value": "ana@home.com"}
    ]
    body = api.get("/api/v1/contacts/duplicates/check", phone="(11) 98765-4321").json()
    assert body["items"][0]["field"] == "phone"
    assert (
        api.get(
            "/api/v1/contacts/duplicates/check", email="ana@work.com", exclude_id=ana.pk
        ).json()["items"]
        == []
    )
    acme = account_factory(name="Acme", domain="acme.com.br")
    body = api.get("/api/v1/accounts/duplicates/check", domain="www.acme.com.br").json()
    assert body["items"] == [
        {"id": acme.pk, "name": "Acme", "field": "domain", "value": "acme.com.br"}
    ]


def test_nothing_crosses_workspaces(api, other_key, workspace, twins, account_factory):
    a, b = twins
    account_factory(name="Acme", domain="acme.com.br")
    pair = pair_of(workspace, a.pk, b.pk)
    assert api.get("/api/v1/duplicates", key=other_key).json()["items"] == []
    for response in (
        api.post(f"/api/v1/duplicates/{pair.pk}/dismiss", key=other_key),
        api.post("/api/v1/contacts/merge", {"survivor_id": a.pk, "other_id": b.pk}, key=other_key),
        api.get(
            f"/api/v1/duplicates/scans/{DuplicateScan.objects.for_workspace(workspace).get().pk}",
            key=other_key,
        ),
    ):
        assert response.status_code == 404, response.content
        assert response.json()["type"].endswith("/not-found")
    assert (
        api.get("/api/v1/contacts/duplicates/check", email="ana@example.com", key=other_key).json()[
            "items"
        ]
        == []
    )
    assert (
        api.get("/api/v1/accounts/duplicates/check", domain="acme.com.br", key=other_key).json()[
            "items"
        ]
        == []
    )
    pair.refresh_from_db()
    assert pair.status == DuplicateCandidate.Status.OPEN
    assert DuplicateScan.objects.for_workspace(workspace).get().status == JobStatus.DONE
