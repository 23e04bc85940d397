"""REST endpoints of sales scoring: rules, a lead's score, the models, the half-life, and
starting a recompute or a training run in the background.

Handlers parse, call one service or selector and return; errors become problem responses in
`core.api_support`. A rule or lead of another workspace answers 404 like a missing one.
"""

from __future__ import annotations

from typing import Any, cast

from django.http import HttpRequest
from ninja import Query, Router, Status

from vinculo.core.models import User, Workspace
from vinculo.sales.scoring import selectors, services
from vinculo.sales.scoring.schemas import (
    LeadScoreOut,
    ModelList,
    RuleIn,
    RuleOut,
    RulePage,
    RulePatch,
    RuleQuery,
    ScoringSettingsIn,
    ScoringSettingsOut,
    Started,
)

router = Router(tags=["scoring"])


def _ws(request: HttpRequest) -> Workspace:
    return cast(Workspace, request.workspace)  # type: ignore[attr-defined]


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


@router.get("/scoring/rules", response=RulePage)
def rule_list(request: HttpRequest, query: Query[RuleQuery]) -> Any:
    return selectors.scoring_rule_list(
        workspace=_ws(request),
        viewer=_user(request),
        kind=query.kind,
        order=query.order,
        after=query.cursor,
        limit=query.limit,
    )


@router.post("/scoring/rules", response={201: RuleOut})
def rule_create(request: HttpRequest, body: RuleIn) -> Any:
    rule = services.scoring_rule_create(
        workspace=_ws(request), actor=_user(request), data=body.dict()
    )
    return Status(201, rule)


@router.get("/scoring/rules/{rule_id}", response=RuleOut)
def rule_get(request: HttpRequest, rule_id: int) -> Any:
    return selectors.scoring_rule_get(
        workspace=_ws(request), viewer=_user(request), rule_id=rule_id
    )


@router.patch("/scoring/rules/{rule_id}", response=RuleOut)
def rule_update(request: HttpRequest, rule_id: int, body: RulePatch) -> Any:
    return services.scoring_rule_update(
        workspace=_ws(request),
        actor=_user(request),
        rule_id=rule_id,
        data=body.dict(exclude_unset=True),
    )


@router.delete("/scoring/rules/{rule_id}", response={204: None})
def rule_delete(request: HttpRequest, rule_id: int) -> Any:
    services.scoring_rule_delete(workspace=_ws(request), actor=_user(request), rule_id=rule_id)
    return Status(204, None)


@router.get("/scoring/settings", response=ScoringSettingsOut)
def settings_get(request: HttpRequest) -> Any:
    return selectors.scoring_settings_get(workspace=_ws(request), viewer=_user(request))


@router.patch("/scoring/settings", response=ScoringSettingsOut)
def settings_update(request: HttpRequest, body: ScoringSettingsIn) -> Any:
    return services.scoring_settings_update(
        workspace=_ws(request), actor=_user(request), data=body.dict()
    )


@router.get("/scoring/models", response=ModelList)
def model_list(request: HttpRequest) -> Any:
    """The current predictive models (the workspace's and each team's) with their metrics."""
    items = selectors.current_model_summaries(workspace=_ws(request), viewer=_user(request))
    return {"items": items}


@router.post("/scoring/train", response={202: Started})
def train(request: HttpRequest) -> Any:
    """Retrain the predictive models from the won and lost history, then rescore the open
    leads, in the background."""
    task_id = services.lead_scoring_train_start(workspace=_ws(request), actor=_user(request))
    return Status(202, {"status": "queued", "task_id": task_id})


@router.post("/scoring/recompute", response={202: Started})
def recompute(request: HttpRequest) -> Any:
    """Recompute every lead's score in the background."""
    started = services.scores_recompute_start(workspace=_ws(request), actor=_user(request))
    return Status(
        202,
        {
            "status": "queued",
            "task_id": started.task_id,
            "started_at": started.started_at,
            "total": started.total,
        },
    )


@router.get("/leads/{lead_id}/score", response=LeadScoreOut)
def lead_score(request: HttpRequest, lead_id: int) -> Any:
    """The lead's rule score with its reasons, and its predicted chance of winning with the
    factors behind it and the model that predicted it."""
    data = selectors.lead_score_get(workspace=_ws(request), viewer=_user(request), lead_id=lead_id)
    return {
        "lead_id": data.lead.pk,
        "score": data.score,
        "reasons": data.reason_lines,
        "predicted": data.predicted,
        "factors": data.factor_lines,
        "scored_at": data.scored_at,
        "model": data.model,
    }
