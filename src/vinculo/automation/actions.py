"""What a rule does when it matches: each action type cleans its parameters when the rule is
saved and carries them out when the rule runs.

Actions change records through the owning app's services (with no actor: the system), so they
are validated, recorded and access-checked exactly like a person's edit. Emails and webhooks go
out after the run's transaction commits; their outcome is written back into the run's log.
Other apps add action types with `register_action`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import inspect
import json
import logging
import secrets
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from vinculo.automation.conditions import (
    _to_bool,
    _to_date,
    _to_datetime,
    read_value,
    value_error,
)
from vinculo.automation.models import RoundRobinPointer, RuleRun, RunStatus
from vinculo.automation.placeholders import placeholder_errors, render
from vinculo.automation.subjects import SubjectType
from vinculo.core.exceptions import ApplicationError, ErrorCollector, ValidationFailed
from vinculo.core.models import Membership, Team, TeamMember, User

if TYPE_CHECKING:
    from vinculo.automation.models import Rule
    from vinculo.core.models import Event, Workspace

logger = logging.getLogger(__name__)

WEBHOOK_TIMEOUT = 5
WEBHOOK_SIGNATURE_HEADER = "X-Vinculo-Signature"
MAX_WAIT = dt.timedelta(days=365)
TITLE_MAX = 300
BODY_MAX = 10_000
EMAIL_SUBJECT_MAX = 200
URL_MAX = 500
TAG_MAX = 60
# The bell's kind for notifications sent by rules (see collab.models.NotificationKind).
NOTIFICATION_KIND = "automation.rule"


class ActionFailed(Exception):
    """An action could not be carried out; the message goes into the run's log."""


@dataclass
class ActionContext:
    workspace: Workspace
    rule: Rule
    run: RuleRun
    event: Event | None
    subject: SubjectType
    obj: Any
    # Position of the action in the rule, for outcomes written back after commit.
    index: int = 0

    @property
    def extra_placeholders(self) -> dict[str, str]:
        return {
            "rule.name": self.rule.name,
            "record.name": str(self.obj),
            "record.url": self.subject.url(self.obj),
        }

    def render(self, text: str) -> str:
        return render(
            text,
            workspace=self.workspace,
            subject_type=self.subject.name,
            obj=self.obj,
            extra=self.extra_placeholders,
        )


@dataclass
class Cleaning:
    """What cleaning one action's parameters needs to know."""

    errors: ErrorCollector
    path: str
    params: dict[str, Any]
    subject: SubjectType
    workspace: Workspace

    def add(self, name: str, code: str, message: str) -> None:
        self.errors.add(f"{self.path}.{name}" if name else self.path, code, message)


@dataclass(frozen=True)
class ActionType:
    name: str
    label: Any
    # Checks and normalises the parameters (without "type"); errors go to `cleaning.errors`.
    clean: Callable[[Cleaning], dict[str, Any]]
    # Carries the action out; returns what it did, for the run log. Raises ActionFailed.
    run: Callable[[ActionContext, dict[str, Any]], str]


_actions: dict[str, ActionType] = {}


def register_action(action: ActionType) -> ActionType:
    _actions[action.name] = action
    return action


def action_type(name: str) -> ActionType | None:
    return _actions.get(name)


def registered_actions() -> list[ActionType]:
    return list(_actions.values())


# ---------------------------------------------------------------------------------------------
# Cleaning helpers


def _only(c: Cleaning, allowed: set[str]) -> None:
    for name in sorted(set(c.params) - allowed - {"type"}):
        c.add(name, "unknown-field", _("Unknown parameter."))


def _text(
    c: Cleaning, name: str, *, max_length: int, required: bool = False, multiline: bool = False
) -> str:
    value = c.params.get(name)
    if value is None or value == "":
        if required:
            c.add(name, "required", _("This field is required."))
        return ""
    if not isinstance(value, str):
        c.add(name, "invalid-type", _("Enter text."))
        return ""
    value = value.strip() if multiline else " ".join(value.split())
    if required and not value:
        c.add(name, "required", _("This field is required."))
    if len(value) > max_length:
        c.add(name, "too-long", _("Use at most %(max)d characters.") % {"max": max_length})
    return value


def _int(
    c: Cleaning, name: str, *, minimum: int = 0, maximum: int, required: bool = False
) -> int | None:
    value = c.params.get(name)
    if value is None or value == "":
        if required:
            c.add(name, "required", _("This field is required."))
        return None
    if isinstance(value, bool):
        c.add(name, "invalid", _("Enter a whole number."))
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        c.add(name, "invalid", _("Enter a whole number."))
        return None
    if not minimum <= number <= maximum:
        c.add(
            name,
            "out-of-range",
            _("Enter a number from %(min)d to %(max)d.") % {"min": minimum, "max": maximum},
        )
        return None
    return number


def _choice(c: Cleaning, name: str, choices: tuple[str, ...], *, default: str | None = None) -> str:
    value = c.params.get(name, default)
    if value in (None, ""):
        c.add(name, "required", _("Choose one of: %(choices)s.") % {"choices": ", ".join(choices)})
        return ""
    if value not in choices:
        c.add(
            name,
            "invalid-choice",
            _("Choose one of: %(choices)s.") % {"choices": ", ".join(choices)},
        )
        return ""
    return str(value)


def _member(c: Cleaning, name: str) -> int | None:
    pk = _int(c, name, minimum=1, maximum=2**63 - 1, required=True)
    if pk is None:
        return None
    active = (
        Membership.objects.for_workspace(c.workspace)
        .filter(user_id=pk, is_active=True, user__is_active=True)
        .exists()
    )
    if not active:
        c.add(name, "not-a-member", _("This user is not an active member of the workspace."))
        return None
    return pk


def _team(c: Cleaning, name: str, *, required: bool = True) -> int | None:
    pk = _int(c, name, minimum=1, maximum=2**63 - 1, required=required)
    if pk is None:
        return None
    if not Team.objects.for_workspace(c.workspace).filter(pk=pk).exists():
        c.add(name, "not-found", _("There is no such team in this workspace."))
        return None
    return pk


def _placeholders(c: Cleaning, name: str, text: str) -> None:
    for error in placeholder_errors(text, subject_type=c.subject.name, path=f"{c.path}.{name}"):
        c.errors.errors.append(error)


# ---------------------------------------------------------------------------------------------
# Shared run helpers


def _team_member_ids(workspace: Workspace, team_id: int) -> list[int]:
    """Active members of the team who are active in the workspace, in a stable order."""
    return list(
        TeamMember.objects.for_workspace(workspace)
        .filter(
            team_id=team_id,
            user__is_active=True,
            user__memberships__workspace=workspace,
            user__memberships__is_active=True,
        )
        .order_by("user_id")
        .values_list("user_id", flat=True)
        .distinct()
    )


def _owner_id(ctx: ActionContext) -> int | None:
    name = ctx.subject.owner_field
    value = getattr(ctx.obj, f"{name}_id", None)
    if value is None:
        owner = getattr(ctx.obj, name, None)
        value = getattr(owner, "pk", owner)
    return value if isinstance(value, int) else None


def failure_text(exc: BaseException) -> str:
    if isinstance(exc, ValidationFailed):
        return "; ".join(f"{e.field}: {e.message}" for e in exc.errors)
    if isinstance(exc, ApplicationError):
        return str(exc.detail)
    return str(exc) or exc.__class__.__name__


def _service(call: Callable[[], Any]) -> Any:
    """Run an app's service; its domain errors become the action's failure."""
    try:
        return call()
    except ApplicationError as exc:
        raise ActionFailed(failure_text(exc)) from exc


def _user_name(workspace: Workspace, user_id: int) -> str:
    user = User.objects.filter(pk=user_id).first()
    return user.display_name if user else f"#{user_id}"


def record_outcome(run_id: int, index: int, *, ok: bool, detail: str) -> None:
    """Write the outcome of an after-commit action (email, webhook) into its run's log."""
    with transaction.atomic():
        run = RuleRun.all_tenants.select_for_update().filter(pk=run_id).first()
        if run is None:
            return
        log = list(run.action_log or [])
        for entry in log:
            if entry.get("index") == index:
                entry["ok"] = ok
                entry["detail"] = detail
                if not ok:
                    entry["error"] = detail
        fields = ["action_log"]
        run.action_log = log
        if not ok:
            run.status = RunStatus.FAILED
            run.error = detail
            fields += ["status", "error"]
        run.save(update_fields=fields)


# ---------------------------------------------------------------------------------------------
# assign

STRATEGIES = ("round_robin", "fewest_open", "user")


def _clean_assign(c: Cleaning) -> dict[str, Any]:
    _only(c, {"strategy", "team_id", "user_id"})
    strategy = _choice(c, "strategy", STRATEGIES)
    out: dict[str, Any] = {"strategy": strategy}
    if strategy == "user":
        out["user_id"] = _member(c, "user_id")
        team_id = _team(c, "team_id", required=False)
        if team_id is not None:
            out["team_id"] = team_id
    elif strategy:
        out["team_id"] = _team(c, "team_id")
    if strategy == "fewest_open" and c.subject.open_counts is None:
        c.add(
            "strategy",
            "unsupported",
            _("%(subject)s records cannot be assigned by fewest open.")
            % {"subject": c.subject.label},
        )
    return out


def round_robin_next(
    *, workspace: Workspace, team_id: int, object_type: str, member_ids: list[int]
) -> int:
    """The member whose turn it is, taken atomically: the pointer row is locked (PostgreSQL)
    and moved with a conditional update that only succeeds if nobody moved it meanwhile, so two
    workers never hand out the same turn."""
    pointers = RoundRobinPointer.objects.for_workspace(workspace)
    for _attempt in range(10):
        pointer = (
            pointers.select_for_update().filter(team_id=team_id, object_type=object_type).first()
        )
        if pointer is None:
            try:
                with transaction.atomic():
                    pointer = pointers.create(
                        workspace=workspace, team_id=team_id, object_type=object_type
                    )
            except IntegrityError:
                continue  # created by a concurrent run; lock it on the next attempt
        last = pointer.last_user_id
        chosen = next((u for u in member_ids if last is None or u > last), member_ids[0])
        unchanged = {"last_user__isnull": True} if last is None else {"last_user_id": last}
        moved = pointers.filter(pk=pointer.pk, **unchanged).update(
            last_user_id=chosen, updated_at=timezone.now()
        )
        if moved == 1:
            return chosen
    raise ActionFailed(_("Another assignment kept taking the turn; try again."))


def _run_assign(ctx: ActionContext, p: dict[str, Any]) -> str:
    ws = ctx.workspace
    team: Team | None = None
    if p.get("team_id"):
        team = Team.objects.for_workspace(ws).filter(pk=p["team_id"]).first()
        if team is None:
            raise ActionFailed(_("The team no longer exists."))
    if p["strategy"] == "user":
        user_id = p["user_id"]
        if (
            not Membership.objects.for_workspace(ws)
            .filter(user_id=user_id, is_active=True, user__is_active=True)
            .exists()
        ):
            raise ActionFailed(_("The user is no longer an active member of the workspace."))
    else:
        assert team is not None
        members = _team_member_ids(ws, team.pk)
        if not members:
            raise ActionFailed(_("The team %(team)s has no active members.") % {"team": team.name})
        if p["strategy"] == "round_robin":
            user_id = round_robin_next(
                workspace=ws, team_id=team.pk, object_type=ctx.subject.name, member_ids=members
            )
        else:
            counter = ctx.subject.open_counts
            if counter is None:
                raise ActionFailed(_("These records cannot be assigned by fewest open."))
            counts = counter(workspace=ws, user_ids=members)
            user_id = min(members, key=lambda u: (counts.get(u, 0), u))
    owner = User.objects.get(pk=user_id)
    if ctx.subject.assign is not None:
        reason = _("Rule: %(rule)s") % {"rule": ctx.rule.name}
        result = _service(
            lambda: ctx.subject.assign(  # type: ignore[misc]
                workspace=ws, actor=None, obj=ctx.obj, owner=owner, team=team, reason=reason
            )
        )
    else:
        result = _service(
            lambda: ctx.subject.update(
                workspace=ws,
                actor=None,
                obj=ctx.obj,
                data={ctx.subject.owner_field: owner.pk},
            )
        )
    if result is not None:
        ctx.obj = result
    if team is not None:
        return _("Assigned to %(user)s (team %(team)s).") % {
            "user": owner.display_name,
            "team": team.name,
        }
    return _("Assigned to %(user)s.") % {"user": owner.display_name}


# ---------------------------------------------------------------------------------------------
# set_field


def _clean_set_field(c: Cleaning) -> dict[str, Any]:
    _only(c, {"field", "value"})
    name = c.params.get("field")
    spec = c.subject.get_field(name) if isinstance(name, str) else None
    if spec is None:
        c.add("field", "unknown-field" if name else "required", _("Choose a field of the record."))
        return {"field": name, "value": c.params.get("value")}
    if not spec.settable:
        c.add("field", "not-settable", _("This field cannot be set by a rule."))
        return {"field": spec.name, "value": c.params.get("value")}
    value = c.params.get("value")
    if value in (None, ""):
        if spec.kind in ("bool", "number") or (spec.kind == "choice" and spec.choices):
            c.add("value", "required", _("Enter a value."))
        return {"field": spec.name, "value": value}
    message = value_error(spec.kind, spec, value)
    if message:
        c.add("value", "invalid", message)
    elif spec.kind == "user":
        _member(Cleaning(c.errors, c.path, {"value": value}, c.subject, c.workspace), "value")
    elif spec.kind == "team":
        _team(Cleaning(c.errors, c.path, {"value": value}, c.subject, c.workspace), "value")
    return {"field": spec.name, "value": value}


def _set_value(kind: str, value: Any) -> Any:
    """The stored parameter as the app's update service takes it (relative dates resolved)."""
    if value in (None, ""):
        return None if kind not in ("text", "choice") else ""
    if kind == "bool":
        return _to_bool(value)
    if kind == "date":
        date = _to_date(value)
        return date.isoformat() if date else value
    if kind == "datetime":
        moment = _to_datetime(value)
        return moment.isoformat() if moment else value
    if kind in ("user", "team"):
        return int(value)
    return value


def _run_set_field(ctx: ActionContext, p: dict[str, Any]) -> str:
    spec = ctx.subject.get_field(p["field"])
    if spec is None or not spec.settable:
        raise ActionFailed(_("The field %(field)s can no longer be set.") % {"field": p["field"]})
    value = _set_value(spec.kind, p.get("value"))
    result = _service(
        lambda: ctx.subject.update(
            workspace=ctx.workspace, actor=None, obj=ctx.obj, data={spec.name: value}
        )
    )
    if result is not None:
        ctx.obj = result
    return _("Set %(field)s to “%(value)s”.") % {
        "field": spec.label,
        "value": "" if value is None else value,
    }


# ---------------------------------------------------------------------------------------------
# add_tag


def _clean_add_tag(c: Cleaning) -> dict[str, Any]:
    _only(c, {"tag"})
    if c.subject.add_tag is None:
        c.add(
            "type",
            "unsupported",
            _("%(subject)s records have no tags.") % {"subject": c.subject.label},
        )
    return {"tag": _text(c, "tag", max_length=TAG_MAX, required=True)}


def _run_add_tag(ctx: ActionContext, p: dict[str, Any]) -> str:
    adder = ctx.subject.add_tag
    if adder is None:
        raise ActionFailed(_("These records have no tags."))
    result = _service(
        lambda: adder(workspace=ctx.workspace, actor=None, obj=ctx.obj, name=p["tag"])
    )
    if result is not None:
        ctx.obj = result
    return _("Tagged “%(tag)s”.") % {"tag": p["tag"]}


# ---------------------------------------------------------------------------------------------
# create_task

ASSIGNEES = ("owner", "user", "none")


def _task_link_supported(link: str | None) -> bool:
    from vinculo.timeline.services import task_create

    return link is not None and f"{link}_id" in inspect.signature(task_create).parameters


def _clean_create_task(c: Cleaning) -> dict[str, Any]:
    _only(c, {"title", "description", "due_in_hours", "assignee", "user_id"})
    out: dict[str, Any] = {
        "title": _text(c, "title", max_length=TITLE_MAX, required=True),
        "description": _text(c, "description", max_length=BODY_MAX, multiline=True),
        "due_in_hours": _int(c, "due_in_hours", minimum=0, maximum=24 * 366),
        "assignee": _choice(c, "assignee", ASSIGNEES, default="owner"),
    }
    if out["assignee"] == "user":
        out["user_id"] = _member(c, "user_id")
    _placeholders(c, "title", out["title"])
    _placeholders(c, "description", out["description"])
    if not _task_link_supported(c.subject.task_link):
        c.add(
            "type",
            "unsupported",
            _("Tasks cannot be linked to %(subject)s records.") % {"subject": c.subject.label},
        )
    return out


def _run_create_task(ctx: ActionContext, p: dict[str, Any]) -> str:
    from vinculo.timeline.services import task_create

    link = ctx.subject.task_link
    if not _task_link_supported(link):
        raise ActionFailed(_("Tasks cannot be linked to these records."))
    assignee_id = None
    if p.get("assignee", "owner") == "owner":
        assignee_id = _owner_id(ctx)
    elif p.get("assignee") == "user":
        assignee_id = p.get("user_id")
    due_at = None
    if p.get("due_in_hours") is not None:
        due_at = timezone.now() + dt.timedelta(hours=int(p["due_in_hours"]))
    title = ctx.render(p["title"])[:TITLE_MAX] or ctx.rule.name
    task = _service(
        lambda: task_create(
            workspace=ctx.workspace,
            actor=None,
            title=title,
            description=ctx.render(p.get("description") or ""),
            due_at=due_at,
            assignee_id=assignee_id,
            **{f"{link}_id": ctx.obj.pk},
        )
    )
    if assignee_id:
        return _("Task “%(title)s” created for %(user)s.") % {
            "title": task.title,
            "user": _user_name(ctx.workspace, assignee_id),
        }
    return _("Task “%(title)s” created.") % {"title": task.title}


# ---------------------------------------------------------------------------------------------
# notify

RECIPIENTS = ("owner", "user", "team")


def _clean_notify(c: Cleaning) -> dict[str, Any]:
    _only(c, {"to", "user_id", "team_id", "title", "body"})
    out: dict[str, Any] = {"to": _choice(c, "to", RECIPIENTS, default="owner")}
    if out["to"] == "user":
        out["user_id"] = _member(c, "user_id")
    elif out["to"] == "team":
        out["team_id"] = _team(c, "team_id")
    out["title"] = _text(c, "title", max_length=TITLE_MAX, required=True)
    out["body"] = _text(c, "body", max_length=2000, multiline=True)
    _placeholders(c, "title", out["title"])
    _placeholders(c, "body", out["body"])
    return out


def _notify(workspace: Workspace, user_ids: list[int], *, title: str, body: str, url: str) -> int:
    from vinculo.collab.models import Notification, NotificationKind
    from vinculo.collab.services import BODY_MAX as NOTE_BODY_MAX
    from vinculo.collab.services import TITLE_MAX as NOTE_TITLE_MAX
    from vinculo.collab.services import notification_create

    users = list(User.objects.filter(pk__in=user_ids, is_active=True))
    for user in users:
        if NOTIFICATION_KIND in NotificationKind.values:
            notification_create(
                workspace=workspace,
                actor=None,
                user=user,
                kind=NOTIFICATION_KIND,
                title=title,
                body=body,
                url=url,
            )
        else:
            # Until collab lists an automation kind, write the row with the service's limits.
            short_title = (
                title if len(title) <= NOTE_TITLE_MAX else title[: NOTE_TITLE_MAX - 1] + "…"
            )
            short_body = body if len(body) <= NOTE_BODY_MAX else body[: NOTE_BODY_MAX - 1] + "…"
            Notification.objects.for_workspace(workspace).create(
                workspace=workspace,
                user=user,
                kind=NOTIFICATION_KIND,
                title=short_title or "—",
                body=short_body,
                url=url if url.startswith("/") and not url.startswith("//") else "",
            )
    return len(users)


def _run_notify(ctx: ActionContext, p: dict[str, Any]) -> str:
    to = p.get("to", "owner")
    if to == "owner":
        owner = _owner_id(ctx)
        user_ids = [owner] if owner else []
    elif to == "user":
        user_ids = [p["user_id"]]
    else:
        user_ids = _team_member_ids(ctx.workspace, p["team_id"])
    if not user_ids:
        return _("Nobody to notify (no owner or members).")
    title = " ".join(ctx.render(p["title"]).split())
    sent = _notify(
        ctx.workspace,
        user_ids,
        title=title,
        body=ctx.render(p.get("body") or ""),
        url=ctx.subject.url(ctx.obj),
    )
    return ngettext("Notified %(count)d person.", "Notified %(count)d people.", sent) % {
        "count": sent
    }


# ---------------------------------------------------------------------------------------------
# send_email

EMAIL_TARGETS = ("subject", "owner")


def _clean_send_email(c: Cleaning) -> dict[str, Any]:
    _only(c, {"to", "subject", "body"})
    out = {
        "to": _choice(c, "to", EMAIL_TARGETS, default="subject"),
        "subject": _text(c, "subject", max_length=EMAIL_SUBJECT_MAX, required=True),
        "body": _text(c, "body", max_length=BODY_MAX, required=True, multiline=True),
    }
    if out["to"] == "subject" and c.subject.email_of is None:
        c.add(
            "to",
            "unsupported",
            _("%(subject)s records have no email address; write to the owner.")
            % {"subject": c.subject.label},
        )
    _placeholders(c, "subject", out["subject"])
    _placeholders(c, "body", out["body"])
    return out


def _send_after_commit(run_id: int, index: int, message: EmailMessage) -> None:
    try:
        message.send()
    except Exception as exc:
        logger.exception("automation email of run %s failed", run_id)
        record_outcome(
            run_id,
            index,
            ok=False,
            detail=_("The email could not be sent: %(error)s") % {"error": exc},
        )


def _run_send_email(ctx: ActionContext, p: dict[str, Any]) -> str:
    if p.get("to", "subject") == "subject":
        if ctx.subject.email_of is None:
            raise ActionFailed(_("These records have no email address."))
        address = (ctx.subject.email_of(ctx.obj) or "").strip()
    else:
        owner_id = _owner_id(ctx)
        owner = User.objects.filter(pk=owner_id, is_active=True).first() if owner_id else None
        address = owner.email if owner else ""
    if not address:
        raise ActionFailed(_("There is no email address to write to."))
    # A header must be one line: placeholders could bring line breaks in.
    subject = " ".join(ctx.render(p["subject"]).split())[:EMAIL_SUBJECT_MAX]
    message = EmailMessage(subject=subject, body=ctx.render(p["body"]), to=[address])
    run_id, index = ctx.run.pk, ctx.index
    transaction.on_commit(lambda: _send_after_commit(run_id, index, message))
    return _("Email “%(subject)s” to %(address)s.") % {"subject": subject, "address": address}


# ---------------------------------------------------------------------------------------------
# call_webhook


def _clean_call_webhook(c: Cleaning) -> dict[str, Any]:
    _only(c, {"url", "secret"})
    url = _text(c, "url", max_length=URL_MAX, required=True)
    if url:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            c.add("url", "invalid", _("Enter an http:// or https:// address."))
    secret = c.params.get("secret")
    if secret in (None, ""):
        secret = secrets.token_hex(32)
    elif not isinstance(secret, str) or not 16 <= len(secret) <= 200:
        c.add("secret", "invalid", _("Use a secret of 16 to 200 characters."))
    return {"url": url, "secret": secret}


def _json_safe(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def subject_summary(subject: SubjectType, obj: Any) -> dict[str, Any]:
    return {
        "type": subject.name,
        "id": obj.pk,
        "name": str(obj),
        "url": subject.url(obj),
        "fields": {spec.name: _json_safe(read_value(obj, spec)) for spec in subject.fields},
    }


def webhook_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # A receiver that redirects would get the signed body re-sent somewhere else.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def post_webhook(url: str, secret: str, payload: dict[str, Any]) -> int:
    """POST the JSON payload, signed; returns the HTTP status. Raises on network errors and
    on any answer outside 2xx."""
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    request = urllib.request.Request(  # noqa: S310  (scheme checked when the rule was saved)
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "Vinculo-Automation/1",
            WEBHOOK_SIGNATURE_HEADER: webhook_signature(secret, body),
            "X-Vinculo-Event": str(payload.get("event", {}).get("type") or "schedule"),
        },
    )
    with _opener.open(request, timeout=WEBHOOK_TIMEOUT) as response:
        status = int(response.status)
    if not 200 <= status < 300:
        raise urllib.error.HTTPError(url, status, f"HTTP {status}", None, None)  # type: ignore[arg-type]
    return status


def _call_after_commit(run_id: int, index: int, url: str, secret: str, payload: dict) -> None:
    try:
        status = post_webhook(url, secret, payload)
    except urllib.error.HTTPError as exc:
        detail = _("The webhook answered HTTP %(status)s.") % {"status": exc.code}
        record_outcome(run_id, index, ok=False, detail=detail)
    except Exception as exc:
        reason = getattr(exc, "reason", None) or exc
        detail = _("The webhook could not be called: %(error)s") % {"error": reason}
        record_outcome(run_id, index, ok=False, detail=detail)
    else:
        detail = _("Webhook %(url)s answered HTTP %(status)s.") % {"url": url, "status": status}
        record_outcome(run_id, index, ok=True, detail=detail)


def _run_call_webhook(ctx: ActionContext, p: dict[str, Any]) -> str:
    event = ctx.event
    payload = {
        "rule": {"id": ctx.rule.pk, "name": ctx.rule.name},
        "run_id": ctx.run.pk,
        "event": (
            {
                "id": event.pk,
                "type": event.type,
                "occurred_at": event.occurred_at.isoformat(),
                "subject_type": event.subject_type,
                "subject_id": event.subject_id,
                "payload": _json_safe(event.payload),
            }
            if event is not None
            else {"type": None, "schedule": ctx.rule.schedule}
        ),
        "subject": subject_summary(ctx.subject, ctx.obj),
    }
    run_id, index, url, secret = ctx.run.pk, ctx.index, p["url"], p["secret"]
    transaction.on_commit(lambda: _call_after_commit(run_id, index, url, secret, payload))
    return _("Webhook to %(url)s queued.") % {"url": url}


# ---------------------------------------------------------------------------------------------
# wait (carried out by the engine: the rest of the actions become a PendingAction)

WAIT_UNITS = ("minutes", "hours", "days")


def _clean_wait(c: Cleaning) -> dict[str, Any]:
    before = len(c.errors.errors)
    _only(c, set(WAIT_UNITS))
    out: dict[str, Any] = {}
    for unit in WAIT_UNITS:
        amount = _int(c, unit, minimum=0, maximum=366 * 24 * 60)
        if amount:
            out[unit] = amount
    if len(c.errors.errors) == before:
        total = wait_delta(out)
        if total <= dt.timedelta(0):
            c.add("minutes", "required", _("Wait at least one minute."))
        elif total > MAX_WAIT:
            c.add("days", "too-long", _("Wait at most 365 days."))
    return out


def wait_delta(params: dict[str, Any]) -> dt.timedelta:
    return dt.timedelta(**{unit: int(params.get(unit) or 0) for unit in WAIT_UNITS})


def _run_wait(ctx: ActionContext, p: dict[str, Any]) -> str:
    # The engine parks the actions after a wait itself (engine.execute_actions).
    raise ActionFailed("wait is carried out by the engine")


register_action(ActionType("assign", gettext_lazy("Assign"), _clean_assign, _run_assign))
register_action(
    ActionType("set_field", gettext_lazy("Set a field"), _clean_set_field, _run_set_field)
)
register_action(ActionType("add_tag", gettext_lazy("Add a tag"), _clean_add_tag, _run_add_tag))
register_action(
    ActionType("create_task", gettext_lazy("Create a task"), _clean_create_task, _run_create_task)
)
register_action(ActionType("notify", gettext_lazy("Notify"), _clean_notify, _run_notify))
register_action(
    ActionType("send_email", gettext_lazy("Send an email"), _clean_send_email, _run_send_email)
)
register_action(
    ActionType(
        "call_webhook", gettext_lazy("Call a webhook"), _clean_call_webhook, _run_call_webhook
    )
)
register_action(ActionType("wait", gettext_lazy("Wait"), _clean_wait, _run_wait))


def clean_actions(
    actions: Any, *, subject: SubjectType, workspace: Workspace, errors: ErrorCollector
) -> list[dict[str, Any]]:
    """Every action checked and normalised; problems go to `errors` as actions[i].<param>."""
    if not isinstance(actions, list):
        errors.add("actions", "invalid", _("Must be a list of actions."))
        return []
    if len(actions) > 20:
        errors.add("actions", "too-many", _("Use at most 20 actions."))
        return []
    cleaned: list[dict[str, Any]] = []
    for i, action in enumerate(actions):
        path = f"actions[{i}]"
        if not isinstance(action, dict):
            errors.add(path, "invalid", _("Each action is an object with a type."))
            continue
        kind = action_type(action.get("type") or "")
        if kind is None:
            errors.add(
                f"{path}.type",
                "invalid-choice" if action.get("type") else "required",
                _("Choose one of: %(types)s.") % {"types": ", ".join(_actions)},
            )
            continue
        params = {k: v for k, v in action.items() if k != "type"}
        cleaning = Cleaning(errors, path, params, subject, workspace)
        cleaned.append({"type": kind.name, **kind.clean(cleaning)})
    return cleaned
