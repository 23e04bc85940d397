"""The bell in the top bar and the notifications page. Each user sees only their own
notifications; anyone else's answers 404."""

from __future__ import annotations

import json

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from vinculo.collab import selectors, services
from vinculo.core.exceptions import NotFound, ValidationFailed
from vinculo.core.pages import page_context as _context

# htmx stops polling when a response has this status: a session that ended must not keep
# asking (nor swap the login page into the bell).
STOP_POLLING = 286


@require_GET
def unread_count(request: HttpRequest) -> HttpResponse:
    """The number on the bell (polled by every page)."""
    if not request.user.is_authenticated or getattr(request, "workspace", None) is None:
        return HttpResponse(status=STOP_POLLING)
    workspace, user = _context(request)
    count = selectors.notification_unread_count(workspace=workspace, viewer=user)
    return render(
        request,
        "collab/bell.html#count",
        {"unread": count, "over_cap": count > selectors.UNREAD_COUNT_CAP},
    )


@login_required
@require_GET
def menu(request: HttpRequest) -> HttpResponse:
    """The bell's dropdown: the newest notifications and "mark all as read"."""
    workspace, user = _context(request)
    latest = selectors.notification_latest(workspace=workspace, viewer=user)
    return render(request, "collab/bell.html#menu", {"latest": latest})


@login_required
@require_GET
def notification_list(request: HttpRequest) -> HttpResponse:
    """Every notification of the viewer, newest first, with "load more"."""
    workspace, user = _context(request)
    after = request.GET.get("after") or None
    try:
        page = selectors.notification_list(workspace=workspace, viewer=user, after=after)
    except ValidationFailed:
        return HttpResponse(status=400)
    context = {"page": page}
    if request.htmx and after:  # type: ignore[attr-defined]
        return render(request, "collab/notifications.html#items", context)
    return render(request, "collab/notifications.html", context)


@login_required
@require_GET
def notification_open(request: HttpRequest, pk: int) -> HttpResponse:
    """Follow a notification's link, marking it read on the way (a link, so it can open in a
    new tab; marking read twice changes nothing)."""
    workspace, user = _context(request)
    try:
        notification = services.notification_mark_read(
            workspace=workspace, actor=user, notification_id=pk
        )
    except NotFound as exc:
        raise Http404(str(exc)) from exc
    target = notification.url or reverse("collab:list")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("collab:list")
    return HttpResponseRedirect(target)


@login_required
@require_POST
def mark_all_read(request: HttpRequest) -> HttpResponse:
    workspace, user = _context(request)
    services.notification_mark_all_read(workspace=workspace, actor=user)
    if not request.htmx:  # type: ignore[attr-defined]
        return HttpResponseRedirect(reverse("collab:list"))
    # The bell's number and whatever list is open fetch themselves again.
    response = HttpResponse(status=204)
    response["HX-Trigger"] = json.dumps({"notifications-changed": True})
    return response
