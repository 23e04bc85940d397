"""Pages of sales forecasting: the forecast, quotas, pipeline analytics and stalled deals.

Views parse the request, call the selectors a page shows (or one service) and render. An htmx
request gets the page's `#report` (or `#quotas`) partial; a quota form with errors comes back
with status 422 and each error next to its field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from vinculo.analytics.sales_metrics import Period
from vinculo.core.access import can
from vinculo.core.exceptions import ValidationFailed
from vinculo.core.models import User, Workspace
from vinculo.core.pages import domain_errors
from vinculo.core.pages import page_context as _context
from vinculo.core.roles import Right
from vinculo.sales.common import sales_settings_for
from vinculo.sales.forecasts import selectors, services
from vinculo.sales.forecasts.forms import QuotaForm
from vinculo.sales.forecasts.selectors import ForecastLine
from vinculo.sales.models import ForecastCategory, Quota

QUOTAS_PAGE_SIZE = 50
STALLED_PAGE_SIZE = 50
MODULE = "forecasts"


def _partial(request: HttpRequest, page: str, partial: str) -> str:
    htmx = getattr(request, "htmx", None)
    if htmx and not htmx.history_restore_request:
        return f"{page}#{partial}"
    return page


def _url_or_blank(name: str, *args: Any) -> str:
    try:
        return reverse(name, args=args or None)
    except NoReverseMatch:
        return ""


def _period(
    request: HttpRequest, workspace: Workspace, default: str = "month"
) -> tuple[Period, str]:
    """The period asked for, or the default one with a message saying the text was not
    understood (a page answers with something rather than an error)."""
    text = request.GET.get("period", "")
    try:
        return selectors.workspace_period(workspace, text, default=default), ""  # type: ignore[arg-type]
    except ValidationFailed as exc:
        fallback = selectors.workspace_period(workspace, "", default=default)  # type: ignore[arg-type]
        return fallback, exc.errors[0].message


def _int(value: str | None) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isdigit() and len(value) < 19 else None


def _tabs(workspace: Workspace, user: User, current: str) -> list[dict[str, Any]]:
    sees_forecasts = can(workspace=workspace, user=user, module=MODULE, right=Right.VIEW)
    sees_deals = can(workspace=workspace, user=user, module="deals", right=Right.VIEW)
    tabs = [
        ("forecast", _("Forecast"), "sales:forecast", sees_forecasts),
        ("quotas", _("Quotas"), "sales:quota_list", sees_forecasts),
        ("analytics", _("Pipeline analytics"), "sales:pipeline_analytics", sees_forecasts),
        ("stalled", _("Stalled deals"), "sales:stalled_deals", sees_deals),
    ]
    return [
        {"key": key, "label": label, "url": reverse(name), "current": key == current}
        for key, label, name, shown in tabs
        if shown
    ]


# ---------------------------------------------------------------------------------------------
# Forecast


@dataclass(frozen=True)
class ForecastCell:
    label: str
    amount: Any
    url: str


@dataclass(frozen=True)
class ForecastRow:
    line: ForecastLine
    cells: list[ForecastCell]
    is_total: bool = False


def _drilldown(
    base: str, group: str, line: ForecastLine | None, period: Period, **params: str
) -> str:
    """The deal list filtered to what a figure adds up: owner (id or "none") or team, status,
    forecast_category, and the expected close dates (close_after/close_before, both included)
    or, for won deals, the close dates (closed_after/closed_before)."""
    if not base:
        return ""
    query: dict[str, str] = {}
    if line is not None:
        query[group] = str(line.key) if line.key is not None else "none"
    query.update(params)
    start, end = period.start.isoformat(), period.end.isoformat()
    if params.get("status") == "won":
        query |= {"closed_after": start, "closed_before": end}
    else:
        query |= {"close_after": start, "close_before": end}
    return f"{base}?{urlencode(query)}"


def _forecast_row(
    base: str, group: str, line: ForecastLine, period: Period, *, total: bool = False
) -> ForecastRow:
    who = None if total else line

    def link(**params: str) -> str:
        return _drilldown(base, group, who, period, **params)

    cells = [
        ForecastCell(
            str(ForecastCategory(category).label),
            getattr(line, str(category)),
            link(status="open", forecast_category=str(category)),
        )
        for category in selectors.CATEGORIES
    ]
    cells.append(ForecastCell(_("Weighted"), line.weighted, link(status="open")))
    cells.append(ForecastCell(_("Closed"), line.closed, link(status="won")))
    return ForecastRow(line=line, cells=cells, is_total=total)


@login_required
@require_GET
@domain_errors
def forecast_page(request: HttpRequest) -> HttpResponse:
    """The forecast of a month or quarter per owner or team: `?period=2025-Q1&group=team`."""
    workspace, user = _context(request)
    period, period_error = _period(request, workspace)
    group = request.GET.get("group", "owner")
    if group not in selectors.GROUPS:
        group = "owner"
    data = selectors.forecast(workspace=workspace, viewer=user, period=period, group=group)
    base = _url_or_blank("sales:deal_list")
    choices = selectors.period_choices(workspace)
    context = {
        "tabs": _tabs(workspace, user, "forecast"),
        "forecast": data,
        "period": period,
        "period_error": period_error,
        "period_choices": choices,
        "period_listed": any(c.key == period.key for c in choices),
        "group": group,
        "rows": [_forecast_row(base, group, line, period) for line in data.rows],
        "total": _forecast_row(base, group, data.totals, period, total=True),
        "categories": [(str(c), ForecastCategory(c).label) for c in selectors.CATEGORIES],
        "can_edit_quotas": can(workspace=workspace, user=user, module=MODULE, right=Right.CREATE),
    }
    template = _partial(request, "sales/forecasts/forecast.html", "report")
    return render(request, template, context)


# ---------------------------------------------------------------------------------------------
# Quotas


def _quota_form(
    workspace: Workspace, user: User, data: Any = None, initial: Any = None
) -> QuotaForm:
    return QuotaForm(
        data,
        initial=initial,
        people=selectors.quota_people(workspace=workspace, viewer=user),
        teams=selectors.quota_teams(workspace=workspace, viewer=user),
        currency=workspace.currency,
    )


def _quota_filters(request: HttpRequest, workspace: Workspace) -> tuple[Any, str]:
    text = request.GET.get("period", "")
    if not text:
        return selectors.QuotaFilters(), ""
    try:
        return selectors.QuotaFilters(period=selectors.workspace_period(workspace, text)), text
    except ValidationFailed:
        return selectors.QuotaFilters(), ""


def _quotas_page(
    request: HttpRequest,
    *,
    form: QuotaForm | None = None,
    editing: Quota | None = None,
    status: int = 200,
) -> HttpResponse:
    workspace, user = _context(request)
    rights = {
        f"can_{right}": can(workspace=workspace, user=user, module=MODULE, right=right)
        for right in (Right.CREATE, Right.EDIT, Right.DELETE)
    }
    if form is None:
        edit_id = _int(request.GET.get("edit"))
        if edit_id is not None and rights["can_edit"]:
            editing = selectors.quota_get(workspace=workspace, viewer=user, quota_id=edit_id)
            form = _quota_form(
                workspace,
                user,
                initial={
                    "user_id": editing.user_id,
                    "team_id": editing.team_id,
                    "period_start": editing.period_start,
                    "period_end": editing.period_end,
                    "amount": editing.amount,
                },
            )
        else:
            form = _quota_form(workspace, user)
    filters, period_key = _quota_filters(request, workspace)
    quotas = selectors.quota_list(
        workspace=workspace,
        viewer=user,
        filters=filters,
        after=request.GET.get("after") or None,
        limit=QUOTAS_PAGE_SIZE,
    )
    next_query = ""
    if quotas.next_cursor:
        next_query = urlencode({"period": period_key, "after": quotas.next_cursor})
    context = {
        "tabs": _tabs(workspace, user, "quotas"),
        "form": form,
        "editing": editing,
        "quotas": quotas,
        "next_query": next_query,
        "period_key": period_key,
        "period_choices": selectors.period_choices(workspace),
        "quick_periods": selectors.period_choices(workspace),
        "currency": workspace.currency,
        "is_htmx": bool(getattr(request, "htmx", None)),
        **rights,
    }
    template = _partial(request, "sales/forecasts/quotas.html", "quotas")
    return render(request, template, context, status=status)


@login_required
@require_GET
@domain_errors
def quota_list(request: HttpRequest) -> HttpResponse:
    """Quotas, latest period first (`?period=` those overlapping it), with the form to add one
    or, with `?edit=<id>`, to change one."""
    return _quotas_page(request)


def _after_write(request: HttpRequest, message: str) -> HttpResponse:
    messages.success(request, message)
    if getattr(request, "htmx", None):
        response = _quotas_page(request)
        response["HX-Push-Url"] = reverse("sales:quota_list")
        return response
    return redirect("sales:quota_list")


@login_required
@require_POST
@domain_errors
def quota_save(request: HttpRequest, quota_id: int | None = None) -> HttpResponse:
    """Create (no id) or change a quota from the form."""
    workspace, user = _context(request)
    editing = (
        selectors.quota_get(workspace=workspace, viewer=user, quota_id=quota_id)
        if quota_id is not None
        else None
    )
    form = _quota_form(workspace, user, data=request.POST)
    if form.is_valid():
        try:
            if editing is None:
                services.quota_create(workspace=workspace, actor=user, data=form.to_data())
                message = _("Quota added.")
            else:
                services.quota_update(
                    workspace=workspace, actor=user, quota_id=editing.pk, data=form.to_data()
                )
                message = _("Quota saved.")
        except ValidationFailed as exc:
            form.add_service_errors(exc)
        else:
            return _after_write(request, message)
    return _quotas_page(request, form=form, editing=editing, status=422)


@login_required
@require_POST
@domain_errors
def quota_delete(request: HttpRequest, quota_id: int) -> HttpResponse:
    workspace, user = _context(request)
    services.quota_delete(workspace=workspace, actor=user, quota_id=quota_id)
    return _after_write(request, _("Quota deleted."))


# ---------------------------------------------------------------------------------------------
# Pipeline analytics


@login_required
@require_GET
@domain_errors
def pipeline_analytics(request: HttpRequest) -> HttpResponse:
    """Days per stage, stage conversion, cycle length, win rate and lead conversion of one
    pipeline (`?pipeline=`) over a period (`?period=`, this quarter by default)."""
    workspace, user = _context(request)
    period, period_error = _period(request, workspace, default="quarter")
    pipelines = selectors.pipeline_list(workspace=workspace, viewer=user)
    pipeline_id = _int(request.GET.get("pipeline"))
    if pipeline_id is not None and all(p.pk != pipeline_id for p in pipelines):
        pipeline_id = None
    data = selectors.pipeline_analytics(
        workspace=workspace, viewer=user, period=period, pipeline_id=pipeline_id
    )
    choices = selectors.period_choices(workspace, kinds=("month", "quarter", "year"), steps=(0, -1))
    sees_deals = can(workspace=workspace, user=user, module="deals", right=Right.VIEW)
    context = {
        "tabs": _tabs(workspace, user, "analytics"),
        "data": data,
        "period": period,
        "period_error": period_error,
        "period_choices": choices,
        "period_listed": any(c.key == period.key for c in choices),
        "pipelines": pipelines,
        "stalled_count": (
            selectors.stalled_count(
                workspace=workspace,
                viewer=user,
                pipeline_id=data.pipeline.pk if data.pipeline else None,
            )
            if sees_deals
            else None
        ),
        "stalled_url": reverse("sales:stalled_deals")
        + (f"?{urlencode({'pipeline': data.pipeline.pk})}" if data.pipeline else ""),
    }
    template = _partial(request, "sales/forecasts/analytics.html", "report")
    return render(request, template, context)


# ---------------------------------------------------------------------------------------------
# Stalled deals


@login_required
@require_GET
@domain_errors
def stalled_deals(request: HttpRequest) -> HttpResponse:
    """Stalled open deals, longest silent first: `?pipeline=&owner=&reason=`."""
    workspace, user = _context(request)
    if not can(workspace=workspace, user=user, module="deals", right=Right.VIEW):
        raise DjangoPermissionDenied("no view right on deals")
    reason = request.GET.get("reason", "")
    if reason not in (selectors.INACTIVE, selectors.SLOW_STAGE):
        reason = ""
    filters = selectors.StalledFilters(
        pipeline_id=_int(request.GET.get("pipeline")),
        owner_id=_int(request.GET.get("owner")),
        reason=reason or None,
    )
    try:
        page = selectors.stalled_deals(
            workspace=workspace,
            viewer=user,
            filters=filters,
            after=request.GET.get("after") or None,
            limit=STALLED_PAGE_SIZE,
        )
    except ValidationFailed:
        # A cursor edited by hand: start from the first page.
        page = selectors.stalled_deals(
            workspace=workspace, viewer=user, filters=filters, limit=STALLED_PAGE_SIZE
        )
    kept = {
        "pipeline": filters.pipeline_id or "",
        "owner": filters.owner_id or "",
        "reason": reason,
    }
    next_query = urlencode({**kept, "after": page.next_cursor}) if page.next_cursor else ""
    context = {
        "tabs": _tabs(workspace, user, "stalled"),
        "page": page,
        "filters": filters,
        "reason": reason,
        "next_query": next_query,
        "pipelines": selectors.pipeline_list(workspace=workspace, viewer=user),
        "people": selectors.member_choices(workspace=workspace, viewer=user),
        "settings": sales_settings_for(workspace),
    }
    template = _partial(request, "sales/forecasts/stalled.html", "list")
    return render(request, template, context)
