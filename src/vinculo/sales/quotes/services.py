"""Writes of quotes and orders.

A quote is drafted from a deal (its lines copied from the deal's products, or given), edited
while it is a draft, numbered and emailed to the customer when first sent, and answered by the
customer through a signed link: accepting it wins the deal and places an order, declining it
loses the deal unless other quotes of the deal are still open. Orders also arrive from the API
and from imports (matched on their `external_id`, so sending one twice updates it).

Every write checks the actor's right on the "deals" module (quotes and orders belong to it),
validates every field at once, runs in one transaction with its event (`quote.created`,
`quote.updated`, `quote.sent`, `quote.cancelled`, `quote.expired`, `quote.accepted`,
`quote.declined`, `order.placed`, `order.updated`, `order.cancelled`), and starts side effects
(the email to the customer) only after commit.

Numbers (quote_prefix + next_quote_number, order_prefix + next_order_number) are taken under a
row lock of the workspace's sales settings in the same transaction that uses them: two sends at
once get two consecutive numbers, and a rolled-back send gives its number back (no gaps).
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from vinculo.core.access import require, visible
from vinculo.core.events import record_event
from vinculo.core.exceptions import (
    Conflict,
    ErrorCollector,
    FieldError,
    NotFound,
    ValidationFailed,
)
from vinculo.core.roles import Right
from vinculo.sales.common import sales_settings_for
from vinculo.sales.models import (
    Deal,
    DealLine,
    DealStatus,
    Order,
    OrderChannel,
    OrderLine,
    OrderStatus,
    PriceList,
    PriceListItem,
    Product,
    Quote,
    QuoteLine,
    QuoteStatus,
    SalesSettings,
)
from vinculo.sales.quotes import links
from vinculo.sales.quotes.money import amounts_of, document_totals
from vinculo.sales.quotes.validation import (
    MAX_LINES,
    MAX_TERMS_LENGTH,
    clean_account,
    clean_contact,
    clean_currency,
    clean_date,
    clean_deal,
    clean_decimal,
    clean_id,
    clean_moment,
    clean_price_list,
    clean_product,
    clean_text,
    reject_unknown,
)

if TYPE_CHECKING:
    from vinculo.core.models import User, Workspace

logger = logging.getLogger(__name__)

MODULE = "deals"
# The lost reason a declined quote gives its deal.
DECLINED_REASON = "Quote declined"
OPEN_QUOTE_STATUSES = (QuoteStatus.DRAFT, QuoteStatus.SENT)
QUOTE_FIELDS = (
    "title",
    "contact_id",
    "account_id",
    "price_list_id",
    "currency",
    "valid_until",
    "terms",
)
LINE_FIELDS = (
    "product_id",
    "description",
    "quantity",
    "unit_price",
    "discount_percent",
    "tax_rate",
)
ORDER_FIELDS = (
    "external_id",
    "channel",
    "ordered_at",
    "contact_id",
    "account_id",
    "owner_id",
    "currency",
    "lines",
)
# Channels an order may be given from outside: an order of the "quote" channel only comes
# from an accepted quote.
OUTSIDE_CHANNELS = tuple(c for c in OrderChannel.values if c != OrderChannel.QUOTE)


class QuoteNotOpen(Conflict):
    """The quote is in a state that does not allow this (answered, expired, cancelled, …);
    `code` says which."""

    title = "The quote cannot be changed in its current state"


def _today(workspace: Workspace) -> dt.date:
    return timezone.now().astimezone(_zone(workspace)).date()


def _zone(workspace: Workspace) -> dt.tzinfo:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(workspace.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def _money(value: Decimal) -> str:
    return str(value)


# ---------------------------------------------------------------------------------------------
# Loading under lock


def _quote_for_update(*, workspace: Workspace, actor: User | None, quote_id: Any) -> Quote:
    pk = quote_id if isinstance(quote_id, int) and 0 < quote_id < 2**63 else 0
    qs = visible(
        Quote.objects.for_workspace(workspace).filter(deleted_at__isnull=True),
        workspace=workspace,
        viewer=actor,
        module=MODULE,
        owner_field="deal__owner",
    )
    quote = (
        qs.filter(pk=pk)
        .select_related("deal", "contact", "account", "price_list")
        .select_for_update(of=("self",))
        .first()
    )
    if quote is None:
        raise NotFound(_("There is no such quote."))
    return quote


def _require_draft(quote: Quote) -> None:
    if quote.status != QuoteStatus.DRAFT:
        raise QuoteNotOpen(
            _("Only a draft quote can be changed; this one is %(status)s.")
            % {"status": QuoteStatus(quote.status).label},
            code="quote-not-draft",
        )


def _lines(quote: Quote) -> list[QuoteLine]:
    return list(
        QuoteLine.objects.for_workspace(quote.workspace)
        .filter(quote=quote)
        .order_by("position", "id")
    )


def _refresh_totals(quote: Quote, lines: Sequence[QuoteLine] | None = None) -> list[QuoteLine]:
    """Recompute each line's total and the quote's totals from the lines; save both."""
    lines = list(lines) if lines is not None else _lines(quote)
    changed = []
    for line in lines:
        net = amounts_of(line).net
        if line.line_total != net:
            line.line_total = net
            changed.append(line)
    if changed:
        QuoteLine.objects.for_workspace(quote.workspace).bulk_update(changed, ["line_total"])
    totals = document_totals(lines)
    for name, value in totals.as_dict().items():
        setattr(quote, name, value)
    quote.updated_at = timezone.now()
    quote.save(update_fields=["subtotal", "discount_total", "tax_total", "total", "updated_at"])
    return lines


# ---------------------------------------------------------------------------------------------
# Lines


def _price_list_prices(
    workspace: Workspace, price_list: PriceList | None, product_ids: Iterable[int]
) -> dict[int, Decimal]:
    ids = sorted({pk for pk in product_ids if pk})
    if price_list is None or not ids:
        return {}
    return dict(
        PriceListItem.objects.for_workspace(workspace)
        .filter(price_list=price_list, product_id__in=ids)
        .values_list("product_id", "unit_price")
    )


def _clean_line(
    errors: ErrorCollector,
    prefix: str,
    data: Mapping[str, Any],
    *,
    workspace: Workspace,
    partial: bool,
) -> dict[str, Any]:
    """The given fields of one line, cleaned (`product_id` becomes `product`)."""
    if not isinstance(data, Mapping):
        errors.add(prefix.rstrip("."), "invalid", _("Each line must be an object."))
        return {}
    reject_unknown(errors, [f"{prefix}{k}" for k in data], [f"{prefix}{k}" for k in LINE_FIELDS])
    cleaned: dict[str, Any] = {}
    if "product_id" in data:
        cleaned["product"] = clean_product(
            errors, f"{prefix}product_id", data["product_id"], workspace=workspace
        )
    if "description" in data:
        cleaned["description"] = clean_text(
            errors,
            f"{prefix}description",
            data["description"],
            max_length=300,
            required=partial,
        )
    if "quantity" in data:
        cleaned["quantity"] = clean_decimal(
            errors, f"{prefix}quantity", data["quantity"], places=3, max_digits=12, positive=True
        )
    if "unit_price" in data:
        cleaned["unit_price"] = clean_decimal(
            errors,
            f"{prefix}unit_price",
            data["unit_price"],
            places=2,
            max_digits=14,
            required=partial,
        )
    if "discount_percent" in data:
        cleaned["discount_percent"] = clean_decimal(
            errors,
            f"{prefix}discount_percent",
            data["discount_percent"],
            places=2,
            max_digits=5,
            maximum=Decimal(100),
            required=partial,
        )
    if "tax_rate" in data:
        cleaned["tax_rate"] = clean_decimal(
            errors,
            f"{prefix}tax_rate",
            data["tax_rate"],
            places=2,
            max_digits=5,
            required=partial,
        )
    return cleaned


def _new_line_values(
    errors: ErrorCollector,
    prefix: str,
    cleaned: Mapping[str, Any],
    *,
    prices: Mapping[int, Decimal],
) -> dict[str, Any] | None:
    """A whole new line from the given fields: what is missing comes from the product (its
    name, its price on the quote's price list or its own, its tax rate)."""
    product: Product | None = cleaned.get("product")
    description = cleaned.get("description") or (product.name if product else "")
    failed = {e.field for e in errors.errors}
    # A product that was given but not found has its own error already.
    product_failed = f"{prefix}product_id" in failed
    if not description and not product_failed and f"{prefix}description" not in failed:
        errors.add(
            f"{prefix}description",
            "required",
            _("Give a description, or pick a product."),
        )
    unit_price = cleaned.get("unit_price")
    if unit_price is None and product is not None:
        unit_price = prices.get(product.pk, product.unit_price)
    if unit_price is None and not product_failed and f"{prefix}unit_price" not in failed:
        errors.add(f"{prefix}unit_price", "required", _("Give a unit price, or pick a product."))
    tax_rate = cleaned.get("tax_rate")
    if tax_rate is None and product is not None:
        tax_rate = product.tax_rate
    if not description or unit_price is None:
        return None
    return {
        "product": product,
        "description": description[:300],
        "quantity": cleaned.get("quantity") or Decimal(1),
        "unit_price": unit_price,
        "discount_percent": cleaned.get("discount_percent") or Decimal(0),
        "tax_rate": tax_rate if tax_rate is not None else Decimal(0),
    }


def _clean_new_lines(
    errors: ErrorCollector,
    raw: Any,
    *,
    workspace: Workspace,
    price_list: PriceList | None,
    field: str = "lines",
) -> list[dict[str, Any]]:
    if not isinstance(raw, list):
        errors.add(field, "invalid", _("Must be a list of lines."))
        return []
    if len(raw) > MAX_LINES:
        errors.add(field, "too-many", _("At most %(max)d lines.") % {"max": MAX_LINES})
        return []
    cleaned = [
        _clean_line(errors, f"{field}.{i}.", item, workspace=workspace, partial=False)
        for i, item in enumerate(raw)
    ]
    prices = _price_list_prices(
        workspace, price_list, [c["product"].pk for c in cleaned if c.get("product")]
    )
    values = []
    for i, item in enumerate(cleaned):
        line = _new_line_values(errors, f"{field}.{i}.", item, prices=prices)
        if line is not None:
            values.append(line)
    return values


def _deal_line_values(deal: Deal, price_list: PriceList | None) -> list[dict[str, Any]]:
    """The deal's products as quote lines (prices as agreed on the deal, tax from the
    product)."""
    rows = (
        DealLine.objects.for_workspace(deal.workspace)
        .filter(deal=deal)
        .select_related("product")
        .order_by("position", "id")
    )
    return [
        {
            "product": row.product,
            "description": row.description,
            "quantity": row.quantity,
            "unit_price": row.unit_price,
            "discount_percent": row.discount_percent,
            "tax_rate": row.product.tax_rate if row.product is not None else Decimal(0),
        }
        for row in rows
    ]


def _snapshot(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "pk"):
        return value.pk
    return value


# ---------------------------------------------------------------------------------------------
# Quotes


def _default_price_list(workspace: Workspace) -> PriceList | None:
    today = _today(workspace)
    candidates = (
        PriceList.objects.for_workspace(workspace)
        .filter(is_default=True, deleted_at__isnull=True)
        .order_by("-created_at", "-id")
    )
    for price_list in candidates[:5]:
        if (price_list.valid_from is None or price_list.valid_from <= today) and (
            price_list.valid_until is None or price_list.valid_until >= today
        ):
            return price_list
    return None


def quote_create(
    *,
    workspace: Workspace,
    actor: User | None,
    deal_id: int | str,
    data: Mapping[str, Any] | None = None,
) -> Quote:
    """Draft a quote for a deal. `data` may hold `title`, `contact_id`, `account_id`
    (default: the deal's), `price_list_id` (default: the workspace's default price list),
    `currency` (default: the price list's, the deal's, then the workspace's), `valid_until`
    (default: today + the sales settings' validity days), `terms` and `lines` (a list of
    {product_id, description, quantity, unit_price, discount_percent, tax_rate}; without it
    the deal's products are copied). A line's missing price comes from the price list, then
    the product. Records `quote.created`."""
    require(workspace=workspace, user=actor, module=MODULE, right=Right.CREATE)
    data = dict(data or {})
    errors = ErrorCollector()
    reject_unknown(errors, data, [*QUOTE_FIELDS, "lines"])
    deal = clean_deal(errors, "deal_id", deal_id, workspace=workspace, actor=actor)
    header = _clean_header(errors, data, workspace=workspace, actor=actor)
    price_list = header.get("price_list") if "price_list" in header else None
    if "price_list" not in header:
        price_list = _default_price_list(workspace)
    lines: list[dict[str, Any]] = []
    if data.get("lines") is not None:
        lines = _clean_new_lines(errors, data["lines"], workspace=workspace, price_list=price_list)
    errors.raise_if_any()
    assert deal is not None  # clean_deal added an error otherwise
    if data.get("lines") is None:
        lines = _deal_line_values(deal, price_list)
    sales = sales_settings_for(workspace)
    currency = (
        header.get("currency")
        or (price_list.currency if price_list else "")
        or deal.currency
        or workspace.currency
    )
    with transaction.atomic():
        quote = Quote(
            workspace=workspace,
            deal=deal,
            title=header.get("title") or deal.name,
            contact=header.get("contact", deal.contact),
            account=header.get("account", deal.account),
            price_list=price_list,
            currency=currency,
            valid_until=header.get("valid_until")
            or _today(workspace) + dt.timedelta(days=sales.quote_validity_days),
            terms=header.get("terms", ""),
            created_by=actor if actor is not None and actor.pk else None,
        )
        quote.save()
        rows = [
            QuoteLine(workspace=workspace, quote=quote, position=i, **values)
            for i, values in enumerate(lines)
        ]
        for row in rows:
            row.line_total = amounts_of(row).net
        QuoteLine.objects.for_workspace(workspace).bulk_create(rows)
        _refresh_totals(quote, rows)
        record_event(
            workspace=workspace,
            actor=actor,
            type="quote.created",
            subject=quote,
            payload={
                "deal_id": deal.pk,
                "lines": len(rows),
                "total": _money(quote.total),
                "currency": quote.currency,
            },
        )
    return quote


def _clean_header(
    errors: ErrorCollector, data: Mapping[str, Any], *, workspace: Workspace, actor: User | None
) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    if "title" in data:
        cleaned["title"] = clean_text(errors, "title", data["title"], max_length=200)
    if "contact_id" in data:
        cleaned["contact"] = clean_contact(
            errors, "contact_id", data["contact_id"], workspace=workspace, actor=actor
        )
    if "account_id" in data:
        cleaned["account"] = clean_account(
            errors, "account_id", data["account_id"], workspace=workspace, actor=actor
        )
    if "price_list_id" in data:
        cleaned["price_list"] = clean_price_list(
            errors, "price_list_id", data["price_list_id"], workspace=workspace
        )
    if "currency" in data:
        cleaned["currency"] = clean_currency(errors, "currency", data["currency"])
    if "valid_until" in data:
        valid_until = clean_date(errors, "valid_until", data["valid_until"], required=True)
        if valid_until is not None and valid_until < _today(workspace):
            errors.add("valid_until", "in-the-past", _("The validity cannot end in the past."))
        cleaned["valid_until"] = valid_until
    if "terms" in data:
        cleaned["terms"] = clean_text(errors, "terms", data["terms"], max_length=MAX_TERMS_LENGTH)
    return cleaned


def quote_update(
    *, workspace: Workspace, actor: User | None, quote_id: int, data: Mapping[str, Any]
) -> Quote:
    """Change a draft quote's header (title, contact, account, price list, currency,
    validity, terms: only the keys present). Records `quote.updated` with the changes; a
    quote that is no longer a draft raises QuoteNotOpen."""
    require(workspace=workspace, user=actor, module=MODULE, right=Right.EDIT)
    with transaction.atomic():
        quote = _quote_for_update(workspace=workspace, actor=actor, quote_id=quote_id)
        _require_draft(quote)
        errors = ErrorCollector()
        reject_unknown(errors, data, QUOTE_FIELDS)
        cleaned = _clean_header(errors, data, workspace=workspace, actor=actor)
        errors.raise_if_any()
        changes: dict[str, list[Any]] = {}
        for name, value in cleaned.items():
            attname = f"{name}_id" if name in ("contact", "account", "price_list") else name
            old = getattr(quote, attname)
            new = value.pk if attname.endswith("_id") and value is not None else value
            if name == "title" and not value:
                new = value = quote.deal.name
            if old != new:
                changes[attname] = [_snapshot(old), _snapshot(new)]
                setattr(quote, name, value)
        if not changes:
            return quote
        quote.updated_at = timezone.now()
        quote.save()
        record_event(
            workspace=workspace,
            actor=actor,
            type="quote.updated",
            subject=quote,
            payload={"deal_id": quote.deal_id, "changes": changes},
        )
    return quote


def _record_lines_changed(
    quote: Quote, actor: User | None, action: str, old_total: Decimal, **extra: Any
) -> None:
    record_event(
        workspace=quote.workspace,
        actor=actor,
        type="quote.updated",
        subject=quote,
        payload={
            "deal_id": quote.deal_id,
            "lines": action,
            **extra,
            "changes": {"total": [_money(old_total), _money(quote.total)]}
            if old_total != quote.total
            else {},
        },
    )


def quote_line_add(
    *, workspace: Workspace, actor: User | None, quote_id: int, data: Mapping[str, Any]
) -> QuoteLine:
    """Add a line at the end of a draft quote (fields as in `quote_create`'s lines) and
    recompute its totals. Records `quote.updated`."""
    require(workspace=workspace, user=actor, module=MODULE, right=Right.EDIT)
    with transaction.atomic():
        quote = _quote_for_update(workspace=workspace, actor=actor, quote_id=quote_id)
        _require_draft(quote)
        errors = ErrorCollector()
        values = _clean_new_lines(errors, [data], workspace=workspace, price_list=quote.price_list)
        # Errors name the fields of the line itself ("quantity"), not "lines.0.quantity".
        if errors.errors:
            errors.errors = [
                FieldError(e.field.removeprefix("lines.0."), e.code, e.message)
                for e in errors.errors
            ]
        errors.raise_if_any()
        lines = _lines(quote)
        if len(lines) >= MAX_LINES:
            raise ValidationFailed(
                [FieldError("lines", "too-many", _("At most %(max)d lines.") % {"max": MAX_LINES})]
            )
        old_total = quote.total
        line = QuoteLine(
            workspace=workspace,
            quote=quote,
            position=(lines[-1].position + 1) if lines else 0,
            **values[0],
        )
        line.line_total = amounts_of(line).net
        line.save()
        _refresh_totals(quote, [*lines, line])
        _record_lines_changed(quote, actor, "added", old_total, line_id=line.pk)
    return line


def quote_line_update(
    *,
    workspace: Workspace,
    actor: User | None,
    quote_id: int,
    line_id: int,
    data: Mapping[str, Any],
) -> QuoteLine:
    """Change some fields of a line of a draft quote and recompute the totals. Picking
    another product takes its name, price and tax rate unless those are given too. Records
    `quote.updated`."""
    require(workspace=workspace, user=actor, module=MODULE, right=Right.EDIT)
    with transaction.atomic():
        quote = _quote_for_update(workspace=workspace, actor=actor, quote_id=quote_id)
        _require_draft(quote)
        lines = _lines(quote)
        line = next((x for x in lines if x.pk == line_id), None)
        if line is None:
            raise NotFound(_("There is no such line on this quote."))
        errors = ErrorCollector()
        cleaned = _clean_line(errors, "", data, workspace=workspace, partial=True)
        errors.raise_if_any()
        product: Product | None = cleaned.get("product", line.product)
        if product is not None and "product" in cleaned and product != line.product:
            prices = _price_list_prices(workspace, quote.price_list, [product.pk])
            cleaned.setdefault("description", product.name)
            cleaned.setdefault("unit_price", prices.get(product.pk, product.unit_price))
            cleaned.setdefault("tax_rate", product.tax_rate)
        old_total = quote.total
        for name, value in cleaned.items():
            setattr(line, name, value)
        line.line_total = amounts_of(line).net
        line.save()
        _refresh_totals(quote, lines)
        _record_lines_changed(quote, actor, "changed", old_total, line_id=line.pk)
    return line


def quote_line_remove(
    *, workspace: Workspace, actor: User | None, quote_id: int, line_id: int
) -> Quote:
    """Remove a line from a draft quote and recompute the totals. Records `quote.updated`."""
    require(workspace=workspace, user=actor, module=MODULE, right=Right.EDIT)
    with transaction.atomic():
        quote = _quote_for_update(workspace=workspace, actor=actor, quote_id=quote_id)
        _require_draft(quote)
        lines = _lines(quote)
        line = next((x for x in lines if x.pk == line_id), None)
        if line is None:
            raise NotFound(_("There is no such line on this quote."))
        old_total = quote.total
        remaining = [x for x in lines if x.pk != line_id]
        line.delete()
        _refresh_totals(quote, remaining)
        _record_lines_changed(quote, actor, "removed", old_total, line_id=line_id)
    return quote


def quote_lines_reorder(
    *, workspace: Workspace, actor: User | None, quote_id: int, line_ids: Sequence[int]
) -> Quote:
    """Put the lines of a draft quote in the order of `line_ids` (every line once). Records
    `quote.updated`."""
    require(workspace=workspace, user=actor, module=MODULE, right=Right.EDIT)
    with transaction.atomic():
        quote = _quote_for_update(workspace=workspace, actor=actor, quote_id=quote_id)
        _require_draft(quote)
        lines = {x.pk: x for x in _lines(quote)}
        ids = list(line_ids) if isinstance(line_ids, list | tuple) else None
        if ids is None or sorted(ids) != sorted(lines) or len(set(ids)) != len(ids):
            raise ValidationFailed(
                [
                    FieldError(
                        "line_ids",
                        "mismatch",
                        _("Give the ids of every line of the quote, each once."),
                    )
                ]
            )
        assert ids is not None
        moved = []
        for position, pk in enumerate(ids):
            line = lines[pk]
            if line.position != position:
                line.position = position
                moved.append(line)
        if moved:
            QuoteLine.objects.for_workspace(workspace).bulk_update(moved, ["position"])
            quote.updated_at = timezone.now()
            quote.save(update_fields=["updated_at"])
            _record_lines_changed(quote, actor, "reordered", quote.total)
    return quote


def _take_number(workspace: Workspace, *, kind: str) -> str:
    """The next quote or order number, taken under a row lock of the sales settings: the
    caller's transaction holds it until commit, so concurrent callers queue and each gets
    its own consecutive number; a rollback gives the number back."""
    sales_settings_for(workspace)  # created outside the lock on first use
    row = SalesSettings.objects.for_workspace(workspace).select_for_update().get()
    model: Any = Quote if kind == "quote" else Order
    prefix = row.quote_prefix if kind == "quote" else row.order_prefix
    counter = "next_quote_number" if kind == "quote" else "next_order_number"
    number = getattr(row, counter)
    while True:
        text = f"{prefix}{number:04d}"
        # A counter an admin set back must not reuse a number already given.
        if not model.objects.for_workspace(workspace).filter(number=text).exists():
            break
        number += 1
    setattr(row, counter, number + 1)
    row.save(update_fields=[counter])
    return text


def quote_send(*, workspace: Workspace, actor: User | None, quote_id: int, base_url: str) -> Quote:
    """Send a draft (or send again a sent) quote to its contact. The first send gives it its
    number; every send sets a fresh `public_key`, so only the latest link works. Records
    `quote.sent`; after commit the contact is emailed the link `base_url` + /q/<token>.

    Raises ValidationFailed when the quote has no line, no contact with an email address, or
    a validity already over; QuoteNotOpen when it was answered, expired or cancelled."""
    require(workspace=workspace, user=actor, module=MODULE, right=Right.EDIT)
    with transaction.atomic():
        quote = _quote_for_update(workspace=workspace, actor=actor, quote_id=quote_id)
        if quote.status not in OPEN_QUOTE_STATUSES:
            raise QuoteNotOpen(
                _("This quote is %(status)s and cannot be sent.")
                % {"status": QuoteStatus(quote.status).label},
                code=f"quote-{quote.status}",
            )
        errors = ErrorCollector()
        if not QuoteLine.objects.for_workspace(workspace).filter(quote=quote).exists():
            errors.add("lines", "empty", _("Add at least one line before sending the quote."))
        recipient = quote.contact.email if quote.contact is not None else ""
        if quote.contact is None:
            errors.add("contact_id", "required", _("Choose the contact the quote is sent to."))
        elif not recipient:
            errors.add(
                "contact_id",
                "no-email",
                _("%(name)s has no email address to send the quote to.")
                % {"name": quote.contact.display_name},
            )
        if quote.valid_until is None or quote.valid_until < _today(workspace):
            errors.add(
                "valid_until", "in-the-past", _("The validity is over: give a later date first.")
            )
        errors.raise_if_any()
        first_send = not quote.number
        if first_send:
            quote.number = _take_number(workspace, kind="quote")
        quote.public_key = secrets.token_hex(16)
        quote.status = QuoteStatus.SENT
        quote.sent_at = timezone.now()
        quote.sent_by = actor if actor is not None and actor.pk else None
        quote.updated_at = quote.sent_at
        quote.save()
        record_event(
            workspace=workspace,
            actor=actor,
            type="quote.sent",
            subject=quote,
            payload={
                "deal_id": quote.deal_id,
                "number": quote.number,
                "contact_id": quote.contact_id,
                "total": _money(quote.total),
                "currency": quote.currency,
                "first": first_send,
            },
        )
        link = base_url.rstrip("/") + links.public_path(quote)
        sender = actor if actor is not None and actor.pk else None
        transaction.on_commit(
            lambda: _quote_email_send(quote=quote, recipient=recipient, link=link, sender=sender)
        )
    return quote


def _quote_email_send(*, quote: Quote, recipient: str, link: str, sender: User | None) -> None:
    """Email the customer the quote's link, in the contact's language (else the
    workspace's). Sent from on_commit through Django's mail (the MAILERS setting). A mail
    server that refuses is logged, not raised: the quote is sent as far as the CRM goes, and
    "send again" mails a fresh link once mail works."""
    workspace = quote.workspace
    contact = quote.contact
    language = (contact.language if contact is not None else "") or workspace.locale
    with translation.override(language or settings.LANGUAGE_CODE):
        context = {
            "quote": quote,
            "workspace_name": workspace.name,
            "contact_name": contact.display_name if contact is not None else "",
            "sender_name": sender.display_name if sender is not None else "",
            "link": link,
        }
        subject = render_to_string("sales/quotes/email/quote_subject.txt", context)
        body = render_to_string("sales/quotes/email/quote_message.txt", context)
        html = render_to_string("sales/quotes/email/quote_message.html", context)
    message = EmailMultiAlternatives(
        subject=" ".join(subject.split()),
        body=body,
        to=[recipient],
        reply_to=[sender.email] if sender is not None and sender.email else None,
    )
    message.attach_alternative(html, "text/html")
    try:
        message.send()
    except Exception:
        logger.exception("could not email quote %s of workspace %s", quote.pk, workspace.slug)


def quote_cancel(*, workspace: Workspace, actor: User | None, quote_id: int) -> Quote:
    """Withdraw a draft or sent quote: its link stops accepting answers. Records
    `quote.cancelled`; an answered or expired quote raises QuoteNotOpen."""
    require(workspace=workspace, user=actor, module=MODULE, right=Right.EDIT)
    with transaction.atomic():
        quote = _quote_for_update(workspace=workspace, actor=actor, quote_id=quote_id)
        if quote.status == QuoteStatus.CANCELLED:
            return quote
        if quote.status not in OPEN_QUOTE_STATUSES:
            raise QuoteNotOpen(
                _("This quote is %(status)s and cannot be cancelled.")
                % {"status": QuoteStatus(quote.status).label},
                code=f"quote-{quote.status}",
            )
        previous = quote.status
        quote.status = QuoteStatus.CANCELLED
        quote.updated_at = timezone.now()
        quote.save(update_fields=["status", "updated_at"])
        record_event(
            workspace=workspace,
            actor=actor,
            type="quote.cancelled",
            subject=quote,
            payload={"deal_id": quote.deal_id, "number": quote.number, "from": previous},
        )
    return quote


def quotes_expire(*, now: dt.datetime | None = None, batch: int = 500) -> int:
    """Mark sent quotes whose validity ended (before today in their workspace's time zone) as
    expired, each with a `quote.expired` event. Crosses workspaces on purpose (the periodic
    job); idempotent. Returns how many expired."""
    from vinculo.core.models import Workspace as WorkspaceModel

    now = now or timezone.now()
    # The latest "today" on Earth bounds the candidates; each workspace's own today decides.
    horizon = (now + dt.timedelta(hours=14)).date()
    workspace_ids = (
        Quote.all_tenants.filter(status=QuoteStatus.SENT, valid_until__lt=horizon)
        .order_by()
        .values_list("workspace_id", flat=True)
        .distinct()
    )
    expired = 0
    for workspace in WorkspaceModel.objects.filter(pk__in=list(workspace_ids)):
        today = now.astimezone(_zone(workspace)).date()
        while True:
            with transaction.atomic():
                due = list(
                    Quote.objects.for_workspace(workspace)
                    .filter(status=QuoteStatus.SENT, valid_until__lt=today)
                    .select_for_update()
                    .order_by("id")[:batch]
                )
                for quote in due:
                    quote.status = QuoteStatus.EXPIRED
                    quote.updated_at = now
                    quote.save(update_fields=["status", "updated_at"])
                    record_event(
                        workspace=workspace,
                        actor=None,
                        type="quote.expired",
                        subject=quote,
                        payload={
                            "deal_id": quote.deal_id,
                            "number": quote.number,
                            "valid_until": quote.valid_until.isoformat()
                            if quote.valid_until
                            else None,
                        },
                    )
            expired += len(due)
            if len(due) < batch:
                break
    return expired


# ---------------------------------------------------------------------------------------------
# The customer's answer


def _refuse_closed(quote: Quote, today: dt.date) -> None:
    if quote.status in (QuoteStatus.ACCEPTED, QuoteStatus.DECLINED):
        raise QuoteNotOpen(_("This quote has already been answered."), code="quote-answered")
    if quote.status == QuoteStatus.CANCELLED:
        raise QuoteNotOpen(_("This quote has been withdrawn."), code="quote-cancelled")
    if quote.status == QuoteStatus.EXPIRED or (
        quote.valid_until is not None and quote.valid_until < today
    ):
        raise QuoteNotOpen(_("This quote has expired."), code="quote-expired")
    if quote.status != QuoteStatus.SENT:
        raise QuoteNotOpen(_("This quote has not been sent."), code="quote-not-sent")


def quote_answer(
    *,
    workspace: Workspace,
    quote_id: int,
    public_key: str,
    accept: bool,
    signer_name: str = "",
    reason: str = "",
    ip: str | None = None,
) -> Quote:
    """The customer's answer through the quote's link (no user: the actor is the customer).

    Accepting needs the signer's name: the quote is accepted (`quote.accepted`), its deal won
    (`deal_close`), and an order placed from its lines (`order.placed`). Declining takes an
    optional reason: the quote is declined (`quote.declined`) and its deal lost with the
    reason "Quote declined", unless the deal has other open quotes. All in one transaction.

    A link whose key was replaced (the quote was sent again) answers NotFound; a quote
    already answered, expired, cancelled or not sent raises QuoteNotOpen naming which."""
    from vinculo.sales.deals.services import deal_close

    with transaction.atomic():
        quote = (
            Quote.objects.for_workspace(workspace)
            .filter(pk=quote_id, deleted_at__isnull=True)
            .select_related("deal", "contact", "account")
            .select_for_update(of=("self",))
            .first()
        )
        if (
            quote is None
            or not public_key
            or not secrets.compare_digest(quote.public_key, public_key)
        ):
            raise NotFound(_("There is no such quote."))
        _refuse_closed(quote, _today(workspace))
        errors = ErrorCollector()
        name = clean_text(errors, "name", signer_name, max_length=200, required=accept)
        why = "" if accept else clean_text(errors, "reason", reason, max_length=300)
        errors.raise_if_any()
        quote.status = QuoteStatus.ACCEPTED if accept else QuoteStatus.DECLINED
        quote.answered_at = timezone.now()
        quote.answered_by_name = name
        quote.answered_ip = ip or None
        quote.decline_reason = why
        quote.updated_at = quote.answered_at
        quote.save()
        deal = quote.deal
        if accept:
            record_event(
                workspace=workspace,
                actor=None,
                type="quote.accepted",
                subject=quote,
                payload={
                    "deal_id": deal.pk,
                    "number": quote.number,
                    "signer": name,
                    "total": _money(quote.total),
                    "currency": quote.currency,
                },
            )
            if deal.deleted_at is None and deal.status != DealStatus.WON:
                deal_close(workspace=workspace, actor=None, deal_id=deal.pk, won=True)
            _order_from_quote(quote)
        else:
            record_event(
                workspace=workspace,
                actor=None,
                type="quote.declined",
                subject=quote,
                payload={"deal_id": deal.pk, "number": quote.number, "reason": why},
            )
            others_open = (
                Quote.objects.for_workspace(workspace)
                .filter(deal=deal, status__in=OPEN_QUOTE_STATUSES, deleted_at__isnull=True)
                .exclude(pk=quote.pk)
                .exists()
            )
            if deal.deleted_at is None and deal.status == DealStatus.OPEN and not others_open:
                deal_close(
                    workspace=workspace,
                    actor=None,
                    deal_id=deal.pk,
                    won=False,
                    lost_reason=DECLINED_REASON,
                )
    return quote


# ---------------------------------------------------------------------------------------------
# Orders


def _order_payload(order: Order) -> dict[str, Any]:
    return {
        "number": order.number,
        "channel": order.channel,
        "contact_id": order.contact_id,
        "account_id": order.account_id,
        "deal_id": order.deal_id,
        "quote_id": order.quote_id,
        "total": _money(order.total),
        "currency": order.currency,
        "ordered_at": order.ordered_at.isoformat(),
    }


def _order_from_quote(quote: Quote) -> Order:
    workspace = quote.workspace
    deal = quote.deal
    contact = quote.contact
    order = Order(
        workspace=workspace,
        number=_take_number(workspace, kind="order"),
        channel=OrderChannel.QUOTE,
        ordered_at=quote.answered_at or timezone.now(),
        contact=contact,
        account=quote.account or (contact.account if contact is not None else None),
        deal=deal,
        quote=quote,
        owner_id=deal.owner_id,
        currency=quote.currency,
        subtotal=quote.subtotal,
        discount_total=quote.discount_total,
        tax_total=quote.tax_total,
        total=quote.total,
    )
    order.save()
    OrderLine.objects.for_workspace(workspace).bulk_create(
        [
            OrderLine(
                workspace=workspace,
                order=order,
                product_id=line.product_id,
                description=line.description,
                quantity=line.quantity,
                unit_price=line.unit_price,
                discount_percent=line.discount_percent,
                tax_rate=line.tax_rate,
                line_total=line.line_total,
                position=i,
            )
            for i, line in enumerate(_lines(quote))
        ]
    )
    record_event(
        workspace=workspace,
        actor=None,
        type="order.placed",
        subject=order,
        payload=_order_payload(order),
    )
    return order


@dataclass(frozen=True)
class OrderResult:
    order: Order
    created: bool


def _clean_order(
    errors: ErrorCollector,
    data: Mapping[str, Any],
    *,
    workspace: Workspace,
    actor: User | None,
) -> dict[str, Any]:
    from vinculo.core.models import Membership

    reject_unknown(errors, data, ORDER_FIELDS)
    cleaned: dict[str, Any] = {}
    cleaned["external_id"] = clean_text(
        errors, "external_id", data.get("external_id"), max_length=100
    )
    channel = data.get("channel") or OrderChannel.API
    if channel not in OUTSIDE_CHANNELS:
        errors.add(
            "channel",
            "invalid-choice",
            _("Must be one of: %(choices)s.") % {"choices": ", ".join(OUTSIDE_CHANNELS)},
        )
    cleaned["channel"] = channel
    cleaned["ordered_at"] = clean_moment(
        errors, "ordered_at", data.get("ordered_at"), zone=_zone(workspace)
    )
    cleaned["contact"] = clean_contact(
        errors, "contact_id", data.get("contact_id"), workspace=workspace, actor=actor
    )
    cleaned["account"] = clean_account(
        errors, "account_id", data.get("account_id"), workspace=workspace, actor=actor
    )
    if data.get("contact_id") in (None, "") and data.get("account_id") in (None, ""):
        errors.add("contact_id", "required", _("Give the contact or the account who bought."))
    owner_id = clean_id(errors, "owner_id", data.get("owner_id"))
    cleaned["owner_id"] = None
    if owner_id is not None:
        member = (
            Membership.objects.for_workspace(workspace)
            .filter(user_id=owner_id, is_active=True)
            .exists()
        )
        if not member:
            errors.add(
                "owner_id",
                "not-a-member",
                _("User %(id)s is not an active member of this workspace.") % {"id": owner_id},
            )
        cleaned["owner_id"] = owner_id
    elif actor is not None and actor.pk:
        cleaned["owner_id"] = actor.pk
    cleaned["currency"] = clean_currency(errors, "currency", data.get("currency"))
    raw_lines = data.get("lines")
    if raw_lines is None or raw_lines == []:
        errors.add("lines", "required", _("An order needs at least one line."))
        cleaned["lines"] = []
    else:
        cleaned["lines"] = _clean_new_lines(errors, raw_lines, workspace=workspace, price_list=None)
    return cleaned


def _order_for_update(*, workspace: Workspace, actor: User | None, order_id: Any) -> Order:
    pk = order_id if isinstance(order_id, int) and 0 < order_id < 2**63 else 0
    qs = visible(
        Order.objects.for_workspace(workspace), workspace=workspace, viewer=actor, module=MODULE
    )
    order = qs.filter(pk=pk).select_for_update(of=("self",)).first()
    if order is None:
        raise NotFound(_("There is no such order."))
    return order


def order_upsert(
    *,
    workspace: Workspace,
    actor: User | None,
    data: Mapping[str, Any],
    source: str = "api",
) -> OrderResult:
    """Create an order from the API or an import, or update the one with the same
    `external_id` (its header and lines are replaced: sending an order twice never makes two).

    `data`: `external_id`, `channel` (not "quote"; default "api"), `ordered_at` (default now),
    `contact_id` and/or `account_id` (one is required; the contact's account is used when no
    account is given), `owner_id` (default: the actor), `currency` (default: the workspace's)
    and `lines` (at least one; fields as quote lines). A new order gets the next order number
    and records `order.placed`; an update records `order.updated`."""
    require(workspace=workspace, user=actor, module=MODULE, right=Right.CREATE)
    errors = ErrorCollector()
    cleaned = _clean_order(errors, data, workspace=workspace, actor=actor)
    errors.raise_if_any()
    contact = cleaned["contact"]
    account = cleaned["account"] or (contact.account if contact is not None else None)
    lines = cleaned["lines"]
    with transaction.atomic():
        existing = None
        if cleaned["external_id"]:
            existing = (
                Order.objects.for_workspace(workspace)
                .filter(external_id=cleaned["external_id"], quote__isnull=True)
                .select_for_update(of=("self",))
                .order_by("id")
                .first()
            )
            if existing is not None:
                # Matched only among orders the actor may see: another's is not overwritten.
                visible_match = visible(
                    Order.objects.for_workspace(workspace).filter(pk=existing.pk),
                    workspace=workspace,
                    viewer=actor,
                    module=MODULE,
                ).exists()
                if not visible_match:
                    raise Conflict(
                        _("An order with this external id exists and you may not change it."),
                        code="order-not-visible",
                    )
                if actor is not None:
                    require(workspace=workspace, user=actor, module=MODULE, right=Right.EDIT)
        order = existing or Order(
            workspace=workspace,
            number=_take_number(workspace, kind="order"),
            created_by=actor if actor is not None and actor.pk else None,
        )
        before = _order_payload(order) if existing is not None else None
        order.channel = cleaned["channel"]
        order.ordered_at = cleaned["ordered_at"] or (
            order.ordered_at if existing is not None else timezone.now()
        )
        order.contact = contact
        order.account = account
        order.owner_id = cleaned["owner_id"] if cleaned["owner_id"] else order.owner_id
        order.currency = cleaned["currency"] or workspace.currency
        order.external_id = cleaned["external_id"]
        rows = [
            OrderLine(workspace=workspace, position=i, **values) for i, values in enumerate(lines)
        ]
        for row in rows:
            row.line_total = amounts_of(row).net
        for name, value in document_totals(rows).as_dict().items():
            setattr(order, name, value)
        order.save()
        if existing is not None:
            OrderLine.objects.for_workspace(workspace).filter(order=order).delete()
        for row in rows:
            row.order = order
        OrderLine.objects.for_workspace(workspace).bulk_create(rows)
        payload = {**_order_payload(order), "source": source}
        if existing is None:
            record_event(
                workspace=workspace,
                actor=actor,
                type="order.placed",
                subject=order,
                payload=payload,
            )
        else:
            assert before is not None
            after = _order_payload(order)
            changes = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
            record_event(
                workspace=workspace,
                actor=actor,
                type="order.updated",
                subject=order,
                payload={**payload, "changes": changes, "lines": len(rows)},
            )
    return OrderResult(order=order, created=existing is None)


def order_create(
    *, workspace: Workspace, actor: User | None, data: Mapping[str, Any], source: str = "api"
) -> Order:
    """`order_upsert` for callers that need only the order."""
    return order_upsert(workspace=workspace, actor=actor, data=data, source=source).order


def order_cancel(*, workspace: Workspace, actor: User | None, order_id: int) -> Order:
    """Cancel a placed order: it stays in the history, marked cancelled, and no longer counts
    in what the customer bought. Records `order.cancelled` (cancelling twice is a no-op)."""
    require(workspace=workspace, user=actor, module=MODULE, right=Right.EDIT)
    with transaction.atomic():
        order = _order_for_update(workspace=workspace, actor=actor, order_id=order_id)
        if order.status == OrderStatus.CANCELLED:
            return order
        order.status = OrderStatus.CANCELLED
        order.save(update_fields=["status"])
        record_event(
            workspace=workspace,
            actor=actor,
            type="order.cancelled",
            subject=order,
            payload=_order_payload(order),
        )
    return order
