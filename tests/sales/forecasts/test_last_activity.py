"""A deal's `last_activity_at` follows what happens on it: timeline items linked to it, quote
events and changes made by people; deliveries in any order or twice leave the same value."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction

from vinculo.core.events import deliver_event, record_event
from vinculo.core.models import Event
from vinculo.sales.forecasts.services import deal_activity_refresh
from vinculo.sales.models import Deal, Quote
from vinculo.timeline.models import Interaction, Note, Task

from .conftest import at

NOW = at("2025-03-31")


@pytest.fixture
def deal(book) -> Deal:
    return book.deal(1000, name="Big one", updated_at=at("2025-01-01"))


def _item(model, deal, **fields):
    return model.objects.create(workspace=deal.workspace, deal=deal, **fields)


def _event(workspace, type, subject, actor, when=None, **payload) -> Event:
    return Event.objects.create(
        workspace=workspace,
        type=type,
        subject_type=subject._meta.model_name,
        subject_id=subject.pk,
        actor=actor,
        occurred_at=when or NOW,
        payload=payload,
    )


def _refresh(deal, now=NOW) -> dt.datetime | None:
    deal_activity_refresh(workspace=deal.workspace, deal_ids=[deal.pk], now=now)
    deal.refresh_from_db()
    return deal.last_activity_at


def test_the_latest_of_every_kind_of_activity(deal, admin):
    assert _refresh(deal) is None
    _item(Interaction, deal, channel="phone", occurred_at=at("2025-03-02"))
    assert _refresh(deal) == at("2025-03-02")
    _item(Note, deal, body="Asked for a discount", created_at=at("2025-03-05"))
    assert _refresh(deal) == at("2025-03-05")
    done = {"completed_at": at("2025-03-09"), "status": "done"}
    _item(Task, deal, title="Send the contract", created_at=at("2025-03-01"), **done)
    assert _refresh(deal) == at("2025-03-09")
    _event(deal.workspace, "deal.stage_changed", deal, admin, at("2025-03-12"))
    assert _refresh(deal) == at("2025-03-12")
    quote = Quote.objects.create(workspace=deal.workspace, deal=deal)
    _event(deal.workspace, "quote.sent", quote, admin, at("2025-03-20"))
    assert _refresh(deal) == at("2025-03-20")
    # Later edits of `updated_at` are not activity; the value is computed, not bumped.
    assert _refresh(deal) == at("2025-03-20")


def test_what_does_not_count(deal, book):
    # A meeting planned for next month, a deleted call, a change made by an automation, the
    # deletion event and another deal's note.
    _item(Interaction, deal, channel="meeting", occurred_at=at("2025-04-10"))
    gone = {"occurred_at": at("2025-03-25"), "deleted_at": at("2025-03-26")}
    _item(Interaction, deal, channel="phone", **gone)
    _event(deal.workspace, "deal.updated", deal, None, at("2025-03-28"))
    other = book.deal(1)
    _item(Note, other, body="elsewhere", created_at=at("2025-03-29"))
    assert _refresh(deal) is None
    # Once the meeting's day has come, it counts.
    assert _refresh(deal, now=at("2025-04-11")) == at("2025-04-10")


def test_the_subscriber_refreshes_the_deal_of_each_event(
    workspace, admin, deal, django_capture_on_commit_callbacks
):
    note = _item(Note, deal, body="Call back on Friday", created_at=at("2025-03-07"))
    call = _item(Interaction, deal, channel="phone", occurred_at=at("2025-03-03"))
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        record_event(
            workspace=workspace,
            actor=admin,
            type="note.added",
            subject=note,
            payload={"deal_id": deal.pk},
        )
    deal.refresh_from_db()
    assert deal.last_activity_at == at("2025-03-07")
    # An older call logged later leaves the latest activity as it was, whatever other
    # subscribers of the same event write first.
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        record_event(
            workspace=workspace,
            actor=admin,
            type="interaction.logged",
            subject=call,
            payload={"deal_id": deal.pk, "occurred_at": call.occurred_at.isoformat()},
        )
    deal.refresh_from_db()
    assert deal.last_activity_at == at("2025-03-07")


def test_the_deal_is_found_from_the_item_when_the_payload_lacks_it(workspace, admin, deal):
    task = _item(Task, deal, title="Demo", created_at=at("2025-03-15"))
    event = _event(workspace, "task.created", task, admin)
    deliver_event(event)
    deal.refresh_from_db()
    assert deal.last_activity_at == at("2025-03-15")


def test_a_deal_event_by_a_person_is_activity(workspace, admin, deal):
    event = _event(workspace, "deal.updated", deal, admin, at("2025-03-18"))
    deliver_event(event)
    deal.refresh_from_db()
    assert deal.last_activity_at == at("2025-03-18")
    # Delivered twice: the same value, and `updated_at` untouched.
    event.dispatched_at = None
    deliver_event(event)
    deal.refresh_from_db()
    assert (deal.last_activity_at, deal.updated_at) == (at("2025-03-18"), at("2025-01-01"))


def test_moving_an_item_to_another_deal_refreshes_both(workspace, admin, book, deal):
    other = book.deal(1, name="Other")
    note = _item(Note, other, body="moved", created_at=at("2025-03-10"))
    Deal.objects.filter(pk=deal.pk).update(last_activity_at=at("2025-03-10"))
    changes = {"deal_id": [deal.pk, other.pk]}
    event = _event(workspace, "note.updated", note, admin, deal_id=other.pk, changes=changes)
    deliver_event(event)
    deal.refresh_from_db()
    other.refresh_from_db()
    assert (deal.last_activity_at, other.last_activity_at) == (None, at("2025-03-10"))
