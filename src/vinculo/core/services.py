"""Writes of the core: workspaces, memberships, teams and API keys."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from vinculo.core.exceptions import Conflict, ErrorCollector, NotFound
from vinculo.core.models import ApiKey, Membership, User, Workspace
from vinculo.core.roles import Role

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
