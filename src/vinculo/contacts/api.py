"""REST endpoints for contacts and accounts. Handlers parse, call one service or selector,
and return; errors become problem+json centrally (core.api_support)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Path, Query, Router, Status

from vinculo.contacts import selectors, services
from vinculo.contacts.schemas import (
    AccountIn,
    AccountListQuery,
    AccountOut,
    AccountPage,
    ContactIn,
    ContactListQuery,
    ContactOut,
    ContactPage,
)
from vinculo.core.custom_fields import CF_PARAM_PREFIX
from vinculo.core.models import User, Workspace

router = Router(tags=["contacts"])

# Ids are 64-bit; a larger one is refused as bad input instead of reaching the database.
MAX_ID = 2**63 - 1


def _context(request: HttpRequest) -> tuple[Workspace, User]:
    return request.workspace, request.user  # type: ignore[attr-defined, return-value]


def _cf_params(request: HttpRequest) -> list[tuple[str, str]]:
    return [
        (name, value)
        for name, values in request.GET.lists()
        if name.startswith(CF_PARAM_PREFIX)
        for value in values
    ]


def _id() -> Any:
    return Path(..., ge=1, le=MAX_ID)


# --- contacts -----------------------------------------------------------------------------------


@router.post("/contacts", response={201: ContactOut}, tags=["contacts"])
def contact_create(request: HttpRequest, body: ContactIn) -> Status[Any]:
    workspace, user = _context(request)
    data = body.model_dump(exclude_unset=True)
    return Status(201, services.contact_create(workspace=workspace, actor=user, data=data))


@router.get("/contacts", response=ContactPage, tags=["contacts"])
def contact_list(request: HttpRequest, params: Query[ContactListQuery]) -> Any:
    workspace, user = _context(request)
    filters = selectors.contact_filters(
        workspace=workspace,
        viewer=user,
        params=params.filter_params(),
        custom_field_params=_cf_params(request),
    )
    return selectors.contact_list(
        workspace=workspace, viewer=user, filters=filters, cursor=params.cursor, limit=params.limit
    )


@router.get("/contacts/{contact_id}", response=ContactOut, tags=["contacts"])
def contact_detail(request: HttpRequest, contact_id: int = _id()) -> Any:
    workspace, user = _context(request)
    return selectors.contact_get(workspace=workspace, viewer=user, contact_id=contact_id)


@router.patch("/contacts/{contact_id}", response=ContactOut, tags=["contacts"])
def contact_update(request: HttpRequest, body: ContactIn, contact_id: int = _id()) -> Any:
    workspace, user = _context(request)
    return services.contact_update(
        workspace=workspace,
        actor=user,
        contact_id=contact_id,
        data=body.model_dump(exclude_unset=True),
    )


@router.delete("/contacts/{contact_id}", response={204: None}, tags=["contacts"])
def contact_delete(request: HttpRequest, contact_id: int = _id()) -> Status[None]:
    workspace, user = _context(request)
    services.contact_delete(workspace=workspace, actor=user, contact_id=contact_id)
    return Status(204, None)


@router.post("/contacts/{contact_id}/restore", response=ContactOut, tags=["contacts"])
def contact_restore(request: HttpRequest, contact_id: int = _id()) -> Any:
    workspace, user = _context(request)
    return services.contact_restore(workspace=workspace, actor=user, contact_id=contact_id)


# --- accounts -----------------------------------------------------------------------------------


@router.post("/accounts", response={201: AccountOut}, tags=["accounts"])
def account_create(request: HttpRequest, body: AccountIn) -> Status[Any]:
    workspace, user = _context(request)
    data = body.model_dump(exclude_unset=True)
    return Status(201, services.account_create(workspace=workspace, actor=user, data=data))


@router.get("/accounts", response=AccountPage, tags=["accounts"])
def account_list(request: HttpRequest, params: Query[AccountListQuery]) -> Any:
    workspace, user = _context(request)
    filters = selectors.account_filters(
        workspace=workspace,
        viewer=user,
        params=params.filter_params(),
        custom_field_params=_cf_params(request),
    )
    return selectors.account_list(
        workspace=workspace, viewer=user, filters=filters, cursor=params.cursor, limit=params.limit
    )


@router.get("/accounts/{account_id}", response=AccountOut, tags=["accounts"])
def account_detail(request: HttpRequest, account_id: int = _id()) -> Any:
    workspace, user = _context(request)
    return selectors.account_get(workspace=workspace, viewer=user, account_id=account_id)


@router.patch("/accounts/{account_id}", response=AccountOut, tags=["accounts"])
def account_update(request: HttpRequest, body: AccountIn, account_id: int = _id()) -> Any:
    workspace, user = _context(request)
    return services.account_update(
        workspace=workspace,
        actor=user,
        account_id=account_id,
        data=body.model_dump(exclude_unset=True),
    )


@router.delete("/accounts/{account_id}", response={204: None}, tags=["accounts"])
def account_delete(request: HttpRequest, account_id: int = _id()) -> Status[None]:
    workspace, user = _context(request)
    services.account_delete(workspace=workspace, actor=user, account_id=account_id)
    return Status(204, None)


@router.post("/accounts/{account_id}/restore", response=AccountOut, tags=["accounts"])
def account_restore(request: HttpRequest, account_id: int = _id()) -> Any:
    workspace, user = _context(request)
    return services.account_restore(workspace=workspace, actor=user, account_id=account_id)
