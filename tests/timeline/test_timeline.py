"""A customer's timeline: one list of interactions, tasks, notes and the record's own events."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from vinculo.core.models import Event
from vinculo.timeline import services
from vinculo.timeline.models import Interaction, Note, Task, TaskStatus

from .conftest import BASE_TIME, problem_fields

KIND_ORDER = {"event": 0, "interaction": 1, "note": 2, "task": 3}


def seed_timeline(workspace, admin, contact, total: int) -> list[tuple[str, int, dt.datetime]]:
    """`total` entries of the four kinds on `contact`, with timestamps shared in threes so ties
    across kinds and within a kind are common. Returns (kind, id, timestamp) of each."""
    channels = ["email", "phone", "meeting", "chat"]
    rows: dict[str, list[Any]] = {"interaction": [], "task": [], "note": [], "event": []}
    stamps: dict[str, list[dt.datetime]] = {k: [] for k in rows}
    kinds = ["interaction", "task", "note", "event"]
    for i in range(total):
        kind = kinds[(i * 7 + i // 4) % 4]
        at = BASE_TIME + dt.timedelta(minutes=i // 3)
        stamps[kind].append(at)
        common = {"workspace": workspace, "contact": contact}
        if kind == "interaction":
            rows[kind].append(
                Interaction(**common, channel=channels[i % 4], occurred_at=at, author=admin)
            )
        elif kind == "task":
            done = i % 5 == 0
            rows[kind].append(
                Task(
                    **common,
                    title=f"task {i}",
                    # A done task sits at its completion time, not its creation time.
                    created_at=at - dt.timedelta(days=30) if done else at,
                    completed_at=at if done else None,
                    status=TaskStatus.DONE if done else TaskStatus.OPEN,
                    created_by=admin,
                )
            )
        elif kind == "note":
            rows[kind].append(Note(**common, body=f"note {i}", created_at=at, author=admin))
        else:
            rows[kind].append(
                Event(
                    workspace=workspace,
                    type="contact.updated",
                    subject_type="contact",
                    subject_id=contact.id,
                    occurred_at=at,
                    actor=admin,
                    payload={"n": i},
                )
            )
    entries = []
    for kind, model in (
        ("interaction", Interaction),
        ("task", Task),
        ("note", Note),
        ("event", Event),
    ):
        created = model.all_tenants.bulk_create(rows[kind])
        if created and created[0].pk is None:  # backends that do not return ids
            created = list(model.all_tenants.filter(workspace=workspace).order_by("id"))
        entries += [(kind, obj.pk, at) for obj, at in zip(created, stamps[kind], strict=True)]
    return entries


def expected_order(entries):
    return [
        (kind, pk)
        for kind, pk, _ in sorted(entries, key=lambda e: (-e[2].timestamp(), e[0], -e[1]))
    ]


def read_all(api, path: str, **params) -> tuple[list[tuple[str, int]], list[int]]:
    seen: list[tuple[str, int]] = []
    sizes: list[int] = []
    cursor = None
    while True:
        query = dict(params, **({"cursor": cursor} if cursor else {}))
        r = api.get(path, **query)
        assert r.status_code == 200, r.content
        body = r.json()
        seen += [(item["kind"], item["id"]) for item in body["items"]]
        sizes.append(len(body["items"]))
        cursor = body["next_cursor"]
        if cursor is None:
            return seen, sizes


def test_pages_cover_every_entry_once_in_order(api, workspace, admin, contact, contact_factory):
    entries = seed_timeline(workspace, admin, contact, 137)
    # Noise that must stay off this contact's timeline.
    other = contact_factory()
    services.interaction_create(
        workspace=workspace, actor=admin, channel="sms", contact_id=other.id
    )
    gone = services.interaction_create(
        workspace=workspace, actor=admin, channel="sms", contact_id=contact.id
    )
    services.interaction_delete(workspace=workspace, actor=admin, interaction_id=gone.id)

    seen, sizes = read_all(api, f"/api/v1/contacts/{contact.id}/timeline", limit=50)

    assert sizes == [50, 50, 37]
    assert len(set(seen)) == 137
    assert seen == expected_order(entries)


def test_items_carry_their_kind_time_and_fields(api, workspace, admin, contact):
    call = services.interaction_create(
        workspace=workspace,
        actor=admin,
        channel="phone",
        contact_id=contact.id,
        occurred_at=BASE_TIME,
        subject="Intro call",
    )
    task = services.task_create(
        workspace=workspace, actor=admin, title="Send deck", contact_id=contact.id
    )
    services.task_complete(workspace=workspace, actor=admin, task_id=task.id)
    note = services.note_create(
        workspace=workspace, actor=admin, body="Likes data", contact_id=contact.id
    )
    audit = Event.objects.create(
        workspace=workspace,
        type="contact.updated",
        subject_type="contact",
        subject_id=contact.id,
        actor=admin,
        occurred_at=BASE_TIME - dt.timedelta(days=1),
        payload={"changes": {"job_title": ["", "CTO"]}},
    )

    items = api.get(f"/api/v1/contacts/{contact.id}/timeline").json()["items"]

    by_kind = {item["kind"]: item for item in items}
    # The interaction, task and note events are not repeated as entries of their own.
    assert sorted(i["kind"] for i in items) == ["event", "interaction", "note", "task"]
    assert by_kind["interaction"]["id"] == call.id
    assert by_kind["interaction"]["subject"] == "Intro call"
    assert by_kind["interaction"]["channel"] == "phone"
    assert by_kind["task"]["title"] == "Send deck"
    assert by_kind["task"]["status"] == "done"
    task.refresh_from_db()
    # JSON carries milliseconds.
    shown = dt.datetime.fromisoformat(by_kind["task"]["occurred_at"])
    assert task.completed_at is not None
    assert abs(shown - task.completed_at) < dt.timedelta(milliseconds=1)
    assert by_kind["note"]["id"] == note.id
    assert by_kind["note"]["body"] == "Likes data"
    assert by_kind["event"]["id"] == audit.id
    assert by_kind["event"]["type"] == "contact.updated"
    assert by_kind["event"]["payload"] == {"changes": {"job_title": ["", "CTO"]}}
    assert by_kind["event"]["actor"]["email"] == admin.email
    # Newest first: the note (written after the task was completed), the task at its
    # completion, then the call and the audit event in the past.
    assert [i["kind"] for i in items] == ["note", "task", "interaction", "event"]


def test_account_timeline_includes_its_contacts(api, workspace, admin, account, contact_factory):
    member = contact_factory(account=account)
    outsider = contact_factory()
    on_account = services.interaction_create(
        workspace=workspace, actor=admin, channel="meeting", account_id=account.id
    )
    on_member = services.interaction_create(
        workspace=workspace, actor=admin, channel="email", contact_id=member.id
    )
    member_note = services.note_create(
        workspace=workspace, actor=admin, body="x", contact_id=member.id
    )
    services.interaction_create(
        workspace=workspace, actor=admin, channel="email", contact_id=outsider.id
    )
    member_event = Event.objects.create(
        workspace=workspace, type="contact.updated", subject_type="contact", subject_id=member.id
    )
    account_event = Event.objects.create(
        workspace=workspace, type="account.updated", subject_type="account", subject_id=account.id
    )
    Event.objects.create(
        workspace=workspace, type="contact.updated", subject_type="contact", subject_id=outsider.id
    )

    seen, _ = read_all(api, f"/api/v1/accounts/{account.id}/timeline")

    assert set(seen) == {
        ("interaction", on_account.id),
        ("interaction", on_member.id),
        ("note", member_note.id),
        ("event", member_event.id),
        ("event", account_event.id),
    }


def test_channel_filter_keeps_only_those_interactions(api, workspace, admin, contact):
    email = services.interaction_create(
        workspace=workspace, actor=admin, channel="email", contact_id=contact.id
    )
    chat = services.interaction_create(
        workspace=workspace, actor=admin, channel="chat", contact_id=contact.id
    )
    services.interaction_create(
        workspace=workspace, actor=admin, channel="phone", contact_id=contact.id
    )
    services.note_create(workspace=workspace, actor=admin, body="x", contact_id=contact.id)

    seen, _ = read_all(api, f"/api/v1/contacts/{contact.id}/timeline", channel="email")
    assert seen == [("interaction", email.id)]
    seen, _ = read_all(api, f"/api/v1/contacts/{contact.id}/timeline", channel=["email", "chat"])
    assert set(seen) == {("interaction", email.id), ("interaction", chat.id)}


def test_kinds_filter(api, workspace, admin, contact):
    services.interaction_create(
        workspace=workspace, actor=admin, channel="email", contact_id=contact.id
    )
    note = services.note_create(workspace=workspace, actor=admin, body="x", contact_id=contact.id)
    task = services.task_create(workspace=workspace, actor=admin, title="y", contact_id=contact.id)

    seen, _ = read_all(api, f"/api/v1/contacts/{contact.id}/timeline", kinds="note,task")
    assert set(seen) == {("note", note.id), ("task", task.id)}


def test_kinds_filter_pages_without_gaps(api, workspace, admin, contact):
    entries = seed_timeline(workspace, admin, contact, 61)
    wanted = [e for e in entries if e[0] in {"event", "task"}]
    seen, _ = read_all(
        api, f"/api/v1/contacts/{contact.id}/timeline", kinds=["event", "task"], limit=7
    )
    assert seen == expected_order(wanted)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"kinds": "interaction,meetings"}, "kinds"),
        ({"channel": "carrier-pigeon"}, "channel"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        # Well-formed base64 JSON of the wrong shape.
        ({"cursor": "WyJ4IiwieSIsInoiXQ"}, "cursor"),
        ({"limit": 0}, "limit"),
        ({"limit": 500}, "limit"),
    ],
)
def test_bad_parameters_are_named(api, contact, params, field):
    r = api.get(f"/api/v1/contacts/{contact.id}/timeline", **params)
    assert r.status_code == 422, r.content
    assert field in problem_fields(r)


def test_a_viewer_who_cannot_see_the_contact_gets_404(
    api, workspace, make_member, contact_factory, admin
):
    from vinculo.core.models import Team, TeamMember
    from vinculo.core.services import apikey_create

    rep = make_member("rep@acme.test")
    team = Team.objects.for_workspace(workspace).create(workspace=workspace, name="North")
    TeamMember.objects.for_workspace(workspace).create(workspace=workspace, team=team, user=rep)
    admins_contact = contact_factory(owner=admin)
    reps_contact = contact_factory(owner=rep)
    rep_key = apikey_create(workspace=workspace, user=rep)[1]

    assert api.get(f"/api/v1/contacts/{admins_contact.id}/timeline", key=rep_key).status_code == 404
    assert api.get(f"/api/v1/contacts/{reps_contact.id}/timeline", key=rep_key).status_code == 200
    # Nor can the rep log on the contact they cannot see: the id is "not found" for them.
    r = api.post(
        "/api/v1/interactions", {"channel": "email", "contact_id": admins_contact.id}, key=rep_key
    )
    assert problem_fields(r) == {"contact_id": "not-found"}


def test_openapi_describes_items_as_a_union_discriminated_by_kind():
    from vinculo.api import api as ninja_api

    schema = ninja_api.get_openapi_schema()
    items = schema["components"]["schemas"]["TimelinePageOut"]["properties"]["items"]["items"]
    assert items["discriminator"]["propertyName"] == "kind"
    assert set(items["discriminator"]["mapping"]) == {"event", "interaction", "note", "task"}
    for name in ("TimelineEvent", "TimelineInteraction", "TimelineNote", "TimelineTask"):
        assert {"kind", "id", "occurred_at"} <= set(
            schema["components"]["schemas"][name]["required"]
        )
