"""Steps of the worker-kill test that run in their own process against a real database."""

from __future__ import annotations

import json
import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vinculo.settings")

import django

django.setup()

from django.db import transaction  # noqa: E402

from vinculo.core.events import record_event  # noqa: E402
from vinculo.core.models import Event, EventDelivery, Workspace  # noqa: E402
from vinculo.core.services import workspace_create  # noqa: E402


def create_events(count: int) -> None:
    workspace = workspace_create(name="Kill test", slug="kill", admin_email="kill@test.invalid")
    for i in range(count):
        # One transaction per event, as services do: each enqueues its own dispatch task.
        with transaction.atomic():
            record_event(
                workspace=workspace,
                actor=None,
                type="contact.updated",
                subject=workspace,
                payload={"n": i},
            )


def report() -> None:
    workspace = Workspace.objects.get(slug="kill")
    events = Event.objects.for_workspace(workspace).filter(type="contact.updated")
    deliveries = EventDelivery.objects.for_workspace(workspace).filter(
        subscriber__startswith="test."
    )
    markers = Event.objects.for_workspace(workspace).filter(type="test.seen")
    print(
        json.dumps(
            {
                "events": events.count(),
                "event_ids": sorted(events.values_list("id", flat=True)),
                "dispatched": events.filter(dispatched_at__isnull=False).count(),
                "deliveries": sorted(deliveries.values_list("event_id", "subscriber")),
                "markers": sorted((m.subject_id, m.payload["subscriber"]) for m in markers),
            }
        )
    )


if __name__ == "__main__":
    if sys.argv[1] == "create":
        create_events(int(sys.argv[2]))
    else:
        report()
