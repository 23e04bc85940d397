"""Customer records: accounts (companies) and contacts (people)."""

from __future__ import annotations

from typing import Any, ClassVar, cast

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from vinculo.core.tenancy import TenantManager, TenantModel, TenantQuerySet


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
    # Set when the person's personal data was anonymised (LGPD/GDPR erasure); the row stays so
    # that counts and related business records keep their meaning.
    erased_at = models.DateTimeField(null=True, blank=True, editable=False)
    # No single-column indexes on these foreign keys: every index costs each imported or
    # created contact a write (a million-row import pays about 3 µs a row per index). Reads by
    # workspace, owner or author go through the composite indexes below, which lead with the
    # workspace; the only query left without an index is the one setting owner and author to
    # NULL when a user is deleted, a rare administrative act that may scan the table.
    workspace = models.ForeignKey(
        "core.Workspace", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    owner = models.ForeignKey(
        "core.User",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("owner"),
        db_index=False,
    )
    created_by = models.ForeignKey(
        "core.User",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )

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
            # Partial: few contacts are in the trash, and an index over only those costs new
            # contacts nothing. SQLite uses a partial index only when the query implies its
            # condition: the trash says `deleted_at IS NOT NULL`, and any comparison on
            # deleted_at (the purge) implies it.
            models.Index(
                fields=["workspace", "deleted_at"],
                name="contact_deleted",
                condition=Q(deleted_at__isnull=False),
            ),
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
        name = " ".join(p for p in (self.first_name, self.last_name) if p) or self.email
        if not name and self.erased_at is not None:
            # Erasure leaves no name; the record still needs words in lists and headers.
            return str(_("Erased person"))
        return name or f"#{self.pk}"


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


# ---------------------------------------------------------------------------------------------
# Data in and out: imports, exports, duplicates, consent


class JobStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")
    UNDONE = "undone", _("Undone")


class TrackedJob(TenantModel):
    """Progress of long work done by the worker: rows done of the total, the rate, time left.
    `heartbeat_at` moves while a worker holds the job, so a job whose worker died is found and
    handed to another one, which resumes from `rows_done`."""

    status = models.CharField(
        _("status"), max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED
    )
    created_by = models.ForeignKey(
        "core.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    total_rows = models.IntegerField(null=True, blank=True)
    rows_done = models.IntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta(TenantModel.Meta):
        abstract = True

    @property
    def is_active(self) -> bool:
        return self.status in {JobStatus.QUEUED, JobStatus.RUNNING}

    @property
    def percent(self) -> int:
        if not self.total_rows:
            return 100 if self.status == JobStatus.DONE else 0
        return min(100, int(self.rows_done * 100 / self.total_rows))

    @property
    def rate(self) -> float | None:
        """Rows per second since the job started."""
        if self.started_at is None or not self.rows_done:
            return None
        end = self.finished_at or timezone.now()
        seconds = (end - self.started_at).total_seconds()
        return self.rows_done / seconds if seconds > 0 else None

    @property
    def seconds_left(self) -> int | None:
        rate = self.rate
        if rate is None or self.total_rows is None or self.status != JobStatus.RUNNING:
            return None
        return max(0, int((self.total_rows - self.rows_done) / rate))


class OnMatch(models.TextChoices):
    SKIP = "skip", _("Skip the row")
    FILL = "fill", _("Fill empty fields")
    OVERWRITE = "overwrite", _("Overwrite")


class ImportJob(TrackedJob):
    """One file imported into one kind of record. Rows are written in batches, each batch in
    one transaction together with `rows_done`, so a resumed job never writes a row twice."""

    object_type = models.CharField(max_length=20)
    file = models.FileField(upload_to="imports/%Y/%m/", max_length=300)
    original_name = models.CharField(max_length=255)
    size_bytes = models.BigIntegerField(default=0)
    file_format = models.CharField(max_length=10, default="csv")
    encoding = models.CharField(max_length=30, blank=True)
    delimiter = models.CharField(max_length=4, blank=True)
    has_header = models.BooleanField(default=True)
    headers = models.JSONField(default=list, blank=True)
    # column index (as a string) → field name ("email", "cf:segment", …); unmapped columns absent
    mapping = models.JSONField(default=dict, blank=True)
    match_by = models.JSONField(default=list, blank=True)
    on_match = models.CharField(max_length=10, choices=OnMatch.choices, default=OnMatch.SKIP)
    created_count = models.IntegerField(default=0)
    updated_count = models.IntegerField(default=0)
    skipped_count = models.IntegerField(default=0)
    failed_count = models.IntegerField(default=0)
    undone_at = models.DateTimeField(null=True, blank=True)

    class Meta(TrackedJob.Meta):
        indexes: ClassVar = [
            models.Index(fields=["workspace", "-created_at"], name="import_created"),
        ]


class ImportMapping(TenantModel):
    """A column mapping kept for the next file of the same shape: header text → field name."""

    object_type = models.CharField(max_length=20)
    name = models.CharField(_("name"), max_length=100)
    mapping = models.JSONField(default=dict)
    created_by = models.ForeignKey(
        "core.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta(TenantModel.Meta):
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["workspace", "object_type", "name"], name="import_mapping_name"
            )
        ]


class ImportRowFailure(TenantModel):
    """A row that was not written, with the file's own values and why (field and message)."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="failures")
    line_number = models.IntegerField()
    values = models.JSONField(default=list)
    errors = models.JSONField(default=list)  # [{"field": …, "message": …}]

    class Meta(TenantModel.Meta):
        indexes: ClassVar = [
            models.Index(fields=["workspace", "job", "line_number"], name="import_failure_line")
        ]


class ImportChange(TenantModel):
    """What an import did to one record, so that undo can remove or restore it."""

    class Action(models.TextChoices):
        CREATED = "created", _("Created")
        UPDATED = "updated", _("Updated")

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="changes")
    object_id = models.BigIntegerField()
    action = models.CharField(max_length=10, choices=Action.choices)
    before = models.JSONField(null=True, blank=True)
    line_number = models.IntegerField()

    class Meta(TenantModel.Meta):
        indexes: ClassVar = [
            models.Index(fields=["workspace", "job", "object_id"], name="import_change_object")
        ]


class ExportFormat(models.TextChoices):
    CSV = "csv", "CSV"
    XLSX = "xlsx", "Excel (XLSX)"


class ExportJob(TrackedJob):
    """A list view written to a file by the worker, downloaded from a link when done."""

    object_type = models.CharField(max_length=20)
    file_format = models.CharField(max_length=10, choices=ExportFormat.choices)
    # The list's query string (filters, sort, view) and the columns chosen.
    params = models.JSONField(default=dict, blank=True)
    columns = models.JSONField(default=list, blank=True)
    file = models.FileField(upload_to="exports/%Y/%m/", max_length=300, blank=True)
    file_name = models.CharField(max_length=255, blank=True)

    class Meta(TrackedJob.Meta):
        indexes: ClassVar = [
            models.Index(fields=["workspace", "created_by", "-created_at"], name="export_created")
        ]


class DuplicateScan(TrackedJob):
    """One pass of the duplicate finder over a kind of record."""

    object_type = models.CharField(max_length=20)
    pairs_found = models.IntegerField(default=0)

    class Meta(TrackedJob.Meta):
        indexes: ClassVar = [
            models.Index(fields=["workspace", "object_type", "-created_at"], name="dupscan_created")
        ]


class DuplicateCandidate(TenantModel):
    """Two records that look like one, with a score (0–100) and the reasons for it."""

    class Status(models.TextChoices):
        OPEN = "open", _("To review")
        MERGED = "merged", _("Merged")
        DISMISSED = "dismissed", _("Not duplicates")

    object_type = models.CharField(max_length=20)
    first_id = models.BigIntegerField()  # always the smaller id of the two
    second_id = models.BigIntegerField()
    score = models.FloatField()
    reasons = models.JSONField(default=list)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    scan = models.ForeignKey(
        DuplicateScan, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        "core.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta(TenantModel.Meta):
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["workspace", "object_type", "first_id", "second_id"],
                name="duplicate_pair",
            )
        ]
        indexes: ClassVar = [
            models.Index(
                fields=["workspace", "object_type", "status", "-score", "id"],
                name="duplicate_queue",
            )
        ]


class ConsentSource(models.TextChoices):
    FORM = "form", _("Web form")
    IMPORT = "import", pgettext_lazy("consent source", "Import")
    API = "api", _("API")
    STAFF = "staff", _("Staff")
    PORTAL = "portal", _("Customer portal")


class ConsentLogIsAppendOnly(Exception):
    """Something tried to change or delete a row of the consent log."""


class ConsentEntryQuerySet(TenantQuerySet):
    """Refuses bulk updates and deletes: the log is evidence, so it only grows. Deleting a
    contact (or a workspace) still removes its rows, because Django's cascade deletes them
    with raw deletes that do not go through `delete()`."""

    def update(self, **kwargs: Any) -> int:
        # Deleting a user sets `actor` to null through this method (Django's SET_NULL): the
        # entry stays, only who recorded it is forgotten with the user.
        if kwargs.keys() == {"actor"} and kwargs["actor"] is None:
            return super().update(**kwargs)
        raise ConsentLogIsAppendOnly("The consent log is append-only; record a new entry.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise ConsentLogIsAppendOnly("The consent log is append-only; rows cannot be deleted.")

    def erase_network_data(self) -> int:
        """The one change allowed (LGPD/GDPR erasure): blank the IP address and user agent
        that identify the person, keeping the rows as proof that consent was given."""
        return super().update(ip_address=None, user_agent="")


class ConsentEntryManager(TenantManager):
    _queryset_class = ConsentEntryQuerySet

    def for_workspace(self, workspace: Any) -> ConsentEntryQuerySet:
        return cast(ConsentEntryQuerySet, super().for_workspace(workspace))


class ConsentEntry(TenantModel):
    """The append-only consent log of a person: each grant and each withdrawal is a row; the
    current state of a purpose is its latest row. Rows are never changed, except that erasure
    blanks the network address (`ConsentEntryQuerySet.erase_network_data`)."""

    contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, null=True, blank=True, related_name="consents"
    )
    # Consent given before the person became a contact (a web-to-lead form); conversion copies
    # the lead's entries to the contact, keeping their time, wording and source.
    lead = models.ForeignKey(
        "sales.Lead", on_delete=models.CASCADE, null=True, blank=True, related_name="consents"
    )
    purpose = models.CharField(_("purpose"), max_length=60)
    granted = models.BooleanField(_("granted"))
    wording = models.TextField(_("wording shown"))
    source = models.CharField(_("source"), max_length=10, choices=ConsentSource.choices)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    actor = models.ForeignKey(
        "core.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)

    objects: ClassVar[ConsentEntryManager] = ConsentEntryManager()
    all_tenants: ClassVar[models.Manager[ConsentEntry]] = models.Manager.from_queryset(
        ConsentEntryQuerySet
    )()

    class Meta(TenantModel.Meta):
        indexes: ClassVar = [
            models.Index(
                fields=["workspace", "contact", "purpose", "-recorded_at", "-id"],
                name="consent_contact_purpose",
            ),
            models.Index(
                fields=["workspace", "purpose", "-recorded_at"], name="consent_purpose_time"
            ),
            models.Index(
                fields=["workspace", "lead", "purpose", "-recorded_at", "-id"],
                name="consent_lead_purpose",
            ),
        ]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(contact__isnull=False) | Q(lead__isnull=False),
                name="consent_has_person",
            ),
        ]

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ConsentLogIsAppendOnly("The consent log is append-only; record a new entry.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ConsentLogIsAppendOnly("The consent log is append-only; rows cannot be deleted.")
