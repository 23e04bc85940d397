"""Interactions through the API: create, read, change, trash and restore, with their events."""

from __future__ import annotations

import datetime as dt

from vinculo.core.models import Event
from vinculo.timeline.models import Interaction

from .conftest import problem_fields


def _events(type_: str) -> list[Event]:
    return list(Event.objects.filter(type=type_).order_by("id"))


def test_log_read_update_delete_restore(api, admin, contact, account):
    r = api.post(
        "/api/v1/interactions",
        {
            "channel": "phone",
            "direction": "inbound",
            "occurred_at": "2025-03-10T14:30:00Z",
            "subject": "  Called about the renewal  ",
            "duration_seconds": 420,
            "contact_id": contact.id,
            "account_id": account.id,
        },
    )
    assert r.status_code == 201, r.content
    created = r.json()
    assert created["channel"] == "phone"
    assert created["direction"] == "inbound"
    assert created["subject"] == "Called about the renewal"
    assert created["contact"] == {"id": contact.id, "name": "Ana Souza"}
    assert created["account"] == {"id": account.id, "name": "Souza Comércio"}
    assert created["author"]["email"] == "admin@acme.test"
    assert dt.datetime.fromisoformat(created["occurred_at"]) == dt.datetime(
        2025, 3, 10, 14, 30, tzinfo=dt.UTC
    )
    [logged] = _events("interaction.logged")
    assert logged.subject_type == "interaction"
    assert logged.subject_id == created["id"]
    assert logged.actor == admin
    assert logged.payload["contact_id"] == contact.id
    assert logged.payload["account_id"] == account.id

    r = api.get(f"/api/v1/interactions/{created['id']}")
    assert r.status_code == 200
    assert r.json()["duration_seconds"] == 420

    r = api.patch(
        f"/api/v1/interactions/{created['id']}", {"outcome": "Will sign", "account_id": None}
    )
    assert r.status_code == 200, r.content
    assert r.json()["outcome"] == "Will sign"
    assert r.json()["account"] is None
    [updated] = _events("interaction.updated")
    assert updated.payload["changes"] == {
        "outcome": ["", "Will sign"],
        "account_id": [account.id, None],
    }
    assert updated.payload["contact_id"] == contact.id

    # Sending the same values again changes nothing and records nothing.
    r = api.patch(f"/api/v1/interactions/{created['id']}", {"outcome": "Will sign"})
    assert r.status_code == 200
    assert len(_events("interaction.updated")) == 1

    assert api.delete(f"/api/v1/interactions/{created['id']}").status_code == 204
    assert api.get(f"/api/v1/interactions/{created['id']}").status_code == 404
    assert api.get("/api/v1/interactions").json()["items"] == []
    trash = api.get("/api/v1/interactions", deleted="true").json()["items"]
    assert [i["id"] for i in trash] == [created["id"]]
    assert _events("interaction.deleted")[0].payload["contact_id"] == contact.id
    # A second delete finds nothing to delete.
    assert api.delete(f"/api/v1/interactions/{created['id']}").status_code == 404

    r = api.post(f"/api/v1/interactions/{created['id']}/restore")
    assert r.status_code == 200
    assert r.json()["deleted_at"] is None
    assert api.get(f"/api/v1/interactions/{created['id']}").status_code == 200
    assert len(_events("interaction.restored")) == 1
    # Restoring again is a harmless no-op.
    assert api.post(f"/api/v1/interactions/{created['id']}/restore").status_code == 200
    assert len(_events("interaction.restored")) == 1


def test_every_bad_field_is_reported_at_once_and_nothing_is_written(api, contact):
    r = api.post(
        "/api/v1/interactions",
        {
            "channel": "pigeon",
            "direction": "sideways",
            "subject": "x" * 301,
            "duration_seconds": -5,
            "contact_id": 999_999,
        },
    )
    assert r.status_code == 422
    assert r["Content-Type"] == "application/problem+json"
    assert problem_fields(r) == {
        "channel": "invalid-choice",
        "direction": "invalid-choice",
        "subject": "too-long",
        "duration_seconds": "negative",
        "contact_id": "not-found",
    }
    assert not Interaction.objects.exists()
    assert not Event.objects.filter(type__startswith="interaction.").exists()


def test_an_interaction_must_be_linked(api):
    r = api.post("/api/v1/interactions", {"channel": "email"})
    assert r.status_code == 422
    assert problem_fields(r) == {"contact_id": "link-required"}


def test_unlinking_the_last_link_is_refused(api, contact):
    created = api.post("/api/v1/interactions", {"channel": "email", "contact_id": contact.id})
    r = api.patch(f"/api/v1/interactions/{created.json()['id']}", {"contact_id": None})
    assert r.status_code == 422
    assert problem_fields(r) == {"contact_id": "link-required"}
    assert Interaction.objects.get().contact_id == contact.id


def test_linking_a_deleted_contact_is_refused(api, contact):
    from django.utils import timezone

    contact.deleted_at = timezone.now()
    contact.save(update_fields=["deleted_at"])
    r = api.post("/api/v1/interactions", {"channel": "email", "contact_id": contact.id})
    assert r.status_code == 422
    assert problem_fields(r) == {"contact_id": "not-found"}


def test_naive_times_are_read_in_the_workspace_time_zone(api, contact):
    # Acme works in America/Sao_Paulo (UTC-3 in March 2025).
    r = api.post(
        "/api/v1/interactions",
        {"channel": "meeting", "contact_id": contact.id, "occurred_at": "2025-03-10T09:00:00"},
    )
    assert r.status_code == 201
    stored = Interaction.objects.get().occurred_at
    assert stored == dt.datetime(2025, 3, 10, 12, 0, tzinfo=dt.UTC)


def test_list_filters_by_contact_account_and_channel(api, contact_factory, account):
    ana, bia = contact_factory(), contact_factory()
    ids = {}
    for name, body in {
        "ana_email": {"channel": "email", "contact_id": ana.id},
        "ana_call": {"channel": "phone", "contact_id": ana.id},
        "bia_chat": {"channel": "chat", "contact_id": bia.id, "account_id": account.id},
    }.items():
        ids[name] = api.post("/api/v1/interactions", body).json()["id"]

    def listed(**params):
        r = api.get("/api/v1/interactions", **params)
        assert r.status_code == 200, r.content
        return {i["id"] for i in r.json()["items"]}

    assert listed(contact_id=ana.id) == {ids["ana_email"], ids["ana_call"]}
    assert listed(account_id=account.id) == {ids["bia_chat"]}
    assert listed(channel="email,chat") == {ids["ana_email"], ids["bia_chat"]}
    assert listed(channel=["phone", "chat"]) == {ids["ana_call"], ids["bia_chat"]}
    r = api.get("/api/v1/interactions", channel="fax")
    assert r.status_code == 422
    assert problem_fields(r) == {"channel": "invalid-choice"}


def test_list_pages_newest_first_without_overlap(api, contact):
    base = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    for i in range(7):
        api.post(
            "/api/v1/interactions",
            {
                "channel": "email",
                "contact_id": contact.id,
                # Pairs share a timestamp so the id has to break the tie.
                "occurred_at": (base + dt.timedelta(hours=i // 2)).isoformat(),
            },
        )
    expected = list(
        Interaction.objects.order_by("-occurred_at", "-id").values_list("id", flat=True)
    )
    seen: list[int] = []
    cursor = None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        body = api.get("/api/v1/interactions", **params).json()
        seen += [i["id"] for i in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == expected


def test_a_read_only_member_cannot_log(api, make_member, contact, client):
    from vinculo.core.roles import Role
    from vinculo.core.services import apikey_create

    viewer = make_member("viewer@acme.test", role=Role.READ_ONLY)
    key = apikey_create(workspace=contact.workspace, user=viewer)[1]
    r = api.post("/api/v1/interactions", {"channel": "email", "contact_id": contact.id}, key=key)
    assert r.status_code == 403
    assert not Interaction.objects.exists()
