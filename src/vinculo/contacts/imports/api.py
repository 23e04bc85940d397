"""REST endpoints of imports: the bulk upsert of contacts and accounts. Handlers parse, call
one service and return; errors become problem+json centrally (core.api_support)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema
from pydantic import ConfigDict

from vinculo.contacts.imports import services
from vinculo.contacts.imports.writer import Outcome
from vinculo.core.models import User, Workspace

router = Router(tags=["imports"])


class BulkIn(Schema):
    model_config = ConfigDict(extra="forbid")

    items: list[dict[str, Any]] = Field(
        ...,
        description=(
            "Up to 1,000 records, each with the fields of a single create "
            "(POST /contacts or /accounts)."
        ),
    )
    match_by: list[str] | None = Field(
        None,
        description=(
            "Keys an item is matched on, in order: external_id, email or phone (contacts), "
            "external_id, domain or phone (accounts). Default: external_id, then email "
            "(contacts) or domain (accounts)."
        ),
    )
    on_match: str = Field(
        "overwrite",
        description="What a match does: overwrite (apply the item as a PATCH), fill (only "
        "empty fields) or skip.",
    )


class ItemError(Schema):
    field: str
    code: str
    message: str


class BulkItemOut(Schema):
    index: int
    status: str = Field(..., description="created, updated, skipped or failed")
    id: int | None
    errors: list[ItemError]


class BulkOut(Schema):
    items: list[BulkItemOut]
    created: int
    updated: int
    skipped: int
    failed: int


def _context(request: HttpRequest) -> tuple[Workspace, User]:
    return request.workspace, request.user  # type: ignore[attr-defined, return-value]


def _answer(outcomes: list[Outcome]) -> dict[str, Any]:
    counts = dict.fromkeys(("created", "updated", "skipped", "failed"), 0)
    items = []
    for outcome in outcomes:
        counts[outcome.status] += 1
        items.append(
            {
                "index": outcome.index,
                "status": outcome.status,
                "id": outcome.record_id if outcome.status != "failed" else None,
                "errors": [e.as_dict() for e in outcome.errors],
            }
        )
    return {"items": items, **counts}


def _bulk(request: HttpRequest, body: BulkIn, object_type: str) -> dict[str, Any]:
    workspace, user = _context(request)
    outcomes = services.records_bulk_upsert(
        workspace=workspace,
        actor=user,
        object_type=object_type,
        items=body.items,
        match_by=body.match_by,
        on_match=body.on_match,
    )
    return _answer(outcomes)


@router.post("/contacts/bulk", response=BulkOut, tags=["contacts"])
def contacts_bulk(request: HttpRequest, body: BulkIn) -> Any:
    """Create or update up to 1,000 contacts; a result per item, in order."""
    return _bulk(request, body, "contact")


@router.post("/accounts/bulk", response=BulkOut, tags=["accounts"])
def accounts_bulk(request: HttpRequest, body: BulkIn) -> Any:
    """Create or update up to 1,000 accounts; a result per item, in order."""
    return _bulk(request, body, "account")
