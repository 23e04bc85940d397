"""Everything Vínculo holds about one person, as a ZIP of JSON files (the data-subject access
and portability rights: LGPD art. 18, GDPR art. 15 and 20).

Each file of the ZIP is an *export section*: a function that reads one kind of data about the
person and returns something JSON can hold. The sections of customer records, the timeline,
the consent log, the audit trail and imports are registered here; a later module (deals,
tickets, orders, messages) registers its own in its app's `privacy.py`, which is imported
before every export and erasure (`privacy_autodiscover`):

    @register_export_section("deals.json", description=_("Deals the person takes part in."))
    def deals(person: PersonContext) -> list[dict[str, Any]]: ...

`PersonContext` also tells erasure (services.py) what identifies the person: their emails and
phones as they were before anything was blanked.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.module_loading import autodiscover_modules
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from vinculo.contacts.models import (
    Account,
    ConsentEntry,
    Contact,
    ContactTag,
    ImportChange,
    ImportRowFailure,
)
from vinculo.core.models import CustomFieldDefinition, Event, User, Workspace
from vinculo.timeline.models import Interaction, Note, Task

# What erased text is replaced with where a value must stay non-empty (a note's body, a task's
# title): it says what happened, in no particular language.
ERASED = "[erased]"
# Import files hold phones in any format; a run of fewer digits than this is not taken for one
# (dates, amounts and postal codes are shorter).
MIN_PHONE_DIGITS = 8
# Failed import rows are first narrowed in the database by these last digits of a phone.
PHONE_TAIL = 4
FAILURE_BATCH = 2000
_PHONE_RUN = re.compile(r"\+?\d[\d\s().\-/]{6,}\d")


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def _user_name(user: User | None) -> str | None:
    return user.display_name if user is not None else None


@dataclass(frozen=True)
class PersonContext:
    """One person as the export and erasure see them. Built from the contact before anything
    is blanked, so erasure can still find the person's email and phone in other tables."""

    workspace: Workspace
    actor: User | None
    contact: Contact
    emails: frozenset[str]
    phone_digits: frozenset[str]

    @classmethod
    def build(cls, *, workspace: Workspace, actor: User | None, contact: Contact) -> PersonContext:
        emails = {e.strip().casefold() for e in [contact.email, *(contact.emails or [])] if e}
        phones = {_digits(p) for p in [contact.phone, *(contact.phones or [])] if p}
        return cls(
            workspace=workspace,
            actor=actor,
            contact=contact,
            emails=frozenset(e for e in emails if "@" in e),
            phone_digits=frozenset(p for p in phones if len(p) >= MIN_PHONE_DIGITS),
        )

    def holds(self, text: Any) -> bool:
        """Whether a piece of free text (a cell of an imported file) carries one of the
        person's emails or phones, in any of the formats people write them in."""
        if not isinstance(text, str) or not text:
            return False
        folded = text.casefold()
        if any(email in folded for email in self.emails):
            return True
        for run in _PHONE_RUN.findall(text):
            digits = _digits(run)
            if len(digits) < MIN_PHONE_DIGITS:
                continue
            # "(11) 98765-4321" is the end of "+55 11 98765-4321"; "0055 11 …" ends with it.
            if any(p.endswith(digits) or digits.endswith(p) for p in self.phone_digits):
                return True
        return False

    def events(self) -> QuerySet[Event]:
        """The audit trail about the person: the contact's own events and those of its
        interactions, tasks and notes (whose payloads may carry what was written there)."""
        ws, pk = self.workspace, self.contact.pk
        about = Q(subject_type="contact", subject_id=pk)
        for label, model in (("interaction", Interaction), ("task", Task), ("note", Note)):
            ids = model.objects.for_workspace(ws).filter(contact_id=pk).values("pk")
            about |= Q(subject_type=label, subject_id__in=ids)
        return Event.objects.for_workspace(ws).filter(about)

    def import_failures(self) -> Iterator[ImportRowFailure]:
        """Rows of import files that failed and hold the person's email or phone. Failed rows
        were never linked to a record, so their text is all there is to go by. The database
        narrows them with a text match on each email and on the last four digits of each phone
        (contiguous in every usual way of writing a number: "98765-4321", "9 8765 4321"),
        and `holds` confirms each candidate; they are read in batches."""
        if not self.emails and not self.phone_digits:
            return
        fragments = [*sorted(self.emails), *sorted({p[-PHONE_TAIL:] for p in self.phone_digits})]
        candidates = Q()
        for fragment in fragments:
            candidates |= Q(values__icontains=fragment) | Q(errors__icontains=fragment)
        qs = (
            ImportRowFailure.objects.for_workspace(self.workspace)
            .filter(candidates)
            .select_related("job")
        )
        last = 0
        while True:
            batch = list(qs.filter(pk__gt=last).order_by("pk")[:FAILURE_BATCH])
            if not batch:
                return
            yield from (f for f in batch if self._failure_holds(f))
            if len(batch) < FAILURE_BATCH:
                return
            last = batch[-1].pk

    def _failure_holds(self, failure: ImportRowFailure) -> bool:
        messages = [e.get("message") for e in failure.errors or [] if isinstance(e, dict)]
        return any(self.holds(v) for v in [*(failure.values or []), *messages])

    def import_changes(self) -> QuerySet[ImportChange]:
        """What imports did to this contact (with the values it had before, for undo)."""
        return (
            ImportChange.objects.for_workspace(self.workspace)
            .filter(object_id=self.contact.pk, job__object_type="contact")
            .select_related("job")
        )


# ---------------------------------------------------------------------------------------------
# The registry

SectionBuilder = Callable[[PersonContext], Any]


@dataclass(frozen=True)
class ExportSection:
    filename: str
    description: str | Promise
    build: SectionBuilder
    order: int


_sections: dict[str, ExportSection] = {}
_discovered = False


def privacy_autodiscover() -> None:
    """Import every installed app's `privacy` module once, so the export sections and erasure
    steps of later modules are registered before the first export or erasure."""
    global _discovered
    if not _discovered:
        autodiscover_modules("privacy")
        _discovered = True


def register_export_section(
    filename: str, *, description: str | Promise, order: int = 100
) -> Callable[[SectionBuilder], SectionBuilder]:
    """Add a file to every personal-data export. `build(person)` returns what the file holds
    (anything JSON can encode, dates included); `description` is the README's line about it.
    Registering the same file name again replaces the earlier section."""

    def register(build: SectionBuilder) -> SectionBuilder:
        _sections[filename] = ExportSection(filename, description, build, order)
        return build

    return register


def export_sections() -> list[ExportSection]:
    privacy_autodiscover()
    return sorted(_sections.values(), key=lambda s: (s.order, s.filename))


def personal_data_zip(person: PersonContext) -> tuple[bytes, list[str]]:
    """The ZIP (bytes) and the names of its files: README.txt, then one JSON file a section."""
    generated_at = timezone.now()
    sections = export_sections()
    buffer = io.BytesIO()
    names = ["README.txt"]
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.txt", _readme(person, sections, generated_at))
        for section in sections:
            data = section.build(person)
            text = json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2)
            archive.writestr(section.filename, text + "\n")
            names.append(section.filename)
    return buffer.getvalue(), names


def _readme(person: PersonContext, sections: list[ExportSection], generated_at: Any) -> str:
    lines = [
        _("Personal data held by Vínculo"),
        "=" * 40,
        "",
        _("Person: %(name)s (contact #%(id)d)")
        % {"name": person.contact.display_name, "id": person.contact.pk},
        _("Workspace: %(name)s") % {"name": person.workspace.name},
        _("Generated at: %(moment)s (UTC)") % {"moment": generated_at.isoformat()},
        "",
        _(
            "This archive holds everything this workspace keeps about the person, one JSON "
            "file (UTF-8) per kind of data. Dates and times are ISO 8601; times are in UTC. "
            "An empty list means the workspace holds nothing of that kind."
        ),
        "",
        _("Files:"),
    ]
    for section in sections:
        lines.append(f"- {section.filename}: {section.description}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# The sections of the apps that exist today


def _custom_fields(person: PersonContext) -> list[dict[str, Any]]:
    values = person.contact.custom_fields or {}
    if not values:
        return []
    labels = dict(
        CustomFieldDefinition.objects.for_workspace(person.workspace)
        .filter(object_type="contact", key__in=sorted(values))
        .values_list("key", "label")
    )
    return [
        {"key": key, "label": labels.get(key, key), "value": value}
        for key, value in sorted(values.items())
    ]


@register_export_section(
    "contact.json",
    description=gettext_lazy(
        "The person's record: names, emails, phones, address, birthdate, custom fields, "
        "tags, owner and company."
    ),
    order=10,
)
def contact_section(person: PersonContext) -> dict[str, Any]:
    contact = person.contact
    owner = User.objects.filter(pk=contact.owner_id).first() if contact.owner_id else None
    tags = (
        ContactTag.objects.for_workspace(person.workspace)
        .filter(contact_id=contact.pk, tag__deleted_at__isnull=True)
        .order_by("tag__name")
        .values_list("tag__name", flat=True)
    )
    account = (
        Account.objects.for_workspace(person.workspace)
        .filter(pk=contact.account_id)
        .values("id", "name")
        .first()
        if contact.account_id
        else None
    )
    return {
        "id": contact.pk,
        "display_name": contact.display_name,
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "emails": list(contact.emails or []),
        "phones": list(contact.phones or []),
        "job_title": contact.job_title,
        "birthdate": contact.birthdate,
        "language": contact.language,
        "lifecycle_stage": contact.lifecycle_stage,
        "source": contact.source,
        "street": contact.street,
        "city": contact.city,
        "state": contact.state,
        "postal_code": contact.postal_code,
        "country": contact.country,
        "external_id": contact.external_id,
        "custom_fields": _custom_fields(person),
        "tags": list(tags),
        "owner": _user_name(owner),
        "account": account,
        "created_at": contact.created_at,
        "updated_at": contact.updated_at,
        "last_activity_at": contact.last_activity_at,
        "deleted_at": contact.deleted_at,
        "erased_at": contact.erased_at,
    }


@register_export_section(
    "account.json",
    description=gettext_lazy("The company the person is linked to (null when none)."),
    order=20,
)
def account_section(person: PersonContext) -> dict[str, Any] | None:
    if person.contact.account_id is None:
        return None
    return (
        Account.objects.for_workspace(person.workspace)
        .filter(pk=person.contact.account_id)
        .values(
            "id",
            "name",
            "domain",
            "industry",
            "size",
            "phone",
            "website",
            "street",
            "city",
            "state",
            "postal_code",
            "country",
        )
        .first()
    )


@register_export_section(
    "interactions.json",
    description=gettext_lazy(
        "Every touch with the person: emails, calls, meetings, chats and visits."
    ),
    order=30,
)
def interactions_section(person: PersonContext) -> list[dict[str, Any]]:
    rows = (
        Interaction.objects.for_workspace(person.workspace)
        .filter(contact_id=person.contact.pk)
        .select_related("author")
        .order_by("occurred_at", "id")
    )
    return [
        {
            "id": i.pk,
            "channel": i.channel,
            "direction": i.direction,
            "occurred_at": i.occurred_at,
            "subject": i.subject,
            "body": i.body,
            "outcome": i.outcome,
            "duration_seconds": i.duration_seconds,
            "author": _user_name(i.author),
            "created_at": i.created_at,
            "deleted_at": i.deleted_at,
        }
        for i in rows
    ]


@register_export_section(
    "tasks.json", description=gettext_lazy("Tasks about the person."), order=40
)
def tasks_section(person: PersonContext) -> list[dict[str, Any]]:
    rows = (
        Task.objects.for_workspace(person.workspace)
        .filter(contact_id=person.contact.pk)
        .select_related("assignee")
        .order_by("created_at", "id")
    )
    return [
        {
            "id": t.pk,
            "title": t.title,
            "description": t.description,
            "status": t.status,
            "due_at": t.due_at,
            "completed_at": t.completed_at,
            "assignee": _user_name(t.assignee),
            "created_at": t.created_at,
            "deleted_at": t.deleted_at,
        }
        for t in rows
    ]


@register_export_section(
    "notes.json", description=gettext_lazy("Notes written about the person."), order=50
)
def notes_section(person: PersonContext) -> list[dict[str, Any]]:
    rows = (
        Note.objects.for_workspace(person.workspace)
        .filter(contact_id=person.contact.pk)
        .select_related("author")
        .order_by("created_at", "id")
    )
    return [
        {
            "id": n.pk,
            "body": n.body,
            "pinned": n.pinned,
            "author": _user_name(n.author),
            "created_at": n.created_at,
            "deleted_at": n.deleted_at,
        }
        for n in rows
    ]


@register_export_section(
    "consents.json",
    description=gettext_lazy(
        "The consent log: each consent given or withdrawn, for what purpose, with the exact "
        "wording shown, where it came from, and when."
    ),
    order=60,
)
def consents_section(person: PersonContext) -> list[dict[str, Any]]:
    from vinculo.contacts.privacy.services import purpose_label

    rows = (
        ConsentEntry.objects.for_workspace(person.workspace)
        .filter(contact_id=person.contact.pk)
        .select_related("actor")
        .order_by("recorded_at", "id")
    )
    return [
        {
            "id": c.pk,
            "purpose": c.purpose,
            "purpose_label": purpose_label(c.purpose),
            "granted": c.granted,
            "wording": c.wording,
            "source": c.source,
            "ip_address": c.ip_address,
            "user_agent": c.user_agent,
            "recorded_at": c.recorded_at,
            "recorded_by": _user_name(c.actor),
        }
        for c in rows
    ]


@register_export_section(
    "events.json",
    description=gettext_lazy(
        "The audit trail about the person: who changed what in their record and timeline, and when."
    ),
    order=70,
)
def events_section(person: PersonContext) -> list[dict[str, Any]]:
    rows = person.events().select_related("actor").order_by("occurred_at", "id")
    return [
        {
            "id": e.pk,
            "type": e.type,
            "occurred_at": e.occurred_at,
            "subject_type": e.subject_type,
            "subject_id": e.subject_id,
            "actor": _user_name(e.actor),
            "payload": e.payload,
        }
        for e in rows
    ]


@register_export_section(
    "import_rows.json",
    description=gettext_lazy(
        "Rows of imported files that hold the person's data: rows that failed to import "
        "(with the reason) and the values imports replaced in the record."
    ),
    order=80,
)
def import_rows_section(person: PersonContext) -> dict[str, list[dict[str, Any]]]:
    failures = []
    for failure in person.import_failures():
        headers = failure.job.headers or []
        cells = failure.values or []
        failures.append(
            {
                "import": failure.job.original_name,
                "imported_at": failure.job.created_at,
                "line": failure.line_number,
                "columns": {
                    (headers[i] if i < len(headers) else f"column {i + 1}"): cell
                    for i, cell in enumerate(cells)
                },
                "errors": failure.errors,
            }
        )
    changes = [
        {
            "import": change.job.original_name,
            "imported_at": change.job.created_at,
            "line": change.line_number,
            "action": change.action,
            "values_before": change.before,
        }
        for change in person.import_changes().order_by("id")
    ]
    return {"failures": failures, "changes": changes}
