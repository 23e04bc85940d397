"""The `vinculo` command, run as a user would: in its own process, on its own data folder."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("VINCULO", "DJANGO_SETTINGS", "DATABASE_URL"))
    }
    env.update(VINCULO_DATA_DIR=str(tmp_path), PYTHONPATH=str(ROOT), LOG_LEVEL="ERROR", **extra)
    env.pop("REDIS_URL", None)
    return env


def vinculo(
    env: dict[str, str], *args: str, timeout: int = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vinculo.cli", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def migrated(tmp_path: Path) -> dict[str, str]:
    env = _env(tmp_path)
    assert vinculo(env, "migrate", "-v", "0").returncode == 0
    return env


@pytest.mark.slow
def test_workspace_and_apikey_commands(migrated: dict[str, str]) -> None:
    created = vinculo(
        migrated,
        "workspace",
        "create",
        "--name",
        "Acme",
        "--slug",
        "acme",
        "--admin",
        "Boss@Acme.test",
    )
    assert created.returncode == 0, created.stderr
    again = vinculo(
        migrated,
        "workspace",
        "create",
        "--name",
        "Acme",
        "--slug",
        "acme",
        "--admin",
        "x@acme.test",
    )
    assert again.returncode == 2 and "already exists" in again.stderr

    key = vinculo(migrated, "apikey", "create", "--workspace", "acme", "--user", "boss@acme.test")
    assert key.returncode == 0, key.stderr
    lines = key.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("vk_"), (
        "the key is printed alone on standard output"
    )

    unknown = vinculo(
        migrated, "apikey", "create", "--workspace", "nope", "--user", "boss@acme.test"
    )
    assert unknown.returncode == 2 and "no workspace" in unknown.stderr and unknown.stdout == ""


@pytest.mark.slow
@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        (
            {"DEBUG": "true", "ALLOWED_HOSTS": "crm.example.com", "SECRET_KEY": "k" * 50},
            "DEBUG is on",
        ),
        ({"SECRET_KEY": "k" * 50}, "ALLOWED_HOSTS is empty"),
        ({"ALLOWED_HOSTS": "crm.example.com"}, "generated development key"),
    ],
)
def test_production_run_refuses_unsafe_settings(
    tmp_path: Path, extra: dict[str, str], reason: str
) -> None:
    result = vinculo(_env(tmp_path, VINCULO_ENV="production", **extra), "serve", "--port", "1")
    assert result.returncode == 2
    assert reason in result.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_serve_starts_web_and_worker_and_reports_health(migrated: dict[str, str]) -> None:
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "vinculo.cli", "serve", "--port", str(port), "--workers", "1"],
        env=migrated,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        health: dict[str, str] = {}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    health = json.loads(r.read())
                if health.get("worker") == "ok":
                    break
            except OSError:
                pass
            time.sleep(0.5)
        assert health == {"database": "ok", "worker": "ok"}
    finally:
        server.send_signal(signal.SIGTERM)
        out, _ = server.communicate(timeout=30)
    assert f"http://127.0.0.1:{port}" in out
    assert server.returncode == 0
