"""Periodic jobs of automation (imported at start by `core.apps` through autodiscovery)."""

from __future__ import annotations

from datetime import timedelta

from vinculo.automation.engine import resume_due_waits, run_scheduled_rules
from vinculo.core.periodic import periodic


@periodic("automation.resume_waits", every=timedelta(minutes=1))
def resume_waits() -> int:
    """Carry on with rules whose `wait` is over."""
    return resume_due_waits()


@periodic("automation.scheduled_rules", every=timedelta(minutes=5))
def scheduled_rules() -> int:
    """Run hourly and daily rules over their records, once per hour or day."""
    return run_scheduled_rules()
