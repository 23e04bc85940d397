"""Background tasks of dedupe."""

from __future__ import annotations

from django.tasks import task

from vinculo.contacts.dedupe import services


@task()
def scan_run_task(scan_id: int) -> int:
    """Run a duplicate scan; returns the number of pairs open for review after it. Safe to
    run twice: a scan that is done, or held by a live worker, is left alone."""
    return services.duplicate_scan_run(scan_id=scan_id).pairs_found
