"""Stored results of the analytics: trained predictive models."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils import timezone

from vinculo.core.tenancy import TenantModel


class LeadScoringModel(TenantModel):
    """A naive Bayes model of won vs lost leads for one team (or the whole workspace when
    `team` is empty), retrained nightly. `parameters` holds the class priors and the smoothed
    per-feature likelihoods; `metrics` how well it separated held-out history."""

    team = models.ForeignKey(
        "core.Team", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    trained_at = models.DateTimeField(default=timezone.now)
    won_count = models.PositiveIntegerField(default=0)
    lost_count = models.PositiveIntegerField(default=0)
    parameters = models.JSONField(default=dict, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    is_current = models.BooleanField(default=True)

    class Meta(TenantModel.Meta):
        indexes: ClassVar = [
            models.Index(fields=["workspace", "team", "is_current"], name="leadmodel_current"),
        ]
