"""What the tests that run real worker processes share: a database of their own that the
child processes can open, and the environment those processes start with."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


@contextmanager
def own_database(tmp_path: Path, prefix: str) -> Iterator[str]:
    """A DATABASE_URL for the child processes: a file in `tmp_path` on SQLite runs, a new
    PostgreSQL database (dropped afterwards) on PostgreSQL runs."""
    if os.environ.get("VINCULO_TEST_DB") != "postgres":
        yield f"sqlite:///{tmp_path / f'{prefix}.sqlite3'}"
        return
    import psycopg

    name = f"vinculo_{prefix}_{secrets.token_hex(4)}"
    with psycopg.connect(SERVER, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgres://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(SERVER, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def worker_env(
    tmp_path: Path, database_url: str, *, settings: str = "vinculo.settings", **extra: str
) -> dict[str, str]:
    """This process's environment without the test suite's own database settings, pointed
    at `database_url` and `tmp_path`, without Redis (the embedded database queue)."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("VINCULO_TEST", "DJANGO_SETTINGS"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE=settings,
        VINCULO_DATA_DIR=str(tmp_path),
        DATABASE_URL=database_url,
        PYTHONPATH=str(ROOT),
        LOG_LEVEL="ERROR",
        **extra,
    )
    env.pop("REDIS_URL", None)
    return env
