"""Fixed-window rate limits in the database: exact counts, windows that start over, keys that
do not share a count, bursts from parallel connections that never let more through than the
limit, and the purge of old windows."""

from __future__ import annotations

import datetime as dt
import threading
from datetime import timedelta

import pytest
from django.db import connection, connections

from vinculo.core.models import RateCounter
from vinculo.core.periodic import registered_jobs
from vinculo.core.ratelimit import rate_limit_hit, rate_limit_purge, window_start

T0 = dt.datetime(2026, 3, 6, 14, 30, 10, tzinfo=dt.UTC)


def test_window_start_is_aligned_to_the_clock():
    assert window_start(T0, timedelta(minutes=1)) == dt.datetime(2026, 3, 6, 14, 30, tzinfo=dt.UTC)
    assert window_start(T0, timedelta(minutes=15)) == dt.datetime(2026, 3, 6, 14, 30, tzinfo=dt.UTC)
    assert window_start(T0, timedelta(seconds=7)).second % 1 == 0


def test_hits_within_the_limit_pass_and_the_rest_are_refused(db):
    decisions = [rate_limit_hit("form:1:10.0.0.1", limit=3, now=T0) for _ in range(5)]
    assert [d.allowed for d in decisions] == [True, True, True, False, False]
    assert [d.hits for d in decisions] == [1, 2, 3, 4, 5]
    # 14:30:10 in a window that ends at 14:31:00.
    assert decisions[-1].retry_after == 50
    assert RateCounter.objects.get(key="form:1:10.0.0.1").hits == 5


def test_the_next_window_starts_over(db):
    for _ in range(4):
        rate_limit_hit("k", limit=3, now=T0)
    assert not rate_limit_hit("k", limit=3, now=T0 + timedelta(seconds=49)).allowed
    later = rate_limit_hit("k", limit=3, now=T0 + timedelta(seconds=50))
    assert later.allowed and later.hits == 1
    assert RateCounter.objects.filter(key="k").count() == 1


def test_keys_are_counted_apart(db):
    for _ in range(3):
        rate_limit_hit("form:1:10.0.0.1", limit=3, now=T0)
    assert not rate_limit_hit("form:1:10.0.0.1", limit=3, now=T0).allowed
    assert rate_limit_hit("form:1:10.0.0.2", limit=3, now=T0).allowed
    assert rate_limit_hit("form:2:10.0.0.1", limit=3, now=T0).allowed


def test_bad_arguments_are_refused(db):
    with pytest.raises(ValueError, match="limit"):
        rate_limit_hit("k", limit=0)
    with pytest.raises(ValueError, match="window"):
        rate_limit_hit("k", limit=1, window=timedelta(hours=2))
    with pytest.raises(ValueError, match="characters"):
        rate_limit_hit("k" * 201, limit=1)


@pytest.mark.django_db(transaction=True)
def test_a_parallel_burst_lets_exactly_the_limit_through():
    """Eight connections posting 100 hits at once: the upsert is atomic, so exactly ten pass."""
    results: list[bool] = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            mine = [rate_limit_hit("burst", limit=10, now=T0).allowed for _ in range(13)]
            with lock:
                results.extend(mine)
        except BaseException as exc:  # reported below, a thread's exception is otherwise lost
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert len(results) == 104
    assert results.count(True) == 10
    assert RateCounter.objects.get(key="burst").hits == 104


def test_purge_removes_only_windows_long_gone(db):
    rate_limit_hit("old", limit=5, now=T0 - timedelta(hours=2))
    rate_limit_hit("recent", limit=5, now=T0 - timedelta(minutes=5))
    assert rate_limit_purge(now=T0) == 1
    assert set(RateCounter.objects.values_list("key", flat=True)) == {"recent"}


def test_the_purge_runs_periodically():
    assert "core.ratelimit_purge" in {job.name for job in registered_jobs()}


def test_the_upsert_is_one_statement(db, django_assert_num_queries):
    with django_assert_num_queries(1):
        rate_limit_hit("one", limit=5)
    assert connection.vendor in {"sqlite", "postgresql"}
