"""REST endpoints of dedupe: the review queue, dismissals, scans, merges and the "already
exists" check. Handlers parse, call one service or selector, and return; errors become
problem+json centrally (core.api_support)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Field, Path, Query, Router, Schema, Status
from pydantic import ConfigDict

from vinculo.contacts.api import router as contacts_router
from vinculo.contacts.dedupe import selectors, services
from vinculo.contacts.schemas import AccountOut, ContactOut
from vinculo.core.models import User, Workspace
from vinculo.core.pagination import MAX_LIMIT

router = Router(tags=["dedupe"])

MAX_ID = 2**63 - 1
# The API and the CLI say "contacts"; the records say "contact": both are understood.
_KINDS = {"contact": "contact", "contacts": "contact", "account": "account", "accounts": "account"}


def _context(request: HttpRequest) -> tuple[Workspace, User]:
    return request.workspace, request.user  # type: ignore[attr-defined, return-value]


def _kind(raw: str) -> str:
    return _KINDS.get(raw.strip().lower(), raw)


class RecordSummary(Schema):
    id: int
    name: str


class DuplicateOut(Schema):
    id: int
    object_type: str
    score: float
    status: str
    reasons: list[dict[str, Any]]
    first: RecordSummary
    second: RecordSummary
    created_at: dt.datetime


class DuplicatePage(Schema):
    items: list[DuplicateOut]
    next_cursor: str | None


class DismissedOut(Schema):
    id: int
    object_type: str
    status: str
    first_id: int
    second_id: int
    resolved_at: dt.datetime | None


class DuplicateQuery(Schema):
    object_type: str = Field("contact", description="contact or account.")
    limit: int = Field(50, ge=1, le=MAX_LIMIT)
    cursor: str | None = None


class ScanIn(Schema):
    model_config = ConfigDict(extra="forbid")

    object_type: str = Field("contact", description="contact or account.")


class ScanOut(Schema):
    id: int
    object_type: str
    status: str
    total_rows: int | None
    rows_done: int
    percent: int
    pairs_found: int
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    error: str


class MergeIn(Schema):
    model_config = ConfigDict(extra="forbid")

    survivor_id: int = Field(..., description="The record that stays.")
    other_id: int = Field(..., description="The record merged into it, then deleted.")
    choices: dict[str, str] = Field(
        default_factory=dict,
        description=(
            'Per field ("first_name", "account_id", "custom_fields.<key>", …): "survivor" or '
            '"other". A field left out keeps the survivor\'s value unless it is empty.'
        ),
    )


class ExistingOut(Schema):
    id: int
    name: str
    field: str
    value: str


class ExistingList(Schema):
    items: list[ExistingOut]


def _summary(record: Any) -> dict[str, Any]:
    name = record.display_name if hasattr(record, "display_name") else record.name
    return {"id": record.pk, "name": name}


def _pair_out(pair: selectors.DuplicatePair) -> dict[str, Any]:
    c = pair.candidate
    return {
        "id": c.pk,
        "object_type": c.object_type,
        "score": c.score,
        "status": c.status,
        "reasons": c.reasons,
        "first": _summary(pair.first),
        "second": _summary(pair.second),
        "created_at": c.created_at,
    }


@router.get("/duplicates", response=DuplicatePage)
def duplicate_list(request: HttpRequest, params: Query[DuplicateQuery]) -> Any:
    """Pairs waiting for review, likeliest first."""
    workspace, user = _context(request)
    page = selectors.duplicate_queue(
        workspace=workspace,
        viewer=user,
        object_type=_kind(params.object_type),
        cursor=params.cursor,
        limit=params.limit,
    )
    return {"items": [_pair_out(p) for p in page.items], "next_cursor": page.next_cursor}


@router.post("/duplicates/{candidate_id}/dismiss", response=DismissedOut)
def duplicate_dismiss(request: HttpRequest, candidate_id: int = Path(..., ge=1, le=MAX_ID)) -> Any:
    """Not duplicates: the pair leaves the queue for good."""
    workspace, user = _context(request)
    return services.duplicate_dismiss(workspace=workspace, actor=user, candidate_id=candidate_id)


@router.post("/duplicates/scans", response={202: ScanOut})
def duplicate_scan_start(request: HttpRequest, body: ScanIn) -> Status[Any]:
    """Start a scan in the background (or get the one already running)."""
    workspace, user = _context(request)
    scan = services.duplicate_scan_start(
        workspace=workspace, actor=user, object_type=_kind(body.object_type)
    )
    return Status(202, scan)


@router.get("/duplicates/scans/{scan_id}", response=ScanOut)
def duplicate_scan_detail(request: HttpRequest, scan_id: int = Path(..., ge=1, le=MAX_ID)) -> Any:
    workspace, user = _context(request)
    return selectors.duplicate_scan_get(workspace=workspace, viewer=user, scan_id=scan_id)


def contact_merge(request: HttpRequest, body: MergeIn) -> Any:
    """Merge `other_id` into `survivor_id`; every related record moves to the survivor."""
    workspace, user = _context(request)
    return services.contact_merge(
        workspace=workspace,
        actor=user,
        survivor_id=body.survivor_id,
        other_id=body.other_id,
        choices=body.choices,
    )


def account_merge(request: HttpRequest, body: MergeIn) -> Any:
    """Merge the account `other_id` into `survivor_id`, its contacts included."""
    workspace, user = _context(request)
    return services.account_merge(
        workspace=workspace,
        actor=user,
        survivor_id=body.survivor_id,
        other_id=body.other_id,
        choices=body.choices,
    )


def _serve_first(path: str, view: Any, response: Any, tag: str) -> None:
    """Add POST `path` to the contacts router, ahead of its routes. Its `/contacts/{contact_id}`
    takes any text for the id (a bad id is a 422 there, not a 404), so a static path such as
    `/contacts/merge` must come before it or it is answered 405 by that route."""
    contacts_router.add_api_operation(path, ["POST"], view, response=response, tags=[tag])
    operations = contacts_router.path_operations
    contacts_router.path_operations = {path: operations.pop(path), **operations}


_serve_first("/contacts/merge", contact_merge, ContactOut, "contacts")
_serve_first("/accounts/merge", account_merge, AccountOut, "accounts")


@router.get("/contacts/duplicates/check", response=ExistingList, tags=["contacts"])
def contact_duplicate_check(
    request: HttpRequest,
    email: list[str] = Query([]),  # noqa: B008 - ninja's way of declaring a query list
    phone: list[str] = Query([]),  # noqa: B008
    country: str = "",
    exclude_id: int | None = Query(None, ge=1, le=MAX_ID),
) -> Any:
    """Live contacts that already have one of these emails or phones (repeat the parameter
    for several)."""
    workspace, user = _context(request)
    found = selectors.contact_duplicate_check(
        workspace=workspace,
        viewer=user,
        emails=email,
        phones=phone,
        country=country,
        exclude_id=exclude_id,
    )
    return {"items": found}


@router.get("/accounts/duplicates/check", response=ExistingList, tags=["accounts"])
def account_duplicate_check(
    request: HttpRequest,
    domain: str = "",
    exclude_id: int | None = Query(None, ge=1, le=MAX_ID),
) -> Any:
    """Live accounts that already have this domain."""
    workspace, user = _context(request)
    found = selectors.account_duplicate_check(
        workspace=workspace, viewer=user, domain=domain, exclude_id=exclude_id
    )
    return {"items": found}
