"""Marketing: web forms (web-to-lead) today; segments, campaigns and journeys later."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from vinculo.core.tenancy import TenantModel


class WebForm(TenantModel):
    """A form visitors fill in on a hosted page or an embedded snippet; each submission makes
    a lead. `fields` is an ordered list of {"name": a lead field or "cf:<key>", "label": …,
    "required": bool}. The public URL carries `public_key`, never the id."""

    name = models.CharField(_("name"), max_length=120)
    public_key = models.CharField(max_length=32, unique=True, editable=False)
    title = models.CharField(_("title shown on the form"), max_length=200, blank=True)
    introduction = models.TextField(_("introduction"), blank=True)
    fields = models.JSONField(default=list, blank=True)
    submit_label = models.CharField(_("button label"), max_length=60, blank=True)
    consent_enabled = models.BooleanField(_("ask for consent"), default=True)
    consent_purpose = models.CharField(_("consent purpose"), max_length=60, blank=True)
    consent_wording = models.TextField(_("consent wording"), blank=True)
    consent_required = models.BooleanField(_("consent is required"), default=False)
    thank_you_message = models.TextField(_("thank-you message"), blank=True)
    redirect_url = models.URLField(_("redirect to"), max_length=500, blank=True)
    lead_source = models.CharField(_("lead source"), max_length=60, blank=True)
    # Origins allowed to embed the form (one per line); empty: any site.
    allowed_origins = models.TextField(_("sites allowed to embed it"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    submission_count = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        "core.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        indexes: ClassVar = [
            models.Index(fields=["workspace", "-created_at", "-id"], name="webform_created"),
        ]

    def __str__(self) -> str:
        return self.name


class WebFormSubmission(TenantModel):
    """What a visitor sent (as received), and the lead it made."""

    form = models.ForeignKey(WebForm, on_delete=models.CASCADE, related_name="submissions")
    lead = models.ForeignKey(
        "sales.Lead", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    data = models.JSONField(default=dict, blank=True)
    utm = models.JSONField(default=dict, blank=True)
    page_url = models.CharField(max_length=1000, blank=True)
    referrer = models.CharField(max_length=1000, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=400, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta(TenantModel.Meta):
        indexes: ClassVar = [
            models.Index(fields=["workspace", "form", "-created_at"], name="webformsub_form"),
            models.Index(fields=["workspace", "lead"], name="webformsub_lead"),
        ]
