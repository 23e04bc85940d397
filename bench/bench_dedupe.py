"""Time a duplicate scan over the contacts of a demo workspace (issue 4: 1,000,000 contacts in
at most 5 minutes on the embedded SQLite, two cores).

    VINCULO_DATA_DIR=/path/of/a/demo .venv/bin/python bench/bench_dedupe.py [--workspace demo]
    .venv/bin/python bench/bench_dedupe.py [--contacts N] [--keep]

With VINCULO_DATA_DIR (or DATABASE_URL) the scan runs on that database; without, `vinculo demo
--contacts N` (default 1,000,000, about 105 s, not timed) first fills a temporary data
directory, removed afterwards unless --keep. Migrations run first (not timed).

The demo data has no duplicates by design (its emails and phones are unique), so the benchmark
first plants a known number of near-duplicates (--planted, default 1,000) through the same
service users go through: a quarter share an email typed in capitals, a quarter a phone typed
in the national format, a quarter have the name without accents in the same city, a quarter a
misspelt name at the same company. They are marked (`external_id` "bench-dedupe-…") and planted
once per database, so reruns find the same ones. It then times the scan as the worker runs it
(`duplicate_scan_run`, in this process) and reports how many planted pairs it found.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import sys
import tempfile
import time
import unicodedata
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import machine_context, note, report, run_cli

BUDGET_SECONDS = 300
ANCHOR = "2026-11-01"
MARK = "bench-dedupe-"


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _typo(text: str) -> str:
    """One letter doubled in the middle of the word: "Cardoso" → "Carddoso"."""
    if len(text) < 3:
        return text + text[-1:]
    middle = len(text) // 2
    return text[:middle] + text[middle] + text[middle:]


def _local(name: str) -> str:
    return ".".join(_plain(name).lower().split()) or "x"


def _national(e164: str) -> str:
    """A stored number as people type it: "+5511987654321" → "(11) 98765-4321"."""
    if e164.startswith("+55") and len(e164) >= 13:
        digits = e164[3:]
        return f"({digits[:2]}) {digits[2:-4]}-{digits[-4:]}"
    return f"{e164[:2]} {e164[2:5]} {e164[5:8]} {e164[8:]}"


def plant(workspace: Any, count: int, seed: int) -> list[tuple[int, int, str]]:
    """Near-duplicates of `count` random contacts: (original id, copy id, kind). Planted once;
    a database that has them already gets them back."""
    from django.db import transaction

    from vinculo.contacts.models import Contact
    from vinculo.contacts.services import contact_create

    contacts = Contact.objects.for_workspace(workspace)
    planted = contacts.filter(external_id__startswith=MARK)
    if planted.exists():
        return [
            (int(ext.split("-")[2]), pk, ext.split("-")[3])
            for pk, ext in planted.values_list("pk", "external_id")
        ]
    eligible = list(
        contacts.filter(deleted_at__isnull=True)
        .exclude(first_name="")
        .exclude(email="")
        .exclude(phone="")
        .exclude(city="")
        .values_list("pk", flat=True)
    )
    originals = contacts.filter(pk__in=random.Random(seed).sample(eligible, count))
    made = []
    with transaction.atomic():  # all of them or none: a rerun plants them again
        for i, original in enumerate(originals.order_by("pk")):
            made.append(_plant_one(workspace, original, i, contact_create))
    return made


def _plant_one(workspace: Any, original: Any, i: int, contact_create: Any) -> tuple[int, int, str]:
    """A near-duplicate of `original`; which kind depends on its place `i`."""
    kind = ("email", "phone", "city", "company")[i % 4]
    if kind == "company" and original.account_id is None:
        kind = "city"
    data: dict[str, Any] = {"owner_id": None, "country": original.country}
    if kind == "email":
        data |= {
            "first_name": _plain(original.first_name),
            "last_name": original.last_name,
            "emails": [original.email.upper()],
        }
    elif kind == "phone":
        data |= {"first_name": original.first_name, "phones": [_national(original.phone)]}
    elif kind == "city":
        data |= {
            "first_name": _plain(original.first_name).lower(),
            "last_name": _plain(original.last_name).lower(),
            "city": original.city,
        }
    else:
        domain = original.email.rpartition("@")[2]
        data |= {
            "first_name": original.first_name,
            "last_name": _typo(original.last_name),
            "emails": [f"{_local(original.first_name)}.bench@{domain}"],
            "account_id": original.account_id,
        }
    data["external_id"] = f"{MARK}{original.pk}-{kind}"
    copy = contact_create(workspace=workspace, actor=None, data=data)
    return original.pk, copy.pk, kind


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", default="demo")
    parser.add_argument("--contacts", type=int, default=1_000_000, help="demo size to build")
    parser.add_argument("--planted", type=int, default=1000, help="near-duplicates to plant")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the data directory built")
    args = parser.parse_args()

    note(machine_context())
    built: Path | None = None
    if not os.environ.get("VINCULO_DATA_DIR") and not os.environ.get("DATABASE_URL"):
        built = Path(tempfile.mkdtemp(prefix="vinculo-bench-dedupe-"))
        os.environ["VINCULO_DATA_DIR"] = str(built)
        env = {**os.environ, "VINCULO_DEMO_ANCHOR": ANCHOR}
        run_cli(["migrate", "-v", "0"], env)
        started = time.perf_counter()
        demo = ["demo", "--workspace", args.workspace, "--contacts", str(args.contacts)]
        run_cli(demo, env)
        note(f"demo of {args.contacts:,} contacts built in {time.perf_counter() - started:.0f} s")
    else:
        run_cli(["migrate", "-v", "0"], dict(os.environ))
    try:
        run(args)
    finally:
        if built is not None and not args.keep:
            shutil.rmtree(built, ignore_errors=True)
        elif built is not None:
            note(f"data kept in {built}")


def run(args: argparse.Namespace) -> None:
    # Query logging (DEBUG) would be measured as if it were the scan's work.
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vinculo.settings")
    import django

    django.setup()
    from django.db import connection

    from vinculo.contacts.dedupe.services import duplicate_scan_run, duplicate_scan_start
    from vinculo.contacts.models import Contact, DuplicateCandidate
    from vinculo.core.models import Workspace
    from vinculo.core.tenancy import workspace_scope

    workspace = Workspace.objects.filter(slug=args.workspace).first()
    if workspace is None:
        raise SystemExit(f"no workspace '{args.workspace}': load one with `vinculo demo` first")
    with workspace_scope(workspace):
        planted = plant(workspace, args.planted, args.seed) if args.planted else []
        live = Contact.objects.for_workspace(workspace).filter(deleted_at__isnull=True).count()
        note(f"{connection.vendor}, workspace {workspace.slug}: {live:,} live contacts")
        note(f"{len(planted):,} planted near-duplicates")

        started = time.perf_counter()
        scan = duplicate_scan_start(
            workspace=workspace, actor=None, object_type="contact", background=False
        )
        scan = duplicate_scan_run(scan_id=scan.pk)
        seconds = time.perf_counter() - started

        label = f"dedupe_scan_{args.contacts}_contacts"
        report(label, seconds, "s", BUDGET_SECONDS)
        report(f"{label}_rows_per_second", live / seconds, "rows/s")
        report(f"{label}_pairs_found", scan.pairs_found, "pairs")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        report(f"{label}_peak_memory", peak, "MiB")

        open_pairs = set(
            DuplicateCandidate.objects.for_workspace(workspace)
            .filter(object_type="contact", status=DuplicateCandidate.Status.OPEN)
            .values_list("first_id", "second_id")
        )
        by_kind: dict[str, list[int]] = {}
        for original, copy, kind in planted:
            found = tuple(sorted((original, copy))) in open_pairs
            by_kind.setdefault(kind, [0, 0])
            by_kind[kind][0] += found
            by_kind[kind][1] += 1
        if planted:
            total_found = sum(found for found, _n in by_kind.values())
            report("dedupe_planted_pairs_found", total_found, "pairs", len(planted))
            for kind, (found, n) in sorted(by_kind.items()):
                note(f"planted by {kind}: {found} of {n} found")
            note(f"pairs found besides the planted ones: {scan.pairs_found - total_found:,}")


if __name__ == "__main__":
    main()
