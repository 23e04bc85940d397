"""Pages of imports: the history, the upload, and one import's page, which follows its status
(DRAFT: map the columns, then preview; QUEUED/RUNNING: progress; DONE: the report, the failed
rows and undo; UNDONE).

Views parse the request, call a service or a selector of `imports` and render. The mapping
posts to its own URL and redirects to the preview (post/redirect/get), so reloading a page
never configures or starts anything twice.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.shortcuts import render
from django.template.defaultfilters import filesizeformat
from django.urls import NoReverseMatch, reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from vinculo.contacts.exports.writers import neutralise
from vinculo.contacts.imports import selectors, services
from vinculo.contacts.imports.forms import (
    MATCH_LABELS,
    Column,
    ImportMappingForm,
    ImportUploadForm,
)
from vinculo.contacts.imports.importers import Importer, importer_for, registered_importers
from vinculo.contacts.imports.mapping import normalise_header
from vinculo.contacts.imports.reading import MAX_IMPORT_BYTES
from vinculo.contacts.imports.services import (
    UNDO_DAYS,
    ImportNotDone,
    ImportNotDraft,
    ImportUndoExpired,
    PreviewRow,
)
from vinculo.contacts.models import ImportJob, ImportMapping, JobStatus, OnMatch
from vinculo.core.access import can
from vinculo.core.exceptions import NotFound, ValidationFailed
from vinculo.core.models import User, Workspace
from vinculo.core.pages import domain_errors
from vinculo.core.pages import page_context as _context
from vinculo.core.roles import Right
from vinculo.core.tenancy import workspace_scope

PREVIEW_ROWS = 20
SAMPLES = 3


@dataclass(frozen=True)
class Kind:
    """A kind of record as these pages speak of it."""

    object_type: str
    label: str  # "Contacts"
    choice: str  # the upload's radio button
    module: str
    list_url: str  # its list page, "" if it has none yet


# Words for the kinds known here; a kind a later app registers is named by its model.
_WORDS: dict[str, tuple[Any, Any, str]] = {
    "contact": (gettext_lazy("Contacts"), gettext_lazy("Contacts (people)"), "contacts:list"),
    "account": (
        gettext_lazy("Accounts"),
        gettext_lazy("Accounts (companies)"),
        "contacts:accounts",
    ),
}

STATUS_COLORS = {
    JobStatus.DRAFT: "gray",
    JobStatus.QUEUED: "blue",
    JobStatus.RUNNING: "blue",
    JobStatus.DONE: "green",
    JobStatus.FAILED: "red",
    JobStatus.UNDONE: "violet",
}
ACTIONS = {
    "create": (gettext_lazy("Create"), "green"),
    "update": (gettext_lazy("Update"), "blue"),
    "skip": (gettext_lazy("Skip"), "gray"),
    "fail": (gettext_lazy("Error"), "red"),
}
DELIMITER_NAMES = {
    ",": gettext_lazy("comma (,)"),
    ";": gettext_lazy("semicolon (;)"),
    "\t": gettext_lazy("tab"),
    "|": gettext_lazy("vertical bar (|)"),
}
ENCODING_NAMES = {
    "utf-8-sig": gettext_lazy("UTF-8 with BOM"),
    "utf-8": "UTF-8",
    "utf-16": "UTF-16",
    "cp1252": gettext_lazy("Windows-1252 (Latin-1)"),
}


# ---------------------------------------------------------------------------------------------
# Plumbing


def _kind(importer: Importer) -> Kind:
    label, choice, list_name = _WORDS.get(importer.object_type, ("", "", ""))
    try:
        list_url = reverse(list_name) if list_name else ""
    except NoReverseMatch:
        list_url = ""
    return Kind(
        object_type=importer.object_type,
        label=str(label or importer.label.capitalize()),
        choice=str(choice or importer.label.capitalize()),
        module=importer.module,
        list_url=list_url,
    )


def _kind_of(object_type: str) -> Kind:
    try:
        return _kind(importer_for(object_type))
    except NotFound:
        return Kind(object_type, object_type, object_type, "", "")


def _importable(workspace: Workspace, user: User) -> list[Kind]:
    """The kinds of record this person may import: creating them is the right it takes."""
    return [
        _kind(importer)
        for importer in registered_importers()
        if can(workspace=workspace, user=user, module=importer.module, right=Right.CREATE)
    ]


def _detail_url(job_id: int, **query: str) -> str:
    url = reverse("contacts:import_detail", args=[job_id])
    return f"{url}?{urlencode(query)}" if query else url


def _size_limit() -> str:
    limit = int(getattr(settings, "VINCULO_IMPORT_MAX_BYTES", MAX_IMPORT_BYTES))
    return str(filesizeformat(limit))


def _job_context(job: ImportJob) -> dict[str, Any]:
    return {
        "job": job,
        "kind": _kind_of(job.object_type),
        "status_color": STATUS_COLORS.get(JobStatus(job.status), "gray"),
        "encoding_name": ENCODING_NAMES.get(job.encoding.lower(), job.encoding),
        "delimiter_name": DELIMITER_NAMES.get(job.delimiter, job.delimiter),
        "poll_url": reverse("contacts:import_progress", args=[job.pk]),
    }


# ---------------------------------------------------------------------------------------------
# The history


@dataclass(frozen=True)
class JobRow:
    job: ImportJob
    kind_label: str
    status_color: str
    url: str


@login_required
@require_GET
@domain_errors
def import_list(request: HttpRequest) -> HttpResponse:
    """The imports the person may see, newest first, with their counts."""
    workspace, user = _context(request)
    object_type = request.GET.get("object") or None
    jobs = selectors.import_list(workspace=workspace, viewer=user, object_type=object_type)
    # One URL reversal for the page, not one per row.
    prefix, _sep, suffix = reverse("contacts:import_detail", args=[1]).rpartition("1")
    labels = {importer.object_type: _kind(importer).label for importer in registered_importers()}
    rows = [
        JobRow(
            job=job,
            kind_label=labels.get(job.object_type, job.object_type),
            status_color=STATUS_COLORS.get(JobStatus(job.status), "gray"),
            url=f"{prefix}{job.pk}{suffix}",
        )
        for job in jobs
    ]
    return render(
        request,
        "contacts/imports/list.html",
        {"rows": rows, "importable": _importable(workspace, user)},
    )


# ---------------------------------------------------------------------------------------------
# The upload


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors
def import_new(request: HttpRequest) -> HttpResponse:
    """Choose the kind of record and the file. A file that cannot be imported comes back with
    the reason next to the file input (status 422) and nothing is kept."""
    workspace, user = _context(request)
    importable = _importable(workspace, user)
    if not importable:
        raise DjangoPermissionDenied("no create right")
    wanted = request.GET.get("object", "")
    types = [k.object_type for k in importable]
    form = ImportUploadForm(
        request.POST or None,
        request.FILES or None,
        object_types=[(k.object_type, k.choice) for k in importable],
        help_text=_("CSV or Excel (XLSX), up to %(size)s.") % {"size": _size_limit()},
        initial={"object_type": wanted if wanted in types else types[0]},
    )
    if request.method == "POST" and form.is_valid():
        uploaded = form.cleaned_data["file"]
        try:
            job = services.import_upload(
                workspace=workspace,
                actor=user,
                object_type=form.cleaned_data["object_type"],
                uploaded=uploaded,
                original_name=uploaded.name or "",
            )
        except ValidationFailed as exc:
            form.add_service_errors(exc.errors)
        else:
            return HttpResponseRedirect(_detail_url(job.pk))
    return render(
        request,
        "contacts/imports/new.html",
        {"form": form},
        status=422 if form.errors else 200,
    )


# ---------------------------------------------------------------------------------------------
# One import: the mapping


def _columns(job: ImportJob, samples: list[list[str]]) -> list[Column]:
    headers = [str(h) for h in job.headers or []]
    return [
        Column(
            index=index,
            header=header or _("Column %(number)s") % {"number": index + 1},
            samples=[row[index] for row in samples if index < len(row) and row[index]],
        )
        for index, header in enumerate(headers)
    ]


def _mapping_form(
    workspace: Workspace,
    job: ImportJob,
    *,
    data: Any = None,
    saved: ImportMapping | None = None,
) -> ImportMappingForm:
    """The mapping form of a draft, starting from the job's mapping (guessed at upload, or
    set before) or, when the person chose one, a saved mapping (column title → field)."""
    fields = services.import_fields(workspace=workspace, object_type=job.object_type)
    known = {f.name for f in fields}
    columns = _columns(job, selectors.import_samples(workspace=workspace, job=job, limit=SAMPLES))
    if saved is not None:
        by_title = dict(saved.mapping or {})
        chosen = {c.name: by_title.get(c.header, "") for c in columns}
    else:
        mapping = dict(job.mapping or {})
        chosen = {c.name: mapping.get(str(c.index), "") for c in columns}
    initial = {
        "has_header": job.has_header,
        "match_by": list(job.match_by or []),
        "on_match": job.on_match or OnMatch.SKIP,
        **{name: value for name, value in chosen.items() if value in known},
    }
    return ImportMappingForm(
        data,
        initial=initial,
        columns=columns,
        fields=fields,
        match_fields=list(importer_for(job.object_type).match_keys),
    )


def _render_mapping(
    request: HttpRequest,
    workspace: Workspace,
    user: User,
    job: ImportJob,
    form: ImportMappingForm,
    *,
    status: int = 200,
) -> HttpResponse:
    context = {
        **_job_context(job),
        "step": "mapping",
        "form": form,
        "saved_mappings": selectors.mapping_list(
            workspace=workspace, viewer=user, object_type=job.object_type
        ),
        # Mirrors mapping_delete: a mapping's author, or those who hold the settings.
        "manages_mappings": can(
            workspace=workspace, user=user, module="settings", right=Right.EDIT
        ),
    }
    return render(request, "contacts/imports/detail.html", context, status=status)


def _saved_mapping(
    workspace: Workspace, user: User, job: ImportJob, raw: str
) -> ImportMapping | None:
    if not raw:
        return None
    chosen = next(
        (
            m
            for m in selectors.mapping_list(
                workspace=workspace, viewer=user, object_type=job.object_type
            )
            if str(m.pk) == raw
        ),
        None,
    )
    if chosen is None:
        raise Http404("no such mapping")
    return chosen


# ---------------------------------------------------------------------------------------------
# One import: the preview


@dataclass(frozen=True)
class PreviewCell:
    label: str
    value: str
    raw: str
    error: str


@dataclass(frozen=True)
class PreviewLine:
    line: int
    action: str
    action_label: str
    action_color: str
    cells: list[PreviewCell]
    # Problems not about one mapped column: a row that cannot be read, a duplicate in the file.
    problems: list[str]


def _shown(value: Any) -> str:
    """A value read from the file as the person's locale writes it."""
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(_shown(v) for v in value if v not in (None, ""))
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, datetime | date):
        return str(formats.date_format(value, "SHORT_DATE_FORMAT"))
    return str(value)


def _preview_lines(rows: list[PreviewRow], mapped: list[tuple[int, str, str]]) -> list[PreviewLine]:
    lines = []
    for row in rows:
        errors: dict[str, list[str]] = {}
        for error in row.errors:
            errors.setdefault(str(error.get("field", "")), []).append(str(error.get("message")))
        cells = [
            PreviewCell(
                label=label,
                value=_shown(row.values.get(name)),
                raw=row.cells[index] if index < len(row.cells) else "",
                error=" ".join(errors.pop(name, [])),
            )
            for index, name, label in mapped
        ]
        action_label, color = ACTIONS.get(row.action, (row.action, "gray"))
        lines.append(
            PreviewLine(
                line=row.line,
                action=row.action,
                action_label=str(action_label),
                action_color=color,
                cells=cells,
                problems=[message for found in errors.values() for message in found],
            )
        )
    return lines


def _source(headers: list[str], index: int, label: str) -> str:
    """The column title a preview column comes from, when it says more than the field's
    label ("Nome completo" above "Full name"; nothing under "E-mail" from "E-mail")."""
    title = headers[index] if index < len(headers) else ""
    return "" if normalise_header(title) == normalise_header(label) else title


def _render_preview(
    request: HttpRequest, workspace: Workspace, user: User, job: ImportJob
) -> HttpResponse:
    try:
        rows = services.import_preview(
            workspace=workspace, actor=user, job_id=job.pk, limit=PREVIEW_ROWS
        )
    except ValidationFailed as exc:
        form = _mapping_form(workspace, job)
        form.add_service_errors(exc.errors)
        return _render_mapping(request, workspace, user, job, form, status=422)
    labels = {
        f.name: f.label
        for f in services.import_fields(workspace=workspace, object_type=job.object_type)
    }
    headers = [str(h) for h in job.headers or []]
    mapped = sorted(
        (int(index), name, str(labels.get(name, name)))
        for index, name in (job.mapping or {}).items()
        if str(index).isdigit()
    )
    lines = _preview_lines(rows, mapped)
    context = {
        **_job_context(job),
        "step": "preview",
        "mapped": [(label, _source(headers, i, label)) for i, _n, label in mapped],
        "lines": lines,
        "counts": {key: sum(1 for line in lines if line.action == key) for key in ACTIONS},
        "shows_part": job.total_rows is None or job.total_rows > len(lines),
        "match_labels": ", ".join(str(MATCH_LABELS.get(m, m)) for m in job.match_by or []),
        "on_match_label": OnMatch(job.on_match).label if job.on_match in OnMatch.values else "",
    }
    return render(request, "contacts/imports/detail.html", context)


# ---------------------------------------------------------------------------------------------
# One import: progress and report


def _records_url(job: ImportJob, kind: Kind) -> str:
    """The list of the kind imported, narrowed to the records created while the import ran."""
    if not kind.list_url or job.started_at is None or not job.created_count:
        return kind.list_url
    end = (job.finished_at or timezone.now()) + timedelta(seconds=1)
    query = {"created_after": job.started_at.isoformat(), "created_before": end.isoformat()}
    return f"{kind.list_url}?{urlencode(query)}"


def _render_report(request: HttpRequest, job: ImportJob) -> HttpResponse:
    context = _job_context(job)
    until = (job.finished_at or job.created_at) + timedelta(days=UNDO_DAYS)
    undoable = job.status in {JobStatus.DONE, JobStatus.FAILED} and job.finished_at is not None
    context |= {
        "step": "progress" if job.is_active else "report",
        "records_url": _records_url(job, context["kind"]),
        "undo_until": until,
        "can_undo": undoable and timezone.now() < until,
        "undo_expired": undoable and timezone.now() >= until,
        "confirm_undo": request.GET.get("confirm") == "undo",
        "undo_days": UNDO_DAYS,
    }
    return render(request, "contacts/imports/detail.html", context)


# ---------------------------------------------------------------------------------------------
# One import: the views


@login_required
@require_GET
@domain_errors
def import_detail(request: HttpRequest, job_id: int) -> HttpResponse:
    """One import. A draft shows its mapping (`?mapping=<id>` applies a saved one) or, with
    `?step=preview`, the preview; a running import its progress; a finished one its report
    (`?confirm=undo` opens the undo confirmation without JavaScript)."""
    workspace, user = _context(request)
    job = selectors.import_get(workspace=workspace, viewer=user, job_id=job_id)
    if job.status != JobStatus.DRAFT:
        return _render_report(request, job)
    if request.GET.get("step") == "preview":
        return _render_preview(request, workspace, user, job)
    saved = _saved_mapping(workspace, user, job, request.GET.get("mapping", ""))
    form = _mapping_form(workspace, job, saved=saved)
    return _render_mapping(request, workspace, user, job, form)


@login_required
@require_POST
@domain_errors
def import_configure(request: HttpRequest, job_id: int) -> HttpResponse:
    """Save the mapping and the matching options, then show the preview (or, when the header
    row was switched, the columns again). Every mistake comes back next to its column or
    option (status 422) and nothing is saved."""
    workspace, user = _context(request)
    job = selectors.import_get(workspace=workspace, viewer=user, job_id=job_id)
    if job.status != JobStatus.DRAFT:
        return HttpResponseRedirect(_detail_url(job.pk))
    form = _mapping_form(workspace, job, data=request.POST)
    if form.is_valid():
        header_changed = form.cleaned_data["has_header"] != job.has_header
        title = " ".join(form.cleaned_data["save_mapping_as"].split())
        try:
            services.import_configure(
                workspace=workspace,
                actor=user,
                job_id=job.pk,
                mapping=form.mapping(),
                match_by=form.cleaned_data["match_by"],
                on_match=form.cleaned_data["on_match"],
                has_header=form.cleaned_data["has_header"],
                save_mapping_as=title,
            )
        except ImportNotDraft:
            return HttpResponseRedirect(_detail_url(job.pk))
        except ValidationFailed as exc:
            form.add_service_errors(exc.errors)
        else:
            if title:
                messages.success(request, _("Mapping “%(name)s” saved.") % {"name": title})
            if header_changed or "refresh" in request.POST:
                return HttpResponseRedirect(_detail_url(job.pk))
            return HttpResponseRedirect(_detail_url(job.pk, step="preview"))
    return _render_mapping(request, workspace, user, job, form, status=422)


@login_required
@require_POST
@domain_errors
def import_start(request: HttpRequest, job_id: int) -> HttpResponse:
    """Queue the import; its page then shows the progress. Starting twice starts it once."""
    workspace, user = _context(request)
    try:
        services.import_start(workspace=workspace, actor=user, job_id=job_id)
    except ImportNotDraft:
        pass
    except ValidationFailed as exc:
        job = selectors.import_get(workspace=workspace, viewer=user, job_id=job_id)
        form = _mapping_form(workspace, job)
        form.add_service_errors(exc.errors)
        return _render_mapping(request, workspace, user, job, form, status=422)
    return HttpResponseRedirect(_detail_url(job_id))


@login_required
@require_GET
@domain_errors
def import_progress(request: HttpRequest, job_id: int) -> HttpResponse:
    """The progress bar again (polled every second). Once the import is over the whole page
    reloads, and shows the report."""
    workspace, user = _context(request)
    job = selectors.import_get(workspace=workspace, viewer=user, job_id=job_id)
    response = render(request, "contacts/imports/progress.html", _job_context(job))
    if not job.is_active:
        response["HX-Refresh"] = "true"
    return response


class _Line:
    """A file-like target for csv.writer that hands back what was written since last time."""

    def __init__(self) -> None:
        self._buffer = io.StringIO()

    def write(self, text: str) -> int:
        return self._buffer.write(text)

    def take(self) -> bytes:
        text = self._buffer.getvalue()
        self._buffer.seek(0)
        self._buffer.truncate()
        return text.encode("utf-8")


@login_required
@require_GET
@domain_errors
def import_failures(request: HttpRequest, job_id: int) -> StreamingHttpResponse:
    """The rows that were not written, as CSV: line, field, reason and the row's own values.
    UTF-8 with a BOM, so Excel reads the accents right."""
    workspace, user = _context(request)
    job = selectors.import_get(workspace=workspace, viewer=user, job_id=job_id)
    rows = selectors.import_failures_rows(workspace=workspace, viewer=user, job_id=job.pk)
    language = translation.get_language()

    def lines() -> Iterator[bytes]:
        # The rows are read while the response streams, after the request's language and
        # workspace scope are gone: set them again for that time.
        with translation.override(language), workspace_scope(workspace):
            out = _Line()
            writer = csv.writer(out)
            yield codecs.BOM_UTF8
            for row in rows:
                writer.writerow([neutralise(str(cell)) for cell in row])
                yield out.take()

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    stem = "".join(c for c in job.original_name.rsplit(".", 1)[0] if c.isalnum() or c in "-_ ")
    response["Content-Disposition"] = (
        f'attachment; filename="{stem.strip() or "import"}-failed-rows.csv"'
    )
    return response


@login_required
@require_POST
@domain_errors
def import_undo(request: HttpRequest, job_id: int) -> HttpResponse:
    """Remove what the import created and restore what it changed (within UNDO_DAYS)."""
    workspace, user = _context(request)
    try:
        services.import_undo(workspace=workspace, actor=user, job_id=job_id)
    except (ImportNotDone, ImportUndoExpired) as exc:
        messages.error(request, exc.detail)
    # Done: the page says so in its own banner.
    return HttpResponseRedirect(_detail_url(job_id))


@login_required
@require_POST
@domain_errors
def import_mapping_delete(request: HttpRequest, mapping_id: int) -> HttpResponse:
    """Forget a saved mapping, then go back to the import it was deleted from."""
    workspace, user = _context(request)
    services.mapping_delete(workspace=workspace, actor=user, mapping_id=mapping_id)
    messages.success(request, _("Saved mapping deleted."))
    job_id = request.POST.get("job", "")
    if job_id.isdigit() and 0 < len(job_id) < 19:
        return HttpResponseRedirect(_detail_url(int(job_id)))
    return HttpResponseRedirect(reverse("contacts:import_list"))
