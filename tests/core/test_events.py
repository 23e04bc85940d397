"""The outbox and the dispatcher, in process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import transaction

from vinculo.core.events import (
    deliver_event,
    dispatch_event_range,
    dispatch_pending_events,
    record_event,
    subscriber,
    unregister_subscriber,
)
from vinculo.core.models import Event, EventDelivery


class Recorder(list[tuple[str, int]]):
    """What the test subscribers saw, as (subscriber, event id); `fail` breaks the flaky one."""

    fail = True


@pytest.fixture
def calls() -> Iterator[Recorder]:
    seen = Recorder()

    @subscriber("test.all")
    def on_all(event: Event) -> None:
        seen.append(("test.all", event.pk))

    @subscriber("test.contacts", types=["contact."])
    def on_contacts(event: Event) -> None:
        seen.append(("test.contacts", event.pk))

    @subscriber("test.flaky", types=["contact.updated"])
    def on_flaky(event: Event) -> None:
        if seen.fail:
            raise RuntimeError("downstream unavailable")
        seen.append(("test.flaky", event.pk))

    yield seen
    for name in ("test.all", "test.contacts", "test.flaky"):
        unregister_subscriber(name)


def test_event_is_written_in_the_callers_transaction(workspace, admin):
    with pytest.raises(RuntimeError), transaction.atomic():
        record_event(workspace=workspace, actor=admin, type="contact.created", subject=admin)
        raise RuntimeError("the service failed after writing")
    assert not Event.objects.filter(type="contact.created").exists()


def test_events_are_delivered_after_commit_to_matching_subscribers(
    workspace, admin, calls, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        created = record_event(
            workspace=workspace, actor=admin, type="contact.created", subject=admin
        )
        tagged = record_event(workspace=workspace, actor=admin, type="tag.created", subject=admin)
    assert ("test.all", created.pk) in calls and ("test.contacts", created.pk) in calls
    assert ("test.all", tagged.pk) in calls and ("test.contacts", tagged.pk) not in calls
    created.refresh_from_db()
    assert created.dispatched_at is not None
    assert created.actor == admin and created.subject_type == "user"


def test_failing_subscriber_is_retried_by_the_sweep_without_repeating_the_others(
    workspace, admin, calls, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        event = record_event(
            workspace=workspace, actor=admin, type="contact.updated", subject=admin
        )
    event.refresh_from_db()
    assert event.dispatched_at is None, "an event with a failed subscriber stays pending"
    # Only this test's subscribers count: the apps register their own for contact events.
    mine = EventDelivery.objects.filter(event=event, subscriber__startswith="test.")
    assert sorted(mine.values_list("subscriber", flat=True)) == [
        "test.all",
        "test.contacts",
    ]

    calls.fail = False
    assert dispatch_pending_events() >= 1
    event.refresh_from_db()
    assert event.dispatched_at is not None
    assert sorted(name for name, pk in calls if pk == event.pk) == [
        "test.all",
        "test.contacts",
        "test.flaky",
    ]


def test_delivering_an_event_again_changes_nothing(
    workspace, admin, calls, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        event = record_event(
            workspace=workspace, actor=admin, type="contact.created", subject=admin
        )
    before = list(calls)
    assert deliver_event(Event.objects.get(pk=event.pk)) == 0
    assert calls == before
    assert EventDelivery.objects.filter(event=event, subscriber="test.all").count() == 1


def test_a_range_of_events_is_delivered_page_by_page_once_each(workspace, admin, calls):
    events = [
        record_event(workspace=workspace, actor=admin, type="contact.created", subject=admin)
        for _ in range(5)
    ]
    ids = [e.pk for e in events]
    # The first event was already delivered; the last one lies outside the range.
    deliver_event(events[0])
    assert dispatch_event_range(ids[0], ids[3], batch=2) >= 3
    delivered = [pk for name, pk in calls if name == "test.all"]
    assert delivered == ids[:4]
    assert not Event.objects.filter(pk__in=ids[:4], dispatched_at__isnull=True).exists()
    assert Event.objects.get(pk=ids[4]).dispatched_at is None
