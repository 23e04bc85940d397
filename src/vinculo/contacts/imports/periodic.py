"""Periodic jobs of imports. Registered from `contacts.apps` (periodic modules are discovered
at the top of each app only)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings

from vinculo.contacts.imports.services import imports_resume_stalled
from vinculo.core.periodic import periodic


@periodic(
    "imports.resume_stalled",
    every=timedelta(seconds=int(getattr(settings, "VINCULO_IMPORT_RESUME_EVERY_SECONDS", 60))),
)
def resume_stalled_imports() -> None:
    """Imports whose worker died (no heartbeat for two minutes) go back to the queue and
    resume from their cursor."""
    imports_resume_stalled()
