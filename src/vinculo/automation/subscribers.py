"""Event subscribers of automation (imported by `core.apps` through autodiscovery)."""

from __future__ import annotations

from vinculo.automation.engine import run_rules_for_event
from vinculo.core.events import subscriber
from vinculo.core.models import Event


@subscriber("automation.rules")
def run_rules(event: Event) -> None:
    """Every event may trigger rules; the engine answers with one indexed query when none
    listens to its type."""
    run_rules_for_event(event)
