"""What every page view shares: the request's workspace and user, and domain errors answered
the way Django answers its own (404, 403)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, cast

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest

from vinculo.core.exceptions import NotFound, PermissionDenied
from vinculo.core.models import User, Workspace


def page_context(request: HttpRequest) -> tuple[Workspace, User]:
    """The active workspace (set by WorkspaceMiddleware) and the signed-in user; 404 without
    a workspace."""
    workspace = getattr(request, "workspace", None)
    if workspace is None:
        raise Http404("no workspace")
    return workspace, cast(User, request.user)


def domain_errors(view: Callable[..., Any]) -> Callable[..., Any]:
    """NotFound answers 404 and PermissionDenied 403, exactly like Django's own."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        try:
            return view(request, *args, **kwargs)
        except NotFound as exc:
            raise Http404(str(exc)) from exc
        except PermissionDenied as exc:
            raise DjangoPermissionDenied(str(exc)) from exc

    return wrapped
