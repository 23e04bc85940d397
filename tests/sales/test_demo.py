"""The demo's sales history: consistent with itself and with the rules the services keep."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

import pytest

from vinculo.contacts import demo
from vinculo.core.tenancy import workspace_scope
from vinculo.sales.models import (
    Deal,
    DealStageHistory,
    DealStatus,
    Lead,
    LeadStatus,
    Order,
    OrderChannel,
    Quote,
    QuoteStatus,
    SalesSettings,
    StageKind,
)

ANCHOR = date(2026, 6, 15)


@pytest.fixture
def loaded(db: None, settings: Any, tmp_path: Any) -> Any:
    settings.DATA_DIR = tmp_path
    result = demo.demo_load(slug="demo", contacts=600, seed=3, anchor=ANCHOR)
    with workspace_scope(result.workspace):
        yield result


def test_the_demo_has_two_years_of_leads_deals_quotes_and_orders(loaded):
    counts = loaded.counts
    assert counts["leads"] > 200
    assert counts["deals"] > 80
    assert counts["quotes"] > 20
    assert counts["orders"] > counts["quotes"] / 2
    first = Lead.objects.order_by("created_at").first()
    assert (ANCHOR - first.created_at.date()).days > 600
    statuses = set(Lead.objects.values_list("status", flat=True))
    assert {LeadStatus.CONVERTED, LeadStatus.DISQUALIFIED} <= statuses
    assert set(Deal.objects.values_list("status", flat=True)) == set(DealStatus.values)


def test_every_deal_sits_in_the_stage_its_open_stay_says(loaded):
    stays = defaultdict(list)
    for stay in DealStageHistory.objects.order_by("entered_at", "id"):
        stays[stay.deal_id].append(stay)
    for deal in Deal.objects.select_related("stage"):
        history = stays[deal.pk]
        assert history, deal
        assert [s.left_at for s in history[:-1]] == [s.entered_at for s in history[1:]]
        assert history[-1].left_at is None
        assert history[-1].stage_id == deal.stage_id
        assert deal.stage.pipeline_id == deal.pipeline_id
        kind = deal.stage.kind
        expected = {StageKind.WON: "won", StageKind.LOST: "lost"}.get(kind, "open")
        assert deal.status == expected
        assert (deal.closed_at is None) == (deal.status == DealStatus.OPEN)
        if deal.status == DealStatus.LOST:
            assert deal.lost_reason


def test_converted_leads_point_at_their_deal_and_the_deal_back(loaded):
    converted = Lead.objects.filter(status=LeadStatus.CONVERTED).select_related("converted_deal")
    assert converted.exists()
    for lead in converted:
        assert lead.converted_contact_id is not None
        assert lead.converted_deal.lead_id == lead.pk
        assert lead.converted_deal.contact_id == lead.converted_contact_id


def test_accepted_quotes_made_one_order_each_and_numbers_are_unique(loaded):
    accepted = Quote.objects.filter(status=QuoteStatus.ACCEPTED)
    assert accepted.exists()
    for quote in accepted.select_related("deal"):
        assert quote.deal.status == DealStatus.WON
        order = Order.objects.get(quote=quote)
        assert order.channel == OrderChannel.QUOTE
        assert order.total == quote.total
    numbers = list(Quote.objects.values_list("number", flat=True))
    assert len(numbers) == len(set(numbers))
    settings = SalesSettings.objects.get()
    assert settings.next_quote_number == len(numbers) + 1
    assert settings.next_order_number == Order.objects.count() + 1


def test_the_same_seed_gives_the_same_sales(db, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    one = demo.demo_load(slug="one", contacts=300, seed=5, anchor=ANCHOR)
    two = demo.demo_load(slug="two", contacts=300, seed=5, anchor=ANCHOR)

    def shape(ws: Any) -> list[tuple[Any, ...]]:
        return list(
            Deal.objects.for_workspace(ws)
            .order_by("created_at", "name")
            .values_list("name", "amount", "status", "created_at")
        )

    assert shape(one.workspace) == shape(two.workspace)
