"""A worker killed (SIGKILL) in the middle of an import, and another started: the import is
handed back by the periodic job once its heartbeat is stale, resumes from its cursor and ends
with every row written exactly once. Real worker processes against a real database file (or
a PostgreSQL database of its own when the suite runs on PostgreSQL), as in
tests/core/test_worker_kill.py."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.worker_process import ROOT, own_database, worker_env

ROWS = 20_000

SCENARIO = """
import json, sys
import django
django.setup()
from django.core.files.base import ContentFile
from django.db import transaction
from vinculo.contacts.imports import services
from vinculo.contacts.models import Contact, ImportChange, ImportJob
from vinculo.core.models import Event, User, Workspace
from vinculo.core.services import workspace_create
from vinculo.core.tenancy import workspace_scope

if sys.argv[1] == "create":
    rows = int(sys.argv[2])
    ws = workspace_create(name="Resume", slug="resume", admin_email="admin@resume.test")
    admin = User.objects.get(email="admin@resume.test")
    text = "Nome;Sobrenome;E-mail;Telefone;Empresa\\n" + "".join(
        f"Pessoa{i};Silva;p{i}@exemplo.com.br;(11) 9{i % 10000:04d}-{i % 7919:04d};"
        f"Empresa {i % 50}\\n"
        for i in range(rows)
    )
    with workspace_scope(ws):
        job = services.import_upload(workspace=ws, actor=admin, object_type="contact",
            uploaded=ContentFile(text.encode(), name="grande.csv"), original_name="grande.csv")
        services.import_configure(workspace=ws, actor=admin, job_id=job.pk,
            mapping=job.mapping, match_by=["email"], on_match="skip")
        with transaction.atomic():
            services.import_start(workspace=ws, actor=admin, job_id=job.pk)
    print(job.pk)
else:
    ws = Workspace.objects.get(slug="resume")
    job = ImportJob.objects.for_workspace(ws).get()
    contacts = Contact.objects.for_workspace(ws)
    emails = list(contacts.values_list("email", flat=True))
    print(json.dumps({
        "status": job.status,
        "error": job.error,
        "rows_done": job.rows_done,
        "created": job.created_count,
        "failed": job.failed_count,
        "contacts": len(emails),
        "distinct_emails": len(set(emails)),
        "changes": ImportChange.objects.for_workspace(ws).filter(
            job=job, before__isnull=True).count(),
        "events": Event.objects.for_workspace(ws).filter(type="contact.created").count(),
        "completed": Event.objects.for_workspace(ws).filter(type="import.completed").count(),
    }))
"""


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    with own_database(tmp_path, "resume") as url:
        yield url


def _env(tmp_path: Path, database_url: str) -> dict[str, str]:
    return worker_env(tmp_path, database_url, settings="tests.contacts.imports.resume_settings")


def _run(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def _report(env: dict[str, str]) -> dict:
    return json.loads(_run(env, "-c", SCENARIO, "report").strip().splitlines()[-1])


def _start_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "vinculo.cli", "worker"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _job_state(database_url: str) -> tuple[str, int]:
    """Read straight from the database: polling through a Django process is too slow to
    catch the worker mid-way on a busy machine."""
    sql = "SELECT status, rows_done FROM contacts_importjob"
    if database_url.startswith("sqlite:///"):
        import sqlite3

        with sqlite3.connect(database_url.removeprefix("sqlite:///"), timeout=10) as conn:
            row = conn.execute(sql).fetchone()
    else:
        import psycopg

        with psycopg.connect(database_url.replace("postgres://", "postgresql://", 1)) as conn:
            row = conn.execute(sql).fetchone()
    return (str(row[0]), int(row[1])) if row else ("", 0)


def _wait(database_url: str, predicate, timeout: float) -> tuple[str, int]:
    deadline = time.monotonic() + timeout
    while True:
        state = _job_state(database_url)
        if predicate(state) or time.monotonic() > deadline:
            return state
        time.sleep(0.05)


@pytest.mark.slow
def test_killed_worker_resumes_the_import_without_duplicates(
    tmp_path: Path, database_url: str
) -> None:
    env = _env(tmp_path, database_url)
    _run(env, "-m", "vinculo.cli", "migrate", "-v", "0")
    _run(env, "-c", SCENARIO, "create", str(ROWS))
    assert _job_state(database_url) == ("queued", 0)

    worker = _start_worker(env)
    try:
        state = _wait(database_url, lambda s: s[1] >= 3000, timeout=120)
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    status, killed_at = _job_state(database_url)
    assert killed_at >= 3000, f"the worker never got going: {state}"
    assert (status, killed_at < ROWS) == ("running", True), "it finished before the kill"
    assert killed_at % 1000 == 0  # whole batches only: the one in flight rolled back
    partial = _report(env)
    assert partial["contacts"] == partial["created"] == killed_at

    worker = _start_worker(env)
    try:
        final_state = _wait(database_url, lambda s: s[0] in ("done", "failed"), timeout=180)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(30)

    report = _report(env)
    assert final_state[0] == "done", report
    assert report["rows_done"] == report["created"] == ROWS
    assert report["contacts"] == report["distinct_emails"] == ROWS
    assert report["changes"] == report["events"] == ROWS
    assert report["failed"] == 0 and report["completed"] == 1
