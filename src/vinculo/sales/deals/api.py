"""REST endpoints of pipelines (with their stages), lost reasons, deals (with their moves, stage
history and lines), products and price lists. Handlers parse, call the service or selector,
and answer; errors become problem+json centrally (core.api_support)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Path, Query, Router, Status

from vinculo.core.models import User, Workspace
from vinculo.sales.deals import selectors, services
from vinculo.sales.deals.schemas import (
    DealCloseIn,
    DealIn,
    DealLineIn,
    DealLineList,
    DealLineOut,
    DealListQuery,
    DealMoveIn,
    DealOut,
    DealPage,
    LostReasonIn,
    LostReasonList,
    LostReasonOut,
    PipelineIn,
    PipelineList,
    PipelineOut,
    PipelinePatch,
    PriceItemIn,
    PriceItemOut,
    PriceListDetail,
    PriceListIn,
    PriceListList,
    PriceListOut,
    ProductIn,
    ProductListQuery,
    ProductOut,
    ProductPage,
    StageIn,
    StageOrderIn,
    StageOut,
    StayList,
)
from vinculo.sales.deals.validation import MAX_ID

router = Router(tags=["deals"])


def _context(request: HttpRequest) -> tuple[Workspace, User]:
    return request.workspace, request.user  # type: ignore[attr-defined, return-value]


def _id() -> Any:
    return Path(..., ge=1, le=MAX_ID)


def _deal(request: HttpRequest, deal_id: int) -> Any:
    workspace, user = _context(request)
    return selectors.deal_get(workspace=workspace, viewer=user, deal_id=deal_id)


def _pipeline(request: HttpRequest, pipeline_id: int) -> Any:
    workspace, user = _context(request)
    return selectors.pipeline_get(workspace=workspace, viewer=user, pipeline_id=pipeline_id)


# --- pipelines and stages ------------------------------------------------------------------------


@router.get("/pipelines", response=PipelineList, tags=["pipelines"])
def pipeline_list(request: HttpRequest) -> Any:
    """Every live pipeline with its stages, in order (a workspace without any gets the
    default one)."""
    workspace, user = _context(request)
    if selectors.can_view_deals(workspace=workspace, viewer=user):
        services.pipeline_default(workspace)
    return {"items": selectors.pipeline_list(workspace=workspace, viewer=user)}


@router.post("/pipelines", response={201: PipelineOut}, tags=["pipelines"])
def pipeline_create(request: HttpRequest, body: PipelineIn) -> Status[Any]:
    workspace, user = _context(request)
    data = body.model_dump(exclude_unset=True)
    if "stages" in data and data["stages"] is not None:
        data["stages"] = [
            {k: val for k, val in stage.items() if val is not None} for stage in data["stages"]
        ]
    pipeline = services.pipeline_create(workspace=workspace, actor=user, data=data)
    return Status(201, _pipeline(request, pipeline.pk))


@router.get("/pipelines/{pipeline_id}", response=PipelineOut, tags=["pipelines"])
def pipeline_detail(request: HttpRequest, pipeline_id: int = _id()) -> Any:
    return _pipeline(request, pipeline_id)


@router.patch("/pipelines/{pipeline_id}", response=PipelineOut, tags=["pipelines"])
def pipeline_update(request: HttpRequest, body: PipelinePatch, pipeline_id: int = _id()) -> Any:
    workspace, user = _context(request)
    services.pipeline_update(
        workspace=workspace,
        actor=user,
        pipeline_id=pipeline_id,
        data=body.model_dump(exclude_unset=True),
    )
    return _pipeline(request, pipeline_id)


@router.delete("/pipelines/{pipeline_id}", response={204: None}, tags=["pipelines"])
def pipeline_delete(request: HttpRequest, pipeline_id: int = _id()) -> Status[None]:
    """Refused (409, pipeline-has-open-deals) while the pipeline has open deals."""
    workspace, user = _context(request)
    services.pipeline_delete(workspace=workspace, actor=user, pipeline_id=pipeline_id)
    return Status(204, None)


@router.post("/pipelines/{pipeline_id}/stages", response={201: StageOut}, tags=["pipelines"])
def stage_create(request: HttpRequest, body: StageIn, pipeline_id: int = _id()) -> Status[Any]:
    workspace, user = _context(request)
    stage = services.stage_create(
        workspace=workspace,
        actor=user,
        pipeline_id=pipeline_id,
        data=body.model_dump(exclude_unset=True),
    )
    return Status(201, stage)


@router.post("/pipelines/{pipeline_id}/stages/order", response=PipelineOut, tags=["pipelines"])
def stage_reorder(request: HttpRequest, body: StageOrderIn, pipeline_id: int = _id()) -> Any:
    workspace, user = _context(request)
    services.stage_reorder(
        workspace=workspace, actor=user, pipeline_id=pipeline_id, stage_ids=body.stage_ids
    )
    return _pipeline(request, pipeline_id)


@router.patch("/stages/{stage_id}", response=StageOut, tags=["pipelines"])
def stage_update(request: HttpRequest, body: StageIn, stage_id: int = _id()) -> Any:
    workspace, user = _context(request)
    return services.stage_update(
        workspace=workspace, actor=user, stage_id=stage_id, data=body.model_dump(exclude_unset=True)
    )


@router.delete("/stages/{stage_id}", response={204: None}, tags=["pipelines"])
def stage_delete(
    request: HttpRequest,
    stage_id: int = _id(),
    move_to_stage_id: int | None = Query(None, ge=1, le=MAX_ID),
) -> Status[None]:
    """A stage holding deals needs `move_to_stage_id` (same pipeline and kind)."""
    workspace, user = _context(request)
    services.stage_delete(
        workspace=workspace, actor=user, stage_id=stage_id, move_to_stage_id=move_to_stage_id
    )
    return Status(204, None)


@router.get("/lost-reasons", response=LostReasonList, tags=["pipelines"])
def lost_reason_list(request: HttpRequest) -> Any:
    workspace, user = _context(request)
    return {"items": selectors.lost_reason_list(workspace=workspace, viewer=user)}


@router.post("/lost-reasons", response={201: LostReasonOut}, tags=["pipelines"])
def lost_reason_create(request: HttpRequest, body: LostReasonIn) -> Status[Any]:
    workspace, user = _context(request)
    return Status(201, services.lost_reason_create(workspace=workspace, actor=user, name=body.name))


@router.patch("/lost-reasons/{reason_id}", response=LostReasonOut, tags=["pipelines"])
def lost_reason_update(request: HttpRequest, body: LostReasonIn, reason_id: int = _id()) -> Any:
    workspace, user = _context(request)
    return services.lost_reason_update(
        workspace=workspace, actor=user, reason_id=reason_id, name=body.name
    )


@router.delete("/lost-reasons/{reason_id}", response={204: None}, tags=["pipelines"])
def lost_reason_delete(request: HttpRequest, reason_id: int = _id()) -> Status[None]:
    workspace, user = _context(request)
    services.lost_reason_delete(workspace=workspace, actor=user, reason_id=reason_id)
    return Status(204, None)


# --- deals ---------------------------------------------------------------------------------------


@router.get("/deals", response=DealPage)
def deal_list(request: HttpRequest, params: Query[DealListQuery]) -> Any:
    workspace, user = _context(request)
    filters = selectors.deal_filters(
        workspace=workspace, viewer=user, params=params.filter_params()
    )
    return selectors.deal_list(
        workspace=workspace, viewer=user, filters=filters, cursor=params.cursor, limit=params.limit
    )


@router.post("/deals", response={201: DealOut})
def deal_create(request: HttpRequest, body: DealIn) -> Status[Any]:
    workspace, user = _context(request)
    deal = services.deal_create(
        workspace=workspace, actor=user, data=body.model_dump(exclude_unset=True)
    )
    return Status(201, _deal(request, deal.pk))


@router.get("/deals/{deal_id}", response=DealOut)
def deal_detail(request: HttpRequest, deal_id: int = _id()) -> Any:
    return _deal(request, deal_id)


@router.patch("/deals/{deal_id}", response=DealOut)
def deal_update(request: HttpRequest, body: DealIn, deal_id: int = _id()) -> Any:
    workspace, user = _context(request)
    services.deal_update(
        workspace=workspace, actor=user, deal_id=deal_id, data=body.model_dump(exclude_unset=True)
    )
    return _deal(request, deal_id)


@router.delete("/deals/{deal_id}", response={204: None})
def deal_delete(request: HttpRequest, deal_id: int = _id()) -> Status[None]:
    workspace, user = _context(request)
    services.deal_delete(workspace=workspace, actor=user, deal_id=deal_id)
    return Status(204, None)


@router.post("/deals/{deal_id}/restore", response=DealOut)
def deal_restore(request: HttpRequest, deal_id: int = _id()) -> Any:
    workspace, user = _context(request)
    services.deal_restore(workspace=workspace, actor=user, deal_id=deal_id)
    return _deal(request, deal_id)


@router.post("/deals/{deal_id}/move", response=DealOut)
def deal_move(request: HttpRequest, body: DealMoveIn, deal_id: int = _id()) -> Any:
    """Put the deal in `stage_id`, between `before_id` (above) and `after_id` (below); a lost
    stage needs `lost_reason` (422 otherwise)."""
    workspace, user = _context(request)
    services.deal_move(
        workspace=workspace,
        actor=user,
        deal_id=deal_id,
        stage_id=body.stage_id,
        before_id=body.before_id,
        after_id=body.after_id,
        lost_reason=body.lost_reason,
    )
    return _deal(request, deal_id)


@router.post("/deals/{deal_id}/close", response=DealOut)
def deal_close(request: HttpRequest, body: DealCloseIn, deal_id: int = _id()) -> Any:
    """Won (`won`: true) or lost (with `lost_reason`): the pipeline's first stage of that
    kind."""
    workspace, user = _context(request)
    services.deal_close(
        workspace=workspace,
        actor=user,
        deal_id=deal_id,
        won=body.won,
        lost_reason=body.lost_reason,
    )
    return _deal(request, deal_id)


@router.get("/deals/{deal_id}/stage-history", response=StayList)
def deal_stage_history(request: HttpRequest, deal_id: int = _id()) -> Any:
    workspace, _user = _context(request)
    deal = _deal(request, deal_id)
    return {"items": selectors.deal_stage_history(workspace=workspace, deal=deal)}


@router.get("/deals/{deal_id}/lines", response=DealLineList)
def deal_line_list(request: HttpRequest, deal_id: int = _id()) -> Any:
    workspace, _user = _context(request)
    deal = _deal(request, deal_id)
    return {"items": selectors.deal_lines(workspace=workspace, deal=deal)}


@router.post("/deals/{deal_id}/lines", response={201: DealLineOut})
def deal_line_add(request: HttpRequest, body: DealLineIn, deal_id: int = _id()) -> Status[Any]:
    """The deal's amount becomes the total of its lines."""
    workspace, user = _context(request)
    line = services.deal_line_add(
        workspace=workspace, actor=user, deal_id=deal_id, data=body.model_dump(exclude_unset=True)
    )
    return Status(201, line)


@router.patch("/deals/{deal_id}/lines/{line_id}", response=DealLineOut)
def deal_line_update(
    request: HttpRequest, body: DealLineIn, deal_id: int = _id(), line_id: int = _id()
) -> Any:
    workspace, user = _context(request)
    return services.deal_line_update(
        workspace=workspace,
        actor=user,
        deal_id=deal_id,
        line_id=line_id,
        data=body.model_dump(exclude_unset=True),
    )


@router.delete("/deals/{deal_id}/lines/{line_id}", response={204: None})
def deal_line_remove(
    request: HttpRequest, deal_id: int = _id(), line_id: int = _id()
) -> Status[None]:
    workspace, user = _context(request)
    services.deal_line_remove(workspace=workspace, actor=user, deal_id=deal_id, line_id=line_id)
    return Status(204, None)


# --- products and price lists --------------------------------------------------------------------


@router.get("/products", response=ProductPage, tags=["products"])
def product_list(request: HttpRequest, params: Query[ProductListQuery]) -> Any:
    workspace, user = _context(request)
    return selectors.product_list(
        workspace=workspace,
        viewer=user,
        q=params.q or "",
        active=params.active,
        cursor=params.cursor,
        limit=params.limit,
    )


@router.post("/products", response={201: ProductOut}, tags=["products"])
def product_create(request: HttpRequest, body: ProductIn) -> Status[Any]:
    workspace, user = _context(request)
    return Status(
        201,
        services.product_create(
            workspace=workspace, actor=user, data=body.model_dump(exclude_unset=True)
        ),
    )


@router.get("/products/{product_id}", response=ProductOut, tags=["products"])
def product_detail(request: HttpRequest, product_id: int = _id()) -> Any:
    workspace, user = _context(request)
    return selectors.product_get(workspace=workspace, viewer=user, product_id=product_id)


@router.patch("/products/{product_id}", response=ProductOut, tags=["products"])
def product_update(request: HttpRequest, body: ProductIn, product_id: int = _id()) -> Any:
    workspace, user = _context(request)
    return services.product_update(
        workspace=workspace,
        actor=user,
        product_id=product_id,
        data=body.model_dump(exclude_unset=True),
    )


@router.delete("/products/{product_id}", response={204: None}, tags=["products"])
def product_delete(request: HttpRequest, product_id: int = _id()) -> Status[None]:
    workspace, user = _context(request)
    services.product_delete(workspace=workspace, actor=user, product_id=product_id)
    return Status(204, None)


@router.get("/price-lists", response=PriceListList, tags=["products"])
def price_list_list(request: HttpRequest) -> Any:
    workspace, user = _context(request)
    return {"items": selectors.price_list_list(workspace=workspace, viewer=user)}


@router.post("/price-lists", response={201: PriceListOut}, tags=["products"])
def price_list_create(request: HttpRequest, body: PriceListIn) -> Status[Any]:
    workspace, user = _context(request)
    return Status(
        201,
        services.price_list_create(
            workspace=workspace, actor=user, data=body.model_dump(exclude_unset=True)
        ),
    )


@router.get("/price-lists/{price_list_id}", response=PriceListDetail, tags=["products"])
def price_list_detail(request: HttpRequest, price_list_id: int = _id()) -> Any:
    workspace, user = _context(request)
    return selectors.price_list_get(workspace=workspace, viewer=user, price_list_id=price_list_id)


@router.patch("/price-lists/{price_list_id}", response=PriceListOut, tags=["products"])
def price_list_update(request: HttpRequest, body: PriceListIn, price_list_id: int = _id()) -> Any:
    workspace, user = _context(request)
    return services.price_list_update(
        workspace=workspace,
        actor=user,
        price_list_id=price_list_id,
        data=body.model_dump(exclude_unset=True),
    )


@router.delete("/price-lists/{price_list_id}", response={204: None}, tags=["products"])
def price_list_delete(request: HttpRequest, price_list_id: int = _id()) -> Status[None]:
    workspace, user = _context(request)
    services.price_list_delete(workspace=workspace, actor=user, price_list_id=price_list_id)
    return Status(204, None)


@router.put(
    "/price-lists/{price_list_id}/items/{product_id}", response=PriceItemOut, tags=["products"]
)
def price_list_item_set(
    request: HttpRequest, body: PriceItemIn, price_list_id: int = _id(), product_id: int = _id()
) -> Any:
    workspace, user = _context(request)
    item = services.price_list_item_set(
        workspace=workspace,
        actor=user,
        price_list_id=price_list_id,
        product_id=product_id,
        unit_price=body.unit_price,
    )
    return {
        "product": {"id": item.product_id, "name": item.product.name},
        "unit_price": item.unit_price,
    }


@router.delete(
    "/price-lists/{price_list_id}/items/{product_id}", response={204: None}, tags=["products"]
)
def price_list_item_remove(
    request: HttpRequest, price_list_id: int = _id(), product_id: int = _id()
) -> Status[None]:
    workspace, user = _context(request)
    services.price_list_item_remove(
        workspace=workspace, actor=user, price_list_id=price_list_id, product_id=product_id
    )
    return Status(204, None)
