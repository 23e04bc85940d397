"""REST endpoints of marketing: web forms and their submissions. Handlers parse, call one
service or selector and return; errors become problem+json centrally (core.api_support)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Path, Query, Router, Status

from vinculo.core.models import User, Workspace
from vinculo.core.pagination import MAX_LIMIT
from vinculo.marketing import selectors, services
from vinculo.marketing.schemas import (
    SubmissionPage,
    WebFormIn,
    WebFormOut,
    WebFormPage,
    WebFormPatch,
)

router = Router(tags=["web forms"])

MAX_ID = 2**63 - 1
LIMIT = Query(50, ge=1, le=MAX_LIMIT, description="Items per page.")
CURSOR = Query(None, description="`next_cursor` of the previous page.")


def _context(request: HttpRequest) -> tuple[Workspace, User]:
    return request.workspace, request.user  # type: ignore[attr-defined, return-value]


def _id() -> Any:
    return Path(..., ge=1, le=MAX_ID)


@router.get("/webforms", response=WebFormPage)
def webform_list(request: HttpRequest, limit: int = LIMIT, cursor: str | None = CURSOR) -> Any:
    """Live web forms, newest first."""
    workspace, user = _context(request)
    return selectors.webform_list(workspace=workspace, viewer=user, after=cursor, limit=limit)


@router.post("/webforms", response={201: WebFormOut})
def webform_create(request: HttpRequest, body: WebFormIn) -> Any:
    """`fields` lists what the form asks, in order: lead fields (`first_name`, `email`, …) or
    `cf:<key>` for a custom field of leads. The email field is required and always asked."""
    workspace, user = _context(request)
    return Status(
        201, services.webform_create(workspace=workspace, actor=user, data=body.to_data())
    )


@router.get("/webforms/{form_id}", response=WebFormOut)
def webform_detail(request: HttpRequest, form_id: int = _id()) -> Any:
    workspace, user = _context(request)
    return selectors.webform_get(workspace=workspace, viewer=user, form_id=form_id)


@router.patch("/webforms/{form_id}", response=WebFormOut)
def webform_update(request: HttpRequest, body: WebFormPatch, form_id: int = _id()) -> Any:
    workspace, user = _context(request)
    return services.webform_update(
        workspace=workspace, actor=user, form_id=form_id, data=body.changes()
    )


@router.delete("/webforms/{form_id}", response={204: None})
def webform_delete(request: HttpRequest, form_id: int = _id()) -> Any:
    """Moves the form to the bin: its public page answers 404; submissions and leads stay."""
    workspace, user = _context(request)
    services.webform_delete(workspace=workspace, actor=user, form_id=form_id)
    return Status(204, None)


@router.get("/webforms/{form_id}/submissions", response=SubmissionPage)
def webform_submissions(
    request: HttpRequest, form_id: int = _id(), limit: int = LIMIT, cursor: str | None = CURSOR
) -> Any:
    """What visitors sent, newest first, with the id of the lead each submission made."""
    workspace, user = _context(request)
    return selectors.submission_list(
        workspace=workspace, viewer=user, form_id=form_id, after=cursor, limit=limit
    )
