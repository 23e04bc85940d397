"""Pages of the core: the health check, the settings area and the invitation link.

Views parse the request, call one service (writes) or the selectors a page shows (reads), and
render. Every settings section answers htmx requests with its `#section` partial: a form with
errors comes back with status 422 and each error next to its field.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import connection
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
    JsonResponse,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from vinculo.core import selectors, services
from vinculo.core.exceptions import (
    ApplicationError,
    Conflict,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from vinculo.core.forms import (
    ApiKeyForm,
    CustomFieldEditForm,
    CustomFieldForm,
    InvitationAcceptForm,
    InvitationForm,
    PageForm,
    RoleForm,
    TagForm,
    TeamForm,
    WorkspaceForm,
)
from vinculo.core.middleware import SESSION_KEY
from vinculo.core.models import User, Workspace
from vinculo.core.roles import Role
from vinculo.core.worker import worker_is_fresh


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        database = "ok"
    except Exception:
        return JsonResponse({"database": "error", "worker": "unknown"}, status=503)
    return JsonResponse({"database": database, "worker": "ok" if worker_is_fresh() else "stale"})


# --- the settings area -----------------------------------------------------------------------

SECTION_LABELS = {
    "workspace": gettext_lazy("Workspace"),
    "users": gettext_lazy("Users and roles"),
    "teams": gettext_lazy("Teams"),
    "custom_fields": gettext_lazy("Custom fields"),
    "tags": gettext_lazy("Tags"),
    "api_keys": gettext_lazy("API keys"),
}
PAGE_SIZE = 100


@dataclass
class Ctx:
    """What a settings view works with: who asks, in which workspace, with which rights."""

    request: HttpRequest
    workspace: Workspace
    user: User
    access: selectors.SettingsAccess
    section: str

    @property
    def htmx(self) -> bool:
        return bool(getattr(self.request, "htmx", False))

    def base_url(self) -> str:
        return self.request.build_absolute_uri("/")


SettingsView = Callable[..., HttpResponse]


# Which right a write in each section needs; API keys: every member, for their own keys.
SECTION_WRITES = {
    "workspace": "manage_settings",
    "users": "manage_settings",
    "teams": "manage_settings",
    "custom_fields": "manage_settings",
    "tags": "manage_tags",
}


def settings_view(
    section: str | None, *, methods: tuple[str, ...] = ("GET",)
) -> Callable[[SettingsView], SettingsView]:
    """Signed-in members only; the section must be one the role may open, and a write one the
    role may change (else 403, before any input is read). Domain NotFound answers 404 and
    PermissionDenied 403, like Django's own."""

    def decorate(view: SettingsView) -> SettingsView:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method not in methods:
                return HttpResponseNotAllowed(methods)
            workspace = getattr(request, "workspace", None)
            if workspace is None:
                raise Http404("No workspace.")
            user = cast(User, request.user)
            try:
                access = selectors.settings_access(workspace=workspace, viewer=user)
                if section is not None and section not in access.sections:
                    raise DjangoPermissionDenied
                writes = SECTION_WRITES.get(section or "")
                if request.method == "POST" and writes and not getattr(access, writes):
                    raise DjangoPermissionDenied
                ctx = Ctx(request, workspace, user, access, section or "")
                return view(ctx, *args, **kwargs)
            except NotFound as exc:
                raise Http404(exc.detail) from exc
            except PermissionDenied as exc:
                raise DjangoPermissionDenied(exc.detail) from exc

        return wrapper

    return decorate


def _nav(ctx: Ctx) -> list[dict[str, Any]]:
    return [
        {
            "label": SECTION_LABELS[name],
            "url": reverse(f"settings:{name}"),
            "current": name == ctx.section,
        }
        for name in ctx.access.sections
    ]


def _render(ctx: Ctx, template: str, context: dict[str, Any], *, status: int = 200) -> HttpResponse:
    context |= {
        "access": ctx.access,
        "settings_nav": _nav(ctx),
        "section": ctx.section,
        "section_title": SECTION_LABELS[ctx.section],
        "is_htmx": ctx.htmx,
    }
    name = f"core/settings/{template}.html"
    return render(ctx.request, f"{name}#section" if ctx.htmx else name, context, status=status)


def _done(ctx: Ctx, message: str, page: Callable[..., HttpResponse], **kwargs: Any) -> Any:
    """After a write: htmx gets the refreshed section with the message in it; a plain form
    post is redirected to the section (post/redirect/get)."""
    messages.success(ctx.request, message)
    if ctx.htmx:
        return page(ctx, **kwargs)
    return redirect(f"settings:{ctx.section}")


def _after(request: HttpRequest, name: str = "after") -> str | None:
    return request.GET.get(name) or None


@settings_view(None)
def settings_index(ctx: Ctx) -> HttpResponse:
    return redirect(f"settings:{ctx.access.sections[0]}")


# --- workspace -------------------------------------------------------------------------------


def _workspace_page(ctx: Ctx, form: WorkspaceForm | None = None, status: int = 200) -> HttpResponse:
    form = form or WorkspaceForm.for_workspace(ctx.workspace)
    return _render(ctx, "workspace", {"form": form}, status=status)


@settings_view("workspace", methods=("GET", "POST"))
def workspace(ctx: Ctx) -> HttpResponse:
    if ctx.request.method != "POST":
        return _workspace_page(ctx)
    form = WorkspaceForm.for_workspace(ctx.workspace, ctx.request.POST)
    if form.is_valid():
        try:
            services.workspace_update(workspace=ctx.workspace, actor=ctx.user, **form.cleaned_data)
        except ValidationFailed as exc:
            form.add_service_errors(exc)
        else:
            return _done(ctx, _("Workspace settings saved."), _workspace_page)
    return _workspace_page(ctx, form, status=422)


# --- users, roles and invitations ------------------------------------------------------------


def _users_page(
    ctx: Ctx,
    invite_form: InvitationForm | None = None,
    action_error: str = "",
    status: int = 200,
) -> HttpResponse:
    members = selectors.membership_list(
        workspace=ctx.workspace, viewer=ctx.user, after=_after(ctx.request), limit=PAGE_SIZE
    )
    invitations = selectors.invitation_list(
        workspace=ctx.workspace,
        viewer=ctx.user,
        after=_after(ctx.request, "invitations_after"),
        limit=PAGE_SIZE,
    )
    context = {
        "members": members,
        "invitations": invitations,
        "invite_form": invite_form or InvitationForm(),
        "roles": Role.choices,
        "action_error": action_error,
        "me": ctx.user,
    }
    return _render(ctx, "users", context, status=status)


@settings_view("users", methods=("GET",))
def users(ctx: Ctx) -> HttpResponse:
    return _users_page(ctx)


@settings_view("users", methods=("POST",))
def invitation_new(ctx: Ctx) -> HttpResponse:
    form = InvitationForm(ctx.request.POST)
    if form.is_valid():
        try:
            invitation = services.invitation_create(
                workspace=ctx.workspace,
                actor=ctx.user,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                base_url=ctx.base_url(),
            )
        except ValidationFailed as exc:
            form.add_service_errors(exc)
        else:
            message = _("Invitation sent to %(email)s.") % {"email": invitation.email}
            return _done(ctx, message, _users_page)
    return _users_page(ctx, invite_form=form, status=422)


def _member_action(ctx: Ctx, action: Callable[[], Any], message: str) -> HttpResponse:
    """Run a membership or invitation change; a refusal (the last admin, yourself, an
    accepted invitation) comes back as an alert over the lists, with status 422."""
    try:
        action()
    except (ValidationFailed, Conflict) as exc:
        errors = getattr(exc, "errors", None)
        detail = " ".join(e.message for e in errors) if errors else exc.detail
        return _users_page(ctx, action_error=str(detail), status=422)
    return _done(ctx, message, _users_page)


@settings_view("users", methods=("POST",))
def member_role(ctx: Ctx, membership_id: int) -> HttpResponse:
    form = RoleForm(ctx.request.POST)
    if not form.is_valid():
        return _users_page(ctx, action_error=_("Choose a role from the list."), status=422)
    return _member_action(
        ctx,
        lambda: services.membership_change_role(
            workspace=ctx.workspace,
            actor=ctx.user,
            membership_id=membership_id,
            role=form.cleaned_data["role"],
        ),
        _("Role changed."),
    )


@settings_view("users", methods=("POST",))
def member_deactivate(ctx: Ctx, membership_id: int) -> HttpResponse:
    return _member_action(
        ctx,
        lambda: services.membership_deactivate(
            workspace=ctx.workspace, actor=ctx.user, membership_id=membership_id
        ),
        _("Member deactivated. They can no longer open this workspace."),
    )


@settings_view("users", methods=("POST",))
def member_reactivate(ctx: Ctx, membership_id: int) -> HttpResponse:
    return _member_action(
        ctx,
        lambda: services.membership_reactivate(
            workspace=ctx.workspace, actor=ctx.user, membership_id=membership_id
        ),
        _("Member reactivated."),
    )


@settings_view("users", methods=("POST",))
def invitation_resend(ctx: Ctx, invitation_id: int) -> HttpResponse:
    return _member_action(
        ctx,
        lambda: services.invitation_resend(
            workspace=ctx.workspace,
            actor=ctx.user,
            invitation_id=invitation_id,
            base_url=ctx.base_url(),
        ),
        _("Invitation sent again with a new link."),
    )


@settings_view("users", methods=("POST",))
def invitation_revoke(ctx: Ctx, invitation_id: int) -> HttpResponse:
    return _member_action(
        ctx,
        lambda: services.invitation_revoke(
            workspace=ctx.workspace, actor=ctx.user, invitation_id=invitation_id
        ),
        _("Invitation withdrawn. Its link no longer works."),
    )


# --- teams -----------------------------------------------------------------------------------


def _people(ctx: Ctx) -> list[tuple[int, str]]:
    active = selectors.membership_list(
        workspace=ctx.workspace, viewer=ctx.user, active_only=True, limit=500
    )
    return [(m.user_id, m.user.display_name) for m in active.items]


def _teams_page(
    ctx: Ctx,
    form: TeamForm | None = None,
    editing: Any = None,
    status: int = 200,
) -> HttpResponse:
    if form is None:
        edit_id = ctx.request.GET.get("edit", "")
        if edit_id.isdigit() and ctx.access.manage_settings:
            editing = selectors.team_get(
                workspace=ctx.workspace, viewer=ctx.user, team_id=int(edit_id)
            )
            initial = {
                "name": editing.name,
                "lead": editing.lead_id,
                "members": [m.user_id for m in editing.members.all()],
            }
            form = TeamForm(people=_people(ctx), initial=initial)
        else:
            form = TeamForm(people=_people(ctx))
    teams = selectors.team_list(
        workspace=ctx.workspace, viewer=ctx.user, after=_after(ctx.request), limit=PAGE_SIZE
    )
    return _render(ctx, "teams", {"form": form, "editing": editing, "teams": teams}, status=status)


@settings_view("teams", methods=("GET",))
def teams(ctx: Ctx) -> HttpResponse:
    return _teams_page(ctx)


@settings_view("teams", methods=("GET", "POST"))
def team_edit(ctx: Ctx, team_id: int | None = None) -> HttpResponse:
    editing = (
        selectors.team_get(workspace=ctx.workspace, viewer=ctx.user, team_id=team_id)
        if team_id is not None
        else None
    )
    if ctx.request.method != "POST":
        return redirect(reverse("settings:teams") + (f"?edit={team_id}" if team_id else ""))
    form = TeamForm(ctx.request.POST, people=_people(ctx))
    if form.is_valid():
        data = form.cleaned_data
        try:
            if editing is None:
                services.team_create(
                    workspace=ctx.workspace,
                    actor=ctx.user,
                    name=data["name"],
                    lead_id=data["lead"],
                    member_ids=data["members"],
                )
                message = _("Team created.")
            else:
                services.team_update(
                    workspace=ctx.workspace,
                    actor=ctx.user,
                    team_id=editing.pk,
                    name=data["name"],
                    lead_id=data["lead"],
                    member_ids=data["members"],
                )
                message = _("Team saved.")
        except ValidationFailed as exc:
            form.add_service_errors(exc)
        else:
            return _done(ctx, message, _teams_page)
    return _teams_page(ctx, form=form, editing=editing, status=422)


@settings_view("teams", methods=("POST",))
def team_delete(ctx: Ctx, team_id: int) -> HttpResponse:
    services.team_delete(workspace=ctx.workspace, actor=ctx.user, team_id=team_id)
    return _done(ctx, _("Team deleted."), _teams_page)


# --- custom fields ---------------------------------------------------------------------------


def _custom_fields_page(
    ctx: Ctx,
    form: PageForm | None = None,
    editing: Any = None,
    status: int = 200,
) -> HttpResponse:
    deleted = ctx.request.GET.get("deleted") == "1"
    if form is None:
        edit_id = ctx.request.GET.get("edit", "")
        if edit_id.isdigit() and ctx.access.manage_settings:
            editing = selectors.customfield_get(
                workspace=ctx.workspace, viewer=ctx.user, field_id=int(edit_id)
            )
            form = CustomFieldEditForm(
                initial={
                    "label": editing.label,
                    "choices": editing.choices,
                    "required": editing.required,
                }
            )
        else:
            form = CustomFieldForm()
    fields = selectors.customfield_list(
        workspace=ctx.workspace,
        viewer=ctx.user,
        deleted=deleted,
        after=_after(ctx.request),
        limit=PAGE_SIZE,
    )
    context = {"form": form, "editing": editing, "fields": fields, "deleted": deleted}
    return _render(ctx, "custom_fields", context, status=status)


@settings_view("custom_fields", methods=("GET",))
def custom_fields(ctx: Ctx) -> HttpResponse:
    return _custom_fields_page(ctx)


@settings_view("custom_fields", methods=("POST",))
def custom_field_new(ctx: Ctx) -> HttpResponse:
    form = CustomFieldForm(ctx.request.POST)
    if form.is_valid():
        try:
            services.customfield_create(
                workspace=ctx.workspace, actor=ctx.user, **form.cleaned_data
            )
        except ValidationFailed as exc:
            form.add_service_errors(exc)
        else:
            return _done(ctx, _("Custom field created."), _custom_fields_page)
    return _custom_fields_page(ctx, form=form, status=422)


@settings_view("custom_fields", methods=("GET", "POST"))
def custom_field_edit(ctx: Ctx, field_id: int) -> HttpResponse:
    editing = selectors.customfield_get(workspace=ctx.workspace, viewer=ctx.user, field_id=field_id)
    if ctx.request.method != "POST":
        return redirect(reverse("settings:custom_fields") + f"?edit={field_id}")
    form = CustomFieldEditForm(ctx.request.POST)
    if form.is_valid():
        try:
            services.customfield_update(
                workspace=ctx.workspace,
                actor=ctx.user,
                field_id=editing.pk,
                **form.cleaned_data,
            )
        except ValidationFailed as exc:
            form.add_service_errors(exc)
        else:
            return _done(ctx, _("Custom field saved."), _custom_fields_page)
    return _custom_fields_page(ctx, form=form, editing=editing, status=422)


@settings_view("custom_fields", methods=("POST",))
def custom_field_delete(ctx: Ctx, field_id: int) -> HttpResponse:
    services.customfield_delete(workspace=ctx.workspace, actor=ctx.user, field_id=field_id)
    return _done(
        ctx,
        _("Custom field deleted. Its values stay on the records; restore it to see them again."),
        _custom_fields_page,
    )


@settings_view("custom_fields", methods=("POST",))
def custom_field_restore(ctx: Ctx, field_id: int) -> HttpResponse:
    services.customfield_restore(workspace=ctx.workspace, actor=ctx.user, field_id=field_id)
    return _done(ctx, _("Custom field restored."), _custom_fields_page)


# --- tags ------------------------------------------------------------------------------------


def _tags_page(
    ctx: Ctx, form: TagForm | None = None, editing: Any = None, status: int = 200
) -> HttpResponse:
    deleted = ctx.request.GET.get("deleted") == "1"
    if form is None:
        edit_id = ctx.request.GET.get("edit", "")
        if edit_id.isdigit() and ctx.access.manage_tags:
            editing = selectors.tag_get(
                workspace=ctx.workspace, viewer=ctx.user, tag_id=int(edit_id)
            )
            form = TagForm(initial={"name": editing.name, "color": editing.color})
        else:
            form = TagForm()
    tags = selectors.tag_list(
        workspace=ctx.workspace,
        viewer=ctx.user,
        deleted=deleted,
        after=_after(ctx.request),
        limit=PAGE_SIZE,
    )
    context = {"form": form, "editing": editing, "tags": tags, "deleted": deleted}
    return _render(ctx, "tags", context, status=status)


@settings_view("tags", methods=("GET",))
def tags(ctx: Ctx) -> HttpResponse:
    return _tags_page(ctx)


@settings_view("tags", methods=("GET", "POST"))
def tag_edit(ctx: Ctx, tag_id: int | None = None) -> HttpResponse:
    editing = (
        selectors.tag_get(workspace=ctx.workspace, viewer=ctx.user, tag_id=tag_id)
        if tag_id is not None
        else None
    )
    if ctx.request.method != "POST":
        return redirect(reverse("settings:tags") + (f"?edit={tag_id}" if tag_id else ""))
    form = TagForm(ctx.request.POST)
    if form.is_valid():
        try:
            if editing is None:
                services.tag_create(workspace=ctx.workspace, actor=ctx.user, **form.cleaned_data)
                message = _("Tag created.")
            else:
                services.tag_update(
                    workspace=ctx.workspace,
                    actor=ctx.user,
                    tag_id=editing.pk,
                    **form.cleaned_data,
                )
                message = _("Tag saved.")
        except ValidationFailed as exc:
            form.add_service_errors(exc)
        else:
            return _done(ctx, message, _tags_page)
    return _tags_page(ctx, form=form, editing=editing, status=422)


@settings_view("tags", methods=("POST",))
def tag_delete(ctx: Ctx, tag_id: int) -> HttpResponse:
    services.tag_delete(workspace=ctx.workspace, actor=ctx.user, tag_id=tag_id)
    return _done(ctx, _("Tag deleted. Restore it from the deleted tags."), _tags_page)


@settings_view("tags", methods=("POST",))
def tag_restore(ctx: Ctx, tag_id: int) -> HttpResponse:
    services.tag_restore(workspace=ctx.workspace, actor=ctx.user, tag_id=tag_id)
    return _done(ctx, _("Tag restored."), _tags_page)


# --- API keys --------------------------------------------------------------------------------


def _api_keys_page(
    ctx: Ctx,
    form: ApiKeyForm | None = None,
    new_key: Any = None,
    raw_key: str = "",
    status: int = 200,
) -> HttpResponse:
    keys = selectors.apikey_list(
        workspace=ctx.workspace,
        viewer=ctx.user,
        everyone=ctx.access.manage_all_api_keys,
        after=_after(ctx.request),
        limit=PAGE_SIZE,
    )
    context = {
        "form": form or ApiKeyForm(),
        "keys": keys,
        "new_key": new_key,
        "raw_key": raw_key,
        "everyone": ctx.access.manage_all_api_keys,
    }
    return _render(ctx, "api_keys", context, status=status)


@settings_view("api_keys", methods=("GET",))
def api_keys(ctx: Ctx) -> HttpResponse:
    return _api_keys_page(ctx)


@never_cache
@settings_view("api_keys", methods=("POST",))
def api_key_new(ctx: Ctx) -> HttpResponse:
    form = ApiKeyForm(ctx.request.POST)
    if form.is_valid():
        try:
            key, raw = services.apikey_issue(
                workspace=ctx.workspace, actor=ctx.user, name=form.cleaned_data["name"]
            )
        except ValidationFailed as exc:
            form.add_service_errors(exc)
        else:
            # Rendered, not redirected: the raw key exists only in this answer.
            return _api_keys_page(ctx, new_key=key, raw_key=raw)
    return _api_keys_page(ctx, form=form, status=422)


@settings_view("api_keys", methods=("POST",))
def api_key_revoke(ctx: Ctx, key_id: int) -> HttpResponse:
    services.apikey_revoke_by(workspace=ctx.workspace, actor=ctx.user, key_id=key_id)
    return _done(ctx, _("API key revoked. It stops working at once."), _api_keys_page)


# --- the invitation link ---------------------------------------------------------------------

UNUSABLE_STATUS = 410


def _invitation_page(
    request: HttpRequest, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    return render(request, "core/settings/invitation.html", context, status=status)


def _invitation_state(link: selectors.InvitationLink, user: Any) -> str:
    """Which panel the invitation page shows: join as the logged-in account, log in first,
    log out of another account, or create an account."""
    if user is not None and user.email.lower() != link.invitation.email.lower():
        return "switch"
    if link.account_exists:
        return "join" if user is not None else "login"
    return "signup"


@never_cache
@require_http_methods(["GET", "POST"])
def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    """Open an invitation's link: join as the account already logged in, log in first, or set
    a name and password for a new account."""
    try:
        link = selectors.invitation_by_token(token=token)
    except services.InvitationUnusable as exc:
        return _invitation_page(request, {"unusable": exc.code}, status=UNUSABLE_STATUS)
    except NotFound:
        return _invitation_page(request, {"unusable": "unknown"}, status=404)
    user = request.user if request.user.is_authenticated else None
    form = InvitationAcceptForm(request.POST or None)
    context: dict[str, Any] = {
        "invitation": link.invitation,
        "form": form,
        "state": _invitation_state(link, user),
    }
    if request.method != "POST":
        return _invitation_page(request, context)
    if link.account_exists or form.is_valid():
        data = form.cleaned_data if not link.account_exists else {}
        try:
            membership = services.invitation_accept(
                token=token,
                actor=cast(User | None, user),
                full_name=data.get("full_name", ""),
                password=data.get("password", ""),
            )
        except ValidationFailed as exc:
            form.add_service_errors(exc)
        except services.InvitationUnusable as exc:
            return _invitation_page(request, {"unusable": exc.code}, status=UNUSABLE_STATUS)
        except (PermissionDenied, ApplicationError) as exc:
            context["refusal"] = exc.detail
            return _invitation_page(request, context, status=403)
        else:
            if user is None:
                login(request, membership.user, backend="django.contrib.auth.backends.ModelBackend")
            request.session[SESSION_KEY] = membership.workspace_id
            messages.success(
                request,
                _("Welcome to %(workspace)s!") % {"workspace": link.invitation.workspace.name},
            )
            return HttpResponseRedirect(reverse("home"))
    return _invitation_page(request, context, status=422)
