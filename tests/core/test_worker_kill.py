"""A worker killed in the middle of dispatch, then restarted, delivers every event to every
subscriber exactly once. Runs real worker processes against a real database file (or a
PostgreSQL database of its own when the suite runs on PostgreSQL)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.worker_process import ROOT, own_database, worker_env

EVENTS = 40
SUBSCRIBERS = ("test.fast", "test.slow")


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    with own_database(tmp_path, "kill") as url:
        yield url


def _env(tmp_path: Path, database_url: str) -> dict[str, str]:
    return worker_env(
        tmp_path,
        database_url,
        VINCULO_EXTRA_SUBSCRIBER_MODULES="tests.support.kill_subscribers",
        VINCULO_TEST_SUBSCRIBER_DELAY="0.1",
    )


def _run(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def _report(env: dict[str, str]) -> dict:
    return json.loads(
        _run(env, "tests/support/kill_scenario.py", "report").strip().splitlines()[-1]
    )


def _start_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "vinculo.cli", "worker"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _deliveries_so_far(database_url: str) -> int:
    """Counted straight from the database: polling through a Django process is too slow to
    catch the worker mid-way on a busy machine."""
    sql = "SELECT count(*) FROM core_eventdelivery WHERE subscriber LIKE 'test.%'"
    if database_url.startswith("sqlite:///"):
        import sqlite3

        with sqlite3.connect(database_url.removeprefix("sqlite:///"), timeout=10) as conn:
            return int(conn.execute(sql).fetchone()[0])
    import psycopg

    with psycopg.connect(database_url.replace("postgres://", "postgresql://", 1)) as conn:
        row = conn.execute(sql).fetchone()
        return int(row[0]) if row else 0


def _wait(predicate, env: dict[str, str], timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        state = _report(env)
        if predicate(state) or time.monotonic() > deadline:
            return state
        time.sleep(0.3)


@pytest.mark.slow
def test_killed_worker_restarts_and_delivers_each_event_exactly_once(
    tmp_path: Path, database_url: str
) -> None:
    env = _env(tmp_path, database_url)
    _run(env, "-m", "vinculo.cli", "migrate", "-v", "0")
    _run(env, "tests/support/kill_scenario.py", "create", str(EVENTS))
    assert _report(env)["dispatched"] == 0

    worker = _start_worker(env)
    try:
        deadline = time.monotonic() + 60
        while _deliveries_so_far(database_url) < 8 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    assert _deliveries_so_far(database_url) >= 8, "the worker never started delivering"
    killed_at = _report(env)
    assert killed_at["dispatched"] < EVENTS, "the worker finished before it could be killed"

    worker = _start_worker(env)
    try:
        final = _wait(lambda s: s["dispatched"] == EVENTS, env, timeout=90)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(20)

    assert final["dispatched"] == EVENTS
    assert len(final["event_ids"]) == EVENTS
    expected = sorted((event_id, name) for event_id in final["event_ids"] for name in SUBSCRIBERS)
    deliveries = [tuple(d) for d in final["deliveries"]]
    markers = [tuple(m) for m in final["markers"]]
    assert len(set(deliveries)) == EVENTS * len(SUBSCRIBERS)
    assert sorted(deliveries) == expected
    # The handlers' own writes: exactly one per event and subscriber, none lost, none doubled.
    assert Counter(markers) == Counter(expected)
