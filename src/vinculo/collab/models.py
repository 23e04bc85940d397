"""Collaboration: in-app notifications (comments, alert rules and webhooks come later)."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from vinculo.core.tenancy import TenantModel


class NotificationKind(models.TextChoices):
    TASK_REMINDER = "task.reminder", _("Task reminder")
    DEAL_STALLED = "deal.stalled", _("Stalled deal")
    AUTOMATION_RULE = "automation.rule", _("Automation rule")
    LEAD_REASSIGNED = "lead.reassigned", _("Lead reassigned")


class Notification(TenantModel):
    """Something one user should look at, shown under the bell in the top bar.

    A notification belongs to its user alone: no role grants reading someone else's. `title`
    and `body` hold the subject's own words (a task's title), so they read the same in any
    language; the kind is translated when shown.
    """

    user = models.ForeignKey(
        "core.User", on_delete=models.CASCADE, related_name="+", verbose_name=_("user")
    )
    kind = models.CharField(_("kind"), max_length=40, choices=NotificationKind.choices)
    title = models.CharField(_("title"), max_length=300)
    body = models.TextField(_("body"), blank=True)
    # A path inside the app ("/tasks/#task-12"); never an absolute URL (see notification_create).
    url = models.CharField(_("link"), max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        indexes: ClassVar = [
            models.Index(
                fields=["workspace", "user", "-created_at", "-id"], name="notification_user_recent"
            ),
            # The bell's unread count reads only this (small) part of the table.
            models.Index(
                fields=["workspace", "user"],
                condition=Q(read_at__isnull=True),
                name="notification_user_unread",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_read(self) -> bool:
        return self.read_at is not None
