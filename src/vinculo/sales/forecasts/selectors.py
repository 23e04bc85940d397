"""Reads of forecasts, quotas, pipeline analytics and stalled deals.

Access: the forecast, the quotas and the pipeline analytics belong to the "forecasts" module;
whoever lacks its view right gets `PermissionDenied`. Figures cover the deals (and leads) the
viewer may see in that module, so a rep with a team scope sees their team's forecast. The
stalled-deal list is a list of deals and follows the "deals" module's access.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any, Literal, cast

from django.core.cache import cache
from django.db.models import (
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone
from django.utils.translation import gettext as _

from vinculo.analytics.sales_metrics import (
    CloseRate,
    CycleLength,
    LeadConversion,
    Period,
    PeriodKind,
    StageConversion,
    StageDuration,
    close_rate,
    lead_conversion,
    sales_cycle_length,
    stage_conversion,
    stage_duration_stats,
    stage_durations,
)
from vinculo.core.access import can, visible
from vinculo.core.exceptions import FieldError, NotFound, PermissionDenied, ValidationFailed
from vinculo.core.models import Membership, Team
from vinculo.core.pagination import Page, keyset_page
from vinculo.core.roles import Right
from vinculo.sales.common import sales_settings_for
from vinculo.sales.models import (
    Deal,
    DealStatus,
    ForecastCategory,
    Lead,
    Pipeline,
    Quota,
    Stage,
    StageKind,
)

if TYPE_CHECKING:
    from vinculo.core.models import User, Workspace

MODULE = "forecasts"
DEALS_MODULE = "deals"
CENT = Decimal("0.01")
ZERO = Decimal("0.00")

Group = Literal["owner", "team"]
GROUPS: tuple[Group, ...] = ("owner", "team")

# The forecast categories shown as columns, in the order a forecast call reads them.
CATEGORIES = (ForecastCategory.PIPELINE, ForecastCategory.BEST_CASE, ForecastCategory.COMMIT)


def _require_view(
    workspace: Workspace, viewer: User | None, modules: tuple[str, ...] = (MODULE,)
) -> None:
    if viewer is not None and not any(
        can(workspace=workspace, user=viewer, module=m, right=Right.VIEW) for m in modules
    ):
        raise PermissionDenied(_("Your role does not show forecasts."))


def _scoped(qs: QuerySet[Any], *, workspace: Workspace, viewer: User | None, **kw: Any) -> Any:
    """`qs` narrowed to what the viewer may see, or None when nothing is hidden from them
    (the metrics then skip a needless `IN (…)` over the whole workspace)."""
    narrowed = visible(qs, workspace=workspace, viewer=viewer, module=MODULE, **kw)
    # visible() hands back the very queryset when the viewer sees everything.
    return None if narrowed is qs else narrowed


# ---------------------------------------------------------------------------------------------
# Periods


def workspace_period(
    workspace: Workspace,
    text: str | None,
    *,
    default: PeriodKind = "month",
    now: dt.datetime | None = None,
    field_name: str = "period",
) -> Period:
    """The period a request asks for (`2025-03`, `2025-Q1`, `2025`, `2025-01-01..2025-02-15`),
    read in the workspace's time zone; the current `default` one when blank."""
    if not (text or "").strip():
        return Period.current(default, time_zone=workspace.time_zone, now=now)
    try:
        return Period.parse(str(text), time_zone=workspace.time_zone)
    except ValueError as exc:
        raise ValidationFailed(
            [
                FieldError(
                    field_name,
                    "invalid",
                    _(
                        "Use a month (2025-03), a quarter (2025-Q1), a year (2025) or two "
                        "dates (2025-01-01..2025-02-15)."
                    ),
                )
            ]
        ) from exc


@dataclass(frozen=True)
class PeriodChoice:
    key: str
    label: str
    name: str
    start: dt.date
    end: dt.date


def period_choices(
    workspace: Workspace,
    *,
    kinds: tuple[PeriodKind, ...] = ("month", "quarter"),
    steps: tuple[int, ...] = (0, 1, -1),
    now: Any = None,
) -> list[PeriodChoice]:
    """The periods a picker offers: for each kind (month, quarter, year), the current one
    (step 0), the next (1) and the last (-1), each with its relative name and its label."""
    names = {
        "month": {-1: _("Last month"), 0: _("This month"), 1: _("Next month")},
        "quarter": {-1: _("Last quarter"), 0: _("This quarter"), 1: _("Next quarter")},
        "year": {-1: _("Last year"), 0: _("This year"), 1: _("Next year")},
    }
    out = []
    for kind in kinds:
        current = Period.current(kind, time_zone=workspace.time_zone, now=now)
        for step in steps:
            period = current.shift(step)
            out.append(
                PeriodChoice(
                    key=period.key,
                    label=period.label(),
                    name=names[kind][step],
                    start=period.start,
                    end=period.end,
                )
            )
    return out


# ---------------------------------------------------------------------------------------------
# Forecast


@dataclass
class ForecastLine:
    """One person's (or team's) forecast for the period. `key` is the user or team id (None:
    deals with no owner, or no team)."""

    key: int | None
    name: str
    pipeline: Decimal = ZERO
    best_case: Decimal = ZERO
    commit: Decimal = ZERO
    closed: Decimal = ZERO
    weighted: Decimal = ZERO
    open_deals: int = 0
    won_deals: int = 0
    quota: Decimal | None = None

    @property
    def attainment(self) -> float | None:
        """closed ÷ quota (1.0 = on target); None without a quota."""
        if not self.quota:
            return None
        return float(self.closed / self.quota)

    @property
    def committed(self) -> Decimal:
        """Closed plus commit: what the period is expected to bring for sure."""
        return self.closed + self.commit

    @property
    def attainment_percent(self) -> int | None:
        value = self.attainment
        return None if value is None else round(value * 100)

    def add(self, other: ForecastLine) -> None:
        for name in ("pipeline", "best_case", "commit", "closed", "weighted"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.open_deals += other.open_deals
        self.won_deals += other.won_deals
        if other.quota is not None:
            self.quota = (self.quota or ZERO) + other.quota


@dataclass
class Forecast:
    period: Period
    group: Group
    currency: str
    rows: list[ForecastLine]
    totals: ForecastLine
    # Deals in another currency are left out of the sums (there are no exchange rates).
    other_currency_deals: int = 0


def _money(value: Any) -> Decimal:
    return Decimal(value or 0).quantize(CENT, rounding=ROUND_HALF_UP)


def _person_name(full_name: str | None, email: str | None) -> str:
    if full_name:
        return full_name
    return (email or "").split("@")[0]


def forecast(
    *, workspace: Workspace, viewer: User | None, period: Period, group: str = "owner"
) -> Forecast:
    """The forecast of `period` per owner or per team, with totals.

    Per line: the amounts of the open deals expected to close in the period in each forecast
    category (pipeline, best case, commit); the weighted pipeline, Σ amount × stage probability
    of those deals (omitted ones left out); closed, the amount won in the period; the quota and
    attainment (closed ÷ quota). A quota that runs past the period counts for the days it
    shares with it. Two queries, whatever the number of deals.
    """
    _require_view(workspace, viewer)
    if group not in GROUPS:
        raise ValidationFailed(
            [FieldError("group", "invalid-choice", _("Group by owner or by team."))]
        )
    deals = visible(
        Deal.objects.for_workspace(workspace).filter(deleted_at__isnull=True),
        workspace=workspace,
        viewer=viewer,
        module=MODULE,
    )
    key = "owner_id" if group == "owner" else "team_id"
    names = ("owner__full_name", "owner__email") if group == "owner" else ("team__name",)
    open_in = Q(
        status=DealStatus.OPEN,
        expected_close_date__gte=period.start,
        expected_close_date__lte=period.end,
    )
    won_in = Q(status=DealStatus.WON, closed_at__gte=period.start_at, closed_at__lt=period.end_at)
    home = Q(currency="") | Q(currency=workspace.currency)
    counted = open_in & ~Q(forecast_category=ForecastCategory.OMITTED)
    weighted = ExpressionWrapper(
        F("amount") * F("stage__probability") / Value(Decimal(100)),
        output_field=DecimalField(max_digits=20, decimal_places=4),
    )
    category_sums = {
        str(category): Sum(
            "amount", filter=open_in & home & Q(forecast_category=category), default=ZERO
        )
        for category in CATEGORIES
    }
    aggregated = (
        deals.filter(open_in | won_in)
        .values(key, *names)
        .annotate(
            **category_sums,
            weighted=Sum(weighted, filter=counted & home, default=ZERO),
            closed=Sum("amount", filter=won_in & home, default=ZERO),
            open_deals=Count("pk", filter=counted & home),
            won_deals=Count("pk", filter=won_in & home),
            other_currency=Count("pk", filter=~home),
        )
        .order_by()
    )
    lines: dict[int | None, ForecastLine] = {}
    other_currency = 0
    for row in aggregated:
        name = (
            _person_name(row["owner__full_name"], row["owner__email"])
            if group == "owner"
            else row["team__name"]
        )
        lines[row[key]] = ForecastLine(
            key=row[key],
            name=name or "",
            pipeline=_money(row["pipeline"]),
            best_case=_money(row["best_case"]),
            commit=_money(row["commit"]),
            closed=_money(row["closed"]),
            weighted=_money(row["weighted"]),
            open_deals=row["open_deals"],
            won_deals=row["won_deals"],
        )
        other_currency += row["other_currency"]
    for quota_key, quota_name, amount in _quotas_in(workspace, viewer, period, group):
        line = lines.get(quota_key)
        if line is None:
            line = lines[quota_key] = ForecastLine(key=quota_key, name=quota_name)
        line.quota = (line.quota or ZERO) + amount
    for line in lines.values():
        if line.key is None:
            line.name = _("No owner") if group == "owner" else _("No team")
    rows = sorted(lines.values(), key=lambda r: (r.key is None, r.name.casefold(), r.key or 0))
    totals = ForecastLine(key=None, name=_("Total"))
    for line in rows:
        totals.add(line)
    if totals.quota is not None:
        totals.quota = _money(totals.quota)
    return Forecast(
        period=period,
        group=group,
        currency=workspace.currency,
        rows=rows,
        totals=totals,
        other_currency_deals=other_currency,
    )


def _quotas_in(
    workspace: Workspace, viewer: User | None, period: Period, group: str
) -> list[tuple[int, str, Decimal]]:
    """(user or team id, name, the share of its target that falls in `period`) of each quota
    overlapping the period."""
    quotas = visible(
        Quota.objects.for_workspace(workspace).filter(
            period_start__lte=period.end, period_end__gte=period.start
        ),
        workspace=workspace,
        viewer=viewer,
        module=MODULE,
        owner_field="user",
    ).filter(Q(currency="") | Q(currency=workspace.currency))
    if group == "owner":
        rows = quotas.filter(user__isnull=False).values_list(
            "user_id", "user__full_name", "user__email", "period_start", "period_end", "amount"
        )
        found = [
            (uid, _person_name(full, email), start, end, amount)
            for uid, full, email, start, end, amount in rows
        ]
    else:
        found = list(
            quotas.filter(team__isnull=False).values_list(
                "team_id", "team__name", "period_start", "period_end", "amount"
            )
        )
    out = []
    for key_id, name, start, end, amount in found:
        days = (end - start).days + 1
        share = Decimal(period.overlap_days(start, end)) / Decimal(days)
        out.append((key_id, name, _money(Decimal(amount) * share)))
    return out


# ---------------------------------------------------------------------------------------------
# Quotas


@dataclass(frozen=True)
class QuotaFilters:
    user_id: int | None = None
    team_id: int | None = None
    period: Period | None = None


QUOTA_ORDER = ["-period_start", "-id"]


def _quotas(workspace: Workspace, viewer: User | None) -> QuerySet[Quota]:
    _require_view(workspace, viewer)
    return visible(
        Quota.objects.for_workspace(workspace),
        workspace=workspace,
        viewer=viewer,
        module=MODULE,
        owner_field="user",
    )


def quota_list(
    *,
    workspace: Workspace,
    viewer: User | None,
    filters: QuotaFilters | None = None,
    after: str | None = None,
    limit: int = 50,
) -> Page[Quota]:
    """Quotas, latest period first; with a period, those overlapping it."""
    filters = filters or QuotaFilters()
    qs = _quotas(workspace, viewer).select_related("user", "team")
    if filters.user_id is not None:
        qs = qs.filter(user_id=filters.user_id)
    if filters.team_id is not None:
        qs = qs.filter(team_id=filters.team_id)
    if filters.period is not None:
        qs = qs.filter(period_start__lte=filters.period.end, period_end__gte=filters.period.start)
    return keyset_page(qs, order=QUOTA_ORDER, after=after, limit=limit)


def quota_get(*, workspace: Workspace, viewer: User | None, quota_id: int) -> Quota:
    found = _quotas(workspace, viewer).select_related("user", "team").filter(pk=quota_id).first()
    if found is None:
        raise NotFound(_("There is no quota %(id)s.") % {"id": quota_id})
    return found


def quota_people(*, workspace: Workspace, viewer: User | None) -> list[tuple[int, str]]:
    """The active members a quota may be set for, by name."""
    _require_view(workspace, viewer)
    return member_choices(workspace=workspace, viewer=viewer)


def member_choices(*, workspace: Workspace, viewer: User | None) -> list[tuple[int, str]]:
    """(user id, name) of the workspace's active members, by name: the people a forecast or a
    deal list can be narrowed to."""
    _require_view(workspace, viewer, (MODULE, DEALS_MODULE))
    members = (
        Membership.objects.for_workspace(workspace)
        .filter(is_active=True, user__is_active=True)
        .select_related("user")
    )
    people = [(m.user_id, m.user.display_name) for m in members]
    return sorted(people, key=lambda p: p[1].casefold())


def quota_teams(*, workspace: Workspace, viewer: User | None) -> list[tuple[int, str]]:
    _require_view(workspace, viewer)
    teams = Team.objects.for_workspace(workspace).order_by("name", "id")
    return list(teams.values_list("id", "name"))


# ---------------------------------------------------------------------------------------------
# Pipeline analytics


def pipeline_list(*, workspace: Workspace, viewer: User | None) -> list[Pipeline]:
    """Live pipelines, the default one first."""
    _require_view(workspace, viewer, (MODULE, DEALS_MODULE))
    return list(
        Pipeline.objects.for_workspace(workspace)
        .filter(deleted_at__isnull=True)
        .order_by("-is_default", "position", "id")
    )


def _pipeline(workspace: Workspace, pipeline_id: int | None) -> Pipeline | None:
    live = Pipeline.objects.for_workspace(workspace).filter(deleted_at__isnull=True)
    if pipeline_id is None:
        return live.order_by("-is_default", "position", "id").first()
    found = live.filter(pk=pipeline_id).first()
    if found is None:
        raise NotFound(_("There is no pipeline %(id)s.") % {"id": pipeline_id})
    return found


@dataclass
class PipelineAnalytics:
    pipeline: Pipeline | None
    period: Period
    stage_durations: list[StageDuration] = field(default_factory=list)
    stage_conversion: list[StageConversion] = field(default_factory=list)
    cycle: CycleLength = field(default_factory=lambda: CycleLength(0, None, None))
    close: CloseRate = field(default_factory=lambda: CloseRate(0, 0))
    leads: LeadConversion = field(default_factory=lambda: LeadConversion(0, 0))

    @property
    def longest_median(self) -> float:
        return max((s.median_days or 0 for s in self.stage_durations), default=0)

    @property
    def most_entered(self) -> int:
        return max((s.entered for s in self.stage_conversion), default=0)


def pipeline_analytics(
    *,
    workspace: Workspace,
    viewer: User | None,
    period: Period,
    pipeline_id: int | None = None,
    now: dt.datetime | None = None,
) -> PipelineAnalytics:
    """Every pipeline metric of DESIGN §5 for one pipeline (the default one when not given)
    and period: days in each stage (stays that began in the period), stage-to-stage
    conversion, sales cycle length, close rate, and the workspace's lead conversion."""
    _require_view(workspace, viewer)
    pipeline = _pipeline(workspace, pipeline_id)
    deals = _scoped(Deal.objects.for_workspace(workspace), workspace=workspace, viewer=viewer)
    leads = _scoped(Lead.objects.for_workspace(workspace), workspace=workspace, viewer=viewer)
    result = PipelineAnalytics(
        pipeline=pipeline,
        period=period,
        leads=lead_conversion(workspace, period, leads=leads),
    )
    if pipeline is None:
        return result
    result.stage_durations = stage_durations(workspace, pipeline, period, deals=deals, now=now)
    result.stage_conversion = stage_conversion(workspace, pipeline, period, deals=deals)
    result.cycle = sales_cycle_length(workspace, period, pipeline=pipeline, deals=deals)
    result.close = close_rate(workspace, period, pipeline=pipeline, deals=deals)
    return result


# ---------------------------------------------------------------------------------------------
# Stalled deals

# A stage needs this many stays before its median says anything about a deal sitting in it;
# below that, only the lack of activity makes a deal stalled there.
MIN_STAYS_FOR_MEDIAN = 5
MEDIANS_TTL = 600  # seconds: a stage's median moves slowly, and computing it reads the history

INACTIVE = "inactive"
SLOW_STAGE = "slow_stage"


def _medians_key(workspace: Workspace) -> str:
    # The creation instant tells apart workspaces that reuse an id (a test database).
    return f"vinculo:sales:stage-medians:{workspace.pk}:{workspace.created_at.timestamp()}"


def stage_median_days(
    workspace: Workspace, *, now: dt.datetime | None = None, refresh: bool = False
) -> dict[int, float]:
    """Median days in stage of every open stage with enough history (the whole history, stays
    still running included), keyed by stage id.

    Cached for a few minutes when asked about the present (`now` not given), since the board
    and the stalled list ask on every request and the answer moves by the day.
    """
    cached = None if (refresh or now is not None) else cache.get(_medians_key(workspace))
    if cached is not None:
        return {int(k): float(v) for k, v in cached.items()}
    stage_ids = Stage.objects.for_workspace(workspace).filter(
        kind=StageKind.OPEN, deleted_at__isnull=True
    )
    stats = stage_duration_stats(workspace, stage_ids.values("pk"), now=now)
    medians = {
        stage_id: found.median
        for stage_id, found in stats.items()
        if found.count >= MIN_STAYS_FOR_MEDIAN and found.median is not None
    }
    if now is None:
        cache.set(_medians_key(workspace), {str(k): v for k, v in medians.items()}, MEDIANS_TTL)
    return medians


def activity_expression() -> Any:
    """When a deal last showed life: its last activity (else its last change), or its entry
    into the current stage if that is later."""
    return Greatest(Coalesce(F("last_activity_at"), F("updated_at")), F("stage_entered_at"))


def last_sign_of_life(deal: Deal) -> dt.datetime:
    return max(deal.last_activity_at or deal.updated_at, deal.stage_entered_at)


@dataclass(frozen=True)
class StalledCheck:
    """Whether a deal is stalled, from the workspace's settings and stage medians loaded once
    (use one check for a whole board or list: it asks the database nothing per deal)."""

    now: dt.datetime
    inactive_days: int
    stage_factor: Decimal
    medians: dict[int, float]

    @property
    def inactive_since(self) -> dt.datetime | None:
        """Deals with no sign of life since before this are stalled (None: never)."""
        if self.inactive_days <= 0:
            return None
        return self.now - dt.timedelta(days=self.inactive_days)

    def stage_limit_days(self, stage_id: int) -> float | None:
        """How long a deal may sit in the stage before it counts as stalled."""
        median = self.medians.get(stage_id)
        if median is None or self.stage_factor <= 0 or median <= 0:
            return None
        return float(self.stage_factor) * median

    def reasons(self, deal: Deal) -> tuple[str, ...]:
        """Why the deal is stalled: "inactive" and/or "slow_stage"; empty when it is not (or
        is not open)."""
        if deal.status != DealStatus.OPEN or deal.deleted_at is not None:
            return ()
        found = []
        since = self.inactive_since
        if since is not None and last_sign_of_life(deal) < since:
            found.append(INACTIVE)
        limit = self.stage_limit_days(deal.stage_id)
        if limit is not None and deal.stage_entered_at < self.now - dt.timedelta(days=limit):
            found.append(SLOW_STAGE)
        return tuple(found)

    def __call__(self, deal: Deal) -> bool:
        return bool(self.reasons(deal))

    def condition(self) -> Q:
        """The same test as SQL, for querysets annotated with `activity_at`
        (`activity_expression()`)."""
        condition = Q(pk__in=[])
        since = self.inactive_since
        if since is not None:
            condition |= Q(activity_at__lt=since)
        for stage_id in sorted(self.medians):
            limit = self.stage_limit_days(stage_id)
            if limit is not None:
                cutoff = self.now - dt.timedelta(days=limit)
                condition |= Q(stage_id=stage_id, stage_entered_at__lt=cutoff)
        return condition


def stalled_checker(
    workspace: Workspace, *, now: dt.datetime | None = None, refresh: bool = False
) -> StalledCheck:
    """The stalled test of the workspace as it stands now (two queries at most, fewer when
    the stage medians are cached)."""
    settings = sales_settings_for(workspace)
    return StalledCheck(
        now=now or timezone.now(),
        inactive_days=settings.stalled_after_days,
        stage_factor=Decimal(settings.stalled_stage_factor),
        medians=stage_median_days(workspace, now=now, refresh=refresh),
    )


def is_stalled(deal: Deal, *, workspace: Workspace, check: StalledCheck | None = None) -> bool:
    """Whether `deal` is stalled: open, and no activity for the workspace's
    `stalled_after_days`, or in its stage longer than `stalled_stage_factor` × the stage's
    median. Pass one `check` (from `stalled_checker`) when asking about many deals."""
    return (check or stalled_checker(workspace))(deal)


@dataclass(frozen=True)
class StalledInfo:
    reasons: tuple[str, ...]
    last_activity_at: dt.datetime
    days_inactive: int
    days_in_stage: int
    stage_median_days: float | None


@dataclass(frozen=True)
class StalledFilters:
    pipeline_id: int | None = None
    owner_id: int | None = None
    reason: str | None = None


STALLED_ORDER = ["activity_at", "id"]


def stalled_queryset(workspace: Workspace, check: StalledCheck) -> QuerySet[Deal]:
    """Open deals of the workspace that `check` finds stalled, annotated with `activity_at`."""
    return cast(
        "QuerySet[Deal]",
        Deal.objects.for_workspace(workspace)
        .filter(status=DealStatus.OPEN, deleted_at__isnull=True)
        .annotate(activity_at=activity_expression())
        .filter(check.condition()),
    )


def stalled_deals(
    *,
    workspace: Workspace,
    viewer: User | None,
    filters: StalledFilters | None = None,
    after: str | None = None,
    limit: int = 50,
    now: dt.datetime | None = None,
) -> Page[Deal]:
    """Stalled open deals the viewer may see, longest silent first. Each deal carries a
    `stalled` attribute (`StalledInfo`): why, since when, and how long in its stage."""
    filters = filters or StalledFilters()
    check = stalled_checker(workspace, now=now)
    qs = visible(
        stalled_queryset(workspace, check),
        workspace=workspace,
        viewer=viewer,
        module=DEALS_MODULE,
    ).select_related("owner", "stage", "pipeline")
    if filters.pipeline_id is not None:
        qs = qs.filter(pipeline_id=filters.pipeline_id)
    if filters.owner_id is not None:
        qs = qs.filter(owner_id=filters.owner_id)
    if filters.reason == INACTIVE:
        since = check.inactive_since
        qs = qs.filter(Q(activity_at__lt=since)) if since is not None else qs.none()
    elif filters.reason == SLOW_STAGE:
        slow = StalledCheck(check.now, 0, check.stage_factor, check.medians).condition()
        qs = qs.filter(slow)
    elif filters.reason:
        raise ValidationFailed(
            [FieldError("reason", "invalid-choice", _("Use inactive or slow_stage."))]
        )
    page = keyset_page(qs, order=STALLED_ORDER, after=after, limit=limit)
    for deal in page.items:
        deal.stalled = stalled_info(deal, check)  # type: ignore[attr-defined]
    return page


def stalled_info(deal: Deal, check: StalledCheck) -> StalledInfo:
    seen = last_sign_of_life(deal)
    return StalledInfo(
        reasons=check.reasons(deal),
        last_activity_at=seen,
        days_inactive=max(0, (check.now - seen).days),
        days_in_stage=max(0, (check.now - deal.stage_entered_at).days),
        stage_median_days=check.medians.get(deal.stage_id),
    )


def stalled_count(
    *, workspace: Workspace, viewer: User | None, pipeline_id: int | None = None
) -> int:
    """How many stalled deals the viewer may see (in one pipeline, when given)."""
    check = stalled_checker(workspace)
    qs = visible(
        stalled_queryset(workspace, check),
        workspace=workspace,
        viewer=viewer,
        module=DEALS_MODULE,
    )
    if pipeline_id is not None:
        qs = qs.filter(pipeline_id=pipeline_id)
    return qs.count()
