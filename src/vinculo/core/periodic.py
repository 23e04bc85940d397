"""Periodic jobs run by the workers' housekeeping thread (django.tasks has no scheduler).

A job runs at most once per period across every worker: a worker claims a run with a
conditional UPDATE on `PeriodicRun.last_run_at`, which only one of them can win. Jobs must be
idempotent, as tasks are, because a run interrupted by a crash is simply run again next period.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError
from django.db.models import Q
from django.utils import timezone

from vinculo.core.models import PeriodicRun

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    every: timedelta
    func: Callable[[], object]


_jobs: dict[str, PeriodicJob] = {}


def periodic(
    name: str, *, every: timedelta
) -> Callable[[Callable[[], object]], Callable[[], object]]:
    """Register `func` to run every `every`. Modules named `periodic.py` (or `subscribers.py`)
    in each app are imported at start, so registering there is enough."""

    def register(func: Callable[[], object]) -> Callable[[], object]:
        _jobs[name] = PeriodicJob(name, every, func)
        return func

    return register


def registered_jobs() -> list[PeriodicJob]:
    return list(_jobs.values())


def claim(job: PeriodicJob) -> bool:
    now = timezone.now()
    PeriodicRun.objects.get_or_create(name=job.name)
    due = Q(last_run_at__isnull=True) | Q(last_run_at__lte=now - job.every)
    return PeriodicRun.objects.filter(due, name=job.name).update(last_run_at=now) == 1


def run_due_jobs() -> list[str]:
    """Run every job whose period has passed; returns the names of the jobs run."""
    ran = []
    for job in registered_jobs():
        try:
            if not claim(job):
                continue
        except IntegrityError:
            continue
        try:
            job.func()
            ran.append(job.name)
        except Exception:
            logger.exception("periodic job %s failed", job.name)
    return ran


@periodic("core.database_optimize", every=timedelta(hours=6))
def database_optimize() -> None:
    """SQLite's query planner works from statistics that only ANALYZE gathers; `PRAGMA
    optimize` refreshes those that changed enough, so list pages keep their indexes as tables
    grow and change shape. PostgreSQL's autovacuum does this on its own."""
    from django.db import connection

    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA optimize")
