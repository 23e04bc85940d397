from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from vinculo.core.exceptions import ValidationFailed
from vinculo.core.middleware import SESSION_KEY
from vinculo.core.models import Membership
from vinculo.core.services import user_set_preferences
from vinculo.web.selectors import workspace_overview


def _safe_next(request: HttpRequest, fallback: str = "/") -> str:
    target = request.POST.get("next") or request.GET.get("next") or fallback
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


@login_required
def home(request: HttpRequest) -> HttpResponse:
    workspace = getattr(request, "workspace", None)
    overview = workspace_overview(workspace=workspace, viewer=request.user) if workspace else None  # type: ignore[arg-type]
    return render(request, "web/home.html", {"overview": overview})


@login_required
@require_POST
def preferences(request: HttpRequest) -> HttpResponse:
    """Language and time zone of the signed-in user, kept on the user and in the language cookie."""
    try:
        user = user_set_preferences(
            user=request.user,  # type: ignore[arg-type]
            language=request.POST.get("language"),
            time_zone=request.POST.get("time_zone"),
        )
    except ValidationFailed as exc:
        from django.contrib import messages

        messages.error(request, exc.detail)
        return HttpResponseRedirect(_safe_next(request))
    response = HttpResponseRedirect(_safe_next(request))
    if user.language:
        translation.activate(user.language)
        response.set_cookie(settings.LANGUAGE_COOKIE_NAME, user.language, samesite="Lax")
    return response


@login_required
@require_POST
def switch_workspace(request: HttpRequest) -> HttpResponse:
    wanted = request.POST.get("workspace", "")
    if (
        wanted.isdigit()
        and Membership.all_tenants.filter(
            user=request.user,
            workspace_id=int(wanted),
            is_active=True,  # type: ignore[misc]
        ).exists()
    ):
        request.session[SESSION_KEY] = int(wanted)
    return HttpResponseRedirect("/")
