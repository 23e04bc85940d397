"""Subscribers for the worker-kill test, loaded in the worker process through
VINCULO_EXTRA_SUBSCRIBER_MODULES. Each handler writes a marker event in the delivery's
transaction, so a duplicate delivery would leave two markers."""

from __future__ import annotations

import os
import time

from vinculo.core.events import subscriber
from vinculo.core.models import Event

DELAY = float(os.environ.get("VINCULO_TEST_SUBSCRIBER_DELAY", "0.05"))


def _mark(event: Event, name: str) -> None:
    Event.all_tenants.create(
        workspace_id=event.workspace_id,
        type="test.seen",
        subject_type="event",
        subject_id=event.pk,
        payload={"subscriber": name},
        dispatched_at=event.occurred_at,
    )


@subscriber("test.slow", types=["contact."])
def slow(event: Event) -> None:
    _mark(event, "test.slow")
    time.sleep(DELAY)


@subscriber("test.fast", types=["contact."])
def fast(event: Event) -> None:
    _mark(event, "test.fast")
