from datetime import timedelta

import pytest
from django.db import connection

from vinculo.core.models import PeriodicRun
from vinculo.core.periodic import PeriodicJob, _jobs, claim, periodic, run_due_jobs


@pytest.fixture
def job_calls():
    calls: list[str] = []

    @periodic("test.hourly", every=timedelta(hours=1))
    def hourly() -> None:
        calls.append("hourly")

    yield calls
    _jobs.pop("test.hourly", None)


def test_a_job_runs_once_per_period(db, job_calls):
    assert "test.hourly" in run_due_jobs()
    assert "test.hourly" not in run_due_jobs()
    assert job_calls == ["hourly"]
    PeriodicRun.objects.filter(name="test.hourly").update(
        last_run_at=PeriodicRun.objects.get(name="test.hourly").last_run_at - timedelta(hours=2)
    )
    run_due_jobs()
    assert job_calls == ["hourly", "hourly"]


def test_only_one_of_two_workers_claims_a_run(db):
    job = PeriodicJob("test.claim", timedelta(minutes=5), lambda: None)
    assert claim(job) is True
    assert claim(job) is False, "a second worker in the same period must not run it again"


def test_a_failing_job_does_not_stop_the_others(db, job_calls):
    @periodic("test.broken", every=timedelta(minutes=1))
    def broken() -> None:
        raise RuntimeError("boom")

    try:
        ran = run_due_jobs()
    finally:
        _jobs.pop("test.broken", None)
    assert "test.hourly" in ran and "test.broken" not in ran


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's planner statistics")
def test_database_optimize_gathers_planner_statistics(db, workspace, admin):
    from vinculo.core.periodic import database_optimize, registered_jobs

    assert "core.database_optimize" in {job.name for job in registered_jobs()}
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS sqlite_stat1")
        database_optimize()
        # ANALYZE ran for tables with an index it had no statistics for.
        cursor.execute("SELECT count(*) FROM sqlite_stat1")
        assert cursor.fetchone()[0] > 0
