"""REST endpoints of sales leads. Handlers parse, call one service or selector, and return;
errors become problem+json centrally (core.api_support)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Path, Query, Router, Status

from vinculo.core.custom_fields import CF_PARAM_PREFIX
from vinculo.core.models import User, Workspace
from vinculo.sales.leads import selectors, services
from vinculo.sales.leads.schemas import (
    AssignIn,
    ConversionOut,
    ConversionPreview,
    ConvertIn,
    LeadCreated,
    LeadIn,
    LeadListQuery,
    LeadOut,
    LeadPage,
    StatusIn,
)

router = Router(tags=["leads"])

# Ids are 64-bit; a larger one is refused as bad input instead of reaching the database.
MAX_ID = 2**63 - 1


def _context(request: HttpRequest) -> tuple[Workspace, User]:
    return request.workspace, request.user  # type: ignore[attr-defined, return-value]


def _id() -> Any:
    return Path(..., ge=1, le=MAX_ID)


def _cf_params(request: HttpRequest) -> list[tuple[str, str]]:
    return [
        (name, value)
        for name, values in request.GET.lists()
        if name.startswith(CF_PARAM_PREFIX)
        for value in values
    ]


@router.get("/leads", response=LeadPage)
def lead_list(request: HttpRequest, params: Query[LeadListQuery]) -> Any:
    workspace, user = _context(request)
    filters = selectors.lead_filters(
        workspace=workspace,
        viewer=user,
        params=params.filter_params(),
        custom_field_params=_cf_params(request),
    )
    return selectors.lead_list(
        workspace=workspace, viewer=user, filters=filters, cursor=params.cursor, limit=params.limit
    )


@router.post("/leads", response={201: LeadCreated})
def lead_create(request: HttpRequest, body: LeadIn) -> Status[Any]:
    workspace, user = _context(request)
    lead = services.lead_create(
        workspace=workspace,
        actor=user,
        data=body.model_dump(exclude_unset=True),
        source_channel="api",
    )
    lead.duplicates = selectors.lead_duplicates(  # type: ignore[attr-defined]
        workspace=workspace, viewer=user, email=lead.email, exclude_id=lead.pk
    )
    return Status(201, lead)


@router.get("/leads/{lead_id}", response=LeadOut)
def lead_detail(request: HttpRequest, lead_id: int = _id()) -> Any:
    workspace, user = _context(request)
    return selectors.lead_get(workspace=workspace, viewer=user, lead_id=lead_id)


@router.patch("/leads/{lead_id}", response=LeadOut)
def lead_update(request: HttpRequest, body: LeadIn, lead_id: int = _id()) -> Any:
    workspace, user = _context(request)
    return services.lead_update(
        workspace=workspace,
        actor=user,
        lead_id=lead_id,
        data=body.model_dump(exclude_unset=True),
    )


@router.delete("/leads/{lead_id}", response={204: None})
def lead_delete(request: HttpRequest, lead_id: int = _id()) -> Status[None]:
    workspace, user = _context(request)
    services.lead_delete(workspace=workspace, actor=user, lead_id=lead_id)
    return Status(204, None)


@router.post("/leads/{lead_id}/restore", response=LeadOut)
def lead_restore(request: HttpRequest, lead_id: int = _id()) -> Any:
    workspace, user = _context(request)
    return services.lead_restore(workspace=workspace, actor=user, lead_id=lead_id)


@router.post("/leads/{lead_id}/assign", response=LeadOut)
def lead_assign(request: HttpRequest, body: AssignIn, lead_id: int = _id()) -> Any:
    workspace, user = _context(request)
    return services.lead_assign(
        workspace=workspace,
        actor=user,
        lead_id=lead_id,
        owner_id=body.owner_id,
        team_id=body.team_id,
        reason=body.reason,
    )


@router.post("/leads/{lead_id}/status", response=LeadOut)
def lead_status(request: HttpRequest, body: StatusIn, lead_id: int = _id()) -> Any:
    workspace, user = _context(request)
    return services.lead_set_status(
        workspace=workspace, actor=user, lead_id=lead_id, status=body.status, reason=body.reason
    )


@router.get("/leads/{lead_id}/conversion", response=ConversionPreview)
def lead_conversion_preview(request: HttpRequest, lead_id: int = _id()) -> Any:
    workspace, user = _context(request)
    lead = selectors.lead_get(workspace=workspace, viewer=user, lead_id=lead_id)
    return services.conversion_match(workspace=workspace, lead=lead)


@router.post("/leads/{lead_id}/convert", response=ConversionOut)
def lead_convert(request: HttpRequest, body: ConvertIn, lead_id: int = _id()) -> Any:
    workspace, user = _context(request)
    return services.lead_convert(
        workspace=workspace,
        actor=user,
        lead_id=lead_id,
        contact_id=body.contact_id,
        account_id=body.account_id,
        create_deal=body.create_deal,
        deal_name=body.deal_name,
        pipeline_id=body.pipeline_id,
        amount=body.amount,
    )
