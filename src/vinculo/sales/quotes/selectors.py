"""Reads of quotes and orders, with record access applied (`core.access.visible`, module
"deals"): a quote is seen by whoever may see its deal (the deal's owner decides), an order by
its owner's scope. Lists are keyset pages, newest first."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db.models import Count, Max, Prefetch, Q, QuerySet, Sum
from django.utils.translation import gettext as _

from vinculo.contacts.models import Account, Contact
from vinculo.core.access import can, visible
from vinculo.core.exceptions import ErrorCollector, NotFound
from vinculo.core.models import Workspace
from vinculo.core.pagination import Page, keyset_page
from vinculo.core.roles import Right
from vinculo.sales.models import (
    Deal,
    Order,
    OrderChannel,
    OrderLine,
    OrderStatus,
    PriceList,
    Product,
    Quote,
    QuoteLine,
    QuoteStatus,
)
from vinculo.sales.quotes.links import read_token
from vinculo.sales.quotes.validation import clean_date

if TYPE_CHECKING:
    from vinculo.core.models import User

MODULE = "deals"
MAX_ID = 2**63 - 1
QUOTE_ORDER = ["-created_at", "-id"]
ORDER_ORDER = ["-ordered_at", "-id"]
RECORD_KINDS = ("contact", "account")


def _pk(value: Any) -> int:
    return value if isinstance(value, int) and 0 < value <= MAX_ID else 0


def _quotes(*, workspace: Workspace, viewer: User | None) -> QuerySet[Quote]:
    return visible(
        Quote.objects.for_workspace(workspace).filter(deleted_at__isnull=True),
        workspace=workspace,
        viewer=viewer,
        module=MODULE,
        owner_field="deal__owner",
    )


def _ordered_lines(model: Any, workspace: Workspace) -> QuerySet[Any]:
    return (
        model.objects.for_workspace(workspace).select_related("product").order_by("position", "id")
    )


def can_edit_quotes(*, workspace: Workspace, viewer: User | None) -> bool:
    return viewer is None or can(workspace=workspace, user=viewer, module=MODULE, right=Right.EDIT)


def can_create_quotes(*, workspace: Workspace, viewer: User | None) -> bool:
    return viewer is None or can(
        workspace=workspace, user=viewer, module=MODULE, right=Right.CREATE
    )


# ---------------------------------------------------------------------------------------------
# Quotes


def quote_list(
    *,
    workspace: Workspace,
    viewer: User | None,
    status: str | None = None,
    deal_id: int | None = None,
    after: str | None = None,
    limit: int = 50,
) -> Page[Quote]:
    """Quotes the viewer may see, newest first, optionally of one status or one deal. An
    unknown status is a ValidationFailed naming `status`."""
    qs = _quotes(workspace=workspace, viewer=viewer)
    if status:
        if status not in QuoteStatus.values:
            errors = ErrorCollector()
            errors.add(
                "status",
                "invalid-choice",
                _("Must be one of: %(choices)s.") % {"choices": ", ".join(QuoteStatus.values)},
            )
            errors.raise_if_any()
        qs = qs.filter(status=status)
    if deal_id is not None:
        qs = qs.filter(deal_id=_pk(deal_id))
    qs = qs.select_related("deal", "contact", "account")
    return keyset_page(qs, order=QUOTE_ORDER, after=after, limit=limit)


def quote_get(*, workspace: Workspace, viewer: User | None, quote_id: int) -> Quote:
    """A quote with its deal, customer and lines (in order, with their products); NotFound
    for one the viewer cannot see, as for one of another workspace."""
    quote = (
        _quotes(workspace=workspace, viewer=viewer)
        .filter(pk=_pk(quote_id))
        .select_related("deal", "contact", "account", "price_list", "sent_by")
        .prefetch_related(Prefetch("lines", queryset=_ordered_lines(QuoteLine, workspace)))
        .first()
    )
    if quote is None:
        raise NotFound(_("There is no such quote."))
    return quote


@dataclass(frozen=True)
class DealQuotes:
    deal: Deal
    quotes: list[Quote]
    can_create: bool


def deal_quotes(*, workspace: Workspace, viewer: User | None, deal_id: int) -> DealQuotes:
    """The quotes of a deal the viewer may see, newest first (NotFound for a hidden deal)."""
    deals = visible(
        Deal.objects.for_workspace(workspace).filter(deleted_at__isnull=True),
        workspace=workspace,
        viewer=viewer,
        module=MODULE,
    )
    deal = deals.filter(pk=_pk(deal_id)).first()
    if deal is None:
        raise NotFound(_("There is no such deal."))
    quotes = list(
        Quote.objects.for_workspace(workspace)
        .filter(deal=deal, deleted_at__isnull=True)
        .select_related("contact")
        .order_by(*QUOTE_ORDER)[:50]
    )
    return DealQuotes(
        deal=deal, quotes=quotes, can_create=can_create_quotes(workspace=workspace, viewer=viewer)
    )


@dataclass(frozen=True)
class PublicQuote:
    quote: Quote
    workspace: Workspace


def quote_public_get(*, token: str) -> PublicQuote:
    """The quote a customer link points at, with its lines; NotFound for a token we did not
    sign, a key that was replaced (sent again), or a quote that is gone or was never sent.
    Reads across workspaces on purpose: the link is all the customer has."""
    target = read_token(token)
    if target is None:
        raise NotFound(_("There is no such quote."))
    workspace = Workspace.objects.filter(pk=_pk(target.workspace_id)).first()
    if workspace is None:
        raise NotFound(_("There is no such quote."))
    quote = (
        Quote.objects.for_workspace(workspace)
        .filter(pk=_pk(target.quote_id), deleted_at__isnull=True)
        .exclude(public_key="")
        .select_related("deal", "contact", "account", "sent_by")
        .prefetch_related(Prefetch("lines", queryset=_ordered_lines(QuoteLine, workspace)))
        .first()
    )
    if quote is None or not secrets.compare_digest(quote.public_key, target.public_key):
        raise NotFound(_("There is no such quote."))
    return PublicQuote(quote=quote, workspace=workspace)


def product_choices(*, workspace: Workspace, limit: int = 300) -> list[Product]:
    """Active products for the line picker, by name."""
    return list(
        Product.objects.for_workspace(workspace)
        .filter(is_active=True, deleted_at__isnull=True)
        .order_by("name", "id")[:limit]
    )


def price_list_choices(*, workspace: Workspace) -> list[PriceList]:
    return list(
        PriceList.objects.for_workspace(workspace)
        .filter(deleted_at__isnull=True)
        .order_by("-is_default", "name", "id")[:100]
    )


# ---------------------------------------------------------------------------------------------
# Orders


def _orders(*, workspace: Workspace, viewer: User | None) -> QuerySet[Order]:
    return visible(
        Order.objects.for_workspace(workspace), workspace=workspace, viewer=viewer, module=MODULE
    )


@dataclass
class OrderFilters:
    contact_id: int | None = None
    account_id: int | None = None
    ordered_after: dt.date | None = None
    ordered_before: dt.date | None = None
    status: str = ""
    channel: str = ""


def order_filters(params: dict[str, Any]) -> OrderFilters:
    """Filters from text parameters (API query or page), every bad one reported by name."""
    errors = ErrorCollector()
    found = OrderFilters()
    for name in ("contact", "account"):
        raw = params.get(name)
        if raw in (None, ""):
            continue
        text = str(raw).strip()
        if not text.isdigit() or not 0 < int(text) <= MAX_ID:
            errors.add(name, "invalid", _("Must be a positive whole number (an id)."))
            continue
        setattr(found, f"{name}_id", int(text))
    found.ordered_after = clean_date(errors, "ordered_after", params.get("ordered_after"))
    found.ordered_before = clean_date(errors, "ordered_before", params.get("ordered_before"))
    status = params.get("status") or ""
    if status and status not in OrderStatus.values:
        errors.add(
            "status",
            "invalid-choice",
            _("Must be one of: %(choices)s.") % {"choices": ", ".join(OrderStatus.values)},
        )
    found.status = status if status in OrderStatus.values else ""
    channel = params.get("channel") or ""
    if channel and channel not in OrderChannel.values:
        errors.add(
            "channel",
            "invalid-choice",
            _("Must be one of: %(choices)s.") % {"choices": ", ".join(OrderChannel.values)},
        )
    found.channel = channel if channel in OrderChannel.values else ""
    errors.raise_if_any()
    return found


def _day_start(day: dt.date, workspace: Workspace) -> dt.datetime:
    from vinculo.sales.quotes.services import _zone

    return dt.datetime.combine(day, dt.time.min, tzinfo=_zone(workspace))


def order_list(
    *,
    workspace: Workspace,
    viewer: User | None,
    filters: OrderFilters | None = None,
    after: str | None = None,
    limit: int = 50,
) -> Page[Order]:
    """Orders the viewer may see, newest first. `account` also finds the orders of the
    account's people; dates are days in the workspace's time zone, both ends included."""
    filters = filters or OrderFilters()
    qs = _orders(workspace=workspace, viewer=viewer)
    if filters.contact_id is not None:
        qs = qs.filter(contact_id=filters.contact_id)
    if filters.account_id is not None:
        qs = qs.filter(_account_orders(workspace, filters.account_id))
    if filters.ordered_after is not None:
        qs = qs.filter(ordered_at__gte=_day_start(filters.ordered_after, workspace))
    if filters.ordered_before is not None:
        qs = qs.filter(
            ordered_at__lt=_day_start(filters.ordered_before + dt.timedelta(days=1), workspace)
        )
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.channel:
        qs = qs.filter(channel=filters.channel)
    qs = qs.select_related("contact", "account")
    return keyset_page(qs, order=ORDER_ORDER, after=after, limit=limit)


def _account_orders(workspace: Workspace, account_id: int) -> Q:
    people = Contact.objects.for_workspace(workspace).filter(account_id=account_id).values("pk")
    return Q(account_id=account_id) | Q(contact_id__in=people)


def order_get(*, workspace: Workspace, viewer: User | None, order_id: int) -> Order:
    order = (
        _orders(workspace=workspace, viewer=viewer)
        .filter(pk=_pk(order_id))
        .select_related("contact", "account", "deal", "quote", "owner")
        .prefetch_related(Prefetch("lines", queryset=_ordered_lines(OrderLine, workspace)))
        .first()
    )
    if order is None:
        raise NotFound(_("There is no such order."))
    return order


def orders_with_lines(orders: list[Order], workspace: Workspace) -> None:
    """Load the lines of a page of orders in one query (for the lines summary)."""
    if not orders:
        return
    by_order: dict[int, list[OrderLine]] = {o.pk: [] for o in orders}
    for line in (
        OrderLine.objects.for_workspace(workspace)
        .filter(order_id__in=list(by_order))
        .order_by("order_id", "position", "id")
    ):
        by_order[line.order_id].append(line)
    for order in orders:
        order.loaded_lines = by_order[order.pk]  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------------------------
# "What they bought": a contact's or an account's purchase history


@dataclass
class PurchaseHistory:
    kind: str
    record: Contact | Account
    orders: list[Order]
    count: int
    # Lifetime totals per currency, largest first (most workspaces have one currency).
    totals: list[tuple[str, Decimal]] = field(default_factory=list)
    last_purchase_at: dt.datetime | None = None
    more: bool = False


def record_get(
    *, workspace: Workspace, viewer: User | None, kind: str, record_id: int
) -> Contact | Account:
    """The live contact or account the viewer may see; NotFound otherwise."""
    if kind == "contact":
        qs: QuerySet[Any] = visible(
            Contact.objects.for_workspace(workspace),
            workspace=workspace,
            viewer=viewer,
            module="contacts",
        )
    elif kind == "account":
        qs = visible(
            Account.objects.for_workspace(workspace),
            workspace=workspace,
            viewer=viewer,
            module="accounts",
        )
    else:
        raise NotFound(_("There is no such record."))
    record = qs.filter(pk=_pk(record_id), deleted_at__isnull=True).first()
    if record is None:
        raise NotFound(_("There is no such record."))
    return record


def purchase_history(
    *, workspace: Workspace, viewer: User | None, kind: str, record_id: int, limit: int = 10
) -> PurchaseHistory:
    """What a contact (or an account: its own orders and its people's) bought: the latest
    placed orders with their lines, their count, lifetime total and last purchase date.
    Cancelled orders are left out. Four queries, however many orders."""
    record = record_get(workspace=workspace, viewer=viewer, kind=kind, record_id=record_id)
    qs = _orders(workspace=workspace, viewer=viewer).filter(status=OrderStatus.PLACED)
    if kind == "contact":
        qs = qs.filter(contact_id=record.pk)
    else:
        qs = qs.filter(_account_orders(workspace, record.pk))
    rows = list(qs.select_related("contact").order_by(*ORDER_ORDER)[: limit + 1])
    orders = rows[:limit]
    orders_with_lines(orders, workspace)
    sums = list(
        qs.order_by()
        .values("currency")
        .annotate(total=Sum("total"), count=Count("id"), last=Max("ordered_at"))
    )
    totals = sorted(
        ((row["currency"] or workspace.currency, row["total"] or Decimal(0)) for row in sums),
        key=lambda item: item[1],
        reverse=True,
    )
    count = sum(row["count"] for row in sums)
    last = max((row["last"] for row in sums if row["last"] is not None), default=None)
    return PurchaseHistory(
        kind=kind,
        record=record,
        orders=orders,
        count=count,
        totals=totals,
        last_purchase_at=last,
        more=len(rows) > limit,
    )


def quote_contact_choices(
    *, workspace: Workspace, viewer: User | None, quote: Quote
) -> list[Contact]:
    """Whom a quote may be addressed to: the people of its account (or its deal's), the
    deal's contact and its current contact, those the viewer may see."""
    account_id = quote.account_id or quote.deal.account_id
    wanted = Q(pk__in=[pk for pk in (quote.contact_id, quote.deal.contact_id) if pk])
    if account_id:
        wanted |= Q(account_id=account_id)
    qs = visible(
        Contact.objects.for_workspace(workspace).filter(deleted_at__isnull=True),
        workspace=workspace,
        viewer=viewer,
        module="contacts",
    )
    return list(qs.filter(wanted).order_by("sort_name", "id")[:100])
