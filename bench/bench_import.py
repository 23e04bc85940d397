"""Import of new contacts from a CSV file into a base of demo contacts, with email matching on
(issue 4 budget: 1,000,000 rows into a base of 1,000,000 contacts in 90 s on the embedded SQLite,
at least 11,000 rows/s).

    .venv/bin/python bench/bench_import.py [N] [--base B] [--keep]
    VINCULO_DATA_DIR=/path/of/a/demo .venv/bin/python bench/bench_import.py [N] [--in-place]

Without VINCULO_DATA_DIR it builds the base first (`vinculo demo --contacts B`, B defaults to
1,000,000: about two minutes, not timed) in a temporary data directory, removed afterwards
unless --keep. With VINCULO_DATA_DIR pointing at a data directory filled by `vinculo demo`, the
database is copied to a temporary directory first (so every run starts from the same base), or
used as it is with --in-place.

The file: N rows (default 1,000,000) of realistic Brazilian contacts that are not in the base
(names, an email each, phones typed the usual ways, company, city, state, job title, some
birthdates as dd/mm/yyyy), `;`-separated UTF-8 as exported by a spreadsheet. It is written
before the clock starts. Timed: what `vinculo import contacts FILE --match-by email` does after
start-up, in this process (store and inspect the file, count its rows, map, write every row).
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import machine_context, note, processor_speed, report, run_cli

BUDGET_SECONDS = 90
HEADER = (
    "Nome",
    "Sobrenome",
    "E-mail",
    "Telefone",
    "Empresa",
    "Cargo",
    "Cidade",
    "UF",
    "Data de nascimento",
    "Origem",
)
DOMAINS = (
    "gmail.com",
    "hotmail.com",
    "outlook.com",
    "yahoo.com.br",
    "uol.com.br",
    "bol.com.br",
    "terra.com.br",
    "icloud.com",
)
SOURCES = ("Site", "Indicação", "Evento", "LinkedIn", "Google Ads", "Feira", "")


def write_csv(path: Path, rows: int, seed: int) -> None:
    """N new contacts. Every email holds a per-run tag, so none is already in the base."""
    from faker import Faker

    from vinculo.contacts.demo_data import places, words

    faker = Faker("pt_BR")
    faker.seed_instance(seed)
    rng = random.Random(seed)
    firsts = sorted({faker.first_name() for _ in range(2000)})
    lasts = sorted({faker.last_name() for _ in range(2000)})
    companies = [f"{rng.choice(words.BRANDS)} {faker.last_name()} Ltda" for _ in range(3000)]
    titles = [t for t, _en in words.JOB_TITLES_PT]
    cities = [(c[0], c[1]) for c in places.BRAZIL]
    tag = f"{seed:x}"
    with path.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f, delimiter=";")
        out.writerow(HEADER)
        r = rng.random
        for i in range(rows):
            first, last = firsts[int(r() * len(firsts))], lasts[int(r() * len(lasts))]
            local = f"{_ascii(first)}.{_ascii(last)}.{tag}{i}"
            email = f"{local}@{DOMAINS[int(r() * len(DOMAINS))]}"
            area = 11 + int(r() * 88)
            if area % 10 == 0:
                area += 1
            number = f"9{int(r() * 10**8):08d}"
            shape = r()
            if shape < 0.5:
                phone = f"({area}) {number[:5]}-{number[5:]}"
            elif shape < 0.8:
                phone = f"{area}{number}"
            elif shape < 0.9:
                phone = f"+55 {area} {number[:5]}-{number[5:]}"
            else:
                phone = ""
            city, state = cities[int(r() * len(cities))]
            birth = ""
            if r() < 0.3:
                birth = f"{1 + int(r() * 28):02d}/{1 + int(r() * 12):02d}/{1950 + int(r() * 55)}"
            out.writerow(
                (
                    first,
                    last,
                    email,
                    phone,
                    companies[int(r() * len(companies))] if r() < 0.7 else "",
                    titles[int(r() * len(titles))] if r() < 0.6 else "",
                    city,
                    state,
                    birth,
                    SOURCES[int(r() * len(SOURCES))],
                )
            )


_ASCII = str.maketrans(
    "áàâãäéèêëíìîïóòôõöúùûüçñÁÀÂÃÉÊÍÓÔÕÚÇ", "aaaaaeeeeiiiiooooouuuucnAAAAEEIOOOUC"
)


def _ascii(name: str) -> str:
    return name.translate(_ASCII).lower().replace(" ", "").replace("'", "")


def build_base(data_dir: Path, contacts: int) -> None:
    env = {**os.environ, "VINCULO_DATA_DIR": str(data_dir), "VINCULO_DEMO_ANCHOR": "2026-11-01"}
    env.pop("DATABASE_URL", None)
    run_cli(["migrate", "-v", "0"], env)
    started = time.monotonic()
    result = run_cli(["demo", "--workspace", "demo", "--contacts", str(contacts)], env)
    note(
        f"base built by `vinculo demo --contacts {contacts}` in {time.monotonic() - started:.0f} s"
    )
    del result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", nargs="?", type=int, default=1_000_000)
    parser.add_argument("--base", type=int, default=1_000_000, help="demo contacts to build")
    parser.add_argument("--workspace", default="demo")
    parser.add_argument("--seed", type=int, default=None, help="data of the file (default: time)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data directory")
    parser.add_argument("--in-place", action="store_true", help="import into VINCULO_DATA_DIR")
    args = parser.parse_args()

    given = os.environ.get("VINCULO_DATA_DIR")
    scratch = Path(tempfile.mkdtemp(prefix="vinculo-bench-import-"))
    if given and args.in_place:
        data_dir = Path(given)
    else:
        data_dir = scratch
        if given:
            started = time.monotonic()
            for name in ("vinculo.sqlite3", "secret-key.txt"):
                if (Path(given) / name).exists():
                    shutil.copy2(Path(given) / name, scratch / name)
            note(f"base copied from {given} in {time.monotonic() - started:.0f} s")
        else:
            build_base(scratch, args.base)
    os.environ["VINCULO_DATA_DIR"] = str(data_dir)
    os.environ.pop("DATABASE_URL", None)
    # Query logging (DEBUG) would be measured as if it were the import's work.
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vinculo.settings")
    try:
        run(args, scratch)
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
        else:
            note(f"kept {scratch}")


def run(args: argparse.Namespace, scratch: Path) -> None:
    import django

    django.setup()
    from django.core.files import File
    from django.db import connection

    from vinculo.contacts.imports import services
    from vinculo.contacts.models import Contact
    from vinculo.core.models import User, Workspace
    from vinculo.core.tenancy import workspace_scope

    workspace = Workspace.objects.filter(slug=args.workspace).first()
    if workspace is None:
        raise SystemExit(f"no workspace '{args.workspace}': load one with `vinculo demo` first")
    admin = User.objects.get(email="admin@example.com")
    base = Contact.objects.for_workspace(workspace).count()
    seed = args.seed if args.seed is not None else int(time.time())
    path = scratch / f"contacts-{args.rows}.csv"
    started = time.monotonic()
    write_csv(path, args.rows, seed)
    note(
        f"file of {args.rows:,} new contacts ({path.stat().st_size / 2**20:.0f} MiB) "
        f"written in {time.monotonic() - started:.0f} s"
    )
    note(machine_context())
    note(processor_speed())
    note(f"{connection.vendor}, workspace {workspace.slug} with {base:,} contacts")

    cpu_before = time.process_time()
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with workspace_scope(workspace):
        started = time.monotonic()
        with path.open("rb") as f:
            job = services.import_upload(
                workspace=workspace,
                actor=admin,
                object_type="contact",
                uploaded=File(f, name=path.name),
                original_name=path.name,
            )
        inspected = time.monotonic()
        services.import_configure(
            workspace=workspace,
            actor=admin,
            job_id=job.pk,
            mapping=job.mapping,
            match_by=["email"],
            on_match="skip",
        )
        services.import_start(workspace=workspace, actor=admin, job_id=job.pk, in_background=False)
        job = services.import_run(job_id=job.pk)
        elapsed = time.monotonic() - started
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    if job.status != "done" or job.created_count != args.rows:
        raise SystemExit(
            f"import ended {job.status} ({job.error}): created {job.created_count}, "
            f"updated {job.updated_count}, skipped {job.skipped_count}, failed {job.failed_count}"
        )
    report(
        f"import_csv_{args.rows}_contacts",
        elapsed,
        "s",
        BUDGET_SECONDS if args.rows == 1_000_000 else "-",
    )
    report(f"import_csv_{args.rows}_contacts_rate", args.rows / elapsed, "rows/s", 11000)
    note(
        f"store, inspect and count the file {inspected - started:.1f} s; "
        f"write {elapsed - (inspected - started):.1f} s"
    )
    helpers = (children.ru_utime + children.ru_stime) - (
        children_before.ru_utime + children_before.ru_stime
    )
    note(
        f"processor time: this process {time.process_time() - cpu_before:.1f} s, "
        f"helper process {helpers:.1f} s"
    )
    note(f"after: {machine_context()}")


if __name__ == "__main__":
    main()
