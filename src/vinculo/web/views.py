from __future__ import annotations

from typing import cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from vinculo.core.exceptions import ValidationFailed
from vinculo.core.middleware import SESSION_KEY
from vinculo.core.models import Membership, User, Workspace
from vinculo.core.services import user_set_preferences
from vinculo.web.forms import PreferencesForm
from vinculo.web.search import MIN_QUERY_LENGTH, clean_query, global_search
from vinculo.web.selectors import workspace_overview

SUGGESTIONS_PER_GROUP = 5
RESULTS_PER_GROUP = 20


def _safe_next(request: HttpRequest, fallback: str = "/") -> str:
    target = request.POST.get("next") or request.GET.get("next") or fallback
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _workspace(request: HttpRequest) -> Workspace | None:
    return getattr(request, "workspace", None)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    workspace = _workspace(request)
    overview = workspace_overview(workspace=workspace, viewer=_user(request)) if workspace else None
    return render(request, "web/home.html", {"overview": overview})


@login_required
@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest) -> HttpResponse:
    """Language and time zone of the signed-in user, kept on the user and in the language
    cookie. The user menu posts here; without JavaScript (or with bad input) this page shows
    the form, with each error next to its field."""
    user = _user(request)
    if request.method == "GET":
        form = PreferencesForm(initial={"language": user.language, "time_zone": user.time_zone})
        return render(request, "web/preferences.html", {"form": form, "next": _safe_next(request)})
    form = PreferencesForm(request.POST)
    if form.is_valid():
        try:
            user = user_set_preferences(user=user, **form.changed_values())
        except ValidationFailed as exc:
            for error in exc.errors:
                form.add_error(error.field if error.field in form.fields else None, error.message)
    if form.errors:
        return render(
            request,
            "web/preferences.html",
            {"form": form, "next": _safe_next(request)},
            status=422,
        )
    response = HttpResponseRedirect(_safe_next(request))
    if user.language:
        translation.activate(user.language)
        response.set_cookie(settings.LANGUAGE_COOKIE_NAME, user.language, samesite="Lax")
    return response


@login_required
@require_POST
def switch_workspace(request: HttpRequest) -> HttpResponse:
    """Make another of the user's own workspaces the active one; anything else is ignored."""
    wanted = request.POST.get("workspace", "")
    membership = (
        Membership.all_tenants.filter(user=_user(request), workspace_id=int(wanted), is_active=True)
        .select_related("workspace")
        .first()
        if wanted.isdigit() and len(wanted) < 19
        else None
    )
    if membership is None:
        messages.error(request, _("You are not a member of that workspace."))
    else:
        request.session[SESSION_KEY] = membership.workspace_id
    return HttpResponseRedirect("/")


@login_required
@require_GET
def search_suggest(request: HttpRequest) -> HttpResponse:
    """The top-bar dropdown: a few hits per module as the user types (htmx)."""
    query = request.GET.get("q", "")
    workspace = _workspace(request)
    groups = (
        global_search(
            workspace=workspace, viewer=_user(request), query=query, limit=SUGGESTIONS_PER_GROUP
        )
        if workspace
        else []
    )
    return render(
        request,
        "web/search.html#suggestions",
        {"groups": groups, "query": clean_query(query)},
    )


@login_required
@require_GET
def search(request: HttpRequest) -> HttpResponse:
    """Every module's hits for a query on one page; works without JavaScript."""
    query = request.GET.get("q", "")
    workspace = _workspace(request)
    groups = (
        global_search(
            workspace=workspace, viewer=_user(request), query=query, limit=RESULTS_PER_GROUP
        )
        if workspace
        else []
    )
    return render(
        request,
        "web/search.html",
        {
            "groups": groups,
            "query": clean_query(query),
            "raw_query": " ".join(query.split())[:200],
            "min_length": MIN_QUERY_LENGTH,
        },
    )
