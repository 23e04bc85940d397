"""Sales metrics, one function each, as DESIGN §5 defines them.

- **Sales cycle length** (`sales_cycle_length`): median and mean of won_at − created_at, in
  days, of the deals won in the period (won_at is the deal's `closed_at`).
- **Time in stage** (`stage_durations`): per open stage of a pipeline, the median (and mean)
  days of each stay in the stage history; a stay still running counts its time so far. With a
  period, only stays that began in it.
- **Stage-to-stage conversion** (`stage_conversion`): of the deals that entered a stage during
  the period, the share that went on to a later stage of the pipeline (won included, lost
  not) and the share that reached a won stage, whenever that happened.
- **Close rate** (`close_rate`): won ÷ (won + lost) among the deals closed in the period.
- **Lead conversion** (`lead_conversion`): leads created in the period whose converted deal is
  won ÷ leads created in the period.

Periods are calendar ranges in the workspace's time zone. Every figure is aggregated by the
database (medians with window functions), never by loading the rows: these run on workspaces
with hundreds of thousands of deals. Deleted deals and leads are left out throughout.

Each function takes an optional `deals` (or `leads`) queryset that narrows what is counted, so
a caller can apply a viewer's record access (`core.access.visible`) without the metric knowing
about roles.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
import re
import statistics
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

from django.db import connections
from django.db.models import (
    Aggregate,
    Avg,
    Case,
    Count,
    DateTimeField,
    F,
    FloatField,
    Func,
    Max,
    Q,
    QuerySet,
    Value,
    When,
    Window,
)
from django.db.models.expressions import RowRange
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from vinculo.sales.models import (
    Deal,
    DealStageHistory,
    DealStatus,
    Lead,
    Pipeline,
    Stage,
    StageKind,
)

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.models.sql.compiler import SQLCompiler

    from vinculo.core.models import User, Workspace

PeriodKind = Literal["month", "quarter", "year", "custom"]

# ---------------------------------------------------------------------------------------------
# Periods


_MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER_RE = re.compile(r"^(\d{4})-[Qq]([1-4])$")
_YEAR_RE = re.compile(r"^(\d{4})$")
_RANGE_RE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$")


@dataclass(frozen=True)
class Period:
    """Whole days from `start` to `end` (both included), read in `time_zone`.

    Dates compare directly with date fields (a deal's expected close date, a quota's period);
    `start_at`/`end_at` are the instants that bound it for timestamps (end exclusive).
    """

    start: dt.date
    end: dt.date
    time_zone: str = "UTC"
    kind: PeriodKind = field(default="custom", compare=False)

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("a period cannot end before it starts")
        zoneinfo.ZoneInfo(self.time_zone)  # raises for an unknown zone

    # -- construction ------------------------------------------------------------------------

    @classmethod
    def month(cls, year: int, month: int, *, time_zone: str = "UTC") -> Period:
        last = calendar.monthrange(year, month)[1]
        return cls(dt.date(year, month, 1), dt.date(year, month, last), time_zone, "month")

    @classmethod
    def quarter(cls, year: int, quarter: int, *, time_zone: str = "UTC") -> Period:
        if not 1 <= quarter <= 4:
            raise ValueError("a quarter is 1 to 4")
        first = 3 * (quarter - 1) + 1
        last = calendar.monthrange(year, first + 2)[1]
        return cls(dt.date(year, first, 1), dt.date(year, first + 2, last), time_zone, "quarter")

    @classmethod
    def year(cls, year: int, *, time_zone: str = "UTC") -> Period:
        return cls(dt.date(year, 1, 1), dt.date(year, 12, 31), time_zone, "year")

    @classmethod
    def containing(
        cls, day: dt.date, kind: PeriodKind = "month", *, time_zone: str = "UTC"
    ) -> Period:
        """The month, quarter or year that `day` falls in."""
        if kind == "month":
            return cls.month(day.year, day.month, time_zone=time_zone)
        if kind == "quarter":
            return cls.quarter(day.year, (day.month - 1) // 3 + 1, time_zone=time_zone)
        if kind == "year":
            return cls.year(day.year, time_zone=time_zone)
        raise ValueError(f"no calendar period of kind {kind!r}")

    @classmethod
    def current(
        cls, kind: PeriodKind = "month", *, time_zone: str, now: dt.datetime | None = None
    ) -> Period:
        """The period of that kind running now in `time_zone`."""
        today = (now or timezone.now()).astimezone(zoneinfo.ZoneInfo(time_zone)).date()
        return cls.containing(today, kind, time_zone=time_zone)

    @classmethod
    def parse(cls, text: str, *, time_zone: str = "UTC") -> Period:
        """`2025-03` (a month), `2025-Q1` (a quarter), `2025` (a year) or
        `2025-01-15..2025-02-14` (any days). Raises ValueError for anything else."""
        text = (text or "").strip()
        if m := _MONTH_RE.match(text):
            year, month = int(m[1]), int(m[2])
            if not 1 <= month <= 12:
                raise ValueError("a month is 01 to 12")
            return cls.month(year, month, time_zone=time_zone)
        if m := _QUARTER_RE.match(text):
            return cls.quarter(int(m[1]), int(m[2]), time_zone=time_zone)
        if m := _YEAR_RE.match(text):
            return cls.year(int(m[1]), time_zone=time_zone)
        if m := _RANGE_RE.match(text):
            start, end = dt.date.fromisoformat(m[1]), dt.date.fromisoformat(m[2])
            if (end - start).days > 3660:
                raise ValueError("a period spans at most ten years")
            return cls(start, end, time_zone)
        raise ValueError("use YYYY-MM, YYYY-Qn, YYYY or YYYY-MM-DD..YYYY-MM-DD")

    # -- reading -----------------------------------------------------------------------------

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    @property
    def start_at(self) -> dt.datetime:
        return dt.datetime.combine(self.start, dt.time.min, tzinfo=self.zone)

    @property
    def end_at(self) -> dt.datetime:
        """The first instant after the period (exclusive bound)."""
        return dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time.min, tzinfo=self.zone)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def key(self) -> str:
        """The text `parse` reads back into this period."""
        if self.kind == "month":
            return f"{self.start:%Y-%m}"
        if self.kind == "quarter":
            return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        if self.kind == "year":
            return f"{self.start.year}"
        return f"{self.start.isoformat()}..{self.end.isoformat()}"

    def shift(self, steps: int) -> Period:
        """The month, quarter or year `steps` away (negative: earlier). A custom period moves
        by its own length."""
        if self.kind == "custom":
            delta = dt.timedelta(days=self.days * steps)
            return replace(self, start=self.start + delta, end=self.end + delta)
        months = {"month": 1, "quarter": 3, "year": 12}[self.kind] * steps
        index = self.start.year * 12 + self.start.month - 1 + months
        return Period.containing(
            dt.date(index // 12, index % 12 + 1, 1), self.kind, time_zone=self.time_zone
        )

    def overlap_days(self, start: dt.date, end: dt.date) -> int:
        """Days that [start, end] shares with this period."""
        return max(0, (min(end, self.end) - max(start, self.start)).days + 1)

    def label(self) -> str:
        """How people name the period, in the active language."""
        from django.utils.formats import date_format

        if self.kind == "month":
            return date_format(self.start, "YEAR_MONTH_FORMAT")
        if self.kind == "quarter":
            return _("Q%(quarter)d %(year)d") % {
                "quarter": (self.start.month - 1) // 3 + 1,
                "year": self.start.year,
            }
        if self.kind == "year":
            return str(self.start.year)
        return _("%(start)s to %(end)s") % {
            "start": date_format(self.start, "SHORT_DATE_FORMAT"),
            "end": date_format(self.end, "SHORT_DATE_FORMAT"),
        }


# ---------------------------------------------------------------------------------------------
# SQL building blocks


class DaysBetween(Func):
    """(end − start) in days, as a float, computed by the database.

    Spelled per vendor rather than with Django's duration arithmetic: on SQLite that goes
    through a Python function per row, which is what makes a median over 100k stays slow.
    """

    output_field = FloatField()
    arity = 2

    def __init__(self, end: Any, start: Any, **extra: Any) -> None:
        super().__init__(end, start, **extra)

    def as_sqlite(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any
    ) -> Any:
        return self.as_sql(
            compiler,
            connection,
            template="(julianday(%(expressions)s))",
            arg_joiner=") - julianday(",
            **extra,
        )

    def as_postgresql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any
    ) -> Any:
        return self.as_sql(
            compiler,
            connection,
            template="CAST(EXTRACT(EPOCH FROM (%(expressions)s)) / 86400.0 AS double precision)",
            arg_joiner=" - ",
            **extra,
        )


@dataclass(frozen=True)
class Distribution:
    """How many values, their median and their mean (None when there are none)."""

    count: int = 0
    median: float | None = None
    mean: float | None = None


class Median(Aggregate):
    """PostgreSQL's continuous median (the mean of the two middle values of an even count)."""

    function = "percentile_cont"
    name = "Median"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()


# How many values are read from the database at a time when the median is taken here.
FETCH_CHUNK = 5000


def _distributions(
    qs: QuerySet[Any], value: Any, *, group: str | None = None
) -> dict[Any, Distribution]:
    """Median, mean and count of `value` over `qs`, per `group` (or one group, key None).

    PostgreSQL aggregates all three itself (`percentile_cont`). SQLite has no median
    aggregate: there the values (one float per row, nothing else) are streamed and the median
    taken here. A window-function median in SQL was measured at 2.6 to 4.3 s over 320,000 stage
    stays on SQLite 3.40, against 0.5 s for streaming them and sorting in Python.
    """
    fields = [group] if group else []
    connection = connections[qs.db]
    if connection.vendor == "postgresql":
        measures = {"_count": Count("pk"), "_median": Median("_value"), "_mean": Avg("_value")}
        valued = qs.annotate(_value=value).order_by()
        if group is None:
            totals = valued.aggregate(**measures)
            rows: list[tuple[Any, ...]] = [
                (None, totals["_count"], totals["_median"], totals["_mean"])
            ]
        else:
            rows = list(
                valued.values(group)
                .annotate(**measures)
                .values_list(group, "_count", "_median", "_mean")
            )
        return {
            key: Distribution(count=int(count), median=float(median), mean=float(mean))
            for key, count, median, mean in rows
            if count
        }
    sql, params = (
        qs.annotate(_value=value).order_by().values_list(*fields, "_value").query.sql_with_params()
    )
    values: dict[Any, list[float]] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while chunk := cursor.fetchmany(FETCH_CHUNK):
            for row in chunk:
                values.setdefault(row[0] if group else None, []).append(float(row[-1]))
    return {
        key: Distribution(
            count=len(found), median=statistics.median(found), mean=math.fsum(found) / len(found)
        )
        for key, found in values.items()
    }


def _within(qs: QuerySet[Any], deals: QuerySet[Deal] | None, path: str = "pk") -> QuerySet[Any]:
    if deals is None:
        return qs
    return qs.filter(**{f"{path}__in": deals.values("pk")})


def _owner_id(owner: User | int | None) -> int | None:
    if owner is None or isinstance(owner, int):
        return owner
    return owner.pk


def _live_deals(workspace: Workspace) -> QuerySet[Deal]:
    return Deal.objects.for_workspace(workspace).filter(deleted_at__isnull=True)


def _closed_in(period: Period) -> Q:
    return Q(closed_at__gte=period.start_at, closed_at__lt=period.end_at)


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


# ---------------------------------------------------------------------------------------------
# Sales cycle length


@dataclass(frozen=True)
class CycleLength:
    """Days from creation to win of the deals won in the period."""

    won: int
    median_days: float | None
    mean_days: float | None


def sales_cycle_length(
    workspace: Workspace,
    period: Period,
    *,
    pipeline: Pipeline | int | None = None,
    owner: User | int | None = None,
    deals: QuerySet[Deal] | None = None,
) -> CycleLength:
    """Median and mean of (won_at − created_at) in days over the deals won in `period`,
    optionally of one pipeline and one owner."""
    qs = _live_deals(workspace).filter(_closed_in(period), status=DealStatus.WON)
    if pipeline is not None:
        qs = qs.filter(pipeline_id=pipeline if isinstance(pipeline, int) else pipeline.pk)
    if owner is not None:
        qs = qs.filter(owner_id=_owner_id(owner))
    qs = _within(qs, deals)
    found = _distributions(qs, DaysBetween(F("closed_at"), F("created_at"))).get(None)
    if found is None:
        return CycleLength(won=0, median_days=None, mean_days=None)
    return CycleLength(won=found.count, median_days=found.median, mean_days=found.mean)


# ---------------------------------------------------------------------------------------------
# Time in stage


@dataclass(frozen=True)
class StageDuration:
    stage_id: int
    name: str
    position: int
    stays: int
    median_days: float | None
    mean_days: float | None


def _open_stages(workspace: Workspace, pipeline: Pipeline | int) -> list[Stage]:
    pipeline_id = pipeline if isinstance(pipeline, int) else pipeline.pk
    return list(
        Stage.objects.for_workspace(workspace)
        .filter(pipeline_id=pipeline_id, kind=StageKind.OPEN, deleted_at__isnull=True)
        .order_by("position", "id")
    )


def stay_days(now: dt.datetime) -> DaysBetween:
    """Days of a stay: to when it ended, or to `now` for a stay still running."""
    return DaysBetween(
        Coalesce(F("left_at"), Value(now, output_field=DateTimeField())), F("entered_at")
    )


def stage_duration_stats(
    workspace: Workspace,
    stage_ids: Iterable[int] | QuerySet[Any],
    period: Period | None = None,
    *,
    deals: QuerySet[Deal] | None = None,
    now: dt.datetime | None = None,
) -> dict[int, Distribution]:
    """Days-in-stage distribution per stage id (stages without stays are left out).
    `stage_ids` may be a queryset of ids, read as a subquery."""
    ids: Any = stage_ids
    if not isinstance(stage_ids, QuerySet):
        ids = sorted(set(stage_ids))
        if not ids:
            return {}
    now = now or timezone.now()
    deleted = Deal.objects.for_workspace(workspace).filter(deleted_at__isnull=False)
    stays: QuerySet[DealStageHistory] = (
        DealStageHistory.objects.for_workspace(workspace)
        .filter(stage_id__in=ids, entered_at__lte=now)
        # An anti-join on the few deleted deals, not a join on every stay's deal.
        .exclude(deal_id__in=deleted.values("pk"))
    )
    if period is not None:
        stays = stays.filter(entered_at__gte=period.start_at, entered_at__lt=period.end_at)
    stays = _within(stays, deals, "deal_id")
    return _distributions(stays, stay_days(now), group="stage_id")


def stage_durations(
    workspace: Workspace,
    pipeline: Pipeline | int,
    period: Period | None = None,
    *,
    deals: QuerySet[Deal] | None = None,
    now: dt.datetime | None = None,
) -> list[StageDuration]:
    """Per open stage of `pipeline`, in board order: the median, mean and number of stays.

    A stay still running counts its time up to `now`. With a `period`, only stays that began
    in it count; without one, the whole history.
    """
    stages = _open_stages(workspace, pipeline)
    stats = stage_duration_stats(workspace, [s.pk for s in stages], period, deals=deals, now=now)
    out = []
    for stage in stages:
        found = stats.get(stage.pk, Distribution())
        out.append(
            StageDuration(
                stage_id=stage.pk,
                name=stage.name,
                position=stage.position,
                stays=found.count,
                median_days=found.median,
                mean_days=found.mean,
            )
        )
    return out


# ---------------------------------------------------------------------------------------------
# Stage-to-stage conversion


@dataclass(frozen=True)
class StageConversion:
    stage_id: int
    name: str
    position: int
    entered: int
    advanced: int
    won: int

    @property
    def advance_rate(self) -> float | None:
        """Share of the deals that entered this stage and went on to a later one."""
        return _rate(self.advanced, self.entered)

    @property
    def win_rate(self) -> float | None:
        """Share of the deals that entered this stage and were won."""
        return _rate(self.won, self.entered)


_COHORT_COUNTS = (
    "COUNT(DISTINCT deal_id),"
    " COUNT(DISTINCT CASE WHEN reached > place THEN deal_id END),"
    " COUNT(DISTINCT CASE WHEN won_after = 1 THEN deal_id END)"
)
_COHORT_WHERE = (
    "WHERE entered_at >= %s AND entered_at < %s AND place >= 0 AND place < %s GROUP BY stage_id"
)


def stage_conversion(
    workspace: Workspace,
    pipeline: Pipeline | int,
    period: Period,
    *,
    deals: QuerySet[Deal] | None = None,
) -> list[StageConversion]:
    """For each open stage of `pipeline`, of the deals that entered it during `period`: how
    many went on to a later stage (further right on the board, or won; skipping stages counts,
    falling back or losing does not) and how many reached a won stage afterwards.

    The cohort is fixed by the period; what became of it is read up to today, so a recent
    period's rates still grow as its deals progress.
    """
    pipeline_id = pipeline if isinstance(pipeline, int) else pipeline.pk
    every_stage = list(
        Stage.objects.for_workspace(workspace)
        .filter(pipeline_id=pipeline_id)
        .order_by("position", "id")
    )
    stages = [s for s in every_stage if s.kind == StageKind.OPEN and s.deleted_at is None]
    if not stages:
        return []
    won_ids = [s.pk for s in every_stage if s.kind == StageKind.WON]
    history = DealStageHistory.objects.for_workspace(workspace)
    in_period = {"entered_at__gte": period.start_at, "entered_at__lt": period.end_at}
    pipeline_stays = history.filter(stage_id__in=[s.pk for s in every_stage])
    cohort = _within(pipeline_stays.filter(**in_period), deals, "deal_id")
    deleted = Deal.objects.for_workspace(workspace).filter(deleted_at__isnull=False)
    # Each stay of the cohort's deals gets its stage's place on the board (won stages after
    # every open one, anything else below), and the highest place and "won" among that stay
    # and the ones after it. One pass over the deals' histories, in the order of the
    # (workspace, deal, entered_at) index, with stage ids spelled out rather than joined;
    # measured 0.2 s for a quarter of 100,000 deals on SQLite, where a correlated EXISTS per
    # stay took 1.7 s.
    won_place = len(stages)
    place = Case(
        *(When(stage_id=stage.pk, then=Value(i)) for i, stage in enumerate(stages)),
        When(stage_id__in=won_ids or [0], then=Value(won_place)),
        default=Value(-1),
    )
    is_won = Case(When(stage_id__in=won_ids or [0], then=Value(1)), default=Value(0))

    def onwards(expression: Any) -> Window:
        return Window(
            Max(expression),
            partition_by=[F("deal_id")],
            order_by=[F("entered_at").asc(), F("pk").asc()],
            frame=RowRange(start=0, end=None),
        )

    stays = (
        pipeline_stays.filter(deal_id__in=cohort.values("deal_id"))
        .exclude(deal_id__in=deleted.values("pk"))
        .annotate(place=place, reached=onwards(place), won_after=onwards(is_won))
        .order_by()
        .values("deal_id", "stage_id", "entered_at", "place", "reached", "won_after")
    )
    inner, params = stays.query.sql_with_params()
    connection = connections[stays.db]
    bounds = [
        connection.ops.adapt_datetimefield_value(period.start_at),
        connection.ops.adapt_datetimefield_value(period.end_at),
    ]
    # The period and the stage are filtered after the window, so later stays still count. The
    # inner query is the ORM's own SQL; every value goes in as a parameter.
    sql = f"SELECT stage_id, {_COHORT_COUNTS} FROM ({inner}) AS stays {_COHORT_WHERE}"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *bounds, won_place])
        counts = {row[0]: row[1:] for row in cursor.fetchall()}
    out = []
    for stage in stages:
        entered, advanced, won = counts.get(stage.pk, (0, 0, 0))
        out.append(
            StageConversion(
                stage_id=stage.pk,
                name=stage.name,
                position=stage.position,
                entered=entered,
                advanced=advanced,
                won=won,
            )
        )
    return out


# ---------------------------------------------------------------------------------------------
# Close rate and lead conversion


@dataclass(frozen=True)
class CloseRate:
    won: int
    lost: int

    @property
    def closed(self) -> int:
        return self.won + self.lost

    @property
    def rate(self) -> float | None:
        """won ÷ (won + lost); None when nothing closed."""
        return _rate(self.won, self.closed)


def close_rate(
    workspace: Workspace,
    period: Period,
    *,
    pipeline: Pipeline | int | None = None,
    owner: User | int | None = None,
    deals: QuerySet[Deal] | None = None,
) -> CloseRate:
    """Won and lost among the deals closed in `period` (won ÷ (won + lost))."""
    qs = _live_deals(workspace).filter(
        _closed_in(period), status__in=[DealStatus.WON, DealStatus.LOST]
    )
    if pipeline is not None:
        qs = qs.filter(pipeline_id=pipeline if isinstance(pipeline, int) else pipeline.pk)
    if owner is not None:
        qs = qs.filter(owner_id=_owner_id(owner))
    qs = _within(qs, deals)
    totals = qs.aggregate(
        won=Count("pk", filter=Q(status=DealStatus.WON)),
        lost=Count("pk", filter=Q(status=DealStatus.LOST)),
    )
    return CloseRate(won=totals["won"], lost=totals["lost"])


@dataclass(frozen=True)
class LeadConversion:
    created: int
    won: int

    @property
    def rate(self) -> float | None:
        """Leads that became a won deal ÷ leads created; None without leads."""
        return _rate(self.won, self.created)


def lead_conversion(
    workspace: Workspace, period: Period, *, leads: QuerySet[Lead] | None = None
) -> LeadConversion:
    """Leads created in `period`, and how many of them became a won deal (their converted
    deal is won now, whenever that happened)."""
    qs = Lead.objects.for_workspace(workspace).filter(
        deleted_at__isnull=True, created_at__gte=period.start_at, created_at__lt=period.end_at
    )
    if leads is not None:
        qs = qs.filter(pk__in=leads.values("pk"))
    totals = qs.aggregate(
        created=Count("pk"),
        won=Count(
            "pk",
            filter=Q(
                converted_deal__status=DealStatus.WON, converted_deal__deleted_at__isnull=True
            ),
        ),
    )
    return LeadConversion(created=totals["created"], won=totals["won"])
