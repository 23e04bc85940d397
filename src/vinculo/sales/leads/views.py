"""Pages of sales leads: the list (filters, sorts, search, keyset pages, bulk assignment), the
new-lead form with its duplicate warning, the lead's page (facts edited in place, status,
assignment, score, consent, timeline) and the conversion page.

Views parse the request, call a service or a selector and render.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from vinculo.contacts.forms import initials
from vinculo.contacts.models import ConsentEntry
from vinculo.contacts.privacy.services import purpose_label
from vinculo.core.access import can
from vinculo.core.exceptions import Conflict, NotFound, ValidationFailed
from vinculo.core.models import CustomFieldDefinition, User, Workspace
from vinculo.core.pages import domain_errors
from vinculo.core.pages import page_context as _context
from vinculo.core.pagination import Page
from vinculo.core.roles import Right
from vinculo.core.selectors import customfield_list
from vinculo.sales.leads import selectors, services
from vinculo.sales.leads.forms import (
    COLUMN_LABELS,
    LEAD_FACTS,
    SORT_CHOICES,
    STATUS_COLORS,
    AssignForm,
    ConvertForm,
    LeadFilterForm,
    LeadForm,
    StatusForm,
    lead_facts,
    status_label,
)
from vinculo.sales.leads.validation import LEAD_OBJECT
from vinculo.sales.models import Lead

PAGE_SIZE = 50
MODULE = "leads"
# Query parameters that are not filters.
NOT_FILTERS = frozenset({"cursor", "part"})


def _htmx(request: HttpRequest) -> Any:
    return getattr(request, "htmx", None)


def _target(request: HttpRequest) -> str:
    htmx = _htmx(request)
    if not htmx or htmx.history_restore_request:
        return ""
    return str(htmx.target or "")


def _rights(workspace: Workspace, user: User) -> dict[str, bool]:
    return {
        f"can_{right}": can(workspace=workspace, user=user, module=MODULE, right=right)
        for right in (Right.VIEW, Right.CREATE, Right.EDIT, Right.DELETE)
    }


def _require_view(workspace: Workspace, user: User) -> None:
    if not can(workspace=workspace, user=user, module=MODULE, right=Right.VIEW):
        raise DjangoPermissionDenied("no view right")


def _definitions(workspace: Workspace, user: User) -> list[CustomFieldDefinition]:
    return customfield_list(
        workspace=workspace, viewer=user, object_type=LEAD_OBJECT, limit=200
    ).items


def _triggered(response: HttpResponse, *events: str) -> HttpResponse:
    response["HX-Trigger"] = json.dumps(dict.fromkeys(events, True))
    return response


def _detail_url(pk: int) -> str:
    return reverse("sales:lead_detail", args=[pk])


# ---------------------------------------------------------------------------------------------
# The list


def _list_params(request: HttpRequest) -> dict[str, str]:
    """The list's filters and sort from the query string (the last non-blank value of each)."""
    params: dict[str, str] = {}
    for name, values in request.GET.lists():
        value = next((v.strip() for v in reversed(values) if v.strip()), "")
        if value and name not in NOT_FILTERS:
            params[name] = value
    return params


def _with_query(url: str, params: dict[str, str]) -> str:
    query = urlencode(params)
    return f"{url}?{query}" if query else url


# (column key, label, the sort its header switches to first, its other direction)
COLUMNS = (
    ("name", "name", "-name"),
    ("company", "", ""),
    ("status", "", ""),
    ("score", "-score", "score"),
    ("predicted", "-predicted_score", "predicted_score"),
    ("owner", "", ""),
    ("source", "", ""),
    ("created", "-created_at", "created_at"),
)


def _headers(params: dict[str, str], list_url: str) -> list[dict[str, Any]]:
    """Each column's header: where a sortable one leads and its aria-sort."""
    current = params.get("sort") or selectors.DEFAULT_SORT
    headers = []
    for key, first, other in COLUMNS:
        header: dict[str, Any] = {"key": key, "label": COLUMN_LABELS[key], "url": "", "aria": ""}
        if first:
            target = other if current == first else first
            if current in (first, other):
                header["aria"] = "descending" if current.startswith("-") else "ascending"
            header["url"] = _with_query(list_url, {**params, "sort": target})
        headers.append(header)
    return headers


@login_required
@require_GET
@domain_errors
def lead_list(request: HttpRequest) -> HttpResponse:
    """The leads: filters, sort and search in the URL, keyset pages ("load more" appends
    rows), and bulk assignment of the selected rows."""
    workspace, user = _context(request)
    _require_view(workspace, user)
    list_url = reverse("sales:lead_list")
    params = _list_params(request)
    cursor = request.GET.get("cursor") or None
    errors: ValidationFailed | None = None
    try:
        filters = selectors.lead_filters(
            workspace=workspace,
            viewer=user,
            params={k: v for k, v in params.items() if not k.startswith("cf.")},
            custom_field_params=[(k, v) for k, v in params.items() if k.startswith("cf.")],
        )
        page = selectors.lead_list(
            workspace=workspace, viewer=user, filters=filters, cursor=cursor, limit=PAGE_SIZE
        )
    except ValidationFailed as exc:
        errors = exc
        page = Page(items=[], next_cursor=None)
    detail_prefix = reverse("sales:lead_detail", args=[1]).rpartition("1")
    rows = [
        {
            "lead": lead,
            "url": f"{detail_prefix[0]}{lead.pk}{detail_prefix[2]}",
            "status_label": status_label(lead.status),
            "status_color": STATUS_COLORS.get(lead.status, "gray"),  # type: ignore[call-overload]
        }
        for lead in page.items
    ]
    current_url = _with_query(list_url, {**params, **({"cursor": cursor} if cursor else {})})
    context: dict[str, Any] = {
        "rows": rows,
        "page": page,
        "params": params,
        "list_url": list_url,
        "current_url": current_url,
        "next_url": _with_query(list_url, {**params, "cursor": page.next_cursor})
        if page.next_cursor
        else "",
        "colspan": len(COLUMNS) + 1,
        "cursor": cursor or "",
        **_rights(workspace, user),
    }
    if _target(request) == "more-row":
        return render(request, "sales/leads/list.html#rows", context)
    form = LeadFilterForm(params, workspace=workspace, viewer=user)
    if errors is not None:
        form.is_valid()
        form.add_filter_errors(errors)
    filtered = any(k not in ("sort",) for k in params)
    context |= {
        "form": form,
        "chips": [
            (chip, _with_query(list_url, {k: v for k, v in params.items() if k != chip.param}))
            for chip in form.chips()
        ],
        "clear_url": _with_query(list_url, {"sort": params["sort"]} if "sort" in params else {}),
        "filtered": filtered,
        "headers": _headers(params, list_url),
        "sort_choices": SORT_CHOICES,
        "sources": selectors.source_choices(workspace=workspace),
        "owners": form.owners,
        "teams": form.teams,
    }
    template = "sales/leads/list.html"
    if _target(request) == "results":
        response = render(request, f"{template}#results", context, status=422 if errors else 200)
        response["HX-Push-Url"] = current_url
        return response
    return render(request, template, context, status=422 if errors else 200)


@login_required
@require_POST
@domain_errors
def lead_bulk(request: HttpRequest) -> HttpResponse:
    """Assign the selected leads (`ids`) to an owner (and a team); answers a notice and tells
    the list to refresh itself."""
    workspace, user = _context(request)
    ids = [int(v) for v in request.POST.getlist("ids") if v.isdigit() and len(v) < 19]
    owner = request.POST.get("owner", "")
    team = request.POST.get("team", "")
    error = ""
    changed: list[int] = []
    if not ids:
        error = _("Select some rows first.")
    elif not owner:
        error = _("Choose an owner.")
    else:
        try:
            changed = services.leads_bulk_assign(
                workspace=workspace,
                actor=user,
                lead_ids=ids,
                owner_id=None if owner == "none" else int(owner) if owner.isdigit() else -1,
                team_id=int(team) if team.isdigit() else None,
            )
        except ValidationFailed as exc:
            error = " ".join(e.message for e in exc.errors)
    message = error or ngettext(
        "%(count)d lead assigned.", "%(count)d leads assigned.", len(changed)
    ) % {"count": len(changed)}
    if not _htmx(request):
        (messages.error if error else messages.success)(request, message)
        return HttpResponseRedirect(reverse("sales:lead_list"))
    response = render(
        request,
        "sales/leads/list.html#notice",
        {"message": message, "error": bool(error)},
        status=422 if error else 200,
    )
    return response if error else _triggered(response, "records-changed")


# ---------------------------------------------------------------------------------------------
# New lead and the duplicate warning


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors
def lead_new(request: HttpRequest) -> HttpResponse:
    """The new-lead form. Every field error the service finds comes back next to its input
    (status 422) and nothing is written; a lead whose email is already an open lead's or a
    contact's is created with a warning naming them."""
    workspace, user = _context(request)
    if not can(workspace=workspace, user=user, module=MODULE, right=Right.CREATE):
        raise DjangoPermissionDenied("no create right")
    definitions = _definitions(workspace, user)
    form = LeadForm(
        request.POST or None,
        workspace=workspace,
        viewer=user,
        definitions=definitions,
        initial={"owner": str(user.pk)},
    )
    if request.method == "POST" and form.is_valid():
        try:
            lead = services.lead_create(workspace=workspace, actor=user, data=form.to_data())
        except ValidationFailed as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, _("“%(name)s” created.") % {"name": lead.display_name})
            duplicates = selectors.lead_duplicates(
                workspace=workspace, viewer=user, email=lead.email, exclude_id=lead.pk
            )
            if duplicates:
                messages.warning(
                    request,
                    _("%(email)s was already known: %(names)s.")
                    % {
                        "email": lead.email,
                        "names": ", ".join(_duplicate_words(d) for d in duplicates),
                    },
                )
            return HttpResponseRedirect(_detail_url(lead.pk))
    return render(
        request,
        "sales/leads/form.html",
        {"form": form},
        status=422 if form.errors else 200,
    )


def _duplicate_words(match: selectors.DuplicateMatch) -> str:
    if match.kind == "contact":
        return _("the contact %(name)s") % {"name": match.name}
    return _("the open lead %(name)s") % {"name": match.name}


@login_required
@require_GET
def lead_duplicate_check(request: HttpRequest) -> HttpResponse:
    """The warning beside the email input of the new-lead form: open leads and contacts that
    already have the address, with links. Empty when there are none; saving stays allowed."""
    workspace, user = _context(request)
    exclude = request.GET.get("exclude", "")
    matches = selectors.lead_duplicates(
        workspace=workspace,
        viewer=user,
        email=request.GET.get("email", "")[:254],
        exclude_id=int(exclude) if exclude.isdigit() and len(exclude) < 19 else None,
    )
    return render(request, "sales/leads/duplicates.html", {"matches": matches})


# ---------------------------------------------------------------------------------------------
# The lead's page


def _page_context(
    request: HttpRequest,
    workspace: Workspace,
    user: User,
    lead: Lead,
    *,
    status_form: StatusForm | None = None,
    assign_form: AssignForm | None = None,
) -> dict[str, Any]:
    rights = _rights(workspace, user)
    live = lead.deleted_at is None and lead.erased_at is None
    open_lead = live and lead.is_open
    definitions = _definitions(workspace, user)
    consents = list(
        ConsentEntry.objects.for_workspace(workspace).filter(lead=lead).order_by("-recorded_at")
    )
    return {
        "lead": lead,
        "name": lead.display_name,
        "initials": initials(lead.display_name),
        "status_label": status_label(lead.status),
        "status_color": STATUS_COLORS.get(lead.status, "gray"),  # type: ignore[call-overload]
        "facts": lead_facts(lead, definitions=definitions, currency=workspace.currency),
        "editable": open_lead and rights["can_edit"],
        "can_act": live and lead.status != "converted" and rights["can_edit"],
        "status_form": status_form or StatusForm(auto_id="status-%s"),
        "assign_form": assign_form
        or AssignForm(
            workspace=workspace,
            viewer=user,
            auto_id="assign-%s",
            initial={"owner": str(lead.owner_id or "")},
        ),
        "consents": [(entry, purpose_label(entry.purpose)) for entry in consents],
        **rights,
    }


def _lead(workspace: Workspace, user: User, pk: int) -> Lead:
    return selectors.lead_get(workspace=workspace, viewer=user, lead_id=pk, with_deleted=True)


@login_required
@require_GET
@domain_errors
def lead_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A lead's page: who and which company, where they came from, status and owner with their
    actions, the score and its reasons, consent, facts edited in place, the timeline.
    `?part=header` answers the header alone (it refreshes itself after a change)."""
    workspace, user = _context(request)
    lead = _lead(workspace, user, pk)
    context = _page_context(request, workspace, user, lead)
    if _htmx(request) and request.GET.get("part") == "header":
        return render(request, "sales/leads/detail.html#header", context)
    return render(request, "sales/leads/detail.html", context)


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors
def lead_field(request: HttpRequest, pk: int, name: str) -> HttpResponse:
    """One fact edited in place: GET answers its small form (or, with `?display=1`, its value
    again), POST saves it with `lead_update` and answers the new value; a bad value comes back
    in the form with its error and status 422."""
    workspace, user = _context(request)
    definitions = _definitions(workspace, user)
    known = set(LEAD_FACTS) | {LeadForm.cf_name(d.key) for d in definitions}
    if name not in known:
        raise Http404("no such field")
    context: dict[str, Any] = {"field_name": name, "editable": True, "record_pk": pk}
    if request.method == "POST":
        form = LeadForm(
            request.POST, workspace=workspace, viewer=user, definitions=definitions, only=[name]
        )
        if form.is_valid():
            try:
                lead = services.lead_update(
                    workspace=workspace, actor=user, lead_id=pk, data=form.to_data()
                )
            except ValidationFailed as exc:
                form.add_service_errors(exc)
            except Conflict as exc:
                form.add_error(None, exc.detail)
            else:
                if not _htmx(request):
                    return HttpResponseRedirect(_detail_url(pk))
                context |= {
                    "fact": lead_facts(
                        lead, definitions=definitions, currency=workspace.currency, only=name
                    )[0],
                    "lead": lead,
                }
                response = render(request, "sales/leads/detail.html#fact", context)
                return _triggered(response, "record-changed", "timeline-changed")
        if not _htmx(request):
            messages.error(
                request, " ".join(str(m) for errors in form.errors.values() for m in errors)
            )
            return HttpResponseRedirect(_detail_url(pk))
        context |= {"form": form}
        return render(request, "sales/leads/detail.html#fact_form", context, status=422)
    lead = selectors.lead_get(workspace=workspace, viewer=user, lead_id=pk)
    if request.GET.get("display"):
        context |= {
            "fact": lead_facts(
                lead, definitions=definitions, currency=workspace.currency, only=name
            )[0],
            "lead": lead,
        }
        return render(request, "sales/leads/detail.html#fact", context)
    form = LeadForm(
        workspace=workspace, viewer=user, definitions=definitions, instance=lead, only=[name]
    )
    context |= {"form": form}
    return render(request, "sales/leads/detail.html#fact_form", context)


@login_required
@require_POST
@domain_errors
def lead_status(request: HttpRequest, pk: int) -> HttpResponse:
    """Qualify, disqualify (with a reason), work on or reopen a lead. A missing reason comes
    back next to its input with status 422."""
    workspace, user = _context(request)
    form = StatusForm(request.POST, auto_id="status-%s")
    if form.is_valid():
        try:
            services.lead_set_status(
                workspace=workspace,
                actor=user,
                lead_id=pk,
                status=form.cleaned_data["status"],
                reason=form.cleaned_data.get("reason") or "",
            )
        except ValidationFailed as exc:
            form.add_service_errors(exc)
        except Conflict as exc:
            messages.error(request, exc.detail)
            return HttpResponseRedirect(_detail_url(pk))
        else:
            messages.success(
                request,
                _("The lead is now %(status)s.")
                % {"status": status_label(form.cleaned_data["status"]).lower()},
            )
            return HttpResponseRedirect(_detail_url(pk))
    lead = _lead(workspace, user, pk)
    context = _page_context(request, workspace, user, lead, status_form=form)
    return render(request, "sales/leads/detail.html", context, status=422)


@login_required
@require_POST
@domain_errors
def lead_assign(request: HttpRequest, pk: int) -> HttpResponse:
    """Give the lead to someone (and a team)."""
    workspace, user = _context(request)
    form = AssignForm(request.POST, workspace=workspace, viewer=user, auto_id="assign-%s")
    if form.is_valid():
        try:
            lead = services.lead_assign(
                workspace=workspace,
                actor=user,
                lead_id=pk,
                owner_id=form.owner_id(),
                team_id=form.team_id(),
            )
        except ValidationFailed as exc:
            form.add_service_errors(exc)
        except Conflict as exc:
            messages.error(request, exc.detail)
            return HttpResponseRedirect(_detail_url(pk))
        else:
            owner = lead.owner.display_name if lead.owner else _("nobody")
            messages.success(request, _("Assigned to %(owner)s.") % {"owner": owner})
            return HttpResponseRedirect(_detail_url(pk))
    lead = _lead(workspace, user, pk)
    context = _page_context(request, workspace, user, lead, assign_form=form)
    return render(request, "sales/leads/detail.html", context, status=422)


@login_required
@require_POST
@domain_errors
def lead_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Soft-delete; the page then shows the lead deleted, with Restore."""
    workspace, user = _context(request)
    services.lead_delete(workspace=workspace, actor=user, lead_id=pk)
    messages.success(request, _("Lead deleted. You can restore it for 30 days."))
    return HttpResponseRedirect(_detail_url(pk))


@login_required
@require_POST
@domain_errors
def lead_restore(request: HttpRequest, pk: int) -> HttpResponse:
    workspace, user = _context(request)
    from vinculo.contacts.services import RestoreExpired

    try:
        services.lead_restore(workspace=workspace, actor=user, lead_id=pk)
    except RestoreExpired as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, _("Restored."))
    return HttpResponseRedirect(_detail_url(pk))


# ---------------------------------------------------------------------------------------------
# Conversion


def _convert_form(
    workspace: Workspace, lead: Lead, match: services.ConversionMatch, data: Any = None
) -> ConvertForm:
    pipelines = [(str(p.pk), p.name) for p in selectors.pipeline_choices(workspace=workspace)]
    if not pipelines:
        pipelines = [("", _("Sales (created with its stages)"))]
    return ConvertForm(
        data,
        pipelines=pipelines,
        auto_id="convert-%s",
        initial={
            "create_deal": True,
            "deal_name": lead.company_name.strip() or lead.display_name,
            "contact": str(match.contact.pk) if match.contact else "",
            "account": str(match.account.pk) if match.account else "",
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors
def lead_convert(request: HttpRequest, pk: int) -> HttpResponse:
    """The conversion page: the contact and account the lead matches (or that will be
    created), and the deal to open. Converting twice is refused with a message."""
    workspace, user = _context(request)
    lead = selectors.lead_get(workspace=workspace, viewer=user, lead_id=pk)
    if not can(workspace=workspace, user=user, module=MODULE, right=Right.EDIT):
        raise DjangoPermissionDenied("no edit right")
    if lead.status == "converted":
        messages.info(request, _("This lead was already converted."))
        return HttpResponseRedirect(_detail_url(pk))
    match = services.conversion_match(workspace=workspace, lead=lead)
    form = _convert_form(workspace, lead, match, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            done = services.lead_convert(
                workspace=workspace, actor=user, lead_id=pk, **form.service_kwargs()
            )
        except ValidationFailed as exc:
            form.add_service_errors(exc)
        except NotFound as exc:
            form.add_error(None, exc.detail)
        except Conflict as exc:
            messages.error(request, exc.detail)
            return HttpResponseRedirect(_detail_url(pk))
        else:
            messages.success(
                request,
                _("Converted: %(contact)s is a contact now.") % {"contact": done.contact},
            )
            return HttpResponseRedirect(_detail_url(pk))
    context = {
        "lead": lead,
        "name": lead.display_name,
        "match": match,
        "form": form,
    }
    return render(request, "sales/leads/convert.html", context, status=422 if form.errors else 200)
