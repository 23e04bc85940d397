"""Pages of exports: the list's Export menu posts here (`export_start`); a small list comes back
as the file at once, a larger one becomes a background export with its own page (progress,
then the download link). "Exports" lists a person's exports until their files expire.

Views parse the request, call a selector or a service and render (a file is rendered too).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_GET, require_POST

from vinculo.contacts.exports import selectors, services
from vinculo.contacts.exports.selectors import ExportPlan
from vinculo.contacts.exports.writers import (
    CONTENT_TYPES,
    CellMaker,
    csv_stream,
    file_name,
    write_xlsx,
)
from vinculo.contacts.models import ExportFormat, ExportJob, JobStatus
from vinculo.core.exceptions import ValidationFailed
from vinculo.core.models import User, Workspace
from vinculo.core.pages import domain_errors
from vinculo.core.pages import page_context as _context
from vinculo.core.tenancy import workspace_scope

PAGE_SIZE = 50
# Query parameters of a list that are not its filters.
_NOT_FILTERS = frozenset({"cursor", "view", "part", "ids", "format"})
_LISTS = {"contact": "contacts:list", "account": "contacts:accounts"}
STATUS_COLORS: dict[str, str] = {
    JobStatus.QUEUED: "gray",
    JobStatus.RUNNING: "blue",
    JobStatus.DONE: "green",
    JobStatus.FAILED: "red",
}


def _ids(values: list[str]) -> list[int]:
    return [int(v) for v in values if v.isdigit() and 0 < len(v) < 19]


def list_params(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """The filters and sort of a list's query string (the last non-blank value of each)."""
    return {k: v.strip() for k, v in pairs if k not in _NOT_FILTERS and v.strip()}


# ---------------------------------------------------------------------------------------------
# A file at once


def download_now(workspace: Workspace, plan: ExportPlan, viewer: User) -> HttpResponseBase:
    """The export as the response itself: CSV streamed as it is read, XLSX written first (the
    Export menu sends only small lists here; the bulk bar a selection)."""
    zone = timezone.get_current_timezone()
    language = translation.get_language()
    cells = CellMaker(plan, currency=workspace.currency, zone=zone)
    name = file_name(plan, timezone.localdate())
    chunks = selectors.export_chunks(workspace=workspace, viewer=viewer, plan=plan)
    response: HttpResponseBase
    if plan.file_format == ExportFormat.XLSX:
        # A workbook is only whole once closed: write it to a temporary file (row by row, in
        # constant memory), then send that. FileResponse closes it, which deletes it.
        scratch = tempfile.TemporaryFile()  # noqa: SIM115
        write_xlsx(cells, chunks, scratch, None)
        scratch.seek(0)
        response = FileResponse(scratch, content_type=CONTENT_TYPES[ExportFormat.XLSX])
    else:

        def pieces() -> Iterator[bytes]:
            # Read while the response streams, after the request's language, time zone and
            # workspace were reset: set them again for that time.
            with (
                translation.override(language),
                timezone.override(zone),
                workspace_scope(workspace),
            ):
                yield from csv_stream(cells, chunks)

        response = StreamingHttpResponse(pieces(), content_type=CONTENT_TYPES[ExportFormat.CSV])
    response["Content-Disposition"] = content_disposition_header(True, name)
    return response


def _problem(request: HttpRequest, exc: ValidationFailed, back_url: str) -> HttpResponse:
    return render(
        request,
        "contacts/exports/problem.html",
        {"errors": exc.errors, "back_url": back_url},
        status=422,
    )


@login_required
@require_POST
@domain_errors
def export_start(request: HttpRequest) -> HttpResponseBase:
    """The Export menu of a list: `object_type`, `format`, the list's `query` (filters and
    sort), its `columns`, and optionally the chosen `ids`. Up to the immediate limit the file
    comes back at once; a larger list becomes a background export and its page opens."""
    workspace, user = _context(request)
    object_type = request.POST.get("object_type", "")
    params = list_params(parse_qsl(request.POST.get("query", "")))
    back_url = reverse(_LISTS.get(object_type, "contacts:list"))
    if params:
        back_url += "?" + urlencode(list(params.items()))
    columns = request.POST.getlist("columns")
    ids = _ids(request.POST.getlist("ids")) or None
    file_format = request.POST.get("format", ExportFormat.CSV)
    try:
        plan = selectors.export_plan(
            workspace=workspace,
            viewer=user,
            object_type=object_type,
            file_format=file_format,
            params=params,
            columns=columns,
            ids=ids,
            strict=False,
        )
        total = selectors.export_count(workspace=workspace, viewer=user, plan=plan)
        if total <= services.immediate_limit():
            return download_now(workspace, plan, user)
        job = services.export_create(
            workspace=workspace,
            actor=user,
            object_type=object_type,
            file_format=file_format,
            params=params,
            columns=columns,
            ids=ids,
            strict=False,
        )
    except ValidationFailed as exc:
        return _problem(request, exc, back_url)
    messages.success(
        request,
        _("The list is large: its file is being prepared. It will be here, and under Exports."),
    )
    return HttpResponseRedirect(reverse("contacts:export_detail", args=[job.pk]))


# ---------------------------------------------------------------------------------------------
# The exports page, one export's page


@dataclass(frozen=True)
class ExportRow:
    job: ExportJob
    kind_label: str
    status_label: str
    status_color: str
    size: int | None
    expires_at: Any
    expired: bool
    url: str
    download_url: str


def _status(job: ExportJob) -> tuple[str, str, bool]:
    """(label, color, expired) of a job as people read it."""
    expired = job.status == JobStatus.DONE and not job.file
    if expired:
        return pgettext("export file", "Expired"), "gray", True
    return str(job.get_status_display()), STATUS_COLORS.get(job.status, "gray"), False


def _row(job: ExportJob) -> ExportRow:
    label, color, expired = _status(job)
    kind = selectors.export_kind(job.object_type)
    ready = job.status == JobStatus.DONE and bool(job.file)
    return ExportRow(
        job=job,
        kind_label=str(kind.label) if kind else job.object_type,
        status_label=label,
        status_color=color,
        size=selectors.export_file_size(job) if ready else None,
        expires_at=selectors.export_expires_at(job),
        expired=expired,
        url=reverse("contacts:export_detail", args=[job.pk]),
        download_url=reverse("contacts:export_download", args=[job.pk]) if ready else "",
    )


@login_required
@require_GET
@domain_errors
def export_list(request: HttpRequest) -> HttpResponse:
    """The person's exports, newest first: status, rows, size, download and expiry."""
    workspace, user = _context(request)
    cursor = request.GET.get("cursor") or None
    try:
        page = selectors.export_list(
            workspace=workspace, viewer=user, cursor=cursor, limit=PAGE_SIZE
        )
    except ValidationFailed:
        return HttpResponseRedirect(reverse("contacts:export_list"))
    context = {
        "rows": [_row(job) for job in page.items],
        "next_url": (
            reverse("contacts:export_list") + "?" + urlencode({"cursor": page.next_cursor})
            if page.next_cursor
            else ""
        ),
        "first_page": cursor is None,
        "retention_days": selectors.EXPORT_RETENTION_DAYS,
    }
    return render(request, "contacts/exports/list.html", context)


def _detail_context(job: ExportJob) -> dict[str, Any]:
    row = _row(job)
    return {
        "job": job,
        "row": row,
        "poll_url": reverse("contacts:export_progress", args=[job.pk]),
        "list_url": reverse(_LISTS.get(job.object_type, "contacts:list")),
        "retention_days": selectors.EXPORT_RETENTION_DAYS,
    }


@login_required
@require_GET
@domain_errors
def export_detail(request: HttpRequest, export_id: int) -> HttpResponse:
    """One export: its progress while the worker writes it, then the download link."""
    workspace, user = _context(request)
    job = selectors.export_get(workspace=workspace, viewer=user, export_id=export_id)
    return render(request, "contacts/exports/detail.html", _detail_context(job))


@login_required
@require_GET
@domain_errors
def export_progress(request: HttpRequest, export_id: int) -> HttpResponse:
    """The progress bar again (polled every second). Once the export is over the page
    reloads, with the download link."""
    workspace, user = _context(request)
    job = selectors.export_get(workspace=workspace, viewer=user, export_id=export_id)
    response = render(request, "contacts/exports/detail.html#progress", _detail_context(job))
    if not job.is_active:
        response["HX-Refresh"] = "true"
    return response


@login_required
@require_GET
@domain_errors
def export_download(request: HttpRequest, export_id: int) -> HttpResponseBase:
    """The file, for its maker or an admin of the workspace; 404 for anyone else, and while
    there is no file (not written yet, or expired)."""
    workspace, user = _context(request)
    try:
        job = selectors.export_file(workspace=workspace, viewer=user, export_id=export_id)
        handle = job.file.open("rb")
    except (selectors.ExportNotReady, selectors.ExportExpired, FileNotFoundError) as exc:
        raise Http404("no file") from exc
    return FileResponse(
        handle,
        as_attachment=True,
        filename=job.file_name or (job.file.name or "").rsplit("/", 1)[-1],
        content_type=CONTENT_TYPES.get(job.file_format, "application/octet-stream"),
    )


@login_required
@require_POST
@domain_errors
def export_delete(request: HttpRequest, export_id: int) -> HttpResponse:
    """Delete an export and its file before it expires."""
    workspace, user = _context(request)
    services.export_delete(workspace=workspace, actor=user, export_id=export_id)
    messages.success(request, _("Export deleted."))
    return HttpResponseRedirect(reverse("contacts:export_list"))
