"""Writes of the core: workspaces, memberships, teams, API keys, tags and custom-field
definitions."""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import secrets
import unicodedata
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, connections, router, transaction
from django.db.models import Max
from django.db.models.functions import Length
from django.utils import timezone
from django.utils.text import slugify

from vinculo.core import rowload
from vinculo.core.access import can, remember_membership, require
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


@functools.cache
def _apikey_lookup_sql() -> str:
    key, user, workspace, member = (
        ApiKey._meta.db_table,
        User._meta.db_table,
        Workspace._meta.db_table,
        Membership._meta.db_table,
    )
    # Only table and column names of our own models are interpolated; values are parameters.
    return (
        f"SELECT {rowload.select_list(ApiKey, 'k')}, {rowload.select_list(User, 'u')}, "  # noqa: S608
        f"{rowload.select_list(Workspace, 'w')}, {rowload.select_list(Membership, 'm')} "
        f"FROM {key} k JOIN {user} u ON u.id = k.user_id "
        f"JOIN {workspace} w ON w.id = k.workspace_id "
        f"LEFT JOIN {member} m ON m.workspace_id = k.workspace_id AND m.user_id = k.user_id "
        "AND m.is_active = %s "
        "WHERE k.prefix = %s AND k.revoked_at IS NULL"
    )


def _apikey_with_membership(prefix: str) -> tuple[ApiKey, Membership | None] | None:
    """The unrevoked key with this prefix, its user and workspace loaded, and the user's active
    membership there. One hand-written query: every API request starts with this lookup, and
    composing it through the ORM took longer than running it (see core.rowload)."""
    using = router.db_for_read(ApiKey)
    with connections[using].cursor() as cursor:
        cursor.execute(_apikey_lookup_sql(), [True, prefix])
        row = cursor.fetchone()
    if row is None:
        return None
    widths = [len(m._meta.concrete_fields) for m in (ApiKey, User, Workspace, Membership)]
    parts, start = [], 0
    for width in widths:
        parts.append(row[start : start + width])
        start += width
    key = rowload.instance_from_row(ApiKey, parts[0], using)
    assert isinstance(key, ApiKey)
    key.user = rowload.instance_from_row(User, parts[1], using)  # type: ignore[assignment]
    key.workspace = rowload.instance_from_row(Workspace, parts[2], using)  # type: ignore[assignment]
    if parts[3][0] is None:
        return key, None
    membership = rowload.instance_from_row(Membership, parts[3], using)
    assert isinstance(membership, Membership)
    return key, membership


def apikey_authenticate(*, raw_key: str) -> ApiKey | None:
    """The active key matching `raw_key`, or None. Constant-time comparison of the secret."""
    if not raw_key.startswith(API_KEY_PREFIX):
        return None
    prefix, _, secret = raw_key[len(API_KEY_PREFIX) :].partition("_")
    if not prefix or not secret:
        return None
    found = _apikey_with_membership(prefix)
    if found is None:
        return None
    key, membership = found
    if not hmac.compare_digest(key.secret_hash, _hash_secret(secret)):
        return None
    if not key.user.is_active or membership is None:
        return None
    remember_membership(user=key.user, workspace=key.workspace, membership=membership)
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


def _set_binned(
    record: Tag | CustomFieldDefinition,
    *,
    binned: bool,
    workspace: Workspace,
    actor: User | None,
    event_type: str,
    payload: dict[str, Any],
) -> None:
    """Move a settings item (tag, field definition) into the bin or out of it, with its event;
    nothing happens when it is already where it should be."""
    if (record.deleted_at is not None) == binned:
        return
    with transaction.atomic():
        record.deleted_at = timezone.now() if binned else None
        record.save(update_fields=["deleted_at"])
        record_event(
            workspace=workspace, actor=actor, type=event_type, subject=record, payload=payload
        )


def tag_delete(*, workspace: Workspace, actor: User | None, tag_id: int) -> Tag:
    """Move a tag to the bin (restorable until the retention purge). Records `tag.deleted`;
    deleting a deleted tag changes nothing. Records keep their links to it, so a restore
    brings them back."""
    require(workspace=workspace, user=actor, module="tags", right=Right.DELETE)
    tag = _tag_for_update(workspace=workspace, tag_id=tag_id)
    _set_binned(
        tag,
        binned=True,
        workspace=workspace,
        actor=actor,
        event_type="tag.deleted",
        payload={"name": tag.name},
    )
    return tag


def tag_restore(*, workspace: Workspace, actor: User | None, tag_id: int) -> Tag:
    """Bring a deleted tag back. Records `tag.restored`; restoring a live tag changes nothing."""
    require(workspace=workspace, user=actor, module="tags", right=Right.DELETE)
    tag = _tag_for_update(workspace=workspace, tag_id=tag_id)
    _set_binned(
        tag,
        binned=False,
        workspace=workspace,
        actor=actor,
        event_type="tag.restored",
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
    _set_binned(
        definition,
        binned=True,
        workspace=workspace,
        actor=actor,
        event_type="custom_field.deleted",
        payload={"object_type": definition.object_type, "key": definition.key},
    )
    return definition


def customfield_restore(
    *, workspace: Workspace, actor: User | None, field_id: int
) -> CustomFieldDefinition:
    """Bring a deleted field definition back. Records `custom_field.restored`."""
    require(workspace=workspace, user=actor, module="settings", right=Right.DELETE)
    definition = _customfield_for_update(workspace=workspace, field_id=field_id)
    _set_binned(
        definition,
        binned=False,
        workspace=workspace,
        actor=actor,
        event_type="custom_field.restored",
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


# --- workspace settings, members, teams and invitations ------------------------------------
# Imported here, next to the services that need them, so this section stays self-contained.
import logging  # noqa: E402
import zoneinfo  # noqa: E402
from collections.abc import Iterable  # noqa: E402

from django.conf import settings  # noqa: E402
from django.contrib.auth.password_validation import validate_password  # noqa: E402
from django.core.exceptions import ValidationError as DjangoValidationError  # noqa: E402
from django.core.mail import EmailMultiAlternatives  # noqa: E402
from django.core.validators import validate_email  # noqa: E402
from django.template.loader import render_to_string  # noqa: E402
from django.utils import translation  # noqa: E402
from django.utils.translation import gettext  # noqa: E402

from vinculo.core.exceptions import PermissionDenied  # noqa: E402
from vinculo.core.models import Invitation, Team, TeamMember  # noqa: E402

WORKSPACE_NAME_MAX = 120
TEAM_NAME_MAX = 120
USER_NAME_MAX = 200
# ISO 4217 codes offered for a workspace's currency: Latin America first, then the usual
# currencies of trading partners. Amounts are formatted with the locale, so any code works.
CURRENCIES = (
    "BRL",
    "ARS",
    "BOB",
    "CLP",
    "COP",
    "MXN",
    "PEN",
    "PYG",
    "UYU",
    "USD",
    "EUR",
    "GBP",
    "CAD",
    "CHF",
    "JPY",
    "CNY",
    "AUD",
)
INVITATION_VALID_FOR = timedelta(days=7)
invitation_logger = logging.getLogger("vinculo.invitations")


def _time_zone_valid(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return bool(name)


def _languages() -> set[str]:
    return {code for code, _label in settings.LANGUAGES}


def workspace_update(
    *,
    workspace: Workspace,
    actor: User | None,
    name: str | None = None,
    time_zone: str | None = None,
    currency: str | None = None,
    locale: str | None = None,
) -> Workspace:
    """Change the workspace's name, time zone, currency or locale (None leaves a value as it
    is). Records `workspace.updated` with the old and new values when anything changed."""
    require(workspace=workspace, user=actor, module="settings", right=Right.EDIT)
    errors = ErrorCollector()
    cleaned: dict[str, str] = {}
    if name is not None:
        name = " ".join(name.split())
        if not name:
            errors.add("name", "required", gettext("The workspace needs a name."))
        elif len(name) > WORKSPACE_NAME_MAX:
            errors.add(
                "name", "too-long", gettext("Use at most %d characters.") % WORKSPACE_NAME_MAX
            )
        elif _has_control_chars(name):
            errors.add("name", "invalid", gettext("The name cannot hold control characters."))
        cleaned["name"] = name
    if time_zone is not None:
        if not _time_zone_valid(time_zone):
            errors.add("time_zone", "invalid", gettext("Choose a time zone from the list."))
        cleaned["time_zone"] = time_zone
    if currency is not None:
        if currency not in CURRENCIES:
            errors.add("currency", "invalid", gettext("Choose a currency from the list."))
        cleaned["currency"] = currency
    if locale is not None:
        if locale not in _languages():
            errors.add("locale", "invalid", gettext("Choose a language from the list."))
        cleaned["locale"] = locale
    errors.raise_if_any()
    changes = {
        k: [getattr(workspace, k), v] for k, v in cleaned.items() if getattr(workspace, k) != v
    }
    if not changes:
        return workspace
    for field_name, (_old, new) in changes.items():
        setattr(workspace, field_name, new)
    with transaction.atomic():
        workspace.save(update_fields=list(changes))
        record_event(
            workspace=workspace,
            actor=actor,
            type="workspace.updated",
            subject=workspace,
            payload={"changes": changes},
        )
    return workspace


def _membership_for_update(*, workspace: Workspace, membership_id: int) -> Membership:
    pk = _id_or_none(membership_id)
    qs = Membership.objects.for_workspace(workspace).select_related("user")
    membership = qs.select_for_update().filter(pk=pk).first() if pk else None
    if membership is None:
        raise NotFound(gettext("No such member."))
    return membership


def _is_last_admin(*, workspace: Workspace, membership: Membership) -> bool:
    if membership.role != Role.ADMIN or not membership.is_active:
        return False
    # Locked so two admins demoting each other at the same moment cannot both succeed.
    admins = (
        Membership.objects.for_workspace(workspace)
        .select_for_update()
        .filter(role=Role.ADMIN, is_active=True)
        .values_list("pk", flat=True)
    )
    return set(admins) == {membership.pk}


def _last_admin_error(membership: Membership, field_name: str) -> ValidationFailed:
    return ValidationFailed(
        [
            FieldError(
                field_name,
                "last-admin",
                gettext(
                    "%(name)s is the workspace's only admin. Make another member an admin "
                    "first, so someone can still manage the workspace."
                )
                % {"name": membership.user.display_name},
            )
        ]
    )


def membership_change_role(
    *, workspace: Workspace, actor: User | None, membership_id: int, role: str
) -> Membership:
    """Give a member another role. The last active admin keeps the admin role (ValidationFailed
    `last-admin`). Records `membership.role_changed`."""
    require(workspace=workspace, user=actor, module="settings", right=Right.EDIT)
    if role not in Role.values:
        raise ValidationFailed(
            [FieldError("role", "invalid", gettext("Choose a role from the list."))]
        )
    with transaction.atomic():
        membership = _membership_for_update(workspace=workspace, membership_id=membership_id)
        if membership.role == role:
            return membership
        if _is_last_admin(workspace=workspace, membership=membership):
            raise _last_admin_error(membership, "role")
        old = membership.role
        membership.role = role
        membership.save(update_fields=["role"])
        record_event(
            workspace=workspace,
            actor=actor,
            type="membership.role_changed",
            subject=membership,
            payload={"user_id": membership.user_id, "from": old, "to": role},
        )
    return membership


def membership_deactivate(
    *, workspace: Workspace, actor: User | None, membership_id: int
) -> Membership:
    """Take a member out of the workspace: they can no longer open it and their API keys stop
    working; their records stay. Nobody deactivates themself, and the last active admin stays
    (ValidationFailed `self` / `last-admin`). Records `membership.deactivated`."""
    require(workspace=workspace, user=actor, module="settings", right=Right.EDIT)
    with transaction.atomic():
        membership = _membership_for_update(workspace=workspace, membership_id=membership_id)
        if not membership.is_active:
            return membership
        if actor is not None and membership.user_id == actor.pk:
            raise ValidationFailed(
                [
                    FieldError(
                        "membership",
                        "self",
                        gettext("You cannot deactivate yourself; ask another admin to do it."),
                    )
                ]
            )
        if _is_last_admin(workspace=workspace, membership=membership):
            raise _last_admin_error(membership, "membership")
        membership.is_active = False
        membership.save(update_fields=["is_active"])
        record_event(
            workspace=workspace,
            actor=actor,
            type="membership.deactivated",
            subject=membership,
            payload={"user_id": membership.user_id, "role": membership.role},
        )
    return membership


def membership_reactivate(
    *, workspace: Workspace, actor: User | None, membership_id: int
) -> Membership:
    """Let a deactivated member back in with the role they had. Records
    `membership.reactivated`."""
    require(workspace=workspace, user=actor, module="settings", right=Right.EDIT)
    with transaction.atomic():
        membership = _membership_for_update(workspace=workspace, membership_id=membership_id)
        if membership.is_active:
            return membership
        membership.is_active = True
        membership.save(update_fields=["is_active"])
        record_event(
            workspace=workspace,
            actor=actor,
            type="membership.reactivated",
            subject=membership,
            payload={"user_id": membership.user_id, "role": membership.role},
        )
    return membership


# --- teams -----------------------------------------------------------------------------------


def _team_clean(
    *,
    workspace: Workspace,
    name: str,
    lead_id: int | None,
    member_ids: Iterable[int],
    exclude_id: int | None = None,
) -> tuple[str, int | None, list[int]]:
    """Every error of a team write at once. The lead and the members must be active members
    of this workspace (ids of other workspaces' users are refused like unknown ones)."""
    errors = ErrorCollector()
    name = " ".join(name.split())
    if not name:
        errors.add("name", "required", gettext("The team needs a name."))
    elif len(name) > TEAM_NAME_MAX:
        errors.add("name", "too-long", gettext("Use at most %d characters.") % TEAM_NAME_MAX)
    elif _has_control_chars(name):
        errors.add("name", "invalid", gettext("The name cannot hold control characters."))
    else:
        others = Team.objects.for_workspace(workspace).annotate(n=Length("name"))
        others = others.filter(n=len(name))
        if exclude_id is not None:
            others = others.exclude(pk=exclude_id)
        # Compared in Python: SQLite's LOWER() folds ASCII only.
        if any(other.lower() == name.lower() for other in others.values_list("name", flat=True)):
            errors.add("name", "taken", gettext("A team with this name already exists."))
    wanted = {i for i in member_ids if _id_or_none(i)}
    if lead_id is not None and not _id_or_none(lead_id):
        errors.add("lead", "invalid", gettext("Choose the lead among the workspace's members."))
        lead_id = None
    asked = wanted | ({lead_id} if lead_id else set())
    active = set(
        Membership.objects.for_workspace(workspace)
        .filter(user_id__in=asked, is_active=True)
        .values_list("user_id", flat=True)
    )
    if lead_id is not None and lead_id not in active:
        errors.add("lead", "invalid", gettext("Choose the lead among the workspace's members."))
    if wanted - active or len(wanted) != len(set(member_ids)):
        errors.add("members", "invalid", gettext("Choose members among the workspace's members."))
    errors.raise_if_any()
    return name, lead_id, sorted(wanted)


def _team_set_members(*, workspace: Workspace, team: Team, user_ids: list[int]) -> None:
    members = TeamMember.objects.for_workspace(workspace).filter(team=team)
    members.exclude(user_id__in=user_ids).delete()
    present = set(members.values_list("user_id", flat=True))
    TeamMember.objects.for_workspace(workspace).bulk_create(
        [
            TeamMember(workspace=workspace, team=team, user_id=u)
            for u in user_ids
            if u not in present
        ]
    )


def team_create(
    *,
    workspace: Workspace,
    actor: User | None,
    name: str,
    lead_id: int | None = None,
    member_ids: Iterable[int] = (),
) -> Team:
    """Create a team with its lead and members. Team-scoped roles (sales) see the records of
    everyone who shares a team with them. Records `team.created`."""
    require(workspace=workspace, user=actor, module="settings", right=Right.CREATE)
    member_ids = list(member_ids)
    name, lead_id, members = _team_clean(
        workspace=workspace, name=name, lead_id=lead_id, member_ids=member_ids
    )
    try:
        with transaction.atomic():
            team = Team.objects.for_workspace(workspace).create(
                workspace=workspace, name=name, lead_id=lead_id
            )
            _team_set_members(workspace=workspace, team=team, user_ids=members)
            record_event(
                workspace=workspace,
                actor=actor,
                type="team.created",
                subject=team,
                payload={"name": name, "lead_id": lead_id, "member_ids": members},
            )
    except IntegrityError as exc:
        raise ValidationFailed(
            [FieldError("name", "taken", gettext("A team with this name already exists."))]
        ) from exc
    return team


def _team_for_update(*, workspace: Workspace, team_id: int) -> Team:
    pk = _id_or_none(team_id)
    team = Team.objects.for_workspace(workspace).filter(pk=pk).first() if pk else None
    if team is None:
        raise NotFound(gettext("No such team."))
    return team


def team_update(
    *,
    workspace: Workspace,
    actor: User | None,
    team_id: int,
    name: str,
    lead_id: int | None,
    member_ids: Iterable[int],
) -> Team:
    """Rename a team and set its lead and members (the whole list: members left out leave the
    team). Records `team.updated` with what changed."""
    require(workspace=workspace, user=actor, module="settings", right=Right.EDIT)
    team = _team_for_update(workspace=workspace, team_id=team_id)
    member_ids = list(member_ids)
    name, lead_id, members = _team_clean(
        workspace=workspace,
        name=name,
        lead_id=lead_id,
        member_ids=member_ids,
        exclude_id=team.pk,
    )
    before = sorted(
        TeamMember.objects.for_workspace(workspace)
        .filter(team=team)
        .values_list("user_id", flat=True)
    )
    changes: dict[str, list[Any]] = {}
    if team.name != name:
        changes["name"] = [team.name, name]
    if team.lead_id != lead_id:
        changes["lead_id"] = [team.lead_id, lead_id]
    if before != members:
        changes["member_ids"] = [before, members]
    if not changes:
        return team
    team.name, team.lead_id = name, lead_id
    try:
        with transaction.atomic():
            team.save(update_fields=["name", "lead"])
            _team_set_members(workspace=workspace, team=team, user_ids=members)
            record_event(
                workspace=workspace,
                actor=actor,
                type="team.updated",
                subject=team,
                payload={"changes": changes},
            )
    except IntegrityError as exc:
        raise ValidationFailed(
            [FieldError("name", "taken", gettext("A team with this name already exists."))]
        ) from exc
    return team


def team_delete(*, workspace: Workspace, actor: User | None, team_id: int) -> None:
    """Delete a team (its members stay in the workspace; records keep their owners). Members
    of a team-scoped role stop seeing each other's records through it. Records
    `team.deleted`."""
    require(workspace=workspace, user=actor, module="settings", right=Right.DELETE)
    team = _team_for_update(workspace=workspace, team_id=team_id)
    with transaction.atomic():
        record_event(
            workspace=workspace,
            actor=actor,
            type="team.deleted",
            subject=team,
            payload={"name": team.name},
        )
        team.delete()


# --- invitations -----------------------------------------------------------------------------


def _invitation_token() -> tuple[str, str]:
    token = secrets.token_urlsafe(32)
    return token, _hash_secret(token)


def invitation_accept_path(token: str) -> str:
    from django.urls import reverse

    return reverse("invitation_accept", kwargs={"token": token})


def _invitation_send(*, invitation: Invitation, token: str, base_url: str) -> None:
    """Email the invitation in the workspace's language. Sent from `on_commit`, not from a
    task: the link carries the raw token, which must never be stored (task arguments are).
    A mail server that refuses is logged, not raised: the invitation is saved and listed,
    and "send again" mails a fresh link once mail works."""
    workspace = invitation.workspace
    inviter = invitation.invited_by
    link = base_url.rstrip("/") + invitation_accept_path(token)
    with translation.override(workspace.locale or settings.LANGUAGE_CODE):
        context = {
            "workspace_name": workspace.name,
            "inviter_name": inviter.display_name if inviter else "",
            "role": Role(invitation.role).label,
            "link": link,
            "expires_at": invitation.expires_at,
            "time_zone": workspace.time_zone,
        }
        subject = render_to_string("core/settings/email/invitation_subject.txt", context)
        body = render_to_string("core/settings/email/invitation_message.txt", context)
        html = render_to_string("core/settings/email/invitation_message.html", context)
    message = EmailMultiAlternatives(
        subject=" ".join(subject.split()),
        body=body,
        to=[invitation.email],
        reply_to=[inviter.email] if inviter else None,
    )
    message.attach_alternative(html, "text/html")
    try:
        message.send()
    except Exception:
        invitation_logger.exception(
            "could not email invitation %s of workspace %s", invitation.pk, workspace.slug
        )


def _invitation_for_update(*, workspace: Workspace, invitation_id: int) -> Invitation:
    pk = _id_or_none(invitation_id)
    qs = Invitation.objects.for_workspace(workspace).select_related("workspace", "invited_by")
    invitation = qs.filter(pk=pk).first() if pk else None
    if invitation is None:
        raise NotFound(gettext("No such invitation."))
    return invitation


def invitation_create(
    *, workspace: Workspace, actor: User | None, email: str, role: str, base_url: str
) -> Invitation:
    """Invite `email` to join the workspace with `role`. The email, in the workspace's
    language, carries a link `base_url` + /invitations/<token>/ valid for 7 days; only a hash
    of the token is stored. Records `invitation.created`; sends the email after commit."""
    require(workspace=workspace, user=actor, module="settings", right=Right.CREATE)
    errors = ErrorCollector()
    email = email.strip().lower()
    try:
        validate_email(email)
    except DjangoValidationError:
        errors.add("email", "invalid", gettext("Enter a valid email address."))
    else:
        member = (
            Membership.objects.for_workspace(workspace)
            .filter(user__email__iexact=email)
            .values_list("is_active", flat=True)
            .first()
        )
        if member is True:
            errors.add(
                "email", "member", gettext("This person is already a member of the workspace.")
            )
        elif member is False:
            errors.add(
                "email",
                "deactivated",
                gettext(
                    "This person's membership is deactivated; reactivate it in the member list."
                ),
            )
        elif (
            Invitation.objects.for_workspace(workspace)
            .filter(
                email=email,
                accepted_at__isnull=True,
                revoked_at__isnull=True,
                expires_at__gt=timezone.now(),
            )
            .exists()
        ):
            errors.add(
                "email",
                "invited",
                gettext(
                    "This person already has a pending invitation; send it again from the list."
                ),
            )
    if role not in Role.values:
        errors.add("role", "invalid", gettext("Choose a role from the list."))
    errors.raise_if_any()
    token, token_hash = _invitation_token()
    with transaction.atomic():
        invitation = Invitation.objects.for_workspace(workspace).create(
            workspace=workspace,
            email=email,
            role=role,
            token_hash=token_hash,
            invited_by=actor,
            expires_at=timezone.now() + INVITATION_VALID_FOR,
        )
        record_event(
            workspace=workspace,
            actor=actor,
            type="invitation.created",
            subject=invitation,
            payload={"email": email, "role": role},
        )
        transaction.on_commit(
            lambda: _invitation_send(invitation=invitation, token=token, base_url=base_url)
        )
    return invitation


def invitation_resend(
    *, workspace: Workspace, actor: User | None, invitation_id: int, base_url: str
) -> Invitation:
    """Send an open invitation again with a fresh link valid for 7 more days; the earlier link
    stops working. Records `invitation.resent`; sends the email after commit."""
    require(workspace=workspace, user=actor, module="settings", right=Right.CREATE)
    invitation = _invitation_for_update(workspace=workspace, invitation_id=invitation_id)
    if invitation.accepted_at is not None:
        raise Conflict(gettext("This invitation was already accepted."), code="invitation-accepted")
    if invitation.revoked_at is not None:
        raise Conflict(gettext("This invitation was revoked."), code="invitation-revoked")
    token, token_hash = _invitation_token()
    with transaction.atomic():
        invitation.token_hash = token_hash
        invitation.expires_at = timezone.now() + INVITATION_VALID_FOR
        if actor is not None:
            invitation.invited_by = actor
        invitation.save(update_fields=["token_hash", "expires_at", "invited_by"])
        record_event(
            workspace=workspace,
            actor=actor,
            type="invitation.resent",
            subject=invitation,
            payload={"email": invitation.email},
        )
        transaction.on_commit(
            lambda: _invitation_send(invitation=invitation, token=token, base_url=base_url)
        )
    return invitation


def invitation_revoke(
    *, workspace: Workspace, actor: User | None, invitation_id: int
) -> Invitation:
    """Withdraw an invitation: its link shows that it was revoked. Revoking twice changes
    nothing. Records `invitation.revoked`."""
    require(workspace=workspace, user=actor, module="settings", right=Right.DELETE)
    invitation = _invitation_for_update(workspace=workspace, invitation_id=invitation_id)
    if invitation.accepted_at is not None:
        raise Conflict(gettext("This invitation was already accepted."), code="invitation-accepted")
    if invitation.revoked_at is None:
        with transaction.atomic():
            invitation.revoked_at = timezone.now()
            invitation.save(update_fields=["revoked_at"])
            record_event(
                workspace=workspace,
                actor=actor,
                type="invitation.revoked",
                subject=invitation,
                payload={"email": invitation.email},
            )
    return invitation


class InvitationUnusable(Conflict):
    """The link of an invitation that expired, was revoked or was already accepted. `code`
    says which, so the page can say what to do next."""


def invitation_check(token: str) -> Invitation:
    """The open invitation a link's token belongs to (with its workspace and inviter), or
    NotFound for a token that matches none, or InvitationUnusable saying why it cannot be
    used."""
    if not token or len(token) > 128:
        raise NotFound(gettext("This invitation link is not valid."))
    invitation = (
        Invitation.all_tenants.select_related("workspace", "invited_by")
        .filter(token_hash=_hash_secret(token))
        .first()
    )
    if invitation is None:
        raise NotFound(gettext("This invitation link is not valid."))
    if invitation.accepted_at is not None:
        raise InvitationUnusable(gettext("This invitation was already accepted."), code="accepted")
    if invitation.revoked_at is not None:
        raise InvitationUnusable(gettext("This invitation was withdrawn."), code="revoked")
    if invitation.expires_at <= timezone.now():
        raise InvitationUnusable(gettext("This invitation has expired."), code="expired")
    return invitation


def invitation_accept(
    *, token: str, actor: User | None, full_name: str = "", password: str = ""
) -> Membership:
    """Join the workspace an invitation is for, with its role.

    Someone who already has an account with the invitation's email must be logged in as that
    account (`actor`; PermissionDenied `login-required` otherwise). Someone new gets an account
    with `full_name` and `password` (ValidationFailed naming the field when either is not
    acceptable); being logged in as another account is refused (`wrong-account`). Records
    `invitation.accepted` and `membership.created` (or `membership.reactivated`)."""
    invitation = invitation_check(token)
    workspace = invitation.workspace
    existing = User.objects.filter(email__iexact=invitation.email).first()
    logged_in = actor is not None and actor.is_authenticated
    if existing is not None:
        if not logged_in or actor is None or actor.pk != existing.pk:
            raise PermissionDenied(
                gettext("Log in as %(email)s to accept this invitation.")
                % {"email": invitation.email},
                code="login-required",
            )
        user = existing
    else:
        if logged_in:
            raise PermissionDenied(
                gettext("This invitation is for %(email)s; log out to accept it.")
                % {"email": invitation.email},
                code="wrong-account",
            )
        errors = ErrorCollector()
        full_name = " ".join(full_name.split())
        if not full_name:
            errors.add("full_name", "required", gettext("Tell us your name."))
        elif len(full_name) > USER_NAME_MAX:
            errors.add(
                "full_name", "too-long", gettext("Use at most %d characters.") % USER_NAME_MAX
            )
        elif _has_control_chars(full_name):
            errors.add("full_name", "invalid", gettext("The name cannot hold control characters."))
        try:
            validate_password(password, User(email=invitation.email, full_name=full_name))
        except DjangoValidationError as exc:
            for message in exc.messages:
                errors.add("password", "invalid", message)
        errors.raise_if_any()
        user = None
    with transaction.atomic():
        # Locked and checked again: two clicks on the same link must not both get through.
        locked = Invitation.all_tenants.select_for_update().get(pk=invitation.pk)
        if locked.accepted_at is not None or locked.revoked_at is not None:
            raise InvitationUnusable(gettext("This invitation was already used."), code="accepted")
        if user is None:
            user = User.objects.create_user(
                email=invitation.email, password=password, full_name=full_name
            )
        membership = Membership.objects.for_workspace(workspace).filter(user=user).first()
        event_type = "membership.created"
        if membership is None:
            membership = Membership.objects.for_workspace(workspace).create(
                workspace=workspace, user=user, role=invitation.role
            )
        else:
            was_active = membership.is_active
            event_type = "membership.updated" if was_active else "membership.reactivated"
            membership.role, membership.is_active = invitation.role, True
            membership.save(update_fields=["role", "is_active"])
        locked.accepted_at = timezone.now()
        locked.save(update_fields=["accepted_at"])
        record_event(
            workspace=workspace,
            actor=user,
            type="invitation.accepted",
            subject=locked,
            payload={"email": invitation.email, "role": invitation.role, "user_id": user.pk},
        )
        record_event(
            workspace=workspace,
            actor=user,
            type=event_type,
            subject=membership,
            payload={"user_id": user.pk, "role": invitation.role, "invitation_id": invitation.pk},
        )
    return membership
