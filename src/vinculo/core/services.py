"""Writes of the core: workspaces, memberships, teams, API keys, tags and custom-field
definitions."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import unicodedata
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.db.models.functions import Length
from django.utils import timezone
from django.utils.text import slugify

from vinculo.core.access import can, require
from vinculo.core.events import record_event
from vinculo.core.exceptions import (
    Conflict,
    ErrorCollector,
    FieldError,
    NotFound,
    ValidationFailed,
)
from vinculo.core.models import (
    ApiKey,
    CustomFieldDefinition,
    CustomFieldObject,
    CustomFieldType,
    Membership,
    Tag,
    User,
    Workspace,
)
from vinculo.core.roles import Right, Role

API_KEY_PREFIX = "vk_"
# last_used_at is refreshed at most this often, so reads through the API do not turn every
# request into a write (SQLite has one writer at a time).
API_KEY_TOUCH_INTERVAL = timedelta(minutes=1)


def user_get_or_create(
    *, email: str, full_name: str = "", password: str | None = None
) -> tuple[User, bool]:
    email = email.strip().lower()
    user = User.objects.filter(email=email).first()
    if user is not None:
        return user, False
    return User.objects.create_user(email=email, password=password, full_name=full_name), True


def workspace_create(
    *,
    name: str,
    slug: str,
    admin_email: str,
    admin_password: str | None = None,
    time_zone: str = "America/Sao_Paulo",
    currency: str = "BRL",
    locale: str = "pt-br",
) -> Workspace:
    """Create a workspace with its first admin (created as a user if new)."""
    errors = ErrorCollector()
    name = name.strip()
    slug = slugify(slug.strip())
    if not name:
        errors.add("name", "required", "The workspace needs a name.")
    if not slug:
        errors.add("slug", "required", "The slug must have letters or digits.")
    if "@" not in admin_email:
        errors.add("admin", "invalid", "The admin must be an email address.")
    errors.raise_if_any()
    if Workspace.objects.filter(slug=slug).exists():
        raise Conflict(f"A workspace with slug '{slug}' already exists.", code="slug-taken")
    with transaction.atomic():
        workspace = Workspace.objects.create(
            name=name, slug=slug, time_zone=time_zone, currency=currency, locale=locale
        )
        admin, _ = user_get_or_create(email=admin_email, password=admin_password)
        Membership.objects.for_workspace(workspace).create(
            workspace=workspace, user=admin, role=Role.ADMIN
        )
    return workspace


def membership_add(*, workspace: Workspace, user: User, role: str) -> Membership:
    membership, created = Membership.objects.for_workspace(workspace).get_or_create(
        workspace=workspace, user=user, defaults={"role": role}
    )
    if not created and membership.role != role:
        membership.role = role
        membership.save(update_fields=["role"])
    return membership


def user_set_preferences(
    *, user: User, language: str | None = None, time_zone: str | None = None
) -> User:
    """Keep the user's interface language and time zone (blank means the workspace's)."""
    import zoneinfo

    from django.conf import settings

    errors = ErrorCollector()
    if language is not None and language not in {code for code, _ in settings.LANGUAGES}:
        errors.add("language", "invalid", f"'{language}' is not a language Vínculo speaks.")
    if time_zone:
        try:
            zoneinfo.ZoneInfo(time_zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            errors.add("time_zone", "invalid", f"'{time_zone}' is not a known time zone.")
    errors.raise_if_any()
    if language is not None:
        user.language = language
    if time_zone is not None:
        user.time_zone = time_zone
    user.save(update_fields=["language", "time_zone"])
    return user


def _hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def apikey_create(*, workspace: Workspace, user: User, name: str = "") -> tuple[ApiKey, str]:
    """Create a key; returns it with the raw key, which is never stored and shown only once."""
    if not Membership.objects.for_workspace(workspace).filter(user=user, is_active=True).exists():
        raise NotFound(f"{user.email} is not a member of workspace '{workspace.slug}'.")
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    key = ApiKey.objects.for_workspace(workspace).create(
        workspace=workspace,
        user=user,
        name=name[:100],
        prefix=prefix,
        secret_hash=_hash_secret(secret),
    )
    return key, f"{API_KEY_PREFIX}{prefix}_{secret}"


def apikey_authenticate(*, raw_key: str) -> ApiKey | None:
    """The active key matching `raw_key`, or None. Constant-time comparison of the secret."""
    if not raw_key.startswith(API_KEY_PREFIX):
        return None
    prefix, _, secret = raw_key[len(API_KEY_PREFIX) :].partition("_")
    if not prefix or not secret:
        return None
    key = (
        ApiKey.all_tenants.select_related("user", "workspace")
        .filter(prefix=prefix, revoked_at__isnull=True)
        .first()
    )
    if key is None or not hmac.compare_digest(key.secret_hash, _hash_secret(secret)):
        return None
    if not key.user.is_active:
        return None
    if not Membership.all_tenants.filter(
        workspace_id=key.workspace_id, user_id=key.user_id, is_active=True
    ).exists():
        return None
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > API_KEY_TOUCH_INTERVAL:
        ApiKey.all_tenants.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key


def apikey_revoke(*, workspace: Workspace, key_id: int) -> ApiKey:
    key = ApiKey.objects.for_workspace(workspace).filter(pk=key_id).first()
    if key is None:
        raise NotFound("No such API key.")
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
    return key


# --- tags ------------------------------------------------------------------------------------

# The palette the UI knows how to draw; a fixed list keeps tags legible in both themes and lets
# the badge component map each name to its own accessible colour pair.
TAG_COLORS = (
    "gray",
    "red",
    "orange",
    "amber",
    "yellow",
    "lime",
    "green",
    "teal",
    "cyan",
    "blue",
    "indigo",
    "violet",
    "purple",
    "pink",
)
TAG_NAME_MAX = 60


def _has_control_chars(text: str) -> bool:
    # NUL cannot be stored by PostgreSQL, and no name or label needs a control character.
    return any(unicodedata.category(ch) == "Cc" for ch in text)


def _id_or_none(value: int) -> int | None:
    # Ids outside a signed 64-bit integer cannot exist; asking the database would overflow.
    return value if 0 < value < 2**63 else None


def _tag_name_error(*, workspace: Workspace, name: str, exclude_id: int | None = None) -> str:
    """Why `name` cannot be used, or "" if it can. Deleted tags count: the unique constraint
    covers them so that a restore never collides. Compared in Python because SQLite's LOWER()
    folds ASCII only, and a workspace has few tags of any one length."""
    wanted = name.lower()
    candidates = (
        Tag.objects.for_workspace(workspace)
        .annotate(name_length=Length("name"))
        .filter(name_length=len(name))
    )
    if exclude_id is not None:
        candidates = candidates.exclude(pk=exclude_id)
    for other, deleted_at in candidates.values_list("name", "deleted_at"):
        if other.lower() == wanted:
            if deleted_at is not None:
                return f"A deleted tag is named '{other}'; restore it instead."
            return f"A tag named '{other}' already exists."
    return ""


def _tag_clean(
    *,
    workspace: Workspace,
    name: str | None,
    color: str | None,
    exclude_id: int | None = None,
) -> dict[str, str]:
    """Every error of a tag write at once; returns the cleaned values that were given."""
    errors = ErrorCollector()
    cleaned: dict[str, str] = {}
    if name is not None:
        name = " ".join(name.split())
        if not name:
            errors.add("name", "required", "The tag needs a name.")
        elif len(name) > TAG_NAME_MAX:
            errors.add("name", "too-long", f"Use at most {TAG_NAME_MAX} characters.")
        elif _has_control_chars(name):
            errors.add("name", "invalid", "The name cannot hold control characters.")
        elif taken := _tag_name_error(workspace=workspace, name=name, exclude_id=exclude_id):
            errors.add("name", "taken", taken)
        cleaned["name"] = name
    if color is not None:
        if color not in TAG_COLORS:
            errors.add("color", "invalid", f"Choose one of: {', '.join(TAG_COLORS)}.")
        cleaned["color"] = color
    errors.raise_if_any()
    return cleaned


def _name_taken_error(name: str) -> ValidationFailed:
    return ValidationFailed([FieldError("name", "taken", f"A tag named '{name}' already exists.")])


def _tag_for_update(*, workspace: Workspace, tag_id: int) -> Tag:
    pk = _id_or_none(tag_id)
    tag = Tag.objects.for_workspace(workspace).filter(pk=pk).first() if pk else None
    if tag is None:
        raise NotFound("No such tag.")
    return tag


def tag_create(*, workspace: Workspace, actor: User | None, name: str, color: str = "gray") -> Tag:
    """Create a tag. Records `tag.created`."""
    require(workspace=workspace, user=actor, module="tags", right=Right.CREATE)
    cleaned = _tag_clean(workspace=workspace, name=name, color=color)
    try:
        with transaction.atomic():
            tag = Tag.objects.for_workspace(workspace).create(workspace=workspace, **cleaned)
            record_event(
                workspace=workspace, actor=actor, type="tag.created", subject=tag, payload=cleaned
            )
    except IntegrityError as exc:
        # Two requests raced past the check; the unique constraint decided.
        raise _name_taken_error(cleaned["name"]) from exc
    return tag


def tag_update(
    *,
    workspace: Workspace,
    actor: User | None,
    tag_id: int,
    name: str | None = None,
    color: str | None = None,
) -> Tag:
    """Rename or recolour a tag (None leaves a value as it is). Records `tag.updated` with the
    changed values when anything changed. A deleted tag must be restored first."""
    require(workspace=workspace, user=actor, module="tags", right=Right.EDIT)
    tag = _tag_for_update(workspace=workspace, tag_id=tag_id)
    if tag.deleted_at is not None:
        raise Conflict("The tag is deleted; restore it before changing it.", code="deleted")
    cleaned = _tag_clean(workspace=workspace, name=name, color=color, exclude_id=tag.pk)
    changes = {k: [getattr(tag, k), v] for k, v in cleaned.items() if getattr(tag, k) != v}
    if not changes:
        return tag
    for field_name, (_old, new) in changes.items():
        setattr(tag, field_name, new)
    try:
        with transaction.atomic():
            tag.save(update_fields=list(changes))
            record_event(
                workspace=workspace,
                actor=actor,
                type="tag.updated",
                subject=tag,
                payload={"changes": changes},
            )
    except IntegrityError as exc:
        raise _name_taken_error(tag.name) from exc
    return tag


def tag_delete(*, workspace: Workspace, actor: User | None, tag_id: int) -> Tag:
    """Move a tag to the bin (restorable until the retention purge). Records `tag.deleted`;
    deleting a deleted tag changes nothing. Records keep their links to it, so a restore
    brings them back."""
    require(workspace=workspace, user=actor, module="tags", right=Right.DELETE)
    tag = _tag_for_update(workspace=workspace, tag_id=tag_id)
    if tag.deleted_at is None:
        with transaction.atomic():
            tag.deleted_at = timezone.now()
            tag.save(update_fields=["deleted_at"])
            record_event(
                workspace=workspace,
                actor=actor,
                type="tag.deleted",
                subject=tag,
                payload={"name": tag.name},
            )
    return tag


def tag_restore(*, workspace: Workspace, actor: User | None, tag_id: int) -> Tag:
    """Bring a deleted tag back. Records `tag.restored`; restoring a live tag changes nothing."""
    require(workspace=workspace, user=actor, module="tags", right=Right.DELETE)
    tag = _tag_for_update(workspace=workspace, tag_id=tag_id)
    if tag.deleted_at is not None:
        with transaction.atomic():
            tag.deleted_at = None
            tag.save(update_fields=["deleted_at"])
            record_event(
                workspace=workspace,
                actor=actor,
                type="tag.restored",
                subject=tag,
                payload={"name": tag.name},
            )
    return tag


# --- custom-field definitions ----------------------------------------------------------------

CUSTOMFIELD_KEY_RE = re.compile(r"[a-z][a-z0-9_]*")
CUSTOMFIELD_KEY_MAX = 60
CUSTOMFIELD_LABEL_MAX = 120
CUSTOMFIELD_CHOICE_MAX = 100
CUSTOMFIELD_CHOICES_MAX = 200
CHOICE_TYPES = frozenset({CustomFieldType.CHOICE, CustomFieldType.MULTI_CHOICE})


def _customfield_clean_choices(
    errors: ErrorCollector, field_type: str, choices: list[str] | None
) -> list[str]:
    if field_type not in CHOICE_TYPES:
        if choices:
            errors.add(
                "choices", "not-allowed", "Only choice and multi_choice fields have choices."
            )
        return []
    if not choices:
        errors.add("choices", "required", "A choice field needs at least one choice.")
        return []
    if len(choices) > CUSTOMFIELD_CHOICES_MAX:
        errors.add("choices", "too-many", f"Use at most {CUSTOMFIELD_CHOICES_MAX} choices.")
        return []
    cleaned: list[str] = []
    seen: set[str] = set()
    for i, raw in enumerate(choices):
        choice = " ".join(raw.split())
        if not choice:
            errors.add(f"choices.{i}", "required", "A choice cannot be empty.")
        elif _has_control_chars(choice):
            errors.add(f"choices.{i}", "invalid", "A choice cannot hold control characters.")
        elif len(choice) > CUSTOMFIELD_CHOICE_MAX:
            errors.add(
                f"choices.{i}", "too-long", f"Use at most {CUSTOMFIELD_CHOICE_MAX} characters."
            )
        elif choice.casefold() in seen:
            errors.add(f"choices.{i}", "duplicate", f"'{choice}' is already a choice.")
        else:
            seen.add(choice.casefold())
            cleaned.append(choice)
    return cleaned


def _customfield_clean_label(errors: ErrorCollector, label: str) -> str:
    label = " ".join(label.split())
    if not label:
        errors.add("label", "required", "The field needs a label.")
    elif len(label) > CUSTOMFIELD_LABEL_MAX:
        errors.add("label", "too-long", f"Use at most {CUSTOMFIELD_LABEL_MAX} characters.")
    elif _has_control_chars(label):
        errors.add("label", "invalid", "The label cannot hold control characters.")
    return label


def _customfield_key_error(
    *, workspace: Workspace, object_type: str, key: str
) -> tuple[str, str] | None:
    if not key:
        return "required", "The field needs a key."
    if len(key) > CUSTOMFIELD_KEY_MAX:
        return "too-long", f"Use at most {CUSTOMFIELD_KEY_MAX} characters."
    if not CUSTOMFIELD_KEY_RE.fullmatch(key):
        return "invalid", "Use lower-case letters, digits and underscores, starting with a letter."
    other = (
        CustomFieldDefinition.objects.for_workspace(workspace)
        .filter(object_type=object_type, key=key)
        .values_list("id", "deleted_at")
        .first()
    )
    if other is None:
        return None
    if other[1] is not None:
        # Deleted definitions keep their key: their values are still on the records.
        return "taken", f"A deleted {object_type} field uses the key '{key}'; restore it instead."
    return "taken", f"Another {object_type} field already uses the key '{key}'."


def customfield_create(
    *,
    workspace: Workspace,
    actor: User | None,
    object_type: str,
    key: str,
    label: str,
    field_type: str,
    choices: list[str] | None = None,
    required: bool = False,
    position: int | None = None,
) -> CustomFieldDefinition:
    """Define a new field on contacts or accounts. Records `custom_field.created`. The key and
    the type are fixed from now on: values already stored under the key were validated
    against the type."""
    require(workspace=workspace, user=actor, module="settings", right=Right.CREATE)
    errors = ErrorCollector()
    key = key.strip()
    if object_type not in CustomFieldObject.values:
        errors.add(
            "object_type", "invalid", f"Choose one of: {', '.join(CustomFieldObject.values)}."
        )
    elif key_error := _customfield_key_error(workspace=workspace, object_type=object_type, key=key):
        errors.add("key", *key_error)
    label = _customfield_clean_label(errors, label)
    if field_type not in CustomFieldType.values:
        errors.add("field_type", "invalid", f"Choose one of: {', '.join(CustomFieldType.values)}.")
    cleaned_choices = _customfield_clean_choices(errors, field_type, choices)
    if position is not None and position < 0:
        errors.add("position", "invalid", "The position cannot be negative.")
    errors.raise_if_any()
    fields = CustomFieldDefinition.objects.for_workspace(workspace)
    if position is None:
        last = fields.filter(object_type=object_type).aggregate(m=Max("position"))["m"]
        position = 0 if last is None else last + 1
    try:
        with transaction.atomic():
            definition = fields.create(
                workspace=workspace,
                object_type=object_type,
                key=key,
                label=label,
                field_type=field_type,
                choices=cleaned_choices,
                required=required,
                position=position,
            )
            record_event(
                workspace=workspace,
                actor=actor,
                type="custom_field.created",
                subject=definition,
                payload={"object_type": object_type, "key": key, "field_type": field_type},
            )
    except IntegrityError as exc:
        raise ValidationFailed(
            [FieldError("key", "taken", f"Another {object_type} field already uses '{key}'.")]
        ) from exc
    return definition


def _customfield_for_update(*, workspace: Workspace, field_id: int) -> CustomFieldDefinition:
    pk = _id_or_none(field_id)
    qs = CustomFieldDefinition.objects.for_workspace(workspace)
    definition = qs.filter(pk=pk).first() if pk else None
    if definition is None:
        raise NotFound("No such custom field.")
    return definition


def customfield_update(
    *,
    workspace: Workspace,
    actor: User | None,
    field_id: int,
    label: str | None = None,
    choices: list[str] | None = None,
    required: bool | None = None,
    position: int | None = None,
    field_type: str | None = None,
    key: str | None = None,
    object_type: str | None = None,
) -> CustomFieldDefinition:
    """Change a field's label, choices, required flag or position (None leaves a value as it
    is). `field_type`, `key` and `object_type` are accepted only unchanged: stored values
    were validated against the type and live under the key. Records `custom_field.updated`.
    Removing a choice leaves existing values alone until their record is next saved."""
    require(workspace=workspace, user=actor, module="settings", right=Right.EDIT)
    definition = _customfield_for_update(workspace=workspace, field_id=field_id)
    if definition.deleted_at is not None:
        raise Conflict("The field is deleted; restore it before changing it.", code="deleted")
    errors = ErrorCollector()
    for name, given in (("field_type", field_type), ("key", key), ("object_type", object_type)):
        if given is not None and given != getattr(definition, name):
            errors.add(
                name,
                "immutable",
                f"The {name.replace('_', ' ')} of a field cannot change once created; "
                "create a new field instead.",
            )
    cleaned: dict[str, Any] = {}
    if label is not None:
        cleaned["label"] = _customfield_clean_label(errors, label)
    if choices is not None:
        cleaned["choices"] = _customfield_clean_choices(errors, definition.field_type, choices)
    if required is not None:
        cleaned["required"] = required
    if position is not None:
        if position < 0:
            errors.add("position", "invalid", "The position cannot be negative.")
        cleaned["position"] = position
    errors.raise_if_any()
    changes = {
        k: [getattr(definition, k), v] for k, v in cleaned.items() if getattr(definition, k) != v
    }
    if not changes:
        return definition
    for field_name, (_old, new) in changes.items():
        setattr(definition, field_name, new)
    with transaction.atomic():
        definition.save(update_fields=list(changes))
        record_event(
            workspace=workspace,
            actor=actor,
            type="custom_field.updated",
            subject=definition,
            payload={"key": definition.key, "changes": changes},
        )
    return definition


def customfield_delete(
    *, workspace: Workspace, actor: User | None, field_id: int
) -> CustomFieldDefinition:
    """Move a field definition to the bin. Values stay on the records (hidden, no longer
    validated) so a restore brings them back. Records `custom_field.deleted`."""
    require(workspace=workspace, user=actor, module="settings", right=Right.DELETE)
    definition = _customfield_for_update(workspace=workspace, field_id=field_id)
    if definition.deleted_at is None:
        with transaction.atomic():
            definition.deleted_at = timezone.now()
            definition.save(update_fields=["deleted_at"])
            record_event(
                workspace=workspace,
                actor=actor,
                type="custom_field.deleted",
                subject=definition,
                payload={"object_type": definition.object_type, "key": definition.key},
            )
    return definition


def customfield_restore(
    *, workspace: Workspace, actor: User | None, field_id: int
) -> CustomFieldDefinition:
    """Bring a deleted field definition back. Records `custom_field.restored`."""
    require(workspace=workspace, user=actor, module="settings", right=Right.DELETE)
    definition = _customfield_for_update(workspace=workspace, field_id=field_id)
    if definition.deleted_at is not None:
        with transaction.atomic():
            definition.deleted_at = None
            definition.save(update_fields=["deleted_at"])
            record_event(
                workspace=workspace,
                actor=actor,
                type="custom_field.restored",
                subject=definition,
                payload={"object_type": definition.object_type, "key": definition.key},
            )
    return definition


# --- API keys through the API ----------------------------------------------------------------

APIKEY_NAME_MAX = 100


def apikey_issue(*, workspace: Workspace, actor: User, name: str = "") -> tuple[ApiKey, str]:
    """Create a key for `actor` in `workspace`; the raw key is returned once and never stored.
    Records `api_key.created` (name and prefix only) for the audit trail."""
    name = " ".join(name.split())
    errors = ErrorCollector()
    if len(name) > APIKEY_NAME_MAX:
        errors.add("name", "too-long", f"Use at most {APIKEY_NAME_MAX} characters.")
    elif _has_control_chars(name):
        errors.add("name", "invalid", "The name cannot hold control characters.")
    errors.raise_if_any()
    with transaction.atomic():
        key, raw = apikey_create(workspace=workspace, user=actor, name=name)
        record_event(
            workspace=workspace,
            actor=actor,
            type="api_key.created",
            subject=key,
            payload={"name": key.name, "prefix": key.prefix},
        )
    return key, raw


def apikey_revoke_by(*, workspace: Workspace, actor: User, key_id: int) -> ApiKey:
    """Revoke a key: the actor's own, or anyone's for those who may edit the workspace's
    settings (admins). Another member's key answers NotFound to everyone else, as a missing
    one. The key stops authenticating at once. Records `api_key.revoked`."""
    pk = _id_or_none(key_id)
    key = ApiKey.objects.for_workspace(workspace).filter(pk=pk).first() if pk else None
    if key is None or (
        key.user_id != actor.pk
        and not can(workspace=workspace, user=actor, module="settings", right=Right.EDIT)
    ):
        raise NotFound("No such API key.")
    if key.revoked_at is not None:
        return key
    with transaction.atomic():
        key = apikey_revoke(workspace=workspace, key_id=key.pk)
        record_event(
            workspace=workspace,
            actor=actor,
            type="api_key.revoked",
            subject=key,
            payload={"name": key.name, "prefix": key.prefix, "user_id": key.user_id},
        )
    return key
