"""Reads of pipelines, deals, products and price lists, with record access applied: the one
way the board, the lists, the pages and the API fetch them. Related rows come with the list in
a fixed number of queries, never one per row."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Case, Count, IntegerField, Prefetch, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from vinculo.core.access import can, visible
from vinculo.core.exceptions import ErrorCollector, FieldError, NotFound, ValidationFailed
from vinculo.core.models import Membership, Team, TeamMember, User, Workspace
from vinculo.core.pagination import Page, decode_cursor, keyset_page
from vinculo.core.roles import Right
from vinculo.core.search import normalize_text
from vinculo.sales.deals.validation import MAX_ID
from vinculo.sales.models import (
    ZERO,
    Deal,
    DealLine,
    DealStageHistory,
    DealStatus,
    ForecastCategory,
    LostReason,
    Pipeline,
    PriceList,
    PriceListItem,
    Product,
    Stage,
    StageKind,
)

MODULE = "deals"
PRODUCTS = "products"
BOARD_PAGE = 20
# Won and lost columns show the deals closed lately: the board is for the deals being worked,
# and years of closed deals would bury the few that matter this month.
CLOSED_WINDOW_DAYS = 30
# Blank expected close dates sort after every real one.
_NO_DATE = dt.date(9999, 12, 31)

SORTS: dict[str, list[str]] = {
    "-created_at": ["-created_at", "-id"],
    "created_at": ["created_at", "id"],
    "name": ["sort_name", "id"],
    "-name": ["-sort_name", "-id"],
    "expected_close_date": ["close_sort", "id"],
    "-expected_close_date": ["-close_sort", "-id"],
    "amount": ["amount", "id"],
    "-amount": ["-amount", "-id"],
    "-updated_at": ["-updated_at", "-id"],
}
DEFAULT_SORT = "-created_at"
_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no", ""}
MAX_QUERY_TOKENS = 8


# ---------------------------------------------------------------------------------------------
# Pipelines and stages


def _can_view(workspace: Workspace, viewer: User | None, module: str = MODULE) -> bool:
    return viewer is None or can(workspace=workspace, user=viewer, module=module, right=Right.VIEW)


def can_view_deals(*, workspace: Workspace, viewer: User | None) -> bool:
    return _can_view(workspace, viewer)


def _live_stages_prefetch(workspace: Workspace) -> Prefetch:
    return Prefetch(
        "stages",
        queryset=Stage.objects.for_workspace(workspace)
        .filter(deleted_at__isnull=True)
        .order_by("position", "id"),
        to_attr="live_stages",
    )


def pipeline_list(*, workspace: Workspace, viewer: User | None) -> list[Pipeline]:
    """The live pipelines in their order, each with `live_stages` (ordered). Two queries;
    nothing for a viewer without sight of deals."""
    if not _can_view(workspace, viewer):
        return []
    return list(
        Pipeline.objects.for_workspace(workspace)
        .filter(deleted_at__isnull=True)
        .order_by("position", "id")
        .prefetch_related(_live_stages_prefetch(workspace))
    )


def pipeline_get(*, workspace: Workspace, viewer: User | None, pipeline_id: int) -> Pipeline:
    """A live pipeline with `live_stages`; NotFound otherwise (also for other workspaces)."""
    pk = pipeline_id if 0 < pipeline_id <= MAX_ID else 0
    found = None
    if _can_view(workspace, viewer):
        found = (
            Pipeline.objects.for_workspace(workspace)
            .filter(pk=pk, deleted_at__isnull=True)
            .prefetch_related(_live_stages_prefetch(workspace))
            .first()
        )
    if found is None:
        raise NotFound(_("There is no such pipeline."))
    return found


def stage_get(*, workspace: Workspace, viewer: User | None, stage_id: int) -> Stage:
    pk = stage_id if 0 < stage_id <= MAX_ID else 0
    found = None
    if _can_view(workspace, viewer):
        found = (
            Stage.objects.for_workspace(workspace)
            .filter(pk=pk, deleted_at__isnull=True, pipeline__deleted_at__isnull=True)
            .select_related("pipeline")
            .first()
        )
    if found is None:
        raise NotFound(_("There is no such stage."))
    return found


def lost_reason_list(*, workspace: Workspace, viewer: User | None) -> list[LostReason]:
    if not _can_view(workspace, viewer):
        return []
    return list(
        LostReason.objects.for_workspace(workspace)
        .filter(deleted_at__isnull=True)
        .order_by("position", "id")
    )


# ---------------------------------------------------------------------------------------------
# Deal filters


@dataclass(frozen=True)
class DealFilters:
    """Validated list filters; build with `deal_filters`."""

    exact: dict[str, Any] = field(default_factory=dict)
    owner_none: bool = False
    team_id: int | None = None
    close_after: dt.date | None = None
    close_before: dt.date | None = None
    closed_after: dt.date | None = None
    closed_before: dt.date | None = None
    q: str = ""
    deleted: bool = False
    sort: str = DEFAULT_SORT

    @property
    def order(self) -> list[str]:
        return SORTS[self.sort]

    def apply(self, qs: QuerySet[Deal], *, workspace: Workspace) -> QuerySet[Deal]:
        qs = qs.filter(deleted_at__isnull=not self.deleted)
        if self.exact:
            qs = qs.filter(**self.exact)
        if self.owner_none:
            qs = qs.filter(owner__isnull=True)
        if self.team_id is not None:
            members = TeamMember.objects.for_workspace(workspace).filter(team_id=self.team_id)
            qs = qs.filter(Q(team_id=self.team_id) | Q(owner_id__in=members.values("user_id")))
        if self.close_after is not None:
            qs = qs.filter(expected_close_date__gte=self.close_after)
        if self.close_before is not None:
            qs = qs.filter(expected_close_date__lte=self.close_before)
        # Closing days are read in the workspace's time zone (the forecast's periods are).
        if self.closed_after is not None:
            qs = qs.filter(closed_at__gte=_day_start(self.closed_after, workspace))
        if self.closed_before is not None:
            after = self.closed_before + dt.timedelta(days=1)
            qs = qs.filter(closed_at__lt=_day_start(after, workspace))
        return search_deals(qs, self.q)


def _day_start(day: dt.date, workspace: Workspace) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=zoneinfo.ZoneInfo(workspace.time_zone))


def search_deals(qs: QuerySet[Deal], q: str) -> QuerySet[Deal]:
    """Deals whose name, account or contact holds every word of `q` (accents and case
    ignored). A blank `q` leaves `qs` alone."""
    tokens = normalize_text(q).split()[:MAX_QUERY_TOKENS]
    for token in tokens:
        qs = qs.filter(
            Q(sort_name__contains=token)
            | Q(account__sort_name__contains=token)
            | Q(contact__sort_name__contains=token)
        )
    return qs


def _params(params: Mapping[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (params or {}).items() if v is not None and v != ""}


def _int(errors: ErrorCollector, name: str, raw: Any) -> int | None:
    text = str(raw).strip()
    if not text.isdigit() or not 0 < int(text) <= MAX_ID:
        errors.add(name, "invalid-id", _("Enter a numeric id."))
        return None
    return int(text)


def _day(errors: ErrorCollector, name: str, raw: Any) -> dt.date | None:
    if isinstance(raw, dt.date):
        return raw
    try:
        return dt.date.fromisoformat(str(raw).strip())
    except ValueError:
        errors.add(name, "invalid-date", _("Enter a date as YYYY-MM-DD."))
        return None


def deal_filters(
    *, workspace: Workspace, viewer: User | None, params: Mapping[str, Any] | None = None
) -> DealFilters:
    """Parse list parameters — status (open/won/lost), pipeline, stage, owner (id, "me" or
    "none"), team, contact, account, lead, forecast_category, close_after / close_before
    (expected close, YYYY-MM-DD), closed_after / closed_before (when won or lost), q, deleted,
    sort — into filters. Raises ValidationFailed naming every bad parameter."""
    errors = ErrorCollector()
    values = _params(params)
    exact: dict[str, Any] = {}
    if "status" in values:
        status = str(values["status"]).strip()
        if status not in DealStatus.values:
            errors.add(
                "status",
                "invalid-choice",
                _("Choose one of: %(options)s.") % {"options": ", ".join(DealStatus.values)},
            )
        exact["status"] = status
    if "forecast_category" in values:
        category = str(values["forecast_category"]).strip()
        if category not in ForecastCategory.values:
            errors.add(
                "forecast_category",
                "invalid-choice",
                _("Choose one of: %(options)s.") % {"options": ", ".join(ForecastCategory.values)},
            )
        exact["forecast_category"] = category
    for name in ("pipeline", "stage", "contact", "account", "lead"):
        if name in values and (pk := _int(errors, name, values[name])) is not None:
            exact[f"{name}_id"] = pk
    owner_none = False
    if "owner" in values:
        text = str(values["owner"]).strip().lower()
        if text == "none":
            owner_none = True
        elif text == "me":
            exact["owner_id"] = viewer.pk if viewer is not None else -1
        elif (owner_id := _int(errors, "owner", values["owner"])) is not None:
            exact["owner_id"] = owner_id
    team_id = _int(errors, "team", values["team"]) if "team" in values else None
    close_after = (
        _day(errors, "close_after", values["close_after"]) if "close_after" in values else None
    )
    close_before = (
        _day(errors, "close_before", values["close_before"]) if "close_before" in values else None
    )
    if close_after and close_before and close_before < close_after:
        errors.add("close_before", "before-start", _("The end comes before the start."))
    closed_after = (
        _day(errors, "closed_after", values["closed_after"]) if "closed_after" in values else None
    )
    closed_before = (
        _day(errors, "closed_before", values["closed_before"])
        if "closed_before" in values
        else None
    )
    if closed_after and closed_before and closed_before < closed_after:
        errors.add("closed_before", "before-start", _("The end comes before the start."))
    deleted = False
    if "deleted" in values:
        text = str(values["deleted"]).strip().lower()
        if text not in _TRUE | _FALSE:
            errors.add("deleted", "invalid-boolean", _("Use true or false."))
        deleted = text in _TRUE
    sort = str(values.get("sort") or DEFAULT_SORT)
    if sort not in SORTS:
        errors.add(
            "sort",
            "invalid-sort",
            _("Sort by one of: %(options)s.") % {"options": ", ".join(SORTS)},
        )
        sort = DEFAULT_SORT
    q = str(values.get("q") or "")[:200]
    errors.raise_if_any()
    return DealFilters(
        exact=exact,
        owner_none=owner_none,
        team_id=team_id,
        close_after=close_after,
        close_before=close_before,
        closed_after=closed_after,
        closed_before=closed_before,
        q=q,
        deleted=deleted,
        sort=sort,
    )


# ---------------------------------------------------------------------------------------------
# Deals


def deal_base(*, workspace: Workspace, viewer: User | None) -> QuerySet[Deal]:
    return visible(
        Deal.objects.for_workspace(workspace), workspace=workspace, viewer=viewer, module=MODULE
    )


def _with_related(qs: QuerySet[Deal]) -> QuerySet[Deal]:
    return qs.select_related("pipeline", "stage", "owner", "team", "contact", "account", "lead")


def _check_cursor(cursor: str | None, filters: DealFilters) -> None:
    """A cursor made for another sort would compare a name with a date: refuse it here rather
    than fail in the database."""
    if not cursor:
        return
    values = decode_cursor(cursor, size=len(filters.order))
    *leading, pk = values
    ok = not isinstance(pk, bool) and isinstance(pk, int)
    if leading:
        first = leading[0]
        key = filters.sort.lstrip("-")
        if key == "name":
            ok = ok and isinstance(first, str)
        elif key in ("created_at", "updated_at"):
            ok = ok and isinstance(first, dt.datetime)
        elif key == "expected_close_date":
            ok = ok and isinstance(first, dt.date) and not isinstance(first, dt.datetime)
        elif key == "amount":
            ok = ok and isinstance(first, Decimal | int) and not isinstance(first, bool)
    if not ok:
        raise ValidationFailed(
            [FieldError("cursor", "invalid", _("The cursor is not valid for this list."))]
        )


def deal_list(
    *,
    workspace: Workspace,
    viewer: User | None,
    filters: DealFilters | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[Deal]:
    """One page of the deals `viewer` may see, filtered and sorted (keyset pagination), with
    their pipeline, stage, owner, team, contact, account and lead."""
    filters = filters or DealFilters()
    _check_cursor(cursor, filters)
    qs = filters.apply(deal_base(workspace=workspace, viewer=viewer), workspace=workspace)
    if filters.sort.lstrip("-") == "expected_close_date":
        qs = qs.annotate(close_sort=Coalesce("expected_close_date", Value(_NO_DATE)))
    return keyset_page(_with_related(qs), order=filters.order, after=cursor, limit=limit)


def deal_get(
    *, workspace: Workspace, viewer: User | None, deal_id: int, with_deleted: bool = False
) -> Deal:
    """A deal `viewer` may see (live, or also soft-deleted with `with_deleted`: its page
    shows a Restore banner); NotFound otherwise, also for other workspaces."""
    pk = deal_id if 0 < deal_id <= MAX_ID else 0
    qs = _with_related(deal_base(workspace=workspace, viewer=viewer)).filter(pk=pk)
    if not with_deleted:
        qs = qs.filter(deleted_at__isnull=True)
    deal = qs.first()
    if deal is None:
        raise NotFound(_("There is no such deal."))
    return deal


def deal_stage_history(*, workspace: Workspace, deal: Deal) -> list[DealStageHistory]:
    """The deal's stays in each stage, oldest first, with the stage and who moved it."""
    return list(
        DealStageHistory.objects.for_workspace(workspace)
        .filter(deal=deal)
        .select_related("stage", "entered_by", "left_by")
        .order_by("entered_at", "id")
    )


def deal_lines(*, workspace: Workspace, deal: Deal) -> list[DealLine]:
    return list(
        DealLine.objects.for_workspace(workspace)
        .filter(deal=deal)
        .select_related("product")
        .order_by("position", "id")
    )


RECORD_KINDS = ("contact", "account")


def record_deal_list(
    *,
    workspace: Workspace,
    viewer: User | None,
    kind: str,
    record_id: int,
    cursor: str | None = None,
    limit: int = 10,
) -> Page[Deal]:
    """The live deals of a contact or an account, open ones first, newest first."""
    if kind not in RECORD_KINDS:
        raise NotFound(_("There is no such record."))
    pk = record_id if 0 < record_id <= MAX_ID else 0
    qs = (
        deal_base(workspace=workspace, viewer=viewer)
        .filter(**{f"{kind}_id": pk, "deleted_at__isnull": True})
        .annotate(
            open_rank=Case(
                When(status=DealStatus.OPEN, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            )
        )
        .select_related("stage", "owner")
    )
    return keyset_page(qs, order=["open_rank", "-created_at", "-id"], after=cursor, limit=limit)


def record_deal_totals(
    *, workspace: Workspace, viewer: User | None, kind: str, record_id: int
) -> dict[str, Any]:
    """How many open deals a record has and their amount; one query."""
    if kind not in RECORD_KINDS:
        return {"open": 0, "amount": ZERO}
    pk = record_id if 0 < record_id <= MAX_ID else 0
    row = (
        deal_base(workspace=workspace, viewer=viewer)
        .filter(**{f"{kind}_id": pk, "deleted_at__isnull": True, "status": DealStatus.OPEN})
        .aggregate(open=Count("id"), amount=Sum("amount"))
    )
    return {"open": row["open"] or 0, "amount": row["amount"] or ZERO}


# ---------------------------------------------------------------------------------------------
# The board


@dataclass
class BoardColumn:
    stage: Stage
    count: int
    amount: Decimal
    page: Page[Deal]

    @property
    def weighted(self) -> Decimal:
        return (self.amount * self.stage.probability / 100).quantize(Decimal("0.01"))

    @property
    def closed(self) -> bool:
        return self.stage.kind != StageKind.OPEN


@dataclass
class Board:
    pipeline: Pipeline
    pipelines: list[Pipeline]
    columns: list[BoardColumn]

    @property
    def open_count(self) -> int:
        return sum(c.count for c in self.columns if not c.closed)

    @property
    def open_amount(self) -> Decimal:
        return sum((c.amount for c in self.columns if not c.closed), ZERO)

    @property
    def weighted_amount(self) -> Decimal:
        return sum((c.weighted for c in self.columns if not c.closed), ZERO)


def closed_since() -> dt.datetime:
    return timezone.now() - dt.timedelta(days=CLOSED_WINDOW_DAYS)


def _board_deals(
    *, workspace: Workspace, viewer: User | None, filters: DealFilters
) -> QuerySet[Deal]:
    base = deal_base(workspace=workspace, viewer=viewer)
    return DealFilters(
        exact={k: val for k, val in filters.exact.items() if k in ("owner_id",)},
        owner_none=filters.owner_none,
        team_id=filters.team_id,
        q=filters.q,
    ).apply(base, workspace=workspace)


_CLOSED_STATUS = {StageKind.WON: DealStatus.WON, StageKind.LOST: DealStatus.LOST}
OPEN_ORDER = ["position", "id"]
# Won and lost columns list the latest closed first: the order people look for there, and
# the one the (workspace, status, closed_at) index serves.
CLOSED_ORDER = ["-closed_at", "-id"]


def column_order(stage: Stage) -> list[str]:
    return OPEN_ORDER if stage.kind == StageKind.OPEN else CLOSED_ORDER


def _column_query(qs: QuerySet[Deal], stage: Stage, since: dt.datetime) -> QuerySet[Deal]:
    # Filtering by the stage alone (not its pipeline) and, for a closed column, by the status
    # its kind means lets SQLite's planner pick the right index; with the pipeline it scans
    # the whole workspace.
    if stage.kind == StageKind.OPEN:
        return qs.filter(stage_id=stage.pk)
    return qs.filter(
        stage_id=stage.pk, status=_CLOSED_STATUS[StageKind(stage.kind)], closed_at__gte=since
    )


def _totals(
    deals: QuerySet[Deal], stages: list[Stage], since: dt.datetime
) -> dict[int, tuple[int, Decimal]]:
    """Count and amount per stage: one query for the open stages, one for the closed ones."""
    open_ids = [s.pk for s in stages if s.kind == StageKind.OPEN]
    closed_ids = [s.pk for s in stages if s.kind != StageKind.OPEN]
    totals: dict[int, tuple[int, Decimal]] = {}
    queries = []
    if open_ids:
        queries.append(deals.filter(stage_id__in=open_ids, status=DealStatus.OPEN))
    if closed_ids:
        queries.append(
            deals.filter(
                stage_id__in=closed_ids,
                status__in=[DealStatus.WON, DealStatus.LOST],
                closed_at__gte=since,
            )
        )
    for qs in queries:
        rows = qs.values("stage_id").annotate(n=Count("id"), total=Sum("amount")).order_by()
        for row in rows:
            totals[row["stage_id"]] = (row["n"], row["total"] or ZERO)
    return totals


def board_get(
    *,
    workspace: Workspace,
    viewer: User | None,
    pipeline_id: int | None = None,
    filters: DealFilters | None = None,
    per_column: int = BOARD_PAGE,
) -> Board:
    """The kanban board of a pipeline (the default one when None): a column per stage with its
    count and amount and its first `per_column` cards, filtered by owner, team and `q`. Won and
    lost columns hold the deals closed in the last CLOSED_WINDOW_DAYS days.

    Queries: the pipelines with their stages (2), the open and the closed totals (2), then one
    indexed query per column that holds cards (workspace, stage, position). NotFound when the
    workspace has no pipeline (`pipeline_default` makes the first one)."""
    filters = filters or DealFilters()
    pipelines = pipeline_list(workspace=workspace, viewer=viewer)
    if not pipelines:
        raise NotFound(_("There is no such pipeline."))
    if pipeline_id is None:
        pipeline = next((p for p in pipelines if p.is_default), pipelines[0])
    else:
        found = next((p for p in pipelines if p.pk == pipeline_id), None)
        if found is None:
            raise NotFound(_("There is no such pipeline."))
        pipeline = found
    stages: list[Stage] = pipeline.live_stages  # type: ignore[attr-defined]
    since = closed_since()
    deals = _board_deals(workspace=workspace, viewer=viewer, filters=filters)
    totals = _totals(deals, stages, since)
    columns = []
    for stage in stages:
        count, amount = totals.get(stage.pk, (0, ZERO))
        if count:
            page = keyset_page(
                _column_query(deals, stage, since).select_related("owner", "contact", "account"),
                order=column_order(stage),
                limit=per_column,
            )
        else:
            page = Page(items=[], next_cursor=None)
        columns.append(BoardColumn(stage=stage, count=count, amount=amount, page=page))
    return Board(pipeline=pipeline, pipelines=pipelines, columns=columns)


def board_column_page(
    *,
    workspace: Workspace,
    viewer: User | None,
    stage_id: int,
    filters: DealFilters | None = None,
    cursor: str | None = None,
    per_column: int = BOARD_PAGE,
) -> tuple[Stage, Page[Deal]]:
    """The next cards of one column ("show more"), after `cursor`."""
    filters = filters or DealFilters()
    stage = stage_get(workspace=workspace, viewer=viewer, stage_id=stage_id)
    if cursor:
        values = decode_cursor(cursor, size=2)
        if (
            not isinstance(values[0], int | float)
            or isinstance(values[1], bool)
            or not isinstance(values[1], int)
        ):
            raise ValidationFailed(
                [FieldError("cursor", "invalid", _("The cursor is not valid for this list."))]
            )
    deals = _board_deals(workspace=workspace, viewer=viewer, filters=filters)
    page = keyset_page(
        _column_query(deals, stage, closed_since()).select_related("owner", "contact", "account"),
        order=["position", "id"],
        after=cursor,
        limit=per_column,
    )
    return stage, page


def column_summaries(
    *,
    workspace: Workspace,
    viewer: User | None,
    stages: list[Stage],
    filters: DealFilters | None = None,
) -> dict[int, tuple[int, Decimal]]:
    """Count and amount of some columns (after a card moved between them)."""
    filters = filters or DealFilters()
    deals = _board_deals(workspace=workspace, viewer=viewer, filters=filters)
    totals = _totals(deals, stages, closed_since())
    return {stage.pk: totals.get(stage.pk, (0, ZERO)) for stage in stages}


# ---------------------------------------------------------------------------------------------
# People and teams the filters and pickers offer


def member_choices(*, workspace: Workspace, viewer: User | None) -> list[User]:
    """The active members a deal can be given to, by name. One query."""
    if not _can_view(workspace, viewer):
        return []
    members = Membership.objects.for_workspace(workspace).filter(
        is_active=True, user__is_active=True
    )
    users = [m.user for m in members.select_related("user")]
    return sorted(users, key=lambda u: (u.display_name.casefold(), u.pk))


def team_choices(*, workspace: Workspace, viewer: User | None) -> list[Team]:
    if not _can_view(workspace, viewer):
        return []
    return list(Team.objects.for_workspace(workspace).order_by("name", "id"))


# ---------------------------------------------------------------------------------------------
# Products and price lists


PRODUCT_SORT = ["name", "id"]


def product_list(
    *,
    workspace: Workspace,
    viewer: User | None,
    q: str = "",
    active: bool | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[Product]:
    """A page of the live products by name; `q` matches name or code, `active` narrows."""
    if not _can_view(workspace, viewer, PRODUCTS):
        return Page(items=[], next_cursor=None)
    if cursor:
        values = decode_cursor(cursor, size=2)
        if (
            not isinstance(values[0], str)
            or isinstance(values[1], bool)
            or not isinstance(values[1], int)
        ):
            raise ValidationFailed(
                [FieldError("cursor", "invalid", _("The cursor is not valid for this list."))]
            )
    qs = Product.objects.for_workspace(workspace).filter(deleted_at__isnull=True)
    if active is not None:
        qs = qs.filter(is_active=active)
    for token in q.split()[:MAX_QUERY_TOKENS]:
        qs = qs.filter(Q(name__icontains=token) | Q(code__icontains=token))
    return keyset_page(qs, order=PRODUCT_SORT, after=cursor, limit=limit)


def product_get(*, workspace: Workspace, viewer: User | None, product_id: int) -> Product:
    pk = product_id if 0 < product_id <= MAX_ID else 0
    found = None
    if _can_view(workspace, viewer, PRODUCTS):
        found = (
            Product.objects.for_workspace(workspace).filter(pk=pk, deleted_at__isnull=True).first()
        )
    if found is None:
        raise NotFound(_("There is no such product."))
    return found


def product_choices(
    *, workspace: Workspace, viewer: User | None, limit: int = 500
) -> list[Product]:
    """Active products for a deal line's picker, by name."""
    if not _can_view(workspace, viewer, PRODUCTS):
        return []
    return list(
        Product.objects.for_workspace(workspace)
        .filter(deleted_at__isnull=True, is_active=True)
        .order_by("name", "id")[:limit]
    )


def _items_prefetch(workspace: Workspace) -> Prefetch:
    return Prefetch(
        "items",
        queryset=PriceListItem.objects.for_workspace(workspace)
        .filter(product__deleted_at__isnull=True)
        .select_related("product")
        .order_by("product__name", "id"),
        to_attr="live_items",
    )


def price_list_list(*, workspace: Workspace, viewer: User | None) -> list[PriceList]:
    """The live price lists (default first, then by name) with how many products each
    prices. One query."""
    if not _can_view(workspace, viewer, PRODUCTS):
        return []
    return list(
        PriceList.objects.for_workspace(workspace)
        .filter(deleted_at__isnull=True)
        .annotate(item_count=Count("items", filter=Q(items__product__deleted_at__isnull=True)))
        .order_by("-is_default", "name", "id")
    )


def price_list_get(*, workspace: Workspace, viewer: User | None, price_list_id: int) -> PriceList:
    """A live price list with `live_items` (product and price, by product name)."""
    pk = price_list_id if 0 < price_list_id <= MAX_ID else 0
    found = None
    if _can_view(workspace, viewer, PRODUCTS):
        found = (
            PriceList.objects.for_workspace(workspace)
            .filter(pk=pk, deleted_at__isnull=True)
            .prefetch_related(_items_prefetch(workspace))
            .first()
        )
    if found is None:
        raise NotFound(_("There is no such price list."))
    return found
