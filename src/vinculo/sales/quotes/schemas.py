"""Shapes of the quotes and orders API. Inputs are lax (numbers as text or integers, ids as
integers): the services validate them and report every bad field at once. Money is a decimal
string with two places ("1234.50"); quantities have up to three."""

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


class LineIn(_In):
    product_id: int | None = None
    description: str | None = Field(None, description="Default: the product's name.")
    quantity: str | int | None = Field(None, description='Default 1; up to 3 decimals ("2.5").')
    unit_price: str | int | None = Field(
        None, description="Default: the price list's price, then the product's."
    )
    discount_percent: str | int | None = None
    tax_rate: str | int | None = Field(None, description="Default: the product's tax rate.")


class QuoteIn(_In):
    deal_id: int
    title: str | None = None
    contact_id: int | None = Field(None, description="Whom it is sent to; default: the deal's.")
    account_id: int | None = None
    price_list_id: int | None = None
    currency: str | None = None
    valid_until: str | None = Field(None, description="YYYY-MM-DD; default: today + validity.")
    terms: str | None = None
    lines: list[LineIn] | None = Field(None, description="Default: the deal's products.")


class QuotePatch(_In):
    title: str | None = None
    contact_id: int | None = None
    account_id: int | None = None
    price_list_id: int | None = None
    currency: str | None = None
    valid_until: str | None = None
    terms: str | None = None


class LineOrder(_In):
    line_ids: list[int]


class Summary(Schema):
    id: int
    name: str


class PersonSummary(Schema):
    id: int
    display_name: str
    email: str


class LineOut(Schema):
    id: int
    position: int
    product_id: int | None
    description: str
    quantity: Decimal
    unit_price: Decimal
    discount_percent: Decimal
    tax_rate: Decimal
    line_total: Decimal


class QuoteOut(Schema):
    id: int
    number: str
    title: str
    status: str
    deal: Summary
    contact: PersonSummary | None
    account: Summary | None
    price_list_id: int | None
    currency: str
    valid_until: dt.date | None
    subtotal: Decimal
    discount_total: Decimal
    tax_total: Decimal
    total: Decimal
    terms: str
    sent_at: dt.datetime | None
    answered_at: dt.datetime | None
    answered_by_name: str
    decline_reason: str
    created_at: dt.datetime
    updated_at: dt.datetime


class QuoteDetail(QuoteOut):
    lines: list[LineOut]
    public_path: str | None = Field(
        None, description="The customer's link (path) while the quote is sent."
    )

    @staticmethod
    def resolve_lines(obj: Any) -> list[Any]:
        return list(obj.lines.all())

    @staticmethod
    def resolve_public_path(obj: Any) -> str | None:
        from vinculo.sales.models import QuoteStatus
        from vinculo.sales.quotes.links import public_path

        return public_path(obj) if obj.status == QuoteStatus.SENT and obj.public_key else None


class QuotePage(Schema):
    items: list[QuoteOut]
    next_cursor: str | None


class QuoteListQuery(Schema):
    status: str | None = None
    deal: int | None = Field(None, ge=1, le=2**63 - 1)
    limit: int = Field(50, ge=1, le=MAX_LIMIT)
    cursor: str | None = None


class OrderIn(_In):
    """An order bought elsewhere (a shop, the phone). Sending the same `external_id` again
    updates that order (its lines are replaced) instead of adding one."""

    external_id: str | None = None
    channel: str | None = Field(None, description="api (default), store, phone, in_person, other.")
    ordered_at: str | None = Field(None, description="ISO 8601 date or date-time; default now.")
    contact_id: int | None = None
    account_id: int | None = None
    owner_id: int | None = None
    currency: str | None = None
    lines: list[LineIn] | None = None


class OrderOut(Schema):
    id: int
    number: str
    status: str
    channel: str
    ordered_at: dt.datetime
    contact: PersonSummary | None
    account: Summary | None
    deal_id: int | None
    quote_id: int | None
    owner_id: int | None
    currency: str
    subtotal: Decimal
    discount_total: Decimal
    tax_total: Decimal
    total: Decimal
    external_id: str
    created_at: dt.datetime


class OrderDetail(OrderOut):
    lines: list[LineOut]

    @staticmethod
    def resolve_lines(obj: Any) -> list[Any]:
        return list(obj.lines.all())


class OrderPage(Schema):
    items: list[OrderOut]
    next_cursor: str | None


class OrderListQuery(Schema):
    contact: str | None = Field(None, description="Contact id.")
    account: str | None = Field(None, description="Account id (its people's orders too).")
    ordered_after: str | None = Field(None, description="YYYY-MM-DD, included.")
    ordered_before: str | None = Field(None, description="YYYY-MM-DD, included.")
    status: str | None = None
    channel: str | None = None
    limit: int = Field(50, ge=1, le=MAX_LIMIT)
    cursor: str | None = None

    def filter_params(self) -> dict[str, Any]:
        return self.model_dump(exclude={"limit", "cursor"}, exclude_none=True)
