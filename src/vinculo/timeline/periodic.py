"""Periodic jobs of the timeline (imported at start by `core.apps` through autodiscovery)."""

from __future__ import annotations

from datetime import timedelta

from vinculo.core.periodic import periodic
from vinculo.timeline.services import task_reminders_send


@periodic("timeline.task_reminders", every=timedelta(minutes=1))
def send_task_reminders() -> int:
    """Turn due task reminders into notifications under each person's bell."""
    return task_reminders_send()
