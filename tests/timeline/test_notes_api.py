"""Notes through the API."""

from __future__ import annotations

from vinculo.core.models import Event
from vinculo.timeline.models import Note

from .conftest import problem_fields


def test_note_lifecycle(api, admin, account):
    r = api.post("/api/v1/notes", {"body": "Prefers WhatsApp after 18h.", "account_id": account.id})
    assert r.status_code == 201, r.content
    note = r.json()
    assert note["author"]["email"] == admin.email
    assert note["pinned"] is False
    added = Event.objects.get(type="note.added")
    assert added.payload == {"contact_id": None, "account_id": account.id, "pinned": False}

    r = api.patch(f"/api/v1/notes/{note['id']}", {"pinned": True})
    assert r.json()["pinned"] is True
    assert Event.objects.get(type="note.updated").payload["changes"] == {"pinned": [False, True]}

    assert [n["id"] for n in api.get("/api/v1/notes", pinned="true").json()["items"]] == [
        note["id"]
    ]
    assert api.get("/api/v1/notes", pinned="false").json()["items"] == []
    listed = api.get("/api/v1/notes", account_id=account.id).json()["items"]
    assert [n["id"] for n in listed] == [note["id"]]

    assert api.delete(f"/api/v1/notes/{note['id']}").status_code == 204
    assert Note.objects.get().deleted_at is not None
    assert api.get(f"/api/v1/notes/{note['id']}").status_code == 404
    assert api.post(f"/api/v1/notes/{note['id']}/restore").json()["deleted_at"] is None
    assert {"note.deleted", "note.restored"} <= set(Event.objects.values_list("type", flat=True))


def test_note_needs_a_body_and_a_link(api):
    r = api.post("/api/v1/notes", {"body": "  "})
    assert r.status_code == 422
    assert problem_fields(r) == {"body": "required", "contact_id": "link-required"}
    assert not Note.objects.exists()


def test_note_body_has_a_length_cap(api, contact):
    r = api.post("/api/v1/notes", {"body": "x" * 100_001, "contact_id": contact.id})
    assert problem_fields(r) == {"body": "too-long"}


def test_a_malformed_body_is_a_problem_naming_the_field(api, contact):
    r = api.post("/api/v1/notes", {"body": "ok", "contact_id": "abc"})
    assert r.status_code == 422
    assert "contact_id" in problem_fields(r)
