"""Every change leaves an event in the same transaction: who, when, and old → new."""

from __future__ import annotations

from django.utils import timezone

from vinculo.core.models import Event


def _events(workspace, subject_id, type_):
    return list(
        Event.objects.for_workspace(workspace)
        .filter(subject_id=subject_id, type=type_)
        .order_by("id")
    )


def test_contact_events_record_who_when_and_old_to_new(
    api, workspace, admin, make_member, custom_field
):
    custom_field("plan", "choice", choices=["free", "pro"])
    seller = make_member("seller@acme.test")
    started = timezone.now()
    r = api.post(
        "/api/v1/contacts",
        {
            "first_name": "Ana",
            "emails": ["ana@example.com"],
            "tags": ["VIP"],
            "custom_fields": {"plan": "free"},
        },
    )
    cid = r.json()["id"]
    [created] = _events(workspace, cid, "contact.created")
    assert created.actor_id == admin.pk
    assert created.subject_type == "contact"
    assert created.occurred_at >= started
    assert created.payload["fields"]["first_name"] == "Ana"
    assert created.payload["fields"]["emails"] == ["ana@example.com"]
    assert created.payload["fields"]["tags"] == ["VIP"]
    assert created.payload["fields"]["custom_fields.plan"] == "free"

    api.patch(
        f"/api/v1/contacts/{cid}",
        {
            "first_name": "Ana Maria",
            "emails": ["ana@example.com", "ana@work.example.com"],
            "owner_id": seller.pk,
            "tags": ["VIP", "Hot"],
            "custom_fields": {"plan": "pro"},
            "birthdate": "1990-01-02",
            "last_name": "",  # unchanged: not in the changes
        },
    )
    [updated] = _events(workspace, cid, "contact.updated")
    assert updated.actor_id == admin.pk
    assert updated.payload == {
        "changes": {
            "first_name": ["Ana", "Ana Maria"],
            "emails": [["ana@example.com"], ["ana@example.com", "ana@work.example.com"]],
            "owner_id": [admin.pk, seller.pk],
            "tags": [["VIP"], ["Hot", "VIP"]],
            "custom_fields.plan": ["free", "pro"],
            "birthdate": [None, "1990-01-02"],
        }
    }

    api.patch(f"/api/v1/contacts/{cid}", {"custom_fields": {"plan": None}})
    assert _events(workspace, cid, "contact.updated")[-1].payload == {
        "changes": {"custom_fields.plan": ["pro", None]}
    }


def test_a_write_that_changes_nothing_records_nothing(api, workspace):
    r = api.post("/api/v1/contacts", {"first_name": "Ana", "tags": ["a"]})
    cid, updated_at = r.json()["id"], r.json()["updated_at"]
    r = api.patch(f"/api/v1/contacts/{cid}", {"first_name": "Ana", "tags": ["A"]})
    assert r.status_code == 200
    assert r.json()["updated_at"] == updated_at
    assert _events(workspace, cid, "contact.updated") == []


def test_delete_and_restore_events(api, workspace, admin):
    cid = api.post("/api/v1/contacts", {"first_name": "Ana"}).json()["id"]
    aid = api.post("/api/v1/accounts", {"name": "Acme"}).json()["id"]
    api.delete(f"/api/v1/contacts/{cid}")
    api.post(f"/api/v1/contacts/{cid}/restore")
    api.delete(f"/api/v1/accounts/{aid}")
    api.post(f"/api/v1/accounts/{aid}/restore")
    for subject, kind in ((cid, "contact"), (aid, "account")):
        types = [
            e.type
            for e in Event.objects.for_workspace(workspace)
            .filter(subject_id=subject, subject_type=kind)
            .order_by("id")
        ]
        assert types == [f"{kind}.created", f"{kind}.deleted", f"{kind}.restored"]
    assert set(Event.objects.for_workspace(workspace).values_list("actor_id", flat=True)) == {
        admin.pk
    }


def test_account_update_event(api, workspace, admin):
    aid = api.post("/api/v1/accounts", {"name": "Acme", "domain": "acme.com"}).json()["id"]
    api.patch(f"/api/v1/accounts/{aid}", {"name": "Acme Corp", "size": "11-50"})
    [updated] = _events(workspace, aid, "account.updated")
    assert updated.actor_id == admin.pk
    assert updated.payload == {"changes": {"name": ["Acme", "Acme Corp"], "size": ["", "11-50"]}}
