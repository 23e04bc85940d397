"""Writes of exports: a background export is queued (`export_create`), written by the worker
(`export_run`, which rewrites the file from scratch when run again), deleted by its maker
(`export_delete`), and its file removed after seven days (`exports_purge_expired`).

A background export holds exactly what its maker may see when it runs: the worker reads the
records as that person, through the same selectors as the list.
"""

from __future__ import annotations

import datetime as dt
import logging
import tempfile
import time
import zoneinfo
from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from vinculo.contacts.exports.selectors import (
    EXPORT_RETENTION_DAYS,
    XLSX_MAX_ROWS,
    export_count,
    export_get,
    export_plan,
)
from vinculo.contacts.exports.writers import file_name, write_plan
from vinculo.contacts.models import ExportFormat, ExportJob, JobStatus
from vinculo.core.events import record_event
from vinculo.core.exceptions import ApplicationError, FieldError, ValidationFailed
from vinculo.core.models import User, Workspace

logger = logging.getLogger(__name__)

# A running export writes its progress (and heartbeat) at most this often.
PROGRESS_EVERY = 0.5  # seconds
# A running export whose heartbeat is older than this lost its worker: it is started again.
STALE_AFTER = dt.timedelta(minutes=5)


def immediate_limit() -> int:
    """Lists up to this many rows are downloaded at once; larger ones become a background
    export (setting VINCULO_EXPORT_IMMEDIATE_MAX_ROWS)."""
    return int(getattr(settings, "VINCULO_EXPORT_IMMEDIATE_MAX_ROWS", 5000))


def _zone_name() -> str:
    return str(timezone.get_current_timezone_name())


def export_create(
    *,
    workspace: Workspace,
    actor: User,
    object_type: str,
    file_format: str = ExportFormat.CSV,
    params: Mapping[str, Any] | None = None,
    columns: Iterable[str] = (),
    ids: Iterable[int] | None = None,
    strict: bool = True,
) -> ExportJob:
    """Queue a background export of a list (its filters `params`, its `columns`, or only the
    chosen `ids`) for `actor`, written in the language and time zone active now. Records
    `export.created`; starts `export_run_task` after commit. Raises ValidationFailed naming
    every bad field (see `export_plan`), and for an XLSX larger than a sheet holds."""
    plan = export_plan(
        workspace=workspace,
        viewer=actor,
        object_type=object_type,
        file_format=file_format,
        params=params,
        columns=columns,
        ids=ids,
        strict=strict,
    )
    total = export_count(workspace=workspace, viewer=actor, plan=plan)
    if plan.file_format == ExportFormat.XLSX and total > XLSX_MAX_ROWS:
        raise ValidationFailed(
            [
                FieldError(
                    "format",
                    "too-many-rows",
                    _(
                        "An XLSX sheet holds at most %(max)s rows and this list has %(count)s: "
                        "export it as CSV, or narrow it with filters."
                    )
                    % {"max": f"{XLSX_MAX_ROWS:,}", "count": f"{total:,}"},
                )
            ]
        )
    with transaction.atomic():
        job = ExportJob.objects.for_workspace(workspace).create(
            workspace=workspace,
            created_by=actor,
            object_type=plan.object_type,
            file_format=plan.file_format,
            params={
                "filters": plan.params,
                "ids": list(plan.ids) if plan.ids is not None else None,
                "language": translation.get_language() or settings.LANGUAGE_CODE,
                "time_zone": _zone_name(),
            },
            columns=[c.key for c in plan.columns],
            total_rows=total,
            status=JobStatus.QUEUED,
        )
        record_event(
            workspace=workspace,
            actor=actor,
            type="export.created",
            subject=job,
            payload={
                "object_type": plan.object_type,
                "format": plan.file_format,
                "filters": plan.params,
                "ids": len(plan.ids) if plan.ids is not None else None,
                "columns": job.columns,
                "rows": total,
            },
        )
        job_id = job.pk
        transaction.on_commit(lambda: _enqueue(job_id))
    return job


def _enqueue(job_id: int) -> None:
    from vinculo.contacts.exports.tasks import export_run_task

    try:
        export_run_task.enqueue(job_id=job_id)
    except Exception:
        # The stale-job sweep starts it later; the person's request must not fail for this.
        logger.exception("could not enqueue export %s", job_id)


def _job_zone(job: ExportJob, workspace: Workspace) -> dt.tzinfo:
    user_zone = job.created_by.time_zone if job.created_by is not None else ""
    for name in (job.params.get("time_zone"), user_zone, workspace.time_zone):
        if name:
            try:
                return zoneinfo.ZoneInfo(str(name))
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                continue
    return dt.UTC


def _job_language(job: ExportJob, workspace: Workspace) -> str:
    user_language = job.created_by.language if job.created_by is not None else ""
    return str(job.params.get("language") or user_language or workspace.locale)


class _Progress:
    """Writes rows done and the heartbeat while the file is written, at most every
    PROGRESS_EVERY seconds."""

    def __init__(self, workspace: Workspace, job_id: int) -> None:
        self.jobs = ExportJob.objects.for_workspace(workspace).filter(pk=job_id)
        self.last = time.monotonic()

    def __call__(self, rows_done: int) -> None:
        now = time.monotonic()
        if now - self.last >= PROGRESS_EVERY:
            self.last = now
            self.jobs.update(rows_done=rows_done, heartbeat_at=timezone.now())


def _claim(workspace: Workspace, job_id: int) -> bool:
    """Mark the job running, unless another worker runs it now (a fresh heartbeat)."""
    now = timezone.now()
    free = (
        ~Q(status=JobStatus.RUNNING)
        | Q(heartbeat_at__isnull=True)
        | Q(heartbeat_at__lt=now - STALE_AFTER)
    )
    return (
        ExportJob.objects.for_workspace(workspace)
        .filter(free, pk=job_id)
        .update(
            status=JobStatus.RUNNING,
            started_at=now,
            heartbeat_at=now,
            finished_at=None,
            rows_done=0,
            error="",
        )
        == 1
    )


def export_run(*, workspace: Workspace, job_id: int) -> ExportJob | None:
    """Write a queued export's file, from scratch: a second run (a retry, a worker that died
    half-way) replaces the first one's file. The records are read as the export's maker, in
    the language and time zone of the request that queued it. A failure is kept on the job
    (status failed, with the reason). Returns the job; None when there is no such job or
    another worker is writing it right now."""
    job = (
        ExportJob.objects.for_workspace(workspace)
        .select_related("created_by")
        .filter(pk=job_id)
        .first()
    )
    if job is None or not _claim(workspace, job_id):
        return None
    job.refresh_from_db()
    old_file = job.file.name if job.file else ""
    zone = _job_zone(job, workspace)
    try:
        with translation.override(_job_language(job, workspace)), timezone.override(zone):
            rows, name, stored = _write_file(workspace, job, zone)
    except ApplicationError as exc:
        return _fail(workspace, job, exc.detail)
    except Exception:
        logger.exception("export %s failed", job_id)
        _fail(workspace, job, _("The export failed unexpectedly; try again."))
        raise
    if old_file and old_file != stored:
        job.file.storage.delete(old_file)
    ExportJob.objects.for_workspace(workspace).filter(pk=job_id).update(
        status=JobStatus.DONE,
        file=stored,
        file_name=name,
        rows_done=rows,
        total_rows=rows,
        finished_at=timezone.now(),
        heartbeat_at=timezone.now(),
    )
    job.refresh_from_db()
    return job


def _write_file(workspace: Workspace, job: ExportJob, zone: dt.tzinfo) -> tuple[int, str, str]:
    """Write the file to temporary disk and then into the storage; (rows, name, stored name)."""
    viewer = job.created_by
    if viewer is None:
        # Read as no one, the export would see everything: refuse instead.
        raise ApplicationError(_("The person who asked for this export no longer exists."))
    ids = job.params.get("ids")
    plan = export_plan(
        workspace=workspace,
        viewer=viewer,
        object_type=job.object_type,
        file_format=job.file_format,
        params=job.params.get("filters") or {},
        columns=job.columns,
        ids=ids if isinstance(ids, list) else None,
        strict=False,
    )
    total = export_count(workspace=workspace, viewer=viewer, plan=plan)
    ExportJob.objects.for_workspace(workspace).filter(pk=job.pk).update(total_rows=total)
    name = file_name(plan, timezone.localdate(timezone=zone))
    progress = _Progress(workspace, job.pk)
    with tempfile.TemporaryFile() as scratch:
        rows = write_plan(
            workspace=workspace,
            viewer=viewer,
            plan=plan,
            target=scratch,
            zone=zone,
            progress=progress,
        )
        scratch.seek(0)
        stored = job.file.storage.save(
            job.file.field.generate_filename(job, name), File(scratch, name=name)
        )
    return rows, name, stored


def _fail(workspace: Workspace, job: ExportJob, reason: str) -> ExportJob:
    ExportJob.objects.for_workspace(workspace).filter(pk=job.pk).update(
        status=JobStatus.FAILED,
        error=str(reason),
        finished_at=timezone.now(),
    )
    job.refresh_from_db()
    return job


def export_delete(*, workspace: Workspace, actor: User, export_id: int) -> None:
    """Delete an export and its file (its maker or an admin). Nothing is recorded: the
    export's creation stays in the audit trail."""
    job = export_get(workspace=workspace, viewer=actor, export_id=export_id)
    stored = job.file.name if job.file else ""
    with transaction.atomic():
        job.delete()
        if stored:
            storage = job.file.storage
            transaction.on_commit(lambda: storage.delete(stored))


def exports_purge_expired(*, now: dt.datetime | None = None) -> int:
    """Delete the files of exports finished more than seven days ago, in every workspace; the
    exports stay listed, as expired. Returns how many files were deleted. Safe to run again:
    a file already gone is skipped."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=EXPORT_RETENTION_DAYS)
    expired = ExportJob.all_tenants.filter(finished_at__lt=cutoff).exclude(file="").order_by("pk")
    removed = 0
    for job in expired.iterator(chunk_size=200):
        name = job.file.name or ""
        # The row first: a file whose row no longer names it is never offered for download.
        ExportJob.all_tenants.filter(pk=job.pk, file=name).update(file="")
        job.file.storage.delete(name)
        removed += 1
    return removed


def exports_resume_stale(*, now: dt.datetime | None = None) -> list[int]:
    """Start again, in every workspace, the exports whose worker died while writing them (no
    heartbeat for five minutes) and those queued five minutes ago that no worker has touched
    (their task was lost). Each is moved by one conditional update, so several workers running
    this at once enqueue it once. Returns their ids."""
    now = now or timezone.now()
    cutoff = now - STALE_AFTER
    stale = (
        Q(status=JobStatus.RUNNING, heartbeat_at__lt=cutoff)
        | Q(status=JobStatus.QUEUED, heartbeat_at__isnull=True, created_at__lt=cutoff)
        | Q(status=JobStatus.QUEUED, heartbeat_at__lt=cutoff)
    )
    ids = []
    for job_id in list(ExportJob.all_tenants.filter(stale).values_list("pk", flat=True)[:100]):
        # Back to queued with a fresh heartbeat: the new task may claim it, and it has five
        # minutes before this job counts as stale again.
        moved = ExportJob.all_tenants.filter(stale, pk=job_id).update(
            status=JobStatus.QUEUED, heartbeat_at=now
        )
        if moved == 1:
            ids.append(job_id)
            _enqueue(job_id)
    return ids
