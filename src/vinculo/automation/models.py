"""Automation rules: a trigger (an event type, or a schedule) → conditions → ordered actions.

Marketing journeys, ticket routing, lead assignment and alerts all run on this engine. Every
evaluation is logged as a `RuleRun`, matched or not. A `wait` action parks the rest of the
actions as a `PendingAction` that the periodic job resumes when it is due.
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from vinculo.core.tenancy import TenantModel


class Schedule(models.TextChoices):
    NONE = "", pgettext_lazy("rule schedule", "On the event only")
    HOURLY = "hourly", pgettext_lazy("rule schedule", "Every hour")
    DAILY = "daily", pgettext_lazy("rule schedule", "Every day")


class Rule(TenantModel):
    """`conditions` is a tree: {"all": [...]} or {"any": [...]} of groups or leaves
    {"field": "lead.country", "op": "eq", "value": "BR"}. `actions` is an ordered list of
    {"type": "assign" | "set_field" | "add_tag" | "create_task" | "notify" | "send_email" |
    "call_webhook" | "wait", ...parameters}. Rules of the same `group` run in `position`
    order; with `stop_after_match`, the first one that matches ends the group (routing)."""

    name = models.CharField(_("name"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    trigger = models.CharField(_("trigger"), max_length=80)
    # For a scheduled rule: how often it looks at every record of the trigger's subject type.
    schedule = models.CharField(
        _("schedule"), max_length=10, choices=Schedule.choices, default=Schedule.NONE, blank=True
    )
    group = models.CharField(_("group"), max_length=40, blank=True)
    position = models.PositiveIntegerField(default=0)
    stop_after_match = models.BooleanField(_("stop at the first match"), default=False)
    conditions = models.JSONField(default=dict, blank=True)
    actions = models.JSONField(default=list, blank=True)
    run_count = models.PositiveIntegerField(default=0)
    last_run_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        "core.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        indexes: ClassVar = [
            models.Index(
                fields=["workspace", "trigger", "is_active", "group", "position"],
                name="rule_trigger",
            ),
            models.Index(fields=["workspace", "group", "position", "id"], name="rule_group"),
        ]

    def __str__(self) -> str:
        return self.name


class RunStatus(models.TextChoices):
    MATCHED = "matched", pgettext_lazy("rule run", "Matched")
    NOT_MATCHED = "not_matched", pgettext_lazy("rule run", "Did not match")
    WAITING = "waiting", pgettext_lazy("rule run", "Waiting")
    FAILED = "failed", pgettext_lazy("rule run", "Failed")
    LOOP_STOPPED = "loop_stopped", pgettext_lazy("rule run", "Stopped (loop)")


class RuleRun(TenantModel):
    """One evaluation of a rule on one subject: whether it matched, what each action did."""

    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="runs")
    event = models.ForeignKey(
        "core.Event", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    subject_type = models.CharField(max_length=40)
    subject_id = models.BigIntegerField()
    status = models.CharField(max_length=20, choices=RunStatus.choices)
    # How many rule runs led to this one (0: a person or the system started it).
    depth = models.PositiveSmallIntegerField(default=0)
    # [{"type": "assign", "ok": true, "detail": "…"}, …]
    action_log = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        indexes: ClassVar = [
            models.Index(fields=["workspace", "rule", "-started_at"], name="rulerun_rule"),
            models.Index(
                fields=["workspace", "subject_type", "subject_id", "-started_at"],
                name="rulerun_subject",
            ),
        ]
        constraints: ClassVar = [
            # A rule runs once per event, also when the event is delivered twice.
            models.UniqueConstraint(
                fields=["workspace", "rule", "event", "subject_type", "subject_id"],
                condition=Q(event__isnull=False),
                name="rulerun_event_once",
            ),
        ]


class PendingAction(TenantModel):
    """The rest of a run after a `wait`: resumed from `next_action` once `due_at` passes."""

    run = models.ForeignKey(RuleRun, on_delete=models.CASCADE, related_name="pending")
    next_action = models.PositiveSmallIntegerField()
    due_at = models.DateTimeField()
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        indexes: ClassVar = [
            models.Index(fields=["done_at", "due_at"], name="pending_due"),
        ]


class RoundRobinPointer(TenantModel):
    """Who in a team got the last record of a kind, so round-robin assignment takes turns."""

    team = models.ForeignKey("core.Team", on_delete=models.CASCADE, related_name="+")
    object_type = models.CharField(max_length=40)
    last_user = models.ForeignKey(
        "core.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta(TenantModel.Meta):
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["workspace", "team", "object_type"], name="roundrobin_once"
            ),
        ]
