"""Pages of pipelines and deals: the kanban board (paged columns, drag and drop, a stage
select on each card for keyboards and browsers without JavaScript), the deal list, a deal's
page (facts edited in place, the stage bar, the stage history, products, won and lost), the
new-deal form, the deals of a contact or an account, pipeline and lost-reason settings, and the
products and price lists.

Views parse the request, call a service or a selector and render.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db.models import Count
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    JsonResponse,
    QueryDict,
)
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html_join
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.timesince import timesince
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from vinculo.contacts.forms import initials, money_display
from vinculo.contacts.models import Account, Contact
from vinculo.contacts.selectors import contact_search_suggestions
from vinculo.core.access import can
from vinculo.core.exceptions import Conflict, ValidationFailed
from vinculo.core.models import User, Workspace
from vinculo.core.pages import domain_errors
from vinculo.core.pages import page_context as _context
from vinculo.core.pagination import Page
from vinculo.core.roles import Right
from vinculo.sales.deals import selectors, services
from vinculo.sales.deals.forms import (
    BoardFilterForm,
    DealFilterForm,
    DealForm,
    LineForm,
    LostForm,
    LostReasonForm,
    MoveForm,
    PipelineForm,
    PriceItemForm,
    PriceListForm,
    ProductForm,
    StageDeleteForm,
    StageForm,
    set_choices,
    stage_choices,
)
from vinculo.sales.deals.selectors import Board, BoardColumn, DealFilters
from vinculo.sales.models import Deal, DealStatus, Pipeline, Stage, StageKind

MODULE = "deals"
PRODUCTS = "products"
LIST_PAGE = 50
PRODUCT_PAGE = 50
RECORD_DEALS = 10
SUGGESTIONS = 8
MAX_ID = 2**63 - 1
BOARD_FILTERS = ("owner", "team", "q")
LIST_FILTERS = (
    "q",
    "status",
    "pipeline",
    "stage",
    "owner",
    "team",
    "contact",
    "account",
    "close_after",
    "close_before",
    "closed_after",
    "closed_before",
    "forecast_category",
    "sort",
)
# The facts of a deal's page edited one at a time, in the order shown.
FACTS = (
    "name",
    "amount",
    "currency",
    "expected_close_date",
    "forecast_category",
    "owner",
    "team",
    "contact",
    "account",
    "lost_reason",
    "external_id",
)
STATUS_COLORS = {DealStatus.OPEN: "blue", DealStatus.WON: "green", DealStatus.LOST: "red"}


# ---------------------------------------------------------------------------------------------
# Plumbing


def _htmx(request: HttpRequest) -> Any:
    htmx = getattr(request, "htmx", None)
    return htmx if htmx and not htmx.history_restore_request else None


def _target(request: HttpRequest) -> str:
    htmx = _htmx(request)
    return str(htmx.target or "") if htmx else ""


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _can(workspace: Workspace, user: User, right: Right, module: str = MODULE) -> bool:
    return can(workspace=workspace, user=user, module=module, right=right)


def _require(workspace: Workspace, user: User, right: Right, module: str = MODULE) -> None:
    if not _can(workspace, user, right, module):
        raise DjangoPermissionDenied("not allowed")


def _id(value: Any) -> int | None:
    text = str(value or "").strip()
    return int(text) if text.isdigit() and 0 < len(text) < 19 and int(text) <= MAX_ID else None


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def _with_query(url: str, pairs: Iterable[tuple[str, Any]]) -> str:
    query = urlencode([(k, v) for k, v in pairs if v not in (None, "")])
    return f"{url}?{query}" if query else url


def _url_maker(name: str) -> Callable[[int], str]:
    """A record's URL from its id without one URL reversal per row."""
    prefix, _sep, suffix = reverse(name, args=[1]).rpartition("1")
    return lambda pk: f"{prefix}{pk}{suffix}"


def _triggered(response: HttpResponse, *events: str) -> HttpResponse:
    response["HX-Trigger"] = json.dumps(dict.fromkeys(events, True))
    return response


def _params(query: QueryDict, names: Iterable[str]) -> dict[str, str]:
    return {n: query.get(n, "").strip() for n in names if query.get(n, "").strip()}


def _money(amount: Any, currency: str) -> str:
    return money_display(amount, currency)


def _date(value: Any) -> str:
    return date_format(value, "SHORT_DATE_FORMAT") if value else ""


def _deal_count(count: int) -> str:
    return ngettext("%(count)d deal", "%(count)d deals", count) % {"count": count}


def _ensure_pipeline(workspace: Workspace, user: User) -> None:
    if selectors.can_view_deals(workspace=workspace, viewer=user):
        services.pipeline_default(workspace)


# ---------------------------------------------------------------------------------------------
# The board


@dataclass(frozen=True)
class Card:
    deal: Deal
    url: str
    move_url: str
    amount: str
    company: str
    owner_initials: str
    owner_name: str
    close: str
    overdue: bool
    # The <option>s of the card's Move menu, its own stage selected (shared by the column).
    options: str


@dataclass(frozen=True)
class ColumnView:
    column: BoardColumn
    cards: list[Card]
    more_url: str
    count_label: str
    amount_label: str
    weighted_label: str

    @property
    def stage(self) -> Stage:
        return self.column.stage


def _stage_options(stages: Iterable[Stage]) -> dict[int, str]:
    """Per stage, the <option>s of a stage select with that stage chosen. A board draws a
    hundred and more Move menus: built once, not once per card by the template."""
    stages = list(stages)
    return {
        current.pk: format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            ((s.pk, " selected" if s.pk == current.pk else "", s.name) for s in stages),
        )
        for current in stages
    }


def _cards(
    deals: Iterable[Deal], currency: str, options: Mapping[int, str] | None = None
) -> list[Card]:
    detail = _url_maker("sales:deal_detail")
    move = _url_maker("sales:deal_move")
    today = timezone.localdate()
    cards = []
    for deal in deals:
        company = deal.account.name if deal.account_id and deal.account else ""
        if not company and deal.contact_id and deal.contact:
            company = deal.contact.display_name
        owner = deal.owner
        cards.append(
            Card(
                deal=deal,
                url=detail(deal.pk),
                move_url=move(deal.pk),
                amount=_money(deal.amount, deal.currency or currency),
                company=company,
                owner_initials=initials(owner.display_name) if owner else "",
                owner_name=owner.display_name if owner else "",
                close=_date(deal.expected_close_date),
                overdue=bool(
                    deal.status == DealStatus.OPEN
                    and deal.expected_close_date
                    and deal.expected_close_date < today
                ),
                options=(options or {}).get(deal.stage_id, ""),
            )
        )
    return cards


def _column_more_url(stage: Stage, page: Page[Deal], filters: Mapping[str, str]) -> str:
    if not page.next_cursor:
        return ""
    url = reverse("sales:deal_board_column", args=[stage.pk])
    return _with_query(url, [*filters.items(), ("cursor", page.next_cursor)])


def _column_view(
    column: BoardColumn, currency: str, filters: Mapping[str, str], options: Mapping[int, str]
) -> ColumnView:
    return ColumnView(
        column=column,
        cards=_cards(column.page.items, currency, options),
        more_url=_column_more_url(column.stage, column.page, filters),
        count_label=_deal_count(column.count),
        amount_label=_money(column.amount, currency),
        weighted_label=_money(column.weighted, currency),
    )


def _card_words() -> dict[str, str]:
    """What every card says, translated once per page rather than once per card."""
    return {
        "move": _("Move"),
        "stage": _("Stage"),
        "overdue": _("Overdue:"),
        "expected_close": _("Expected close"),
        "owner": _("Owner:"),
    }


def _board_filters(
    workspace: Workspace, user: User, params: Mapping[str, str]
) -> tuple[DealFilters, ValidationFailed | None]:
    try:
        return selectors.deal_filters(workspace=workspace, viewer=user, params=params), None
    except ValidationFailed as exc:
        return DealFilters(), exc


@login_required
@require_GET
@domain_errors
def deal_board(request: HttpRequest) -> HttpResponse:
    """The kanban board of a pipeline: a column per stage with its count and amounts, the first
    cards of each (more on demand), filters by owner, team and words."""
    workspace, user = _context(request)
    _require(workspace, user, Right.VIEW)
    _ensure_pipeline(workspace, user)
    filter_params = _params(request.GET, BOARD_FILTERS)
    filters, errors = _board_filters(workspace, user, filter_params)
    board = selectors.board_get(
        workspace=workspace,
        viewer=user,
        pipeline_id=_id(request.GET.get("pipeline")),
        filters=filters,
    )
    context = _board_context(request, workspace, user, board, filter_params)
    if errors is not None:
        context["filter_errors"] = [e.message for e in errors.errors]
    part = _target(request)
    status = 422 if errors is not None else 200
    if part == "board":
        response = render(request, "sales/deals/board.html#board", context, status=status)
        response["HX-Push-Url"] = context["current_url"]
        return response
    return render(request, "sales/deals/board.html", context, status=status)


def _board_context(
    request: HttpRequest,
    workspace: Workspace,
    user: User,
    board: Board,
    filter_params: Mapping[str, str],
) -> dict[str, Any]:
    currency = workspace.currency
    members = selectors.member_choices(workspace=workspace, viewer=user)
    teams = selectors.team_choices(workspace=workspace, viewer=user)
    form = BoardFilterForm(
        {**filter_params, "pipeline": str(board.pipeline.pk)},
        pipelines=board.pipelines,
        members=members,
        teams=teams,
    )
    board_url = reverse("sales:deal_board")
    current_url = _with_query(board_url, [("pipeline", board.pipeline.pk), *filter_params.items()])
    options = _stage_options(c.stage for c in board.columns)
    return {
        "board": board,
        "pipeline": board.pipeline,
        "columns": [_column_view(c, currency, filter_params, options) for c in board.columns],
        "words": _card_words(),
        "stages": [c.stage for c in board.columns],
        "form": form,
        "filtered": bool(filter_params),
        "board_url": board_url,
        "current_url": current_url,
        "clear_url": _with_query(board_url, [("pipeline", board.pipeline.pk)]),
        "list_url": _with_query(
            reverse("sales:deal_list"), [("pipeline", board.pipeline.pk), *filter_params.items()]
        ),
        "open_label": _deal_count(board.open_count),
        "open_amount": _money(board.open_amount, currency),
        "weighted_amount": _money(board.weighted_amount, currency),
        "lost_reasons": selectors.lost_reason_list(workspace=workspace, viewer=user),
        "can_create": _can(workspace, user, Right.CREATE),
        "can_move": _can(workspace, user, Right.EDIT),
        "can_configure": _can(workspace, user, Right.DELETE),
        "closed_days": selectors.CLOSED_WINDOW_DAYS,
        "filter_values": filter_params,
    }


@login_required
@require_GET
@domain_errors
def deal_board_column(request: HttpRequest, stage_id: int) -> HttpResponse:
    """The next cards of a board column ("Show more"), keyset-paged."""
    workspace, user = _context(request)
    _require(workspace, user, Right.VIEW)
    filter_params = _params(request.GET, BOARD_FILTERS)
    filters, _errors = _board_filters(workspace, user, filter_params)
    try:
        stage, page = selectors.board_column_page(
            workspace=workspace,
            viewer=user,
            stage_id=stage_id,
            filters=filters,
            cursor=request.GET.get("cursor") or None,
        )
    except ValidationFailed:
        return HttpResponse(_("This list changed; reload the board."), status=422)
    pipeline = selectors.pipeline_get(
        workspace=workspace, viewer=user, pipeline_id=stage.pipeline_id
    )
    options = _stage_options(pipeline.live_stages)  # type: ignore[attr-defined]
    context = {
        "cards": _cards(page.items, workspace.currency, options),
        "more_url": _column_more_url(stage, page, filter_params),
        "stage": stage,
        "can_move": _can(workspace, user, Right.EDIT),
        "current_url": _with_query(
            reverse("sales:deal_board"), [("pipeline", stage.pipeline_id), *filter_params.items()]
        ),
        "words": _card_words(),
    }
    return render(request, "sales/deals/board.html#more", context)


# ---------------------------------------------------------------------------------------------
# Moving and closing


def _summaries(
    workspace: Workspace, user: User, stages: Iterable[Stage], params: Mapping[str, str]
) -> list[dict[str, Any]]:
    """The figures of the columns a move changed, as the board shows them (with its
    filters)."""
    filters, _errors = _board_filters(workspace, user, params)
    stages = list(stages)
    totals = selectors.column_summaries(
        workspace=workspace, viewer=user, stages=stages, filters=filters
    )
    out = []
    for stage in stages:
        count, amount = totals[stage.pk]
        weighted = (amount * stage.probability / 100).quantize(Decimal("0.01"))
        out.append(
            {
                "stage": stage.pk,
                "count": count,
                "count_label": _deal_count(count),
                "amount": _money(amount, workspace.currency),
                "weighted": _money(weighted, workspace.currency),
            }
        )
    return out


def _form_errors(form: Any) -> dict[str, list[str]]:
    return {name: [str(m) for m in errors] for name, errors in form.errors.items()}


def _move_page(
    request: HttpRequest, workspace: Workspace, user: User, deal: Deal, form: MoveForm | None
) -> HttpResponse:
    pipelines = selectors.pipeline_list(workspace=workspace, viewer=user)
    if form is None:
        initial = {"stage": request.GET.get("stage") or str(deal.stage_id)}
        form = MoveForm(initial=initial, pipelines=pipelines)
    else:
        set_choices(form, "stage", stage_choices(pipelines))
    target = _id(form["stage"].value())
    target_stage = next(
        (s for p in pipelines for s in p.live_stages if s.pk == target),  # type: ignore[attr-defined]
        None,
    )
    context = {
        "deal": deal,
        "form": form,
        "needs_reason": target_stage is not None and target_stage.kind == StageKind.LOST,
        "lost_reasons": selectors.lost_reason_list(workspace=workspace, viewer=user),
        "next": _safe_next(request, reverse("sales:deal_detail", args=[deal.pk])),
    }
    return render(request, "sales/deals/move.html", context, status=422 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors
def deal_move(request: HttpRequest, pk: int) -> HttpResponse:
    """Move a deal to a stage (and between two cards). The board's drag and drop posts here
    asking for JSON (the moved columns' new figures come back); the Move menu of a card and
    this page's form post plain forms. A lost stage without a reason answers 422 with the
    reason asked for."""
    workspace, user = _context(request)
    deal = selectors.deal_get(workspace=workspace, viewer=user, deal_id=pk)
    if request.method != "POST":
        return _move_page(request, workspace, user, deal, None)
    post = request.POST
    try:
        moved = services.deal_move(
            workspace=workspace,
            actor=user,
            deal_id=pk,
            stage_id=_id(post.get("stage")),  # type: ignore[arg-type]
            before_id=_id(post.get("before")),
            after_id=_id(post.get("after")),
            lost_reason=post.get("lost_reason", ""),
        )
    except ValidationFailed as exc:
        form = MoveForm(post, pipelines=[])
        form.is_valid()
        form.errors.clear()
        form.add_service_errors(exc)
        if _wants_json(request):
            errors = _form_errors(form)
            return JsonResponse(
                {
                    "ok": False,
                    "errors": errors,
                    "message": " ".join(m for ms in errors.values() for m in ms),
                },
                status=422,
            )
        return _move_page(request, workspace, user, deal, form)
    if _wants_json(request):
        stages = [deal.stage] if moved.stage_id == deal.stage_id else [deal.stage, moved.stage]
        return JsonResponse(
            {
                "ok": True,
                "deal": moved.pk,
                "stage": moved.stage_id,
                "status": moved.status,
                "columns": _summaries(workspace, user, stages, _params(post, BOARD_FILTERS)),
            }
        )
    messages.success(
        request,
        _("“%(deal)s” moved to %(stage)s.") % {"deal": moved.name, "stage": moved.stage.name},
    )
    return HttpResponseRedirect(_safe_next(request, reverse("sales:deal_detail", args=[pk])))


@login_required
@require_POST
@domain_errors
def deal_close(request: HttpRequest, pk: int) -> HttpResponse:
    """Won (`won=1`) or lost (with `lost_reason`). A lost deal without a reason gets the reason
    form back (422)."""
    workspace, user = _context(request)
    won = request.POST.get("won") == "1"
    form = LostForm(request.POST if not won else None)
    if won or form.is_valid():
        try:
            deal = services.deal_close(
                workspace=workspace,
                actor=user,
                deal_id=pk,
                won=won,
                lost_reason="" if won else form.cleaned_data["lost_reason"],
            )
        except ValidationFailed as exc:
            if won:
                messages.error(request, " ".join(e.message for e in exc.errors))
                return HttpResponseRedirect(reverse("sales:deal_detail", args=[pk]))
            form.add_service_errors(exc)
        else:
            messages.success(
                request,
                _("“%(deal)s” won.") % {"deal": deal.name}
                if won
                else _("“%(deal)s” lost.") % {"deal": deal.name},
            )
            return HttpResponseRedirect(reverse("sales:deal_detail", args=[pk]))
    deal = selectors.deal_get(workspace=workspace, viewer=user, deal_id=pk)
    context = {
        "deal": deal,
        "lost_form": form,
        "lost_reasons": selectors.lost_reason_list(workspace=workspace, viewer=user),
    }
    return render(request, "sales/deals/lost.html", context, status=422)


# ---------------------------------------------------------------------------------------------
# The list


@dataclass(frozen=True)
class Row:
    deal: Deal
    url: str
    amount: str
    close: str
    overdue: bool
    status_color: str


def _rows(deals: Iterable[Deal], currency: str) -> list[Row]:
    detail = _url_maker("sales:deal_detail")
    today = timezone.localdate()
    return [
        Row(
            deal=d,
            url=detail(d.pk),
            amount=_money(d.amount, d.currency or currency),
            close=_date(d.expected_close_date),
            overdue=bool(
                d.status == DealStatus.OPEN
                and d.expected_close_date
                and d.expected_close_date < today
            ),
            status_color=STATUS_COLORS.get(DealStatus(d.status), "gray"),
        )
        for d in deals
    ]


@login_required
@require_GET
@domain_errors
def deal_list(request: HttpRequest) -> HttpResponse:
    """Every deal in a table: filters (status, pipeline, stage, owner, team, expected close
    range, words), sorts, keyset pages ("Load more" appends rows)."""
    workspace, user = _context(request)
    _require(workspace, user, Right.VIEW)
    _ensure_pipeline(workspace, user)
    params = _params(request.GET, LIST_FILTERS)
    cursor = request.GET.get("cursor") or None
    errors: ValidationFailed | None = None
    try:
        filters = selectors.deal_filters(workspace=workspace, viewer=user, params=params)
        page = selectors.deal_list(
            workspace=workspace, viewer=user, filters=filters, cursor=cursor, limit=LIST_PAGE
        )
    except ValidationFailed as exc:
        errors = exc
        page = Page(items=[], next_cursor=None)
    list_url = reverse("sales:deal_list")
    next_url = (
        _with_query(list_url, [*params.items(), ("cursor", page.next_cursor)])
        if page.next_cursor
        else ""
    )
    context: dict[str, Any] = {
        "rows": _rows(page.items, workspace.currency),
        "next_url": next_url,
        "list_url": list_url,
        "current_url": _with_query(list_url, [*params.items(), ("cursor", cursor)]),
        "filtered": any(k != "sort" for k in params),
        "errors": [e.message for e in errors.errors] if errors else [],
    }
    if _target(request) == "more-row":
        return render(request, "sales/deals/list.html#rows", context)
    pipelines = selectors.pipeline_list(workspace=workspace, viewer=user)
    context |= {
        "form": DealFilterForm(
            params,
            pipelines=pipelines,
            members=selectors.member_choices(workspace=workspace, viewer=user),
            teams=selectors.team_choices(workspace=workspace, viewer=user),
        ),
        "board_url": reverse("sales:deal_board"),
        "clear_url": list_url,
        "hidden": [(k, params[k]) for k in ("contact", "account") if k in params],
        "can_create": _can(workspace, user, Right.CREATE),
        "new_url": _with_query(
            reverse("sales:deal_new"),
            [("contact", params.get("contact")), ("account", params.get("account"))],
        ),
    }
    status = 422 if errors else 200
    if _target(request) == "deal-results":
        response = render(request, "sales/deals/list.html#results", context, status=status)
        response["HX-Push-Url"] = context["current_url"]
        return response
    return render(request, "sales/deals/list.html", context, status=status)


# ---------------------------------------------------------------------------------------------
# New, edit, delete


def _labels(workspace: Workspace, user: User, contact_id: Any, account_id: Any) -> tuple[str, str]:
    """Names of the linked contact and account the user may see (for the pickers)."""
    from vinculo.core.access import visible

    contact_label = account_label = ""
    if (cid := _id(contact_id)) is not None:
        found = (
            visible(
                Contact.objects.for_workspace(workspace).filter(deleted_at__isnull=True),
                workspace=workspace,
                viewer=user,
                module="contacts",
            )
            .filter(pk=cid)
            .first()
        )
        contact_label = found.display_name if found else ""
    if (aid := _id(account_id)) is not None:
        account_label = (
            visible(
                Account.objects.for_workspace(workspace).filter(deleted_at__isnull=True),
                workspace=workspace,
                viewer=user,
                module="accounts",
            )
            .filter(pk=aid)
            .values_list("name", flat=True)
            .first()
            or ""
        )
    return contact_label, account_label


def _deal_form(
    request: HttpRequest,
    workspace: Workspace,
    user: User,
    *,
    data: Any = None,
    initial: dict[str, Any] | None = None,
    only: list[str] | None = None,
) -> DealForm:
    initial = initial or {}
    source = data if data is not None else initial
    contact_label, account_label = _labels(
        workspace, user, source.get("contact"), source.get("account")
    )
    return DealForm(
        data,
        initial=initial,
        pipelines=selectors.pipeline_list(workspace=workspace, viewer=user),
        members=selectors.member_choices(workspace=workspace, viewer=user),
        teams=selectors.team_choices(workspace=workspace, viewer=user),
        contact_label=contact_label,
        account_label=account_label,
        only=only,
        auto_id="deal-%s",
    )


def _form_context(workspace: Workspace, user: User, form: DealForm) -> dict[str, Any]:
    return {
        "form": form,
        "lost_reasons": selectors.lost_reason_list(workspace=workspace, viewer=user),
        "contact_suggest_url": reverse("sales:deal_contact_suggest"),
        "account_suggest_url": reverse("contacts:account_suggest"),
    }


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors
def deal_new(request: HttpRequest) -> HttpResponse:
    """The new-deal form, prefilled from `contact`, `account`, `lead`, `pipeline`, `stage` and
    `name` in the address. Every field error comes back next to its input (422)."""
    workspace, user = _context(request)
    _require(workspace, user, Right.CREATE)
    default = services.pipeline_default(workspace)
    stage_id = _id(request.GET.get("stage"))
    if stage_id is None:
        pipeline_id = _id(request.GET.get("pipeline")) or default.pk
        first = (
            Stage.objects.for_workspace(workspace)
            .filter(pipeline_id=pipeline_id, deleted_at__isnull=True, kind=StageKind.OPEN)
            .order_by("position", "id")
            .values_list("pk", flat=True)
            .first()
        )
        stage_id = first
    initial = {
        "stage": str(stage_id or ""),
        "currency": workspace.currency,
        "owner": str(user.pk),
        "forecast_category": "pipeline",
        "contact": request.GET.get("contact", ""),
        "account": request.GET.get("account", ""),
        "lead": request.GET.get("lead", ""),
        "name": request.GET.get("name", "")[:200],
    }
    form = _deal_form(request, workspace, user, data=request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            deal = services.deal_create(workspace=workspace, actor=user, data=form.to_data())
        except ValidationFailed as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, _("“%(name)s” created.") % {"name": deal.name})
            return HttpResponseRedirect(reverse("sales:deal_detail", args=[deal.pk]))
    context = {**_form_context(workspace, user, form), "deal": None}
    return render(request, "sales/deals/form.html", context, status=422 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors
def deal_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Every field of a deal in one form."""
    workspace, user = _context(request)
    _require(workspace, user, Right.EDIT)
    deal = selectors.deal_get(workspace=workspace, viewer=user, deal_id=pk)
    form = _deal_form(
        request,
        workspace,
        user,
        data=request.POST or None,
        initial=DealForm.initial_of(deal),
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.deal_update(workspace=workspace, actor=user, deal_id=pk, data=form.to_data())
        except ValidationFailed as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, _("Changes saved."))
            return HttpResponseRedirect(reverse("sales:deal_detail", args=[pk]))
    context = {**_form_context(workspace, user, form), "deal": deal}
    return render(request, "sales/deals/form.html", context, status=422 if form.errors else 200)


@login_required
@require_POST
@domain_errors
def deal_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Soft-delete; the deal's page then shows it deleted, with Restore."""
    workspace, user = _context(request)
    services.deal_delete(workspace=workspace, actor=user, deal_id=pk)
    messages.success(request, _("Deal deleted. You can restore it for 30 days."))
    return HttpResponseRedirect(reverse("sales:deal_detail", args=[pk]))


@login_required
@require_POST
@domain_errors
def deal_restore(request: HttpRequest, pk: int) -> HttpResponse:
    workspace, user = _context(request)
    try:
        services.deal_restore(workspace=workspace, actor=user, deal_id=pk)
    except services.RestoreExpired as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, _("Restored."))
    return HttpResponseRedirect(reverse("sales:deal_detail", args=[pk]))


@login_required
@require_GET
def deal_contact_suggest(request: HttpRequest) -> HttpResponse:
    """Contacts matching `q`, for the deal form's contact picker (JSON)."""
    workspace, user = _context(request)
    suggestions = contact_search_suggestions(
        workspace=workspace, viewer=user, q=request.GET.get("q", "")[:100], limit=SUGGESTIONS
    )
    return JsonResponse(
        {
            "items": [
                {
                    "id": s.id,
                    "name": s.display_name or f"#{s.id}",
                    "detail": " · ".join(p for p in (s.email, s.company) if p),
                }
                for s in suggestions
            ]
        }
    )


# ---------------------------------------------------------------------------------------------
# A deal's page


@dataclass(frozen=True)
class Fact:
    name: str
    label: str
    value: str
    url: str = ""
    editable: bool = True
    note: str = ""


def _facts(
    deal: Deal,
    form_labels: Mapping[str, str],
    only: str | None = None,
    *,
    has_lines: bool = False,
) -> list[Fact]:
    values: dict[str, tuple[str, str]] = {
        "name": (deal.name, ""),
        "amount": (_money(deal.amount, deal.currency), ""),
        "currency": (deal.currency, ""),
        "expected_close_date": (_date(deal.expected_close_date), ""),
        "forecast_category": (str(deal.get_forecast_category_display()), ""),
        "owner": (deal.owner.display_name if deal.owner else "", ""),
        "team": (deal.team.name if deal.team else "", ""),
        "contact": (
            deal.contact.display_name if deal.contact else "",
            reverse("contacts:detail", args=[deal.contact_id]) if deal.contact_id else "",
        ),
        "account": (
            deal.account.name if deal.account else "",
            reverse("contacts:account_detail", args=[deal.account_id]) if deal.account_id else "",
        ),
        "lost_reason": (deal.lost_reason, ""),
        "external_id": (deal.external_id, ""),
    }
    names = [only] if only else list(FACTS)
    facts = [Fact(n, form_labels[n], *values[n]) for n in names]
    if has_lines:
        # The amount of a deal with products is their total: changed through them.
        facts = [
            Fact(f.name, f.label, f.value, f.url, False, _("The total of its products."))
            if f.name == "amount"
            else f
            for f in facts
        ]
    return facts


def _fact_labels() -> dict[str, str]:
    return {name: str(field.label) for name, field in DealForm.base_fields.items()}


@dataclass(frozen=True)
class Stay:
    stage: Stage
    entered_at: Any
    left_at: Any
    entered_by: str
    duration: str


def _stays(workspace: Workspace, deal: Deal) -> list[Stay]:
    now = timezone.now()
    out = []
    for stay in selectors.deal_stage_history(workspace=workspace, deal=deal):
        out.append(
            Stay(
                stage=stay.stage,
                entered_at=stay.entered_at,
                left_at=stay.left_at,
                entered_by=stay.entered_by.display_name if stay.entered_by else "",
                duration=timesince(stay.entered_at, stay.left_at or now, depth=2),
            )
        )
    return out


@dataclass(frozen=True)
class LineRow:
    line: Any
    unit_price: str
    total: str


def _line_rows(workspace: Workspace, deal: Deal) -> tuple[list[LineRow], str]:
    from vinculo.sales.deals.validation import line_total

    rows = []
    total = Decimal(0)
    for line in selectors.deal_lines(workspace=workspace, deal=deal):
        amount = line_total(line.quantity, line.unit_price, line.discount_percent)
        total += amount
        rows.append(
            LineRow(
                line=line,
                unit_price=_money(line.unit_price, deal.currency),
                total=_money(amount, deal.currency),
            )
        )
    return rows, _money(total, deal.currency)


def _detail_context(
    request: HttpRequest, workspace: Workspace, user: User, deal: Deal
) -> dict[str, Any]:
    pipeline = (
        selectors.pipeline_get(workspace=workspace, viewer=user, pipeline_id=deal.pipeline_id)
        if deal.pipeline.deleted_at is None
        else None
    )
    stages = pipeline.live_stages if pipeline else [deal.stage]  # type: ignore[attr-defined]
    live = deal.deleted_at is None
    can_edit = live and _can(workspace, user, Right.EDIT)
    current_index = next((i for i, s in enumerate(stages) if s.pk == deal.stage_id), -1)
    lines, lines_total = _line_rows(workspace, deal)
    lost_stage = next((s for s in stages if s.kind == StageKind.LOST), None)
    return {
        "deal": deal,
        "stages": stages,
        "open_stages": [s for s in stages if s.kind == StageKind.OPEN],
        "current_index": current_index,
        "lost_stage": lost_stage,
        "status_color": STATUS_COLORS.get(DealStatus(deal.status), "gray"),
        "amount": _money(deal.amount, deal.currency),
        "weighted": _money(
            (deal.amount * deal.stage.probability / 100).quantize(Decimal("0.01")), deal.currency
        ),
        "close": _date(deal.expected_close_date),
        "facts": _facts(deal, _fact_labels(), has_lines=bool(lines)),
        "stays": _stays(workspace, deal),
        "lines": lines,
        "lines_total": lines_total,
        "line_form": LineForm(
            products=selectors.product_choices(workspace=workspace, viewer=user),
            auto_id="line-%s",
        )
        if can_edit
        else None,
        "editable": can_edit,
        "can_delete": _can(workspace, user, Right.DELETE),
        "lost_form": LostForm(auto_id="lost-%s"),
        "lost_reasons": selectors.lost_reason_list(workspace=workspace, viewer=user),
        "initials": initials(deal.name),
        "deleted_on": _date(timezone.localtime(deal.deleted_at)) if deal.deleted_at else "",
    }


@login_required
@require_GET
@domain_errors
def deal_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A deal's page. `?part=header` answers the header alone (it refreshes itself after a
    fact or a line changes)."""
    workspace, user = _context(request)
    deal = selectors.deal_get(workspace=workspace, viewer=user, deal_id=pk, with_deleted=True)
    context = _detail_context(request, workspace, user, deal)
    part = request.GET.get("part") if _htmx(request) else None
    if part in ("header", "facts"):
        return render(request, f"sales/deals/detail.html#{part}", context)
    return render(request, "sales/deals/detail.html", context)


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors
def deal_field(request: HttpRequest, pk: int, name: str) -> HttpResponse:
    """One fact edited in place: GET answers its small form (`?display=1`: its value again),
    POST saves it and answers the new value; a bad value comes back in the form (422)."""
    workspace, user = _context(request)
    if name not in FACTS:
        raise Http404("no such field")
    context: dict[str, Any] = {"field_name": name, "editable": True}
    if request.method == "POST":
        form = _deal_form(request, workspace, user, data=request.POST, only=[name])
        if form.is_valid():
            try:
                deal = services.deal_update(
                    workspace=workspace, actor=user, deal_id=pk, data=form.to_data()
                )
            except ValidationFailed as exc:
                form.add_service_errors(exc)
            else:
                if not _htmx(request):
                    return HttpResponseRedirect(reverse("sales:deal_detail", args=[pk]))
                deal = selectors.deal_get(workspace=workspace, viewer=user, deal_id=pk)
                context |= {"fact": _facts(deal, _fact_labels(), only=name)[0], "deal": deal}
                response = render(request, "sales/deals/detail.html#fact", context)
                return _triggered(response, "record-changed", "timeline-changed")
        if not _htmx(request):
            messages.error(request, " ".join(str(m) for ms in form.errors.values() for m in ms))
            return HttpResponseRedirect(reverse("sales:deal_detail", args=[pk]))
        context |= {"form": form, "deal_pk": pk, **_form_context(workspace, user, form)}
        return render(request, "sales/deals/detail.html#fact_form", context, status=422)
    deal = selectors.deal_get(workspace=workspace, viewer=user, deal_id=pk)
    if request.GET.get("display"):
        context |= {"fact": _facts(deal, _fact_labels(), only=name)[0], "deal": deal}
        return render(request, "sales/deals/detail.html#fact", context)
    _require(workspace, user, Right.EDIT)
    form = _deal_form(request, workspace, user, initial=DealForm.initial_of(deal), only=[name])
    context |= {"form": form, "deal_pk": pk, **_form_context(workspace, user, form)}
    return render(request, "sales/deals/detail.html#fact_form", context)


# ---------------------------------------------------------------------------------------------
# Products on a deal


def _lines_answer(
    request: HttpRequest,
    workspace: Workspace,
    user: User,
    pk: int,
    *,
    form: LineForm | None = None,
    status: int = 200,
) -> HttpResponse:
    if not _htmx(request):
        if form is not None and form.errors:
            messages.error(request, " ".join(str(m) for ms in form.errors.values() for m in ms))
        return HttpResponseRedirect(reverse("sales:deal_detail", args=[pk]) + "#deal-lines")
    deal = selectors.deal_get(workspace=workspace, viewer=user, deal_id=pk)
    context = _detail_context(request, workspace, user, deal)
    if form is not None:
        context["line_form"] = form
    response = render(request, "sales/deals/detail.html#lines", context, status=status)
    if status != 200:
        return response
    return _triggered(response, "record-changed", "deal-lines-changed", "timeline-changed")


@login_required
@require_POST
@domain_errors
def deal_line_add(request: HttpRequest, pk: int) -> HttpResponse:
    workspace, user = _context(request)
    selectors.deal_get(workspace=workspace, viewer=user, deal_id=pk)
    form = LineForm(
        request.POST,
        products=selectors.product_choices(workspace=workspace, viewer=user),
        auto_id="line-%s",
    )
    if form.is_valid():
        try:
            services.deal_line_add(
                workspace=workspace, actor=user, deal_id=pk, data=form.to_data(creating=True)
            )
        except ValidationFailed as exc:
            form.add_service_errors(exc)
        else:
            return _lines_answer(request, workspace, user, pk)
    return _lines_answer(request, workspace, user, pk, form=form, status=422)


@login_required
@require_POST
@domain_errors
def deal_line_remove(request: HttpRequest, pk: int, line_id: int) -> HttpResponse:
    workspace, user = _context(request)
    services.deal_line_remove(workspace=workspace, actor=user, deal_id=pk, line_id=line_id)
    return _lines_answer(request, workspace, user, pk)


# ---------------------------------------------------------------------------------------------
# The deals of a contact or an account (a slot of their page)


@login_required
@require_GET
@domain_errors
def record_deals(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    """The deals of a contact or an account, open ones first, with a prefilled "New deal"."""
    workspace, user = _context(request)
    if kind not in selectors.RECORD_KINDS:
        raise Http404("no such record")
    if not _can(workspace, user, Right.VIEW):
        return HttpResponse("")
    page = selectors.record_deal_list(
        workspace=workspace, viewer=user, kind=kind, record_id=pk, limit=RECORD_DEALS
    )
    totals = selectors.record_deal_totals(workspace=workspace, viewer=user, kind=kind, record_id=pk)
    new_params: list[tuple[str, Any]] = [(kind, pk)]
    if kind == "contact":
        account_id = (
            Contact.objects.for_workspace(workspace)
            .filter(pk=pk)
            .values_list("account_id", flat=True)
            .first()
        )
        new_params.append(("account", account_id))
    context = {
        "kind": kind,
        "rows": _rows(page.items, workspace.currency),
        "more": bool(page.next_cursor),
        "all_url": _with_query(reverse("sales:deal_list"), [(kind, pk)]),
        "new_url": _with_query(reverse("sales:deal_new"), new_params),
        "can_create": _can(workspace, user, Right.CREATE),
        "open_label": _deal_count(totals["open"]),
        "open_amount": _money(totals["amount"], workspace.currency),
        "has_open": totals["open"] > 0,
    }
    return render(request, "sales/deals/record_deals.html", context)


# ---------------------------------------------------------------------------------------------
# Pipeline settings


def _settings_context(workspace: Workspace, user: User) -> dict[str, Any]:
    return {
        "pipelines": selectors.pipeline_list(workspace=workspace, viewer=user),
        "can_configure": _can(workspace, user, Right.DELETE),
    }


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors
def pipeline_settings(request: HttpRequest) -> HttpResponse:
    """The pipelines with their stages; a form to add one (with the default stages)."""
    workspace, user = _context(request)
    _require(workspace, user, Right.VIEW)
    _ensure_pipeline(workspace, user)
    form = PipelineForm(request.POST or None, auto_id="pipeline-%s")
    if request.method == "POST":
        _require(workspace, user, Right.DELETE)
        if form.is_valid():
            try:
                pipeline = services.pipeline_create(
                    workspace=workspace, actor=user, data=form.cleaned_data
                )
            except ValidationFailed as exc:
                form.add_service_errors(exc)
            else:
                messages.success(
                    request, _("Pipeline “%(name)s” created.") % {"name": pipeline.name}
                )
                return HttpResponseRedirect(reverse("sales:pipeline_edit", args=[pipeline.pk]))
    context = {**_settings_context(workspace, user), "form": form}
    return render(
        request, "sales/deals/pipelines.html", context, status=422 if form.errors else 200
    )


def _pipeline_page(
    request: HttpRequest,
    workspace: Workspace,
    user: User,
    pipeline: Pipeline,
    *,
    form: PipelineForm | None = None,
    stage_forms: Mapping[int, StageForm] | None = None,
    new_stage: StageForm | None = None,
    delete_errors: Mapping[int, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    stages = pipeline.live_stages  # type: ignore[attr-defined]
    counts = dict(
        Deal.objects.for_workspace(workspace)
        .filter(stage__in=stages, deleted_at__isnull=True)
        .values_list("stage_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    forms = dict(stage_forms or {})
    rows = []
    for stage in stages:
        stage_form = forms.get(stage.pk) or StageForm(
            initial={"name": stage.name, "probability": stage.probability, "kind": stage.kind},
            prefix=f"s{stage.pk}",
        )
        # The row's inputs sit in their own table cells, tied to the row's form by its id.
        for field in stage_form.fields.values():
            field.widget.attrs["form"] = f"stage-form-{stage.pk}"
        delete_form = StageDeleteForm(prefix=f"d{stage.pk}")
        set_choices(
            delete_form,
            "move_to",
            [("", "—")]
            + [(str(s.pk), s.name) for s in stages if s.kind == stage.kind and s.pk != stage.pk],
        )
        rows.append(
            {
                "stage": stage,
                "form": stage_form,
                "delete_form": delete_form,
                "deals": counts.get(stage.pk, 0),
                "delete_error": (delete_errors or {}).get(stage.pk, ""),
            }
        )
    context = {
        **_settings_context(workspace, user),
        "pipeline": pipeline,
        "form": form
        or PipelineForm(
            initial={"name": pipeline.name, "is_default": pipeline.is_default},
            auto_id="pipeline-%s",
        ),
        "rows": rows,
        "new_stage": new_stage or StageForm(prefix="new", initial={"probability": 50}),
        "open_deals": sum(counts.get(s.pk, 0) for s in stages if s.kind == StageKind.OPEN),
    }
    return render(request, "sales/deals/pipeline.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors
def pipeline_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """A pipeline: its name and default flag, its stages (name, probability, meaning, order),
    adding and deleting stages, deleting the pipeline."""
    workspace, user = _context(request)
    _require(workspace, user, Right.VIEW)
    pipeline = selectors.pipeline_get(workspace=workspace, viewer=user, pipeline_id=pk)
    if request.method != "POST":
        return _pipeline_page(request, workspace, user, pipeline)
    _require(workspace, user, Right.DELETE)
    form = PipelineForm(request.POST, auto_id="pipeline-%s")
    if form.is_valid():
        data = dict(form.cleaned_data)
        if not data["is_default"]:
            data.pop("is_default")
        try:
            services.pipeline_update(workspace=workspace, actor=user, pipeline_id=pk, data=data)
        except ValidationFailed as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, _("Pipeline saved."))
            return HttpResponseRedirect(reverse("sales:pipeline_edit", args=[pk]))
    return _pipeline_page(request, workspace, user, pipeline, form=form, status=422)


@login_required
@require_POST
@domain_errors
def pipeline_delete(request: HttpRequest, pk: int) -> HttpResponse:
    workspace, user = _context(request)
    try:
        services.pipeline_delete(workspace=workspace, actor=user, pipeline_id=pk)
    except Conflict as exc:
        messages.error(request, exc.detail)
        return HttpResponseRedirect(reverse("sales:pipeline_edit", args=[pk]))
    messages.success(request, _("Pipeline deleted."))
    return HttpResponseRedirect(reverse("sales:pipeline_settings"))


@login_required
@require_POST
@domain_errors
def stage_new(request: HttpRequest, pk: int) -> HttpResponse:
    workspace, user = _context(request)
    form = StageForm(request.POST, prefix="new")
    if form.is_valid():
        try:
            services.stage_create(
                workspace=workspace, actor=user, pipeline_id=pk, data=form.cleaned_data
            )
        except ValidationFailed as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, _("Stage added."))
            return HttpResponseRedirect(reverse("sales:pipeline_edit", args=[pk]))
    pipeline = selectors.pipeline_get(workspace=workspace, viewer=user, pipeline_id=pk)
    return _pipeline_page(request, workspace, user, pipeline, new_stage=form, status=422)


@login_required
@require_POST
@domain_errors
def stage_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Save a stage's row; `move=up|down` moves it one place instead."""
    workspace, user = _context(request)
    stage = selectors.stage_get(workspace=workspace, viewer=user, stage_id=pk)
    pipeline = selectors.pipeline_get(
        workspace=workspace, viewer=user, pipeline_id=stage.pipeline_id
    )
    back = HttpResponseRedirect(reverse("sales:pipeline_edit", args=[pipeline.pk]))
    direction = request.POST.get("move")
    if direction in ("up", "down"):
        order = [s.pk for s in pipeline.live_stages]  # type: ignore[attr-defined]
        i = order.index(stage.pk)
        j = i - 1 if direction == "up" else i + 1
        if 0 <= j < len(order):
            order[i], order[j] = order[j], order[i]
            services.stage_reorder(
                workspace=workspace, actor=user, pipeline_id=pipeline.pk, stage_ids=order
            )
        return back
    form = StageForm(request.POST, prefix=f"s{pk}")
    if form.is_valid():
        try:
            services.stage_update(
                workspace=workspace, actor=user, stage_id=pk, data=form.cleaned_data
            )
        except ValidationFailed as exc:
            form.add_service_errors(exc)
        else:
            messages.success(
                request, _("Stage “%(name)s” saved.") % {"name": form.cleaned_data["name"]}
            )
            return back
    return _pipeline_page(request, workspace, user, pipeline, stage_forms={pk: form}, status=422)


@login_required
@require_POST
@domain_errors
def stage_order(request: HttpRequest, pk: int) -> HttpResponse:
    """The stages in a new order (`stage` repeated), from the drag and drop of the settings."""
    workspace, user = _context(request)
    ids = [i for i in (_id(v) for v in request.POST.getlist("stage")) if i is not None]
    try:
        services.stage_reorder(workspace=workspace, actor=user, pipeline_id=pk, stage_ids=ids)
    except ValidationFailed as exc:
        if _wants_json(request):
            return JsonResponse({"ok": False, "message": exc.errors[0].message}, status=422)
        messages.error(request, exc.errors[0].message)
    if _wants_json(request):
        return JsonResponse({"ok": True})
    return HttpResponseRedirect(reverse("sales:pipeline_edit", args=[pk]))


@login_required
@require_POST
@domain_errors
def stage_delete(request: HttpRequest, pk: int) -> HttpResponse:
    workspace, user = _context(request)
    stage = selectors.stage_get(workspace=workspace, viewer=user, stage_id=pk)
    move_to = _id(request.POST.get(f"d{pk}-move_to"))
    try:
        services.stage_delete(
            workspace=workspace, actor=user, stage_id=pk, move_to_stage_id=move_to
        )
    except ValidationFailed as exc:
        pipeline = selectors.pipeline_get(
            workspace=workspace, viewer=user, pipeline_id=stage.pipeline_id
        )
        return _pipeline_page(
            request,
            workspace,
            user,
            pipeline,
            delete_errors={pk: " ".join(e.message for e in exc.errors)},
            status=422,
        )
    messages.success(request, _("Stage “%(name)s” deleted.") % {"name": stage.name})
    return HttpResponseRedirect(reverse("sales:pipeline_edit", args=[stage.pipeline_id]))


# ---------------------------------------------------------------------------------------------
# Lost reasons


def _reasons_page(
    request: HttpRequest,
    workspace: Workspace,
    user: User,
    *,
    form: LostReasonForm | None = None,
    edit_forms: Mapping[int, LostReasonForm] | None = None,
    status: int = 200,
) -> HttpResponse:
    reasons = selectors.lost_reason_list(workspace=workspace, viewer=user)
    edits = dict(edit_forms or {})
    context = {
        **_settings_context(workspace, user),
        "form": form or LostReasonForm(auto_id="reason-%s"),
        "rows": [(r, edits.get(r.pk) or LostReasonForm.for_reason(r)) for r in reasons],
    }
    return render(request, "sales/deals/lost_reasons.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors
def lost_reasons(request: HttpRequest) -> HttpResponse:
    """The reasons offered when a deal is lost: add, rename, order, remove."""
    workspace, user = _context(request)
    _require(workspace, user, Right.VIEW)
    if request.method != "POST":
        return _reasons_page(request, workspace, user)
    form = LostReasonForm(request.POST, auto_id="reason-%s")
    if form.is_valid():
        try:
            services.lost_reason_create(
                workspace=workspace, actor=user, name=form.cleaned_data["name"]
            )
        except ValidationFailed as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, _("Reason added."))
            return HttpResponseRedirect(reverse("sales:lost_reasons"))
    return _reasons_page(request, workspace, user, form=form, status=422)


@login_required
@require_POST
@domain_errors
def lost_reason_edit(request: HttpRequest, pk: int) -> HttpResponse:
    workspace, user = _context(request)
    back = HttpResponseRedirect(reverse("sales:lost_reasons"))
    if request.POST.get("delete"):
        services.lost_reason_delete(workspace=workspace, actor=user, reason_id=pk)
        messages.success(request, _("Reason removed."))
        return back
    if request.POST.get("move") in ("up", "down"):
        order = [r.pk for r in selectors.lost_reason_list(workspace=workspace, viewer=user)]
        if pk in order:
            i = order.index(pk)
            j = i - 1 if request.POST["move"] == "up" else i + 1
            if 0 <= j < len(order):
                order[i], order[j] = order[j], order[i]
                services.lost_reason_reorder(workspace=workspace, actor=user, reason_ids=order)
        return back
    form = LostReasonForm(request.POST, prefix=f"r{pk}")
    if form.is_valid():
        try:
            services.lost_reason_update(
                workspace=workspace, actor=user, reason_id=pk, name=form.cleaned_data["name"]
            )
        except ValidationFailed as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, _("Reason saved."))
            return back
    return _reasons_page(request, workspace, user, edit_forms={pk: form}, status=422)


# ---------------------------------------------------------------------------------------------
# Products


def _product_rights(workspace: Workspace, user: User) -> dict[str, bool]:
    return {
        f"can_{right}": _can(workspace, user, right, PRODUCTS)
        for right in (Right.CREATE, Right.EDIT, Right.DELETE)
    }


@login_required
@require_GET
@domain_errors
def product_list(request: HttpRequest) -> HttpResponse:
    """The catalogue: search by name or code, active or not, keyset pages."""
    workspace, user = _context(request)
    _require(workspace, user, Right.VIEW, PRODUCTS)
    q = request.GET.get("q", "").strip()[:200]
    active_param = request.GET.get("active", "")
    active = {"1": True, "0": False}.get(active_param)
    cursor = request.GET.get("cursor") or None
    try:
        page = selectors.product_list(
            workspace=workspace, viewer=user, q=q, active=active, cursor=cursor, limit=PRODUCT_PAGE
        )
    except ValidationFailed:
        page = Page(items=[], next_cursor=None)
    list_url = reverse("sales:product_list")
    filters = [("q", q), ("active", active_param if active is not None else "")]
    context = {
        "rows": [(p, _money(p.unit_price, p.currency)) for p in page.items],
        "q": q,
        "active": active_param if active is not None else "",
        "filtered": bool(q or active is not None),
        "next_url": _with_query(list_url, [*filters, ("cursor", page.next_cursor)])
        if page.next_cursor
        else "",
        "list_url": list_url,
        **_product_rights(workspace, user),
    }
    if _target(request) == "more-row":
        return render(request, "sales/deals/products.html#rows", context)
    if _target(request) == "product-results":
        response = render(request, "sales/deals/products.html#results", context)
        response["HX-Push-Url"] = _with_query(list_url, filters)
        return response
    return render(request, "sales/deals/products.html", context)


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors
def product_new(request: HttpRequest) -> HttpResponse:
    workspace, user = _context(request)
    _require(workspace, user, Right.CREATE, PRODUCTS)
    form = ProductForm(
        request.POST or None,
        initial={"currency": workspace.currency, "is_active": True, "unit_price": 0},
        auto_id="product-%s",
    )
    if request.method == "POST" and form.is_valid():
        try:
            product = services.product_create(workspace=workspace, actor=user, data=form.to_data())
        except ValidationFailed as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, _("“%(name)s” added.") % {"name": product.name})
            return HttpResponseRedirect(reverse("sales:product_list"))
    return render(
        request,
        "sales/deals/product_form.html",
        {"form": form, "product": None},
        status=422 if form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors
def product_edit(request: HttpRequest, pk: int) -> HttpResponse:
    workspace, user = _context(request)
    _require(workspace, user, Right.EDIT, PRODUCTS)
    product = selectors.product_get(workspace=workspace, viewer=user, product_id=pk)
    form = ProductForm(
        request.POST or None, initial=ProductForm.initial_of(product), auto_id="product-%s"
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.product_update(
                workspace=workspace, actor=user, product_id=pk, data=form.to_data()
            )
        except ValidationFailed as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, _("Changes saved."))
            return HttpResponseRedirect(reverse("sales:product_list"))
    return render(
        request,
        "sales/deals/product_form.html",
        {"form": form, "product": product, **_product_rights(workspace, user)},
        status=422 if form.errors else 200,
    )


@login_required
@require_POST
@domain_errors
def product_active(request: HttpRequest, pk: int) -> HttpResponse:
    """Switch a product on or off (`active=1|0`)."""
    workspace, user = _context(request)
    product = services.product_update(
        workspace=workspace,
        actor=user,
        product_id=pk,
        data={"is_active": request.POST.get("active") == "1"},
    )
    if _htmx(request):
        context = {"product": product, **_product_rights(workspace, user)}
        return render(request, "sales/deals/products.html#toggle", context)
    return HttpResponseRedirect(_safe_next(request, reverse("sales:product_list")))


@login_required
@require_POST
@domain_errors
def product_delete(request: HttpRequest, pk: int) -> HttpResponse:
    workspace, user = _context(request)
    product = selectors.product_get(workspace=workspace, viewer=user, product_id=pk)
    services.product_delete(workspace=workspace, actor=user, product_id=pk)
    messages.success(request, _("“%(name)s” removed from the catalogue.") % {"name": product.name})
    return HttpResponseRedirect(reverse("sales:product_list"))


# ---------------------------------------------------------------------------------------------
# Price lists


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors
def price_lists(request: HttpRequest) -> HttpResponse:
    workspace, user = _context(request)
    _require(workspace, user, Right.VIEW, PRODUCTS)
    form = PriceListForm(
        request.POST or None, initial={"currency": workspace.currency}, auto_id="pricelist-%s"
    )
    if request.method == "POST":
        _require(workspace, user, Right.CREATE, PRODUCTS)
        if form.is_valid():
            try:
                price_list = services.price_list_create(
                    workspace=workspace, actor=user, data=form.to_data()
                )
            except ValidationFailed as exc:
                form.add_service_errors(exc)
            else:
                messages.success(
                    request, _("Price list “%(name)s” created.") % {"name": price_list.name}
                )
                return HttpResponseRedirect(
                    reverse("sales:price_list_detail", args=[price_list.pk])
                )
    context = {
        "price_lists": selectors.price_list_list(workspace=workspace, viewer=user),
        "form": form,
        **_product_rights(workspace, user),
    }
    return render(
        request, "sales/deals/price_lists.html", context, status=422 if form.errors else 200
    )


def _price_list_page(
    request: HttpRequest,
    workspace: Workspace,
    user: User,
    pk: int,
    *,
    form: PriceListForm | None = None,
    item_form: PriceItemForm | None = None,
    status: int = 200,
) -> HttpResponse:
    price_list = selectors.price_list_get(workspace=workspace, viewer=user, price_list_id=pk)
    products = selectors.product_choices(workspace=workspace, viewer=user)
    context = {
        "price_list": price_list,
        "items": [
            (
                item,
                _money(item.unit_price, price_list.currency or workspace.currency),
                _money(item.product.unit_price, item.product.currency or workspace.currency),
            )
            for item in price_list.live_items  # type: ignore[attr-defined]
        ],
        "form": form
        or PriceListForm(
            initial={
                "name": price_list.name,
                "currency": price_list.currency,
                "is_default": price_list.is_default,
                "valid_from": price_list.valid_from,
                "valid_until": price_list.valid_until,
            },
            auto_id="pricelist-%s",
        ),
        "item_form": item_form or PriceItemForm(products=products),
        **_product_rights(workspace, user),
    }
    return render(request, "sales/deals/price_list.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors
def price_list_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A price list: its settings and its products' prices."""
    workspace, user = _context(request)
    _require(workspace, user, Right.VIEW, PRODUCTS)
    if request.method != "POST":
        return _price_list_page(request, workspace, user, pk)
    form = PriceListForm(request.POST, auto_id="pricelist-%s")
    if form.is_valid():
        try:
            services.price_list_update(
                workspace=workspace, actor=user, price_list_id=pk, data=form.to_data()
            )
        except ValidationFailed as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, _("Changes saved."))
            return HttpResponseRedirect(reverse("sales:price_list_detail", args=[pk]))
    return _price_list_page(request, workspace, user, pk, form=form, status=422)


@login_required
@require_POST
@domain_errors
def price_list_item(request: HttpRequest, pk: int) -> HttpResponse:
    """Set a product's price in the list (added or changed)."""
    workspace, user = _context(request)
    products = selectors.product_choices(workspace=workspace, viewer=user)
    form = PriceItemForm(request.POST, products=products)
    if form.is_valid():
        try:
            services.price_list_item_set(
                workspace=workspace,
                actor=user,
                price_list_id=pk,
                product_id=_id(form.cleaned_data["product"]) or 0,
                unit_price=form.cleaned_data["unit_price"],
            )
        except ValidationFailed as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, _("Price saved."))
            return HttpResponseRedirect(reverse("sales:price_list_detail", args=[pk]))
    return _price_list_page(request, workspace, user, pk, item_form=form, status=422)


@login_required
@require_POST
@domain_errors
def price_list_item_remove(request: HttpRequest, pk: int, product_id: int) -> HttpResponse:
    workspace, user = _context(request)
    services.price_list_item_remove(
        workspace=workspace, actor=user, price_list_id=pk, product_id=product_id
    )
    messages.success(request, _("Price removed."))
    return HttpResponseRedirect(reverse("sales:price_list_detail", args=[pk]))


@login_required
@require_POST
@domain_errors
def price_list_delete(request: HttpRequest, pk: int) -> HttpResponse:
    workspace, user = _context(request)
    services.price_list_delete(workspace=workspace, actor=user, price_list_id=pk)
    messages.success(request, _("Price list deleted."))
    return HttpResponseRedirect(reverse("sales:price_lists"))
