"""The event spine: `record_event` writes the outbox row in the caller's transaction; after
commit the dispatcher hands each event to every registered subscriber exactly once.

Exactly-once per subscriber: the subscriber's handler runs inside a transaction that also
inserts its `EventDelivery` row (unique per event and subscriber). A worker killed mid-way
rolls back both; a second worker racing on the same event fails the unique insert and skips.
Events whose dispatch task was lost (process killed before or during it) are found by
`dispatch_pending_events`, which every worker runs at start and then periodically.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from vinculo.core.models import Event, EventDelivery
from vinculo.core.tenancy import workspace_scope

if TYPE_CHECKING:
    from vinculo.core.models import User, Workspace

logger = logging.getLogger(__name__)

Handler = Callable[[Event], None]


@dataclass(frozen=True)
class Subscriber:
    name: str
    handler: Handler
    # None: every event type; otherwise only types in this set or with one of these prefixes
    # ending in "." (e.g. "contact.").
    types: frozenset[str] | None = None

    def wants(self, event_type: str) -> bool:
        if self.types is None:
            return True
        return event_type in self.types or any(
            t.endswith(".") and event_type.startswith(t) for t in self.types
        )


_subscribers: dict[str, Subscriber] = {}


def subscriber(name: str, *, types: Iterable[str] | None = None) -> Callable[[Handler], Handler]:
    """Register a handler. The name is stored with each delivery: never rename a subscriber."""

    def register(handler: Handler) -> Handler:
        _subscribers[name] = Subscriber(
            name, handler, frozenset(types) if types is not None else None
        )
        return handler

    return register


def registered_subscribers() -> list[Subscriber]:
    return list(_subscribers.values())


def unregister_subscriber(name: str) -> None:
    _subscribers.pop(name, None)


# The automation rules whose actions are running ({"rules": [ids], "depth": n}); events
# recorded meanwhile carry it in their payload under "automation", so the engine can refuse a
# rule that would trigger itself again (a loop) or a chain that grows too long.
_automation_chain: ContextVar[dict[str, Any] | None] = ContextVar(
    "vinculo_automation_chain", default=None
)


@contextmanager
def automation_chain(*, rules: list[int], depth: int) -> Iterator[None]:
    token = _automation_chain.set({"rules": list(rules), "depth": depth})
    try:
        yield
    finally:
        _automation_chain.reset(token)


def subject_label(subject: Any) -> str:
    label = getattr(subject, "event_subject_type", None)
    return label or subject._meta.model_name


def record_event(
    *,
    workspace: Workspace,
    actor: User | None,
    type: str,
    subject: Any,
    payload: dict[str, Any] | None = None,
    occurred_at: Any = None,
) -> Event:
    """Write an event in the current transaction and dispatch it after commit."""
    chain = _automation_chain.get()
    if chain is not None:
        payload = {**(payload or {}), "automation": chain}
    event = Event.objects.for_workspace(workspace).create(
        workspace=workspace,
        type=type,
        subject_type=subject_label(subject),
        subject_id=subject.pk,
        actor=actor if actor is not None and actor.pk else None,
        payload=payload or {},
        occurred_at=occurred_at or timezone.now(),
    )
    transaction.on_commit(lambda: _enqueue_dispatch([event.pk]))
    return event


def record_events_bulk(events: list[Event]) -> None:
    """Write many events at once (imports, demo data); one dispatch task for all of them."""
    created = Event.all_tenants.bulk_create(events, batch_size=2000)
    dispatch_after_commit([e.pk for e in created if e.pk is not None])


def dispatch_after_commit(event_ids: list[int]) -> None:
    """Enqueue one dispatch task for events written in the current transaction, once it
    commits (for writers that insert event rows themselves, as large imports do)."""
    if event_ids:
        transaction.on_commit(lambda: _enqueue_dispatch(event_ids))


def dispatch_range_after_commit(first_id: int, last_id: int) -> None:
    """`dispatch_after_commit` for events whose ids are every id from `first_id` to `last_id`
    (a bulk writer's batch): the task carries two numbers instead of a list, which the task
    queue would otherwise serialise and store, 50,000 ids at a time."""
    if first_id <= last_id:
        transaction.on_commit(lambda: _enqueue_dispatch_range(first_id, last_id))


def _enqueue_dispatch(event_ids: list[int]) -> None:
    from vinculo.core.tasks import dispatch_events

    try:
        dispatch_events.enqueue(event_ids=event_ids)
    except Exception:
        # The sweep delivers it later; a failed enqueue must not fail the user's request.
        logger.exception("could not enqueue dispatch of %d event(s)", len(event_ids))


def _enqueue_dispatch_range(first_id: int, last_id: int) -> None:
    from vinculo.core.tasks import dispatch_event_range

    try:
        dispatch_event_range.enqueue(first_id=first_id, last_id=last_id)
    except Exception:
        logger.exception("could not enqueue dispatch of events %d to %d", first_id, last_id)


def deliver_event(event: Event) -> int:
    """Hand one event to every subscriber that has not had it yet. Returns deliveries made."""
    delivered = 0
    failed = False
    done = set(EventDelivery.all_tenants.filter(event=event).values_list("subscriber", flat=True))
    with workspace_scope(event.workspace):
        for sub in registered_subscribers():
            if sub.name in done or not sub.wants(event.type):
                continue
            try:
                with transaction.atomic():
                    EventDelivery.all_tenants.create(
                        workspace_id=event.workspace_id, event=event, subscriber=sub.name
                    )
                    sub.handler(event)
                delivered += 1
            except IntegrityError:
                continue  # another worker delivered it first
            except Exception:
                # The handler failed: its delivery row rolled back with it, so the sweep
                # retries it later. Other subscribers still get the event.
                logger.exception("subscriber %s failed on event %s", sub.name, event.pk)
                failed = True
    if not failed:
        Event.all_tenants.filter(pk=event.pk).update(dispatched_at=timezone.now())
    return delivered


def dispatch_events(event_ids: Iterable[int]) -> int:
    events = Event.all_tenants.filter(pk__in=list(event_ids), dispatched_at__isnull=True)
    return sum(deliver_event(e) for e in events.select_related("workspace").order_by("id"))


def dispatch_event_range(first_id: int, last_id: int, *, batch: int = 500) -> int:
    """`dispatch_events` for the events with ids `first_id` to `last_id`, read in pages so a
    range of any size stays within bounded memory."""
    return _deliver_pages(after=first_id - 1, up_to=last_id, batch=batch)


def dispatch_pending_events(*, batch: int = 500) -> int:
    """Deliver every event not yet fully dispatched (the sweep after a crash or a lost task)."""
    return _deliver_pages(after=0, up_to=None, batch=batch)


def _deliver_pages(*, after: int, up_to: int | None, batch: int) -> int:
    """Deliver the undispatched events with ids above `after` (and up to `up_to`), `batch` at
    a time in id order. Returns deliveries made."""
    total = 0
    while True:
        pending = Event.all_tenants.filter(dispatched_at__isnull=True, id__gt=after)
        if up_to is not None:
            pending = pending.filter(id__lte=up_to)
        events = list(pending.select_related("workspace").order_by("id")[:batch])
        if not events:
            return total
        for event in events:
            total += deliver_event(event)
        after = events[-1].pk
