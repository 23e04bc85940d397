"""Fixtures of the scoring tests. Leads, pipelines and deals are made with the ORM directly, so
these tests depend on the sales models and the automation condition tree, not on the leads and
deals services."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest

from vinculo.core.models import Workspace
from vinculo.sales.models import (
    Deal,
    DealStatus,
    Lead,
    LeadStatus,
    Pipeline,
    ScoringRule,
    Stage,
    StageKind,
)

_seq = itertools.count(1)


@pytest.fixture
def lead_factory(workspace: Workspace) -> Callable[..., Lead]:
    def make(ws: Workspace | None = None, **fields: Any) -> Lead:
        ws = ws or workspace
        n = next(_seq)
        fields.setdefault("first_name", f"Lead{n}")
        fields.setdefault("email", f"lead{n}@empresa{n}.com.br")
        return Lead.objects.for_workspace(ws).create(workspace=ws, **fields)

    return make


@pytest.fixture
def rule_factory(workspace: Workspace) -> Callable[..., ScoringRule]:
    def make(ws: Workspace | None = None, **fields: Any) -> ScoringRule:
        ws = ws or workspace
        fields.setdefault("name", f"Rule {next(_seq)}")
        fields.setdefault("kind", "fit")
        fields.setdefault("points", 10)
        return ScoringRule.objects.for_workspace(ws).create(workspace=ws, **fields)

    return make


@pytest.fixture
def pipeline(workspace: Workspace) -> dict[str, Any]:
    pipe = Pipeline.objects.for_workspace(workspace).create(
        workspace=workspace, name="Sales", is_default=True
    )
    stages = {}
    for position, (name, kind) in enumerate(
        [("New", StageKind.OPEN), ("Won", StageKind.WON), ("Lost", StageKind.LOST)]
    ):
        stages[kind] = Stage.objects.for_workspace(workspace).create(
            workspace=workspace, pipeline=pipe, name=name, position=position, kind=kind
        )
    return {"pipeline": pipe, "stages": stages}


@pytest.fixture
def close_lead(workspace: Workspace, pipeline: dict[str, Any]) -> Callable[..., Deal | None]:
    """Give a lead its outcome as the sales flow would: won or lost through a converted deal,
    or disqualified."""

    def close(lead: Lead, outcome: str, *, via: str = "converted") -> Deal | None:
        if outcome == "disqualified":
            lead.status = LeadStatus.DISQUALIFIED
            lead.save(update_fields=["status"])
            return None
        status = DealStatus.WON if outcome == "won" else DealStatus.LOST
        kind = StageKind.WON if outcome == "won" else StageKind.LOST
        deal = Deal.objects.for_workspace(workspace).create(
            workspace=workspace,
            name=f"Deal of {lead}",
            pipeline=pipeline["pipeline"],
            stage=pipeline["stages"][kind],
            status=status,
            lead=lead if via == "deal" else None,
        )
        if via == "converted":
            lead.status = LeadStatus.CONVERTED
            lead.converted_deal = deal
            lead.save(update_fields=["status", "converted_deal"])
        return deal

    return close


def problem_fields(response: Any) -> dict[str, str]:
    return {e["field"]: e["code"] for e in response.json()["errors"]}
