"""The timeline: every touch with a customer (interactions), tasks and notes."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from vinculo.core.tenancy import TenantModel


class Channel(models.TextChoices):
    EMAIL = "email", _("Email")
    PHONE = "phone", _("Phone call")
    MEETING = "meeting", _("Meeting")
    IN_PERSON = "in_person", _("In person")
    CHAT = "chat", _("Chat")
    WEB = "web", _("Web")
    SOCIAL = "social", _("Social")
    PORTAL = "portal", _("Portal")
    SMS = "sms", _("SMS")


class Direction(models.TextChoices):
    INBOUND = "inbound", _("Inbound")
    OUTBOUND = "outbound", _("Outbound")
    INTERNAL = "internal", _("Internal")


class TaskStatus(models.TextChoices):
    OPEN = "open", _("Open")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


class LinkedRecord(TenantModel):
    """Timeline items link to a contact and/or an account, a lead or a deal (later tickets too)."""

    contact = models.ForeignKey(
        "contacts.Contact",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("contact"),
    )
    account = models.ForeignKey(
        "contacts.Account",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("account"),
    )
    lead = models.ForeignKey(
        "sales.Lead",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("lead"),
    )
    deal = models.ForeignKey(
        "sales.Deal",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("deal"),
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        abstract = True


class Interaction(LinkedRecord):
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    direction = models.CharField(
        _("direction"), max_length=10, choices=Direction.choices, default=Direction.OUTBOUND
    )
    occurred_at = models.DateTimeField(_("when"), default=timezone.now)
    subject = models.CharField(_("subject"), max_length=300, blank=True)
    body = models.TextField(_("body"), blank=True)
    outcome = models.CharField(_("outcome"), max_length=120, blank=True)
    duration_seconds = models.PositiveIntegerField(_("duration (seconds)"), null=True, blank=True)
    author = models.ForeignKey(
        "core.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta(LinkedRecord.Meta):
        indexes: ClassVar = [
            models.Index(
                fields=["workspace", "contact", "-occurred_at", "-id"], name="interaction_contact"
            ),
            models.Index(
                fields=["workspace", "account", "-occurred_at", "-id"], name="interaction_account"
            ),
            models.Index(fields=["workspace", "-occurred_at", "-id"], name="interaction_recent"),
            models.Index(
                fields=["workspace", "lead", "-occurred_at", "-id"], name="interaction_lead"
            ),
            models.Index(
                fields=["workspace", "deal", "-occurred_at", "-id"], name="interaction_deal"
            ),
            models.Index(
                fields=["workspace", "channel", "-occurred_at", "-id"], name="interaction_channel"
            ),
        ]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(contact__isnull=False)
                | Q(account__isnull=False)
                | Q(lead__isnull=False)
                | Q(deal__isnull=False),
                name="interaction_linked_any",
            ),
        ]


class Task(LinkedRecord):
    title = models.CharField(_("title"), max_length=300)
    description = models.TextField(_("description"), blank=True)
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    reminder_at = models.DateTimeField(_("reminder"), null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True, editable=False)
    assignee = models.ForeignKey(
        "core.User",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("assignee"),
    )
    status = models.CharField(
        _("status"), max_length=20, choices=TaskStatus.choices, default=TaskStatus.OPEN
    )
    completed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        "core.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta(LinkedRecord.Meta):
        indexes: ClassVar = [
            models.Index(
                fields=["workspace", "contact", "-created_at", "-id"], name="task_contact"
            ),
            models.Index(
                fields=["workspace", "account", "-created_at", "-id"], name="task_account"
            ),
            models.Index(
                fields=["workspace", "assignee", "status", "due_at", "id"], name="task_assignee_due"
            ),
            models.Index(fields=["status", "reminder_at"], name="task_reminder"),
            # The unfiltered task list (newest first) and its "due" order.
            models.Index(fields=["workspace", "-created_at", "-id"], name="task_recent"),
            models.Index(fields=["workspace", "due_at", "id"], name="task_due"),
            models.Index(fields=["workspace", "lead", "-created_at", "-id"], name="task_lead"),
            models.Index(fields=["workspace", "deal", "-created_at", "-id"], name="task_deal"),
        ]


class Note(LinkedRecord):
    body = models.TextField(_("note"))
    author = models.ForeignKey(
        "core.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    pinned = models.BooleanField(_("pinned"), default=False)

    class Meta(LinkedRecord.Meta):
        indexes: ClassVar = [
            models.Index(
                fields=["workspace", "contact", "-created_at", "-id"], name="note_contact"
            ),
            models.Index(
                fields=["workspace", "account", "-created_at", "-id"], name="note_account"
            ),
            models.Index(fields=["workspace", "-created_at", "-id"], name="note_recent"),
            models.Index(fields=["workspace", "lead", "-created_at", "-id"], name="note_lead"),
            models.Index(fields=["workspace", "deal", "-created_at", "-id"], name="note_deal"),
        ]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(contact__isnull=False)
                | Q(account__isnull=False)
                | Q(lead__isnull=False)
                | Q(deal__isnull=False),
                name="note_linked_any",
            ),
        ]
