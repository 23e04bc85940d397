"""Background work of imports."""

from __future__ import annotations

from django.tasks import task

from vinculo.contacts.imports import services


@task()
def import_run_task(job_id: int) -> None:
    """Write a queued import; safe to run twice (a job another worker holds is left alone)."""
    services.import_run(job_id=job_id)
