"""API shapes of automation. Inputs are loose on purpose (plain strings for the trigger and
schedule, plain objects for conditions and actions): the services validate them and report
every problem at once, each naming its place (`conditions.all[1].field`, `actions[0].team_id`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Field, Schema

from vinculo.automation.models import RunStatus, Schedule
from vinculo.core.schemas import InputSchema, PatchSchema


class RuleIn(InputSchema):
    name: str
    trigger: str = Field(description="An event type from /automation/triggers.")
    description: str = ""
    is_active: bool = True
    schedule: str = Field(
        "",
        description="Empty: on each event; hourly/daily: over every record on a schedule.",
        json_schema_extra={"enum": list(Schedule.values)},
    )
    group: str = ""
    position: int | None = Field(None, description="Place in the group; the end if left out.")
    stop_after_match: bool = False
    conditions: dict[str, Any] = Field(
        default_factory=dict,
        description='{"all"|"any": [{"field", "op", "value"} | group, …]}; empty: always.',
    )
    actions: list[dict[str, Any]] = Field(
        default_factory=list, description='Ordered [{"type": "assign", …parameters}, …].'
    )


class RulePatch(PatchSchema):
    name: str | None = None
    trigger: str | None = None
    description: str | None = None
    is_active: bool | None = None
    schedule: str | None = None
    group: str | None = None
    position: int | None = None
    stop_after_match: bool | None = None
    conditions: dict[str, Any] | None = None
    actions: list[dict[str, Any]] | None = None


class RuleOut(Schema):
    id: int
    name: str
    description: str
    is_active: bool
    trigger: str
    schedule: str
    group: str
    position: int
    stop_after_match: bool
    conditions: dict[str, Any]
    actions: list[dict[str, Any]]
    run_count: int
    last_run_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime
    deleted_at: dt.datetime | None


class RulePage(Schema):
    items: list[RuleOut]
    next_cursor: str | None


class RuleQuery(Schema):
    limit: int = Field(50, ge=1, le=200)
    cursor: str | None = None
    trigger: str | None = None
    deleted: bool = Field(False, description="List the deleted rules instead.")


class ReorderIn(InputSchema):
    rule_ids: list[int] = Field(description="Every rule of one group, in the new order.")


class RuleRunOut(Schema):
    id: int
    rule_id: int
    event_id: int | None
    subject_type: str
    subject_id: int
    subject_name: str | None
    status: str = Field(json_schema_extra={"enum": list(RunStatus.values)})
    depth: int
    action_log: list[dict[str, Any]]
    error: str
    started_at: dt.datetime
    finished_at: dt.datetime | None

    @staticmethod
    def resolve_subject_name(obj: Any) -> str | None:
        subject = getattr(obj, "subject", None)
        return str(subject) if subject is not None else None


class RuleRunPage(Schema):
    items: list[RuleRunOut]
    next_cursor: str | None


class RunQuery(Schema):
    limit: int = Field(50, ge=1, le=200)
    cursor: str | None = None
    status: str | None = Field(
        None, json_schema_extra={"enum": ["matched", "not_matched", "failed"]}
    )


class FieldOut(Schema):
    name: str
    label: str
    kind: str
    choices: list[list[str]]
    settable: bool


class TriggerOut(Schema):
    event_type: str
    label: str
    subject_type: str
    fields: list[FieldOut]


class TriggerPage(Schema):
    items: list[TriggerOut]
    next_cursor: str | None


class ActionTypeOut(Schema):
    type: str
    label: str
