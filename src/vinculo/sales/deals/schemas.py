"""Shapes of the pipelines, deals, products and price lists API. Inputs are lax (strings for
amounts and dates): the services check meaning and report every bad field in one answer."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from ninja import Field, Schema
from pydantic import ConfigDict

from vinculo.core.pagination import MAX_LIMIT


class _In(Schema):
    # Unknown fields are refused by name, so a typo never silently drops a value.
    model_config = ConfigDict(extra="forbid")


# --- pipelines and stages ------------------------------------------------------------------------


class StageIn(_In):
    name: str | None = None
    probability: int | None = Field(None, description="0–100: weights the pipeline forecast.")
    kind: str | None = Field(None, description="open, won or lost.")
    position: int | None = None


class PipelineIn(_In):
    name: str | None = None
    is_default: bool | None = None
    stages: list[StageIn] | None = Field(
        None, description="The stages, in order (default: New … Won, Lost)."
    )


class PipelinePatch(_In):
    name: str | None = None
    is_default: bool | None = None
    position: int | None = None


class StageOrderIn(_In):
    stage_ids: list[int]


class StageDeleteIn(_In):
    move_to_stage_id: int | None = Field(
        None, description="Where the stage's deals go (same pipeline and kind)."
    )


class StageOut(Schema):
    id: int
    name: str
    position: int
    probability: int
    kind: str


class PipelineOut(Schema):
    id: int
    name: str
    position: int
    is_default: bool
    stages: list[StageOut]
    created_at: dt.datetime

    @staticmethod
    def resolve_stages(obj: Any) -> list[Any]:
        stages = getattr(obj, "live_stages", None)
        if stages is None:
            stages = list(obj.stages.filter(deleted_at__isnull=True).order_by("position", "id"))
        return stages


class PipelineList(Schema):
    items: list[PipelineOut]


class LostReasonIn(_In):
    name: str


class LostReasonOut(Schema):
    id: int
    name: str
    position: int


class LostReasonList(Schema):
    items: list[LostReasonOut]


# --- deals ---------------------------------------------------------------------------------------


class DealIn(_In):
    """A deal to create, or the fields to change (PATCH sends only what changes)."""

    name: str | None = None
    pipeline_id: int | None = Field(None, description="Default: the default pipeline.")
    stage_id: int | None = Field(None, description="Default: the pipeline's first open stage.")
    amount: Decimal | str | None = None
    currency: str | None = Field(None, description="ISO 4217; default: the workspace's.")
    expected_close_date: str | None = Field(None, description="YYYY-MM-DD.")
    forecast_category: str | None = Field(
        None, description="pipeline, best_case, commit, closed or omitted."
    )
    owner_id: int | None = None
    team_id: int | None = None
    contact_id: int | None = None
    account_id: int | None = None
    lead_id: int | None = None
    lost_reason: str | None = None
    external_id: str | None = None


class DealMoveIn(_In):
    stage_id: int
    before_id: int | None = Field(None, description="The card right above it in the column.")
    after_id: int | None = Field(None, description="The card right below it in the column.")
    lost_reason: str = Field("", description="Needed when the stage is a lost one.")


class DealCloseIn(_In):
    won: bool
    lost_reason: str = ""


class UserSummary(Schema):
    id: int
    email: str
    full_name: str


class NamedRef(Schema):
    id: int
    name: str


class ContactRef(Schema):
    id: int
    display_name: str


class StageRef(Schema):
    id: int
    name: str
    kind: str
    probability: int


class DealOut(Schema):
    id: int
    name: str
    pipeline: NamedRef
    stage: StageRef
    status: str
    amount: Decimal
    currency: str
    expected_close_date: dt.date | None
    forecast_category: str
    owner: UserSummary | None
    team: NamedRef | None
    contact: ContactRef | None
    account: NamedRef | None
    lead_id: int | None
    lost_reason: str
    position: float
    stage_entered_at: dt.datetime
    closed_at: dt.datetime | None
    last_activity_at: dt.datetime | None
    external_id: str
    created_at: dt.datetime
    updated_at: dt.datetime
    deleted_at: dt.datetime | None


class DealPage(Schema):
    items: list[DealOut]
    next_cursor: str | None


class DealListQuery(Schema):
    q: str | None = Field(None, description="Words of the deal's, account's or contact's name.")
    status: str | None = Field(None, description="open, won or lost.")
    pipeline: str | None = None
    stage: str | None = None
    owner: str | None = Field(None, description='A user id, "me" or "none".')
    team: str | None = Field(None, description="Deals of the team or of its members.")
    contact: str | None = None
    account: str | None = None
    lead: str | None = None
    close_after: str | None = Field(None, description="Expected close on or after YYYY-MM-DD.")
    close_before: str | None = Field(None, description="Expected close on or before.")
    closed_after: str | None = Field(None, description="Won or lost on or after YYYY-MM-DD.")
    closed_before: str | None = Field(None, description="Won or lost on or before.")
    forecast_category: str | None = Field(
        None, description="pipeline, best_case, commit, closed or omitted."
    )
    deleted: str | None = Field(None, description="true lists deleted deals (to restore).")
    sort: str | None = Field(
        None,
        description=(
            "-created_at (default), created_at, name, -name, expected_close_date, "
            "-expected_close_date, amount, -amount or -updated_at."
        ),
    )
    limit: int = Field(50, ge=1, le=MAX_LIMIT)
    cursor: str | None = None

    def filter_params(self) -> dict[str, Any]:
        return self.model_dump(exclude={"limit", "cursor"}, exclude_none=True)


class StayOut(Schema):
    stage: StageRef
    entered_at: dt.datetime
    left_at: dt.datetime | None
    entered_by: UserSummary | None
    left_by: UserSummary | None


class StayList(Schema):
    items: list[StayOut]


class DealLineIn(_In):
    product_id: int | None = None
    description: str | None = None
    quantity: Decimal | str | None = None
    unit_price: Decimal | str | None = None
    discount_percent: Decimal | str | None = None


class DealLineOut(Schema):
    id: int
    product_id: int | None
    description: str
    quantity: Decimal
    unit_price: Decimal
    discount_percent: Decimal
    position: int


class DealLineList(Schema):
    items: list[DealLineOut]


# --- products and price lists ------------------------------------------------------------------


class ProductIn(_In):
    name: str | None = None
    code: str | None = None
    description: str | None = None
    unit_price: Decimal | str | None = None
    currency: str | None = None
    tax_rate: Decimal | str | None = Field(None, description="Percent, 0–100.")
    unit: str | None = None
    is_active: bool | None = None


class ProductOut(Schema):
    id: int
    name: str
    code: str
    description: str
    unit_price: Decimal
    currency: str
    tax_rate: Decimal
    unit: str
    is_active: bool
    created_at: dt.datetime
    updated_at: dt.datetime


class ProductPage(Schema):
    items: list[ProductOut]
    next_cursor: str | None


class ProductListQuery(Schema):
    q: str | None = Field(None, description="Words of the name or code.")
    active: bool | None = None
    limit: int = Field(50, ge=1, le=MAX_LIMIT)
    cursor: str | None = None


class PriceListIn(_In):
    name: str | None = None
    currency: str | None = None
    is_default: bool | None = None
    valid_from: str | None = Field(None, description="YYYY-MM-DD.")
    valid_until: str | None = Field(None, description="YYYY-MM-DD.")


class PriceItemIn(_In):
    unit_price: Decimal | str


class PriceItemOut(Schema):
    product: NamedRef
    unit_price: Decimal


class PriceListOut(Schema):
    id: int
    name: str
    currency: str
    is_default: bool
    valid_from: dt.date | None
    valid_until: dt.date | None
    created_at: dt.datetime


class PriceListDetail(PriceListOut):
    items: list[PriceItemOut]

    @staticmethod
    def resolve_items(obj: Any) -> list[Any]:
        return list(getattr(obj, "live_items", []))


class PriceListList(Schema):
    items: list[PriceListOut]
