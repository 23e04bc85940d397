"""REST endpoints of sales forecasts: the forecast, quotas, pipeline analytics and stalled deals.

Handlers parse, call one service or selector and return; errors become problem responses in
`core.api_support`. A quota of another workspace answers 404 exactly like a missing one.
"""

from __future__ import annotations

from typing import Any, cast

from django.http import HttpRequest
from ninja import Query, Router, Status

from vinculo.core.models import User, Workspace
from vinculo.sales.forecasts import selectors, services
from vinculo.sales.forecasts.schemas import (
    AnalyticsQuery,
    ForecastOut,
    ForecastQuery,
    PipelineAnalyticsOut,
    QuotaIn,
    QuotaOut,
    QuotaPage,
    QuotaPatch,
    QuotaQuery,
    StalledPage,
    StalledQuery,
)

router = Router(tags=["forecasts"])


def _ws(request: HttpRequest) -> Workspace:
    return cast(Workspace, request.workspace)  # type: ignore[attr-defined]


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


@router.get("/forecast", response=ForecastOut)
def forecast(request: HttpRequest, query: Query[ForecastQuery]) -> Any:
    """Per owner or team: the forecast categories, weighted pipeline, closed, quota and
    attainment of the period, with totals."""
    workspace = _ws(request)
    period = selectors.workspace_period(workspace, query.period)
    return selectors.forecast(
        workspace=workspace, viewer=_user(request), period=period, group=query.group
    )


# ---------------------------------------------------------------------------------------------
# Quotas


@router.get("/quotas", response=QuotaPage)
def quota_list(request: HttpRequest, query: Query[QuotaQuery]) -> Any:
    workspace = _ws(request)
    period = selectors.workspace_period(workspace, query.period) if query.period else None
    return selectors.quota_list(
        workspace=workspace,
        viewer=_user(request),
        filters=selectors.QuotaFilters(user_id=query.user_id, team_id=query.team_id, period=period),
        after=query.cursor,
        limit=query.limit,
    )


@router.post("/quotas", response={201: QuotaOut})
def quota_create(request: HttpRequest, body: QuotaIn) -> Any:
    quota = services.quota_create(
        workspace=_ws(request), actor=_user(request), data=body.dict(exclude_unset=True)
    )
    return Status(201, selectors.quota_get(workspace=_ws(request), viewer=None, quota_id=quota.pk))


@router.get("/quotas/{quota_id}", response=QuotaOut)
def quota_get(request: HttpRequest, quota_id: int) -> Any:
    return selectors.quota_get(workspace=_ws(request), viewer=_user(request), quota_id=quota_id)


@router.patch("/quotas/{quota_id}", response=QuotaOut)
def quota_update(request: HttpRequest, quota_id: int, body: QuotaPatch) -> Any:
    services.quota_update(
        workspace=_ws(request),
        actor=_user(request),
        quota_id=quota_id,
        data=body.dict(exclude_unset=True),
    )
    return selectors.quota_get(workspace=_ws(request), viewer=None, quota_id=quota_id)


@router.delete("/quotas/{quota_id}", response={204: None})
def quota_delete(request: HttpRequest, quota_id: int) -> Any:
    services.quota_delete(workspace=_ws(request), actor=_user(request), quota_id=quota_id)
    return Status(204, None)


# ---------------------------------------------------------------------------------------------
# Pipeline analytics and stalled deals


@router.get("/analytics/pipeline", response=PipelineAnalyticsOut)
def pipeline_analytics(request: HttpRequest, query: Query[AnalyticsQuery]) -> Any:
    """Median days per stage, stage-to-stage conversion, sales cycle length, close rate and
    lead conversion of one pipeline over a period (definitions in DESIGN §5)."""
    workspace = _ws(request)
    period = selectors.workspace_period(workspace, query.period, default="quarter")
    return selectors.pipeline_analytics(
        workspace=workspace, viewer=_user(request), period=period, pipeline_id=query.pipeline
    )


@router.get("/deals/stalled", response=StalledPage)
def stalled_deals(request: HttpRequest, query: Query[StalledQuery]) -> Any:
    """Open deals with no activity for the workspace's `stalled_after_days`, or in their stage
    longer than `stalled_stage_factor` × the stage's median; longest silent first."""
    return selectors.stalled_deals(
        workspace=_ws(request),
        viewer=_user(request),
        filters=selectors.StalledFilters(
            pipeline_id=query.pipeline_id, owner_id=query.owner_id, reason=query.reason
        ),
        after=query.cursor,
        limit=query.limit,
    )
