"""API shapes of forecasts, quotas, pipeline analytics and stalled deals.

Money is a decimal string ("12500.00") in the workspace currency, so no amount loses a cent on
its way through JSON. Inputs are loose on purpose (ids and dates as given): the services check
them and report every bad field at once.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from ninja import Field, Schema

from vinculo.analytics.sales_metrics import Period


class PeriodOut(Schema):
    key: str = Field(description="Pass back as `period` to ask for the same period.")
    kind: str
    start: dt.date
    end: dt.date
    time_zone: str

    @staticmethod
    def of(period: Period) -> dict[str, Any]:
        return {
            "key": period.key,
            "kind": period.kind,
            "start": period.start,
            "end": period.end,
            "time_zone": period.time_zone,
        }


class Ref(Schema):
    id: int
    name: str


# ---------------------------------------------------------------------------------------------
# Forecast


class ForecastQuery(Schema):
    period: str = Field(
        "",
        description="YYYY-MM, YYYY-Qn, YYYY or YYYY-MM-DD..YYYY-MM-DD; the current month if blank.",
    )
    group: Literal["owner", "team"] = "owner"


class ForecastLineOut(Schema):
    id: int | None = Field(description="The user (group=owner) or team (group=team); null: none.")
    name: str
    pipeline: Decimal
    best_case: Decimal
    commit: Decimal
    closed: Decimal = Field(description="Amount won in the period.")
    weighted: Decimal = Field(
        description="Σ amount × stage probability of the open deals expected to close."
    )
    open_deals: int
    won_deals: int
    quota: Decimal | None
    attainment: float | None = Field(description="closed ÷ quota (1.0 = on target).")

    @staticmethod
    def resolve_id(obj: Any) -> int | None:
        return obj.key


class ForecastOut(Schema):
    period: PeriodOut
    group: str
    currency: str
    rows: list[ForecastLineOut]
    totals: ForecastLineOut
    other_currency_deals: int = Field(
        description="Deals in another currency, left out of the sums (no exchange rates)."
    )

    @staticmethod
    def resolve_period(obj: Any) -> dict[str, Any]:
        return PeriodOut.of(obj.period)


# ---------------------------------------------------------------------------------------------
# Quotas


class QuotaIn(Schema):
    user_id: int | None = Field(None, description="A person of the workspace (or team_id).")
    team_id: int | None = Field(None, description="A team of the workspace (or user_id).")
    period_start: Any = Field(None, description="YYYY-MM-DD, included.")
    period_end: Any = Field(None, description="YYYY-MM-DD, included; not before the start.")
    amount: Any = Field(None, description="The target, more than zero.")
    currency: str = Field("", description="ISO 4217; the workspace currency if blank.")


class QuotaPatch(Schema):
    user_id: int | None = None
    team_id: int | None = None
    period_start: Any = None
    period_end: Any = None
    amount: Any = None
    currency: str | None = None


class QuotaOut(Schema):
    id: int
    user: Ref | None
    team: Ref | None
    period_start: dt.date
    period_end: dt.date
    amount: Decimal
    currency: str
    created_at: dt.datetime

    @staticmethod
    def resolve_user(obj: Any) -> dict[str, Any] | None:
        if obj.user_id is None:
            return None
        return {"id": obj.user_id, "name": obj.user.display_name}


class QuotaQuery(Schema):
    limit: int = Field(50, ge=1, le=200)
    cursor: str | None = None
    user_id: int | None = None
    team_id: int | None = None
    period: str = Field("", description="Only quotas overlapping this period.")


class QuotaPage(Schema):
    items: list[QuotaOut]
    next_cursor: str | None


# ---------------------------------------------------------------------------------------------
# Pipeline analytics


class AnalyticsQuery(Schema):
    pipeline: int | None = Field(None, description="A pipeline id; the default one if left out.")
    period: str = Field("", description="As for the forecast; the current quarter if blank.")


class StageDurationOut(Schema):
    stage_id: int
    name: str
    stays: int
    median_days: float | None
    mean_days: float | None


class StageConversionOut(Schema):
    stage_id: int
    name: str
    entered: int
    advanced: int = Field(description="Went on to a later stage (won included).")
    won: int
    advance_rate: float | None
    win_rate: float | None


class CycleOut(Schema):
    won: int
    median_days: float | None
    mean_days: float | None


class CloseRateOut(Schema):
    won: int
    lost: int
    rate: float | None


class LeadConversionOut(Schema):
    created: int
    won: int
    rate: float | None


class PipelineAnalyticsOut(Schema):
    pipeline: Ref | None
    period: PeriodOut
    stage_durations: list[StageDurationOut]
    stage_conversion: list[StageConversionOut]
    sales_cycle: CycleOut
    close_rate: CloseRateOut
    lead_conversion: LeadConversionOut

    @staticmethod
    def resolve_period(obj: Any) -> dict[str, Any]:
        return PeriodOut.of(obj.period)

    @staticmethod
    def resolve_sales_cycle(obj: Any) -> Any:
        return obj.cycle

    @staticmethod
    def resolve_close_rate(obj: Any) -> Any:
        return obj.close

    @staticmethod
    def resolve_lead_conversion(obj: Any) -> Any:
        return obj.leads


# ---------------------------------------------------------------------------------------------
# Stalled deals


class StalledQuery(Schema):
    limit: int = Field(50, ge=1, le=200)
    cursor: str | None = None
    pipeline_id: int | None = None
    owner_id: int | None = None
    reason: Literal["inactive", "slow_stage"] | None = None


class StalledDealOut(Schema):
    id: int
    name: str
    amount: Decimal
    currency: str
    expected_close_date: dt.date | None
    owner: Ref | None
    pipeline: Ref
    stage: Ref
    reasons: list[str] = Field(description="inactive and/or slow_stage.")
    last_activity_at: dt.datetime
    days_inactive: int
    days_in_stage: int
    stage_median_days: float | None
    stalled_notified_at: dt.datetime | None

    @staticmethod
    def resolve_owner(obj: Any) -> dict[str, Any] | None:
        if obj.owner_id is None:
            return None
        return {"id": obj.owner_id, "name": obj.owner.display_name}

    @staticmethod
    def resolve_reasons(obj: Any) -> list[str]:
        return list(obj.stalled.reasons)

    @staticmethod
    def resolve_last_activity_at(obj: Any) -> dt.datetime:
        return obj.stalled.last_activity_at

    @staticmethod
    def resolve_days_inactive(obj: Any) -> int:
        return obj.stalled.days_inactive

    @staticmethod
    def resolve_days_in_stage(obj: Any) -> int:
        return obj.stalled.days_in_stage

    @staticmethod
    def resolve_stage_median_days(obj: Any) -> float | None:
        return obj.stalled.stage_median_days


class StalledPage(Schema):
    items: list[StalledDealOut]
    next_cursor: str | None
