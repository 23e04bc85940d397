"""Background tasks of the core: event dispatch and the pending-event sweep."""

from __future__ import annotations

from django.tasks import task

from vinculo.core import events


@task()
def dispatch_events(event_ids: list[int]) -> int:
    return events.dispatch_events(event_ids)


@task()
def dispatch_event_range(first_id: int, last_id: int) -> int:
    return events.dispatch_event_range(first_id, last_id)


@task()
def dispatch_pending_events() -> int:
    return events.dispatch_pending_events()
