"""`vinculo export`: write a list of contacts or accounts to a CSV or XLSX file, in the
foreground, with progress on standard error. Imports nothing of Django until a command runs.

    vinculo export contacts|accounts --workspace SLUG --output FILE [--format csv|xlsx]
                   [--filter KEY=VALUE ...] [--columns a,b,c] [--actor EMAIL]

Filters are the list API's parameters (`--filter lifecycle_stage=customer --filter cf.segment=
retail`); columns are the list's column keys. Without `--actor` the command reads as the system
and exports every record; with it, only what that member may see. Cells are written in the
workspace's language and time zone.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

EXIT_ERROR = 2


def add_commands(sub: Any) -> None:
    """Add this area's sub-commands to the `vinculo` parser's sub-parsers."""
    export = sub.add_parser(
        "export",
        help="export a list of contacts or accounts to CSV or XLSX (progress on standard error)",
    )
    export.add_argument("object", choices=["contacts", "accounts"])
    export.add_argument("--workspace", required=True, help="the workspace's slug")
    export.add_argument("--output", required=True, type=Path, help="the file to write")
    export.add_argument(
        "--format",
        choices=["csv", "xlsx"],
        default=None,
        help="default: from the output's extension, else csv",
    )
    export.add_argument(
        "--filter",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a list filter (repeat for more), e.g. lifecycle_stage=customer",
    )
    export.add_argument("--columns", default="", help="column keys, e.g. name,email,owner,tags")
    export.add_argument(
        "--actor", default="", help="email of a member whose access applies (default: all)"
    )
    export.set_defaults(func=cmd_export)


def _filters(pairs: list[str]) -> dict[str, str]:
    filters: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--filter {pair!r}: write it as KEY=VALUE")
        filters[key.strip()] = value.strip()
    return filters


def _format(args: argparse.Namespace) -> str:
    if args.format:
        return str(args.format)
    return "xlsx" if args.output.suffix.lower() == ".xlsx" else "csv"


class _Progress:
    """One line on standard error, rewritten as rows are written."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.started = time.monotonic()
        self.last = 0.0

    def __call__(self, done: int) -> None:
        now = time.monotonic()
        if now - self.last < 0.25 and done < self.total:
            return
        self.last = now
        percent = int(done * 100 / self.total) if self.total else 100
        rate = done / max(now - self.started, 1e-6)
        print(
            f"\r{percent:3d}%  {done:,} of {self.total:,} rows  {rate:,.0f} rows/s",
            end="",
            file=sys.stderr,
            flush=True,
        )


def cmd_export(args: argparse.Namespace) -> int:
    from vinculo.cli import _setup_django

    _setup_django()
    import zoneinfo

    from django.utils import timezone, translation

    from vinculo.contacts.exports.selectors import XLSX_MAX_ROWS, export_count, export_plan
    from vinculo.contacts.exports.writers import write_plan
    from vinculo.core.exceptions import ApplicationError, ValidationFailed
    from vinculo.core.models import Membership, User, Workspace
    from vinculo.core.tenancy import workspace_scope

    try:
        filters = _filters(args.filter)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    workspace = Workspace.objects.filter(slug=args.workspace).first()
    if workspace is None:
        print(f"error: no workspace with slug '{args.workspace}'", file=sys.stderr)
        return EXIT_ERROR
    actor = None
    if args.actor:
        actor = User.objects.filter(email=args.actor.strip().lower()).first()
        member = (
            actor is not None
            and Membership.objects.for_workspace(workspace)
            .filter(user=actor, is_active=True)
            .exists()
        )
        if not member:
            print(f"error: '{args.actor}' is not a member of {workspace.slug}", file=sys.stderr)
            return EXIT_ERROR
    try:
        zone: Any = zoneinfo.ZoneInfo(workspace.time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = timezone.get_default_timezone()
    file_format = _format(args)
    columns = [c for c in args.columns.split(",") if c.strip()]
    output: Path = args.output
    partial = output.with_name(f".{output.name}.partial")
    finished = False
    with workspace_scope(workspace), translation.override(workspace.locale):
        try:
            plan = export_plan(
                workspace=workspace,
                viewer=actor,
                object_type=args.object,
                file_format=file_format,
                params=filters,
                columns=columns,
            )
            total = export_count(workspace=workspace, viewer=actor, plan=plan)
            if file_format == "xlsx" and total > XLSX_MAX_ROWS:
                print(
                    f"error: {total:,} rows do not fit in an XLSX sheet "
                    f"({XLSX_MAX_ROWS:,} at most); use --format csv",
                    file=sys.stderr,
                )
                return EXIT_ERROR
            progress = _Progress(total)
            started = time.monotonic()
            with timezone.override(zone), partial.open("wb") as target:
                rows = write_plan(
                    workspace=workspace,
                    viewer=actor,
                    plan=plan,
                    target=target,
                    zone=zone,
                    progress=progress,
                )
            finished = True
        except ValidationFailed as exc:
            for error in exc.errors:
                print(f"error: {_option(error.field)}: {error.message}", file=sys.stderr)
            return EXIT_ERROR
        except ApplicationError as exc:
            print(f"error: {exc.detail}", file=sys.stderr)
            return EXIT_ERROR
        except OSError as exc:
            print(f"error: cannot write {output}: {exc}", file=sys.stderr)
            return EXIT_ERROR
        finally:
            if not finished:
                partial.unlink(missing_ok=True)
    # Only a whole file takes the output's name: an interrupted export leaves none behind.
    os.replace(partial, output)
    seconds = time.monotonic() - started
    progress(rows)
    print(f"\nwrote {rows:,} rows to {output} in {seconds:.1f} s", file=sys.stderr)
    return 0


def _option(field: str) -> str:
    """A service's field name as the option that set it."""
    if field.startswith("filters."):
        return f"--filter {field.removeprefix('filters.')}"
    return {"columns": "--columns", "format": "--format", "object_type": "object"}.get(field, field)
