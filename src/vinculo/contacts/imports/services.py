"""Imports of files into records: upload, mapping, preview, the background run, undo.

The flow: `import_upload` stores and inspects a file (a DRAFT job with a guessed mapping);
`import_configure` sets the mapping and how rows match existing records; `import_preview`
shows what the first rows would do; `import_start` queues the job; `import_run` (the task's
body) writes it; `import_undo` takes it back within seven days.

The run reads the file in batches of rows. Each batch is written in ONE transaction together
with the job's counters and cursor (`rows_done`), so a worker killed mid-import loses at most
the batch in flight, and the job, handed to another worker, resumes from the cursor without
writing a row twice. While one process writes, a helper process turns the next rows' text into
validated input (large files only): validation costs as much processor time as writing.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import timedelta
from functools import partial
from itertools import islice
from pathlib import Path, PurePath
from typing import Any

from django.conf import settings
from django.core.files import File
from django.db import OperationalError, connection, transaction
from django.db.models import F
from django.template.defaultfilters import filesizeformat
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from vinculo.contacts.imports.importers import (
    CF_PREFIX,
    Importer,
    PreparedRow,
    RowContext,
    importer_for,
    prepare_rows,
    row_context,
)
from vinculo.contacts.imports.mapping import FieldSpec, guess_mapping, normalise_header
from vinculo.contacts.imports.parallel import prepared_batches
from vinculo.contacts.imports.reading import (
    ImportFileError,
    TableInfo,
    count_rows,
    inspect_file,
    iter_rows,
)
from vinculo.contacts.imports.writer import (
    SIDE_OBJECT,
    Outcome,
    RecordWriter,
    write_rows_atomically,
)
from vinculo.contacts.models import (
    Account,
    AccountTag,
    ContactTag,
    ImportChange,
    ImportJob,
    ImportMapping,
    ImportRowFailure,
    JobStatus,
    OnMatch,
)
from vinculo.contacts.services import _changes, _snapshot
from vinculo.core.access import can, require
from vinculo.core.custom_fields import definitions_for
from vinculo.core.events import record_event, record_events_bulk
from vinculo.core.exceptions import (
    ApplicationError,
    ErrorCollector,
    FieldError,
    NotFound,
)
from vinculo.core.memory import gc_paused
from vinculo.core.models import Event, Tag, User, Workspace
from vinculo.core.roles import Right
from vinculo.core.tenancy import workspace_scope

logger = logging.getLogger(__name__)

BATCH_SIZE = 1000
# Large files go in larger batches (a twentieth of the file, at most MAX_BATCH_SIZE rows):
# on SQLite each commit writes every index page the batch touched, and with keys spread over
# the whole index (emails, phones) a batch of 1,000 rows touches nearly as many pages as one
# of 50,000; at a million rows, commits of 1,000 rows would write 25 GB. A killed worker
# loses the batch in flight: a few seconds of work.
MAX_BATCH_SIZE = 50_000
# VINCULO_IMPORT_COMMIT_ROWS (a setting, unset by default) lets a large import commit once
# every so many rows instead of once a batch: its batches then share a transaction, each in
# a savepoint. On SQLite each commit writes every page the transaction changed, and at a
# million rows nearly every page of the indexes with keys spread over the whole tree (emails,
# phones, names, the search index) changes in every batch: 200,000 rows a commit took about
# 17 µs a row of processor time off the writing process at a million rows. It is not the
# default because the transaction holds SQLite's write lock all along (some twenty seconds),
# longer than the busy timeout other writers wait (settings: 10 s), so pages and the API
# would answer "database is locked" meanwhile; for imports run when nobody else writes. A
# killed worker loses the rows written since the last commit; the resumed job writes them.
UNDO_DAYS = 7
# Rows per chunk of undo work (one query per chunk and kind).
UNDO_CHUNK = 1000
# Below this many rows a helper process costs more to start than it saves.
PARALLEL_FROM = 20_000
# Attempts at a batch the database refused for a moment (SQLite busy, a PostgreSQL deadlock).
BATCH_ATTEMPTS = 3


def max_rows() -> int:
    return int(getattr(settings, "VINCULO_IMPORT_MAX_ROWS", 1_000_000))


def stale_after() -> timedelta:
    """A running job whose heartbeat is older than this lost its worker."""
    return timedelta(seconds=int(getattr(settings, "VINCULO_IMPORT_STALE_SECONDS", 120)))


class ImportNotDone(ApplicationError):
    code = "import_not_done"
    status = 409
    title = "This import cannot be undone"


class ImportUndoExpired(ApplicationError):
    code = "import_undo_expired"
    status = 410
    title = "This import can no longer be undone"


class ImportNotDraft(ApplicationError):
    code = "import_not_draft"
    status = 409
    title = "This import has already started"


class _Superseded(Exception):
    """Another worker moved the job on (or it was stopped): this one leaves it alone."""


@dataclass(frozen=True)
class PreviewRow:
    """What the import would do with one row: the values read (by field name), the problems
    (field name, message) and the action: create, update, skip or fail."""

    line: int
    cells: list[str]
    values: dict[str, Any]
    errors: list[dict[str, str]]
    action: str


# --- files -------------------------------------------------------------------------------------


@contextmanager
def stored_file_path(name: str) -> Iterator[Path]:
    """A local path of a stored file: the file itself on a file-system storage, a temporary
    copy on others (the reader streams from a path)."""
    from django.core.files.storage import default_storage

    try:
        local: Path | None = Path(default_storage.path(name))
    except NotImplementedError:
        local = None
    # In-memory storage answers a path where nothing is.
    if local is not None and local.is_file():
        yield local
        return
    suffix = PurePath(name).suffix
    with tempfile.NamedTemporaryFile(suffix=suffix) as copy:
        with default_storage.open(name, "rb") as source:
            shutil.copyfileobj(source, copy, 1024 * 1024)
        copy.flush()
        yield Path(copy.name)


def _table_info(job: ImportJob) -> TableInfo:
    return TableInfo(
        file_format=job.file_format,
        encoding=job.encoding,
        delimiter=job.delimiter,
        has_header=job.has_header,
        headers=list(job.headers or []),
        sample_rows=[],
    )


def _max_bytes() -> int:
    from vinculo.contacts.imports.reading import _max_bytes as reading_limit

    return reading_limit()


def _check_row_limit(total: int, name: str) -> None:
    limit = max_rows()
    if total > limit:
        raise ImportFileError(
            _(
                "“%(name)s” has %(rows)s rows; an import takes at most %(limit)s. "
                "Split it into smaller files."
            )
            % {"name": name, "rows": f"{total:,}", "limit": f"{limit:,}"}
        )


# --- fields and mappings -----------------------------------------------------------------------


def import_fields(*, workspace: Workspace, object_type: str) -> list[FieldSpec]:
    """The fields a column of an `object_type` file can be mapped to: the built-in ones and
    the workspace's custom fields (`cf:<key>`). Raises NotFound for an unknown type."""
    importer = importer_for(object_type)
    return importer.fields(definitions_for(workspace=workspace, object_type=object_type))


def _saved_mapping(
    *, workspace: Workspace, object_type: str, headers: list[str], known: set[str]
) -> dict[str, str] | None:
    """The newest saved mapping made for a file with these same column titles."""
    wanted = [normalise_header(h) for h in headers]
    if len(set(wanted)) != len(wanted):
        return None
    saved = ImportMapping.objects.for_workspace(workspace).filter(object_type=object_type)
    for mapping in saved.order_by("-created_at", "-id")[:50]:
        titles = {normalise_header(h): f for h, f in (mapping.mapping or {}).items()}
        if set(titles) == set(wanted):
            return {
                str(i): titles[title] for i, title in enumerate(wanted) if titles[title] in known
            }
    return None


def _default_match_by(importer: Importer, mapping: Mapping[str, str]) -> list[str]:
    mapped = set(mapping.values())
    return [key for key in importer.default_match_by if key in mapped]


def import_upload(
    *,
    workspace: Workspace,
    actor: User | None,
    object_type: str,
    uploaded: File,
    original_name: str,
) -> ImportJob:
    """Store an uploaded file, read how it is laid out and guess its column mapping (a saved
    mapping made for the same column titles first). Returns a DRAFT job; nothing is imported
    yet. Raises PermissionDenied without the create right, ImportFileError (a ValidationFailed
    on "file") when the file cannot be imported; then nothing is kept."""
    importer = importer_for(object_type)
    require(workspace=workspace, user=actor, module=importer.module, right=Right.CREATE)
    name = PurePath(original_name or "").name[:200] or "import.csv"
    size = getattr(uploaded, "size", None)
    if size is not None and size > _max_bytes():
        raise ImportFileError(
            _(
                "“%(name)s” is %(size)s; files up to %(limit)s can be imported. "
                "Split it into smaller files."
            )
            % {"name": name, "size": filesizeformat(size), "limit": filesizeformat(_max_bytes())}
        )
    job = ImportJob(
        workspace=workspace,
        object_type=object_type,
        status=JobStatus.DRAFT,
        created_by=actor if actor is not None and actor.pk else None,
        original_name=name,
        size_bytes=size or 0,
    )
    job.file.save(name, uploaded, save=False)
    try:
        with stored_file_path(str(job.file.name)) as path:
            info = inspect_file(path, original_name=name)
            total = count_rows(path, info)
            job.size_bytes = path.stat().st_size
        _check_row_limit(total, name)
    except BaseException:
        job.file.delete(save=False)
        raise
    job.file_format = info.file_format
    job.encoding = info.encoding
    job.delimiter = info.delimiter
    job.has_header = info.has_header
    job.headers = list(info.headers)
    job.total_rows = total
    fields = import_fields(workspace=workspace, object_type=object_type)
    known = {f.name for f in fields}
    saved = _saved_mapping(
        workspace=workspace, object_type=object_type, headers=job.headers, known=known
    )
    job.mapping = saved if saved is not None else guess_mapping(job.headers, fields)
    job.match_by = _default_match_by(importer, job.mapping)
    job.on_match = OnMatch.SKIP
    with transaction.atomic():
        job.save(force_insert=True)
    return job


def _job_visible_to(workspace: Workspace, viewer: User | None) -> Any:
    """Jobs a person may see: their own, or all of them for those who hold the workspace's
    settings (admins and managers)."""
    jobs = ImportJob.objects.for_workspace(workspace)
    if viewer is None or can(workspace=workspace, user=viewer, module="settings", right=Right.VIEW):
        return jobs
    return jobs.filter(created_by=viewer)


def _job_for_write(workspace: Workspace, actor: User | None, job_id: int) -> ImportJob:
    job = (
        _job_visible_to(workspace, actor)
        .select_for_update()
        .filter(pk=job_id if 0 < job_id < 2**63 else 0)
        .first()
    )
    if job is None:
        raise NotFound(_("There is no such import."))
    return job


def _clean_mapping(
    errors: ErrorCollector,
    importer: Importer,
    mapping: Mapping[str, str],
    *,
    width: int,
    known: dict[str, str],
) -> dict[str, str]:
    cleaned: dict[str, str] = {}
    used: dict[str, str] = {}
    for column, name in mapping.items():
        if not name:
            continue
        if not str(column).isdigit() or int(column) >= width:
            errors.add(
                "mapping",
                "unknown-column",
                _("The file has no column %(column)s.") % {"column": column},
            )
            continue
        if name not in known:
            errors.add(
                "mapping",
                "unknown-field",
                _("“%(field)s” is not a field that can be imported.") % {"field": name},
            )
            continue
        if name in used:
            errors.add(
                "mapping",
                "mapped-twice",
                _("Two columns go to the field “%(field)s”; choose one of them.")
                % {"field": known[name]},
            )
            continue
        used[name] = str(column)
        cleaned[str(int(column))] = name
    if not errors.errors and not importer.identifying & set(cleaned.values()):
        options = ", ".join(known[n] for n in sorted(importer.identifying) if n in known)
        errors.add(
            "mapping",
            "nothing-identifying",
            _("Map at least one of these fields, so each row can describe a record: %(fields)s.")
            % {"fields": options},
        )
    return cleaned


def import_configure(
    *,
    workspace: Workspace,
    actor: User | None,
    job_id: int,
    mapping: Mapping[str, str],
    match_by: Sequence[str],
    on_match: str,
    has_header: bool | None = None,
    save_mapping_as: str = "",
) -> ImportJob:
    """Set a draft import's column mapping (column index → field name), the keys rows match
    existing records on and what a match does; optionally say whether the first row holds
    titles, and save the mapping for the next file of this shape. Raises ValidationFailed
    naming "mapping", "match_by", "on_match" or "save_mapping_as", ImportNotDraft once
    started."""
    with transaction.atomic():
        job = _job_for_write(workspace, actor, job_id)
        if job.status != JobStatus.DRAFT:
            raise ImportNotDraft(_("This import has already started; start a new one."))
        importer = importer_for(job.object_type)
        require(workspace=workspace, user=actor, module=importer.module, right=Right.CREATE)
        if has_header is not None and has_header != job.has_header:
            _reread_header(job, has_header)
        known = {
            f.name: f.label for f in import_fields(workspace=workspace, object_type=job.object_type)
        }
        errors = ErrorCollector()
        cleaned = _clean_mapping(
            errors, importer, mapping, width=len(job.headers or []), known=known
        )
        keys: list[str] = []
        mapped = set(cleaned.values())
        for key in match_by:
            if key not in importer.match_keys:
                errors.add(
                    "match_by",
                    "invalid-choice",
                    _("Records can be matched on: %(keys)s.")
                    % {"keys": ", ".join(importer.match_keys)},
                )
            elif key not in mapped:
                errors.add(
                    "match_by",
                    "not-mapped",
                    _("To match on “%(field)s”, map a column to it.")
                    % {"field": known.get(key, key)},
                )
            elif key not in keys:
                keys.append(key)
        if on_match not in OnMatch.values:
            errors.add(
                "on_match",
                "invalid-choice",
                _("Choose one of: %(options)s.") % {"options": ", ".join(OnMatch.values)},
            )
        elif (
            on_match != OnMatch.SKIP
            and not can(workspace=workspace, user=actor, module=importer.module, right=Right.EDIT)
            and actor is not None
        ):
            errors.add(
                "on_match",
                "not-allowed",
                _("Your role cannot change existing records; choose to skip matching rows."),
            )
        title = " ".join((save_mapping_as or "").split())
        if len(title) > 100:
            errors.add(
                "save_mapping_as", "too-long", _("Use at most %(max)d characters.") % {"max": 100}
            )
        errors.raise_if_any()
        job.mapping = cleaned
        job.match_by = keys
        job.on_match = on_match
        job.save(
            update_fields=["mapping", "match_by", "on_match", "has_header", "headers", "total_rows"]
        )
        if title:
            headers = list(job.headers or [])
            ImportMapping.objects.for_workspace(workspace).update_or_create(
                workspace=workspace,
                object_type=job.object_type,
                name=title,
                defaults={
                    "mapping": {h: cleaned.get(str(i), "") for i, h in enumerate(headers)},
                    "created_by": actor if actor is not None and actor.pk else None,
                    "created_at": timezone.now(),
                },
            )
    return job


def _reread_header(job: ImportJob, has_header: bool) -> None:
    with stored_file_path(str(job.file.name)) as path:
        info = inspect_file(path, original_name=job.original_name, has_header=has_header)
        job.total_rows = count_rows(path, info)
    job.has_header = info.has_header
    job.headers = list(info.headers)
    job.mapping = {k: v for k, v in (job.mapping or {}).items() if int(k) < len(job.headers)}


def mapping_delete(*, workspace: Workspace, actor: User | None, mapping_id: int) -> None:
    """Forget a saved mapping. Its author and those who hold the workspace's settings may.
    Raises NotFound. No event: a mapping is a tool, not customer data."""
    with transaction.atomic():
        mapping = (
            ImportMapping.objects.for_workspace(workspace)
            .select_for_update()
            .filter(pk=mapping_id if 0 < mapping_id < 2**63 else 0)
            .first()
        )
        if mapping is None:
            raise NotFound(_("There is no such saved mapping."))
        importer = importer_for(mapping.object_type)
        require(workspace=workspace, user=actor, module=importer.module, right=Right.CREATE)
        if (
            actor is not None
            and mapping.created_by_id != actor.pk
            and not can(workspace=workspace, user=actor, module="settings", right=Right.EDIT)
        ):
            raise NotFound(_("There is no such saved mapping."))
        mapping.delete()


# --- preview -----------------------------------------------------------------------------------


class _RolledBack(Exception):
    pass


def _display_values(importer: Importer, ctx: RowContext, prepared: PreparedRow) -> dict[str, Any]:
    """The values read from a row, by the field names of its mapping."""
    data = prepared.data
    members = {v: k for k, v in ctx.members.items() if "@" in k}
    values: dict[str, Any] = {}
    for name in ctx.mapping.values():
        if name == "full_name":
            value: Any = " ".join(p for p in (data.get("first_name"), data.get("last_name")) if p)
        elif name == "account":
            value = prepared.account_name
        elif name == "owner":
            value = members.get(int(data.get("owner_id") or 0), "")
        elif name.startswith(CF_PREFIX):
            value = (data.get("custom_fields") or {}).get(name[len(CF_PREFIX) :])
        elif name in ("email", "phone"):
            value = data.get(name) or data.get(f"{name}s")
        else:
            value = data.get(name)
        if value not in (None, "", []):
            values[name] = value
    return values


def import_preview(
    *, workspace: Workspace, actor: User | None, job_id: int, limit: int = 20
) -> list[PreviewRow]:
    """What the first `limit` rows would do with the current mapping: values read, problems,
    and whether each creates, updates, skips or fails. Writes nothing: the rows go through the
    same writer as the run inside a transaction that is rolled back. Raises ValidationFailed
    ("mapping") when nothing identifying is mapped."""
    job = _job_visible_to(workspace, actor).filter(pk=job_id if 0 < job_id < 2**63 else 0).first()
    if job is None:
        raise NotFound(_("There is no such import."))
    importer = importer_for(job.object_type)
    known = {
        f.name: f.label for f in import_fields(workspace=workspace, object_type=job.object_type)
    }
    errors = ErrorCollector()
    _clean_mapping(errors, importer, job.mapping or {}, width=len(job.headers or []), known=known)
    errors.raise_if_any()
    ctx = row_context(
        workspace=workspace, actor=actor, object_type=job.object_type, mapping=job.mapping
    )
    with stored_file_path(str(job.file.name)) as path:
        raw = [
            (r.index, r.line, r.cells, r.problem)
            for r in islice(iter_rows(path, _table_info(job)), max(0, limit))
        ]
    prepared = prepare_rows(importer, ctx, raw)
    writer = RecordWriter(
        importer=importer,
        workspace=workspace,
        actor=actor,
        match_by=job.match_by or [],
        on_match=job.on_match,
        job_id=None,
        ctx=ctx,
    )
    outcomes: list[Outcome] = []
    try:
        with transaction.atomic():
            outcomes = write_rows_atomically(writer, prepared, lookups=ctx.lookups)
            raise _RolledBack
    except _RolledBack:
        pass
    actions = {"created": "create", "updated": "update", "skipped": "skip", "failed": "fail"}
    mapped = set(ctx.mapping.values())
    rows = []
    for row, outcome in zip(prepared, outcomes, strict=True):
        rows.append(
            PreviewRow(
                line=row.line,
                cells=row.cells,
                values=_display_values(importer, ctx, row),
                errors=[
                    {"field": _error_field(importer, e.field, mapped), "message": str(e.message)}
                    for e in outcome.errors
                ],
                action=actions[outcome.status],
            )
        )
    return rows


def _error_field(importer: Importer, name: str, mapped: set[str]) -> str:
    """The import field an error belongs to: a name in the mapping where possible."""
    if not name:
        return ""
    field = importer.field_of_error(name, mapped)
    if field in ("first_name", "last_name") and field not in mapped and "full_name" in mapped:
        return "full_name"
    return field


# --- start and run -----------------------------------------------------------------------------


def import_start(
    *, workspace: Workspace, actor: User | None, job_id: int, in_background: bool = True
) -> ImportJob:
    """Queue a configured draft import (DRAFT → QUEUED) and, after commit, its task. The CLI
    passes `in_background=False` and runs `import_run` itself. Raises ValidationFailed when
    the mapping is not usable, ImportNotDraft when already started."""
    with transaction.atomic():
        job = _job_for_write(workspace, actor, job_id)
        if job.status != JobStatus.DRAFT:
            raise ImportNotDraft(_("This import has already started; start a new one."))
        importer = importer_for(job.object_type)
        require(workspace=workspace, user=actor, module=importer.module, right=Right.CREATE)
        known = {
            f.name: f.label for f in import_fields(workspace=workspace, object_type=job.object_type)
        }
        errors = ErrorCollector()
        _clean_mapping(
            errors, importer, job.mapping or {}, width=len(job.headers or []), known=known
        )
        errors.raise_if_any()
        if job.total_rows is None:
            with stored_file_path(str(job.file.name)) as path:
                job.total_rows = count_rows(path, _table_info(job))
        _check_row_limit(job.total_rows, job.original_name)
        job.status = JobStatus.QUEUED
        job.heartbeat_at = timezone.now()
        job.save(update_fields=["status", "heartbeat_at", "total_rows"])
        if in_background:
            transaction.on_commit(lambda: _enqueue(job.pk))
    return job


def _enqueue(job_id: int) -> None:
    from vinculo.contacts.imports.tasks import import_run_task

    try:
        import_run_task.enqueue(job_id=job_id)
    except Exception:
        # The periodic resume hands it to a worker later; the request must not fail on it.
        logger.exception("could not enqueue import %s", job_id)


def _claim(job_id: int) -> bool:
    """Take a queued job (one worker only: a conditional update)."""
    now = timezone.now()
    return (
        ImportJob.all_tenants.filter(pk=job_id, status=JobStatus.QUEUED).update(
            status=JobStatus.RUNNING, heartbeat_at=now
        )
        == 1
    )


def import_run(*, job_id: int, progress: Callable[[ImportJob], None] | None = None) -> ImportJob:
    """Write a queued import (the task's body): rows in batches, each batch in one
    transaction with the job's counters and cursor; resumes from `rows_done`. Idempotent: a
    job another worker holds, or one already finished, is left alone. Records an event per
    record created or changed (source "import") and `import.completed` at the end. A file
    that can no longer be read, or an unexpected error, marks the job FAILED with the reason;
    what earlier batches wrote stays (and can be undone)."""
    job = ImportJob.all_tenants.select_related("workspace", "created_by").filter(pk=job_id).first()
    if job is None:
        raise NotFound(_("There is no such import."))
    if not _claim(job_id):
        return job
    job.refresh_from_db()
    workspace = job.workspace
    actor = job.created_by
    language = (actor.language if actor is not None else "") or workspace.locale or None
    with workspace_scope(workspace), translation.override(language):
        try:
            importer = importer_for(job.object_type)
            require(workspace=workspace, user=actor, module=importer.module, right=Right.CREATE)
            if job.started_at is None:
                job.started_at = timezone.now()
                ImportJob.all_tenants.filter(pk=job.pk).update(started_at=job.started_at)
            _run(job, importer, actor, progress)
            _finish(job, actor)
        except _Superseded:
            logger.info("import %s was taken over or stopped; leaving it", job.pk)
        except ApplicationError as exc:
            _fail(job, exc.detail)
        except Exception:
            logger.exception("import %s failed", job.pk)
            _fail(
                job,
                _(
                    "The import stopped because of an unexpected error. The rows written "
                    "before it are kept; you can undo them."
                ),
            )
    job.refresh_from_db()
    return job


def _run(
    job: ImportJob,
    importer: Importer,
    actor: User | None,
    progress: Callable[[ImportJob], None] | None,
) -> None:
    workspace = job.workspace
    ctx = row_context(
        workspace=workspace, actor=actor, object_type=job.object_type, mapping=job.mapping
    )
    writer = RecordWriter(
        importer=importer,
        workspace=workspace,
        actor=actor,
        match_by=job.match_by or [],
        on_match=job.on_match,
        job_id=job.pk,
        ctx=ctx,
    )
    remaining = (job.total_rows or 0) - job.rows_done
    parallel = remaining >= int(getattr(settings, "VINCULO_IMPORT_PARALLEL_FROM", PARALLEL_FROM))
    headers = list(job.headers or [])
    with stored_file_path(str(job.file.name)) as path, _bulk_write_settings(remaining):
        batches = prepared_batches(
            importer,
            ctx,
            path,
            _table_info(job),
            start=job.rows_done,
            size=batch_size(remaining),
            parallel=parallel,
        )
        # Each batch's rows are freed as soon as it is written; see `gc_paused`.
        with gc_paused():
            for group in _commit_groups(batches, commit_rows()):
                with transaction.atomic():
                    for prepared in group:
                        _write_batch(job, writer, prepared, ctx, headers)
                if progress is not None:
                    progress(job)


def batch_size(rows: int) -> int:
    configured = getattr(settings, "VINCULO_IMPORT_BATCH_SIZE", None)
    if configured:
        return int(configured)
    return min(MAX_BATCH_SIZE, max(BATCH_SIZE, rows // 20))


def commit_rows() -> int:
    """Rows written between two commits (see VINCULO_IMPORT_COMMIT_ROWS); 1: every batch."""
    return max(1, int(getattr(settings, "VINCULO_IMPORT_COMMIT_ROWS", None) or 1))


def _commit_groups(
    batches: Iterable[list[PreparedRow]], rows: int
) -> Iterator[Iterator[list[PreparedRow]]]:
    """`batches` in groups of at least `rows` rows (the last may hold fewer), each group
    consumed lazily, so only the batch being written is in memory."""
    source = iter(batches)
    for first in source:

        def group(first: list[PreparedRow] = first) -> Iterator[list[PreparedRow]]:
            count = len(first)
            yield first
            while count < rows:
                following = next(source, None)
                if following is None:
                    return
                count += len(following)
                yield following

        yield group()


# SQLite's write-ahead log is copied into the database (a checkpoint) once it holds this many
# pages rather than the default 1,000, while a large import runs: its commits are large, and
# pages it changes again in the next batches are then copied once.
WAL_CHECKPOINT_PAGES = 250_000


@contextmanager
def _bulk_write_settings(rows: int) -> Iterator[None]:
    """SQLite, for a large import, on this connection only: a page cache as large as the
    database (within an eighth of the memory, at most 2 GiB), so the pages of the indexes the
    batches insert into all over (emails, phones, the search index) are read once rather
    than once per batch; and fewer checkpoints (WAL_CHECKPOINT_PAGES). Both are restored
    afterwards."""
    if connection.vendor != "sqlite" or rows < PARALLEL_FROM:
        yield
        return
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        saved = int(cursor.fetchone()[0])
        cursor.execute("PRAGMA page_count")
        pages = int(cursor.fetchone()[0])
        cursor.execute("PRAGMA page_size")
        size_kib = pages * int(cursor.fetchone()[0]) // 1024
        try:
            memory_kib = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 1024
        except (ValueError, OSError, AttributeError):
            memory_kib = 4_000_000
        cache_kib = max(64_000, min(size_kib, memory_kib // 8, 2_000_000))
        cursor.execute(f"PRAGMA cache_size=-{cache_kib}")
        cursor.execute("PRAGMA wal_autocheckpoint")
        saved_checkpoint = int(cursor.fetchone()[0])
        cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size={saved}")
            cursor.execute(f"PRAGMA wal_autocheckpoint={saved_checkpoint}")


def _write_batch(
    job: ImportJob,
    writer: RecordWriter,
    prepared: list[PreparedRow],
    ctx: RowContext,
    headers: list[str],
) -> None:
    first, last = prepared[0].index, prepared[-1].index
    for attempt in range(BATCH_ATTEMPTS):
        try:
            with transaction.atomic():
                current = (
                    ImportJob.objects.for_workspace(job.workspace)
                    .select_for_update()
                    .filter(pk=job.pk)
                    .values_list("status", "rows_done")
                    .first()
                )
                if current != (JobStatus.RUNNING, first):
                    raise _Superseded
                outcomes = write_rows_atomically(writer, prepared, lookups=ctx.lookups)
                counts = _count(outcomes)
                failures = _failures(job, writer.importer, prepared, outcomes, ctx, headers)
                ImportRowFailure.objects.for_workspace(job.workspace).bulk_create(failures)
                now = timezone.now()
                ImportJob.objects.for_workspace(job.workspace).filter(pk=job.pk).update(
                    rows_done=last + 1,
                    heartbeat_at=now,
                    created_count=F("created_count") + counts["created"],
                    updated_count=F("updated_count") + counts["updated"],
                    skipped_count=F("skipped_count") + counts["skipped"],
                    failed_count=F("failed_count") + counts["failed"],
                )
            break
        except OperationalError:
            writer.forget()
            if attempt + 1 == BATCH_ATTEMPTS:
                raise
            time.sleep(0.5 * (attempt + 1))
    job.rows_done = last + 1
    job.heartbeat_at = now
    job.created_count += counts["created"]
    job.updated_count += counts["updated"]
    job.skipped_count += counts["skipped"]
    job.failed_count += counts["failed"]


def _count(outcomes: Iterable[Outcome]) -> dict[str, int]:
    counts = dict.fromkeys(("created", "updated", "skipped", "failed"), 0)
    for outcome in outcomes:
        counts[outcome.status] += 1
    return counts


def _column_titles(importer: Importer, ctx: RowContext, headers: list[str]) -> dict[str, str]:
    """Import field → the title of the column mapped to it (its label when unmapped)."""
    titles = {
        name: headers[index] if index < len(headers) else str(index + 1)
        for index, name in ctx.mapping.items()
    }
    for name, label in importer.builtin:
        titles.setdefault(name, str(label))
    for key, definition in ctx.definitions.items():
        titles.setdefault(f"{CF_PREFIX}{key}", definition.label)
    return titles


def _failures(
    job: ImportJob,
    importer: Importer,
    prepared: list[PreparedRow],
    outcomes: list[Outcome],
    ctx: RowContext,
    headers: list[str],
) -> list[ImportRowFailure]:
    failed = [(row, o) for row, o in zip(prepared, outcomes, strict=True) if o.status == "failed"]
    if not failed:
        return []
    titles = _column_titles(importer, ctx, headers)
    mapped = set(ctx.mapping.values())
    positions = {name: index for index, name in ctx.mapping.items()}
    result = []
    for row, outcome in failed:
        errors = []
        found = outcome.errors or [FieldError("", "failed", _("The row was not imported."))]
        named = [(_error_field(importer, e.field, mapped), e) for e in found]
        # In the order of the file's columns, as the person reads the line.
        named.sort(key=lambda pair: positions.get(pair[0], len(headers)))
        for name, error in named:
            errors.append(
                {
                    "field": name,
                    "column": titles.get(name, name),
                    "code": error.code,
                    "message": str(error.message),
                }
            )
        result.append(
            ImportRowFailure(
                workspace=job.workspace,
                job=job,
                line_number=row.line,
                values=row.cells,
                errors=errors,
            )
        )
    return result


def _finish(job: ImportJob, actor: User | None) -> None:
    with transaction.atomic():
        now = timezone.now()
        done = (
            ImportJob.objects.for_workspace(job.workspace)
            .filter(pk=job.pk, status=JobStatus.RUNNING)
            .update(status=JobStatus.DONE, finished_at=now, heartbeat_at=now)
        )
        if done:
            job.refresh_from_db()
            record_event(
                workspace=job.workspace,
                actor=actor,
                type="import.completed",
                subject=job,
                payload={
                    "object_type": job.object_type,
                    "file": job.original_name,
                    "rows": job.rows_done,
                    "created": job.created_count,
                    "updated": job.updated_count,
                    "skipped": job.skipped_count,
                    "failed": job.failed_count,
                },
            )


def _fail(job: ImportJob, reason: str) -> None:
    now = timezone.now()
    ImportJob.all_tenants.filter(
        pk=job.pk, status__in=[JobStatus.RUNNING, JobStatus.QUEUED]
    ).update(status=JobStatus.FAILED, error=str(reason)[:2000], finished_at=now, heartbeat_at=now)


def imports_resume_stalled(*, now: Any = None) -> list[int]:
    """Hand back to the queue every import whose worker died: queued or running with no
    heartbeat for `stale_after()`. They resume from their cursor. Returns their ids. Safe to
    run on many workers at once: each job is moved by one conditional update."""
    now = now or timezone.now()
    cutoff = now - stale_after()
    stalled = list(
        ImportJob.all_tenants.filter(
            status__in=[JobStatus.QUEUED, JobStatus.RUNNING], heartbeat_at__lt=cutoff
        ).values_list("pk", flat=True)[:100]
    )
    resumed = []
    for job_id in stalled:
        with transaction.atomic():
            moved = ImportJob.all_tenants.filter(
                pk=job_id,
                status__in=[JobStatus.QUEUED, JobStatus.RUNNING],
                heartbeat_at__lt=cutoff,
            ).update(status=JobStatus.QUEUED, heartbeat_at=now)
            if moved:
                resumed.append(job_id)
                transaction.on_commit(partial(_enqueue, job_id))
    if resumed:
        logger.info("handed %d stalled import(s) back to the queue", len(resumed))
    return resumed


# --- undo --------------------------------------------------------------------------------------


@dataclass
class _UndoCounts:
    removed: int = 0
    restored: int = 0
    kept: int = 0
    gone: int = 0


def import_undo(*, workspace: Workspace, actor: User | None, job_id: int) -> ImportJob:
    """Take back a finished import within UNDO_DAYS: records it created are removed for good
    (with their tag links; they did not exist before), records it changed get their earlier
    values back, accounts and tags it created for them go too. A record changed since the
    import, or one that has gained related records (timeline, …), is left as it is and
    counted as kept. Records `<kind>.purged` / `<kind>.updated` events (source
    "import_undo") and `import.undone` with the counts. Raises ImportNotDone, ImportUndoExpired,
    NotFound or PermissionDenied."""
    with transaction.atomic():
        job = _job_for_write(workspace, actor, job_id)
        importer = importer_for(job.object_type)
        require(workspace=workspace, user=actor, module=importer.module, right=Right.CREATE)
        if job.status not in (JobStatus.DONE, JobStatus.FAILED) or job.finished_at is None:
            raise ImportNotDone(_("Only a finished import can be undone."))
        if job.finished_at < timezone.now() - timedelta(days=UNDO_DAYS):
            raise ImportUndoExpired(
                ngettext(
                    "An import can be undone for %(days)d day after it finished.",
                    "An import can be undone for %(days)d days after it finished.",
                    UNDO_DAYS,
                )
                % {"days": UNDO_DAYS}
            )
        counts = _UndoCounts()
        undoer = _Undoer(job, actor, counts)
        undoer.run(importer)
        job.status = JobStatus.UNDONE
        job.undone_at = timezone.now()
        job.save(update_fields=["status", "undone_at"])
        record_event(
            workspace=workspace,
            actor=actor,
            type="import.undone",
            subject=job,
            payload={
                "object_type": job.object_type,
                "removed": counts.removed,
                "restored": counts.restored,
                "kept": counts.kept,
                "gone": counts.gone,
            },
        )
    return job


class _Undoer:
    def __init__(self, job: ImportJob, actor: User | None, counts: _UndoCounts) -> None:
        self.job = job
        self.workspace = job.workspace
        self.actor = actor if actor is not None and actor.pk else None
        self.counts = counts
        self.finished_at = job.finished_at
        self.payload = {"source": "import_undo", "import_id": job.pk}

    def _changes(self) -> Iterator[tuple[int, str, Any]]:
        changes = ImportChange.objects.for_workspace(self.workspace).filter(job=self.job)
        last = None
        while True:
            page = changes.order_by("-id")
            if last is not None:
                page = page.filter(id__lt=last)
            rows = list(page.values_list("id", "object_id", "action", "before")[:UNDO_CHUNK])
            if not rows:
                return
            for _id, object_id, action, before in rows:
                yield object_id, action, before
            last = rows[-1][0]

    def run(self, importer: Importer) -> None:
        created: list[int] = []
        updated: list[tuple[int, dict[str, Any]]] = []
        side: dict[str, list[int]] = {"account": [], "tag": []}
        for object_id, action, before in self._changes():
            kind = before.get(SIDE_OBJECT) if isinstance(before, dict) else None
            if action == ImportChange.Action.CREATED and kind in side:
                side[kind].append(object_id)
            elif action == ImportChange.Action.CREATED:
                created.append(object_id)
            elif isinstance(before, dict):
                updated.append((object_id, before))
        # Newest change first, so a record the import changed twice ends with its oldest
        # values.
        for start in range(0, len(updated), UNDO_CHUNK):
            self._restore(importer, updated[start : start + UNDO_CHUNK])
        for start in range(0, len(created), UNDO_CHUNK):
            self._remove(importer, created[start : start + UNDO_CHUNK])
        accounts = importer_for("account")
        for start in range(0, len(side["account"]), UNDO_CHUNK):
            self._remove(accounts, side["account"][start : start + UNDO_CHUNK], counted=False)
        self._remove_tags(side["tag"])

    def _unchanged_since(self, record: Any) -> bool:
        return record.updated_at <= self.finished_at

    def _remove(self, importer: Importer, ids: list[int], *, counted: bool = True) -> None:
        model = importer.model
        records = {r.pk: r for r in model.objects.for_workspace(self.workspace).filter(pk__in=ids)}
        if counted:
            self.counts.gone += len(set(ids) - set(records))
        removable = [r for r in records.values() if self._unchanged_since(r)]
        linked = self._linked(model, [r.pk for r in removable])
        doomed = [r for r in removable if r.pk not in linked]
        if counted:
            self.counts.kept += len(records) - len(doomed)
            self.counts.removed += len(doomed)
        if not doomed:
            return
        doomed_ids = [r.pk for r in doomed]
        importer.link_model.objects.for_workspace(self.workspace).filter(
            **{f"{importer.link_field}_id__in": doomed_ids}
        ).delete()
        model.objects.for_workspace(self.workspace).filter(pk__in=doomed_ids).delete()
        now = timezone.now()
        record_events_bulk(
            [
                Event(
                    workspace=self.workspace,
                    type=f"{importer.object_type}.purged",
                    subject_type=importer.object_type,
                    subject_id=r.pk,
                    actor=self.actor,
                    payload={"name": importer.display_name(r.__dict__), **self.payload},
                    occurred_at=now,
                )
                for r in doomed
            ]
        )

    def _linked(self, model: Any, ids: list[int]) -> set[int]:
        """Ids among `ids` that other records point to (besides their tag links): those hold
        work done since the import and are kept."""
        if not ids:
            return set()
        linked: set[int] = set()
        for relation in model._meta.related_objects:
            related = relation.related_model
            if (
                related in (ContactTag, AccountTag)
                or not (relation.one_to_many or relation.one_to_one)
                or not hasattr(related, "all_tenants")
            ):
                continue
            column = relation.field.attname
            linked |= set(
                related.all_tenants.filter(
                    workspace_id=self.workspace.pk, **{f"{column}__in": ids}
                ).values_list(column, flat=True)
            )
        return linked

    def _restore(self, importer: Importer, items: list[tuple[int, dict[str, Any]]]) -> None:
        model = importer.model
        ids = [object_id for object_id, _before in items]
        records = {r.pk: r for r in model.objects.for_workspace(self.workspace).filter(pk__in=ids)}
        fields = {f.attname: f for f in model._meta.concrete_fields}
        link = importer.link_model
        link_id = f"{importer.link_field}_id"
        current_tags: dict[int, set[int]] = {pk: set() for pk in records}
        for record_id, tag_id in (
            link.objects.for_workspace(self.workspace)
            .filter(**{f"{link_id}__in": list(records)})
            .values_list(link_id, "tag_id")
        ):
            current_tags[record_id].add(tag_id)
        wanted_tags: dict[int, set[int]] = {}
        befores: dict[int, list[dict[str, Any]]] = {}
        for object_id, before in items:
            record = records.get(object_id)
            if record is None:
                self.counts.gone += 1
            elif object_id in befores or self._unchanged_since(record):
                befores.setdefault(object_id, []).append(before)
                if isinstance(before.get("tag_ids"), list):
                    wanted_tags[object_id] = set(before["tag_ids"])
            else:
                self.counts.kept += 1
        if not befores:
            return
        tag_ids = {t for tags in [*current_tags.values(), *wanted_tags.values()] for t in tags}
        names = dict(
            Tag.objects.for_workspace(self.workspace)
            .filter(pk__in=tag_ids, deleted_at__isnull=True)
            .values_list("id", "name")
        )

        def tag_names(ids: set[int]) -> list[str]:
            return sorted(names[t] for t in ids if t in names)

        snapshots = {
            pk: _snapshot(records[pk], importer.tracked, tag_names(current_tags[pk]))
            for pk in befores
        }
        columns: set[str] = set()
        for pk, images in befores.items():
            for before in images:  # newest first: the oldest values are applied last
                for name, value in before.items():
                    if name in fields:
                        setattr(records[pk], name, fields[name].to_python(value))
                        columns.add(name)
        self.counts.restored += len(befores)
        model.objects.for_workspace(self.workspace).bulk_update(
            [records[pk] for pk in befores], sorted(columns)
        )
        links = link.objects.for_workspace(self.workspace)
        for pk, tags in wanted_tags.items():
            extra = current_tags[pk] - tags
            if extra:
                links.filter(**{link_id: pk, "tag_id__in": extra}).delete()
        links.bulk_create(
            [
                link(workspace=self.workspace, tag_id=t, **{link_id: pk})
                for pk, tags in wanted_tags.items()
                for t in tags - current_tags[pk]
            ]
        )
        now = timezone.now()
        record_events_bulk(
            [
                Event(
                    workspace=self.workspace,
                    type=f"{importer.object_type}.updated",
                    subject_type=importer.object_type,
                    subject_id=pk,
                    actor=self.actor,
                    payload={
                        "changes": _changes(
                            snapshots[pk],
                            _snapshot(
                                records[pk],
                                importer.tracked,
                                tag_names(wanted_tags.get(pk, current_tags[pk])),
                            ),
                        ),
                        **self.payload,
                    },
                    occurred_at=now,
                )
                for pk in befores
            ]
        )

    def _remove_tags(self, ids: list[int]) -> None:
        if not ids:
            return
        used = set(
            ContactTag.objects.for_workspace(self.workspace)
            .filter(tag_id__in=ids)
            .values_list("tag_id", flat=True)
        ) | set(
            AccountTag.objects.for_workspace(self.workspace)
            .filter(tag_id__in=ids)
            .values_list("tag_id", flat=True)
        )
        Tag.objects.for_workspace(self.workspace).filter(pk__in=set(ids) - used).delete()


# --- the bulk API ------------------------------------------------------------------------------

BULK_MAX_ITEMS = 1000
BULK_DEFAULT_MATCH = {"contact": ["external_id", "email"], "account": ["external_id", "domain"]}


class TooManyItems(ApplicationError):
    code = "too-many-items"
    status = 413
    title = "Too many items"


def records_bulk_upsert(
    *,
    workspace: Workspace,
    actor: User | None,
    object_type: str,
    items: Sequence[Any],
    match_by: Sequence[str] | None = None,
    on_match: str = OnMatch.OVERWRITE,
) -> list[Outcome]:
    """Create or update up to BULK_MAX_ITEMS records of `object_type` in one transaction,
    each item matched on `match_by` (default: external id, then email or domain) against
    live records and the items before it; a match is overwritten (the item is applied as a
    PATCH), filled (only empty fields) or skipped. The same writer as file imports: each item
    is written whole or not at all, and fails alone. Records `<kind>.created` /
    `<kind>.updated` events (source "api"). Needs the create and edit rights. Raises
    TooManyItems, ValidationFailed ("match_by", "on_match") or PermissionDenied."""
    importer = importer_for(object_type)
    require(workspace=workspace, user=actor, module=importer.module, right=Right.CREATE)
    require(workspace=workspace, user=actor, module=importer.module, right=Right.EDIT)
    if len(items) > BULK_MAX_ITEMS:
        raise TooManyItems(
            _("Send at most %(max)s items at a time; this request has %(count)s.")
            % {"max": f"{BULK_MAX_ITEMS:,}", "count": f"{len(items):,}"}
        )
    keys = list(match_by) if match_by is not None else BULK_DEFAULT_MATCH[object_type]
    errors = ErrorCollector()
    for key in keys:
        if key not in importer.match_keys:
            errors.add(
                "match_by",
                "invalid-choice",
                _("Records can be matched on: %(keys)s.")
                % {"keys": ", ".join(importer.match_keys)},
            )
    if on_match not in OnMatch.values:
        errors.add(
            "on_match",
            "invalid-choice",
            _("Choose one of: %(options)s.") % {"options": ", ".join(OnMatch.values)},
        )
    errors.raise_if_any()
    ctx = row_context(workspace=workspace, actor=actor, object_type=object_type)
    account_ids = {
        item["account_id"]
        for item in items
        if isinstance(item, Mapping)
        and isinstance(item.get("account_id"), int)
        and not isinstance(item.get("account_id"), bool)
        and 0 < item["account_id"] < 2**63
    }
    accounts = {}
    if account_ids and object_type == "contact":
        from vinculo.core.access import visible

        accounts = {
            a.pk: a
            for a in visible(
                Account.objects.for_workspace(workspace).filter(
                    deleted_at__isnull=True, pk__in=account_ids
                ),
                workspace=workspace,
                viewer=actor,
                module="accounts",
            ).only("id", "name")
        }
    lookups = replace(ctx.lookups, accounts=accounts)
    rows = [_bulk_row(importer, ctx, lookups, index, item) for index, item in enumerate(items)]
    writer = RecordWriter(
        importer=importer,
        workspace=workspace,
        actor=actor,
        match_by=keys,
        on_match=on_match,
        source="api",
        ctx=ctx,
    )
    with transaction.atomic():
        return write_rows_atomically(writer, rows, lookups=lookups)


def _bulk_row(
    importer: Importer, ctx: RowContext, lookups: Any, index: int, item: Any
) -> PreparedRow:
    from vinculo.contacts.imports.importers import validate_create

    if not isinstance(item, Mapping):
        return PreparedRow(
            index=index,
            line=index,
            cells=[],
            data={},
            errors=[FieldError("", "invalid-type", _("An item is an object of fields."))],
        )
    row = PreparedRow(index=index, line=index, cells=[], data=dict(item))
    validate_create(importer, ctx.workspace, ctx.actor, row, lookups)
    if row.stored is None:
        row.keys = importer.keys(ctx, row.data)
    return row
