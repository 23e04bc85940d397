"""`vinculo demo`: a workspace full of realistic customers with two years of history.

What it makes: staff users in every role (two sales teams), tags, custom fields, accounts,
contacts, and their interactions, tasks and notes spread over the two years before the anchor
date. Mostly pt-BR customers in real Brazilian cities, some English-speaking ones in the US.

Determinism: the data is a pure function of (seed, number of contacts, anchor date). The anchor
is today's date in the workspace's time zone, so the history always ends "now" and tasks fall
due today, unless `VINCULO_DEMO_ANCHOR=YYYY-MM-DD` pins it; the anchor used is stored in the
payload of the workspace's `demo.loaded` event and in the credentials file. Passwords are not
data: they come from `secrets` and are written to `<DATA_DIR>/demo-credentials.txt` (mode 600).
The word pools come from Faker, so a different Faker version gives different (still
deterministic) names.

Speed (budget: 1,000,000 contacts in 120 s on the embedded SQLite; about 106 s measured on two
quiet cores, see bench/): Faker costs microseconds per value, so it only fills pools once and
`random.Random` combines them. A forked child process generates the contacts and their history
while this one writes them. Rows skip the ORM: multi-row INSERT statements (SQLite) or `COPY`
(PostgreSQL), all inside one transaction, so an interrupted load leaves nothing behind. They are
ordinary INSERTs: triggers (the FTS5 search index) fire as for any other write. For large loads
into a table that is small next to the load, the indexes that would receive keys all over their
tree are dropped and rebuilt inside the same transaction; building them from sorted data costs
less than growing them row by row. Statistics are refreshed at the end (ANALYZE).
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import json
import math
import multiprocessing
import os
import re
import resource
import secrets
import sqlite3
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from multiprocessing.pool import AsyncResult
from pathlib import Path
from random import Random
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.utils import timezone
from django.utils.text import slugify

from vinculo.contacts.demo_data import places, words
from vinculo.contacts.models import Contact, LifecycleStage
from vinculo.contacts.search import (
    account_search_document,
    account_sort_name,
    contact_sort_name,
    phone_search_terms,
)
from vinculo.core.exceptions import Conflict, ErrorCollector
from vinculo.core.models import (
    CustomFieldDefinition,
    Event,
    Tag,
    Team,
    TeamMember,
    User,
    Workspace,
)
from vinculo.core.roles import Role
from vinculo.core.search import normalize_text
from vinculo.core.services import membership_add, workspace_create

ANCHOR_ENV = "VINCULO_DEMO_ANCHOR"
CREDENTIALS_FILENAME = "demo-credentials.txt"
ADMIN_EMAIL = "admin@example.com"
HISTORY_DAYS = 730
# Contacts are generated in chunks; each chunk has its own random stream, so the data does not
# depend on how the work is scheduled. Changing this changes the data of every seed.
CHUNK = 5000
# Drop and rebuild a table's indexes when the load adds at least this many rows and more rows
# than the table already holds; below that, growing the indexes row by row is cheaper.
REBUILD_INDEXES_FROM = 50_000
PROGRESS_FROM = 10_000
# Parameters per SQLite statement (SQLITE_MAX_VARIABLE_NUMBER is 32766 since SQLite 3.32).
_SQLITE_MAX_PARAMS = 30_000
# Below this, starting a second process costs more than it saves.
PARALLEL_FROM = 20_000

_TEAM_SOUTH = "Vendas Sul e Sudeste"
_TEAM_NORTH = "Vendas Norte, Nordeste e Centro-Oeste"

# email, full name, role, team (None: no sales team). The first rep of a team leads it.
STAFF: tuple[tuple[str, str, str, str | None], ...] = (
    (ADMIN_EMAIL, "Administração Demo", Role.ADMIN, None),
    ("mariana.costa@example.com", "Mariana Costa", Role.MANAGER, None),
    ("rafael.lima@example.com", "Rafael Lima", Role.SALES, _TEAM_SOUTH),
    ("beatriz.santos@example.com", "Beatriz Santos", Role.SALES, _TEAM_SOUTH),
    ("lucas.almeida@example.com", "Lucas Almeida", Role.SALES, _TEAM_SOUTH),
    ("camila.rocha@example.com", "Camila Rocha", Role.SALES, _TEAM_NORTH),
    ("thiago.ferreira@example.com", "Thiago Ferreira", Role.SALES, _TEAM_NORTH),
    ("juliana.martins@example.com", "Juliana Martins", Role.SALES, _TEAM_NORTH),
    ("fernanda.oliveira@example.com", "Fernanda Oliveira", Role.MARKETING, None),
    ("gustavo.pereira@example.com", "Gustavo Pereira", Role.SERVICE, None),
    ("patricia.gomes@example.com", "Patrícia Gomes", Role.SERVICE, None),
    ("paulo.ribeiro@example.com", "Paulo Ribeiro", Role.READ_ONLY, None),
)

# --- public entry points -------------------------------------------------------------------

# What other modules add to the demo after its customers exist (sales history, …), in the
# order registered: name → fn(*, workspace, staff, anchor, tz, seed, contacts) -> counts.
_EXTENSIONS: dict[str, Callable[..., dict[str, int]]] = {}


def register_demo_extension(name: str, fn: Callable[..., dict[str, int]]) -> None:
    _EXTENSIONS[name] = fn


@dataclass
class DemoResult:
    workspace: Workspace
    created: bool
    anchor: date
    admin_email: str
    admin_password: str | None
    credentials_path: Path
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def demo_command(args: argparse.Namespace) -> int:
    """`vinculo demo`: load the demo and print the admin login (stdout) and progress (stderr)."""
    try:
        anchor = _anchor_from_env()
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    show_progress = args.contacts >= PROGRESS_FROM
    try:
        result = demo_load(
            slug=args.workspace,
            contacts=args.contacts,
            seed=args.seed,
            anchor=anchor,
            if_absent=args.if_absent,
            progress=sys.stderr if show_progress else None,
        )
    except Conflict as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 2
    _print_result(result)
    return 0


def demo_load(
    *,
    slug: str,
    contacts: int,
    seed: int,
    anchor: date | None = None,
    if_absent: bool = False,
    progress: TextIO | None = None,
    rebuild_indexes_from: int = REBUILD_INDEXES_FROM,
    chunk: int = CHUNK,
    parallel: bool | None = None,
) -> DemoResult:
    """Create (if missing) and fill the demo workspace `slug`.

    Side effects: creates the workspace, the staff users (with generated passwords, recorded in
    the credentials file after commit), tags, custom-field definitions, the customer data and
    one `demo.loaded` event, all already marked dispatched so the worker replays no history.
    With `if_absent`, a workspace that already has contacts is left alone. Raises `Conflict` if
    the workspace has contacts and `if_absent` is false.

    `rebuild_indexes_from`, `chunk` and `parallel` are knobs for tests and benchmarks; `chunk`
    changes the data generated for a seed.
    """
    errors = ErrorCollector()
    if contacts < 1:
        errors.add("contacts", "invalid", "The demo needs at least one contact.")
    if not slugify(slug):
        errors.add("workspace", "invalid", "The workspace slug must have letters or digits.")
    errors.raise_if_any()
    slug = slugify(slug)
    started = time.monotonic()
    meter = _Progress(progress, contacts)
    credentials_path = Path(settings.DATA_DIR) / CREDENTIALS_FILENAME
    known = _read_credentials(credentials_path)
    workspace = Workspace.objects.filter(slug=slug).first()
    if workspace is not None and Contact.objects.for_workspace(workspace).exists():
        if not if_absent:
            raise Conflict(
                f"Workspace '{slug}' already has data; use another slug or --if-absent.",
                code="demo-exists",
            )
        return DemoResult(
            workspace=workspace,
            created=False,
            anchor=anchor or timezone.localdate(),
            admin_email=ADMIN_EMAIL,
            admin_password=known.get(ADMIN_EMAIL),
            credentials_path=credentials_path,
        )
    tz = ZoneInfo(workspace.time_zone if workspace else "America/Sao_Paulo")
    anchor = anchor or datetime.now(tz).date()
    with _bulk_load_settings(contacts), transaction.atomic():
        if workspace is None:
            workspace = workspace_create(
                name=_workspace_name(slug), slug=slug, admin_email=ADMIN_EMAIL
            )
        meter.phase("users")
        passwords = _staff_setup(workspace, known)
        meter.phase("word pools")
        generator = _Generator(
            seed=seed,
            contacts=contacts,
            anchor_ts=int(datetime.combine(anchor, datetime.min.time(), tz).timestamp()),
            workspace=workspace,
            staff=passwords.users,
            chunk=chunk,
            parallel=parallel,
            before_fork=passwords.store,
        )
        counts = generator.load(meter=meter, rebuild_indexes_from=rebuild_indexes_from)
        for name, extension in _EXTENSIONS.items():
            meter.phase(name)
            counts.update(
                extension(
                    workspace=workspace,
                    staff=passwords.users,
                    anchor=anchor,
                    tz=tz,
                    seed=seed,
                    contacts=contacts,
                )
            )
        passwords.store()
        counts["admin_tasks"] = _admin_tasks(
            workspace, passwords.users[ADMIN_EMAIL], anchor=anchor, tz=tz, seed=seed
        )
        counts["tasks"] += counts["admin_tasks"]
        Event.objects.for_workspace(workspace).create(
            workspace=workspace,
            type="demo.loaded",
            subject_type="workspace",
            subject_id=workspace.pk,
            payload={"seed": seed, "contacts": contacts, "anchor": anchor.isoformat(), **counts},
            dispatched_at=timezone.now(),
        )
        transaction.on_commit(
            lambda: _write_credentials(
                credentials_path, known, passwords.new, workspace, seed, contacts, anchor
            )
        )
    meter.done()
    return DemoResult(
        workspace=workspace,
        created=True,
        anchor=anchor,
        admin_email=ADMIN_EMAIL,
        admin_password={**known, **passwords.new}.get(ADMIN_EMAIL),
        credentials_path=credentials_path,
        counts=counts,
        seconds=time.monotonic() - started,
    )


# --- output and credentials ----------------------------------------------------------------


# Counts of the demo extensions worth a word in the summary.
_MORE_COUNTS = {
    "leads": "leads",
    "deals": "deals",
    "quotes": "quotes",
    "orders": "orders",
    "products": "products",
}


def _print_result(result: DemoResult) -> None:
    ws = result.workspace
    if result.created:
        c = result.counts
        print(
            f'Demo workspace "{ws.name}" ({ws.slug}) ready in {result.seconds:.1f} s: '
            f"{c['contacts']:,} contacts, {c['accounts']:,} accounts, "
            f"{c['interactions']:,} interactions, {c['tasks']:,} tasks, {c['notes']:,} notes "
            f"(history up to {result.anchor.isoformat()})."
        )
        more = {k: v for k, v in c.items() if k in _MORE_COUNTS and v}
        if more:
            print("Also: " + ", ".join(f"{v:,} {_MORE_COUNTS[k]}" for k, v in more.items()) + ".")
    else:
        print(f'Demo workspace "{ws.name}" ({ws.slug}) already has data; nothing to do.')
    if result.admin_password:
        print(f"Log in as {result.admin_email} with password {result.admin_password}")
    else:
        print(f"Log in as {result.admin_email} (password not in {result.credentials_path})")
    print(
        f"Every demo login (manager, sales, marketing, service, read-only): "
        f"{result.credentials_path}"
    )


def _anchor_from_env() -> date | None:
    raw = os.environ.get(ANCHOR_ENV, "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"{ANCHOR_ENV} must be a date like 2026-11-01, not {raw!r}") from None


def _workspace_name(slug: str) -> str:
    return f"{slug.replace('-', ' ').replace('_', ' ').title()} Comércio Ltda"


def _read_credentials(path: Path) -> dict[str, str]:
    """email → password of the demo logins already handed out."""
    known: dict[str, str] = {}
    if not path.exists():
        return known
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) >= 3:
            known[parts[1]] = parts[2]
    return known


def _write_credentials(
    path: Path,
    known: dict[str, str],
    new: dict[str, str],
    workspace: Workspace,
    seed: int,
    contacts: int,
    anchor: date,
) -> None:
    """Append the workspace's logins; the file is created private (0600) before any secret is
    written to it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    existing = path.read_text(encoding="utf-8") if path.exists() else ""
    passwords = {**known, **new}
    lines = []
    if not existing:
        lines.append(
            "# Vínculo demo logins. Keep this file private; change the passwords before "
            "showing the demo to anyone.\n# workspace\temail\tpassword\trole\tname\n"
        )
    lines.append(
        f"# {workspace.slug}: seed={seed} contacts={contacts} anchor={anchor.isoformat()}\n"
    )
    for email, name, role, _team in STAFF:
        lines.append(f"{workspace.slug}\t{email}\t{passwords[email]}\t{role}\t{name}\n")
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        os.fchmod(out.fileno(), 0o600)
        out.write(existing + "".join(lines))
    tmp.replace(path)


@dataclass
class _StaffPasswords:
    users: dict[str, User]  # email → user
    new: dict[str, str]  # passwords generated (or reset) by this run
    hashes: dict[str, Future[str]]  # their hashes, computed in background threads
    hasher: ThreadPoolExecutor

    def store(self) -> None:
        """Write the password hashes once computed. PBKDF2 takes about half a second per
        password and releases the GIL, so they are computed while the data is generated."""
        for email, future in self.hashes.items():
            User.objects.filter(pk=self.users[email].pk).update(password=future.result())
        self.hashes = {}
        self.hasher.shutdown(wait=True)  # no thread may be left when the generator forks


def _staff_setup(workspace: Workspace, known: dict[str, str]) -> _StaffPasswords:
    """Users in every role and the two sales teams. A demo user whose password is not in the
    credentials file gets a new one, so every login printed works."""
    users = {u.email: u for u in User.objects.filter(email__in=[s[0] for s in STAFF])}
    new = {
        email: secrets.token_urlsafe(12)
        for email, *_ in STAFF
        if email not in known or email not in users
    }
    hasher = ThreadPoolExecutor(max_workers=2, thread_name_prefix="demo-passwords")
    hashes = {email: hasher.submit(make_password, password) for email, password in new.items()}
    teams: dict[str, Team] = {}
    for email, name, role, team_name in STAFF:
        user = users.get(email)
        if user is None:
            user = User(email=email, full_name=name, language="pt-br")
            user.set_unusable_password()  # until `_StaffPasswords.store`
            user.save()
        elif not user.full_name:
            # The admin is made by `workspace_create`, with its email alone.
            user.full_name = name
            user.save(update_fields=["full_name"])
        users[email] = user
        membership_add(workspace=workspace, user=user, role=role)
        if team_name:
            team = teams.get(team_name)
            if team is None:
                team, _ = Team.objects.for_workspace(workspace).get_or_create(
                    workspace=workspace, name=team_name, defaults={"lead": user}
                )
                teams[team_name] = team
            TeamMember.objects.for_workspace(workspace).get_or_create(
                workspace=workspace, team=team, user=user
            )
    return _StaffPasswords(users=users, new=new, hashes=hashes, hasher=hasher)


ADMIN_TASKS = 9


def _admin_tasks(
    workspace: Workspace, admin: User, *, anchor: date, tz: ZoneInfo, seed: int
) -> int:
    """A few open tasks for the demo's admin (overdue, today, coming days), so that the first
    person to log in finds "My tasks" in use. The rest of the demo's tasks belong to the reps."""
    from vinculo.timeline.models import Task, TaskStatus

    rng = Random(seed * 7919 + 17)
    first = list(
        Contact.objects.for_workspace(workspace)
        .order_by("id")
        .values_list("id", "account_id", "first_name", "account__name")[: ADMIN_TASKS * 40]
    )
    rows = first[:: max(1, len(first) // ADMIN_TASKS)][:ADMIN_TASKS]
    midnight = datetime.combine(anchor, datetime.min.time(), tz)
    tasks = []
    for i, (contact_id, account_id, first_name, company) in enumerate(rows):
        # Three overdue, three due today, three in the coming week.
        days = (-1 - i) if i < 3 else 0 if i < 6 else i - 4
        due = midnight + timedelta(days=days, hours=9 + rng.randrange(9))
        title = words.TASKS_PT[rng.randrange(len(words.TASKS_PT))]
        made = midnight - timedelta(days=7 + rng.randrange(20))
        tasks.append(
            Task(
                workspace=workspace,
                contact_id=contact_id,
                account_id=account_id,
                title=title.format(first=first_name or company, company=company or first_name),
                due_at=due,
                assignee=admin,
                status=TaskStatus.OPEN,
                created_by=admin,
                created_at=made,
                updated_at=made,
            )
        )
    Task.objects.for_workspace(workspace).bulk_create(tasks)
    return len(tasks)


# --- database plumbing ---------------------------------------------------------------------


@contextmanager
def _bulk_load_settings(contacts: int) -> Iterator[None]:
    """SQLite settings for a bulk load, restored afterwards. Durability of each commit does not
    matter here: the load is one transaction that is simply run again if the machine dies."""
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        yield
        return
    connection.ensure_connection()
    cursor = connection.connection.cursor()
    saved = {
        name: cursor.execute(f"PRAGMA {name}").fetchone()[0]
        for name in ("synchronous", "cache_size", "temp_store", "threads")
    }
    # A page cache as large as the load (about 2.5 kB a contact with its history, within a
    # third of the memory) keeps it from spilling to the WAL before the commit writes it once.
    try:
        memory_kib = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 1024
    except (ValueError, OSError, AttributeError):
        memory_kib = 3_000_000
    cache_kib = max(256_000, min(contacts * 25 // 10, memory_kib // 3))
    for statement in (
        "synchronous=OFF",
        f"cache_size=-{cache_kib}",
        "temp_store=MEMORY",
        # Helper threads for the sorts of CREATE INDEX, when the indexes are rebuilt.
        f"threads={min(4, os.cpu_count() or 1)}",
    ):
        cursor.execute(f"PRAGMA {statement}")
    # Out of WAL for the load when nobody else has the database open: the commit then writes
    # each page once into the database instead of into the WAL and again at the checkpoint
    # (13 s of a 1,000,000-contact load). New pages need no rollback journal, so an
    # interrupted load still rolls back cleanly.
    left_wal = False
    if cursor.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
        try:
            left_wal = cursor.execute("PRAGMA journal_mode=DELETE").fetchone()[0] == "delete"
        except sqlite3.OperationalError:
            left_wal = False  # another connection holds it; stay in WAL
    try:
        yield
    finally:
        if left_wal:
            cursor.execute("PRAGMA journal_mode=WAL")
        for name, value in saved.items():
            cursor.execute(f"PRAGMA {name}={value}")
        cursor.close()


class _Writer:
    """Inserts rows of tuples: `executemany` on SQLite, `COPY` on PostgreSQL. Both run plain
    INSERTs as far as triggers and constraints are concerned.

    Table names in the SQL below come from this module's constants, never from input (S608).
    """

    def __init__(self) -> None:
        connection.ensure_connection()
        self.vendor = connection.vendor
        self.raw = connection.connection
        self.cursor = self.raw.cursor()
        # SQLite stores naive UTC text; PostgreSQL needs the offset.
        self.tz_suffix = "" if self.vendor == "sqlite" else "+00"

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
        if not rows:
            return
        cols = ", ".join(f'"{c}"' for c in columns)
        if self.vendor == "postgresql":
            with self.cursor.copy(f'COPY "{table}" ({cols}) FROM STDIN') as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            # Many rows per INSERT statement rather than `executemany` of one-row statements:
            # the FTS5 search index behind the contacts' trigger flushes its pending terms at
            # every statement, which made one-row statements cost four times as much.
            per = max(1, _SQLITE_MAX_PARAMS // len(columns))
            one = "(" + ", ".join(["?"] * len(columns)) + ")"
            head = f'INSERT INTO "{table}" ({cols}) VALUES '  # noqa: S608
            full = head + ", ".join([one] * per)
            for start in range(0, len(rows), per):
                part = rows[start : start + per]
                sql = full if len(part) == per else head + ", ".join([one] * len(part))
                self.cursor.execute(sql, list(itertools.chain.from_iterable(part)))

    def update_many(self, sql: str, rows: Sequence[tuple[Any, ...]]) -> None:
        if rows:
            marks = sql if self.vendor != "sqlite" else sql.replace("%s", "?")
            self.cursor.executemany(marks, rows)

    def next_id(self, table: str) -> int:
        """First free id of `table`. The load holds the write lock (SQLite's IMMEDIATE
        transaction; a table lock on PostgreSQL), so nobody else takes ids meanwhile."""
        if self.vendor == "sqlite":
            row = self.cursor.execute(
                "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = ?), 0), "  # noqa: S608
                f'coalesce((SELECT max(id) FROM "{table}"), 0))',
                (table,),
            ).fetchone()
            return int(row[0]) + 1
        self.cursor.execute(f'LOCK TABLE "{table}" IN SHARE ROW EXCLUSIVE MODE')
        self.cursor.execute(
            f'SELECT greatest(coalesce((SELECT max(id) FROM "{table}"), 0), '  # noqa: S608
            f"(SELECT last_value FROM pg_sequences WHERE schemaname = current_schema() "
            f"AND sequencename = split_part(pg_get_serial_sequence(%s, 'id'), '.', 2)))",
            (table,),
        )
        return int(self.cursor.fetchone()[0] or 0) + 1

    def sync_sequence(self, table: str) -> None:
        if self.vendor == "postgresql":
            self.cursor.execute(
                "SELECT setval(pg_get_serial_sequence(%s, 'id'), "  # noqa: S608
                f'(SELECT max(id) FROM "{table}"))',
                (table,),
            )

    def analyze(self, tables: Sequence[str]) -> None:
        """Refresh the planner's statistics. Without them, after a bulk load, SQLite picked a
        scan of every contact's tag links for the tags of one page of contacts (200 ms instead
        of 0.4 ms at 1,000,000 contacts)."""
        if self.vendor == "sqlite":
            # Sampling keeps this under a second at a million rows; exact counts add nothing.
            self.cursor.execute("PRAGMA analysis_limit=1000")
            self.cursor.execute("ANALYZE")
            self.cursor.execute("PRAGMA analysis_limit=0")
        else:
            for table in tables:
                self.cursor.execute(f'ANALYZE "{table}"')

    def table_is_small(self, table: str, rows_to_add: int) -> bool:
        sql = f'SELECT count(*) FROM (SELECT 1 FROM "{table}" LIMIT {int(rows_to_add)}) AS t'  # noqa: S608
        self.cursor.execute(sql)
        return int(self.cursor.fetchone()[0]) < rows_to_add

    @contextmanager
    def immediate_constraints(self) -> Iterator[None]:
        """PostgreSQL: check foreign keys at the end of each COPY rather than at commit. Django
        declares them deferred; deferred, a million-row load queues millions of pending checks
        in memory, and an index cannot be created while any are pending."""
        if self.vendor != "postgresql":
            yield
            return
        self.cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        yield
        self.cursor.execute("SET CONSTRAINTS ALL DEFERRED")

    @contextmanager
    def indexes_rebuilt(self, tables: Sequence[str]) -> Iterator[None]:
        """Drop the secondary indexes of `tables` and create them again at the end. Runs inside
        the load's transaction: if the load fails, the indexes come back with the rollback.

        On SQLite, indexes that the load fills in key order (see `_index_grows_in_order`) stay:
        keeping them costs little while the rows go in, when this process often waits for the
        generator anyway, and saves rebuilding them afterwards, when nothing runs alongside."""
        saved: list[str] = []
        for table in tables:
            if self.vendor == "sqlite":
                found = [
                    (name, sql)
                    for name, sql in self.cursor.execute(
                        "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                        "AND tbl_name = ? AND sql IS NOT NULL",
                        (table,),
                    ).fetchall()
                    if not _index_grows_in_order(table, self._index_columns(name))
                ]
            else:
                # Indexes that back a constraint (primary key, unique) stay.
                self.cursor.execute(
                    "SELECT indexname, indexdef FROM pg_indexes "
                    "WHERE schemaname = current_schema() AND tablename = %s AND indexname NOT IN "
                    "(SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)",
                    (table, f'"{table}"'),
                )
                found = self.cursor.fetchall()
            for name, sql in found:
                self.cursor.execute(f'DROP INDEX "{name}"')
                saved.append(sql)
        yield
        for sql in saved:
            self.cursor.execute(sql)

    def _index_columns(self, index: str) -> list[str | None]:
        rows = self.cursor.execute(f'PRAGMA index_info("{index}")').fetchall()
        return [name for _seq, _cid, name in sorted(rows)]


# Columns with a handful of distinct values in the demo data (None: an expression), and columns
# that grow with the order rows are inserted in. An index whose key is some of the former
# followed by one of the latter receives its entries at a few places that stay in the cache;
# others receive them all over the tree, and are cheaper to build once from sorted data.
_FEW_VALUES = frozenset(
    {
        "workspace_id", "owner_id", "created_by_id", "author_id", "assignee_id", "tag_id",
        "deleted_at", "external_id", "source", "country", "state", "city", "industry", "size",
        "language", "lifecycle_stage", "channel", "direction", "status",
    }
)  # fmt: skip
_INSERT_ORDER = {
    "contacts_account": frozenset({"id", "created_at", "updated_at"}),
    "contacts_accounttag": frozenset({"id", "account_id"}),
    "contacts_contact": frozenset({"id", "created_at"}),
    "contacts_contacttag": frozenset({"id", "contact_id"}),
    "timeline_interaction": frozenset({"id", "contact_id"}),
    "timeline_task": frozenset({"id", "contact_id"}),
    "timeline_note": frozenset({"id", "contact_id"}),
}


def _index_grows_in_order(table: str, columns: Sequence[str | None]) -> bool:
    rest = list(columns)
    while rest and rest[0] in _FEW_VALUES:
        rest.pop(0)
    return not rest or rest[0] in _INSERT_ORDER.get(table, frozenset())


# --- the generator -------------------------------------------------------------------------

CONTACT_COLUMNS = (
    "id", "workspace_id", "owner_id", "created_by_id", "account_id", "first_name", "last_name",
    "email", "emails", "phone", "phones", "job_title", "birthdate", "language",
    "lifecycle_stage", "source", "street", "city", "state", "postal_code", "country",
    "custom_fields", "external_id", "sort_name", "search_document", "last_activity_at",
    "created_at", "updated_at",
)  # fmt: skip
_C_EMAIL, _C_EMAILS, _C_PHONE, _C_PHONES = 7, 8, 9, 10
_C_SEARCH = 24
ACCOUNT_COLUMNS = (
    "id", "workspace_id", "owner_id", "created_by_id", "name", "domain", "industry", "size",
    "phone", "website", "street", "city", "state", "postal_code", "country", "custom_fields",
    "external_id", "sort_name", "search_document", "created_at", "updated_at",
)  # fmt: skip
INTERACTION_COLUMNS = (
    "workspace_id", "contact_id", "account_id", "channel", "direction", "occurred_at",
    "subject", "body", "outcome", "duration_seconds", "author_id", "created_at", "updated_at",
)  # fmt: skip
TASK_COLUMNS = (
    "workspace_id", "contact_id", "account_id", "title", "description", "due_at",
    "reminder_at", "reminded_at", "assignee_id", "status", "completed_at", "created_by_id",
    "created_at", "updated_at",
)  # fmt: skip
NOTE_COLUMNS = (
    "workspace_id", "contact_id", "account_id", "body", "author_id", "pinned", "created_at",
    "updated_at",
)  # fmt: skip
TAG_LINK_COLUMNS = ("workspace_id", "contact_id", "tag_id")
ACCOUNT_TAG_COLUMNS = ("workspace_id", "account_id", "tag_id")

_PARTICLES = frozenset({"da", "de", "do", "das", "dos", "e"})
_SIZES = ("1-10", "11-50", "51-200", "201-1000", "1001+")
_STAGES = (
    LifecycleStage.SUBSCRIBER.value,
    LifecycleStage.LEAD.value,
    LifecycleStage.OPPORTUNITY.value,
    LifecycleStage.CUSTOMER.value,
    LifecycleStage.CHURNED.value,
)
# Cumulative stage weights by age of the contact: under 30 days, under 180 days, older.
_STAGE_CUM = (
    (0.35, 0.8, 0.95, 1.0, 1.0),
    (0.15, 0.5, 0.7, 0.97, 1.0),
    (0.1, 0.3, 0.4, 0.85, 1.0),
)
# How busy a contact's timeline is next to the average, by stage.
_STAGE_ACTIVITY = (0.35, 0.7, 1.4, 1.35, 0.9)
# Offset from UTC of business hours, by US state (standard time; close enough for a demo).
_US_UTC_OFFSET = {"NY": -5, "PA": -5, "MA": -5, "GA": -5, "FL": -5, "IL": -6, "TX": -6,
                  "CO": -7, "AZ": -7, "CA": -8, "WA": -8}  # fmt: skip
# Channels people use at weekends too; the others move to a weekday.
_ANY_DAY_CHANNELS = frozenset({"web", "chat", "social", "portal"})


def history_depth(contacts: int) -> float:
    """Average interactions per contact: a rich history for small demos (15 at `make run`'s
    2,000), thinning to 2 at 1,000,000 so the load stays within its time budget."""
    if contacts <= 5000:
        return 15.0
    return max(2.0, 15.0 * (contacts / 5000) ** (-math.log(7.5) / math.log(200)))


def _cum(weights: Sequence[float]) -> list[float]:
    return list(itertools.accumulate(weights))


def _pick(rng: Random, items: Sequence[Any], cum: Sequence[float]) -> Any:
    return items[bisect.bisect(cum, rng.random() * cum[-1])]


# The word splitting of `contacts.search` (unicode61's: letters and digits).
_WORD_RE = re.compile(r"[^\W_]+")


@lru_cache(maxsize=262_144)
def _words(text: str) -> tuple[str, ...]:
    return tuple(_WORD_RE.findall(normalize_text(text)))


@lru_cache(maxsize=262_144)
def _sort_name(first_name: str, last_name: str) -> str:
    # Demo contacts always have both names, so the email fallback never applies.
    return contact_sort_name(first_name=first_name, last_name=last_name, email="")


def _contact_document(
    first_name: str, last_name: str, emails: Sequence[str], phones: Sequence[str], company: str
) -> str:
    """`contacts.search.contact_search_document`, from cached words of the names and the
    company, which repeat across a million contacts (computing them every time was a quarter
    of the cost of generating a contact). tests/test_demo.py holds the two equal on every
    generated contact."""
    words = [*_words(first_name), *_words(last_name)]
    for email in emails:
        words += _WORD_RE.findall(email.lower())  # emails here are ASCII without spaces
    for phone in phones:
        for term in phone_search_terms(phone):
            words += _WORD_RE.findall(term)
    words += _words(company)
    return " ".join(dict.fromkeys(words))


def _draw(r: Callable[[], float], items: Sequence[Any]) -> Any:
    """`Random.choice` at a third of the cost (no rejection sampling; the bias of a float
    draw is far below anything a demo could show)."""
    return items[int(r() * len(items))]


def _json_strings(values: Sequence[str]) -> str:
    """`json.dumps` of a list of emails or E.164 numbers, which need no escaping."""
    return '["' + '", "'.join(values) + '"]' if values else "[]"


@lru_cache(maxsize=65536)
def _email_local(first: str, last: str) -> tuple[str, str]:
    """ASCII first name and last surname for an email address ("José da Silva" → jose, silva)."""
    f = "".join(ch for ch in normalize_text(first) if ch.isalnum())
    surnames = [p for p in normalize_text(last).split() if p not in _PARTICLES]
    return f, ("".join(ch for ch in surnames[-1] if ch.isalnum()) if surnames else "")


def _valid_cnpj(rng: Random) -> str:
    """A CNPJ with correct check digits (mod 11), formatted 00.000.000/0001-00."""
    digits = [rng.randrange(10) for _ in range(8)] + [0, 0, 0, 1]
    for weights in ((5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2), (6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2)):
        rest = sum(d * w for d, w in zip(digits, weights, strict=True)) % 11
        digits.append(0 if rest < 2 else 11 - rest)
    s = "".join(map(str, digits))
    return f"{s[:2]}.{s[2:5]}.{s[5:8]}/{s[8:12]}-{s[12:]}"


@dataclass
class _Pools:
    """What Faker contributes, generated once per seed."""

    female_pt: list[str]
    male_pt: list[str]
    last_pt: list[str]
    first_en: list[str]
    last_en: list[str]
    street_pt: list[str]
    street_en: list[str]
    job_other_pt: list[str]
    company_en: list[str]

    @classmethod
    @lru_cache(maxsize=4)
    def build(cls, seed: int) -> _Pools:
        from faker import Faker

        pt = Faker("pt_BR")
        en = Faker("en_US")
        pt.seed_instance(seed)
        en.seed_instance(seed)

        def unique(make: Callable[[], str], n: int) -> list[str]:
            return sorted({make() for _ in range(n)})

        return cls(
            female_pt=[pt.first_name_female() for _ in range(3000)],
            male_pt=[pt.first_name_male() for _ in range(3000)],
            last_pt=[pt.last_name() for _ in range(3000)],
            first_en=[en.first_name() for _ in range(3000)],
            last_en=[en.last_name() for _ in range(3000)],
            street_pt=unique(pt.street_address, 12000),
            street_en=unique(en.street_address, 3000),
            job_other_pt=unique(pt.job, 1500),
            company_en=unique(en.company, 3000),
        )


@dataclass
class _Account:
    id: int
    name: str
    domain: str
    city: places.City
    utc_offset: int
    english: bool
    owner_id: int
    created_ts: int
    size: int  # index into _SIZES


class _Generator:
    def __init__(
        self,
        *,
        seed: int,
        contacts: int,
        anchor_ts: int,
        workspace: Workspace,
        staff: dict,
        chunk: int = CHUNK,
        parallel: bool | None = None,
        before_fork: Callable[[], None] = lambda: None,
    ) -> None:
        self.seed = seed
        # Threads must be done before fork(): a child inherits none of them, only their locks.
        self.before_fork = before_fork
        self.waited = 0.0  # seconds this process waited for the generating child
        self.chunk = chunk
        self.parallel = (
            parallel
            if parallel is not None
            else (
                contacts >= PARALLEL_FROM
                and (os.cpu_count() or 1) > 1
                and "fork" in multiprocessing.get_all_start_methods()
            )
        )
        self.n = contacts
        self.anchor_ts = anchor_ts
        self.start_ts = anchor_ts - HISTORY_DAYS * 86400
        self.ws_id = workspace.pk
        self.workspace = workspace
        self.depth = history_depth(contacts)
        self.n_accounts = max(3, contacts // 7)
        self.reps_south = [staff[e].pk for e, _, _r, t in STAFF if t == _TEAM_SOUTH]
        self.reps_north = [staff[e].pk for e, _, _r, t in STAFF if t == _TEAM_NORTH]
        self.all_reps = self.reps_south + self.reps_north
        self.manager_id = staff["mariana.costa@example.com"].pk
        self.marketing_id = staff["fernanda.oliveira@example.com"].pk
        self.service_ids = [staff[e].pk for e, _, r, _t in STAFF if r == Role.SERVICE]
        self.admin_id = staff[ADMIN_EMAIL].pk
        self.pools = _Pools.build(seed)
        self.br_cum = _cum([c[5] for c in places.BRAZIL])
        self.us_cum = _cum([c[5] for c in places.UNITED_STATES])
        self.seen_emails: set[str] = set()
        self.seen_phones: set[str] = set()
        self.account_activity: dict[int, int] = {}
        self.tag_ids: list[int] = []
        self._kinds = {lang: self._prepare_kinds(k) for lang, k in
                       (("pt", words.KINDS_PT), ("en", words.KINDS_EN))}  # fmt: skip
        self._source_cum = _cum([w for _, w in words.SOURCES])
        self.contact_custom_pool = self._contact_custom_pool()
        self._mail_pt_cum = _cum([w for _, w in words.FREE_MAIL_PT])
        self._mail_en_cum = _cum([w for _, w in words.FREE_MAIL_EN])

    # Random streams: one per purpose and chunk, derived from the seed by name (Random hashes
    # str seeds with SHA-512, so they do not depend on PYTHONHASHSEED).
    def _rng(self, purpose: str, part: int = 0) -> Random:
        return Random(f"vinculo-demo/{self.seed}/{purpose}/{part}")

    @staticmethod
    def _prepare_kinds(kinds: Sequence[words.Kind]) -> tuple[list[Any], list[float], list[bool]]:
        prepared = []
        for channel, direction, _w, subjects, openings, closings, outcomes in kinds:
            bodies = [f"{a} {b}".strip() for a in openings for b in closings]
            # Who logs it: nobody for web visits, the service desk for inbound support
            # channels, the contact's owner otherwise.
            if channel == "web":
                by = ""
            elif direction == "inbound" and channel in ("portal", "chat", "phone"):
                by = "service"
            else:
                by = "owner"
            prepared.append(
                (channel, direction, subjects, bodies, outcomes, _cum([o[1] for o in outcomes]), by)
            )
        any_day = [k[0] in _ANY_DAY_CHANNELS for k in kinds]
        return prepared, _cum([k[2] for k in kinds]), any_day

    # -- time helpers

    def _time_text(self) -> tuple[list[str], list[str], int]:
        """Text of every day of the history (and a little around it) and of every second of a
        day, so formatting a timestamp is two list lookups and a concatenation."""
        first_day = self.start_ts // 86400 - 400
        last_day = self.anchor_ts // 86400 + 400
        epoch = datetime(1970, 1, 1, tzinfo=UTC)
        days = [
            (epoch + timedelta(days=d)).strftime("%Y-%m-%d ") for d in range(first_day, last_day)
        ]
        suffix = self.writer.tz_suffix
        secs = [f"{h:02d}:{m:02d}:{s:02d}{suffix}" for h in range(24) for m in range(60)
                for s in range(60)]  # fmt: skip
        return days, secs, first_day

    def ts_text(self, ts: int) -> str:
        day, sec = divmod(ts, 86400)
        return self._days[day - self._day0] + self._secs[sec]

    # -- the load

    def load(self, *, meter: _Progress, rebuild_indexes_from: int) -> dict[str, int]:
        self.writer = _Writer()
        self._days, self._secs, self._day0 = self._time_text()
        self.birth_days = self._birthdates()
        w = self.writer
        self._tags_and_fields()
        n, depth = self.n, self.depth
        expected_rows = {
            "contacts_account": self.n_accounts,
            "contacts_accounttag": self.n_accounts // 3,
            "contacts_contact": n,
            "contacts_contacttag": n // 2,
            "timeline_interaction": int(n * depth),
            "timeline_task": int(n * depth * 0.13),
            "timeline_note": int(n * depth * 0.09),
        }
        rebuild = [
            table
            for table, rows in expected_rows.items()
            if rows >= rebuild_indexes_from and w.table_is_small(table, rows)
        ]
        self.account_base = w.next_id("contacts_account")
        self.contact_base = w.next_id("contacts_contact")
        counts = dict.fromkeys(("accounts", "contacts", "interactions", "tasks", "notes"), 0)
        with w.immediate_constraints(), w.indexes_rebuilt(rebuild):
            meter.phase("accounts")
            accounts, account_rows, account_tags = self._accounts()
            w.insert("contacts_account", ACCOUNT_COLUMNS, account_rows)
            w.insert("contacts_accounttag", ACCOUNT_TAG_COLUMNS, account_tags)
            counts["accounts"] = len(account_rows)
            del account_rows, account_tags
            self.accounts = accounts
            self._account_cum = self._account_weights()
            meter.phase("contacts")
            for batch in self._batches():
                for account_id, ts in batch.activity.items():
                    if ts > self.account_activity.get(account_id, 0):
                        self.account_activity[account_id] = ts
                w.insert("contacts_contact", CONTACT_COLUMNS, batch.contacts)
                w.insert("contacts_contacttag", TAG_LINK_COLUMNS, batch.tags)
                w.insert("timeline_interaction", INTERACTION_COLUMNS, batch.interactions)
                w.insert("timeline_task", TASK_COLUMNS, batch.tasks)
                w.insert("timeline_note", NOTE_COLUMNS, batch.notes)
                counts["contacts"] += len(batch.contacts)
                counts["interactions"] += len(batch.interactions)
                counts["tasks"] += len(batch.tasks)
                counts["notes"] += len(batch.notes)
                meter.update(counts)
            meter.waited = self.waited
            meter.phase("account activity")
            w.update_many(
                "UPDATE contacts_account SET last_activity_at = %s WHERE id = %s",
                [
                    (self.ts_text(ts), acc_id)
                    for acc_id, ts in sorted(self.account_activity.items())
                ],
            )
            meter.phase("indexes")
        for table in ("contacts_account", "contacts_contact"):
            w.sync_sequence(table)
        meter.phase("statistics")
        w.analyze(list(expected_rows))
        meter.phase("commit")
        return counts

    def _birthdates(self) -> list[str]:
        anchor_day = self.anchor_ts // 86400
        epoch = date(1970, 1, 1)
        return [
            (epoch + timedelta(days=d)).isoformat()
            for d in range(anchor_day - 72 * 365, anchor_day - 19 * 365)
        ]

    def _tags_and_fields(self) -> None:
        for name, color in words.TAGS:
            tag, _ = Tag.objects.for_workspace(self.workspace).get_or_create(
                workspace=self.workspace, name=name, defaults={"color": color}
            )
            self.tag_ids.append(tag.pk)
        for position, (obj, key, label, kind, choices) in enumerate(words.CUSTOM_FIELDS):
            CustomFieldDefinition.objects.for_workspace(self.workspace).get_or_create(
                workspace=self.workspace,
                object_type=obj,
                key=key,
                defaults={
                    "label": label,
                    "field_type": kind,
                    "choices": list(choices),
                    "position": position,
                },
            )

    # -- accounts

    def _accounts(self) -> tuple[list[_Account], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        rng = self._rng("accounts")
        p = self.pools
        names: set[str] = set()
        domains: set[str] = set()
        accounts: list[_Account] = []
        rows: list[tuple[Any, ...]] = []
        tag_rows: list[tuple[Any, ...]] = []
        suffixes = [s for s, _ in words.BR_SUFFIXES]
        suffix_cum = _cum([w for _, w in words.BR_SUFFIXES])
        industry_cum = _cum([1.0] * len(words.INDUSTRIES))
        erp = words.CUSTOM_FIELDS[6][4]
        for j in range(self.n_accounts):
            english = rng.random() < 0.1
            industry = _pick(rng, words.INDUSTRIES, industry_cum)
            for attempt in itertools.count():
                if english:
                    base = rng.choice(p.company_en)
                    name = base if attempt < 3 else f"{base} {attempt}"
                else:
                    base = self._company_name_pt(rng, industry)
                    suffix = _pick(rng, suffixes, suffix_cum)
                    name = f"{base} {suffix}".strip() if attempt < 5 else f"{base} {attempt}"
                key = normalize_text(name)
                if key not in names:
                    names.add(key)
                    break
            stem = slugify(base).replace("-", "")[:40] or "empresa"
            tld = ".com" if english else rng.choice((".com.br", ".com.br", ".com.br", ".com"))
            domain = f"{stem}{tld}"
            n = 2
            while domain in domains:
                domain = f"{stem}{n}{tld}"
                n += 1
            domains.add(domain)
            if english:
                city = _pick(rng, places.UNITED_STATES, self.us_cum)
                offset = _US_UTC_OFFSET[city[1]]
                phone = f"+1{city[2]}{self._us_exchange(rng)}{rng.randrange(10000):04d}"
                postal = f"{rng.randint(city[3], city[4]):05d}"
                street = rng.choice(p.street_en)
                country = "US"
            else:
                city = _pick(rng, places.BRAZIL, self.br_cum)
                offset = -3
                phone = f"+55{city[2]}{rng.randint(2, 5)}{rng.randrange(10**7):07d}"
                postal = f"{rng.randint(city[3], city[4]):05d}-{rng.randrange(1000):03d}"
                street = rng.choice(p.street_pt)
                country = "BR"
            # Account j is created at the same point of the growth curve as contact j*n/A, so
            # every contact can join an account that existed before it.
            created = self._created_ts(rng, j / self.n_accounts)
            owner = self._owner_for_region(rng, city[1], english)
            size = min(4, int(rng.random() ** 1.5 * 5))
            custom: dict[str, Any] = {}
            if not english:
                custom["cnpj"] = _valid_cnpj(rng)
            if rng.random() < 0.6:
                custom["annual_revenue"] = f"{rng.randint(2, 5000) * 10000}.00"
            if rng.random() < 0.5:
                custom["erp"] = rng.choice(erp)
            if rng.random() < 0.4:
                custom["contract_renewal"] = self._days[
                    (self.anchor_ts // 86400) + rng.randint(-30, 365) - self._day0
                ].strip()
            account_id = self.account_base + j
            accounts.append(
                _Account(account_id, name, domain, city, offset, english, owner, created, size)
            )
            industry_label = industry[1] if english else industry[0]
            created_text = self.ts_text(created)
            rows.append(
                (
                    account_id, self.ws_id, owner, owner, name, domain, industry_label,
                    _SIZES[size], phone, f"https://www.{domain}", street, city[0], city[1],
                    postal, country,
                    json.dumps(custom), "", account_sort_name(name=name),
                    account_search_document(name=name, domain=domain, phone=phone),
                    created_text, created_text,
                )
            )  # fmt: skip
            for tag_index in self._tags_for(rng, 0.25):
                tag_rows.append((self.ws_id, account_id, self.tag_ids[tag_index]))
        return accounts, rows, tag_rows

    def _company_name_pt(self, rng: Random, industry: tuple[str, str, tuple[str, ...]]) -> str:
        family = rng.choice(self.pools.last_pt)
        trade = rng.choice(industry[2])
        style = rng.random()
        if style < 0.35:
            return f"{family} {trade}"
        if style < 0.6:
            return f"{trade} {family}"
        if style < 0.85:
            return f"{rng.choice(words.BRANDS)} {trade}"
        return f"{family} & {rng.choice(self.pools.last_pt)} {trade}"

    @staticmethod
    def _us_exchange(rng: Random) -> int:
        exchange = 200 + int(rng.random() * 800)
        # N11 codes and 555 are not assigned to subscribers.
        return exchange + 1 if exchange % 100 == 11 or exchange == 555 else exchange

    def _owner_for_region(self, rng: Random, state: str, english: bool) -> int:
        x = rng.random()
        if x < 0.06:
            return self.manager_id
        reps = self.reps_south if english or state in places.SOUTH_SOUTHEAST else self.reps_north
        return _draw(rng.random, reps)

    def _created_ts(self, rng: Random, fraction: float) -> int:
        # Business grows: fraction**0.7 puts more new records in the recent months.
        return self.start_ts + int(
            (HISTORY_DAYS * 86400 - 86400) * fraction**0.7 + rng.random() * 86400
        )

    def _tags_for(self, rng: Random, p: float) -> list[int]:
        r = rng.random
        if r() >= p:
            return []
        n = len(self.tag_ids)
        first = int(r() * n)
        if r() < 0.7:
            return [first]
        # A second (and maybe third) tag, distinct from the first.
        more = {first, (first + 1 + int(r() * (n - 1))) % n}
        if r() < 0.2:
            more.add((first + 1 + int(r() * (n - 1))) % n)
        return sorted(more)

    def _account_weights(self) -> list[float]:
        """Bigger companies get more of the contacts."""
        weight = (1.0, 2.0, 4.0, 7.0, 12.0)
        return _cum([weight[a.size] for a in self.accounts])

    # -- contacts and their history

    def _batches(self) -> Iterator[_Batch]:
        """The contact chunks in order. On a machine with a second core and `fork`, a child
        process generates them while this one writes, which nearly halves a large load; the
        rows are the same either way, since each chunk has its own random stream."""
        chunks = range((self.n + self.chunk - 1) // self.chunk)
        if not self.parallel or len(chunks) < 3:
            yield from map(self._contact_chunk, chunks)
            return
        self.before_fork()
        global _FORKED_GENERATOR  # read by the forked child
        _FORKED_GENERATOR = self
        pending: deque[AsyncResult[_Batch]] = deque()
        try:
            # The child never touches the inherited database connection and leaves with
            # os._exit, so it cannot close or disturb the parent's transaction.
            with multiprocessing.get_context("fork").Pool(1) as pool:
                for chunk_no in chunks:
                    pending.append(pool.apply_async(_forked_chunk, (chunk_no,)))
                    # A short queue keeps both processes busy without holding the whole
                    # load in memory when writing is the slower side.
                    if len(pending) >= 3:
                        yield self._receive(pending.popleft())
                while pending:
                    yield self._receive(pending.popleft())
        finally:
            _FORKED_GENERATOR = None

    def _receive(self, result: AsyncResult[_Batch]) -> _Batch:
        started = time.monotonic()
        batch = result.get()
        self.waited += time.monotonic() - started
        return batch

    def _contact_chunk(self, chunk_no: int) -> _Batch:
        rng = self._rng("contacts", chunk_no)
        batch = _Batch()
        first = chunk_no * self.chunk
        for i in range(first, min(self.n, first + self.chunk)):
            self._contact(rng, i, batch)
        # Chunks come in order from one process (this one, or the one generating child), so
        # the uniqueness sets see every earlier chunk: the result does not depend on which.
        self._deduplicate(batch.contacts)
        return batch

    # The methods below run once per generated row. They draw with `random()` and index
    # arithmetic rather than `choice`/`randint`, which cost several times more per call and
    # dominated the profile of a 1,000,000-contact load.

    def _contact(self, rng: Random, i: int, batch: _Batch) -> None:
        r = rng.random
        p = self.pools
        ws = self.ws_id
        fraction = (i + r()) / self.n
        created = self._created_ts(rng, fraction)
        account: _Account | None = None
        if r() < 0.72:
            eligible = max(1, min(self.n_accounts, int(fraction * self.n_accounts) + 1))
            cum = self._account_cum
            account = self.accounts[bisect.bisect(cum, r() * cum[eligible - 1])]
            english = account.english
        else:
            english = r() < 0.08
        female = r() < 0.5
        if english:
            first_name = _draw(r, p.first_en)
            last_name = _draw(r, p.last_en)
            language = "en"
        else:
            first_name = _draw(r, p.female_pt if female else p.male_pt)
            last_name = _draw(r, p.last_pt)
            if r() < 0.4:
                last_name = f"{_draw(r, p.last_pt)} {last_name}"
            language = "pt-br"
        # Place, owner and phone follow the account; people without one live anywhere.
        if account is not None:
            city, offset = account.city, account.utc_offset
            owner: int | None = account.owner_id if r() < 0.9 else None
            job = (
                _draw(r, words.JOB_TITLES_EN) if english else _draw(r, words.JOB_TITLES_PT)[female]
            )
        elif english:
            city = _pick(rng, places.UNITED_STATES, self.us_cum)
            offset = _US_UTC_OFFSET[city[1]]
            owner = None
            job = ""
        else:
            city = _pick(rng, places.BRAZIL, self.br_cum)
            offset = -3
            owner = None
            job = _draw(r, p.job_other_pt) if r() < 0.3 else ""
        age_days = (self.anchor_ts - created) / 86400
        stage_idx = min(
            4, bisect.bisect(_STAGE_CUM[0 if age_days < 30 else 1 if age_days < 180 else 2], r())
        )
        if owner is None:
            if stage_idx == 0:
                owner = self.marketing_id if r() < 0.6 else None
            else:
                owner = self._owner_for_region(rng, city[1], english)
        # Email: name@company for people at an account, a free provider otherwise.
        f, lst = _email_local(first_name, last_name)
        if account is not None and r() < 0.85:
            style = r()
            local = f"{f}.{lst}" if style < 0.7 else f"{f[:1]}{lst}" if style < 0.9 else f
            email = f"{local}@{account.domain}"
        else:
            provider = _pick(
                rng,
                words.FREE_MAIL_EN if english else words.FREE_MAIL_PT,
                self._mail_en_cum if english else self._mail_pt_cum,
            )[0]
            style = r()
            if style < 0.35:
                local = f"{f}.{lst}"
            elif style < 0.7:
                local = f"{f}.{lst}{1 + int(r() * 99)}"
            elif style < 0.85:
                local = f"{f}{lst}{60 + int(r() * 40) if r() < 0.5 else ''}"
            else:
                local = f"{f}_{lst}"
            email = f"{local}@{provider}"
        emails = [email] if r() < 0.92 else []
        if emails and r() < 0.1:
            emails.append(
                f"{f}.{lst}{1 + int(r() * 999)}@{'yahoo.com' if english else 'gmail.com'}"
            )
        phones: list[str] = []
        if r() < 0.9:
            if english:
                phones.append(f"+1{city[2]}{self._us_exchange(rng)}{int(r() * 10000):04d}")
            else:
                phones.append(f"+55{city[2]}9{int(r() * 100_000_000):08d}")
            if account is not None and not english and r() < 0.25:
                phones.append(f"+55{city[2]}{2 + int(r() * 4)}{int(r() * 10_000_000):07d}")
        company = account.name if account is not None else ""
        birthdate = _draw(r, self.birth_days) if r() < 0.55 else None
        source = _pick(rng, words.SOURCES, self._source_cum)[0]
        street = postal = ""
        if r() < 0.45:
            zip5 = city[3] + int(r() * (city[4] - city[3] + 1))
            if english:
                street, postal = _draw(r, p.street_en), f"{zip5:05d}"
            else:
                street, postal = _draw(r, p.street_pt), f"{zip5:05d}-{int(r() * 1000):03d}"
        custom = _draw(r, self.contact_custom_pool) if r() < 0.45 else "{}"
        contact_id = self.contact_base + i
        account_id = account.id if account is not None else None

        # The timeline: interactions, tasks and notes between creation and the anchor.
        activity = _STAGE_ACTIVITY[stage_idx] * (age_days / 300.0)
        expected = self.depth * activity * (0.4 + 1.2 * r())
        n_interactions = int(expected) + (r() < expected % 1)
        end = self.anchor_ts - 1
        if stage_idx == 4:  # churned: the history stops well before today
            end = created + int((end - created) * (0.4 + 0.4 * r()))
        last_ts = self._interactions(
            rng, batch, contact_id, account_id, owner, english, offset, created, end, n_interactions
        )
        self._tasks(rng, batch, contact_id, account_id, owner, english, first_name, company,
                    created, activity)  # fmt: skip
        self._notes(rng, batch, contact_id, account_id, owner, english, created, activity)
        for tag_index in self._tags_for(rng, 0.4):
            batch.tags.append((ws, contact_id, self.tag_ids[tag_index]))
        if last_ts and account_id is not None and last_ts > batch.activity.get(account_id, 0):
            batch.activity[account_id] = last_ts
        updated = created if r() < 0.6 else created + int(r() * (self.anchor_ts - created))
        created_text = self.ts_text(created)
        batch.contacts.append(
            (
                contact_id, ws, owner, owner, account_id, first_name, last_name,
                emails[0] if emails else "", _json_strings(emails),
                phones[0] if phones else "", _json_strings(phones), job, birthdate, language,
                _STAGES[stage_idx], source, street, city[0], city[1], postal,
                "US" if english else "BR", custom, "",
                _sort_name(first_name, last_name),
                _contact_document(first_name, last_name, emails, phones, company),
                self.ts_text(last_ts) if last_ts else None, created_text, self.ts_text(updated),
            )
        )  # fmt: skip

    def _contact_custom_pool(self) -> list[str]:
        """A few hundred combinations of custom-field values that contacts draw from."""
        rng = self._rng("contact-custom-fields")
        pool = []
        for _ in range(400):
            values: dict[str, Any] = {}
            if rng.random() < 0.6:
                values["preferred_channel"] = rng.choice(("E-mail", "Telefone", "WhatsApp"))
            if rng.random() < 0.4:
                values["nps_score"] = min(10, int(rng.triangular(0, 11, 9)))
            if rng.random() < 0.5:
                values["newsletter_opt_in"] = rng.random() < 0.7
            if rng.random() < 0.3:
                values["interests"] = sorted(
                    rng.sample(("Produtos", "Serviços", "Treinamentos", "Eventos", "Parcerias"), 2)
                )
            pool.append(json.dumps(values))
        return pool

    @staticmethod
    def _business_ts(r: Callable[[], float], lo: int, hi: int, offset: int, any_day: bool) -> int:
        """A moment between lo and hi, moved into business hours (08:00–19:00 local) and, unless
        `any_day`, off the weekend."""
        if hi <= lo:
            return lo
        day = (lo + int(r() * (hi - lo)) + offset * 3600) // 86400
        if not any_day:
            weekday = (day + 3) % 7  # 1970-01-01 was a Thursday; Monday is 0
            if weekday >= 5:
                day -= weekday - 4
        moved = day * 86400 + 28800 + int(r() * 39600) - offset * 3600
        return lo if moved < lo else hi if moved > hi else moved

    def _interactions(
        self,
        rng: Random,
        batch: _Batch,
        contact_id: int,
        account_id: int | None,
        owner: int | None,
        english: bool,
        offset: int,
        start: int,
        end: int,
        count: int,
    ) -> int:
        if count <= 0 or end <= start:
            return 0
        r = rng.random
        kinds, cum, any_day = self._kinds["en" if english else "pt"]
        business_ts = self._business_ts
        moments = sorted(
            (business_ts(r, start, end, offset, any_day[k]), k)
            for k in rng.choices(range(len(kinds)), cum_weights=cum, k=count)
        )
        author_default = owner if owner is not None else _draw(r, self.all_reps)
        service_ids = self.service_ids
        ws = self.ws_id
        ts_text = self.ts_text
        rows = batch.interactions
        for ts, k in moments:
            channel, direction, subjects, bodies, outcomes, outcome_cum, by = kinds[k]
            outcome = outcomes[bisect.bisect(outcome_cum, r() * outcome_cum[-1])]
            lo, hi = outcome[2], outcome[3]
            duration = lo + int(r() * (hi - lo + 1)) if hi else None
            if by == "owner":
                author = author_default
            else:
                author = service_ids[int(r() * len(service_ids))] if by else None
            text = ts_text(ts)
            rows.append(
                (ws, contact_id, account_id, channel, direction, text,
                 subjects[int(r() * len(subjects))], bodies[int(r() * len(bodies))], outcome[0],
                 duration, author, text, text)
            )  # fmt: skip
        return moments[-1][0]

    def _tasks(
        self,
        rng: Random,
        batch: _Batch,
        contact_id: int,
        account_id: int | None,
        owner: int | None,
        english: bool,
        first_name: str,
        company: str,
        created: int,
        activity: float,
    ) -> None:
        r = rng.random
        expected = self.depth * 0.13 * activity * (0.5 + r())
        count = int(expected) + (r() < expected % 1)
        if count == 0:
            return
        titles = words.TASKS_EN if english else words.TASKS_PT
        descriptions = words.TASK_DESCRIPTIONS_EN if english else words.TASK_DESCRIPTIONS_PT
        anchor = self.anchor_ts
        ts_text = self.ts_text
        business_ts = self._business_ts
        assignee = owner if owner is not None else _draw(r, self.all_reps)
        for _ in range(count):
            if r() < 0.3:
                # The near term (overdue, due today, coming up), so today's lists are full. The
                # anchor is midnight in the workspace's zone: add office hours to it.
                due = anchor + (int(r() * 27) - 6) * 86400 + 28800 + int(r() * 39600)
                lo = max(created, min(due, anchor) - 12 * 86400)
                made = business_ts(r, lo, min(due, anchor) - 1, -3, False)
                if due <= made:
                    due = made + (1 + int(r() * 5)) * 86400
            else:
                made = business_ts(r, created, anchor - 1, -3, False)
                due = business_ts(r, made + 3600, made + (1 + int(r() * 14)) * 86400, -3, False)
            title = _draw(r, titles)
            if "{" in title:
                title = title.format(first=first_name, company=company or first_name)
            x = r()
            if due < anchor - 7 * 86400:
                status = "done" if x < 0.85 else "cancelled" if x < 0.9 else "open"
            elif due < anchor:
                status = "done" if x < 0.4 else "open"
            else:
                status = "done" if x < 0.05 else "open"
            completed = None
            if status == "done":
                done_at = max(made + 60, due - int(r() * 172800))
                if done_at >= anchor:  # finished early, before its due date
                    done_at = made + int(r() * (anchor - made))
                completed = ts_text(done_at)
            reminder = due - 3600 if r() < 0.35 else None
            # Reminders before the anchor count as sent, so the worker does not fire them all.
            reminded = ts_text(reminder) if reminder is not None and reminder < anchor else None
            made_text = ts_text(made)
            batch.tasks.append(
                (self.ws_id, contact_id, account_id, title, _draw(r, descriptions),
                 ts_text(due), ts_text(reminder) if reminder is not None else None,
                 reminded, assignee, status, completed, assignee, made_text,
                 completed or made_text)
            )  # fmt: skip

    def _notes(
        self,
        rng: Random,
        batch: _Batch,
        contact_id: int,
        account_id: int | None,
        owner: int | None,
        english: bool,
        created: int,
        activity: float,
    ) -> None:
        r = rng.random
        expected = self.depth * 0.09 * activity * (0.5 + r())
        count = int(expected) + (r() < expected % 1)
        bodies = words.NOTES_EN if english else words.NOTES_PT
        author = owner if owner is not None else self.marketing_id
        span = self.anchor_ts - created
        for _ in range(count):
            text = self.ts_text(created + int(r() * span))
            batch.notes.append(
                (self.ws_id, contact_id, account_id, _draw(r, bodies), author, r() < 0.05,
                 text, text)
            )  # fmt: skip

    def _deduplicate(self, rows: list[tuple[Any, ...]]) -> None:
        """Make emails and phone numbers unique across the whole load. Chunks are generated
        independently, so this runs afterwards, in order, which keeps it deterministic."""
        seen_emails, seen_phones = self.seen_emails, self.seen_phones
        for index, row in enumerate(rows):
            email, phone = row[_C_EMAIL], row[_C_PHONE]
            email_taken = email and email in seen_emails
            phone_taken = phone and phone in seen_phones
            if email_taken or phone_taken:
                row = self._renumber(row)
                rows[index] = row
                email, phone = row[_C_EMAIL], row[_C_PHONE]
            if email:
                seen_emails.add(email)
            if phone:
                seen_phones.add(phone)

    def _renumber(self, row: tuple[Any, ...]) -> tuple[Any, ...]:
        emails: list[str] = json.loads(row[_C_EMAILS])
        phones: list[str] = json.loads(row[_C_PHONES])
        if emails and emails[0] in self.seen_emails:
            local, _, domain = emails[0].partition("@")
            n = 2
            while f"{local}{n}@{domain}" in self.seen_emails:
                n += 1
            emails[0] = f"{local}{n}@{domain}"
        if phones and phones[0] in self.seen_phones:
            # Keep the area code and the leading 9 of mobiles; walk the subscriber number.
            head, number = phones[0][:-7], int(phones[0][-7:])
            while f"{head}{number:07d}" in self.seen_phones:
                number = (number + 1) % 10**7
            phones[0] = f"{head}{number:07d}"
        account_id = row[4]
        company = (
            self.accounts[account_id - self.account_base].name if account_id is not None else ""
        )
        new = list(row)
        new[_C_EMAIL] = emails[0] if emails else ""
        new[_C_EMAILS] = json.dumps(emails)
        new[_C_PHONE] = phones[0] if phones else ""
        new[_C_PHONES] = json.dumps(phones)
        new[_C_SEARCH] = _contact_document(row[5], row[6], emails, phones, company)
        return tuple(new)


_FORKED_GENERATOR: _Generator | None = None


def _forked_chunk(chunk_no: int) -> _Batch:
    assert _FORKED_GENERATOR is not None
    return _FORKED_GENERATOR._contact_chunk(chunk_no)


@dataclass
class _Batch:
    contacts: list[tuple[Any, ...]] = field(default_factory=list)
    interactions: list[tuple[Any, ...]] = field(default_factory=list)
    tasks: list[tuple[Any, ...]] = field(default_factory=list)
    notes: list[tuple[Any, ...]] = field(default_factory=list)
    tags: list[tuple[Any, ...]] = field(default_factory=list)
    activity: dict[int, int] = field(default_factory=dict)  # account id → last interaction


class _Progress:
    """Progress on stderr: contacts done of the total and the rate, refreshed twice a second on
    a terminal (every few seconds otherwise), then the time each phase took."""

    def __init__(self, out: TextIO | None, total: int) -> None:
        self.out = out
        self.total = total
        self.started = self.phase_started = time.monotonic()
        self.cpu_started = time.process_time()
        self.current = "setup"
        self.phases: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self.waited = 0.0
        self.last = 0.0
        self.tty = bool(out and out.isatty())

    def _write(self, text: str, *, final: bool = False) -> None:
        assert self.out is not None
        if self.tty:
            self.out.write(f"\r\033[K{text}" + ("\n" if final else ""))
        else:
            self.out.write(text + "\n")
        self.out.flush()

    def update(self, counts: dict[str, int]) -> None:
        now = time.monotonic()
        if self.out is None or (now - self.last < (0.5 if self.tty else 5.0)):
            return
        self.last = now
        elapsed = max(now - self.phase_started, 1e-9)
        rows = sum(counts.values())
        self._write(
            f"demo: {counts['contacts']:,}/{self.total:,} contacts, "
            f"{counts['interactions']:,} interactions, {rows / elapsed:,.0f} rows/s, "
            f"{now - self.started:.0f} s"
        )

    def phase(self, name: str) -> None:
        now, cpu = time.monotonic(), time.process_time()
        self.phases[self.current] = self.phases.get(self.current, 0.0) + now - self.phase_started
        self.cpu[self.current] = self.cpu.get(self.current, 0.0) + cpu - self.cpu_started
        self.current, self.phase_started, self.cpu_started = name, now, cpu
        if self.out is not None and self.tty:
            self._write(f"demo: {name}… ({now - self.started:.0f} s)")

    def done(self) -> None:
        self.phase("done")
        if self.out is not None:
            spent = ", ".join(f"{k} {v:.1f} s" for k, v in self.phases.items())
            total = time.monotonic() - self.started
            self._write(f"demo: loaded in {total:.1f} s ({spent})", final=True)
            # Processor time next to wall time tells a slow phase from a starved one (a busy
            # machine) and shows how much the generating child process carried.
            cpu = ", ".join(f"{k} {v:.1f} s" for k, v in self.cpu.items() if v >= 0.05)
            child = resource.getrusage(resource.RUSAGE_CHILDREN)
            self._write(
                f"demo: processor time: this process {sum(self.cpu.values()):.1f} s ({cpu}); "
                f"generator process {child.ru_utime + child.ru_stime:.1f} s; "
                f"waited for the generator {self.waited:.1f} s",
                final=True,
            )
