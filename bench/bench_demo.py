"""Time `vinculo demo --contacts N` into a fresh data directory (issue 2: 1,000,000 contacts
in at most 120 s on the embedded SQLite).

    .venv/bin/python bench/bench_demo.py [N] [--postgres] [--seed S] [--keep]

N defaults to 1,000,000. SQLite runs always; `--postgres` also loads a new database on the
local server (VINCULO_BENCH_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/postgres),
dropped afterwards unless `--keep`. Migrations run first and are not timed. The anchor date is
pinned so that every run loads the same rows.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import machine_context, note, report, run_cli, scratch_postgres

BUDGET_SECONDS = {"sqlite": 120}
ANCHOR = "2026-11-01"


def load(database: str, contacts: int, seed: int, env: dict[str, str]) -> None:
    run_cli(["migrate", "-v", "0"], env)
    started = time.perf_counter()
    args = ["demo", "--workspace", "demo", "--contacts", str(contacts), "--seed", str(seed)]
    done = run_cli(args, env, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"vinculo demo failed on {database}")
    label = f"demo_{database}_{contacts}_contacts"
    report(label, seconds, "s", BUDGET_SECONDS.get(database, "-"))
    summary = next(
        (line for line in done.stderr.splitlines() if line.startswith("demo: loaded in")), ""
    )
    for phase, value in re.findall(r"([a-z ]+) ([0-9.]+) s", summary.partition("(")[2]):
        report(f"{label}_phase_{phase.strip().replace(' ', '_')}", float(value), "s")
    cpu = next((line for line in done.stderr.splitlines() if "processor time" in line), "")
    if match := re.search(r"this process ([0-9.]+) s .*generator process ([0-9.]+) s", cpu):
        report(f"{label}_cpu_main", float(match.group(1)), "s")
        report(f"{label}_cpu_generator", float(match.group(2)), "s")
    counts = re.search(r"ready in .*?: (.*) \(history", done.stdout)
    if counts:
        note(f"{database}: {counts.group(1)}")
        rows = sum(int(n.replace(",", "")) for n in re.findall(r"([0-9,]+) [a-z]", counts.group(1)))
        report(f"{label}_rows_per_second", rows / seconds, "rows/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("contacts", nargs="?", type=int, default=1_000_000)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the data directory/database")
    args = parser.parse_args()

    note(machine_context())
    data_dir = Path(tempfile.mkdtemp(prefix="vinculo-bench-demo-"))
    env = {**os.environ, "VINCULO_DATA_DIR": str(data_dir), "VINCULO_DEMO_ANCHOR": ANCHOR}
    env.pop("DATABASE_URL", None)
    try:
        load("sqlite", args.contacts, args.seed, env)
        if args.postgres:
            with scratch_postgres(keep=args.keep) as url:
                load("postgres", args.contacts, args.seed, {**env, "DATABASE_URL": url})
                if args.keep:
                    note(f"postgres database kept: {url}")
    finally:
        if args.keep:
            note(f"data directory kept: {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
