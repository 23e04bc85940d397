"""Reads of sales scoring: the rules, a lead's score with its reasons and prediction, the
current predictive models, and the progress of a recompute.

Rules are workspace configuration: anyone who may view leads may read them. A lead's score is
read through the lead's own visibility (`core.access.visible`, module "leads").
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vinculo.analytics import lead_scoring
from vinculo.analytics.models import LeadScoringModel
from vinculo.core.access import can, visible
from vinculo.core.exceptions import FieldError, NotFound, ValidationFailed
from vinculo.core.pagination import Page, keyset_page
from vinculo.core.roles import Right
from vinculo.sales.common import sales_settings_for
from vinculo.sales.models import Lead, ScoringRule, ScoringRuleKind
from vinculo.sales.scoring.points import reason_text, signed

if TYPE_CHECKING:
    from vinculo.core.models import User, Workspace

VIEW_MODULE = "leads"


def _may_view(workspace: Workspace, viewer: User | None) -> bool:
    return viewer is None or can(
        workspace=workspace, user=viewer, module=VIEW_MODULE, right=Right.VIEW
    )


def scoring_rule_list(
    *,
    workspace: Workspace,
    viewer: User | None,
    kind: str | None = None,
    order: str = "id",
    after: str | None = None,
    limit: int = 50,
) -> Page[ScoringRule]:
    """The workspace's rules (deleted ones left out). `order`: "id" (oldest first) or
    "points" (most points first)."""
    qs = ScoringRule.objects.for_workspace(workspace).filter(deleted_at__isnull=True)
    if not _may_view(workspace, viewer):
        qs = qs.none()
    if kind is not None:
        if kind not in ScoringRuleKind.values:
            raise ValidationFailed([FieldError("kind", "invalid-choice", "Use fit or engagement.")])
        qs = qs.filter(kind=kind)
    keys = ["-points", "id"] if order == "points" else ["id"]
    return keyset_page(qs, order=keys, after=after, limit=limit)


def scoring_rule_get(*, workspace: Workspace, viewer: User | None, rule_id: int) -> ScoringRule:
    rule = None
    if _may_view(workspace, viewer):
        rule = (
            ScoringRule.objects.for_workspace(workspace)
            .filter(pk=rule_id, deleted_at__isnull=True)
            .first()
        )
    if rule is None:
        raise NotFound(f"There is no scoring rule {rule_id}.")
    return rule


@dataclass(frozen=True)
class ModelSummary:
    id: int
    team_id: int | None
    team_name: str
    trained_at: dt.datetime
    won_count: int
    lost_count: int
    auc: float | None
    accuracy: float | None
    test_size: int | None

    @classmethod
    def of(cls, model: LeadScoringModel) -> ModelSummary:
        metrics = model.metrics or {}
        return cls(
            id=model.pk,
            team_id=model.team_id,
            team_name=model.team.name if model.team_id and model.team else "",
            trained_at=model.trained_at,
            won_count=model.won_count,
            lost_count=model.lost_count,
            auc=metrics.get("auc"),
            accuracy=metrics.get("accuracy"),
            test_size=metrics.get("test_size"),
        )

    @property
    def accuracy_percent(self) -> int | None:
        return round(self.accuracy * 100) if self.accuracy is not None else None


def current_model_summaries(*, workspace: Workspace, viewer: User | None) -> list[ModelSummary]:
    """The current models, the workspace-wide one first. One query."""
    if not _may_view(workspace, viewer):
        return []
    models = (
        LeadScoringModel.objects.for_workspace(workspace)
        .filter(is_current=True)
        .select_related("team")
        .defer("parameters")
        .order_by("team_id", "id")
    )
    summaries = [ModelSummary.of(m) for m in models]
    return sorted(summaries, key=lambda s: (s.team_id is not None, s.team_name, s.id))


@dataclass(frozen=True)
class LeadScore:
    lead: Lead
    score: int
    reasons: list[dict[str, Any]]
    predicted: int | None
    factors: list[dict[str, Any]]
    scored_at: dt.datetime | None
    model: ModelSummary | None

    @property
    def reason_lines(self) -> list[dict[str, Any]]:
        return [
            {**r, "text": reason_text(r), "signed": signed(int(r.get("points", 0)))}
            for r in self.reasons
        ]

    @property
    def factor_lines(self) -> list[dict[str, Any]]:
        return [
            {
                **f,
                "text": lead_scoring.factor_text(f),
                "effect": "raises" if f.get("weight", 0) > 0 else "lowers",
            }
            for f in self.factors
        ]


def lead_score_get(*, workspace: Workspace, viewer: User | None, lead_id: int) -> LeadScore:
    """A lead's score and reasons, its predicted chance with the top factors, and the model
    behind the prediction (its team's, or the workspace's). 404 for a lead the viewer may
    not see. Two queries."""
    qs = visible(
        Lead.objects.for_workspace(workspace),
        workspace=workspace,
        viewer=viewer,
        module=VIEW_MODULE,
    )
    lead = (
        qs.filter(pk=lead_id, deleted_at__isnull=True)
        .only(
            "id",
            "workspace_id",
            "owner_id",
            "team_id",
            "first_name",
            "last_name",
            "email",
            "company_name",
            "erased_at",
            "score",
            "score_reasons",
            "predicted_score",
            "predicted_factors",
            "scored_at",
        )
        .first()
    )
    if lead is None:
        raise NotFound(f"There is no lead {lead_id}.")
    model = None
    summaries = current_model_summaries(workspace=workspace, viewer=None)
    by_team = {s.team_id: s for s in summaries}
    if lead.predicted_score is not None:
        model = by_team.get(lead.team_id) or by_team.get(None)
    return LeadScore(
        lead=lead,
        score=lead.score,
        reasons=list(lead.score_reasons or []),
        predicted=lead.predicted_score,
        factors=list(lead.predicted_factors or []),
        scored_at=lead.scored_at,
        model=model,
    )


@dataclass(frozen=True)
class RecomputeProgress:
    """How far a recompute started at `since` has come."""

    rows_done: int
    total_rows: int
    since: dt.datetime

    @property
    def percent(self) -> int:
        if not self.total_rows:
            return 100
        return min(100, round(self.rows_done * 100 / self.total_rows))

    @property
    def is_active(self) -> bool:
        return self.rows_done < self.total_rows


def scores_recompute_progress(
    *, workspace: Workspace, viewer: User | None, since: dt.datetime
) -> RecomputeProgress:
    """Leads scored since `since` out of all the workspace's leads: the recompute writes
    `scored_at` chunk by chunk, so this moves while it runs, whichever process runs it."""
    leads = Lead.objects.for_workspace(workspace).filter(deleted_at__isnull=True)
    if not _may_view(workspace, viewer):
        leads = leads.none()
    total = leads.count()
    done = leads.filter(scored_at__gte=since).count()
    return RecomputeProgress(rows_done=min(done, total), total_rows=total, since=since)


def scoring_settings_get(*, workspace: Workspace, viewer: User | None) -> dict[str, Any]:
    return {"score_half_life_days": sales_settings_for(workspace).score_half_life_days}
