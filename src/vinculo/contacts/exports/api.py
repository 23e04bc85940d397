"""REST endpoints of exports: queue an export of a contacts or accounts list (the list API's
filters and the list's columns), follow it, download its file. Handlers parse, call one
service or selector, and return; errors become problem+json centrally (core.api_support)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import FileResponse, HttpRequest
from django.urls import reverse
from ninja import Field, Path, Query, Router, Schema, Status
from pydantic import ConfigDict

from vinculo.contacts.exports import selectors, services
from vinculo.contacts.exports.writers import CONTENT_TYPES
from vinculo.contacts.models import ExportJob, JobStatus
from vinculo.core.models import User, Workspace
from vinculo.core.pagination import MAX_LIMIT

router = Router(tags=["exports"])

MAX_ID = 2**63 - 1


def _context(request: HttpRequest) -> tuple[Workspace, User]:
    return request.workspace, request.user  # type: ignore[attr-defined, return-value]


def _id() -> Any:
    return Path(..., ge=1, le=MAX_ID)


class ExportIn(Schema):
    """What to export. The service checks every field and names each bad one in one answer."""

    model_config = ConfigDict(extra="forbid")

    object_type: str | None = Field(None, description="contact or account.")
    format: str = Field("csv", description="csv (UTF-8 with a byte-order mark) or xlsx.")
    filters: dict[str, str | int | float | bool] | None = Field(
        None,
        description=(
            "The list API's parameters: q, owner, tag, city, state, country, created_after, "
            "created_before, updated_after, updated_before, deleted, sort; for contacts also "
            "lifecycle_stage, account, source; for accounts industry, size, domain; and "
            "cf.<key> for custom fields."
        ),
    )
    columns: list[str] | None = Field(
        None,
        description=(
            "Keys of the list's columns (name, email, phone, account, owner, tags, ..., "
            "cf.<key>); the name always comes first. Default: the list's default columns."
        ),
    )
    ids: list[int] | None = Field(None, description="Only these records (at most 10,000).")


class ExportOut(Schema):
    id: int
    object_type: str
    format: str
    status: str
    total_rows: int | None
    rows_done: int
    percent: int
    filters: dict[str, Any]
    columns: list[str]
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    expires_at: dt.datetime | None
    expired: bool
    file_name: str
    size_bytes: int | None
    download_url: str | None
    error: str

    @staticmethod
    def resolve_format(obj: ExportJob) -> str:
        return obj.file_format

    @staticmethod
    def resolve_filters(obj: ExportJob) -> dict[str, Any]:
        return dict((obj.params or {}).get("filters") or {})

    @staticmethod
    def resolve_expires_at(obj: ExportJob) -> dt.datetime | None:
        return selectors.export_expires_at(obj)

    @staticmethod
    def resolve_expired(obj: ExportJob) -> bool:
        return obj.status == JobStatus.DONE and not obj.file

    @staticmethod
    def resolve_size_bytes(obj: ExportJob) -> int | None:
        return selectors.export_file_size(obj) if obj.status == JobStatus.DONE else None

    @staticmethod
    def resolve_download_url(obj: ExportJob) -> str | None:
        if obj.status != JobStatus.DONE or not obj.file:
            return None
        return reverse("api:export_download", args=[obj.pk])


class ExportPage(Schema):
    items: list[ExportOut]
    next_cursor: str | None


class ExportListQuery(Schema):
    limit: int = Field(50, ge=1, le=MAX_LIMIT)
    cursor: str | None = None


@router.post("/exports", response={202: ExportOut})
def export_create(request: HttpRequest, body: ExportIn) -> Status[Any]:
    """Queue an export; the worker writes the file. Follow it with GET /exports/{id}."""
    workspace, user = _context(request)
    job = services.export_create(
        workspace=workspace,
        actor=user,
        object_type=body.object_type or "",
        file_format=body.format,
        params=body.filters or {},
        columns=body.columns or [],
        ids=body.ids,
    )
    job.refresh_from_db()
    return Status(202, job)


@router.get("/exports", response=ExportPage)
def export_list(request: HttpRequest, params: Query[ExportListQuery]) -> Any:
    """Your exports, newest first."""
    workspace, user = _context(request)
    return selectors.export_list(
        workspace=workspace, viewer=user, cursor=params.cursor, limit=params.limit
    )


@router.get("/exports/{export_id}", response=ExportOut)
def export_detail(request: HttpRequest, export_id: int = _id()) -> Any:
    workspace, user = _context(request)
    return selectors.export_get(workspace=workspace, viewer=user, export_id=export_id)


@router.get("/exports/{export_id}/download", url_name="export_download")
def export_download(request: HttpRequest, export_id: int = _id()) -> FileResponse:
    """The file (409 while it is written, 410 once deleted after seven days)."""
    workspace, user = _context(request)
    job = selectors.export_file(workspace=workspace, viewer=user, export_id=export_id)
    return FileResponse(
        job.file.open("rb"),
        as_attachment=True,
        filename=job.file_name,
        content_type=CONTENT_TYPES.get(job.file_format, "application/octet-stream"),
    )
