"""API shapes of sales scoring. Inputs stay loose (plain strings, any JSON for conditions): the
services validate them and report every bad field at once, as the pages get them."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from ninja import Field, Schema

from vinculo.sales.models import ScoringRuleKind

CONDITIONS_HELP = (
    'The automation condition tree on the lead: {"all": [...]} or {"any": [...]} of '
    '{"field", "op", "value"} leaves. Required for fit rules; optional for engagement '
    "rules (then only events of leads that match earn points)."
)


class RuleIn(Schema):
    name: str | None = None
    kind: str | None = Field(None, json_schema_extra={"enum": list(ScoringRuleKind.values)})
    points: Any = Field(None, description="Whole points, -1000 to 1000, not 0.")
    event_type: str = Field("", description="Engagement rules: the event that earns the points.")
    conditions: Any = Field(None, description=CONDITIONS_HELP)
    is_active: Any = True


class RulePatch(Schema):
    name: str | None = None
    kind: str | None = Field(None, json_schema_extra={"enum": list(ScoringRuleKind.values)})
    points: Any = None
    event_type: str | None = None
    conditions: Any = Field(None, description=CONDITIONS_HELP)
    is_active: Any = None


class RuleOut(Schema):
    id: int
    name: str
    kind: str
    points: int
    event_type: str
    conditions: dict[str, Any]
    is_active: bool
    created_at: dt.datetime


class RulePage(Schema):
    items: list[RuleOut]
    next_cursor: str | None


class RuleQuery(Schema):
    kind: str | None = Field(None, json_schema_extra={"enum": list(ScoringRuleKind.values)})
    order: Literal["id", "points"] = "id"
    limit: int = Field(50, ge=1, le=200)
    cursor: str | None = None


class ReasonOut(Schema):
    kind: str
    rule_id: int | None = None
    label: str
    points: int
    count: int | None = None
    text: str


class FactorOut(Schema):
    feature: str
    value: str
    weight: float = Field(..., description="Log-likelihood ratio: above 0 raises the chance.")
    effect: Literal["raises", "lowers"]
    text: str


class ModelOut(Schema):
    id: int
    team_id: int | None
    team_name: str
    trained_at: dt.datetime
    won_count: int
    lost_count: int
    auc: float | None
    accuracy: float | None
    test_size: int | None


class LeadScoreOut(Schema):
    lead_id: int
    score: int
    reasons: list[ReasonOut]
    predicted: int | None = Field(None, description="Predicted chance of winning, in percent.")
    factors: list[FactorOut]
    scored_at: dt.datetime | None
    model: ModelOut | None


class ModelList(Schema):
    items: list[ModelOut]


class ScoringSettingsIn(Schema):
    score_half_life_days: Any


class ScoringSettingsOut(Schema):
    score_half_life_days: int


class Started(Schema):
    status: Literal["queued"]
    task_id: str | None
    started_at: dt.datetime | None = None
    total: int | None = None
