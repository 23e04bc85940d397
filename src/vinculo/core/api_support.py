"""What every API router shares: authentication (API key or session), the JSON parser with
size and depth limits, and RFC 9457 problem responses for every error."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.openapi.docs import Swagger
from ninja.parser import Parser
from ninja.security import HttpBearer, SessionAuth

from vinculo.core.exceptions import ApplicationError, FieldError, ValidationFailed
from vinculo.core.tenancy import activate_workspace

logger = logging.getLogger(__name__)

PROBLEM_BASE = "https://vinculo.dev/problems/"
PROBLEM_CONTENT_TYPE = "application/problem+json"


class BodyTooDeep(ValueError):
    pass


def _check_depth(value: Any, limit: int) -> None:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            raise BodyTooDeep(f"The body is nested deeper than {limit} levels.")
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)


class LimitedJsonParser(Parser):
    """JSON bodies only, at most `API_MAX_JSON_DEPTH` levels deep (size is capped by Django's
    DATA_UPLOAD_MAX_MEMORY_SIZE before we get here)."""

    def parse_body(self, request: HttpRequest) -> Any:
        try:
            data = json.loads(request.body)
        except RecursionError as exc:
            raise BodyTooDeep(
                f"The body is nested deeper than {settings.API_MAX_JSON_DEPTH} levels."
            ) from exc
        _check_depth(data, settings.API_MAX_JSON_DEPTH)
        return data


def problem(
    request: HttpRequest,
    *,
    status: int,
    code: str,
    title: str,
    detail: str = "",
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
) -> HttpResponse:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + code,
        "title": title,
        "status": status,
        "detail": detail or title,
        "instance": request.path,
    }
    if errors is not None:
        body["errors"] = [e.as_dict() for e in errors]
    response = HttpResponse(
        json.dumps(body, ensure_ascii=False), status=status, content_type=PROBLEM_CONTENT_TYPE
    )
    for key, value in (headers or {}).items():
        response[key] = value
    return response


def _field_path(loc: list[Any] | tuple[Any, ...]) -> str:
    # ninja locations look like ("body", "body", "emails", 0) or ("query", "limit").
    parts = [str(p) for p in loc]
    while parts and parts[0] in {"body", "query", "path", "header", "cookie", "form"}:
        parts.pop(0)
    return ".".join(parts) or "body"


def validation_problem(request: HttpRequest, exc: Any) -> HttpResponse:
    errors = [
        FieldError(_field_path(e.get("loc", ())), e.get("type", "invalid"), e.get("msg", "invalid"))
        for e in exc.errors
    ]
    return problem(
        request,
        status=422,
        code="validation-error",
        title="Some fields are not valid",
        detail="; ".join(f"{e.field}: {e.message}" for e in errors),
        errors=errors,
    )


def http_error_problem(request: HttpRequest, exc: Any) -> HttpResponse:
    cause = exc.__cause__
    if isinstance(cause, BodyTooDeep):
        return problem(
            request,
            status=400,
            code="body-too-deep",
            title="Body nested too deeply",
            detail=str(cause),
        )
    if isinstance(cause, json.JSONDecodeError | UnicodeDecodeError):
        return problem(
            request,
            status=400,
            code="invalid-json",
            title="The body is not valid JSON",
            detail=f"The body is not valid JSON: {cause}.",
        )
    if isinstance(exc, AuthenticationError):
        return problem(
            request,
            status=401,
            code="unauthenticated",
            title="Authentication required",
            detail="Send 'Authorization: Bearer <API key>' or log in.",
            headers={"WWW-Authenticate": 'Bearer realm="vinculo"'},
        )
    return problem(request, status=exc.status_code, code=f"http-{exc.status_code}", title=str(exc))


def install_problem_handlers(api: NinjaAPI) -> None:
    def on_application_error(request: HttpRequest, exc: Any) -> HttpResponse:
        errors = exc.errors if isinstance(exc, ValidationFailed) else None
        return problem(
            request,
            status=exc.status,
            code=exc.code,
            title=exc.title,
            detail=exc.detail,
            errors=errors,
        )

    def on_not_found(request: HttpRequest, exc: Any) -> HttpResponse:
        return problem(request, status=404, code="not-found", title="Not found")

    def on_exception(request: HttpRequest, exc: Any) -> HttpResponse:
        if isinstance(exc, RequestDataTooBig):
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            return problem(
                request,
                status=413,
                code="body-too-large",
                title="Body too large",
                detail=f"The body is larger than the {limit // 1024} KiB this API accepts.",
            )
        logger.exception("unhandled API error on %s", request.path)
        return problem(
            request,
            status=500,
            code="server-error",
            title="Internal error",
            detail="Something went wrong on our side; it has been logged.",
        )

    api.add_exception_handler(ApplicationError, on_application_error)
    api.add_exception_handler(NinjaValidationError, validation_problem)
    api.add_exception_handler(HttpError, http_error_problem)
    api.add_exception_handler(Http404, on_not_found)
    api.add_exception_handler(Exception, on_exception)


class ApiKeyAuth(HttpBearer):
    openapi_scheme = "bearer"

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        from vinculo.core.services import apikey_authenticate

        key = apikey_authenticate(raw_key=token)
        if key is None:
            return None
        request.user = key.user
        request.workspace = key.workspace  # type: ignore[attr-defined]
        request.api_key = key  # type: ignore[attr-defined]
        activate_workspace(key.workspace)
        return key


class WorkspaceSessionAuth(SessionAuth):
    """The browser's session, in the workspace the middleware selected (CSRF checked)."""

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = super().authenticate(request, key)
        if user is None or getattr(request, "workspace", None) is None:
            return None
        return user


API_PATH_PREFIX = "/api/"


class ApiProblemMiddleware:
    """Answers every API error as RFC 9457 problem+json, including those that happen before
    ninja routes the request: an unknown path (404) and a method the path lacks (405)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code < 400
            or not request.path.startswith(API_PATH_PREFIX)
            or response.get("Content-Type", "").startswith(PROBLEM_CONTENT_TYPE)
        ):
            return response
        status = response.status_code
        if status == 404:
            return problem(
                request,
                status=404,
                code="not-found",
                title="Not found",
                detail=f"There is no API endpoint at {request.path}.",
            )
        if status == 405:
            allowed = response.get("Allow", "")
            return problem(
                request,
                status=405,
                code="method-not-allowed",
                title="Method not allowed",
                detail=f"{request.method} is not allowed here; use one of: {allowed}.",
                headers={"Allow": allowed},
            )
        reason = response.reason_phrase
        return problem(request, status=status, code=f"http-{status}", title=reason)


class LocalSwagger(Swagger):
    """The API docs page with Swagger UI served from our own static files (built from npm by
    scripts/build_assets.mjs): ninja's default page loads it from a CDN, which the CSP
    forbids and offline installs cannot reach."""

    template = "core/api_docs.html"
    default_settings = {
        "layout": "BaseLayout",
        "deepLinking": True,
        # Swagger UI otherwise sends the schema to validator.swagger.io for a badge.
        "validatorUrl": None,
    }

    def render_page(self, request: HttpRequest, api: NinjaAPI, **kwargs: Any) -> HttpResponse:
        swagger_settings = {**self.settings, "url": self.get_openapi_url(api, kwargs)}
        csrf_needed = any(getattr(a, "csrf", False) for a in api.auth or ())  # type: ignore[union-attr]
        return render(
            request,
            self.template,
            {"api": api, "swagger_settings": swagger_settings, "add_csrf": csrf_needed},
        )
