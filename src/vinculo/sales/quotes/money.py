"""The arithmetic of quote and order lines, in Decimal, rounded half up to cents.

A line: gross = quantity × unit price; discount = gross × discount %; net = gross − discount;
tax = net × tax rate %. Each of the three amounts is rounded to the cent on its own line (what
a printed quote shows per line must add up to its totals). The line's `line_total` is its net
amount, before tax. A document: subtotal = Σ gross, discount_total = Σ discount, tax_total =
Σ tax, total = subtotal − discount_total + tax_total.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Protocol

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
HUNDRED = Decimal(100)


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


class PricedLine(Protocol):
    quantity: Decimal
    unit_price: Decimal
    discount_percent: Decimal
    tax_rate: Decimal


@dataclass(frozen=True)
class LineAmounts:
    gross: Decimal
    discount: Decimal
    net: Decimal
    tax: Decimal

    @property
    def total(self) -> Decimal:
        return self.net + self.tax


@dataclass(frozen=True)
class Totals:
    subtotal: Decimal
    discount_total: Decimal
    tax_total: Decimal
    total: Decimal

    def as_dict(self) -> dict[str, Decimal]:
        return {
            "subtotal": self.subtotal,
            "discount_total": self.discount_total,
            "tax_total": self.tax_total,
            "total": self.total,
        }


def line_amounts(
    *, quantity: Decimal, unit_price: Decimal, discount_percent: Decimal, tax_rate: Decimal
) -> LineAmounts:
    gross = cents(Decimal(quantity) * Decimal(unit_price))
    discount = cents(gross * Decimal(discount_percent) / HUNDRED)
    net = gross - discount
    tax = cents(net * Decimal(tax_rate) / HUNDRED)
    return LineAmounts(gross=gross, discount=discount, net=net, tax=tax)


def amounts_of(line: PricedLine) -> LineAmounts:
    return line_amounts(
        quantity=line.quantity,
        unit_price=line.unit_price,
        discount_percent=line.discount_percent,
        tax_rate=line.tax_rate,
    )


def document_totals(lines: Iterable[PricedLine]) -> Totals:
    subtotal = discount = tax = ZERO
    for line in lines:
        amounts = amounts_of(line)
        subtotal += amounts.gross
        discount += amounts.discount
        tax += amounts.tax
    return Totals(
        subtotal=subtotal,
        discount_total=discount,
        tax_total=tax,
        total=subtotal - discount + tax,
    )
