"""REST endpoints of privacy: a contact's consent log and state, the personal-data export and
erasure. Handlers parse, call one service or selector, and return; errors become problem+json
centrally (core.api_support)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Field, Path, Query, Router, Schema, Status
from pydantic import ConfigDict

from vinculo.contacts.models import ConsentSource
from vinculo.contacts.privacy import selectors, services
from vinculo.core.models import User, Workspace
from vinculo.core.pagination import MAX_LIMIT

router = Router(tags=["privacy"])

MAX_ID = 2**63 - 1


def _context(request: HttpRequest) -> tuple[Workspace, User]:
    return request.workspace, request.user  # type: ignore[attr-defined, return-value]


def _id() -> Any:
    return Path(..., ge=1, le=MAX_ID)


class ConsentIn(Schema):
    """A grant or a withdrawal. Lax types on purpose: the service checks every field and names
    each bad one in one answer."""

    model_config = ConfigDict(extra="forbid")

    purpose: str | None = Field(
        None,
        description=(
            "email_marketing, sms_marketing, whatsapp, phone_calls, profiling, data_sharing, "
            "or a slug of your own ([a-z][a-z0-9_]*)."
        ),
    )
    granted: bool | None = Field(None, description="true: consent given; false: withdrawn.")
    wording: str | None = Field(None, description="The exact text the person was shown.")
    source: str | None = Field(
        ConsentSource.API.value, description="form, import, api (default), staff or portal."
    )
    ip_address: str | None = Field(None, description="The person's IP address, if online.")
    user_agent: str | None = Field(None, description="The person's browser, if online.")
    recorded_at: dt.datetime | None = Field(None, description="When it was given; default now.")


class RecorderOut(Schema):
    id: int
    email: str
    full_name: str


class ConsentOut(Schema):
    id: int
    contact_id: int
    purpose: str
    purpose_label: str
    granted: bool
    wording: str
    source: str
    ip_address: str | None
    user_agent: str
    recorded_at: dt.datetime
    recorded_by: RecorderOut | None

    @staticmethod
    def resolve_purpose_label(obj: Any) -> str:
        return services.purpose_label(obj.purpose)

    @staticmethod
    def resolve_recorded_by(obj: Any) -> Any:
        return obj.actor


class ConsentPage(Schema):
    items: list[ConsentOut]
    next_cursor: str | None


class ConsentListQuery(Schema):
    cursor: str | None = None
    limit: int = Field(50, ge=1, le=MAX_LIMIT)


class ConsentStateOut(Schema):
    purpose: str
    purpose_label: str
    granted: bool
    since: dt.datetime
    source: str
    wording: str
    entry_id: int


class ConsentStateList(Schema):
    items: list[ConsentStateOut]


class EraseIn(Schema):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(None, description="Why the data is erased (kept in the audit).")


class ErasureOut(Schema):
    contact_id: int
    erased_at: dt.datetime
    counts: dict[str, int]


@router.get("/contacts/{contact_id}/consents", response=ConsentPage)
def consent_list(
    request: HttpRequest, params: Query[ConsentListQuery], contact_id: int = _id()
) -> Any:
    """The contact's full consent log, newest first."""
    workspace, user = _context(request)
    return selectors.consent_log(
        workspace=workspace,
        viewer=user,
        contact_id=contact_id,
        cursor=params.cursor,
        limit=params.limit,
    )


@router.post("/contacts/{contact_id}/consents", response={201: ConsentOut})
def consent_create(request: HttpRequest, body: ConsentIn, contact_id: int = _id()) -> Status[Any]:
    """Append a grant or a withdrawal to the contact's consent log."""
    workspace, user = _context(request)
    data = body.model_dump()
    entry = services.consent_record(
        workspace=workspace,
        actor=user,
        contact_id=contact_id,
        purpose=data["purpose"],
        granted=data["granted"],
        wording=data["wording"],
        source=data["source"],
        ip_address=data["ip_address"],
        user_agent=data["user_agent"] or "",
        recorded_at=data["recorded_at"],
    )
    return Status(201, entry)


@router.get("/contacts/{contact_id}/consent-state", response=ConsentStateList)
def consent_state(request: HttpRequest, contact_id: int = _id()) -> Any:
    """The current consent per purpose, derived from the log (purposes with entries only)."""
    workspace, user = _context(request)
    states = selectors.consent_state(workspace=workspace, viewer=user, contact_id=contact_id)
    return {
        "items": [
            {
                "purpose": s.purpose,
                "purpose_label": s.label,
                "granted": s.granted,
                "since": s.since,
                "source": s.entry.source,
                "wording": s.entry.wording,
                "entry_id": s.entry.pk,
            }
            for s in states
        ]
    }


@router.get(
    "/contacts/{contact_id}/personal-data",
    openapi_extra={
        "responses": {
            "200": {
                "description": "A ZIP of JSON files: everything held about the person.",
                "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    },
)
def personal_data(request: HttpRequest, contact_id: int = _id()) -> HttpResponse:
    """Everything the workspace holds about the person, as a ZIP of JSON files (the
    data-subject export). Each call is recorded in the audit trail."""
    workspace, user = _context(request)
    data = services.contact_data_export(workspace=workspace, actor=user, contact_id=contact_id)
    response = HttpResponse(data, content_type="application/zip")
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = (
        f'attachment; filename="personal-data-{contact_id}-{stamp}.zip"'
    )
    return response


@router.post("/contacts/{contact_id}/erase", response=ErasureOut)
def erase(request: HttpRequest, body: EraseIn, contact_id: int = _id()) -> Any:
    """Anonymise the person's personal data everywhere (the record stays, as an erased
    person). Cannot be undone; a second call answers 409."""
    workspace, user = _context(request)
    report = services.contact_erase(
        workspace=workspace, actor=user, contact_id=contact_id, reason=body.reason or ""
    )
    return {
        "contact_id": report.contact.pk,
        "erased_at": report.contact.erased_at,
        "counts": report.counts,
    }
