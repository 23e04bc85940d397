"""Helpers shared by the benchmarks: the output format and throw-away PostgreSQL databases."""

from __future__ import annotations

import os
import secrets
import statistics
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

POSTGRES_ADMIN_URL = os.environ.get(
    "VINCULO_BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres"
)


def report(name: str, value: float, unit: str, budget: float | str = "-") -> None:
    """One result line: `name value unit budget` (budget "-" when the issue sets none)."""
    shown = f"{value:.3f}" if value < 10 else f"{value:.1f}"
    print(f"{name} {shown} {unit} {budget}", flush=True)


def note(text: str) -> None:
    """Context that is not a measurement (machine load, data sizes), as a comment line."""
    print(f"# {text}", flush=True)


def machine_context() -> str:
    load = os.getloadavg()
    return (
        f"{os.cpu_count()} cores, load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} "
        "(other processes on the machine slow every figure)"
    )


def processor_speed() -> str:
    """How fast this machine runs plain Python, read with a fixed loop (best of three): the
    figures of two machines compare only together with this line. Machines of the same kind
    have been seen to differ by a factor of two."""
    import time

    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        total = 0
        for i in range(2_000_000):
            total += i
        best = min(best, time.perf_counter() - started)
    return f"processor speed: {best / 2_000_000 * 1e9:.0f} ns per step of a plain Python loop"


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


@contextmanager
def scratch_postgres(keep: bool = False) -> Iterator[str]:
    """A new, empty PostgreSQL database; its URL. Dropped afterwards unless `keep`."""
    import psycopg

    name = f"vinculo_bench_{secrets.token_hex(4)}"
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{base}/{name}"
    finally:
        if not keep:
            with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run_cli(
    args: Sequence[str], env: dict[str, str], *, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run the `vinculo` command of this virtualenv."""
    vinculo = Path(sys.executable).with_name("vinculo")
    return subprocess.run(
        [str(vinculo), *args], env=env, capture_output=True, text=True, check=check
    )
