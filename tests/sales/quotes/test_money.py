"""Line and document arithmetic against amounts worked out by hand."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal as D

from vinculo.sales.quotes.money import document_totals, line_amounts


@dataclass
class Line:
    quantity: D
    unit_price: D
    discount_percent: D = D(0)
    tax_rate: D = D(0)


def test_a_line_discounts_then_taxes():
    # 3 × 49.90 = 149.70; 10% off = 14.97 → 134.73; 10% tax = 13.473 → 13.47
    amounts = line_amounts(
        quantity=D(3), unit_price=D("49.90"), discount_percent=D(10), tax_rate=D(10)
    )
    assert (amounts.gross, amounts.discount, amounts.net, amounts.tax) == (
        D("149.70"),
        D("14.97"),
        D("134.73"),
        D("13.47"),
    )
    assert amounts.total == D("148.20")


def test_halves_round_up_not_to_even():
    # 0.5 × 0.05 = 0.025 → 0.03 (banker's rounding would give 0.02)
    assert line_amounts(
        quantity=D("0.5"), unit_price=D("0.05"), discount_percent=D(0), tax_rate=D(0)
    ).gross == D("0.03")
    # 12.5% of 1.00 = 0.125 → 0.13 off, net 0.87; 10% tax = 0.087 → 0.09
    amounts = line_amounts(
        quantity=D(1), unit_price=D("1.00"), discount_percent=D("12.5"), tax_rate=D(10)
    )
    assert (amounts.discount, amounts.net, amounts.tax) == (D("0.13"), D("0.87"), D("0.09"))


def test_fractional_quantities():
    # 2.125 h × 80.00 = 170.00; 0.333 × 10.00 = 3.33
    assert line_amounts(
        quantity=D("2.125"), unit_price=D("80.00"), discount_percent=D(0), tax_rate=D(0)
    ).gross == D("170.00")
    assert line_amounts(
        quantity=D("0.333"), unit_price=D("10.00"), discount_percent=D(0), tax_rate=D(0)
    ).gross == D("3.33")


def test_document_totals_add_the_rounded_lines():
    lines = [
        Line(D(3), D("49.90"), D(10), D(10)),  # 149.70 − 14.97 + 13.47
        Line(D(1), D("200.00")),  # 200.00
        Line(D("0.5"), D("0.05"), D(0), D("18")),  # 0.03; tax 0.0054 → 0.01
    ]
    totals = document_totals(lines)
    assert totals.subtotal == D("349.73")
    assert totals.discount_total == D("14.97")
    assert totals.tax_total == D("13.48")
    assert totals.total == D("348.24")


def test_no_lines_make_zero():
    totals = document_totals([])
    assert (totals.subtotal, totals.discount_total, totals.tax_total, totals.total) == (
        D("0.00"),
        D("0.00"),
        D("0.00"),
        D("0.00"),
    )


def test_full_discount_leaves_no_tax():
    amounts = line_amounts(
        quantity=D(2), unit_price=D("10.00"), discount_percent=D(100), tax_rate=D(20)
    )
    assert (amounts.net, amounts.tax, amounts.total) == (D("0.00"), D("0.00"), D("0.00"))
