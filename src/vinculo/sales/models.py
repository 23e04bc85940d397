"""Sales force automation: leads, pipelines and deals (with their stage history), products and
price lists, quotes, orders (the purchase history), quotas, and the workspace's sales settings.

Money is a Decimal with two places in the record's currency (the workspace currency unless set).
"""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from vinculo.contacts.models import CompanySize
from vinculo.core.tenancy import TenantModel

MONEY = {"max_digits": 14, "decimal_places": 2}
ZERO = Decimal("0.00")


class SalesSettings(TenantModel):
    """One row per workspace: numbering and the thresholds the sales automation works with."""

    quote_prefix = models.CharField(_("quote number prefix"), max_length=20, default="Q-")
    next_quote_number = models.PositiveIntegerField(default=1)
    order_prefix = models.CharField(_("order number prefix"), max_length=20, default="O-")
    next_order_number = models.PositiveIntegerField(default=1)
    quote_validity_days = models.PositiveIntegerField(_("quotes valid for (days)"), default=30)
    # A lead not contacted within this many working hours goes to someone else (0: never).
    lead_response_hours = models.PositiveIntegerField(_("hours to contact a new lead"), default=8)
    # Working hours used by the response window: weekdays (0 = Monday) and the local hours.
    working_days = models.JSONField(default=list, blank=True)
    work_starts = models.TimeField(default="09:00")
    work_ends = models.TimeField(default="18:00")
    # A deal is stalled with no activity for this many days, or when it has sat in its stage
    # longer than this factor times the stage's median duration.
    stalled_after_days = models.PositiveIntegerField(_("stalled after (days)"), default=14)
    stalled_stage_factor = models.DecimalField(
        _("stalled at (× median days in stage)"), max_digits=4, decimal_places=1, default=2
    )
    # Engagement points lose half their weight every this many days.
    score_half_life_days = models.PositiveIntegerField(_("score half-life (days)"), default=30)

    class Meta(TenantModel.Meta):
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["workspace"], name="sales_settings_one"),
        ]


# ---------------------------------------------------------------------------------------------
# Leads


class LeadStatus(models.TextChoices):
    NEW = "new", pgettext_lazy("lead status", "New")
    WORKING = "working", pgettext_lazy("lead status", "Working")
    QUALIFIED = "qualified", pgettext_lazy("lead status", "Qualified")
    DISQUALIFIED = "disqualified", pgettext_lazy("lead status", "Disqualified")
    CONVERTED = "converted", pgettext_lazy("lead status", "Converted")


class Lead(TenantModel):
    """Someone who showed interest and is not (yet) a customer: a person and their company as
    they told us, where they came from, how good a fit they look, and who works them."""

    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100, blank=True)
    email = models.CharField(_("email"), max_length=254, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    job_title = models.CharField(_("job title"), max_length=120, blank=True)
    company_name = models.CharField(_("company"), max_length=200, blank=True)
    company_domain = models.CharField(_("company domain"), max_length=253, blank=True)
    company_size = models.CharField(
        _("company size"), max_length=10, choices=CompanySize.choices, blank=True
    )
    industry = models.CharField(_("industry"), max_length=100, blank=True)
    website = models.URLField(_("website"), max_length=300, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    state = models.CharField(_("state"), max_length=100, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True)
    message = models.TextField(_("message"), blank=True)

    source = models.CharField(_("source"), max_length=60, blank=True)
    utm_source = models.CharField("utm_source", max_length=200, blank=True)
    utm_medium = models.CharField("utm_medium", max_length=200, blank=True)
    utm_campaign = models.CharField("utm_campaign", max_length=200, blank=True)
    utm_term = models.CharField("utm_term", max_length=200, blank=True)
    utm_content = models.CharField("utm_content", max_length=200, blank=True)
    campaign = models.CharField(_("campaign"), max_length=200, blank=True)
    web_form = models.ForeignKey(
        "marketing.WebForm",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("web form"),
    )

    status = models.CharField(
        _("status"), max_length=20, choices=LeadStatus.choices, default=LeadStatus.NEW
    )
    disqualified_reason = models.CharField(_("disqualification reason"), max_length=200, blank=True)

    # Rule points (fit + decayed engagement) and the predictive probability of winning, each
    # with the reasons shown on the lead: [{"label": …, "points"|"weight": …}, …].
    score = models.IntegerField(_("score"), default=0)
    score_reasons = models.JSONField(default=list, blank=True)
    predicted_score = models.PositiveSmallIntegerField(
        _("predicted chance (%)"), null=True, blank=True
    )
    predicted_factors = models.JSONField(default=list, blank=True)
    scored_at = models.DateTimeField(null=True, blank=True)

    owner = models.ForeignKey(
        "core.User",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("owner"),
    )
    team = models.ForeignKey(
        "core.Team",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("team"),
    )
    assigned_at = models.DateTimeField(null=True, blank=True)
    # When the owner first reached out (a logged interaction or a status change); the
    # response-time reassignment looks at leads where this is still empty.
    first_contacted_at = models.DateTimeField(null=True, blank=True)
    reassigned_count = models.PositiveSmallIntegerField(default=0)

    converted_at = models.DateTimeField(null=True, blank=True)
    converted_contact = models.ForeignKey(
        "contacts.Contact", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    converted_account = models.ForeignKey(
        "contacts.Account", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    converted_deal = models.ForeignKey(
        "sales.Deal", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    custom_fields = models.JSONField(_("custom fields"), default=dict, blank=True)
    external_id = models.CharField(_("external id"), max_length=100, blank=True)
    sort_name = models.CharField(max_length=300, blank=True, editable=False)
    search_document = models.TextField(blank=True, editable=False)
    last_activity_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        "core.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    deleted_at = models.DateTimeField(null=True, blank=True)
    erased_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta(TenantModel.Meta):
        indexes: ClassVar = [
            models.Index(fields=["workspace", "-created_at", "-id"], name="lead_created"),
            models.Index(fields=["workspace", "sort_name", "id"], name="lead_name"),
            models.Index(fields=["workspace", "-score", "-id"], name="lead_score"),
            models.Index(
                fields=["workspace", "-predicted_score", "-id"], name="lead_predicted_score"
            ),
            models.Index(
                fields=["workspace", "status", "-created_at", "-id"], name="lead_status_created"
            ),
            models.Index(
                fields=["workspace", "owner", "status", "-created_at", "-id"],
                name="lead_owner_status",
            ),
            models.Index(fields=["workspace", "team", "status"], name="lead_team_status"),
            models.Index(fields=["workspace", "email"], name="lead_email"),
            models.Index(fields=["workspace", "external_id"], name="lead_external_id"),
            models.Index(fields=["workspace", "source"], name="lead_source"),
            models.Index(fields=["workspace", "utm_campaign"], name="lead_utm_campaign"),
            models.Index(fields=["workspace", "country", "state"], name="lead_region"),
            models.Index(
                fields=["workspace", "status", "first_contacted_at", "assigned_at"],
                name="lead_response_due",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        name = " ".join(p for p in (self.first_name, self.last_name) if p)
        if not name and self.erased_at is not None:
            return str(_("Erased person"))
        return name or self.email or self.company_name or f"#{self.pk}"

    @property
    def is_open(self) -> bool:
        return self.status in {LeadStatus.NEW, LeadStatus.WORKING, LeadStatus.QUALIFIED}

    @property
    def email_domain(self) -> str:
        """The part of the email after the @ (lower-cased), for rules and scoring."""
        return self.email.rpartition("@")[2].lower() if "@" in self.email else ""


# ---------------------------------------------------------------------------------------------
# Pipelines and deals


class StageKind(models.TextChoices):
    OPEN = "open", pgettext_lazy("stage kind", "Open")
    WON = "won", pgettext_lazy("stage kind", "Won")
    LOST = "lost", pgettext_lazy("stage kind", "Lost")


class Pipeline(TenantModel):
    name = models.CharField(_("name"), max_length=120)
    position = models.PositiveIntegerField(default=0)
    is_default = models.BooleanField(_("default pipeline"), default=False)
    created_at = models.DateTimeField(default=timezone.now)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        indexes: ClassVar = [
            models.Index(fields=["workspace", "position", "id"], name="pipeline_position"),
        ]

    def __str__(self) -> str:
        return self.name


class Stage(TenantModel):
    """A column of a pipeline. `probability` (0–100) weights the pipeline forecast; a won or
    lost stage closes the deals that enter it."""

    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="stages")
    name = models.CharField(_("name"), max_length=120)
    position = models.PositiveIntegerField(default=0)
    probability = models.PositiveSmallIntegerField(_("probability (%)"), default=0)
    kind = models.CharField(
        _("meaning"), max_length=10, choices=StageKind.choices, default=StageKind.OPEN
    )
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        indexes: ClassVar = [
            models.Index(fields=["workspace", "pipeline", "position"], name="stage_position"),
        ]
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(probability__lte=100), name="stage_probability"),
        ]

    def __str__(self) -> str:
        return self.name


class DealStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("deal status", "Open")
    WON = "won", pgettext_lazy("deal status", "Won")
    LOST = "lost", pgettext_lazy("deal status", "Lost")


class ForecastCategory(models.TextChoices):
    PIPELINE = "pipeline", pgettext_lazy("forecast category", "Pipeline")
    BEST_CASE = "best_case", pgettext_lazy("forecast category", "Best case")
    COMMIT = "commit", pgettext_lazy("forecast category", "Commit")
    CLOSED = "closed", pgettext_lazy("forecast category", "Closed")
    OMITTED = "omitted", pgettext_lazy("forecast category", "Omitted")


class Deal(TenantModel):
    """An opportunity moving through a pipeline. `status` follows the kind of its stage;
    `position` orders the cards inside a kanban column (smaller first)."""

    name = models.CharField(_("name"), max_length=200)
    pipeline = models.ForeignKey(Pipeline, on_delete=models.PROTECT, related_name="deals")
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="deals")
    status = models.CharField(
        _("status"), max_length=10, choices=DealStatus.choices, default=DealStatus.OPEN
    )
    amount = models.DecimalField(_("amount"), default=ZERO, **MONEY)  # type: ignore[arg-type]
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    expected_close_date = models.DateField(_("expected close date"), null=True, blank=True)
    forecast_category = models.CharField(
        _("forecast category"),
        max_length=20,
        choices=ForecastCategory.choices,
        default=ForecastCategory.PIPELINE,
    )
    owner = models.ForeignKey(
        "core.User",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("owner"),
    )
    team = models.ForeignKey(
        "core.Team",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("team"),
    )
    contact = models.ForeignKey(
        "contacts.Contact",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("contact"),
    )
    account = models.ForeignKey(
        "contacts.Account",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("account"),
    )
    lead = models.ForeignKey(
        Lead, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    lost_reason = models.CharField(_("lost reason"), max_length=200, blank=True)
    position = models.FloatField(default=0)
    stage_entered_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    last_activity_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The last time the owner was told this deal is stalled (not more than once a week).
    stalled_notified_at = models.DateTimeField(null=True, blank=True, editable=False)
    custom_fields = models.JSONField(_("custom fields"), default=dict, blank=True)
    external_id = models.CharField(_("external id"), max_length=100, blank=True)
    sort_name = models.CharField(max_length=300, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        "core.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        indexes: ClassVar = [
            # A kanban column: the deals of one stage in card order.
            models.Index(fields=["workspace", "stage", "position", "id"], name="deal_column"),
            models.Index(
                fields=["workspace", "pipeline", "status", "expected_close_date"],
                name="deal_pipeline_close",
            ),
            models.Index(
                fields=["workspace", "owner", "status", "expected_close_date"],
                name="deal_owner_close",
            ),
            models.Index(fields=["workspace", "status", "closed_at"], name="deal_closed"),
            models.Index(fields=["workspace", "-created_at", "-id"], name="deal_created"),
            models.Index(fields=["workspace", "sort_name", "id"], name="deal_name"),
            models.Index(fields=["workspace", "contact", "-created_at"], name="deal_contact"),
            models.Index(fields=["workspace", "account", "-created_at"], name="deal_account"),
            models.Index(fields=["workspace", "external_id"], name="deal_external_id"),
            # The deal list's sorts.
            models.Index(fields=["workspace", "expected_close_date", "id"], name="deal_close_date"),
            models.Index(fields=["workspace", "amount", "id"], name="deal_amount"),
            models.Index(fields=["workspace", "-updated_at", "-id"], name="deal_updated"),
        ]

    def __str__(self) -> str:
        return self.name


class DealStageHistory(TenantModel):
    """One stay of a deal in a stage: when it entered and left, and who moved it."""

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="stage_history")
    stage = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="+")
    entered_at = models.DateTimeField(default=timezone.now)
    left_at = models.DateTimeField(null=True, blank=True)
    entered_by = models.ForeignKey(
        "core.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    left_by = models.ForeignKey(
        "core.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta(TenantModel.Meta):
        indexes: ClassVar = [
            models.Index(fields=["workspace", "deal", "entered_at"], name="stagehist_deal"),
            models.Index(fields=["workspace", "stage", "left_at"], name="stagehist_stage"),
            # Stage durations of the stays that began in a period.
            models.Index(fields=["workspace", "stage", "entered_at"], name="stagehist_entered"),
        ]


class LostReason(TenantModel):
    """The reasons offered when a deal is lost (free text is allowed too)."""

    name = models.CharField(_("name"), max_length=200)
    position = models.PositiveIntegerField(default=0)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        indexes: ClassVar = [
            models.Index(fields=["workspace", "position"], name="lostreason_position"),
        ]


# ---------------------------------------------------------------------------------------------
# Products and price lists


class Product(TenantModel):
    name = models.CharField(_("name"), max_length=200)
    code = models.CharField(_("code"), max_length=60, blank=True)
    description = models.TextField(_("description"), blank=True)
    unit_price = models.DecimalField(_("unit price"), default=ZERO, **MONEY)  # type: ignore[arg-type]
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    tax_rate = models.DecimalField(_("tax rate (%)"), max_digits=5, decimal_places=2, default=ZERO)
    unit = models.CharField(_("unit"), max_length=20, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        indexes: ClassVar = [
            models.Index(fields=["workspace", "name", "id"], name="product_name"),
            models.Index(fields=["workspace", "code"], name="product_code"),
        ]

    def __str__(self) -> str:
        return self.name


class PriceList(TenantModel):
    name = models.CharField(_("name"), max_length=120)
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    is_default = models.BooleanField(_("default price list"), default=False)
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    deleted_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.name


class PriceListItem(TenantModel):
    price_list = models.ForeignKey(PriceList, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    unit_price = models.DecimalField(_("unit price"), **MONEY)  # type: ignore[arg-type]

    class Meta(TenantModel.Meta):
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["workspace", "price_list", "product"], name="pricelist_product_once"
            ),
        ]


class DealLine(TenantModel):
    """A product on a deal: what is being sold, before a quote is drawn up."""

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(
        Product, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    description = models.CharField(_("description"), max_length=300)
    quantity = models.DecimalField(_("quantity"), max_digits=12, decimal_places=3, default=1)
    unit_price = models.DecimalField(_("unit price"), **MONEY)  # type: ignore[arg-type]
    discount_percent = models.DecimalField(
        _("discount (%)"), max_digits=5, decimal_places=2, default=ZERO
    )
    position = models.PositiveIntegerField(default=0)

    class Meta(TenantModel.Meta):
        indexes: ClassVar = [
            models.Index(fields=["workspace", "deal", "position"], name="dealline_deal"),
        ]


# ---------------------------------------------------------------------------------------------
# Quotes


class QuoteStatus(models.TextChoices):
    DRAFT = "draft", pgettext_lazy("quote status", "Draft")
    SENT = "sent", pgettext_lazy("quote status", "Sent")
    ACCEPTED = "accepted", pgettext_lazy("quote status", "Accepted")
    DECLINED = "declined", pgettext_lazy("quote status", "Declined")
    EXPIRED = "expired", pgettext_lazy("quote status", "Expired")
    CANCELLED = "cancelled", pgettext_lazy("quote status", "Cancelled")


class Quote(TenantModel):
    """A priced offer for a deal. Numbered per workspace when first sent; the customer answers
    through a signed link (`public_key` is part of the signed value, so a new key revokes old
    links)."""

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="quotes")
    number = models.CharField(_("number"), max_length=40, blank=True)
    title = models.CharField(_("title"), max_length=200, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=QuoteStatus.choices, default=QuoteStatus.DRAFT
    )
    contact = models.ForeignKey(
        "contacts.Contact", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    account = models.ForeignKey(
        "contacts.Account", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    price_list = models.ForeignKey(
        PriceList, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    subtotal = models.DecimalField(default=ZERO, **MONEY)  # type: ignore[arg-type]
    discount_total = models.DecimalField(default=ZERO, **MONEY)  # type: ignore[arg-type]
    tax_total = models.DecimalField(default=ZERO, **MONEY)  # type: ignore[arg-type]
    total = models.DecimalField(default=ZERO, **MONEY)  # type: ignore[arg-type]
    terms = models.TextField(_("terms"), blank=True)
    public_key = models.CharField(max_length=32, blank=True, editable=False)
    sent_at = models.DateTimeField(null=True, blank=True)
    sent_by = models.ForeignKey(
        "core.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    answered_at = models.DateTimeField(null=True, blank=True)
    answered_by_name = models.CharField(max_length=200, blank=True)
    answered_ip = models.GenericIPAddressField(null=True, blank=True)
    decline_reason = models.CharField(_("reason"), max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        "core.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        indexes: ClassVar = [
            models.Index(fields=["workspace", "deal", "-created_at"], name="quote_deal"),
            models.Index(fields=["workspace", "status", "-created_at"], name="quote_status"),
            models.Index(fields=["workspace", "-created_at", "-id"], name="quote_created"),
        ]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["workspace", "number"],
                condition=~Q(number=""),
                name="quote_number_unique",
            ),
        ]

    def __str__(self) -> str:
        return self.number or self.title or f"#{self.pk}"


class QuoteLine(TenantModel):
    quote = models.ForeignKey(Quote, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(
        Product, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    description = models.CharField(_("description"), max_length=300)
    quantity = models.DecimalField(_("quantity"), max_digits=12, decimal_places=3, default=1)
    unit_price = models.DecimalField(_("unit price"), **MONEY)  # type: ignore[arg-type]
    discount_percent = models.DecimalField(
        _("discount (%)"), max_digits=5, decimal_places=2, default=ZERO
    )
    tax_rate = models.DecimalField(_("tax rate (%)"), max_digits=5, decimal_places=2, default=ZERO)
    line_total = models.DecimalField(default=ZERO, **MONEY)  # type: ignore[arg-type]
    position = models.PositiveIntegerField(default=0)

    class Meta(TenantModel.Meta):
        indexes: ClassVar = [
            models.Index(fields=["workspace", "quote", "position"], name="quoteline_quote"),
        ]


# ---------------------------------------------------------------------------------------------
# Orders: what customers bought


class OrderChannel(models.TextChoices):
    QUOTE = "quote", pgettext_lazy("order channel", "Accepted quote")
    API = "api", pgettext_lazy("order channel", "API")
    IMPORT = "import", pgettext_lazy("order channel", "Import")
    STORE = "store", pgettext_lazy("order channel", "Online store")
    PHONE = "phone", pgettext_lazy("order channel", "Phone")
    IN_PERSON = "in_person", pgettext_lazy("order channel", "In person")
    OTHER = "other", pgettext_lazy("order channel", "Other")


class OrderStatus(models.TextChoices):
    PLACED = "placed", pgettext_lazy("order status", "Placed")
    CANCELLED = "cancelled", pgettext_lazy("order status", "Cancelled")


class Order(TenantModel):
    number = models.CharField(_("number"), max_length=40, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=OrderStatus.choices, default=OrderStatus.PLACED
    )
    channel = models.CharField(
        _("channel"), max_length=20, choices=OrderChannel.choices, default=OrderChannel.OTHER
    )
    ordered_at = models.DateTimeField(_("ordered at"), default=timezone.now)
    contact = models.ForeignKey(
        "contacts.Contact",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("contact"),
    )
    account = models.ForeignKey(
        "contacts.Account",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("account"),
    )
    deal = models.ForeignKey(
        Deal, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    quote = models.ForeignKey(
        Quote, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    owner = models.ForeignKey(
        "core.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    subtotal = models.DecimalField(default=ZERO, **MONEY)  # type: ignore[arg-type]
    discount_total = models.DecimalField(default=ZERO, **MONEY)  # type: ignore[arg-type]
    tax_total = models.DecimalField(default=ZERO, **MONEY)  # type: ignore[arg-type]
    total = models.DecimalField(_("total"), default=ZERO, **MONEY)  # type: ignore[arg-type]
    external_id = models.CharField(_("external id"), max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        "core.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta(TenantModel.Meta):
        indexes: ClassVar = [
            models.Index(fields=["workspace", "contact", "-ordered_at"], name="order_contact"),
            models.Index(fields=["workspace", "account", "-ordered_at"], name="order_account"),
            models.Index(fields=["workspace", "-ordered_at", "-id"], name="order_recent"),
            models.Index(fields=["workspace", "external_id"], name="order_external_id"),
        ]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["workspace", "number"], condition=~Q(number=""), name="order_number_unique"
            ),
            # An accepted quote makes exactly one order, also when the answer is sent twice.
            models.UniqueConstraint(
                fields=["workspace", "quote"],
                condition=Q(quote__isnull=False),
                name="order_quote_once",
            ),
        ]

    def __str__(self) -> str:
        return self.number or f"#{self.pk}"


class OrderLine(TenantModel):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(
        Product, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    description = models.CharField(_("description"), max_length=300)
    quantity = models.DecimalField(_("quantity"), max_digits=12, decimal_places=3, default=1)
    unit_price = models.DecimalField(_("unit price"), **MONEY)  # type: ignore[arg-type]
    discount_percent = models.DecimalField(
        _("discount (%)"), max_digits=5, decimal_places=2, default=ZERO
    )
    tax_rate = models.DecimalField(_("tax rate (%)"), max_digits=5, decimal_places=2, default=ZERO)
    line_total = models.DecimalField(default=ZERO, **MONEY)  # type: ignore[arg-type]
    position = models.PositiveIntegerField(default=0)

    class Meta(TenantModel.Meta):
        indexes: ClassVar = [
            models.Index(fields=["workspace", "order", "position"], name="orderline_order"),
            models.Index(fields=["workspace", "product"], name="orderline_product"),
        ]


# ---------------------------------------------------------------------------------------------
# Quotas


class Quota(TenantModel):
    """A sales target for one person or one team over a period (a month or a quarter)."""

    user = models.ForeignKey(
        "core.User",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("person"),
    )
    team = models.ForeignKey(
        "core.Team",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("team"),
    )
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    amount = models.DecimalField(_("target"), **MONEY)  # type: ignore[arg-type]
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta(TenantModel.Meta):
        indexes: ClassVar = [
            models.Index(fields=["workspace", "period_start", "period_end"], name="quota_period"),
        ]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=(Q(user__isnull=False) & Q(team__isnull=True))
                | (Q(user__isnull=True) & Q(team__isnull=False)),
                name="quota_user_or_team",
            ),
            models.CheckConstraint(
                condition=Q(period_end__gte=models.F("period_start")), name="quota_period_order"
            ),
        ]


# ---------------------------------------------------------------------------------------------
# Scoring rules


class ScoringRuleKind(models.TextChoices):
    FIT = "fit", pgettext_lazy("scoring rule", "Fit")
    ENGAGEMENT = "engagement", pgettext_lazy("scoring rule", "Engagement")


class ScoringRule(TenantModel):
    """Points for a lead. A fit rule adds `points` while its conditions (the automation
    engine's condition tree, on the lead) hold; an engagement rule adds `points` each time an
    event of `event_type` happens to the lead, decaying with the workspace's half-life."""

    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=20, choices=ScoringRuleKind.choices)
    conditions = models.JSONField(default=dict, blank=True)
    event_type = models.CharField(_("event"), max_length=80, blank=True)
    points = models.IntegerField(_("points"))
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        indexes: ClassVar = [
            models.Index(fields=["workspace", "kind", "is_active"], name="scoringrule_kind"),
        ]


class LeadEngagement(TenantModel):
    """One scored happening (form submitted, email clicked, page visited) of a lead."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="engagements")
    rule = models.ForeignKey(ScoringRule, on_delete=models.CASCADE, related_name="+")
    event = models.ForeignKey(
        "core.Event", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    points = models.IntegerField()
    occurred_at = models.DateTimeField(default=timezone.now)

    class Meta(TenantModel.Meta):
        indexes: ClassVar = [
            models.Index(fields=["workspace", "lead", "-occurred_at"], name="engagement_lead"),
        ]
        constraints: ClassVar = [
            # An event is scored once per rule, also when delivered twice.
            models.UniqueConstraint(
                fields=["workspace", "rule", "event"],
                condition=Q(event__isnull=False),
                name="engagement_event_once",
            ),
        ]
