"""Customer records: accounts (companies) and contacts (people)."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from vinculo.core.tenancy import TenantModel


class LifecycleStage(models.TextChoices):
    SUBSCRIBER = "subscriber", _("Subscriber")
    LEAD = "lead", _("Lead")
    OPPORTUNITY = "opportunity", _("Opportunity")
    CUSTOMER = "customer", _("Customer")
    CHURNED = "churned", _("Churned")


class CompanySize(models.TextChoices):
    MICRO = "1-10", _("1–10 employees")
    SMALL = "11-50", _("11–50 employees")
    MEDIUM = "51-200", _("51–200 employees")
    LARGE = "201-1000", _("201–1,000 employees")
    ENTERPRISE = "1001+", _("More than 1,000 employees")


class CustomerRecord(TenantModel):
    """What accounts and contacts share: owner, tags, custom fields, soft delete, search."""

    owner = models.ForeignKey(
        "core.User",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("owner"),
    )
    street = models.CharField(_("street"), max_length=200, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    state = models.CharField(_("state"), max_length=100, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True, help_text=_("ISO 3166 code"))
    custom_fields = models.JSONField(_("custom fields"), default=dict, blank=True)
    external_id = models.CharField(_("external id"), max_length=100, blank=True)
    # Lower-cased, accent-free name used for sorting and the search document behind `q`.
    sort_name = models.CharField(max_length=300, blank=True, editable=False)
    search_document = models.TextField(blank=True, editable=False)
    last_activity_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        "core.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        abstract = True


class Account(CustomerRecord):
    """A company the workspace sells to or serves."""

    name = models.CharField(_("name"), max_length=200)
    domain = models.CharField(_("domain"), max_length=253, blank=True)
    industry = models.CharField(_("industry"), max_length=100, blank=True)
    size = models.CharField(_("size"), max_length=10, choices=CompanySize.choices, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    website = models.URLField(_("website"), max_length=300, blank=True)
    tags = models.ManyToManyField("core.Tag", through="AccountTag", related_name="+", blank=True)

    class Meta(CustomerRecord.Meta):
        indexes: ClassVar = [
            models.Index(fields=["workspace", "sort_name", "id"], name="account_name"),
            models.Index(
                fields=["workspace", "owner", "sort_name", "id"], name="account_owner_name"
            ),
            models.Index(fields=["workspace", "domain"], name="account_domain"),
            models.Index(fields=["workspace", "external_id"], name="account_external_id"),
            models.Index(fields=["workspace", "-created_at", "-id"], name="account_created"),
            models.Index(fields=["workspace", "-updated_at", "-id"], name="account_updated"),
            models.Index(fields=["workspace", "deleted_at"], name="account_deleted"),
            # Backing the list filters of the API and pages (DESIGN §3: every filter indexed).
            models.Index(fields=["workspace", "industry"], name="account_industry"),
            models.Index(fields=["workspace", "city"], name="account_city"),
            models.Index(fields=["workspace", "state"], name="account_state"),
            models.Index(fields=["workspace", "country"], name="account_country"),
        ]

    def __str__(self) -> str:
        return self.name


class Contact(CustomerRecord):
    """A person. Emails are kept lower-cased; phones in E.164. `email`/`phone` are the primary
    ones (indexed for matching); `emails`/`phones` hold all of them, primary first."""

    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100, blank=True)
    email = models.CharField(_("email"), max_length=254, blank=True)
    emails = models.JSONField(_("emails"), default=list, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    phones = models.JSONField(_("phones"), default=list, blank=True)
    job_title = models.CharField(_("job title"), max_length=120, blank=True)
    birthdate = models.DateField(_("birthdate"), null=True, blank=True)
    language = models.CharField(_("language"), max_length=10, blank=True)
    lifecycle_stage = models.CharField(
        _("lifecycle stage"),
        max_length=20,
        choices=LifecycleStage.choices,
        default=LifecycleStage.LEAD,
    )
    source = models.CharField(_("source"), max_length=60, blank=True)
    account = models.ForeignKey(
        Account,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="contacts",
        verbose_name=_("account"),
    )
    tags = models.ManyToManyField("core.Tag", through="ContactTag", related_name="+", blank=True)

    class Meta(CustomerRecord.Meta):
        indexes: ClassVar = [
            models.Index(fields=["workspace", "sort_name", "id"], name="contact_name"),
            models.Index(
                fields=["workspace", "owner", "lifecycle_stage", "sort_name", "id"],
                name="contact_owner_stage_name",
            ),
            models.Index(
                fields=["workspace", "lifecycle_stage", "sort_name", "id"],
                name="contact_stage_name",
            ),
            models.Index(
                fields=["workspace", "account", "sort_name", "id"], name="contact_account_name"
            ),
            models.Index(fields=["workspace", "email"], name="contact_email"),
            models.Index(fields=["workspace", "phone"], name="contact_phone"),
            models.Index(fields=["workspace", "external_id"], name="contact_external_id"),
            models.Index(fields=["workspace", "-created_at", "-id"], name="contact_created"),
            models.Index(fields=["workspace", "-updated_at", "-id"], name="contact_updated"),
            models.Index(fields=["workspace", "deleted_at"], name="contact_deleted"),
            # Backing the list filters of the API and pages (DESIGN §3: every filter indexed).
            models.Index(fields=["workspace", "source"], name="contact_source"),
            models.Index(fields=["workspace", "city"], name="contact_city"),
            models.Index(fields=["workspace", "state"], name="contact_state"),
            models.Index(fields=["workspace", "country"], name="contact_country"),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return (
            " ".join(p for p in (self.first_name, self.last_name) if p)
            or self.email
            or f"#{self.pk}"
        )


class ContactTag(TenantModel):
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="tag_links")
    tag = models.ForeignKey("core.Tag", on_delete=models.CASCADE, related_name="contact_links")

    class Meta(TenantModel.Meta):
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["workspace", "contact", "tag"], name="contacttag_unique"
            ),
        ]
        indexes: ClassVar = [
            models.Index(fields=["workspace", "tag", "contact"], name="contacttag_tag")
        ]


class AccountTag(TenantModel):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="tag_links")
    tag = models.ForeignKey("core.Tag", on_delete=models.CASCADE, related_name="account_links")

    class Meta(TenantModel.Meta):
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["workspace", "account", "tag"], name="accounttag_unique"
            ),
        ]
        indexes: ClassVar = [
            models.Index(fields=["workspace", "tag", "account"], name="accounttag_tag")
        ]
