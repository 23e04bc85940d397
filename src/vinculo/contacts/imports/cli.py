"""`vinculo import`: a file into a workspace, in the foreground, through the same services as
the import pages. Imports nothing of Django until the command runs."""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path
from typing import Any, TextIO

OBJECTS = {
    "contacts": "contact",
    "contact": "contact",
    "accounts": "account",
    "account": "account",
    "leads": "lead",
    "lead": "lead",
}
ON_MATCH = ("skip", "fill", "overwrite")
# Exit statuses: 0 done (failed rows are in the report), 1 the import stopped, 2 bad input.
EXIT_STOPPED = 1
EXIT_BAD_INPUT = 2


def add_commands(sub: Any) -> None:
    """Add this area's sub-commands to the `vinculo` parser's sub-parsers."""
    command = sub.add_parser(
        "import",
        help="import a CSV or XLSX file of contacts, accounts or leads",
        description=(
            "Import a CSV or XLSX file into a workspace, in the foreground. Columns are mapped "
            "from their titles (pt and en) unless --mapping says otherwise; rows that cannot "
            "be imported are written to a failures file with the line and the reason."
        ),
    )
    command.add_argument("object", choices=sorted(OBJECTS), help="what the rows are")
    command.add_argument("file", type=Path, help="the .csv, .txt or .xlsx file")
    command.add_argument("--workspace", required=True, help="the workspace's slug")
    command.add_argument(
        "--mapping",
        type=Path,
        help='a JSON file: {"column title or 0-based column index": "field", ...}; '
        'a column not in it is not imported (field names: "email", "cf:<key>", …)',
    )
    command.add_argument("--on-match", choices=ON_MATCH, default="skip", dest="on_match")
    command.add_argument(
        "--match-by",
        dest="match_by",
        help="comma-separated keys rows match existing records on: email, phone, external_id "
        "(contacts), domain, phone, external_id (accounts); default: email or domain and "
        "external_id when mapped; 'none' to always create",
    )
    command.add_argument("--user", help="email of the member the import acts as (default: none)")
    command.add_argument(
        "--failures",
        type=Path,
        help="where to write the failed rows as CSV (default: next to the file)",
    )
    command.set_defaults(func=cmd_import)


def _error(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def cmd_import(args: argparse.Namespace) -> int:
    from vinculo.cli import _setup_django

    _setup_django()
    from django.core.files import File

    from vinculo.contacts.imports import services
    from vinculo.contacts.imports.reading import ImportFileError
    from vinculo.contacts.models import JobStatus
    from vinculo.core.exceptions import ApplicationError, ValidationFailed
    from vinculo.core.models import Membership, User, Workspace
    from vinculo.core.tenancy import workspace_scope

    workspace = Workspace.objects.filter(slug=args.workspace).first()
    if workspace is None:
        return _error(f"no workspace with slug '{args.workspace}'")
    actor = None
    if args.user:
        actor = User.objects.filter(email=args.user.strip().lower(), is_active=True).first()
        if actor is None or not (
            Membership.objects.for_workspace(workspace).filter(user=actor, is_active=True).exists()
        ):
            return _error(f"'{args.user}' is not an active member of {workspace.slug}")
    path: Path = args.file
    if not path.is_file():
        return _error(f"no file at {path}")
    object_type = OBJECTS[args.object]
    with workspace_scope(workspace):
        try:
            with path.open("rb") as f:
                job = services.import_upload(
                    workspace=workspace,
                    actor=actor,
                    object_type=object_type,
                    uploaded=File(f, name=path.name),
                    original_name=path.name,
                )
            mapping = job.mapping
            if args.mapping is not None:
                mapping = _read_mapping(args.mapping, list(job.headers or []))
            match_by = job.match_by
            if args.match_by is not None:
                match_by = [k.strip() for k in args.match_by.split(",") if k.strip()]
                match_by = [] if match_by == ["none"] else match_by
            services.import_configure(
                workspace=workspace,
                actor=actor,
                job_id=job.pk,
                mapping=mapping,
                match_by=match_by,
                on_match=args.on_match,
            )
            services.import_start(
                workspace=workspace, actor=actor, job_id=job.pk, in_background=False
            )
        except _MappingError as exc:
            return _error(str(exc))
        except ImportFileError as exc:
            return _error(exc.detail)
        except ValidationFailed as exc:
            for error in exc.errors:
                print(f"error: {error.field}: {error.message}", file=sys.stderr)
            return EXIT_BAD_INPUT
        except ApplicationError as exc:
            return _error(exc.detail)
        progress = _Progress(sys.stderr, job.total_rows or 0)
        job = services.import_run(job_id=job.pk, progress=progress.update)
        progress.done()
        _report(job, args, path, actor)
    return 0 if job.status == JobStatus.DONE else EXIT_STOPPED


class _MappingError(ValueError):
    pass


def _read_mapping(path: Path, headers: list[str]) -> dict[str, str]:
    """Column index (as text) → field from a JSON file keyed by column title or index."""
    from vinculo.contacts.imports.mapping import normalise_header

    try:
        raw = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _MappingError(f"cannot read the mapping file {path}: {exc}") from None
    if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
        raise _MappingError(
            f'{path} must hold one JSON object: {{"column title or index": "field", ...}}'
        )
    titles = {normalise_header(h): i for i, h in enumerate(headers)}
    mapping: dict[str, str] = {}
    for key, field in raw.items():
        if key.strip().isdigit() and int(key) < len(headers):
            index = int(key)
        elif normalise_header(key) in titles:
            index = titles[normalise_header(key)]
        else:
            shown = ", ".join(f"'{h}'" for h in headers)
            raise _MappingError(f"the file has no column '{key}' (its columns: {shown})")
        mapping[str(index)] = field
    return mapping


class _Progress:
    """A progress line on stderr: rows done of the total, the rate and the time left; redrawn
    in place on a terminal, a line every few seconds otherwise."""

    def __init__(self, out: TextIO, total: int) -> None:
        self.out = out
        self.total = total
        self.tty = out.isatty()
        self.started = time.monotonic()
        self.last = 0.0
        self.shown = False

    def update(self, job: Any) -> None:
        now = time.monotonic()
        if now - self.last < (0.5 if self.tty else 5.0):
            return
        self.last = now
        elapsed = max(now - self.started, 1e-6)
        rate = job.rows_done / elapsed
        left = (self.total - job.rows_done) / rate if rate else 0
        percent = int(job.rows_done * 100 / self.total) if self.total else 100
        text = (
            f"import: {job.rows_done:,}/{self.total:,} rows ({percent}%), "
            f"{rate:,.0f} rows/s, {left:,.0f} s left"
        )
        self.out.write(f"\r\033[K{text}" if self.tty else text + "\n")
        self.out.flush()
        self.shown = True

    def done(self) -> None:
        if self.tty and self.shown:
            self.out.write("\n")
            self.out.flush()


def _report(job: Any, args: argparse.Namespace, path: Path, actor: Any) -> None:
    from vinculo.contacts.imports import selectors

    seconds = (
        (job.finished_at - job.started_at).total_seconds()
        if job.finished_at and job.started_at
        else 0.0
    )
    print(
        f"{job.original_name}: {job.rows_done:,} of {job.total_rows or 0:,} rows in "
        f"{seconds:.1f} s: created {job.created_count:,}, updated {job.updated_count:,}, "
        f"skipped {job.skipped_count:,}, failed {job.failed_count:,} (import #{job.pk})"
    )
    if job.status != "done":
        print(f"error: the import stopped: {job.error}", file=sys.stderr)
    if job.failed_count:
        target = args.failures or path.with_name(f"{path.stem}-failures.csv")
        rows = selectors.import_failures_rows(workspace=job.workspace, viewer=actor, job_id=job.pk)
        try:
            _write_csv(target, rows)
        except OSError as exc:
            print(f"error: cannot write the failed rows to {target}: {exc}", file=sys.stderr)
        else:
            print(f"failed rows, with the line and the reason: {target}")


def _write_csv(target: Path, rows: Any) -> None:
    # UTF-8 with a byte-order mark, so that Excel opens the accents right.
    with target.open("w", encoding="utf-8-sig", newline="") as f:
        out = csv.writer(f)
        for row in rows:
            out.writerow(row)
