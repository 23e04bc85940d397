"""Pages of automation: the rules (grouped, reordered, switched on and off), the rule editor
with its condition builder and action list, and each rule's run log.

Views parse, call one service or selector and render; an htmx request gets the page's partial.
"""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from vinculo.automation import selectors, services
from vinculo.automation.actions import registered_actions
from vinculo.automation.forms import JOIN_LABELS, RuleEditor
from vinculo.automation.models import RunStatus
from vinculo.core.access import can
from vinculo.core.exceptions import NotFound, PermissionDenied, ValidationFailed
from vinculo.core.models import User, Workspace
from vinculo.core.roles import Right

RUNS_PAGE_SIZE = 30
MODULE = "automation"
STATUS_BADGES: dict[str, str] = {
    RunStatus.MATCHED: "badge-green",
    RunStatus.NOT_MATCHED: "badge-gray",
    RunStatus.WAITING: "badge-blue",
    RunStatus.FAILED: "badge-red",
    RunStatus.LOOP_STOPPED: "badge-orange",
}


def _context(request: HttpRequest, right: str = Right.VIEW) -> tuple[Workspace, User]:
    workspace = getattr(request, "workspace", None)
    if workspace is None:
        raise Http404("no workspace")
    user = cast(User, request.user)
    if not can(workspace=workspace, user=user, module=MODULE, right=right):
        raise DjangoPermissionDenied(_("Your role does not allow this."))
    return workspace, user


def _is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _access(workspace: Workspace, user: User) -> dict[str, bool]:
    return {
        right: can(workspace=workspace, user=user, module=MODULE, right=right)
        for right in (Right.CREATE, Right.EDIT, Right.DELETE)
    }


def _list_context(workspace: Workspace, user: User) -> dict[str, Any]:
    groups = selectors.rule_groups(workspace=workspace, viewer=user)
    deleted = selectors.rule_list(workspace=workspace, viewer=user, deleted=True, limit=20)
    return {
        "groups": groups,
        "deleted": deleted.items,
        "access": _access(workspace, user),
        "triggers": selectors.trigger_choices(),
    }


def _list_response(request: HttpRequest, workspace: Workspace, user: User) -> HttpResponse:
    template = "automation/rule_list.html"
    return render(
        request,
        f"{template}#rules" if _is_htmx(request) else template,
        _list_context(workspace, user),
    )


@login_required
@require_GET
def rule_list(request: HttpRequest) -> HttpResponse:
    workspace, user = _context(request)
    return _list_response(request, workspace, user)


def _editor_context(editor: RuleEditor, *, url: str) -> dict[str, Any]:
    return {
        "editor": editor,
        "root": editor.prepared_root(),
        "field_choices": editor.field_choices(),
        "actions": editor.action_rows(),
        "action_types": [(a.name, a.label) for a in registered_actions()],
        "triggers": selectors.trigger_choices(),
        "join_labels": JOIN_LABELS,
        "editor_url": url,
    }


def _editor(
    request: HttpRequest,
    *,
    workspace: Workspace,
    user: User,
    rule_id: int | None,
) -> HttpResponse:
    rule = (
        selectors.rule_get(workspace=workspace, viewer=user, rule_id=rule_id)
        if rule_id is not None
        else None
    )
    url = (
        reverse("automation:rule_edit", args=[rule_id])
        if rule_id is not None
        else reverse("automation:rule_new")
    )
    status = 200
    if request.method == "POST":
        editor = RuleEditor(workspace=workspace, post=request.POST, rule=rule)
        command = request.POST.get("builder", "")
        if command:
            editor.apply(command, request.POST)
        else:
            try:
                if rule is None:
                    saved = services.rule_create(
                        workspace=workspace, actor=user, data=editor.data()
                    )
                else:
                    saved = services.rule_update(
                        workspace=workspace, actor=user, rule_id=rule.pk, data=editor.data()
                    )
            except PermissionDenied as exc:
                raise DjangoPermissionDenied(str(exc)) from exc
            except ValidationFailed as exc:
                editor.add_errors(exc.errors)
                status = 422
            else:
                messages.success(request, _("Rule “%(name)s” saved.") % {"name": saved.name})
                target = reverse("automation:rule_list")
                if _is_htmx(request):
                    response = HttpResponse(status=204)
                    response["HX-Redirect"] = target
                    return response
                return HttpResponseRedirect(target)
    else:
        editor = RuleEditor(
            workspace=workspace, rule=rule, initial_trigger=request.GET.get("trigger", "")
        )
    context = {**_editor_context(editor, url=url), "rule": rule}
    template = "automation/rule_edit.html"
    return render(
        request,
        f"{template}#editor" if _is_htmx(request) else template,
        context,
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def rule_new(request: HttpRequest) -> HttpResponse:
    workspace, user = _context(request, Right.CREATE)
    return _editor(request, workspace=workspace, user=user, rule_id=None)


@login_required
@require_http_methods(["GET", "POST"])
def rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    workspace, user = _context(request)
    try:
        return _editor(request, workspace=workspace, user=user, rule_id=pk)
    except NotFound as exc:
        raise Http404(str(exc)) from exc


def _write(request: HttpRequest, call: Any) -> HttpResponse:
    """Run a write of the rules page and answer with the re-drawn list."""
    workspace, user = _context(request, Right.EDIT)
    try:
        call(workspace, user)
    except NotFound as exc:
        raise Http404(str(exc)) from exc
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(str(exc)) from exc
    except ValidationFailed as exc:
        messages.error(request, "; ".join(str(e.message) for e in exc.errors))
    if not _is_htmx(request):
        return HttpResponseRedirect(reverse("automation:rule_list"))
    return _list_response(request, workspace, user)


@login_required
@require_POST
def rule_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    active = request.POST.get("is_active") in ("on", "true", "1")
    return _write(
        request,
        lambda ws, user: services.rule_update(
            workspace=ws, actor=user, rule_id=pk, data={"is_active": active}
        ),
    )


@login_required
@require_POST
def rule_move(request: HttpRequest, pk: int) -> HttpResponse:
    direction = request.POST.get("direction", "")
    return _write(
        request,
        lambda ws, user: services.rule_move(
            workspace=ws, actor=user, rule_id=pk, direction=direction
        ),
    )


@login_required
@require_POST
def rule_reorder(request: HttpRequest) -> HttpResponse:
    raw = request.POST.get("rule_ids", "")
    try:
        ids = [int(p) for p in raw.split(",") if p.strip()]
    except ValueError:
        ids = []
    return _write(
        request, lambda ws, user: services.rule_reorder(workspace=ws, actor=user, rule_ids=ids)
    )


@login_required
@require_POST
def rule_delete(request: HttpRequest, pk: int) -> HttpResponse:
    def delete(ws: Workspace, user: User) -> None:
        rule = selectors.rule_get(workspace=ws, viewer=user, rule_id=pk)
        services.rule_delete(workspace=ws, actor=user, rule_id=pk)
        messages.success(
            request,
            _("Rule “%(name)s” deleted. You can restore it below.") % {"name": rule.name},
        )

    return _write(request, delete)


@login_required
@require_POST
def rule_restore(request: HttpRequest, pk: int) -> HttpResponse:
    return _write(
        request, lambda ws, user: services.rule_restore(workspace=ws, actor=user, rule_id=pk)
    )


@login_required
@require_GET
def rule_runs(request: HttpRequest, pk: int) -> HttpResponse:
    workspace, user = _context(request)
    status = request.GET.get("status") or None
    if status not in (None, *selectors.RUN_FILTERS):
        status = None
    try:
        rule = selectors.rule_get(workspace=workspace, viewer=user, rule_id=pk, deleted=None)
        page = selectors.rule_runs(
            workspace=workspace,
            viewer=user,
            rule_id=pk,
            status=status,
            after=request.GET.get("cursor") or None,
            limit=RUNS_PAGE_SIZE,
        )
    except NotFound as exc:
        raise Http404(str(exc)) from exc
    except ValidationFailed as exc:
        raise Http404(str(exc)) from exc
    for run in page.items:
        run.badge = STATUS_BADGES.get(run.status, "badge-gray")  # type: ignore[attr-defined]
    more_url = ""
    if page.next_cursor:
        query = {"cursor": page.next_cursor, **({"status": status} if status else {})}
        more_url = reverse("automation:rule_runs", args=[pk]) + "?" + urlencode(query)
    context = {
        "rule": rule,
        "runs": page.items,
        "more_url": more_url,
        "status": status or "",
        "filters": [
            ("", pgettext("rule runs", "All")),
            ("matched", pgettext("rule runs", "Matched")),
            ("not_matched", pgettext("rule runs", "Did not match")),
            ("failed", pgettext("rule runs", "Failed or stopped")),
        ],
    }
    template = "automation/rule_runs.html"
    if _is_htmx(request):
        partial = "rows" if request.GET.get("cursor") else "log"
        return render(request, f"{template}#{partial}", context)
    return render(request, template, context)
