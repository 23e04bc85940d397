"""Pages of marketing: the web form builder (list, create and edit with a live preview, the
hosted address and embed snippet, the submissions) and the public form visitors fill in.

The public page (`/f/<public_key>`) needs no login. It may be framed only by the sites the
form lists (CSP `frame-ancestors`; X-Frame-Options is left out for it because it cannot name
several sites), while every other page keeps the app's `frame-ancestors 'none'`. It carries no
CSRF token: it is posted from other sites' pages, where the app's cookies are not sent;
the honeypot and the rate limit per client address guard it instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import NoReverseMatch, reverse
from django.utils.csp import CSP
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from vinculo.core.access import can
from vinculo.core.exceptions import NotFound, ValidationFailed
from vinculo.core.models import User, Workspace
from vinculo.core.pages import domain_errors
from vinculo.core.pages import page_context as _context
from vinculo.core.ratelimit import client_ip
from vinculo.core.roles import Right
from vinculo.core.tenancy import workspace_scope
from vinculo.marketing import selectors, services
from vinculo.marketing.fields import DEFAULT_FIELDS, lead_custom_fields, uses_custom_fields
from vinculo.marketing.forms import (
    WebFormSettingsForm,
    attach_field_errors,
    consent_purpose_options,
    field_rows,
    rows_to_fields,
)
from vinculo.marketing.models import WebForm
from vinculo.marketing.services import (
    CONSENT_FIELD,
    HONEYPOT_FIELD,
    UTM_KEYS,
    AskedField,
    FormClosed,
    SubmissionDiscarded,
    SubmissionRateLimited,
    asked_fields,
)

PAGE_SIZE = 50
MODULE = "webforms"
TRACKING_MAX = 1000


def _rights(workspace: Workspace, user: User) -> dict[str, bool]:
    return {
        f"can_{right}": can(workspace=workspace, user=user, module=MODULE, right=right)
        for right in (Right.VIEW, Right.CREATE, Right.EDIT, Right.DELETE)
    }


def _require(workspace: Workspace, user: User, right: Right) -> None:
    if not can(workspace=workspace, user=user, module=MODULE, right=right):
        raise DjangoPermissionDenied(f"no {right} right on web forms")


def _htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def public_url(request: HttpRequest, form: WebForm) -> str:
    return request.build_absolute_uri(reverse("marketing:webform_public", args=[form.public_key]))


def embed_snippet(request: HttpRequest, form: WebForm) -> str:
    script = request.build_absolute_uri(static("marketing/embed.js"))
    # The frame's title, read out by screen readers on the site's page.
    title = escape(form.title or form.name)
    return (
        f'<div data-vinculo-form="{form.public_key}" data-title="{title}"></div>\n'
        f'<script src="{escape(script)}" async></script>'
    )


# ---------------------------------------------------------------------------------------------
# The builder


@login_required
@require_GET
@domain_errors
def webform_list(request: HttpRequest) -> HttpResponse:
    """The workspace's forms: submissions, open or closed, links to each one's pages."""
    workspace, user = _context(request)
    _require(workspace, user, Right.VIEW)
    try:
        page = selectors.webform_list(
            workspace=workspace,
            viewer=user,
            after=request.GET.get("cursor") or None,
            limit=PAGE_SIZE,
        )
    except ValidationFailed:
        # A cursor edited by hand (or from an old link): start from the first page.
        return HttpResponseRedirect(reverse("marketing:webform_list"))
    return render(
        request,
        "marketing/list.html",
        {"page": page, "forms": page.items, **_rights(workspace, user)},
    )


def _builder(
    request: HttpRequest,
    *,
    form: WebForm | None,
    settings_form: WebFormSettingsForm,
    rows: list[Any],
    field_errors: list[str] | None = None,
    status: int = 200,
) -> HttpResponse:
    workspace, user = _context(request)
    preview = _preview_form(
        workspace, settings_form.to_data() if settings_form.is_bound else None, form, rows
    )
    return render(
        request,
        "marketing/builder.html",
        {
            "webform": form,
            "settings_form": settings_form,
            "rows": rows,
            "field_errors": field_errors or [],
            "purposes": consent_purpose_options(),
            "preview": _public_context(preview, preview=True),
            "has_errors": bool(settings_form.errors or field_errors or any(r.errors for r in rows)),
            **_rights(workspace, user),
        },
        status=status,
    )


def _save(request: HttpRequest, form: WebForm | None) -> HttpResponse:
    workspace, user = _context(request)
    custom = lead_custom_fields(workspace)
    settings_form = WebFormSettingsForm.for_form(form, request.POST)
    settings_form.is_valid()
    rows = field_rows([], custom, post=request.POST)
    if not settings_form.check_redirect():
        return _builder(request, form=form, settings_form=settings_form, rows=rows, status=422)
    data = settings_form.to_data() | {"fields": rows_to_fields(rows)}
    try:
        if form is None:
            saved = services.webform_create(workspace=workspace, actor=user, data=data)
            messages.success(request, _("Web form “%(name)s” created.") % {"name": saved.name})
            return HttpResponseRedirect(reverse("marketing:webform_share", args=[saved.pk]))
        saved = services.webform_update(workspace=workspace, actor=user, form_id=form.pk, data=data)
    except ValidationFailed as exc:
        general = attach_field_errors(exc, rows, settings_form)
        return _builder(
            request,
            form=form,
            settings_form=settings_form,
            rows=rows,
            field_errors=general,
            status=422,
        )
    messages.success(request, _("Web form “%(name)s” saved.") % {"name": saved.name})
    return HttpResponseRedirect(reverse("marketing:webform_edit", args=[saved.pk]))


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors
def webform_new(request: HttpRequest) -> HttpResponse:
    workspace, user = _context(request)
    _require(workspace, user, Right.CREATE)
    if request.method == "POST":
        return _save(request, None)
    custom = lead_custom_fields(workspace)
    return _builder(
        request,
        form=None,
        settings_form=WebFormSettingsForm.for_form(None),
        rows=field_rows([dict(f) for f in DEFAULT_FIELDS], custom),
    )


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors
def webform_edit(request: HttpRequest, pk: int) -> HttpResponse:
    workspace, user = _context(request)
    _require(workspace, user, Right.EDIT)
    form = selectors.webform_get(workspace=workspace, viewer=user, form_id=pk)
    if request.method == "POST":
        return _save(request, form)
    custom = lead_custom_fields(workspace)
    return _builder(
        request,
        form=form,
        settings_form=WebFormSettingsForm.for_form(form),
        rows=field_rows(form.fields, custom),
    )


def _preview_form(
    workspace: Workspace, data: dict[str, Any] | None, saved: WebForm | None, rows: list[Any]
) -> WebForm:
    """An unsaved form built from what the builder holds now, for the preview."""
    preview = WebForm(workspace=workspace, public_key=saved.public_key if saved else "preview")
    source = data if data is not None else _settings_of(saved)
    for key, value in source.items():
        setattr(preview, key, value)
    preview.fields = rows_to_fields(rows)
    return preview


def _settings_of(form: WebForm | None) -> dict[str, Any]:
    if form is None:
        return {"consent_enabled": True}
    return {
        "title": form.title,
        "introduction": form.introduction,
        "submit_label": form.submit_label,
        "consent_enabled": form.consent_enabled,
        "consent_wording": form.consent_wording,
        "consent_required": form.consent_required,
    }


@login_required
@require_POST
@domain_errors
def webform_preview(request: HttpRequest) -> HttpResponse:
    """The preview of the builder's current state (htmx, on every change)."""
    workspace, user = _context(request)
    _require(workspace, user, Right.VIEW)
    custom = lead_custom_fields(workspace)
    settings_form = WebFormSettingsForm(request.POST)
    rows = field_rows([], custom, post=request.POST)
    preview = _preview_form(workspace, settings_form.to_data(), None, rows)
    return render(
        request,
        "marketing/builder.html#preview",
        {"preview": _public_context(preview, preview=True)},
    )


@login_required
@require_GET
@domain_errors
def webform_share(request: HttpRequest, pk: int) -> HttpResponse:
    """Where the form lives: its hosted address and the snippet that embeds it in a site."""
    workspace, user = _context(request)
    _require(workspace, user, Right.VIEW)
    form = selectors.webform_get(workspace=workspace, viewer=user, form_id=pk)
    return render(
        request,
        "marketing/share.html",
        {
            "webform": form,
            "hosted_url": public_url(request, form),
            "snippet": embed_snippet(request, form),
            "origins": [o for o in form.allowed_origins.splitlines() if o],
            **_rights(workspace, user),
        },
    )


@dataclass(frozen=True)
class SubmissionRow:
    submission: Any
    values: list[tuple[str, str]]
    lead_url: str
    lead_name: str


def _lead_url_maker() -> Any:
    try:
        prefix, _sep, suffix = reverse("sales:lead_detail", args=[1]).rpartition("1")
    except NoReverseMatch:
        return lambda pk: ""
    return lambda pk: f"{prefix}{pk}{suffix}"


@login_required
@require_GET
@domain_errors
def webform_submissions(request: HttpRequest, pk: int) -> HttpResponse:
    """What visitors sent through a form, newest first, each with the lead it made."""
    workspace, user = _context(request)
    _require(workspace, user, Right.VIEW)
    form = selectors.webform_get(workspace=workspace, viewer=user, form_id=pk)
    try:
        page = selectors.submission_list(
            workspace=workspace,
            viewer=user,
            form_id=form.pk,
            after=request.GET.get("cursor") or None,
            limit=PAGE_SIZE,
        )
    except ValidationFailed:
        return HttpResponseRedirect(reverse("marketing:webform_submissions", args=[form.pk]))
    labels = {f.name: f.label for f in asked_fields(form)}
    labels[CONSENT_FIELD] = _("Consent")
    lead_url = _lead_url_maker()
    rows = []
    for submission in page.items:
        values = []
        for key, value in (submission.data or {}).items():
            shown = str(value)
            if isinstance(value, bool):
                shown = _("Yes") if value else _("No")
            values.append((str(labels.get(key, key)), shown))
        lead = submission.lead
        rows.append(
            SubmissionRow(
                submission,
                values,
                lead_url(lead.pk) if lead is not None else "",
                lead.display_name if lead is not None else "",
            )
        )
    return render(
        request,
        "marketing/submissions.html",
        {"webform": form, "page": page, "rows": rows, **_rights(workspace, user)},
    )


@login_required
@require_POST
@domain_errors
def webform_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    """Open or close a form to submissions; answers the list's row to htmx."""
    workspace, user = _context(request)
    form = services.webform_set_active(
        workspace=workspace,
        actor=user,
        form_id=pk,
        active=request.POST.get("active") == "1",
    )
    if _htmx(request):
        return render(
            request,
            "marketing/list.html#row",
            {"webform": form, **_rights(workspace, user)},
        )
    return HttpResponseRedirect(reverse("marketing:webform_list"))


@login_required
@require_POST
@domain_errors
def webform_delete(request: HttpRequest, pk: int) -> HttpResponse:
    workspace, user = _context(request)
    form = services.webform_delete(workspace=workspace, actor=user, form_id=pk)
    messages.success(
        request,
        _("Web form “%(name)s” deleted. Its submissions and leads are kept.") % {"name": form.name},
    )
    return HttpResponseRedirect(reverse("marketing:webform_list"))


# ---------------------------------------------------------------------------------------------
# The public form


@dataclass(frozen=True)
class PublicField:
    """One input of the public form as the template draws it."""

    name: str
    dom_id: str
    label: str
    required: bool
    input: str
    autocomplete: str
    max_length: int | None
    choices: list[tuple[str, str]]
    value: Any
    error: str


def _public_fields(
    asked: list[AskedField], values: Any, errors: dict[str, str], *, prefix: str
) -> list[PublicField]:
    fields = []
    for field in asked:
        spec = field.spec
        if spec.input == "checkbox":
            value: Any = values.get(field.name) in {"on", "true", "1"} if values else False
        else:
            value = values.get(field.name, "") if values else ""
        fields.append(
            PublicField(
                name=field.name,
                dom_id=prefix + field.name.replace(":", "-"),
                label=field.label,
                required=field.required,
                input=spec.input,
                autocomplete=spec.autocomplete,
                max_length=spec.max_length,
                choices=spec.choices() if spec.choices is not None else [],
                value=value,
                error=errors.get(field.name, ""),
            )
        )
    return fields


def _public_context(
    form: WebForm,
    *,
    preview: bool = False,
    values: Any = None,
    errors: dict[str, str] | None = None,
    tracking: dict[str, str] | None = None,
    embed: bool = False,
) -> dict[str, Any]:
    errors = errors or {}
    custom = lead_custom_fields(form.workspace) if uses_custom_fields(form.fields) else {}
    fields = _public_fields(
        asked_fields(form, custom), values, errors, prefix="wf-preview-" if preview else "wf-"
    )
    summary = [(f.dom_id, f.label, f.error) for f in fields if f.error]
    if errors.get(CONSENT_FIELD):
        summary.append(("wf-consent", _("Consent"), errors[CONSENT_FIELD]))
    return {
        "webform": form,
        "fields": fields,
        "errors": errors,
        "summary": summary,
        "preview": preview,
        "embed": embed,
        "tracking": tracking or {},
        "consent_checked": bool(values) and values.get(CONSENT_FIELD) in {"on", "true", "1"},
        "honeypot": HONEYPOT_FIELD,
        "action": reverse("marketing:webform_public", args=[form.public_key])
        + ("?embed=1" if embed else ""),
    }


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def _frameable(response: HttpResponse, form: WebForm) -> HttpResponse:
    """Let the form's sites frame this answer (all sites when it lists none), and let the
    form's redirect leave for its page: browsers hold a redirect after a post to the page's
    `form-action`."""
    config = dict(settings.SECURE_CSP)
    origins = [o for o in (form.allowed_origins or "").splitlines() if o]
    config["frame-ancestors"] = [CSP.SELF, *origins] if origins else [CSP.SELF, "*"]
    if form.redirect_url and _origin(form.redirect_url):
        config["form-action"] = [CSP.SELF, _origin(form.redirect_url)]
    response._csp_config = config  # type: ignore[attr-defined]
    response.xframe_options_exempt = True
    return response


def _tracking_from_request(request: HttpRequest, embed: bool) -> dict[str, str]:
    """UTM parameters from the page's address (embedded: the address of the site's page the
    snippet passed along), the page itself and where the visitor came from."""
    params = request.GET
    page_url = params.get("page", "") if embed else request.build_absolute_uri()
    referrer = params.get("ref", "") if embed else request.META.get("HTTP_REFERER", "")
    tracking = {key: params.get(key, "") for key in UTM_KEYS}
    if embed and page_url:
        from_page = dict(parse_qsl(urlsplit(page_url).query))
        for key in UTM_KEYS:
            tracking[key] = tracking[key] or from_page.get(key, "")
    tracking["page_url"] = page_url
    tracking["referrer"] = referrer
    return {k: v[:TRACKING_MAX] for k, v in tracking.items()}


def _tracking_from_post(request: HttpRequest) -> dict[str, str]:
    keys = (*UTM_KEYS, "page_url", "referrer")
    return {key: str(request.POST.get(key, ""))[:TRACKING_MAX] for key in keys}


def _notice(
    request: HttpRequest, form: WebForm | None, *, status: int, title: str, text: str, embed: bool
) -> HttpResponse:
    response = render(
        request,
        "marketing/public/notice.html",
        {"webform": form, "title": title, "text": text, "embed": embed, "status": status},
        status=status,
    )
    return _frameable(response, form) if form is not None else response


@csrf_exempt
@require_http_methods(["GET", "POST"])
def webform_public(request: HttpRequest, public_key: str) -> HttpResponse:
    """The hosted form: GET shows it, POST sends it (no login, no CSRF token: see the module
    note). `?embed=1` is the framed version the snippet loads."""
    form = selectors.webform_get_public(public_key)
    embed = request.GET.get("embed") == "1"
    if form is None:
        return _notice(
            request,
            None,
            status=404,
            title=_("Form not found"),
            text=_("This form does not exist or was removed."),
            embed=embed,
        )
    with workspace_scope(form.workspace):
        if not form.is_active:
            return _closed(request, form, embed)
        if request.method == "GET":
            context = _public_context(
                form, tracking=_tracking_from_request(request, embed), embed=embed
            )
            return _frameable(
                render(request, "marketing/public/page.html", {"pf": context, "embed": embed}),
                form,
            )
        return _submit(request, form, embed)


def _closed(request: HttpRequest, form: WebForm, embed: bool) -> HttpResponse:
    return _notice(
        request,
        form,
        status=410,
        title=form.title or _("Form closed"),
        text=_("This form no longer accepts answers."),
        embed=embed,
    )


def _submit(request: HttpRequest, form: WebForm, embed: bool) -> HttpResponse:
    tracking = _tracking_from_post(request)
    thanks = reverse("marketing:webform_thanks", args=[form.public_key]) + (
        "?embed=1" if embed else ""
    )
    try:
        services.webform_submit(
            workspace=form.workspace,
            form=form,
            data=request.POST,
            utm={key: tracking[key] for key in UTM_KEYS},
            ip=client_ip(request),
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
            page_url=tracking["page_url"],
            referrer=tracking["referrer"],
        )
    except SubmissionDiscarded:
        return HttpResponseRedirect(thanks, status=303)
    except SubmissionRateLimited as exc:
        response = _notice(
            request,
            form,
            status=429,
            title=_("Too many submissions"),
            text=exc.detail,
            embed=embed,
        )
        response["Retry-After"] = str(exc.retry_after)
        return response
    except FormClosed:
        return _closed(request, form, embed)
    except NotFound as exc:
        raise Http404(str(exc)) from exc
    except ValidationFailed as exc:
        errors: dict[str, str] = {}
        for error in exc.errors:
            errors.setdefault(error.field, str(error.message))
        context = _public_context(
            form, values=request.POST, errors=errors, tracking=tracking, embed=embed
        )
        response = render(
            request, "marketing/public/page.html", {"pf": context, "embed": embed}, status=422
        )
        return _frameable(response, form)
    if form.redirect_url and not embed:
        return _frameable(HttpResponseRedirect(form.redirect_url, status=303), form)
    return _frameable(HttpResponseRedirect(thanks, status=303), form)


@require_GET
def webform_thanks(request: HttpRequest, public_key: str) -> HttpResponse:
    """What a visitor sees after sending: the form's message, or (framed) the redirect to
    the form's page, which the snippet carries out in the site's own window."""
    form = selectors.webform_get_public(public_key)
    if form is None:
        raise Http404("no such form")
    embed = request.GET.get("embed") == "1"
    response = render(
        request,
        "marketing/public/thanks.html",
        {"webform": form, "embed": embed},
    )
    return _frameable(response, form)
