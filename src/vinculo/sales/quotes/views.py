"""Pages of quotes and orders.

Staff pages (the quotes list, the quote editor, its printable view and PDF, the deal's quotes
slot, the orders list and detail, a contact's or account's "What they bought") need a login and
a workspace; the customer's page (/q/<token>) needs neither: the signed token is the key.
Views parse the request, call one service or selector and render; service errors become field
messages (422) or a clear page.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from vinculo.core.exceptions import (
    ApplicationError,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from vinculo.core.models import User, Workspace
from vinculo.core.pages import page_context as _context
from vinculo.core.ratelimit import client_ip, rate_limit_hit
from vinculo.sales.models import OrderChannel, OrderStatus, Quote, QuoteLine, QuoteStatus
from vinculo.sales.quotes import links, selectors, services
from vinculo.sales.quotes.pdf import html_to_pdf, pdf_available

LIST_PAGE_SIZE = 50
RECORD_ORDERS_SHOWN = 10
STATUS_COLORS = {
    QuoteStatus.DRAFT: "gray",
    QuoteStatus.SENT: "blue",
    QuoteStatus.ACCEPTED: "green",
    QuoteStatus.DECLINED: "red",
    QuoteStatus.EXPIRED: "orange",
    QuoteStatus.CANCELLED: "gray",
}
LINE_INPUTS = (
    "product_id",
    "description",
    "quantity",
    "unit_price",
    "discount_percent",
    "tax_rate",
)
NUMBER_COLUMNS = (
    ("quantity", gettext_lazy("Qty")),
    ("unit_price", gettext_lazy("Unit price")),
    ("discount_percent", gettext_lazy("Discount %")),
    ("tax_rate", gettext_lazy("Tax %")),
)
HEADER_INPUTS = ("title", "contact_id", "price_list_id", "currency", "valid_until", "terms")


def _htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _template(request: HttpRequest, page: str, partial: str) -> str:
    return f"{page}#{partial}" if _htmx(request) else page


def _redirect(request: HttpRequest, url: str) -> HttpResponse:
    if _htmx(request):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return HttpResponseRedirect(url)


def _base_url(request: HttpRequest) -> str:
    return request.build_absolute_uri("/")


def _errors_by_field(exc: ValidationFailed) -> dict[str, str]:
    found: dict[str, str] = {}
    for error in exc.errors:
        found.setdefault(error.field, str(error.message))
    return found


def _forbidden(exc: PermissionDenied) -> DjangoPermissionDenied:
    return DjangoPermissionDenied(str(exc))


# ---------------------------------------------------------------------------------------------
# The quotes list


def _status_filter(raw: str | None) -> str:
    return raw if raw in QuoteStatus.values else ""


@login_required
@require_GET
def quote_list(request: HttpRequest) -> HttpResponse:
    """Every quote the viewer may see, newest first; `?status=` narrows it, `?after=` is the
    "load more" cursor (an htmx request then answers the next rows only)."""
    workspace, user = _context(request)
    status = _status_filter(request.GET.get("status"))
    after = request.GET.get("after") or None
    try:
        page = selectors.quote_list(
            workspace=workspace,
            viewer=user,
            status=status or None,
            after=after,
            limit=LIST_PAGE_SIZE,
        )
    except ValidationFailed:
        return HttpResponse(status=400)
    base = reverse("sales:quote_list")
    kept = {"status": status} if status else {}
    more_url = ""
    if page.next_cursor:
        more_url = f"{base}?{urlencode({**kept, 'after': page.next_cursor})}"
    context = {
        "page": page,
        "status": status,
        "statuses": QuoteStatus.choices,
        "colors": STATUS_COLORS,
        "more_url": more_url,
        "first_url": (f"{base}?{urlencode(kept)}" if kept else base) if after else "",
    }
    template = "sales/quotes/list.html"
    if _htmx(request) and after:
        return render(request, f"{template}#rows", context)
    return render(request, _template(request, template, "results"), context)


# ---------------------------------------------------------------------------------------------
# The quote editor


def _editor_context(workspace: Workspace, user: User, quote: Quote, **extra: Any) -> dict[str, Any]:
    editable = quote.status == QuoteStatus.DRAFT and selectors.can_edit_quotes(
        workspace=workspace, viewer=user
    )
    context: dict[str, Any] = {
        "quote": quote,
        "lines": list(quote.lines.all()),
        "editable": editable,
        "can_send": quote.status in (QuoteStatus.DRAFT, QuoteStatus.SENT)
        and selectors.can_edit_quotes(workspace=workspace, viewer=user),
        "can_cancel": quote.status in (QuoteStatus.DRAFT, QuoteStatus.SENT)
        and selectors.can_edit_quotes(workspace=workspace, viewer=user),
        "colors": STATUS_COLORS,
        "pdf": pdf_available(),
        "public_path": links.public_path(quote) if quote.status == QuoteStatus.SENT else "",
        "line_errors": {},
        "new_line_errors": {},
        "new_line": {},
        "header_errors": {},
        "send_errors": [],
    }
    line_values = extra.pop("line_values", {})
    line_errors = extra.pop("line_errors", {})
    rows = []
    for line in context["lines"]:
        values = {**_line_display(line), **line_values.get(line.pk, {})}
        errors = line_errors.get(line.pk, {})
        rows.append(
            {
                "line": line,
                "values": values,
                "errors": errors,
                "cells": [
                    {"name": name, "label": label, "value": values[name], "error": errors.get(name)}
                    for name, label in NUMBER_COLUMNS
                ],
            }
        )
    context["rows"] = rows
    header = _header_display(quote)
    header.update(extra.pop("header_values", {}))
    context["header"] = header
    if editable:
        context["products"] = selectors.product_choices(workspace=workspace)
        context["price_lists"] = selectors.price_list_choices(workspace=workspace)
        context["contacts"] = selectors.quote_contact_choices(
            workspace=workspace, viewer=user, quote=quote
        )
    context.update(extra)
    return context


def _decimal_text(value: Any, places: int | None) -> str:
    """A stored Decimal as the person types it in their language: "1,5", "49,90"."""
    if places is None:
        return number_format(Decimal(format(value.normalize(), "f")), use_l10n=True)
    return number_format(value, decimal_pos=places, use_l10n=True)


def _line_display(line: QuoteLine) -> dict[str, str]:
    return {
        "product_id": str(line.product_id or ""),
        "description": line.description,
        "quantity": _decimal_text(line.quantity, None),
        "unit_price": _decimal_text(line.unit_price, 2),
        "discount_percent": _decimal_text(line.discount_percent, None),
        "tax_rate": _decimal_text(line.tax_rate, None),
    }


def _header_display(quote: Quote) -> dict[str, str]:
    return {
        "title": quote.title,
        "contact_id": str(quote.contact_id or ""),
        "price_list_id": str(quote.price_list_id or ""),
        "currency": quote.currency,
        "valid_until": quote.valid_until.isoformat() if quote.valid_until else "",
        "terms": quote.terms,
    }


def _quote_or_404(workspace: Workspace, user: User, pk: int) -> Quote:
    try:
        return selectors.quote_get(workspace=workspace, viewer=user, quote_id=pk)
    except NotFound as exc:
        raise Http404(str(exc)) from exc


@login_required
@require_GET
def quote_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The quote editor: header, lines with live totals (a draft), or the quote as sent with
    its status and customer link (the others)."""
    workspace, user = _context(request)
    quote = _quote_or_404(workspace, user, pk)
    return render(request, "sales/quotes/editor.html", _editor_context(workspace, user, quote))


@login_required
@require_POST
def quote_new(request: HttpRequest) -> HttpResponse:
    """Draft a quote for the deal in `deal` (its products become the lines) and open it."""
    workspace, user = _context(request)
    try:
        quote = services.quote_create(
            workspace=workspace, actor=user, deal_id=request.POST.get("deal", ""), data={}
        )
    except PermissionDenied as exc:
        raise _forbidden(exc) from exc
    except ValidationFailed as exc:
        raise Http404(str(exc)) from exc
    return _redirect(request, reverse("sales:quote_detail", args=[quote.pk]))


@login_required
@require_POST
def quote_header(request: HttpRequest, pk: int) -> HttpResponse:
    """Save the header of a draft quote; errors come back next to their fields (422)."""
    workspace, user = _context(request)
    data: dict[str, Any] = {
        name: request.POST.get(name, "") for name in HEADER_INPUTS if name in request.POST
    }
    if "contact_id" in data and not data["contact_id"]:
        data["contact_id"] = None
    if "price_list_id" in data and not data["price_list_id"]:
        data["price_list_id"] = None
    status = 200
    extra: dict[str, Any] = {}
    try:
        services.quote_update(workspace=workspace, actor=user, quote_id=pk, data=data)
        extra["header_saved"] = True
    except NotFound as exc:
        raise Http404(str(exc)) from exc
    except PermissionDenied as exc:
        raise _forbidden(exc) from exc
    except ValidationFailed as exc:
        status = 422
        extra["header_errors"] = _errors_by_field(exc)
        extra["header_values"] = data
    except ApplicationError as exc:
        status = 409
        extra["header_problem"] = exc.detail
    quote = _quote_or_404(workspace, user, pk)
    context = _editor_context(workspace, user, quote, **extra)
    if not _htmx(request):
        if status == 200:
            return HttpResponseRedirect(reverse("sales:quote_detail", args=[pk]))
        return render(request, "sales/quotes/editor.html", context, status=status)
    response = render(request, "sales/quotes/editor.html#header", context, status=status)
    response["HX-Trigger"] = "quote-changed"
    return response


def _line_data(request: HttpRequest) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name in LINE_INPUTS:
        if name in request.POST:
            value = request.POST.get(name, "").strip()
            if name == "product_id":
                data[name] = value or None
            elif value or name in ("description", "quantity"):
                data[name] = value
    return data


def _lines_response(
    request: HttpRequest,
    workspace: Workspace,
    user: User,
    pk: int,
    *,
    status: int = 200,
    **extra: Any,
) -> HttpResponse:
    quote = _quote_or_404(workspace, user, pk)
    context = _editor_context(workspace, user, quote, **extra)
    if not _htmx(request):
        if status == 200:
            return HttpResponseRedirect(reverse("sales:quote_detail", args=[pk]))
        return render(request, "sales/quotes/editor.html", context, status=status)
    context["oob"] = True
    return render(request, "sales/quotes/editor.html#lines", context, status=status)


def _line_write(request: HttpRequest, pk: int, write: Any, **errors_key: Any) -> HttpResponse:
    workspace, user = _context(request)
    try:
        write(workspace, user)
    except NotFound as exc:
        raise Http404(str(exc)) from exc
    except PermissionDenied as exc:
        raise _forbidden(exc) from exc
    except ValidationFailed as exc:
        return _lines_response(
            request, workspace, user, pk, status=422, **{k: v(exc) for k, v in errors_key.items()}
        )
    except ApplicationError as exc:
        return _lines_response(request, workspace, user, pk, status=409, lines_problem=exc.detail)
    return _lines_response(request, workspace, user, pk)


@login_required
@require_POST
def quote_line_add(request: HttpRequest, pk: int) -> HttpResponse:
    """Add a line (a product, or a description and price) to a draft quote."""
    data = _line_data(request)

    def write(workspace: Workspace, user: User) -> None:
        services.quote_line_add(workspace=workspace, actor=user, quote_id=pk, data=data)

    return _line_write(
        request,
        pk,
        write,
        new_line_errors=_errors_by_field,
        new_line=lambda exc: data,
    )


@login_required
@require_POST
def quote_line_update(request: HttpRequest, pk: int, line_pk: int) -> HttpResponse:
    """Change a line; answers the lines with the totals recomputed (the editor's live
    totals: each field posts its row on change)."""
    data = _line_data(request)

    def write(workspace: Workspace, user: User) -> None:
        services.quote_line_update(
            workspace=workspace, actor=user, quote_id=pk, line_id=line_pk, data=data
        )

    return _line_write(
        request,
        pk,
        write,
        line_errors=lambda exc: {line_pk: _errors_by_field(exc)},
        line_values=lambda exc: {line_pk: data},
    )


@login_required
@require_POST
def quote_line_remove(request: HttpRequest, pk: int, line_pk: int) -> HttpResponse:
    def write(workspace: Workspace, user: User) -> None:
        services.quote_line_remove(workspace=workspace, actor=user, quote_id=pk, line_id=line_pk)

    return _line_write(request, pk, write)


@login_required
@require_POST
def quote_line_move(request: HttpRequest, pk: int, line_pk: int) -> HttpResponse:
    """Move a line one place up or down (`direction`): the keyboard way to reorder."""
    direction = request.POST.get("direction")

    def write(workspace: Workspace, user: User) -> None:
        quote = selectors.quote_get(workspace=workspace, viewer=user, quote_id=pk)
        ids = [line.pk for line in quote.lines.all()]
        if line_pk not in ids:
            raise NotFound(_("There is no such line on this quote."))
        i = ids.index(line_pk)
        j = i - 1 if direction == "up" else i + 1
        if 0 <= j < len(ids):
            ids[i], ids[j] = ids[j], ids[i]
            services.quote_lines_reorder(workspace=workspace, actor=user, quote_id=pk, line_ids=ids)

    return _line_write(request, pk, write)


@login_required
@require_POST
def quote_send(request: HttpRequest, pk: int) -> HttpResponse:
    """Send (or send again) the quote to its contact; what stops it is listed on the page."""
    workspace, user = _context(request)
    try:
        services.quote_send(
            workspace=workspace, actor=user, quote_id=pk, base_url=_base_url(request)
        )
    except NotFound as exc:
        raise Http404(str(exc)) from exc
    except PermissionDenied as exc:
        raise _forbidden(exc) from exc
    except ValidationFailed as exc:
        quote = _quote_or_404(workspace, user, pk)
        context = _editor_context(
            workspace, user, quote, send_errors=[str(e.message) for e in exc.errors]
        )
        return render(request, "sales/quotes/editor.html", context, status=422)
    except ApplicationError as exc:
        quote = _quote_or_404(workspace, user, pk)
        context = _editor_context(workspace, user, quote, send_errors=[exc.detail])
        return render(request, "sales/quotes/editor.html", context, status=409)
    return _redirect(request, reverse("sales:quote_detail", args=[pk]) + "?sent=1")


@login_required
@require_POST
def quote_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    """Withdraw a draft or sent quote (the page asks first)."""
    workspace, user = _context(request)
    try:
        services.quote_cancel(workspace=workspace, actor=user, quote_id=pk)
    except NotFound as exc:
        raise Http404(str(exc)) from exc
    except PermissionDenied as exc:
        raise _forbidden(exc) from exc
    except ApplicationError as exc:
        quote = _quote_or_404(workspace, user, pk)
        context = _editor_context(workspace, user, quote, send_errors=[exc.detail])
        return render(request, "sales/quotes/editor.html", context, status=409)
    return _redirect(request, reverse("sales:quote_detail", args=[pk]))


# ---------------------------------------------------------------------------------------------
# Printable quote and PDF


def _document_context(quote: Quote, workspace: Workspace) -> dict[str, Any]:
    return {
        "quote": quote,
        "lines": list(quote.lines.all()),
        "company": workspace,
        "issued_on": (quote.sent_at or quote.created_at),
        "pdf": pdf_available(),
    }


@login_required
@require_GET
def quote_print(request: HttpRequest, pk: int) -> HttpResponse:
    """The quote as the customer sees it, laid out for paper (the browser prints or saves
    it as PDF; the PDF button is there where WeasyPrint is installed)."""
    workspace, user = _context(request)
    quote = _quote_or_404(workspace, user, pk)
    return render(request, "sales/quotes/print.html", _document_context(quote, workspace))


@login_required
@require_GET
def quote_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """The quote as a PDF file; 404 where WeasyPrint is not installed."""
    workspace, user = _context(request)
    if not pdf_available():
        raise Http404("PDF output is not available here")
    quote = _quote_or_404(workspace, user, pk)
    html = render_to_string(
        "sales/quotes/pdf.html", _document_context(quote, workspace), request=request
    )
    response = HttpResponse(html_to_pdf(html), content_type="application/pdf")
    name = quote.number or f"quote-{quote.pk}"
    response["Content-Disposition"] = f'attachment; filename="{name}.pdf"'
    return response


# ---------------------------------------------------------------------------------------------
# The customer's page


REFUSALS = {
    "quote-answered": 409,
    "quote-cancelled": 410,
    "quote-expired": 410,
    "quote-not-sent": 409,
}


def _public_missing(request: HttpRequest) -> HttpResponse:
    return render(request, "sales/quotes/public_missing.html", status=404)


ANSWER_LIMIT = 10  # answers posted per address and minute


def _rate_limited(request: HttpRequest) -> bool:
    """Answers posted from one address are limited: a link that leaked must not be hammered.
    Counted outside any transaction, so refused and failed posts count too."""
    decision = rate_limit_hit(
        f"quote-answer:{client_ip(request) or '-'}"[:200],
        limit=ANSWER_LIMIT,
        window=timedelta(minutes=1),
    )
    return not decision.allowed


def _public_again(token: str, quote: Quote) -> Quote:
    try:
        return selectors.quote_public_get(token=token).quote
    except NotFound:
        return quote


@csrf_protect
@require_http_methods(["GET", "POST"])
def quote_public(request: HttpRequest, token: str) -> HttpResponse:
    """The customer's page: the quote, with Accept (their name required) and Decline (a
    reason if they like) while it is open; the outcome once answered. No login: the signed
    token is the key, and a changed or replaced one answers 404."""
    try:
        found = selectors.quote_public_get(token=token)
    except NotFound:
        return _public_missing(request)
    quote, workspace = found.quote, found.workspace
    context: dict[str, Any] = {
        **_document_context(quote, workspace),
        "token": token,
        "errors": {},
        "values": {},
        "just_answered": request.GET.get("answered") == "1",
    }
    status = 200
    with timezone.override(services._zone(workspace)):
        if request.method == "POST":
            if _rate_limited(request):
                context["refusal"] = "rate-limited"
                return render(request, "sales/quotes/public.html", context, status=429)
            action = request.POST.get("action")
            if action not in ("accept", "decline"):
                context["errors"] = {"action": _("Choose to accept or to decline the quote.")}
                return render(request, "sales/quotes/public.html", context, status=422)
            values = {
                "name": request.POST.get("name", ""),
                "reason": request.POST.get("reason", ""),
            }
            try:
                services.quote_answer(
                    workspace=workspace,
                    quote_id=quote.pk,
                    public_key=quote.public_key,
                    accept=action == "accept",
                    signer_name=values["name"],
                    reason=values["reason"],
                    ip=client_ip(request),
                )
            except NotFound:
                return _public_missing(request)
            except ValidationFailed as exc:
                context["errors"] = _errors_by_field(exc)
                context["values"] = values
                context["answering"] = action
                return render(request, "sales/quotes/public.html", context, status=422)
            except ApplicationError as exc:
                context["refusal"] = exc.code
                # What the quote is now (answered by someone else a moment ago, …).
                context.update(_document_context(_public_again(token, quote), workspace))
                return render(
                    request,
                    "sales/quotes/public.html",
                    context,
                    status=REFUSALS.get(exc.code, 409),
                )
            return HttpResponseRedirect(reverse("sales:quote_public", args=[token]) + "?answered=1")
        if (
            quote.status == QuoteStatus.SENT
            and quote.valid_until
            and quote.valid_until < (timezone.localdate())
        ):
            context["refusal"] = "quote-expired"
        elif quote.status in (QuoteStatus.EXPIRED, QuoteStatus.CANCELLED):
            context["refusal"] = f"quote-{quote.status}"
        return render(request, "sales/quotes/public.html", context, status=status)


# ---------------------------------------------------------------------------------------------
# The deal page's slot


@login_required
@require_GET
def deal_quotes(request: HttpRequest, pk: int) -> HttpResponse:
    """The quotes of a deal, for the deal page (loaded into its slot), with "New quote"."""
    workspace, user = _context(request)
    try:
        data = selectors.deal_quotes(workspace=workspace, viewer=user, deal_id=pk)
    except NotFound as exc:
        raise Http404(str(exc)) from exc
    return render(request, "sales/quotes/deal_quotes.html", {"data": data, "colors": STATUS_COLORS})


# ---------------------------------------------------------------------------------------------
# Orders


ORDER_COLORS = {OrderStatus.PLACED: "green", OrderStatus.CANCELLED: "gray"}


@login_required
@require_GET
def order_list(request: HttpRequest) -> HttpResponse:
    """Orders the viewer may see, newest first, filtered by channel or status."""
    workspace, user = _context(request)
    params = {
        "status": request.GET.get("status", ""),
        "channel": request.GET.get("channel", ""),
        "contact": request.GET.get("contact", ""),
        "account": request.GET.get("account", ""),
    }
    after = request.GET.get("after") or None
    try:
        filters = selectors.order_filters(params)
        page = selectors.order_list(
            workspace=workspace, viewer=user, filters=filters, after=after, limit=LIST_PAGE_SIZE
        )
    except ValidationFailed:
        return HttpResponse(status=400)
    selectors.orders_with_lines(page.items, workspace)
    kept = {k: v for k, v in params.items() if v}
    base = reverse("sales:order_list")
    context = {
        "page": page,
        "params": params,
        "channels": OrderChannel.choices,
        "statuses": OrderStatus.choices,
        "colors": ORDER_COLORS,
        "filtered": bool(kept),
        "more_url": f"{base}?{urlencode({**kept, 'after': page.next_cursor})}"
        if page.next_cursor
        else "",
        "first_url": f"{base}?{urlencode(kept)}" if after else "",
    }
    template = "sales/quotes/orders.html"
    if _htmx(request) and after:
        return render(request, f"{template}#rows", context)
    return render(request, _template(request, template, "results"), context)


@login_required
@require_GET
def order_detail(request: HttpRequest, pk: int) -> HttpResponse:
    workspace, user = _context(request)
    try:
        order = selectors.order_get(workspace=workspace, viewer=user, order_id=pk)
    except NotFound as exc:
        raise Http404(str(exc)) from exc
    return render(
        request,
        "sales/quotes/order.html",
        {
            "order": order,
            "lines": list(order.lines.all()),
            "colors": ORDER_COLORS,
            "can_cancel": order.status == OrderStatus.PLACED
            and selectors.can_edit_quotes(workspace=workspace, viewer=user),
        },
    )


@login_required
@require_POST
def order_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    workspace, user = _context(request)
    try:
        services.order_cancel(workspace=workspace, actor=user, order_id=pk)
    except NotFound as exc:
        raise Http404(str(exc)) from exc
    except PermissionDenied as exc:
        raise _forbidden(exc) from exc
    return _redirect(request, reverse("sales:order_detail", args=[pk]))


@login_required
@require_GET
def record_orders(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    """ "What they bought": a contact's or an account's orders (an account's include its
    people's), newest first, with the count, lifetime total and last purchase date."""
    workspace, user = _context(request)
    try:
        history = selectors.purchase_history(
            workspace=workspace,
            viewer=user,
            kind=kind,
            record_id=pk,
            limit=RECORD_ORDERS_SHOWN,
        )
    except NotFound as exc:
        raise Http404(str(exc)) from exc
    return render(
        request,
        "sales/quotes/record_orders.html",
        {
            "history": history,
            "all_url": f"{reverse('sales:order_list')}?{urlencode({kind: pk})}",
        },
    )
