"""REST endpoints of quotes and orders. Handlers parse, call one service or selector and
return; errors become problem+json centrally (core.api_support). The customer's answer is not
here: it happens only through the signed link."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Path, Query, Router, Status

from vinculo.core.models import User, Workspace
from vinculo.sales.quotes import selectors, services
from vinculo.sales.quotes.schemas import (
    LineIn,
    LineOrder,
    LineOut,
    OrderDetail,
    OrderIn,
    OrderListQuery,
    OrderPage,
    QuoteDetail,
    QuoteIn,
    QuoteListQuery,
    QuotePage,
    QuotePatch,
)

router = Router(tags=["quotes"])

MAX_ID = 2**63 - 1


def _context(request: HttpRequest) -> tuple[Workspace, User]:
    return request.workspace, request.user  # type: ignore[attr-defined, return-value]


def _id() -> Any:
    return Path(..., ge=1, le=MAX_ID)


def _detail(workspace: Workspace, user: User, quote_id: int) -> Any:
    return selectors.quote_get(workspace=workspace, viewer=user, quote_id=quote_id)


# --- quotes -------------------------------------------------------------------------------------


@router.get("/quotes", response=QuotePage)
def quote_list(request: HttpRequest, params: Query[QuoteListQuery]) -> Any:
    workspace, user = _context(request)
    return selectors.quote_list(
        workspace=workspace,
        viewer=user,
        status=params.status,
        deal_id=params.deal,
        after=params.cursor,
        limit=params.limit,
    )


@router.post("/quotes", response={201: QuoteDetail})
def quote_create(request: HttpRequest, body: QuoteIn) -> Status[Any]:
    workspace, user = _context(request)
    data = body.model_dump(exclude_unset=True)
    deal_id = data.pop("deal_id")
    quote = services.quote_create(workspace=workspace, actor=user, deal_id=deal_id, data=data)
    return Status(201, _detail(workspace, user, quote.pk))


@router.get("/quotes/{quote_id}", response=QuoteDetail)
def quote_detail(request: HttpRequest, quote_id: int = _id()) -> Any:
    workspace, user = _context(request)
    return _detail(workspace, user, quote_id)


@router.patch("/quotes/{quote_id}", response=QuoteDetail)
def quote_update(request: HttpRequest, body: QuotePatch, quote_id: int = _id()) -> Any:
    workspace, user = _context(request)
    services.quote_update(
        workspace=workspace, actor=user, quote_id=quote_id, data=body.model_dump(exclude_unset=True)
    )
    return _detail(workspace, user, quote_id)


@router.post("/quotes/{quote_id}/lines/reorder", response=QuoteDetail)
def quote_lines_reorder(request: HttpRequest, body: LineOrder, quote_id: int = _id()) -> Any:
    workspace, user = _context(request)
    services.quote_lines_reorder(
        workspace=workspace, actor=user, quote_id=quote_id, line_ids=body.line_ids
    )
    return _detail(workspace, user, quote_id)


@router.post("/quotes/{quote_id}/lines", response={201: LineOut})
def quote_line_add(request: HttpRequest, body: LineIn, quote_id: int = _id()) -> Status[Any]:
    workspace, user = _context(request)
    line = services.quote_line_add(
        workspace=workspace, actor=user, quote_id=quote_id, data=body.model_dump(exclude_unset=True)
    )
    return Status(201, line)


@router.patch("/quotes/{quote_id}/lines/{line_id}", response=LineOut)
def quote_line_update(
    request: HttpRequest, body: LineIn, quote_id: int = _id(), line_id: int = _id()
) -> Any:
    workspace, user = _context(request)
    return services.quote_line_update(
        workspace=workspace,
        actor=user,
        quote_id=quote_id,
        line_id=line_id,
        data=body.model_dump(exclude_unset=True),
    )


@router.delete("/quotes/{quote_id}/lines/{line_id}", response={204: None})
def quote_line_remove(
    request: HttpRequest, quote_id: int = _id(), line_id: int = _id()
) -> Status[None]:
    workspace, user = _context(request)
    services.quote_line_remove(workspace=workspace, actor=user, quote_id=quote_id, line_id=line_id)
    return Status(204, None)


@router.post("/quotes/{quote_id}/send", response=QuoteDetail)
def quote_send(request: HttpRequest, quote_id: int = _id()) -> Any:
    """Number (first time), email the contact the customer link, and mark the quote sent."""
    workspace, user = _context(request)
    services.quote_send(
        workspace=workspace,
        actor=user,
        quote_id=quote_id,
        base_url=request.build_absolute_uri("/"),
    )
    return _detail(workspace, user, quote_id)


@router.post("/quotes/{quote_id}/cancel", response=QuoteDetail)
def quote_cancel(request: HttpRequest, quote_id: int = _id()) -> Any:
    workspace, user = _context(request)
    services.quote_cancel(workspace=workspace, actor=user, quote_id=quote_id)
    return _detail(workspace, user, quote_id)


# --- orders -------------------------------------------------------------------------------------


@router.get("/orders", response=OrderPage, tags=["orders"])
def order_list(request: HttpRequest, params: Query[OrderListQuery]) -> Any:
    workspace, user = _context(request)
    filters = selectors.order_filters(params.filter_params())
    return selectors.order_list(
        workspace=workspace, viewer=user, filters=filters, after=params.cursor, limit=params.limit
    )


@router.post("/orders", response={200: OrderDetail, 201: OrderDetail}, tags=["orders"])
def order_create(request: HttpRequest, body: OrderIn) -> Status[Any]:
    """201 with a new order; 200 when `external_id` matched an order, which was updated."""
    workspace, user = _context(request)
    result = services.order_upsert(
        workspace=workspace, actor=user, data=body.model_dump(exclude_unset=True), source="api"
    )
    order = selectors.order_get(workspace=workspace, viewer=user, order_id=result.order.pk)
    return Status(201 if result.created else 200, order)


@router.get("/orders/{order_id}", response=OrderDetail, tags=["orders"])
def order_detail(request: HttpRequest, order_id: int = _id()) -> Any:
    workspace, user = _context(request)
    return selectors.order_get(workspace=workspace, viewer=user, order_id=order_id)


@router.post("/orders/{order_id}/cancel", response=OrderDetail, tags=["orders"])
def order_cancel(request: HttpRequest, order_id: int = _id()) -> Any:
    workspace, user = _context(request)
    services.order_cancel(workspace=workspace, actor=user, order_id=order_id)
    return selectors.order_get(workspace=workspace, viewer=user, order_id=order_id)
