"""Pages of the timeline: a record's timeline panel with its quick actions, and "My tasks".

Views parse the request, call one service or selector and render. The panel is built to be
embedded in a record page (`hx-get` on load) and also works as a page of its own. After a
write, the response triggers `timeline-changed` / `tasks-changed`, and the list on the page
fetches itself again, so the write views never read.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Literal

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from vinculo.core.exceptions import NotFound, PermissionDenied, ValidationFailed
from vinculo.core.pages import page_context as _context
from vinculo.timeline import selectors, services
from vinculo.timeline.forms import (
    FILTER_CHIPS,
    MORE_CHANNELS,
    CallForm,
    EmailForm,
    MeetingForm,
    NoteForm,
    ServiceForm,
    TaskForm,
    timeline_filter,
)
from vinculo.timeline.models import Task
from vinculo.timeline.selectors import TimelineEntry

PANEL_PAGE_SIZE = 30
TASKS_PAGE_SIZE = 50
BUCKET_LABELS = (
    ("overdue", _("Overdue")),
    ("today", _("Today")),
    ("upcoming", _("Upcoming")),
    ("none", _("No due date")),
)


def _template(request: HttpRequest, page: str, partial: str) -> str:
    return f"{page}#{partial}" if request.htmx else page  # type: ignore[attr-defined]


def _triggered(response: HttpResponse, event: str, detail: Any = True) -> HttpResponse:
    response["HX-Trigger"] = json.dumps({event: detail})
    return response


# ---------------------------------------------------------------------------------------------
# The timeline panel


# action: (button label, message once done, form)
QUICK_ACTIONS: dict[str, tuple[Any, Any, type[ServiceForm]]] = {
    "call": (_("Log a call"), _("Call logged."), CallForm),
    "meeting": (_("Log a meeting"), _("Meeting logged."), MeetingForm),
    "email": (_("Log an email"), _("Email logged."), EmailForm),
    "note": (_("Add a note"), _("Note added."), NoteForm),
    "task": (_("Create a task"), _("Task created."), TaskForm),
}
QUICK_ACTION_SERVICES: dict[str, Callable[..., object]] = {
    "call": services.interaction_create,
    "meeting": services.interaction_create,
    "email": services.interaction_create,
    "note": services.note_create,
    "task": services.task_create,
}


def _panel_ids(kind: str, pk: int) -> dict[str, str]:
    base = f"tl-{kind}-{pk}"
    return {"panel_id": base, "form_id": f"{base}-form", "feed_id": f"{base}-feed"}


@login_required
@require_GET
def panel(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    """The timeline of a contact or an account. `?filter=` picks a chip, `?after=` is the
    "load more" cursor (answers the next entries only), `?part=feed` answers the filters and
    entries without the quick actions (what a filter chip and a refresh swap)."""
    workspace, user = _context(request)
    chosen = timeline_filter(request.GET.get("filter"))
    after = request.GET.get("after") or None
    try:
        data = selectors.timeline_panel(
            workspace=workspace,
            viewer=user,
            kind=kind,
            record_id=pk,
            kinds=chosen.kinds,
            channels=chosen.channels,
            after=after,
            limit=PANEL_PAGE_SIZE,
        )
    except NotFound as exc:
        raise Http404(str(exc)) from exc
    except ValidationFailed:
        return HttpResponse(status=400)
    context = {
        "panel": data,
        "record": data.record,
        "kind": kind,
        "chosen": chosen,
        "chips": FILTER_CHIPS,
        "more_channels": MORE_CHANNELS,
        "more_chosen": chosen in MORE_CHANNELS,
        "quick_actions": [(key, value[0]) for key, value in QUICK_ACTIONS.items()],
        "now": timezone.now(),
        "panel_url": reverse("timeline:panel", args=[kind, pk]),
        "more_url": (
            reverse("timeline:panel", args=[kind, pk])
            + "?"
            + urlencode({"filter": chosen.key, "after": data.next_cursor})
            if data.next_cursor
            else ""
        ),
        **_panel_ids(kind, pk),
    }
    page = "timeline/panel.html"
    if request.htmx and after:  # type: ignore[attr-defined]
        return render(request, f"{page}#entries", context)
    if request.htmx and request.GET.get("part") == "feed":  # type: ignore[attr-defined]
        return render(request, f"{page}#feed", context)
    return render(request, _template(request, page, "panel"), context)


@login_required
@require_http_methods(["GET", "POST"])
def quick_action(request: HttpRequest, kind: str, pk: int, action: str) -> HttpResponse:
    """The form of a quick action (GET) and its submission (POST), linked to the record.
    Errors come back next to their fields with status 422; on success the form gives way to
    a confirmation and the panel's entries refresh themselves."""
    workspace, user = _context(request)
    if action not in QUICK_ACTIONS or kind not in selectors.RECORD_KINDS:
        raise Http404("unknown quick action")
    label, done_message, form_class = QUICK_ACTIONS[action]
    ids = _panel_ids(kind, pk)
    form = form_class(
        request.POST or None,
        workspace=workspace,
        viewer=user,
        auto_id=f"{ids['form_id']}-{action}-%s",
    )
    context: dict[str, Any] = {
        "form": form,
        "action": action,
        "title": label,
        "kind": kind,
        "pk": pk,
        "action_url": reverse("timeline:quick_action", args=[kind, pk, action]),
        "panel_url": reverse("timeline:panel", args=[kind, pk]),
        **ids,
    }
    if request.method == "POST" and form.is_valid():
        try:
            QUICK_ACTION_SERVICES[action](
                workspace=workspace,
                actor=user,
                **form.service_kwargs(),
                **{f"{kind}_id": pk},
            )
        except PermissionDenied as exc:
            raise DjangoPermissionDenied(str(exc)) from exc
        except ValidationFailed as exc:
            if any(e.field == f"{kind}_id" for e in exc.errors):
                raise Http404("record not found") from exc
            form.add_service_errors(exc)
        else:
            if not request.htmx:  # type: ignore[attr-defined]
                return HttpResponseRedirect(context["panel_url"])
            response = render(
                request, "timeline/quick_form.html#done", {**context, "message": done_message}
            )
            return _triggered(response, "timeline-changed", {"record": f"{kind}-{pk}"})
    elif request.method == "GET":
        # Only to answer 404 for a record the viewer cannot see before showing a form for it.
        try:
            selectors.timeline_record_get(workspace=workspace, viewer=user, kind=kind, record_id=pk)
        except NotFound as exc:
            raise Http404(str(exc)) from exc
    status = 422 if form.errors else 200
    return render(
        request, _template(request, "timeline/quick_form.html", "form"), context, status=status
    )


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or fallback
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def _task_status_change(request: HttpRequest, pk: int, *, complete: bool) -> HttpResponse:
    workspace, user = _context(request)
    change = services.task_complete if complete else services.task_reopen
    try:
        task = change(workspace=workspace, actor=user, task_id=pk)
    except NotFound as exc:
        raise Http404(str(exc)) from exc
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(str(exc)) from exc
    if not request.htmx:  # type: ignore[attr-defined]
        return HttpResponseRedirect(_safe_next(request, reverse("timeline:my_tasks")))
    shown_as = request.POST.get("as", "row")
    context: dict[str, Any] = {"now": timezone.now(), "just_changed": True}
    if shown_as == "entry":
        record_kind = request.POST.get("record", "contact")
        entry = TimelineEntry(
            kind="task", id=task.pk, occurred_at=task.completed_at or task.created_at, obj=task
        )
        context |= {
            "row": selectors.PanelRow(entry=entry),
            "kind": record_kind if record_kind in selectors.RECORD_KINDS else "contact",
            "panel": {"can_complete": True},
        }
        response = render(request, "timeline/panel.html#entry", context)
    else:
        context |= {
            "row": selectors.task_row(task),
            "everyone": request.POST.get("everyone") == "1",
            "can_complete": True,
        }
        response = render(request, "timeline/my_tasks.html#row", context)
    return _triggered(response, "task-changed", {"task": task.pk, "status": task.status})


@login_required
@require_POST
def task_complete(request: HttpRequest, pk: int) -> HttpResponse:
    """Complete a task in one click; answers the task's row (or timeline entry) done, with
    an undo button."""
    return _task_status_change(request, pk, complete=True)


@login_required
@require_POST
def task_reopen(request: HttpRequest, pk: int) -> HttpResponse:
    """Undo a completion: the task is open again."""
    return _task_status_change(request, pk, complete=False)


# ---------------------------------------------------------------------------------------------
# My tasks


@login_required
@require_GET
def my_tasks(request: HttpRequest) -> HttpResponse:
    """The viewer's tasks: open ones grouped overdue / today / upcoming / no date in their
    time zone, or done ones. `?assignee=anyone` shows everyone's to admins and managers."""
    workspace, user = _context(request)
    status: Literal["open", "done"] = "done" if request.GET.get("status") == "done" else "open"
    everyone = request.GET.get("assignee") == "anyone"
    after = request.GET.get("after") or None
    try:
        data = selectors.my_tasks_page(
            workspace=workspace,
            viewer=user,
            status=status,
            everyone=everyone,
            after=after,
            limit=TASKS_PAGE_SIZE,
        )
    except ValidationFailed:
        return HttpResponse(status=400)
    everyone = everyone and data.can_see_everyone
    more_url = ""
    if data.next_cursor:
        more_url = "?".join(
            [
                reverse("timeline:my_tasks"),
                urlencode(
                    {
                        "status": status,
                        **({"assignee": "anyone"} if everyone else {}),
                        "after": data.next_cursor,
                        "bucket": data.rows[-1].bucket,
                    }
                ),
            ]
        )
    context = {
        "data": data,
        "status": status,
        "everyone": everyone,
        "now": timezone.now(),
        # Counts per bucket, worth showing only when there is something to count.
        "summary": [(key, label, data.counts[key]) for key, label in BUCKET_LABELS]
        if data.counts and any(data.counts.values())
        else [],
        "more_url": more_url,
        # The bucket of the last row already shown, so a "load more" page does not repeat
        # the heading it continues under.
        "previous_bucket": request.GET.get("bucket", ""),
    }
    page = "timeline/my_tasks.html"
    if request.htmx and after:  # type: ignore[attr-defined]
        return render(request, f"{page}#rows", context)
    return render(request, _template(request, page, "list"), context)


@login_required
@require_http_methods(["GET", "POST"])
def task_new(request: HttpRequest) -> HttpResponse:
    """Create a task from "My tasks" (not linked to a record; assigned to the viewer unless
    they pick someone else)."""
    workspace, user = _context(request)
    form = TaskForm(request.POST or None, workspace=workspace, viewer=user, auto_id="task-new-%s")
    context: dict[str, Any] = {"form": form}
    if request.method == "POST" and form.is_valid():
        try:
            task: Task = services.task_create(
                workspace=workspace, actor=user, **form.service_kwargs()
            )
        except PermissionDenied as exc:
            raise DjangoPermissionDenied(str(exc)) from exc
        except ValidationFailed as exc:
            form.add_service_errors(exc)
        else:
            if not request.htmx:  # type: ignore[attr-defined]
                return HttpResponseRedirect(reverse("timeline:my_tasks"))
            response = render(request, "timeline/task_form.html#done", {**context, "task": task})
            return _triggered(response, "tasks-changed", {"task": task.pk})
    status = 422 if form.errors else 200
    return render(
        request, _template(request, "timeline/task_form.html", "form"), context, status=status
    )
