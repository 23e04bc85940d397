"""Writes of marketing: web forms (web-to-lead) and their submissions.

- `webform_create` / `webform_update` / `webform_delete` keep a workspace's forms (validated as
  a whole: fields, consent, what happens after sending, the sites allowed to embed it).
- `webform_submit` turns what a visitor sent into a lead: rate limit per form and client
  address, honeypot, validation naming each field, then the lead, its consent, the stored
  submission, the form's count and the `webform.submitted` event in one transaction.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from vinculo.contacts.models import ConsentEntry, ConsentSource
from vinculo.contacts.privacy.services import PURPOSE_MAX, PURPOSE_RE, WORDING_MAX
from vinculo.core.access import require, visible
from vinculo.core.events import record_event
from vinculo.core.exceptions import (
    ApplicationError,
    ErrorCollector,
    FieldError,
    NotFound,
    ValidationFailed,
)
from vinculo.core.ratelimit import rate_limit_hit
from vinculo.core.roles import Right
from vinculo.marketing.fields import (
    CUSTOM_PREFIX,
    FIELDS_MAX,
    LABEL_MAX,
    VALUE_MAX,
    FormField,
    form_field,
    lead_custom_fields,
    uses_custom_fields,
)
from vinculo.marketing.models import WebForm, WebFormSubmission

if TYPE_CHECKING:
    from vinculo.core.models import CustomFieldDefinition, User, Workspace
    from vinculo.sales.models import Lead

logger = logging.getLogger(__name__)

MODULE = "webforms"
# Posts a client address may make to one form per minute; the rest get 429.
SUBMISSIONS_PER_MINUTE = 10
# The visually hidden input people leave empty and form-filling robots do not.
HONEYPOT_FIELD = "homepage"
CONSENT_FIELD = "consent"
UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
UTM_MAX = 200
URL_MAX = 1000
USER_AGENT_MAX = 400
CONSENT_AGENT_MAX = 300
ORIGINS_MAX = 20
TEXT_LIMITS = {
    "name": 120,
    "title": 200,
    "introduction": 5000,
    "submit_label": 60,
    "thank_you_message": 5000,
    "lead_source": 60,
}
WRITABLE = frozenset(
    {
        *TEXT_LIMITS,
        "fields",
        "consent_enabled",
        "consent_purpose",
        "consent_wording",
        "consent_required",
        "redirect_url",
        "allowed_origins",
        "is_active",
    }
)
_TRUE = frozenset({"1", "true", "on", "yes"})


class SubmissionRateLimited(ApplicationError):
    code = "rate-limited"
    status = 429
    title = "Too many submissions"

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            _("Too many submissions from your connection. Wait %(seconds)d seconds and try again.")
            % {"seconds": retry_after}
        )
        self.retry_after = retry_after


class SubmissionDiscarded(ApplicationError):
    """The honeypot was filled: a robot. The visitor is answered as if all went well."""

    code = "discarded"
    status = 200
    title = "Submission discarded"


class FormClosed(ApplicationError):
    code = "form-closed"
    status = 410
    title = "This form no longer accepts answers"


# ---------------------------------------------------------------------------------------------
# Forms


def _flag(errors: ErrorCollector, name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    errors.add(name, "invalid-type", _("Send true or false."))
    return False


def _text(errors: ErrorCollector, name: str, value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        errors.add(name, "invalid-type", _("Enter text."))
        return ""
    text = value.strip()
    limit = TEXT_LIMITS[name]
    if len(text) > limit:
        errors.add(name, "too-long", _("Use at most %(max)d characters.") % {"max": limit})
    return text


def _clean_fields(
    errors: ErrorCollector, value: Any, custom: Mapping[str, CustomFieldDefinition]
) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        errors.add("fields", "invalid-type", _("Send a list of fields."))
        return []
    if len(value) > FIELDS_MAX:
        errors.add(
            "fields", "too-many", _("A form asks at most %(max)d fields.") % {"max": FIELDS_MAX}
        )
        return []
    cleaned: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, item in enumerate(value):
        path = f"fields.{i}"
        if not isinstance(item, Mapping):
            errors.add(path, "invalid-type", _("Send each field as an object with a name."))
            continue
        unknown = set(item) - {"name", "label", "required"}
        if unknown:
            errors.add(
                path, "unknown", _("Unknown keys: %(keys)s.") % {"keys": ", ".join(sorted(unknown))}
            )
        raw_name = item.get("name")
        name = raw_name if isinstance(raw_name, str) else ""
        spec = form_field(name, dict(custom)) if name else None
        if spec is None:
            errors.add(
                f"{path}.name",
                "invalid-choice",
                _("“%(name)s” is not a lead field a form can ask for.")
                % {"name": str(raw_name)[:60]},
            )
            continue
        if name in seen:
            errors.add(f"{path}.name", "duplicate", _("The form already asks for this field."))
            continue
        seen.add(name)
        label = item.get("label") or ""
        if not isinstance(label, str):
            errors.add(f"{path}.label", "invalid-type", _("Enter text."))
            label = ""
        label = " ".join(label.split())
        if len(label) > LABEL_MAX:
            errors.add(
                f"{path}.label",
                "too-long",
                _("Use at most %(max)d characters.") % {"max": LABEL_MAX},
            )
        required = item.get("required", False)
        if not isinstance(required, bool):
            errors.add(f"{path}.required", "invalid-type", _("Send true or false."))
            required = False
        # The email address is how a lead is reached and told apart: always asked, always needed.
        if name == "email":
            required = True
        cleaned.append({"name": name, "label": label, "required": required})
    if not any(f["name"] == "email" for f in cleaned) and not any(
        e.field.startswith("fields") for e in errors.errors
    ):
        errors.add("fields", "email-required", _("A web form must ask for the email address."))
    return cleaned


def _clean_redirect(errors: ErrorCollector, value: Any) -> str:
    if value is None or value == "":
        return ""
    if not isinstance(value, str):
        errors.add("redirect_url", "invalid-type", _("Enter a web address."))
        return ""
    url = value.strip()
    try:
        URLValidator(schemes=["http", "https"])(url)
    except DjangoValidationError:
        errors.add(
            "redirect_url",
            "invalid-url",
            _(
                "Enter a full web address starting with https://, such as https://example.com/thanks."
            ),
        )
        return ""
    if len(url) > 500:
        errors.add("redirect_url", "too-long", _("Use at most %(max)d characters.") % {"max": 500})
    return url


def clean_origin(text: str) -> str | None:
    """`https://Example.com/` → `https://example.com`; None when it is not a web origin."""
    text = text.strip()
    if "://" not in text:
        text = f"https://{text}"
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return None
    if (
        parts.scheme not in {"http", "https"}
        or not parts.hostname
        or parts.path not in {"", "/"}
        or parts.query
        or parts.fragment
        or parts.username
        or any(c in parts.hostname for c in " ;,'\"*")
    ):
        return None
    host = parts.hostname.lower()
    if ":" in host:  # an IPv6 literal keeps its brackets in an origin
        host = f"[{host}]"
    default = 443 if parts.scheme == "https" else 80
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default else "")


def _clean_origins(errors: ErrorCollector, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        items = value.splitlines()
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        items = value
    else:
        errors.add("allowed_origins", "invalid-type", _("Send a list of web addresses."))
        return ""
    origins: list[str] = []
    for item in items:
        if not item.strip():
            continue
        origin = clean_origin(item)
        if origin is None:
            errors.add(
                "allowed_origins",
                "invalid-origin",
                _("“%(site)s” is not a site address; write it as https://www.example.com.")
                % {"site": item.strip()[:100]},
            )
            continue
        if origin not in origins:
            origins.append(origin)
    if len(origins) > ORIGINS_MAX:
        errors.add(
            "allowed_origins", "too-many", _("List at most %(max)d sites.") % {"max": ORIGINS_MAX}
        )
    return "\n".join(origins)


def webform_validate(
    *, workspace: Workspace, data: Mapping[str, Any], instance: WebForm | None
) -> dict[str, Any]:
    """Check a form's settings (`instance` None: a create; else only the keys sent change)
    and return the values to store. Raises ValidationFailed naming every bad field."""
    errors = ErrorCollector()
    unknown = set(data) - WRITABLE
    for key in sorted(unknown):
        errors.add(key, "unknown", _("There is no such setting."))
    values: dict[str, Any] = {}
    for name in TEXT_LIMITS:
        if name in data:
            values[name] = _text(errors, name, data[name])
    if (instance is None or "name" in values) and not values.get("name"):
        errors.add("name", "required", _("Give the form a name."))
    if instance is None or "fields" in data:
        raw_fields = data.get("fields")
        custom = lead_custom_fields(workspace) if uses_custom_fields(raw_fields or []) else {}
        values["fields"] = _clean_fields(
            errors, raw_fields if raw_fields is not None else [], custom
        )
    for name in ("consent_enabled", "consent_required", "is_active"):
        if name in data:
            values[name] = _flag(errors, name, data[name])
    if "consent_purpose" in data:
        purpose = data["consent_purpose"]
        values["consent_purpose"] = purpose.strip() if isinstance(purpose, str) else ""
    if "consent_wording" in data:
        wording = data["consent_wording"]
        values["consent_wording"] = wording.strip() if isinstance(wording, str) else ""
    if "redirect_url" in data:
        values["redirect_url"] = _clean_redirect(errors, data["redirect_url"])
    if "allowed_origins" in data:
        values["allowed_origins"] = _clean_origins(errors, data["allowed_origins"])

    def after(name: str, default: Any) -> Any:
        if name in values:
            return values[name]
        return getattr(instance, name) if instance is not None else default

    if after("consent_enabled", True):
        purpose = after("consent_purpose", "")
        if not purpose:
            errors.add("consent_purpose", "required", _("Say what the consent is for."))
        elif len(purpose) > PURPOSE_MAX or not PURPOSE_RE.match(purpose):
            errors.add(
                "consent_purpose",
                "invalid",
                _(
                    "Use lower-case letters, digits and underscores, starting with a letter "
                    "(for example email_marketing)."
                ),
            )
        wording = after("consent_wording", "")
        if not wording:
            errors.add(
                "consent_wording",
                "required",
                _("Write the exact words the visitor agrees to next to the checkbox."),
            )
        elif len(wording) > WORDING_MAX:
            errors.add(
                "consent_wording",
                "too-long",
                _("Use at most %(max)d characters.") % {"max": WORDING_MAX},
            )
    errors.raise_if_any()
    return values


def _form_for_write(*, workspace: Workspace, actor: User | None, form_id: int) -> WebForm:
    qs = visible(
        WebForm.objects.for_workspace(workspace),
        workspace=workspace,
        viewer=actor,
        module=MODULE,
        owner_field="created_by",
    )
    form = qs.filter(pk=form_id, deleted_at__isnull=True).select_for_update().first()
    if form is None:
        raise NotFound(_("There is no such web form."))
    return form


def _changed(form: WebForm, values: Mapping[str, Any]) -> list[str]:
    return sorted(k for k, v in values.items() if getattr(form, k) != v)


def webform_create(*, workspace: Workspace, actor: User | None, data: Mapping[str, Any]) -> WebForm:
    """Create a web form (active, with a new public key). Records `webform.created`."""
    require(workspace=workspace, user=actor, module=MODULE, right=Right.CREATE)
    values = webform_validate(workspace=workspace, data=data, instance=None)
    with transaction.atomic():
        form = WebForm(
            workspace=workspace,
            public_key=secrets.token_urlsafe(12),
            created_by=actor if actor is not None and actor.pk else None,
        )
        for key, value in values.items():
            setattr(form, key, value)
        form.save(force_insert=True)
        record_event(
            workspace=workspace,
            actor=actor,
            type="webform.created",
            subject=form,
            payload={"fields": sorted(values)},
        )
    return form


def webform_update(
    *, workspace: Workspace, actor: User | None, form_id: int, data: Mapping[str, Any]
) -> WebForm:
    """Change a form's settings (only the keys sent). Records `webform.updated` with the
    names of the settings that changed."""
    require(workspace=workspace, user=actor, module=MODULE, right=Right.EDIT)
    with transaction.atomic():
        form = _form_for_write(workspace=workspace, actor=actor, form_id=form_id)
        values = webform_validate(workspace=workspace, data=data, instance=form)
        changed = _changed(form, values)
        if not changed:
            return form
        for key in changed:
            setattr(form, key, values[key])
        form.updated_at = timezone.now()
        form.save(update_fields=[*changed, "updated_at"])
        record_event(
            workspace=workspace,
            actor=actor,
            type="webform.updated",
            subject=form,
            payload={"fields": changed},
        )
    return form


def webform_set_active(
    *, workspace: Workspace, actor: User | None, form_id: int, active: bool
) -> WebForm:
    """Open or close a form to new submissions (its page and snippet stay where they are)."""
    return webform_update(
        workspace=workspace, actor=actor, form_id=form_id, data={"is_active": active}
    )


def webform_delete(*, workspace: Workspace, actor: User | None, form_id: int) -> WebForm:
    """Move a form to the bin: its public page answers 404 from now on, its submissions and
    the leads they made stay. Records `webform.deleted`."""
    require(workspace=workspace, user=actor, module=MODULE, right=Right.DELETE)
    with transaction.atomic():
        form = _form_for_write(workspace=workspace, actor=actor, form_id=form_id)
        form.deleted_at = timezone.now()
        form.save(update_fields=["deleted_at"])
        record_event(
            workspace=workspace, actor=actor, type="webform.deleted", subject=form, payload={}
        )
    return form


# ---------------------------------------------------------------------------------------------
# Submissions


@dataclass(frozen=True)
class AskedField:
    spec: FormField
    label: str
    required: bool

    @property
    def name(self) -> str:
        return self.spec.name


def asked_fields(
    form: WebForm, custom: Mapping[str, CustomFieldDefinition] | None = None
) -> list[AskedField]:
    """The fields a form asks, in order, with the label shown (a custom field deleted since
    the form was built is no longer asked)."""
    if custom is None:
        custom = lead_custom_fields(form.workspace) if uses_custom_fields(form.fields) else {}
    asked = []
    for item in form.fields or []:
        spec = form_field(str(item.get("name", "")), dict(custom))
        if spec is None:
            continue
        label = item.get("label") or str(spec.label)
        asked.append(AskedField(spec, label, bool(item.get("required"))))
    return asked


def client_key(form: WebForm, ip: str | None) -> str:
    return f"webform:{form.pk}:{ip or 'unknown'}"


def _value(raw: Any) -> str:
    if isinstance(raw, list):
        raw = raw[-1] if raw else ""
    return raw.strip() if isinstance(raw, str) else ""


def _ticked(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    return _value(raw).lower() in _TRUE


def _clean_utm(utm: Mapping[str, Any] | None) -> dict[str, str]:
    out = {}
    for key in UTM_KEYS:
        value = _value((utm or {}).get(key))
        if value:
            out[key] = value[:UTM_MAX]
    return out


def _lead_data(
    form: WebForm, asked: list[AskedField], data: Mapping[str, Any], errors: ErrorCollector
) -> tuple[dict[str, Any], dict[str, Any]]:
    """What goes to `lead_create`, and the submission as the visitor sent it (by field)."""
    lead: dict[str, Any] = {}
    custom: dict[str, Any] = {}
    sent: dict[str, Any] = {}
    for field in asked:
        spec = field.spec
        if spec.input == "checkbox":
            ticked = _ticked(data.get(field.name))
            sent[field.name] = ticked
            if field.required and not ticked:
                errors.add(
                    field.name, "required", _("%(label)s is required.") % {"label": field.label}
                )
            if spec.custom is not None and ticked:
                custom[spec.custom.key] = True
            continue
        value = _value(data.get(field.name))
        if len(value) > VALUE_MAX:
            errors.add(
                field.name, "too-long", _("Use at most %(max)d characters.") % {"max": VALUE_MAX}
            )
            value = value[:VALUE_MAX]
        if value:
            sent[field.name] = value
        elif field.required:
            errors.add(field.name, "required", _("%(label)s is required.") % {"label": field.label})
        if not value:
            continue
        if spec.choices is not None and value not in {v for v, _label in spec.choices()}:
            errors.add(field.name, "invalid-choice", _("Choose one of the options."))
            continue
        if spec.custom is not None:
            custom[spec.custom.key] = value
        else:
            lead[field.name] = value
    if custom:
        lead["custom_fields"] = custom
    return lead, sent


def webform_submit(
    *,
    workspace: Workspace,
    form: WebForm,
    data: Mapping[str, Any],
    utm: Mapping[str, Any] | None = None,
    ip: str | None = None,
    user_agent: str = "",
    page_url: str = "",
    referrer: str = "",
) -> Lead:
    """Make a lead of what a visitor sent through a web form.

    Every post counts against `SUBMISSIONS_PER_MINUTE` per form and client address, the
    refused ones too; past it `SubmissionRateLimited` is raised and nothing is written. A
    filled honeypot raises `SubmissionDiscarded` (nothing stored, nothing personal logged).
    Every field error is found at once (required fields, email, consent that must be
    ticked, each lead field's own checks) and raised as `ValidationFailed` naming the
    fields. Then, in one transaction with the post's count: the lead (through `lead_create`,
    which records `lead.created`; the assignment rules and scoring follow from that event),
    the consent entry when the box was ticked, the `WebFormSubmission`, the form's
    `submission_count` and `webform.submitted`.
    """
    key = client_key(form, ip)
    if _value(data.get(HONEYPOT_FIELD)):
        _count_post(key)
        logger.info("web form %s: honeypot filled, submission discarded", form.pk)
        raise SubmissionDiscarded()
    if form.deleted_at is not None or form.workspace_id != workspace.pk:
        raise NotFound(_("There is no such web form."))
    if not form.is_active:
        raise FormClosed(_("This form no longer accepts answers."))

    errors = ErrorCollector()
    asked = asked_fields(form)
    lead_values, sent = _lead_data(form, asked, data, errors)
    consented = form.consent_enabled and _ticked(data.get(CONSENT_FIELD))
    if form.consent_enabled:
        sent[CONSENT_FIELD] = consented
        if form.consent_required and not consented:
            errors.add(
                CONSENT_FIELD, "required", _("Tick the box to agree before sending the form.")
            )
    clean_utm = _clean_utm(utm)
    lead_values |= clean_utm
    if form.lead_source:
        lead_values["source"] = form.lead_source
    lead_values["web_form_id"] = form.pk
    if errors.errors:
        _count_post(key)
        _add_lead_errors(errors, workspace=workspace, data=lead_values)
        raise ValidationFailed(errors.errors)
    try:
        return _store_submission(
            workspace=workspace,
            form=form,
            key=key,
            lead_values=lead_values,
            sent=sent,
            consented=consented,
            utm=clean_utm,
            ip=ip,
            user_agent=user_agent,
            page_url=page_url,
            referrer=referrer,
        )
    except ValidationFailed:
        # The post's count rolled back with the lead: count it on its own.
        _count_post(key)
        raise


def _count_post(key: str) -> None:
    decision = rate_limit_hit(key, limit=SUBMISSIONS_PER_MINUTE)
    if not decision.allowed:
        raise SubmissionRateLimited(decision.retry_after)


def _store_submission(
    *,
    workspace: Workspace,
    form: WebForm,
    key: str,
    lead_values: dict[str, Any],
    sent: dict[str, Any],
    consented: bool,
    utm: dict[str, str],
    ip: str | None,
    user_agent: str,
    page_url: str,
    referrer: str,
) -> Lead:
    from vinculo.sales.leads.services import lead_create

    agent = (user_agent or "")[:USER_AGENT_MAX]
    with transaction.atomic():
        # Counted in the submission's own transaction (one commit instead of two); a refused
        # post rolls back having written nothing.
        _count_post(key)
        try:
            lead = lead_create(
                workspace=workspace, actor=None, data=lead_values, source_channel="webform"
            )
        except ValidationFailed as exc:
            raise ValidationFailed(
                [FieldError(submission_field_name(e.field), e.code, e.message) for e in exc.errors]
            ) from exc
        if consented:
            ConsentEntry.objects.for_workspace(workspace).create(
                workspace=workspace,
                lead=lead,
                purpose=form.consent_purpose,
                granted=True,
                wording=form.consent_wording,
                source=ConsentSource.FORM,
                ip_address=ip or None,
                user_agent=agent[:CONSENT_AGENT_MAX],
            )
        WebFormSubmission.objects.for_workspace(workspace).create(
            workspace=workspace,
            form=form,
            lead=lead,
            data=sent,
            utm=utm,
            page_url=(page_url or "")[:URL_MAX],
            referrer=(referrer or "")[:URL_MAX],
            ip_address=ip or None,
            user_agent=agent,
        )
        WebForm.objects.for_workspace(workspace).filter(pk=form.pk).update(
            submission_count=F("submission_count") + 1
        )
        record_event(
            workspace=workspace,
            actor=None,
            type="webform.submitted",
            subject=lead,
            payload={"form_id": form.pk, "utm": utm},
        )
    return lead


def _add_lead_errors(errors: ErrorCollector, *, workspace: Workspace, data: dict[str, Any]) -> None:
    """Add the lead's own checks (an invalid email, phone or site) to the errors already
    found, so the visitor sees every problem at once. Writes nothing."""
    from vinculo.sales.leads.validation import lead_validate

    try:
        lead_validate(workspace=workspace, actor=None, data=data, instance=None)
    except ValidationFailed as exc:
        reported = {e.field for e in errors.errors}
        for error in exc.errors:
            name = submission_field_name(error.field)
            if name not in reported and error.code != "required":
                errors.errors.append(FieldError(name, error.code, error.message))


def submission_field_name(error_field: str) -> str:
    """The form field a lead error belongs to (`custom_fields.size` → `cf:size`)."""
    if error_field.startswith("custom_fields."):
        return CUSTOM_PREFIX + error_field.removeprefix("custom_fields.")
    return error_field
