"""Periodic jobs of dedupe (registered by importing this module; contacts' AppConfig does)."""

from __future__ import annotations

from datetime import timedelta

from vinculo.contacts.dedupe.services import duplicate_scans_resume
from vinculo.core.periodic import periodic


@periodic("contacts.dedupe_resume_scans", every=timedelta(minutes=1))
def resume_scans() -> None:
    """A scan whose worker died, or whose task was lost, is enqueued again."""
    duplicate_scans_resume()
