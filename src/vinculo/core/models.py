"""Core models: users, workspaces, membership, teams, events (the outbox and audit trail),
API keys, tags and custom-field definitions."""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from vinculo.core.roles import Role
from vinculo.core.tenancy import TenantModel


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        if not email:
            raise ValueError("email is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who logs in. The email is the login; a user may belong to several workspaces."""

    email = models.EmailField(_("email"), unique=True)
    full_name = models.CharField(_("full name"), max_length=200, blank=True)
    language = models.CharField(_("language"), max_length=10, blank=True)
    time_zone = models.CharField(_("time zone"), max_length=64, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    def __str__(self) -> str:
        return self.full_name or self.email

    @property
    def display_name(self) -> str:
        return self.full_name or self.email.split("@")[0]


class Workspace(models.Model):
    """A company using Vínculo. Every customer record belongs to exactly one workspace."""

    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(_("slug"), max_length=60, unique=True)
    time_zone = models.CharField(_("time zone"), max_length=64, default="America/Sao_Paulo")
    currency = models.CharField(_("currency"), max_length=3, default="BRL")
    locale = models.CharField(_("locale"), max_length=10, default="pt-br")
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.name


class Membership(TenantModel):
    """A user's role in a workspace."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.SALES)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta(TenantModel.Meta):
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["workspace", "user"], name="membership_unique_user"),
        ]


class Team(TenantModel):
    name = models.CharField(_("name"), max_length=120)
    lead = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta(TenantModel.Meta):
        constraints: ClassVar = [
            models.UniqueConstraint("workspace", Lower("name"), name="team_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class TeamMember(TenantModel):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="team_memberships")

    class Meta(TenantModel.Meta):
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["workspace", "team", "user"], name="teammember_unique"),
        ]
        indexes: ClassVar = [models.Index(fields=["workspace", "user"], name="teammember_user")]


class Event(TenantModel):
    """Something customer-relevant that happened: the outbox of the dispatcher and the audit log.

    Written by `core.events.record_event` in the same transaction as the change it describes.
    `subject_type` is a short stable label ("contact", "account", "interaction", …).
    """

    type = models.CharField(max_length=80)
    subject_type = models.CharField(max_length=40)
    subject_id = models.BigIntegerField()
    actor = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    occurred_at = models.DateTimeField(default=timezone.now)
    payload = models.JSONField(default=dict, blank=True)
    # Set when every subscriber has handled the event; the sweep looks for rows where it is null.
    dispatched_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        indexes: ClassVar = [
            models.Index(
                fields=["workspace", "subject_type", "subject_id", "-occurred_at", "-id"],
                name="event_subject",
            ),
            models.Index(fields=["workspace", "type", "-occurred_at"], name="event_type"),
            models.Index(fields=["dispatched_at", "id"], name="event_pending"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.subject_type}:{self.subject_id}"


class EventDelivery(TenantModel):
    """One subscriber has handled one event. The unique constraint makes delivery exactly-once:
    the row is written in the same transaction as the subscriber's own writes."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    subscriber = models.CharField(max_length=80)
    delivered_at = models.DateTimeField(default=timezone.now)

    class Meta(TenantModel.Meta):
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["event", "subscriber"], name="eventdelivery_unique"),
        ]


class WorkerHeartbeat(models.Model):
    """Last sign of life of each worker process, read by /healthz."""

    worker_id = models.CharField(max_length=64, unique=True)
    hostname = models.CharField(max_length=255, blank=True)
    pid = models.IntegerField(default=0)
    started_at = models.DateTimeField(default=timezone.now)
    seen_at = models.DateTimeField(default=timezone.now, db_index=True)


class ApiKey(TenantModel):
    """A user's key for the REST API in one workspace. Only a SHA-256 of the secret is kept:
    the key has 256 bits of entropy, so a slow password hash would add cost without safety."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(_("name"), max_length=100, blank=True)
    prefix = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        indexes: ClassVar = [models.Index(fields=["workspace", "user"], name="apikey_user")]

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class Tag(TenantModel):
    name = models.CharField(_("name"), max_length=60)
    color = models.CharField(_("color"), max_length=20, default="gray")
    created_at = models.DateTimeField(default=timezone.now)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        constraints: ClassVar = [
            models.UniqueConstraint("workspace", Lower("name"), name="tag_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class CustomFieldType(models.TextChoices):
    TEXT = "text", _("Text")
    NUMBER = "number", _("Number")
    MONEY = "money", _("Money")
    DATE = "date", _("Date")
    BOOLEAN = "boolean", _("Yes/no")
    CHOICE = "choice", _("Choice")
    MULTI_CHOICE = "multi_choice", _("Multiple choice")


class CustomFieldObject(models.TextChoices):
    CONTACT = "contact", _("Contact")
    ACCOUNT = "account", _("Account")
    LEAD = "lead", pgettext_lazy("custom field object", "Lead")


class CustomFieldDefinition(TenantModel):
    """A field a workspace adds to an object. Values live in the object's `custom_fields` JSON
    under `key`, validated on every write by `core.custom_fields`."""

    object_type = models.CharField(_("object"), max_length=30, choices=CustomFieldObject.choices)
    key = models.SlugField(_("key"), max_length=60)
    label = models.CharField(_("label"), max_length=120)
    field_type = models.CharField(_("type"), max_length=20, choices=CustomFieldType.choices)
    choices = models.JSONField(_("choices"), default=list, blank=True)
    required = models.BooleanField(_("required"), default=False)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["workspace", "object_type", "key"], name="customfield_unique_key"
            ),
        ]
        ordering: ClassVar = ["position", "id"]

    def __str__(self) -> str:
        return self.label


class Invitation(TenantModel):
    """An invitation to join a workspace, sent by email. Only a hash of the token is kept; the
    link in the email carries the token itself."""

    email = models.EmailField(_("email"))
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.SALES)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        indexes: ClassVar = [models.Index(fields=["workspace", "email"], name="invitation_email")]

    @property
    def is_pending(self) -> bool:
        return (
            self.accepted_at is None
            and self.revoked_at is None
            and self.expires_at > timezone.now()
        )


class SavedView(TenantModel):
    """A named list view (filters, sort and columns) of one object type, private to its owner or
    shared with the workspace."""

    object_type = models.CharField(max_length=40)
    name = models.CharField(_("name"), max_length=120)
    owner = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    shared = models.BooleanField(_("shared with the workspace"), default=False)
    query = models.JSONField(default=dict, blank=True)
    columns = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta(TenantModel.Meta):
        indexes: ClassVar = [
            models.Index(fields=["workspace", "object_type", "owner"], name="savedview_owner"),
        ]

    def __str__(self) -> str:
        return self.name


class PeriodicRun(models.Model):
    """When each periodic job last ran; a conditional update claims a run, so several workers
    never run the same job twice in one period."""

    name = models.CharField(max_length=100, unique=True)
    last_run_at = models.DateTimeField(null=True, blank=True)


class RateCounter(models.Model):
    """Hits of one key (a form and a client address, …) in the current fixed window. Kept in the
    database so every web process counts together; old windows are purged periodically."""

    key = models.CharField(max_length=200, unique=True)
    window_start = models.DateTimeField()
    hits = models.PositiveIntegerField(default=0)

    class Meta:
        indexes: ClassVar = [models.Index(fields=["window_start"], name="ratecounter_window")]
