"""Time a background export of every contact of a demo workspace (issue 4: 1,000,000 contacts
to CSV in at most 30 s on the embedded SQLite), and the same list to XLSX (no budget).

    .venv/bin/python bench/bench_export.py [--contacts N] [--keep]
    VINCULO_DATA_DIR=/path/of/a/demo .venv/bin/python bench/bench_export.py
    DATABASE_URL=postgres://... .venv/bin/python bench/bench_export.py

Without VINCULO_DATA_DIR (or DATABASE_URL) it first loads `vinculo demo --contacts N` (N
defaults to 1,000,000; about 105 s on a quiet machine, not timed) into a temporary data
directory, removed afterwards unless `--keep`. With one, it uses the workspace found there.

Each export is what the worker does for a person who asked for the whole list with its default
columns (name, email, phone, company, stage, owner, tags) in Portuguese: `export_run` reads the
rows as the workspace's admin, writes the file and stores it. The job and its file are removed
at the end.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import machine_context, note, report, run_cli

ANCHOR = "2026-11-01"
CSV_BUDGET_SECONDS = 30


def load_demo(contacts: int) -> Path:
    data_dir = Path(tempfile.mkdtemp(prefix="vinculo-bench-export-"))
    env = {**os.environ, "VINCULO_DATA_DIR": str(data_dir), "VINCULO_DEMO_ANCHOR": ANCHOR}
    env.pop("DATABASE_URL", None)
    note(f"loading {contacts:,} demo contacts into {data_dir} (not timed)")
    started = time.perf_counter()
    run_cli(["migrate", "-v", "0"], env)
    done = run_cli(["demo", "--workspace", "demo", "--contacts", str(contacts)], env, check=False)
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit("vinculo demo failed")
    note(f"demo loaded in {time.perf_counter() - started:.0f} s")
    return data_dir


def measure(workspace_slug: str) -> None:
    # Query logging (DEBUG) would be measured as if it were the export's work.
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vinculo.settings")
    import django

    django.setup()
    from django.db import connection
    from django.utils import timezone, translation

    from vinculo.contacts.exports import services
    from vinculo.contacts.models import Contact, ExportJob
    from vinculo.core.models import Membership, Workspace
    from vinculo.core.roles import Role
    from vinculo.core.tenancy import workspace_scope

    workspace = Workspace.objects.filter(slug=workspace_slug).first()
    if workspace is None:
        raise SystemExit(f"no workspace '{workspace_slug}': load one with `vinculo demo` first")
    admin = (
        Membership.objects.for_workspace(workspace)
        .filter(role=Role.ADMIN, is_active=True)
        .select_related("user")
        .first()
    )
    if admin is None:
        raise SystemExit(f"workspace '{workspace_slug}' has no admin")
    total = Contact.objects.for_workspace(workspace).filter(deleted_at__isnull=True).count()
    note(machine_context())
    note(f"{connection.vendor}, workspace {workspace.slug} with {total:,} live contacts")
    # The job is run here, as the worker would run it, rather than by a worker process.
    services._enqueue = lambda job_id: None

    with workspace_scope(workspace), translation.override("pt-br"):
        timezone.activate(workspace.time_zone)
        for file_format in ("csv", "xlsx"):
            job = services.export_create(
                workspace=workspace,
                actor=admin.user,
                object_type="contact",
                file_format=file_format,
            )
            started, cpu = time.perf_counter(), time.process_time()
            done = services.export_run(workspace=workspace, job_id=job.pk)
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
            if done is None or done.status != "done":
                raise SystemExit(f"the {file_format} export failed: {done and done.error}")
            name = f"export_{file_format}_{done.rows_done}_contacts"
            budget = CSV_BUDGET_SECONDS if file_format == "csv" else "-"
            report(name, seconds, "s", budget)
            report(f"{name}_rows_per_second", done.rows_done / seconds, "rows/s")
            report(f"{name}_cpu", cpu, "s")
            note(f"{file_format}: {done.file.size / 2**20:.0f} MiB; {machine_context()}")
            done.file.delete(save=False)
            ExportJob.objects.for_workspace(workspace).filter(pk=done.pk).delete()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--workspace", default="demo")
    parser.add_argument("--keep", action="store_true", help="keep the loaded data directory")
    args = parser.parse_args()

    data_dir = None
    if not os.environ.get("VINCULO_DATA_DIR") and not os.environ.get("DATABASE_URL"):
        data_dir = load_demo(args.contacts)
        os.environ["VINCULO_DATA_DIR"] = str(data_dir)
    try:
        measure(args.workspace)
    finally:
        if data_dir is not None:
            if args.keep:
                note(f"data directory kept: {data_dir}")
            else:
                shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
