"""What quotes and orders add to a person's data export: their orders (with lines) and the
quotes addressed to them. Registered through the area's wiring.

Orders and quotes point at the contact, which erasure anonymises; what a quote holds of the
person's own (the signer's name, the address they answered from, their reason) is blanked by
`quotes_erase_person`."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy

from vinculo.contacts.privacy.exporting import PersonContext, register_export_section
from vinculo.contacts.privacy.services import register_erasure
from vinculo.sales.models import Order, OrderLine, Quote, QuoteLine


def _lines(
    model: Any, workspace: Any, field: str, ids: list[int]
) -> dict[int, list[dict[str, Any]]]:
    found: dict[int, list[dict[str, Any]]] = {pk: [] for pk in ids}
    rows = (
        model.objects.for_workspace(workspace)
        .filter(**{f"{field}_id__in": ids})
        .order_by(f"{field}_id", "position", "id")
    )
    for line in rows:
        found[getattr(line, f"{field}_id")].append(
            {
                "description": line.description,
                "quantity": line.quantity,
                "unit_price": line.unit_price,
                "discount_percent": line.discount_percent,
                "tax_rate": line.tax_rate,
                "amount": line.line_total,
            }
        )
    return found


@register_export_section(
    "orders.json",
    description=gettext_lazy("What the person bought: their orders, with lines and totals."),
    order=60,
)
def orders_section(person: PersonContext) -> list[dict[str, Any]]:
    orders = list(
        Order.objects.for_workspace(person.workspace)
        .filter(contact_id=person.contact.pk)
        .order_by("ordered_at", "id")
    )
    lines = _lines(OrderLine, person.workspace, "order", [o.pk for o in orders])
    return [
        {
            "number": o.number,
            "status": o.status,
            "channel": o.channel,
            "ordered_at": o.ordered_at,
            "currency": o.currency,
            "subtotal": o.subtotal,
            "discount_total": o.discount_total,
            "tax_total": o.tax_total,
            "total": o.total,
            "external_id": o.external_id,
            "lines": lines[o.pk],
        }
        for o in orders
    ]


@register_export_section(
    "quotes.json",
    description=gettext_lazy(
        "Quotes addressed to the person, with their lines and how they were answered."
    ),
    order=61,
)
def quotes_section(person: PersonContext) -> list[dict[str, Any]]:
    quotes = list(
        Quote.objects.for_workspace(person.workspace)
        .filter(contact_id=person.contact.pk, deleted_at__isnull=True)
        .order_by("created_at", "id")
    )
    lines = _lines(QuoteLine, person.workspace, "quote", [q.pk for q in quotes])
    return [
        {
            "number": q.number,
            "title": q.title,
            "status": q.status,
            "currency": q.currency,
            "total": q.total,
            "valid_until": q.valid_until,
            "sent_at": q.sent_at,
            "answered_at": q.answered_at,
            "answered_by_name": q.answered_by_name,
            "answered_ip": q.answered_ip,
            "decline_reason": q.decline_reason,
            "terms": q.terms,
            "lines": lines[q.pk],
        }
        for q in quotes
    ]


@register_erasure
def quotes_erase_person(person: PersonContext) -> dict[str, int]:
    """Blank what the person left on the quotes they answered: the signer's name, the address
    they answered from and the reason they gave. Orders keep their amounts (bookkeeping) and
    point at the anonymised contact."""
    changed = (
        Quote.objects.for_workspace(person.workspace)
        .filter(contact_id=person.contact.pk)
        .exclude(answered_at=None)
        .update(answered_by_name="", answered_ip=None, decline_reason="")
    )
    return {"quotes": changed}
