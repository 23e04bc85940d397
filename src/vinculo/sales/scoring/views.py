"""Pages of sales scoring: the scoring rules page (fit and engagement rules, the half-life,
"recompute now" with its progress, the predictive model and "train now"), the rule form, and
the score panel the lead page loads into its `sales:lead_score` slot.

Views parse the request, call one service or selector and render.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from vinculo.analytics import lead_scoring
from vinculo.core.access import can
from vinculo.core.exceptions import ValidationFailed
from vinculo.core.models import User, Workspace
from vinculo.core.pages import domain_errors
from vinculo.core.pages import page_context as _context
from vinculo.core.roles import Right
from vinculo.sales.common import sales_settings_for
from vinculo.sales.models import ScoringRuleKind
from vinculo.sales.scoring import selectors, services
from vinculo.sales.scoring.forms import (
    MATCH_LABELS,
    OP_LABELS,
    HalfLifeForm,
    RuleForm,
    condition_summary,
    event_type_choices,
    lead_field_options,
)
from vinculo.sales.scoring.points import signed

RULES_LIMIT = 200


def _htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _rights(workspace: Workspace, user: User) -> dict[str, bool]:
    module = services.RULES_MODULE
    return {
        "can_view": can(workspace=workspace, user=user, module="leads", right=Right.VIEW),
        "can_create": can(workspace=workspace, user=user, module=module, right=Right.CREATE),
        "can_edit": can(workspace=workspace, user=user, module=module, right=Right.EDIT),
        "can_delete": can(workspace=workspace, user=user, module=module, right=Right.DELETE),
    }


def _since(raw: str | None) -> dt.datetime | None:
    if not raw:
        return None
    try:
        value = dt.datetime.fromisoformat(raw)
    except ValueError:
        return None
    return value if timezone.is_aware(value) else None


def _progress_context(
    workspace: Workspace, user: User, since: dt.datetime | None
) -> dict[str, Any]:
    if since is None:
        return {"progress": None, "progress_url": ""}
    progress = selectors.scores_recompute_progress(workspace=workspace, viewer=user, since=since)
    url = reverse("sales:scoring_progress") + "?" + urlencode({"since": since.isoformat()})
    return {"progress": progress, "progress_url": url}


def _rule_rows(rules: list[Any], options: list[Any], events: dict[str, str]) -> list[dict]:
    return [
        {
            "rule": rule,
            "summary": condition_summary(rule.conditions, options),
            "event_label": events.get(rule.event_type, rule.event_type),
            "points_text": signed(rule.points),
        }
        for rule in rules
    ]


def _rules_page(
    request: HttpRequest,
    workspace: Workspace,
    user: User,
    *,
    half_life: HalfLifeForm | None = None,
    status: int = 200,
) -> HttpResponse:
    rights = _rights(workspace, user)
    if not rights["can_view"]:
        raise DjangoPermissionDenied("no view right on leads")
    options = lead_field_options()
    events = dict(event_type_choices())
    lists = {}
    for kind in ScoringRuleKind.values:
        page = selectors.scoring_rule_list(
            workspace=workspace, viewer=user, kind=kind, order="points", limit=RULES_LIMIT
        )
        lists[kind] = (_rule_rows(page.items, options, events), bool(page.next_cursor))
    context = {
        "fit_rules": lists[ScoringRuleKind.FIT][0],
        "fit_more": lists[ScoringRuleKind.FIT][1],
        "engagement_rules": lists[ScoringRuleKind.ENGAGEMENT][0],
        "engagement_more": lists[ScoringRuleKind.ENGAGEMENT][1],
        "half_life": half_life
        or HalfLifeForm(current=sales_settings_for(workspace).score_half_life_days),
        "models": selectors.current_model_summaries(workspace=workspace, viewer=user),
        "min_history": lead_scoring.MIN_HISTORY,
        "min_per_outcome": lead_scoring.MIN_PER_OUTCOME,
        **_progress_context(workspace, user, _since(request.GET.get("since"))),
        **rights,
    }
    return render(request, "sales/scoring/rules.html", context, status=status)


@login_required
@require_GET
@domain_errors
def scoring_rules(request: HttpRequest) -> HttpResponse:
    """The scoring rules page."""
    workspace, user = _context(request)
    return _rules_page(request, workspace, user)


def _rule_form_page(request: HttpRequest, form: RuleForm, *, status: int = 200) -> HttpResponse:
    options = form.field_options
    return render(
        request,
        "sales/scoring/rule_form.html",
        {
            "form": form,
            "rule": form.rule,
            "kind": form.kind,
            "field_options": options,
            "op_labels": OP_LABELS,
            "match_labels": MATCH_LABELS,
            "events": event_type_choices(form.event_type),
            "is_engagement": form.kind == ScoringRuleKind.ENGAGEMENT,
        },
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors
def scoring_rule_new(request: HttpRequest) -> HttpResponse:
    """A new fit or engagement rule (`?kind=`). Field errors come back beside their field or
    condition row with status 422, and nothing is written."""
    workspace, user = _context(request)
    if not _rights(workspace, user)["can_create"]:
        raise DjangoPermissionDenied("no right to create scoring rules")
    kind = request.GET.get("kind") or request.POST.get("kind") or ScoringRuleKind.FIT
    if kind not in ScoringRuleKind.values:
        raise Http404("unknown kind of rule")
    form = RuleForm(request.POST if request.method == "POST" else None, kind=kind)
    if request.method == "POST" and "add_row" not in request.POST:
        try:
            rule = services.scoring_rule_create(
                workspace=workspace, actor=user, data=form.to_data()
            )
        except ValidationFailed as exc:
            form.add_service_errors(exc)
        else:
            messages.success(
                request,
                _("Rule “%(name)s” saved. Every lead's score is being recomputed.")
                % {"name": rule.name},
            )
            return HttpResponseRedirect(reverse("sales:scoring_rules"))
    return _rule_form_page(request, form, status=422 if form.has_errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors
def scoring_rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    workspace, user = _context(request)
    rule = selectors.scoring_rule_get(workspace=workspace, viewer=user, rule_id=pk)
    if not _rights(workspace, user)["can_edit"]:
        raise DjangoPermissionDenied("no right to edit scoring rules")
    form = RuleForm(request.POST if request.method == "POST" else None, kind=rule.kind, rule=rule)
    if request.method == "POST" and "add_row" not in request.POST:
        try:
            rule = services.scoring_rule_update(
                workspace=workspace, actor=user, rule_id=pk, data=form.to_data()
            )
        except ValidationFailed as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, _("Rule “%(name)s” saved.") % {"name": rule.name})
            return HttpResponseRedirect(reverse("sales:scoring_rules"))
    return _rule_form_page(request, form, status=422 if form.has_errors else 200)


@login_required
@require_POST
@domain_errors
def scoring_rule_delete(request: HttpRequest, pk: int) -> HttpResponse:
    workspace, user = _context(request)
    rule = selectors.scoring_rule_get(workspace=workspace, viewer=user, rule_id=pk)
    services.scoring_rule_delete(workspace=workspace, actor=user, rule_id=pk)
    messages.success(
        request,
        _("Rule “%(name)s” deleted; its points leave every lead's score.") % {"name": rule.name},
    )
    return HttpResponseRedirect(reverse("sales:scoring_rules"))


@login_required
@require_POST
@domain_errors
def scoring_settings(request: HttpRequest) -> HttpResponse:
    """The half-life of engagement points."""
    workspace, user = _context(request)
    form = HalfLifeForm(request.POST, current=0)
    try:
        services.scoring_settings_update(workspace=workspace, actor=user, data=form.to_data())
    except ValidationFailed as exc:
        form.add_service_errors(exc)
        return _rules_page(request, workspace, user, half_life=form, status=422)
    messages.success(request, _("Half-life saved. Every lead's score is being recomputed."))
    return HttpResponseRedirect(reverse("sales:scoring_rules"))


@login_required
@require_POST
@domain_errors
def scoring_recompute(request: HttpRequest) -> HttpResponse:
    """Recompute now: starts the background recompute and answers with its progress."""
    workspace, user = _context(request)
    started = services.scores_recompute_start(workspace=workspace, actor=user)
    if _htmx(request):
        return render(
            request,
            "sales/scoring/progress.html",
            _progress_context(workspace, user, started.started_at),
        )
    query = urlencode({"since": started.started_at.isoformat()})
    return HttpResponseRedirect(f"{reverse('sales:scoring_rules')}?{query}")


@login_required
@require_GET
@domain_errors
def scoring_progress(request: HttpRequest) -> HttpResponse:
    """The recompute's progress again (polled every second while it runs)."""
    workspace, user = _context(request)
    since = _since(request.GET.get("since"))
    if since is None:
        return HttpResponse(status=400)
    return render(request, "sales/scoring/progress.html", _progress_context(workspace, user, since))


@login_required
@require_POST
@domain_errors
def scoring_train(request: HttpRequest) -> HttpResponse:
    workspace, user = _context(request)
    services.lead_scoring_train_start(workspace=workspace, actor=user)
    messages.success(
        request,
        _(
            "Training started. The predictions of open leads are updated when it finishes, "
            "usually within a minute."
        ),
    )
    return HttpResponseRedirect(reverse("sales:scoring_rules"))


@login_required
@require_GET
@domain_errors
def lead_score(request: HttpRequest, pk: int) -> HttpResponse:
    """A lead's score panel: the score with its reasons, and the predicted chance with its
    top factors and the model behind it. htmx gets the panel alone (the lead page's slot)."""
    workspace, user = _context(request)
    data = selectors.lead_score_get(workspace=workspace, viewer=user, lead_id=pk)
    context = {
        "data": data,
        "lead": data.lead,
        "reasons": data.reason_lines,
        "factors": data.factor_lines,
        "model": data.model,
        "min_history": lead_scoring.MIN_HISTORY,
        "min_per_outcome": lead_scoring.MIN_PER_OUTCOME,
        "rules_url": reverse("sales:scoring_rules"),
    }
    template = "sales/scoring/score_panel.html"
    return render(request, f"{template}#panel" if _htmx(request) else template, context)
