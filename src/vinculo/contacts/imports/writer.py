"""The one writer behind imports and the bulk API: prepared rows in, records out.

A batch of rows is written inside the caller's transaction. Each row is matched (by the chosen
keys, against live records and against the rows before it in the same batch; rows of earlier
batches are already in the table), then created, updated, skipped or failed, whole or not at
all. The statements a batch costs do not grow with its rows: one query per match key, one for
the accounts named, one per new tag, and multi-row inserts for the records, their tag links,
the import's change log and the events.

New records, their events and the change log are written with plain multi-row INSERT
statements of values prepared beforehand (often in a helper process, see `parallel`), not
through the ORM: building a million model objects and letting `bulk_create` adapt their values
cost more processor time than the import's whole budget (about 60 µs a row for the events
alone). They are ordinary INSERTs, so the full-text triggers (SQLite) and every constraint
apply as for any other write. Ids come from the table's sequence: SQLite's `max(id)` under the
write lock the transaction holds (IMMEDIATE), PostgreSQL's `nextval`.
"""

# SQL here is built from model metadata (table and column names), never from input.
# ruff: noqa: S608

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import chain
from types import SimpleNamespace
from typing import Any

from django.db import DatabaseError, connection, transaction
from django.db.models import Model, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from vinculo.contacts.imports.importers import (
    Importer,
    PreparedRow,
    RowContext,
    importer_for,
    json_safe,
    prepare_row,
    validate_create,
)
from vinculo.contacts.models import Account, ImportChange, OnMatch
from vinculo.contacts.search import FTS_TABLES
from vinculo.contacts.services import _changes, _contacts_refresh_company, _snapshot
from vinculo.contacts.validation import BatchLookups
from vinculo.core.access import can, role_spec, visible
from vinculo.core.custom_fields import definitions_for
from vinculo.core.events import dispatch_range_after_commit
from vinculo.core.exceptions import FieldError, ValidationFailed
from vinculo.core.models import Event, Tag, User, Workspace
from vinculo.core.roles import Right, Scope
from vinculo.core.search import normalize_text

logger = logging.getLogger(__name__)

# Parameters per INSERT statement: SQLite allows 32,766, PostgreSQL 65,535.
_MAX_PARAMS = 30_000
# Values per IN (…) list when matching.
_MATCH_CHUNK = 5_000
# Stored with the change of a record the import made beside the kind it imports (an account
# created for a contact's company, a tag), so that undo can remove it too.
SIDE_OBJECT = "object_type"
EVENT_COLUMNS = (
    "id",
    "workspace_id",
    "type",
    "subject_type",
    "subject_id",
    "actor_id",
    "occurred_at",
    "payload",
)
CHANGE_COLUMNS = ("workspace_id", "job_id", "object_id", "action", "before", "line_number")


@dataclass
class Outcome:
    """What happened to one row: created, updated, skipped or failed, the record's id and
    why it failed (fields in the validation's vocabulary: `emails.0`, `custom_fields.size`)."""

    index: int
    line: int
    status: str = "failed"
    record_id: int | None = None
    errors: list[FieldError] = field(default_factory=list)


@dataclass
class _Created:
    row: PreparedRow
    outcomes: list[Outcome]
    account_name: str
    tags: list[str] | None
    # All columns as Python values; None while the row's prepared `stored` values still hold
    # (a later row of the batch changing the record sets them).
    values: dict[str, Any] | None = None
    record_id: int | None = None
    account_id: int | None = None
    failed: bool = False


@dataclass
class _Updated:
    record: Any
    before_row: dict[str, Any]
    before_snap: dict[str, Any]
    old_tags: list[str]
    old_tag_ids: list[int]
    outcomes: list[Outcome]
    line: int = 0
    new_tags: list[str] | None = None
    account_name: str = ""


def _insert(table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Plain multi-row INSERTs of values already in the form the database takes. On SQLite
    through the driver's own cursor: Django's rewrites the placeholders of every statement
    with a regular expression, 10 µs a row at 30,000 parameters a statement.

    Also on SQLite, into a table whose only CHECK constraints are the JSON validity of its
    JSON columns (text the writer encodes itself): `INSERT OR FAIL` with those constraints
    not evaluated, so that a statement needs no statement journal. Otherwise SQLite first
    copies every page a statement changes to a temporary file, in case that statement alone
    must be undone: 600,000 page copies for a batch of 50,000 contacts. A row the database
    refuses (NOT NULL, a foreign key at commit) still fails the statement; the caller's
    savepoint then undoes the batch, which `write_rows_atomically` writes again row by
    row."""
    if not rows:
        return
    quote = connection.ops.quote_name
    cols = ", ".join(quote(c) for c in columns)
    sqlite = connection.vendor == "sqlite"
    mark = "?" if sqlite else "%s"
    one = "(" + ", ".join([mark] * len(columns)) + ")"
    per = max(1, _MAX_PARAMS // len(columns))
    connection.ensure_connection()
    unjournaled = sqlite and _only_json_checks(table)
    verb = "INSERT OR FAIL" if unjournaled else "INSERT"
    head = f"{verb} INTO {quote(table)} ({cols}) VALUES "
    full = head + ", ".join([one] * per)
    cursor = connection.connection.cursor() if sqlite else connection.cursor()
    try:
        if unjournaled:
            cursor.execute("PRAGMA ignore_check_constraints = ON")
        # The driver's own errors as Django's (IntegrityError…), which callers catch.
        with connection.wrap_database_errors:
            for start in range(0, len(rows), per):
                part = rows[start : start + per]
                sql = full if len(part) == per else head + ", ".join([one] * len(part))
                cursor.execute(sql, list(chain.from_iterable(part)))
    finally:
        if unjournaled:
            cursor.execute("PRAGMA ignore_check_constraints = OFF")
        cursor.close()


_JSON_CHECK = re.compile(r'CHECK \(\(JSON_VALID\("(\w+)"\) OR "\1" IS NULL\)\)')
_json_checks_only: dict[str, bool] = {}


def _only_json_checks(table: str) -> bool:
    """Whether every CHECK constraint of SQLite `table` is a JSON column's validity."""
    found = _json_checks_only.get(table)
    if found is None:
        cursor = connection.connection.cursor()
        try:
            row = cursor.execute(
                "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", [table]
            ).fetchone()
        finally:
            cursor.close()
        sql = row[0] if row else ""
        found = bool(row) and sql.upper().count("CHECK") == len(_JSON_CHECK.findall(sql))
        _json_checks_only[table] = found
    return found


# New records of one batch from which they reach SQLite's full-text index in one statement
# (see `_indexed_in_one_statement`).
FTS_ONE_STATEMENT_FROM = 2_000
# FTS5 keeps the terms of the statement in memory up to this size before writing them out
# (its default, 1 MiB, holds about 2,000 contacts); raised for that one statement only.
FTS_PENDING_BYTES = 256 * 2**20
FTS_DEFAULT_PENDING_BYTES = 2**20


@contextmanager
def _indexed_in_one_statement(table: str, first_id: int, last_id: int) -> Iterator[None]:
    """SQLite: rows with ids `first_id`…`last_id` inserted into `table` in the block reach its
    full-text index through one statement after the block, not row by row through the insert
    trigger.

    FTS5 (as SQLite 3.40 ships it) writes the terms it holds in memory out as a new segment
    at the end of every statement of a transaction, and then merges those segments again and
    again as they pile up. Inserted 1,000 rows a statement, a batch of 50,000 contacts made
    50 small segments; indexed in one statement, it makes one. The trigger is dropped for the
    block and created again from its stored definition after it, in the caller's transaction:
    schema changes are transactional in SQLite, so other connections never see the table
    without it, and a block that fails rolls the drop back with everything else. Only rows
    the block inserts in that id range may be written meanwhile."""
    fts = FTS_TABLES.get(table)
    if fts is None or connection.vendor != "sqlite":
        yield
        return
    trigger = f"{fts}_ai"
    connection.ensure_connection()
    cursor = connection.connection.cursor()
    try:
        with connection.wrap_database_errors:
            found = cursor.execute(
                "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?", [trigger]
            ).fetchone()
            pending = cursor.execute(f"SELECT v FROM {fts}_config WHERE k = 'hashsize'").fetchone()
            if found is not None:
                cursor.execute(f'DROP TRIGGER "{trigger}"')
        yield
        if found is None:  # an index kept some other way: leave it to that
            return
        with connection.wrap_database_errors:
            cursor.execute(
                f"INSERT INTO {fts}({fts}, rank) VALUES ('hashsize', ?)", [FTS_PENDING_BYTES]
            )
            cursor.execute(
                f"INSERT INTO {fts}(rowid, search_document) "
                f"SELECT id, search_document FROM {table} WHERE id BETWEEN ? AND ?",
                [first_id, last_id],
            )
            cursor.execute(
                f"INSERT INTO {fts}({fts}, rank) VALUES ('hashsize', ?)",
                [int(pending[0]) if pending else FTS_DEFAULT_PENDING_BYTES],
            )
            cursor.execute(found[0])
    finally:
        cursor.close()


def allocate_ids(model: type[Model], count: int) -> list[int]:
    """`count` new ids of `model`'s table, which the caller inserts in this transaction."""
    if count <= 0:
        return []
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [table, count],
            )
            return [int(row[0]) for row in cursor.fetchall()]
        # SQLite: the transaction holds the database's write lock (IMMEDIATE), so nobody
        # takes ids between this read and the insert; AUTOINCREMENT never reuses an id, hence
        # sqlite_sequence too.
        quoted = connection.ops.quote_name(table)
        cursor.execute(
            "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = %s), 0), "
            f"coalesce((SELECT max(id) FROM {quoted}), 0))",
            [table],
        )
        first = int(cursor.fetchone()[0]) + 1
    return list(range(first, first + count))


def record_event_rows(
    workspace: Workspace,
    actor: User | None,
    events: Sequence[tuple[str, str, int, str]],
    now: Any,
) -> None:
    """Write events given as (type, subject type, subject id, payload JSON) and dispatch them
    after commit: what `core.events.record_events_bulk` does, without a model object per
    event (an import of a million rows records a million events)."""
    if not events:
        return
    ids = allocate_ids(Event, len(events))
    moment = connection.ops.adapt_datetimefield_value(now)
    actor_id = actor.pk if actor is not None and actor.pk else None
    ws = workspace.pk
    _insert(
        Event._meta.db_table,
        EVENT_COLUMNS,
        [
            (pk, ws, kind, subject_type, subject_id, actor_id, moment, payload)
            for pk, (kind, subject_type, subject_id, payload) in zip(ids, events, strict=True)
        ],
    )

    # Consecutive ids on SQLite; on PostgreSQL another session may take ids in between, and
    # delivering its events from this range too is harmless (each is delivered once).
    dispatch_range_after_commit(min(ids), max(ids))


class RecordWriter:
    """Writes batches of prepared rows of one kind for one actor.

    `job_id` set (a file import): every record created or changed is logged as an
    `ImportChange` (undo reads it) and events carry `{"source": "import", "import_id": …}`.
    Without it (the bulk API) events carry `{"source": "api"}`. `ctx` lets the writer prepare
    again the rows a helper process sent back compact. Caches (tags, accounts by name) live
    as long as the writer; `forget` drops them after a rolled-back batch."""

    def __init__(
        self,
        *,
        importer: Importer,
        workspace: Workspace,
        actor: User | None,
        match_by: Sequence[str],
        on_match: str,
        job_id: int | None = None,
        source: str = "import",
        ctx: RowContext | None = None,
    ) -> None:
        self.importer = importer
        self.workspace = workspace
        self.actor = actor if actor is not None and actor.pk else None
        self.match_by = [k for k in match_by if k in importer.match_keys]
        self.on_match = on_match
        self.job_id = job_id
        self.ctx = ctx
        extra: dict[str, Any] = {"source": source}
        if job_id is not None:
            extra["import_id"] = job_id
        self.payload_extra = extra
        self.merge_lists = source != "api"
        # The end of every `*.created` payload: `{"fields": …` + this.
        self.payload_tail = ", " + json.dumps(extra)[1:]
        self.model = importer.model
        self.label = importer.object_type
        self.columns = ["id", "workspace_id", *importer.stamp_columns, *importer.stored_columns]
        self.update_columns = [
            *importer.tracked,
            "custom_fields",
            "sort_name",
            "search_document",
            "updated_at",
            *(("email", "phone") if importer.object_type == "contact" else ()),
        ]
        spec = role_spec(workspace=workspace, user=self.actor)
        self.sees_all = self.actor is None or (spec is not None and spec.scope == Scope.ALL)
        self.may_create_accounts = self.actor is None or can(
            workspace=workspace, user=self.actor, module="accounts", right=Right.CREATE
        )
        # Set on the writer that creates accounts for a contact import: its records are
        # logged as side objects.
        self.side_object = False
        self.tag_cache: dict[str, int] = {}
        self.account_cache: dict[str, tuple[int, str]] = {}
        # normalised account name → why an account of that name could not be created
        self.account_errors: dict[str, list[FieldError]] = {}
        self.account_lookups: BatchLookups | None = None

    def forget(self) -> None:
        self.tag_cache.clear()
        self.account_cache.clear()
        self.account_errors.clear()

    def full_row(self, row: PreparedRow) -> PreparedRow:
        """A compact row (from a helper process) prepared again here, with its input."""
        if not row.compact:
            return row
        if self.ctx is None:
            raise RuntimeError("a compact row needs the writer's row context")
        return prepare_row(
            self.importer, self.ctx, index=row.index, line=row.line, cells=row.cells, problem=None
        )

    # -- the batch ----------------------------------------------------------------------------

    def write(
        self, rows: Sequence[PreparedRow], *, lookups: BatchLookups | None = None
    ) -> list[Outcome]:
        """Write `rows` in the current transaction; one outcome per row, in order."""
        own_writer = getattr(self.importer, "write_rows", None)
        if own_writer is not None:
            # A kind whose record is more than one table row (an order and its lines)
            # writes each row through its own service.
            return list(own_writer(self, rows))
        lookups = lookups or BatchLookups(definitions={}, member_ids=frozenset())
        now = timezone.now()
        existing, invisible = self._matches(rows)
        states: dict[int, _Updated] = {}
        if existing and self.on_match != OnMatch.SKIP:
            records = {r.pk: r for by_value in existing.values() for r in by_value.values()}
            states = {pk: self._start_update(r) for pk, r in records.items() if pk not in invisible}
            self._load_tags(list(states.values()))
        batch_index: dict[tuple[str, str], _Created | _Updated] = {}
        created: list[_Created] = []
        updated: dict[int, _Updated] = {}
        outcomes: list[Outcome] = []
        match_by = self.match_by
        for row in rows:
            outcome = Outcome(index=row.index, line=row.line)
            outcomes.append(outcome)
            target: Any = None
            if match_by and not (row.errors and not row.data and not row.compact):
                keys = row.keys
                for key in match_by:
                    value = keys.get(key)
                    if value:
                        target = batch_index.get((key, value)) or existing.get(key, {}).get(value)
                        if target is not None:
                            break
            if target is None:
                if row.stored is None:
                    outcome.errors = [*row.errors, *row.create_errors]
                    continue
                outcome.status = "created"
                pending = _Created(
                    row=row, outcomes=[outcome], account_name=row.account_name, tags=row.tags
                )
                created.append(pending)
                if match_by:
                    self._index(batch_index, row.keys, pending)
                continue
            if isinstance(target, Model) and target.pk in invisible:
                outcome.errors = [
                    FieldError(
                        "",
                        "match-not-visible",
                        _("It matches a record that you are not allowed to see or change."),
                    )
                ]
                continue
            if self.on_match == OnMatch.SKIP:
                outcome.status = "skipped"
                if isinstance(target, _Created):
                    target.outcomes.append(outcome)  # its id is known once it is inserted
                elif isinstance(target, _Updated):
                    outcome.record_id = target.record.pk
                else:
                    outcome.record_id = target.pk
                continue
            row = self.full_row(row)
            if row.errors:
                outcome.errors = list(row.errors)
                continue
            if isinstance(target, _Created):
                self._update_pending(target, row, outcome, lookups)
            else:
                if isinstance(target, Model):
                    target = states[target.pk]
                    target.line = target.line or row.line
                    updated[target.record.pk] = target
                self._update_existing(target, row, outcome, lookups)
            self._index(batch_index, row.keys, target)
        self._resolve_accounts(created, list(updated.values()))
        self._insert_created(created, now)
        self._save_updated(list(updated.values()), now)
        return outcomes

    # -- matching -----------------------------------------------------------------------------

    def _matches(self, rows: Sequence[PreparedRow]) -> tuple[dict[str, dict[str, Any]], set[int]]:
        """Live records holding the rows' keys, by key and value (the oldest when several
        share one), and the ids of those the actor may not see."""
        found: dict[str, dict[str, Any]] = {}
        records: dict[int, Any] = {}
        for key in self.match_by:
            values = {v for row in rows if (v := row.keys.get(key))}
            if not values:
                continue
            column = self.importer.match_keys[key]
            hits = self._matching_ids(column, sorted(values))
            if not hits:
                continue
            wanted = {pk for pk, _value in hits if pk not in records}
            for start in range(0, len(wanted), _MATCH_CHUNK):
                part = sorted(wanted)[start : start + _MATCH_CHUNK]
                for record in self.model.objects.for_workspace(self.workspace).filter(pk__in=part):
                    records[record.pk] = record
            by_value: dict[str, Any] = {}
            for pk, value in sorted(hits):  # the oldest record when several share a value
                by_value.setdefault(value, records[pk])
            found[key] = by_value
        invisible: set[int] = set()
        if records and not self.sees_all:
            seen = set(
                visible(
                    self.model.objects.for_workspace(self.workspace).filter(pk__in=list(records)),
                    workspace=self.workspace,
                    viewer=self.actor,
                    module=self.importer.module,
                ).values_list("pk", flat=True)
            )
            invisible = set(records) - seen
        return found, invisible

    def _matching_ids(self, column: str, values: list[str]) -> list[tuple[int, str]]:
        """(id, value) of the live records whose `column` holds one of `values`. Plain SQL:
        the ORM prepares each of the values through its lookup machinery (7 µs a row at a
        million rows), and an ORDER BY made SQLite walk the table instead of the index."""
        quote = connection.ops.quote_name
        table, col = quote(self.model._meta.db_table), quote(column)
        erased = " AND erased_at IS NULL" if self.importer.object_type == "contact" else ""
        hits: list[tuple[int, str]] = []
        with connection.cursor() as cursor:
            for start in range(0, len(values), _MATCH_CHUNK):
                part = values[start : start + _MATCH_CHUNK]
                marks = ", ".join(["%s"] * len(part))
                cursor.execute(
                    f"SELECT id, {col} FROM {table} WHERE workspace_id = %s "
                    f"AND deleted_at IS NULL{erased} AND {col} IN ({marks})",
                    [self.workspace.pk, *part],
                )
                hits += [(int(pk), value) for pk, value in cursor.fetchall()]
        return hits

    def _index(
        self, index: dict[tuple[str, str], Any], keys: Mapping[str, str], target: Any
    ) -> None:
        for key in self.match_by:
            value = keys.get(key)
            if value:
                index.setdefault((key, value), target)

    # -- updates of rows and records ----------------------------------------------------------

    def _update_input(
        self, row: PreparedRow, current: Any, current_tags: list[str]
    ) -> dict[str, Any]:
        """A row's input as an update of `current`: `fill` keeps only what is empty there.
        From a file, addresses and numbers are added (the row's first one becomes the
        primary) and tags are added, never removed; an API item is applied as a PATCH."""
        data = dict(row.data)
        if not self.merge_lists:
            if self.on_match == OnMatch.FILL:
                return self._fill_only(data, current)
            return data
        for many, one in (("emails", "email"), ("phones", "phone")):
            if many in data:
                listed = list(data.pop(many))
                data[one] = listed[0]
                data[many] = [*listed, *(getattr(current, many, None) or [])]
        if self.on_match == OnMatch.FILL:
            data = self._fill_only(data, current)
        if "tags" in data:
            data["tags"] = [*current_tags, *data["tags"]]
        return data

    @staticmethod
    def _fill_only(data: dict[str, Any], current: Any) -> dict[str, Any]:
        """The part of an input that goes to fields empty on `current` (tags always)."""
        kept: dict[str, Any] = {}
        for name, value in data.items():
            if name == "custom_fields":
                have = getattr(current, "custom_fields", None) or {}
                if isinstance(value, Mapping):
                    fresh = {k: v for k, v in value.items() if have.get(k) in (None, "", [])}
                    if fresh:
                        kept[name] = fresh
            elif name in ("email", "emails", "phone", "phones"):
                plural = name if name.endswith("s") else f"{name}s"
                if not getattr(current, plural, None):
                    kept[name] = value
            elif name == "tags" or getattr(current, name, None) in (None, ""):
                kept[name] = value
        return kept

    def _pending_values(self, pending: _Created) -> dict[str, Any]:
        if pending.values is None:
            row = self.full_row(pending.row)
            assert row.create is not None
            pending.values = self.importer.new_values(row.create, company=row.account_name)
        return pending.values

    def _update_pending(
        self, pending: _Created, row: PreparedRow, outcome: Outcome, lookups: BatchLookups
    ) -> None:
        """A row matching a record an earlier row of this batch creates: applied to it."""
        values = self._pending_values(pending)
        current = SimpleNamespace(**values)
        data = self._update_input(row, current, pending.tags or [])
        try:
            cleaned = self.importer.validate(
                workspace=self.workspace,
                actor=self.actor,
                data=data,
                instance=current,
                lookups=lookups,
            )
        except ValidationFailed as exc:
            outcome.errors = list(exc.errors)
            return
        values.update(cleaned.fields)
        if cleaned.tags is not None:
            pending.tags = cleaned.tags
        if row.account_name and (self.on_match == OnMatch.OVERWRITE or not pending.account_name):
            pending.account_name = row.account_name
        outcome.status = "updated"
        pending.outcomes.append(outcome)

    def _start_update(self, record: Any) -> _Updated:
        before_row = {name: json_safe(getattr(record, name)) for name in self.update_columns}
        return _Updated(
            record=record,
            before_row=before_row,
            before_snap={},
            old_tags=[],
            old_tag_ids=[],
            outcomes=[],
        )

    def _update_existing(
        self, state: _Updated, row: PreparedRow, outcome: Outcome, lookups: BatchLookups
    ) -> None:
        record = state.record
        current_tags = state.new_tags if state.new_tags is not None else state.old_tags
        data = self._update_input(row, record, current_tags)
        try:
            cleaned = self.importer.validate(
                workspace=self.workspace,
                actor=self.actor,
                data=data,
                instance=record,
                lookups=lookups,
            )
        except ValidationFailed as exc:
            outcome.errors = list(exc.errors)
            return
        for name, value in cleaned.fields.items():
            setattr(record, name, value)
        if cleaned.tags is not None:
            state.new_tags = cleaned.tags
        if row.account_name and (self.on_match == OnMatch.OVERWRITE or record.account_id is None):
            state.account_name = row.account_name
        outcome.status = "updated"
        outcome.record_id = record.pk
        state.outcomes.append(outcome)

    def _load_tags(self, states: list[_Updated]) -> None:
        """Tags of the records rows may change, read at once; their snapshots before."""
        link = self.importer.link_model
        field_id = f"{self.importer.link_field}_id"
        by_record = {s.record.pk: s for s in states}
        rows = (
            link.objects.for_workspace(self.workspace)
            .filter(**{f"{field_id}__in": list(by_record)})
            .values_list(field_id, "tag_id", "tag__name", "tag__deleted_at")
        )
        for record_id, tag_id, name, deleted_at in rows:
            state = by_record[record_id]
            state.old_tag_ids.append(tag_id)
            if deleted_at is None:
                state.old_tags.append(name)
        for state in states:
            state.before_snap = _snapshot(state.record, self.importer.tracked, state.old_tags)

    # -- accounts named by contacts -----------------------------------------------------------

    def _resolve_accounts(self, created: list[_Created], updated: list[_Updated]) -> None:
        """Link contacts to the account their row names: a live account the actor sees with
        that name (any case or accents), else a new one. Rows naming an account that cannot
        be created fail."""
        if self.importer.object_type != "contact":
            return
        named: list[_Created | _Updated] = [c for c in created if c.account_name]
        named += [u for u in updated if u.account_name]
        if not named:
            return
        keys: dict[str, str] = {}  # spelling → normalised name (names repeat in a file)
        wanted: dict[str, str] = {}
        for item in named:  # the first spelling in the file names a new account
            name = item.account_name
            key = keys.get(name)
            if key is None:
                key = keys[name] = normalize_text(name)[:300]
            wanted.setdefault(key, name)
        missing = [key for key in wanted if key not in self.account_cache]
        if missing:
            accounts = visible(
                Account.objects.for_workspace(self.workspace).filter(
                    deleted_at__isnull=True, sort_name__in=missing
                ),
                workspace=self.workspace,
                viewer=self.actor,
                module="accounts",
            )
            for pk, sort_name, name in sorted(accounts.values_list("id", "sort_name", "name")):
                self.account_cache.setdefault(sort_name, (pk, name))
            new = [key for key in missing if key not in self.account_cache]
            if new and self.may_create_accounts:
                self._create_accounts([wanted[key] for key in new])
        for item in named:
            key = keys[item.account_name]
            found = self.account_cache.get(key)
            if found is None:
                errors = self.account_errors.get(key) or [
                    FieldError(
                        "account",
                        "cannot-create-account",
                        _("There is no account named “%(name)s” and you may not create one.")
                        % {"name": item.account_name},
                    )
                ]
                for outcome in item.outcomes:
                    outcome.status = "failed"
                    outcome.errors = list(errors)
                if isinstance(item, _Created):
                    item.failed = True
                continue
            if isinstance(item, _Created):
                item.account_id = found[0]
            else:
                item.record.account_id = found[0]
                item.account_name = found[1]

    def _create_accounts(self, names: list[str]) -> None:
        importer = importer_for("account")
        sub = RecordWriter(
            importer=importer,
            workspace=self.workspace,
            actor=self.actor,
            match_by=[],
            on_match=OnMatch.SKIP,
            job_id=self.job_id,
            source=self.payload_extra["source"],
        )
        sub.side_object = True
        if self.account_lookups is None:
            self.account_lookups = BatchLookups(
                definitions=definitions_for(workspace=self.workspace, object_type="account"),
                member_ids=frozenset(),
            )
        rows = []
        for name in names:
            row = PreparedRow(index=0, line=0, cells=[], data={"name": name})
            validate_create(importer, self.workspace, self.actor, row, self.account_lookups)
            rows.append(row)
        results = sub.write(rows)
        for name, result in zip(names, results, strict=True):
            key = normalize_text(name)[:300]
            if result.record_id is not None:
                self.account_cache[key] = (result.record_id, name)
            else:
                self.account_errors[key] = [
                    FieldError("account", e.code, e.message) for e in result.errors
                ]

    # -- writing ------------------------------------------------------------------------------

    def _tag_ids(self, names: Iterable[str]) -> dict[str, int]:
        """casefold(name) → tag id, creating tags that do not exist (a deleted one is brought
        back, as `tags_resolve` does)."""
        wanted = {n.casefold(): n for n in names}
        missing = [n for k, n in wanted.items() if k not in self.tag_cache]
        if missing:
            tags = Tag.objects.for_workspace(self.workspace)
            condition = Q()
            for name in missing:
                condition |= Q(name__iexact=name)
            revived: list[int] = []
            for tag in sorted(tags.filter(condition), key=lambda t: t.pk):
                folded = tag.name.casefold()
                if folded in self.tag_cache:
                    continue
                self.tag_cache[folded] = tag.pk
                if tag.deleted_at is not None:
                    revived.append(tag.pk)
            if revived:
                tags.filter(pk__in=revived).update(deleted_at=None)
            new = [
                Tag(workspace=self.workspace, name=n)
                for n in missing
                if n.casefold() not in self.tag_cache
            ]
            if new:
                for tag in tags.bulk_create(new):
                    self.tag_cache[tag.name.casefold()] = tag.pk
                self._log_side("tag", [(t.pk, 0) for t in new])
        return {k: self.tag_cache[k] for k in wanted}

    def _log_side(self, object_type: str, items: list[tuple[int, int]]) -> None:
        if self.job_id is None or not items:
            return
        before = json.dumps({SIDE_OBJECT: object_type})
        ws = self.workspace.pk
        _insert(
            ImportChange._meta.db_table,
            CHANGE_COLUMNS,
            [
                (ws, self.job_id, pk, ImportChange.Action.CREATED, before, line)
                for pk, line in items
            ],
        )

    def _insert_created(self, created: list[_Created], now: Any) -> None:
        created = [c for c in created if not c.failed]
        if not created:
            return
        importer = self.importer
        prepared: list[tuple[_Created, tuple[Any, ...], str]] = []
        for pending in created:
            if pending.values is not None:
                values = pending.values
                importer.derive(values, company=pending.account_name)
                prepared.append(
                    (
                        pending,
                        importer.stored_row(values),
                        importer.event_fields(values, pending.tags or []),
                    )
                )
            else:
                prepared.append((pending, pending.row.stored or (), pending.row.event_fields))
        # New records get their ids in the order of their sort name: four indexes of the
        # table lead with it (name, owner and stage, stage, account), so their entries then
        # go in side by side instead of all over the tree: twice as fast at a million
        # contacts. Ids must still grow within the batch: the full-text index writes out its
        # pending terms whenever an id comes in lower than the one before.
        at = importer.stored_columns.index("sort_name")
        prepared.sort(key=lambda item: item[1][at] or "")
        ids = allocate_ids(self.model, len(prepared))
        ws = self.workspace.pk
        actor_id = self.actor.pk if self.actor is not None else None
        moment = connection.ops.adapt_datetimefield_value(now)
        with_account = "account_id" in importer.stamp_columns
        tail = self.payload_tail
        rows = []
        events = []
        kind = f"{self.label}.created"
        for (pending, stored, fields), pk in zip(prepared, ids, strict=True):
            pending.record_id = pk
            for outcome in pending.outcomes:
                outcome.record_id = pk
            account_id = pending.account_id
            if with_account:
                rows.append((pk, ws, account_id, actor_id, moment, moment, *stored))
                if account_id is not None:
                    # The fields were snapshotted before the account was known.
                    fields = (
                        fields[:-1]
                        + ("" if fields == "{}" else ", ")
                        + (f'"account_id": {account_id}}}')
                    )
            else:
                rows.append((pk, ws, actor_id, moment, moment, *stored))
            events.append((kind, self.label, pk, '{"fields": ' + fields + tail))
        table = self.model._meta.db_table
        if len(rows) >= FTS_ONE_STATEMENT_FROM:
            with _indexed_in_one_statement(table, ids[0], ids[-1]):
                _insert(table, self.columns, rows)
        else:
            _insert(table, self.columns, rows)
        created = [pending for pending, _stored, _fields in prepared]  # in id order
        tagged = [c for c in created if c.tags]
        if tagged:
            tag_ids = self._tag_ids([t for c in tagged for t in c.tags or []])
            _insert(
                importer.link_model._meta.db_table,
                ("workspace_id", f"{importer.link_field}_id", "tag_id"),
                [
                    (ws, c.record_id, tag_ids[folded])
                    for c in tagged
                    for folded in dict.fromkeys(t.casefold() for t in c.tags or [])
                ],
            )
        if self.job_id is not None:
            if self.side_object:
                self._log_side(self.label, [(c.record_id or 0, c.row.line) for c in created])
            else:
                action = ImportChange.Action.CREATED
                _insert(
                    ImportChange._meta.db_table,
                    CHANGE_COLUMNS,
                    [(ws, self.job_id, c.record_id, action, None, c.row.line) for c in created],
                )
        record_event_rows(self.workspace, self.actor, events, now)

    def _save_updated(self, updated: list[_Updated], now: Any) -> None:
        importer = self.importer
        changed: list[tuple[_Updated, dict[str, list[Any]]]] = []
        for state in updated:
            if not any(o.status == "updated" for o in state.outcomes):
                continue
            tags = state.new_tags if state.new_tags is not None else state.old_tags
            changes = _changes(state.before_snap, _snapshot(state.record, importer.tracked, tags))
            if not changes:
                for outcome in state.outcomes:
                    if outcome.status == "updated":
                        outcome.status = "skipped"
                continue
            changed.append((state, changes))
        if not changed:
            return
        companies = self._company_names([s for s, _c in changed])
        for state, _diff in changed:
            record = state.record
            values = {name: getattr(record, name) for name in self.update_columns}
            importer.derive(values, company=companies.get(getattr(record, "account_id", None), ""))
            values["updated_at"] = now
            for name, value in values.items():
                setattr(record, name, value)
        self.model.objects.for_workspace(self.workspace).bulk_update(
            [s.record for s, _c in changed], self.update_columns
        )
        ws = self.workspace.pk
        tag_states = [s for s, _c in changed if s.new_tags is not None]
        if tag_states:
            tag_ids = self._tag_ids([t for s in tag_states for t in s.new_tags or []])
            links = []
            for state in tag_states:
                have = set(state.old_tag_ids)
                for name in state.new_tags or []:
                    tag_id = tag_ids[name.casefold()]
                    if tag_id not in have:
                        have.add(tag_id)
                        links.append((ws, state.record.pk, tag_id))
            _insert(
                importer.link_model._meta.db_table,
                ("workspace_id", f"{importer.link_field}_id", "tag_id"),
                links,
            )
        if self.job_id is not None:
            action = ImportChange.Action.UPDATED
            _insert(
                ImportChange._meta.db_table,
                CHANGE_COLUMNS,
                [
                    (
                        ws,
                        self.job_id,
                        s.record.pk,
                        action,
                        json.dumps({**s.before_row, "tag_ids": s.old_tag_ids}),
                        s.line,
                    )
                    for s, _c in changed
                ],
            )
        record_event_rows(
            self.workspace,
            self.actor,
            [
                (
                    f"{self.label}.updated",
                    self.label,
                    s.record.pk,
                    json.dumps({"changes": changes, **self.payload_extra}),
                )
                for s, changes in changed
            ],
            now,
        )
        if importer.object_type == "account":
            for state, _c in changed:
                if state.before_row.get("name") != state.record.name:
                    _contacts_refresh_company(workspace=self.workspace, account=state.record)

    def _company_names(self, states: list[_Updated]) -> dict[int | None, str]:
        if self.importer.object_type != "contact":
            return {}
        ids = {s.record.account_id for s in states if s.record.account_id}
        if not ids:
            return {}
        return dict(
            Account.objects.for_workspace(self.workspace)
            .filter(pk__in=ids)
            .values_list("id", "name")
        )


def write_rows_atomically(
    writer: RecordWriter,
    rows: Sequence[PreparedRow],
    *,
    lookups: BatchLookups | None = None,
) -> list[Outcome]:
    """`writer.write` in a savepoint; if the database refuses the batch as a whole (a
    constraint, a value out of range), each row is written again in a savepoint of its own,
    so that only the rows the database refuses fail."""
    try:
        with transaction.atomic():
            return writer.write(rows, lookups=lookups)
    except DatabaseError:
        logger.warning("a batch was refused as a whole; writing its rows one by one")
        writer.forget()
    outcomes: list[Outcome] = []
    for row in rows:
        try:
            with transaction.atomic():
                outcomes.extend(writer.write([row], lookups=lookups))
        except DatabaseError as exc:
            writer.forget()
            outcomes.append(
                Outcome(
                    index=row.index,
                    line=row.line,
                    errors=[
                        FieldError(
                            "",
                            "database-refused",
                            _("The database refused this row: %(reason)s")
                            % {"reason": str(exc)[:300]},
                        )
                    ],
                )
            )
    return outcomes
