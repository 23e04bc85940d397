"""Selects the active workspace for each request and scopes the ORM to it."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from vinculo.core.models import Membership, Workspace
from vinculo.core.tenancy import activate_workspace, deactivate_workspace

SESSION_KEY = "vinculo_workspace_id"


def workspace_for_session(request: HttpRequest) -> Workspace | None:
    """The workspace chosen in the session, else the user's first one."""
    user = request.user
    if not user.is_authenticated:
        return None
    memberships = Membership.all_tenants.filter(user=user, is_active=True).select_related(
        "workspace"
    )
    wanted = request.session.get(SESSION_KEY)
    chosen = memberships.filter(workspace_id=wanted).first() if wanted else None
    chosen = chosen or memberships.order_by("workspace__name", "id").first()
    if chosen is None:
        return None
    if wanted != chosen.workspace_id:
        # Only a change is written: an unconditional set would save the session on every request.
        request.session[SESSION_KEY] = chosen.workspace_id
    return chosen.workspace


class WorkspaceMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        workspace = None
        # API calls with a key authenticate (and pick their workspace) in the API layer.
        if not request.path.startswith("/api/") or "HTTP_AUTHORIZATION" not in request.META:
            workspace = workspace_for_session(request)
        request.workspace = workspace  # type: ignore[attr-defined]
        token = activate_workspace(workspace)
        try:
            return self.get_response(request)
        finally:
            deactivate_workspace(token)
