"""The sales metrics of DESIGN §5 against cases worked out by hand.

Rows are written with the ORM at exact instants (not through the deals and leads services), so
each expected figure below can be checked with pencil and paper. The workspace lives in São
Paulo (UTC−3 all year since 2019): March 2025 runs from 2025-03-01T03:00Z to 2025-04-01T03:00Z.
"""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from typing import Any

import pytest

from vinculo.analytics.sales_metrics import (
    DaysBetween,
    Period,
    close_rate,
    lead_conversion,
    sales_cycle_length,
    stage_conversion,
    stage_durations,
)
from vinculo.core.models import User, Workspace
from vinculo.sales.models import (
    Deal,
    DealStageHistory,
    DealStatus,
    Lead,
    Pipeline,
    Stage,
    StageKind,
)

UTC = dt.UTC
SP = "America/Sao_Paulo"
MARCH = Period.month(2025, 3, time_zone=SP)
_seq = itertools.count(1)


def at(day: str, hour: float = 12) -> dt.datetime:
    """An instant in UTC: `at("2025-03-03", 12)` is 2025-03-03T12:00Z."""
    base = dt.datetime.fromisoformat(day).replace(tzinfo=UTC)
    return base + dt.timedelta(hours=hour)


class Sales:
    """A pipeline (New 10 %, Qualified 25 %, Proposal 50 %, Won, Lost) and its rows."""

    def __init__(self, workspace: Workspace, name: str = "Sales") -> None:
        self.ws = workspace
        self.pipeline = Pipeline.objects.for_workspace(workspace).create(
            workspace=workspace, name=name
        )
        self.new = self._stage("New", 0, 10)
        self.qualified = self._stage("Qualified", 1, 25)
        self.proposal = self._stage("Proposal", 2, 50)
        self.won = self._stage("Won", 3, 100, StageKind.WON)
        self.lost = self._stage("Lost", 4, 0, StageKind.LOST)

    def _stage(self, name: str, position: int, probability: int, kind: str = "open") -> Stage:
        return Stage.objects.for_workspace(self.ws).create(
            workspace=self.ws,
            pipeline=self.pipeline,
            name=name,
            position=position,
            probability=probability,
            kind=kind,
        )

    def deal(
        self,
        *,
        created: dt.datetime,
        closed: dt.datetime | None = None,
        status: str = DealStatus.OPEN,
        stage: Stage | None = None,
        **fields: Any,
    ) -> Deal:
        if stage is None:
            stage = {"won": self.won, "lost": self.lost}.get(status, self.new)
        return Deal.objects.for_workspace(self.ws).create(
            workspace=self.ws,
            name=f"Deal {next(_seq)}",
            pipeline=self.pipeline,
            stage=stage,
            status=status,
            created_at=created,
            closed_at=closed,
            **fields,
        )

    def path(self, deal: Deal, *steps: tuple[Stage, dt.datetime]) -> None:
        """The deal's stage history: it entered each stage at the instant given and left it
        when it entered the next (the last stay is still running)."""
        for i, (stage, entered) in enumerate(steps):
            left = steps[i + 1][1] if i + 1 < len(steps) else None
            DealStageHistory.objects.for_workspace(self.ws).create(
                workspace=self.ws, deal=deal, stage=stage, entered_at=entered, left_at=left
            )


@pytest.fixture
def sales(workspace: Workspace) -> Sales:
    workspace.time_zone = SP
    workspace.save(update_fields=["time_zone"])
    return Sales(workspace)


@pytest.fixture
def seller(make_member) -> User:
    return make_member("rita@acme.test")


# ---------------------------------------------------------------------------------------------
# Periods


def test_calendar_periods_and_their_bounds():
    assert (MARCH.start, MARCH.end, MARCH.days, MARCH.key) == (
        dt.date(2025, 3, 1),
        dt.date(2025, 3, 31),
        31,
        "2025-03",
    )
    # Midnight in São Paulo is 03:00 UTC.
    assert MARCH.start_at == at("2025-03-01", 3)
    assert MARCH.end_at == at("2025-04-01", 3)
    q1 = Period.quarter(2024, 1, time_zone=SP)
    assert (q1.start, q1.end, q1.days, q1.key) == (
        dt.date(2024, 1, 1),
        dt.date(2024, 3, 31),
        91,  # 2024 is a leap year
        "2024-Q1",
    )
    assert Period.year(2025).days == 365
    assert Period.containing(dt.date(2025, 11, 20), "quarter").key == "2025-Q4"


def test_periods_parse_back_from_their_key_and_move_by_their_kind():
    for text in ("2025-03", "2025-Q4", "2025", "2025-01-15..2025-02-14"):
        assert Period.parse(text, time_zone=SP).key == text
    assert Period.parse("2025-q2").start == dt.date(2025, 4, 1)
    assert Period.parse("2025-12").shift(1).key == "2026-01"
    assert Period.parse("2025-Q1").shift(-1).key == "2024-Q4"
    assert Period.parse("2025").shift(2).key == "2027"
    custom = Period.parse("2025-01-01..2025-01-10")
    assert custom.shift(1).key == "2025-01-11..2025-01-20"


@pytest.mark.parametrize(
    "text", ["", "2025-13", "2025-Q5", "25-03", "2025-03-31..2025-03-01", "march", "2025-02-30"]
)
def test_bad_period_text_is_refused(text):
    with pytest.raises(ValueError):
        Period.parse(text)


def test_the_current_period_is_read_in_the_workspace_time_zone():
    # 02:00 UTC on April 1st is still March 31st in São Paulo.
    assert Period.current("month", time_zone=SP, now=at("2025-04-01", 2)).key == "2025-03"
    assert Period.current("month", time_zone="UTC", now=at("2025-04-01", 2)).key == "2025-04"
    assert Period.current("quarter", time_zone=SP, now=at("2025-04-01", 2)).key == "2025-Q1"


def test_overlap_of_a_period_with_a_date_range():
    assert MARCH.overlap_days(dt.date(2025, 2, 20), dt.date(2025, 3, 5)) == 5
    assert MARCH.overlap_days(dt.date(2025, 1, 1), dt.date(2025, 12, 31)) == 31
    assert MARCH.overlap_days(dt.date(2025, 4, 1), dt.date(2025, 4, 30)) == 0


def test_days_between_is_computed_by_the_database(sales):
    deal = sales.deal(created=at("2025-03-01", 0), closed=at("2025-03-11", 6), status="won")
    days = (
        Deal.objects.for_workspace(sales.ws)
        .filter(pk=deal.pk)
        .annotate(d=DaysBetween("closed_at", "created_at"))
        .values_list("d", flat=True)
        .get()
    )
    assert days == pytest.approx(10.25)


# ---------------------------------------------------------------------------------------------
# Sales cycle length


@pytest.fixture
def march_closings(sales, seller, other_workspace):
    """Won in March (local time): 30, 10, 20.5 and 11 7/12 days after creation."""
    s = sales
    a = s.deal(created=at("2025-02-01"), closed=at("2025-03-03"), status="won", owner=seller)
    s.deal(created=at("2025-03-01"), closed=at("2025-03-11"), status="won")
    s.deal(created=at("2025-03-10", 0), closed=at("2025-03-30"), status="won", owner=seller)
    # 23:00 on March 31st in São Paulo: still March.
    s.deal(created=at("2025-03-20"), closed=at("2025-04-01", 2), status="won")
    # 23:00 on February 28th in São Paulo: not March.
    s.deal(created=at("2025-02-01"), closed=at("2025-03-01", 2), status="won")
    # Lost in March, open, won in April, and a deleted win: none is a March win.
    s.deal(created=at("2025-03-01"), closed=at("2025-03-15"), status="lost")
    s.deal(created=at("2025-03-02"), closed=at("2025-03-16"), status="lost", owner=seller)
    s.deal(created=at("2025-03-01"))
    s.deal(created=at("2025-03-01"), closed=at("2025-04-02"), status="won")
    s.deal(
        created=at("2025-03-01"),
        closed=at("2025-03-05"),
        status="won",
        deleted_at=at("2025-03-06"),
    )
    # Another pipeline of the same workspace, and another workspace.
    other = Sales(sales.ws, name="Renewals")
    other.deal(created=at("2025-03-01"), closed=at("2025-03-02"), status="won")
    theirs = Sales(other_workspace)
    theirs.deal(created=at("2025-01-01"), closed=at("2025-03-20"), status="won")
    return {"a": a, "renewals": other}


def test_sales_cycle_length_of_the_deals_won_in_the_period(sales, march_closings):
    cycle = sales_cycle_length(sales.ws, MARCH, pipeline=sales.pipeline)
    # Sorted: 10, 11.5833…, 20.5, 30 → median (11.5833 + 20.5) / 2, mean 72.0833 / 4.
    assert cycle.won == 4
    assert cycle.median_days == pytest.approx((11 + 7 / 12 + 20.5) / 2)
    assert cycle.mean_days == pytest.approx((30 + 10 + 20.5 + 11 + 7 / 12) / 4)


def test_sales_cycle_length_of_the_whole_workspace_counts_every_pipeline(sales, march_closings):
    cycle = sales_cycle_length(sales.ws, MARCH)
    # Sorted: 1, 10, 11.58, 20.5, 30 → the middle one.
    assert cycle.won == 5
    assert cycle.median_days == pytest.approx(11 + 7 / 12)


def test_sales_cycle_length_of_one_owner(sales, seller, march_closings):
    cycle = sales_cycle_length(sales.ws, MARCH, owner=seller)
    assert (cycle.won, cycle.median_days, cycle.mean_days) == (2, 25.25, 25.25)
    narrowed = Deal.objects.for_workspace(sales.ws).filter(pk=march_closings["a"].pk)
    assert sales_cycle_length(sales.ws, MARCH, deals=narrowed).median_days == pytest.approx(30)


def test_sales_cycle_length_without_wins(sales):
    cycle = sales_cycle_length(sales.ws, MARCH)
    assert (cycle.won, cycle.median_days, cycle.mean_days) == (0, None, None)


# ---------------------------------------------------------------------------------------------
# Close rate


def test_close_rate_is_won_over_won_and_lost_closed_in_the_period(sales, seller, march_closings):
    everything = close_rate(sales.ws, MARCH)
    assert (everything.won, everything.lost) == (5, 2)
    assert everything.rate == pytest.approx(5 / 7)
    pipeline = close_rate(sales.ws, MARCH, pipeline=sales.pipeline)
    assert (pipeline.won, pipeline.lost, pipeline.closed) == (4, 2, 6)
    assert pipeline.rate == pytest.approx(4 / 6)
    mine = close_rate(sales.ws, MARCH, owner=seller.pk)
    assert (mine.won, mine.lost, mine.rate) == (2, 1, pytest.approx(2 / 3))


def test_close_rate_without_closed_deals_is_unknown(sales):
    assert close_rate(sales.ws, MARCH).rate is None


# ---------------------------------------------------------------------------------------------
# Time in stage


NOW = at("2025-04-01", 0)


@pytest.fixture
def stays(sales):
    s = sales
    d1, d2, d3, d4 = (s.deal(created=at("2025-03-01")) for _ in range(4))
    # New: 2, 4 and 9 days, and a stay still running since March 30th (2 days by NOW).
    s.path(d1, (s.new, at("2025-03-01")), (s.qualified, at("2025-03-03")), (s.won, NOW))
    s.path(d2, (s.new, at("2025-03-01")), (s.qualified, at("2025-03-05")))
    s.path(d3, (s.new, at("2025-02-10")), (s.qualified, at("2025-02-19")))
    s.path(d4, (s.new, at("2025-03-30", 0)))
    # Qualified: d1 28.5 days (won at NOW), d2 26.5 days so far, d3 1 day (in February).
    DealStageHistory.objects.filter(deal=d3, stage=s.qualified).update(left_at=at("2025-02-20"))
    # A deleted deal's stays count nowhere.
    gone = s.deal(created=at("2025-03-01"), deleted_at=at("2025-03-02"))
    s.path(gone, (s.new, at("2025-03-01")), (s.qualified, at("2025-03-02")))
    return {"d1": d1, "d2": d2, "d3": d3, "d4": d4}


def test_median_days_in_each_open_stage_over_the_whole_history(sales, stays):
    rows = stage_durations(sales.ws, sales.pipeline, now=NOW)
    # Only open stages, in board order; running stays count their time so far.
    assert [r.name for r in rows] == ["New", "Qualified", "Proposal"]
    new, qualified, proposal = rows
    # New: 2, 2 (running), 4, 9.
    assert (new.stays, new.median_days, new.mean_days) == (4, 3.0, 4.25)
    # Qualified: 1, 26.5 (running), 28.5.
    assert (qualified.stays, qualified.median_days) == (3, pytest.approx(26.5))
    assert qualified.mean_days == pytest.approx((1 + 26.5 + 28.5) / 3)
    assert (proposal.stays, proposal.median_days, proposal.mean_days) == (0, None, None)


def test_median_days_in_stage_of_stays_that_began_in_the_period(sales, stays):
    new, qualified, _ = stage_durations(sales.ws, sales.pipeline, MARCH, now=NOW)
    # February's stays are left out: New 2, 2, 4 → 2; Qualified 26.5, 28.5 → 27.5.
    assert (new.stays, new.median_days) == (3, 2.0)
    assert new.mean_days == pytest.approx(8 / 3)
    assert (qualified.stays, qualified.median_days, qualified.mean_days) == (2, 27.5, 27.5)


def test_a_stay_of_hours_counts_in_fractions_of_a_day(sales):
    deal = sales.deal(created=at("2025-03-01"))
    sales.path(deal, (sales.new, at("2025-03-01", 0)), (sales.qualified, at("2025-03-01", 6)))
    [new, *_] = stage_durations(sales.ws, sales.pipeline, now=NOW)
    assert new.median_days == pytest.approx(0.25)


# ---------------------------------------------------------------------------------------------
# Stage-to-stage conversion


def test_stage_to_stage_conversion_of_the_deals_that_entered_each_stage(sales, other_workspace):
    s = sales

    def deal_through(*steps):
        deal = s.deal(created=steps[0][1])
        s.path(deal, *steps)
        return deal

    d = lambda day: at(f"2025-03-{day:02d}")  # noqa: E731
    deal_through((s.new, d(1)), (s.qualified, d(2)), (s.proposal, d(3)), (s.won, d(4)))
    deal_through((s.new, d(1)), (s.qualified, d(2)), (s.lost, d(3)))
    # Skipping a stage still counts as moving on from New.
    deal_through((s.new, d(1)), (s.proposal, d(2)), (s.lost, d(3)))
    deal_through((s.new, d(1)), (s.lost, d(2)))
    deal_through((s.new, d(1)))
    # Back from Qualified to New: it moved on from New, not from Qualified.
    deal_through((s.new, d(1)), (s.qualified, d(2)), (s.new, d(3)))
    # Entered New in February (not in March's New cohort), Qualified in March, won in April.
    deal_through((s.new, at("2025-02-20")), (s.qualified, d(5)), (s.won, at("2025-04-10")))
    # Entered in April: in no March cohort.
    deal_through((s.new, at("2025-04-02")), (s.qualified, at("2025-04-03")))
    # Another workspace's deals do not count.
    theirs = Sales(other_workspace)
    deal = theirs.deal(created=d(1))
    theirs.path(deal, (theirs.new, d(1)), (theirs.qualified, d(2)))

    rows = {r.name: r for r in stage_conversion(s.ws, s.pipeline, MARCH)}
    assert list(rows) == ["New", "Qualified", "Proposal"]
    new, qualified, proposal = rows["New"], rows["Qualified"], rows["Proposal"]
    assert (new.entered, new.advanced, new.won) == (6, 4, 1)
    assert new.advance_rate == pytest.approx(4 / 6)
    assert new.win_rate == pytest.approx(1 / 6)
    assert (qualified.entered, qualified.advanced, qualified.won) == (4, 2, 2)
    assert (proposal.entered, proposal.advanced, proposal.won) == (2, 1, 1)
    assert proposal.advance_rate == 0.5


def test_stage_conversion_of_an_empty_period(sales):
    rows = stage_conversion(sales.ws, sales.pipeline, MARCH)
    assert [(r.entered, r.advance_rate, r.win_rate) for r in rows] == [(0, None, None)] * 3


# ---------------------------------------------------------------------------------------------
# Lead conversion


def test_lead_conversion_counts_leads_of_the_period_whose_deal_was_won(sales, other_workspace):
    s = sales

    def lead(created: dt.datetime, deal_status: str | None = None, **fields: Any) -> Lead:
        deal = None
        if deal_status is not None:
            deal = s.deal(created=created, status=deal_status, closed=at("2025-05-01"))
        return Lead.objects.for_workspace(s.ws).create(
            workspace=s.ws,
            email=f"l{next(_seq)}@x.test",
            created_at=created,
            converted_deal=deal,
            **fields,
        )

    lead(at("2025-03-01", 3), "won")  # 00:00 local on March 1st: in March
    lead(at("2025-03-10"), "lost")
    lead(at("2025-03-11"), "open")
    lead(at("2025-03-31", 23))  # 20:00 local: still March; not converted
    lead(at("2025-03-01", 2), "won")  # 23:00 on February 28th local
    lead(at("2025-03-12"), "won", deleted_at=at("2025-03-13"))
    Lead.objects.for_workspace(other_workspace).create(
        workspace=other_workspace, email="x@y.test", created_at=at("2025-03-05")
    )

    result = lead_conversion(s.ws, MARCH)
    assert (result.created, result.won) == (4, 1)
    assert result.rate == 0.25


def test_lead_conversion_without_leads(sales):
    result = lead_conversion(sales.ws, MARCH)
    assert (result.created, result.won, result.rate) == (0, 0, None)


def test_money_is_not_part_of_the_counts(sales):
    # A big win weighs like any other win in close rate: rates count deals, not amounts.
    sales.deal(
        created=at("2025-03-01"), closed=at("2025-03-02"), status="won", amount=Decimal("1e9")
    )
    sales.deal(created=at("2025-03-01"), closed=at("2025-03-02"), status="lost")
    assert close_rate(sales.ws, MARCH).rate == 0.5
