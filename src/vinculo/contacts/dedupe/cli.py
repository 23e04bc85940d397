"""`vinculo duplicates` sub-commands. Imports nothing of Django until a command runs."""

from __future__ import annotations

import argparse
import sys
from typing import Any

_KINDS = {"contacts": "contact", "accounts": "account"}


def add_commands(sub: Any) -> None:
    """Add this area's sub-commands to the `vinculo` parser's sub-parsers."""
    duplicates = sub.add_parser("duplicates", help="find likely duplicate records").add_subparsers(
        dest="action", required=True
    )
    scan = duplicates.add_parser(
        "scan",
        help="scan a workspace for duplicates in the foreground (progress on standard error)",
    )
    scan.add_argument("--workspace", required=True, help="the workspace's slug")
    scan.add_argument("--object", choices=sorted(_KINDS), default="contacts")
    scan.set_defaults(func=cmd_duplicates_scan)


def cmd_duplicates_scan(args: argparse.Namespace) -> int:
    from vinculo.cli import _setup_django

    _setup_django()
    from vinculo.contacts.dedupe.services import duplicate_scan_run, duplicate_scan_start
    from vinculo.contacts.models import DuplicateScan, JobStatus
    from vinculo.core.exceptions import ApplicationError
    from vinculo.core.models import Workspace

    workspace = Workspace.objects.filter(slug=args.workspace).first()
    if workspace is None:
        print(f"error: no workspace with slug '{args.workspace}'", file=sys.stderr)
        return 2

    def show(scan: DuplicateScan) -> None:
        total = f"{scan.total_rows:,}" if scan.total_rows is not None else "?"
        print(
            f"\r{scan.percent:3d}%  {scan.rows_done:,} of {total} records",
            end="",
            file=sys.stderr,
            flush=True,
        )

    try:
        scan = duplicate_scan_start(
            workspace=workspace, actor=None, object_type=_KINDS[args.object], background=False
        )
        if scan.status == JobStatus.QUEUED:
            scan = duplicate_scan_run(scan_id=scan.pk, on_progress=show)
            print(file=sys.stderr)
    except ApplicationError as exc:
        print(f"\nerror: {exc.detail}", file=sys.stderr)
        return 2
    if scan.status != JobStatus.DONE:
        print(
            f"error: another scan of this workspace is {scan.get_status_display()} "
            f"(#{scan.pk}); try again when it is over",
            file=sys.stderr,
        )
        return 1
    seconds = 0.0
    if scan.started_at is not None and scan.finished_at is not None:
        seconds = (scan.finished_at - scan.started_at).total_seconds()
    print(
        f"{scan.pairs_found} pairs to review among {scan.total_rows or 0:,} {args.object} "
        f"({seconds:.1f} s)"
    )
    return 0
