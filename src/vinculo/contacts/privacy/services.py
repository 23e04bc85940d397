"""Writes of privacy (LGPD/GDPR): the consent log, the data-subject export and erasure.

- `consent_record` appends to a person's consent log (a withdrawal is a new entry; entries are
  never changed). Web forms, imports, the API and marketing all record consent through it.
- `contact_data_export` packs everything held about a person into a ZIP of JSON files
  (sections registered in `exporting.py`).
- `contact_erase` anonymises a person's personal data in every table in one transaction. The
  contact row stays (counts, owners and later revenue keep their meaning) with `erased_at` set.
  Each kind of data is erased by an *erasure step* registered with `register_erasure`; a later
  module registers the step for its own tables in its app's `privacy.py`.

Erased contacts can still be edited through the API (the record is an ordinary contact after
erasure, and a business field such as the lifecycle stage may still change); the record page
shows them read-only, so nobody types personal data back into an erased record by accident.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from vinculo.contacts.models import (
    ConsentEntry,
    ConsentSource,
    Contact,
    DuplicateCandidate,
    ImportRowFailure,
)
from vinculo.contacts.privacy.exporting import (
    ERASED,
    PersonContext,
    personal_data_zip,
    privacy_autodiscover,
)
from vinculo.contacts.validation import MAX_ID
from vinculo.core.access import require, visible
from vinculo.core.events import record_event
from vinculo.core.exceptions import Conflict, ErrorCollector, NotFound
from vinculo.core.models import CustomFieldDefinition, CustomFieldType, Event, User, Workspace
from vinculo.core.roles import Right
from vinculo.timeline.models import Interaction, Note, Task

# Purposes people are asked to consent to. Others may be recorded too, as slugs
# (`newsletter_partner_x`): forms and campaigns of a workspace have their own.
CONSENT_PURPOSES: dict[str, Promise] = {
    "email_marketing": gettext_lazy("Email marketing"),
    "sms_marketing": gettext_lazy("SMS marketing"),
    "whatsapp": gettext_lazy("WhatsApp messages"),
    "phone_calls": gettext_lazy("Phone calls"),
    "profiling": gettext_lazy("Profiling and personalisation"),
    "data_sharing": gettext_lazy("Sharing data with partners"),
}
PURPOSE_RE = re.compile(r"^[a-z][a-z0-9_]*$")
PURPOSE_MAX = 60
WORDING_MAX = 5000
USER_AGENT_MAX = 300
REASON_MAX = 500
REMINDER_SLICE = 200


def purpose_label(purpose: str) -> str:
    """The name people read for a purpose: the known ones translated, others from the slug."""
    known = CONSENT_PURPOSES.get(purpose)
    if known is not None:
        return str(known)
    return purpose.replace("_", " ").capitalize()


class ContactErased(Conflict):
    code = "contact-erased"
    title = "This person's data was erased"


# ---------------------------------------------------------------------------------------------
# Shared pieces


def _visible_contacts(
    *, workspace: Workspace, actor: User | None, contact_id: int
) -> QuerySet[Contact]:
    qs = visible(
        Contact.objects.for_workspace(workspace),
        workspace=workspace,
        viewer=actor,
        module="contacts",
    )
    pk = contact_id if isinstance(contact_id, int) and 0 < contact_id <= MAX_ID else 0
    return qs.filter(pk=pk)


def _contact_for_write(
    *, workspace: Workspace, actor: User | None, contact_id: int, live_only: bool
) -> Contact:
    """The contact as the actor sees it, locked for the rest of the transaction. Missing,
    invisible and other-workspace contacts are the same NotFound. Privacy actions reach
    soft-deleted contacts too (`live_only=False`): their data is still held."""
    qs = _visible_contacts(workspace=workspace, actor=actor, contact_id=contact_id)
    if live_only:
        qs = qs.filter(deleted_at__isnull=True)
    contact = qs.select_for_update(of=("self",)).first()
    if contact is None:
        raise NotFound(_("There is no such contact."))
    return contact


def _contact_for_read(*, workspace: Workspace, actor: User | None, contact_id: int) -> Contact:
    contact = _visible_contacts(workspace=workspace, actor=actor, contact_id=contact_id).first()
    if contact is None:
        raise NotFound(_("There is no such contact."))
    return contact


# ---------------------------------------------------------------------------------------------
# Consent


def _clean_purpose(errors: ErrorCollector, purpose: Any) -> str:
    text = purpose.strip() if isinstance(purpose, str) else ""
    if not text:
        errors.add("purpose", "required", _("Choose what the consent is for."))
    elif len(text) > PURPOSE_MAX or not PURPOSE_RE.match(text):
        errors.add(
            "purpose",
            "invalid",
            _(
                "Use one of the known purposes (%(known)s) or a name of your own in lower-case "
                "letters, digits and underscores, starting with a letter (at most %(max)d)."
            )
            % {"known": ", ".join(CONSENT_PURPOSES), "max": PURPOSE_MAX},
        )
    return text


def _clean_granted(errors: ErrorCollector, granted: Any) -> bool:
    if not isinstance(granted, bool):
        errors.add(
            "granted",
            "required",
            _("Say whether consent was given (true) or withdrawn (false)."),
        )
        return False
    return granted


def _clean_wording(errors: ErrorCollector, wording: Any) -> str:
    text = wording.strip() if isinstance(wording, str) else ""
    if not text:
        errors.add(
            "wording",
            "required",
            _("Write the exact wording the person was shown or said."),
        )
    elif len(text) > WORDING_MAX:
        errors.add(
            "wording", "too-long", _("Use at most %(max)d characters.") % {"max": WORDING_MAX}
        )
    return text


def _clean_source(errors: ErrorCollector, source: Any) -> str:
    if source not in ConsentSource.values:
        errors.add(
            "source",
            "invalid-choice",
            _("Choose one of: %(options)s.") % {"options": ", ".join(ConsentSource.values)},
        )
        return ""
    return str(source)


def _clean_ip(errors: ErrorCollector, ip_address: Any) -> str | None:
    if ip_address is None or ip_address == "":
        return None
    try:
        return str(ipaddress.ip_address(str(ip_address).strip()))
    except ValueError:
        errors.add("ip_address", "invalid", _("Enter an IPv4 or IPv6 address."))
        return None


def _clean_recorded_at(errors: ErrorCollector, recorded_at: Any) -> dt.datetime:
    now = timezone.now()
    if recorded_at is None:
        return now
    if not isinstance(recorded_at, dt.datetime):
        errors.add("recorded_at", "invalid", _("Enter a date and time."))
        return now
    if timezone.is_naive(recorded_at):
        recorded_at = timezone.make_aware(recorded_at, dt.UTC)
    # A little slack for clocks of the systems that send consent (web forms, imports).
    if recorded_at > now + dt.timedelta(minutes=5):
        errors.add("recorded_at", "in-future", _("Consent cannot be recorded in the future."))
    return recorded_at


def consent_record(
    *,
    workspace: Workspace,
    actor: User | None,
    contact_id: int,
    purpose: str,
    granted: bool,
    wording: str,
    source: str,
    ip_address: str | None = None,
    user_agent: str = "",
    recorded_at: dt.datetime | None = None,
) -> ConsentEntry:
    """Append an entry to the contact's consent log: `granted` True gives consent for
    `purpose`, False withdraws it. `wording` is the exact text the person was shown (or said),
    `source` where it came from (a `ConsentSource`), `ip_address`/`user_agent` the person's own
    when they gave it online. `recorded_at` (default now) lets imports bring older consent.

    Needs the edit right on contacts and a live contact the actor can see. Records
    `consent.granted` or `consent.withdrawn` (on the contact's timeline). Raises NotFound,
    PermissionDenied, ContactErased, or ValidationFailed naming every bad field.
    """
    require(workspace=workspace, user=actor, module="contacts", right=Right.EDIT)
    with transaction.atomic():
        contact = _contact_for_write(
            workspace=workspace, actor=actor, contact_id=contact_id, live_only=True
        )
        if contact.erased_at is not None:
            raise ContactErased(_("This person's data was erased; record no consent for them."))
        errors = ErrorCollector()
        values = {
            "purpose": _clean_purpose(errors, purpose),
            "granted": _clean_granted(errors, granted),
            "wording": _clean_wording(errors, wording),
            "source": _clean_source(errors, source),
            "ip_address": _clean_ip(errors, ip_address),
            "recorded_at": _clean_recorded_at(errors, recorded_at),
        }
        errors.raise_if_any()
        # The browser's own header, cut rather than refused: it is evidence, not input.
        agent = (user_agent or "").strip()[:USER_AGENT_MAX] if isinstance(user_agent, str) else ""
        entry = ConsentEntry.objects.for_workspace(workspace).create(
            workspace=workspace, contact=contact, actor=actor, user_agent=agent, **values
        )
        record_event(
            workspace=workspace,
            actor=actor,
            type="consent.granted" if entry.granted else "consent.withdrawn",
            subject=contact,
            payload={"purpose": entry.purpose, "source": entry.source, "entry_id": entry.pk},
        )
    return entry


# ---------------------------------------------------------------------------------------------
# Data-subject export


def contact_data_export(*, workspace: Workspace, actor: User | None, contact_id: int) -> bytes:
    """Everything the workspace holds about a person as a ZIP of JSON files (see
    `exporting.py`), soft-deleted and erased contacts included.

    Needs the view right on privacy. Records `contact.data_exported` (who and when, the files
    written; no values). Raises NotFound or PermissionDenied.
    """
    require(workspace=workspace, user=actor, module="privacy", right=Right.VIEW)
    contact = _contact_for_read(workspace=workspace, actor=actor, contact_id=contact_id)
    person = PersonContext.build(workspace=workspace, actor=actor, contact=contact)
    # Read outside the transaction: on SQLite every transaction holds the write lock, and
    # gathering a long history should not keep other writers waiting.
    data, files = personal_data_zip(person)
    with transaction.atomic():
        record_event(
            workspace=workspace,
            actor=actor,
            type="contact.data_exported",
            subject=contact,
            payload={"files": files},
        )
    return data


# ---------------------------------------------------------------------------------------------
# Erasure

ErasureStep = Callable[[PersonContext], Mapping[str, int]]
_erasure_steps: dict[str, ErasureStep] = {}


def register_erasure(step: ErasureStep) -> ErasureStep:
    """Add a step to every erasure (usable as a decorator). `step(person)` runs inside the
    erasure's transaction, anonymises the person's data in its module's tables and returns
    counts of what it changed ({"deals": 3}), which go into the `contact.erased` event.
    Registering a function of the same module and name again replaces it."""
    _erasure_steps[f"{step.__module__}.{step.__qualname__}"] = step
    return step


def erasure_steps() -> list[ErasureStep]:
    privacy_autodiscover()
    return list(_erasure_steps.values())


@dataclass(frozen=True)
class ErasureReport:
    contact: Contact
    counts: dict[str, int]


def erasure_reason_clean(reason: Any) -> str:
    """The reason of an erasure, whitespace collapsed; ValidationFailed (`reason`) when it is
    missing or too long. Forms check it with the same rule before asking the service."""
    errors = ErrorCollector()
    text = " ".join(reason.split()) if isinstance(reason, str) else ""
    if not text:
        errors.add(
            "reason",
            "required",
            _("Say why the data is erased (for example: the person asked, on which date)."),
        )
    elif len(text) > REASON_MAX:
        errors.add("reason", "too-long", _("Use at most %(max)d characters.") % {"max": REASON_MAX})
    errors.raise_if_any()
    return text


def contact_erase(
    *, workspace: Workspace, actor: User | None, contact_id: int, reason: str
) -> ErasureReport:
    """Anonymise a person's personal data in every table, in one transaction: the contact's
    names, emails, phones, address, birthdate, external id, text custom fields and search
    entry; what was written in their interactions, tasks and notes (and reminders of those
    tasks); the network address in their consent log (the entries stay, as proof); the values
    in audit events about them; failed import rows and import undo data holding their email
    or phone; duplicate suggestions with them. Then every step other modules registered.

    The contact row stays with `erased_at` set, with its lifecycle stage, owner, company, tags
    and dates, so counts stay right. Needs the delete right on privacy. Records
    `contact.erased` with the reason and counts only. Raises NotFound, PermissionDenied,
    ValidationFailed (reason) or ContactErased when it was erased before.
    """
    require(workspace=workspace, user=actor, module="privacy", right=Right.DELETE)
    text = erasure_reason_clean(reason)
    with transaction.atomic():
        contact = _contact_for_write(
            workspace=workspace, actor=actor, contact_id=contact_id, live_only=False
        )
        if contact.erased_at is not None:
            raise ContactErased(
                _("This person's data was already erased on %(date)s.")
                % {"date": timezone.localtime(contact.erased_at).date().isoformat()}
            )
        person = PersonContext.build(workspace=workspace, actor=actor, contact=contact)
        counts: dict[str, int] = {}
        for step in erasure_steps():
            for key, value in step(person).items():
                counts[key] = counts.get(key, 0) + value
        contact.refresh_from_db()
        record_event(
            workspace=workspace,
            actor=actor,
            type="contact.erased",
            subject=contact,
            payload={"reason": text, "counts": counts},
        )
    return ErasureReport(contact=contact, counts=counts)


# --- the steps of the apps that exist today ------------------------------------------------------

# Keys of event payloads whose values say what happened, not who the person is: they stay.
EVENT_KEPT_KEYS = frozenset(
    {
        "contact_id",
        "account_id",
        "owner_id",
        "assignee_id",
        "entry_id",
        "channel",
        "direction",
        "occurred_at",
        "status",
        "due_at",
        "reminder_at",
        "completed_at",
        "duration_seconds",
        "pinned",
        "lifecycle_stage",
        "source",
        "tags",
        "purpose",
        "granted",
        "files",
    }
)


def _scrub(value: Any) -> Any:
    """Every text in `value` replaced, its shape kept (lists stay lists, numbers stay)."""
    if isinstance(value, str):
        return ERASED if value else value
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items()}
    if isinstance(value, bool | int | float) or value is None:
        # Ids, counts, durations and scores: nobody is identified by a number alone.
        return value
    return ERASED


def scrub_event_payload(payload: Any) -> Any:
    """An audit payload without the person's values: field names and the keys that describe
    the change stay, every other value is erased (old → new pairs included)."""
    if not isinstance(payload, dict):
        return _scrub(payload)
    cleaned: dict[str, Any] = {}
    for key, value in payload.items():
        if key in EVENT_KEPT_KEYS:
            cleaned[key] = value
        elif key in {"changes", "fields"} and isinstance(value, dict):
            cleaned[key] = {
                name: (inner if name in EVENT_KEPT_KEYS else _scrub(inner))
                for name, inner in value.items()
            }
        else:
            cleaned[key] = _scrub(value)
    return cleaned


def _erased_custom_fields(workspace: Workspace, values: Mapping[str, Any]) -> dict[str, Any]:
    """Custom field values that are kept: numbers, money, dates, yes/no and choices describe
    the customer relationship; text fields (and values whose field is gone) may say anything
    and are dropped."""
    if not values:
        return {}
    kinds = dict(
        CustomFieldDefinition.objects.for_workspace(workspace)
        .filter(object_type="contact", key__in=sorted(values))
        .values_list("key", "field_type")
    )
    return {
        key: value
        for key, value in values.items()
        if kinds.get(key) not in (None, CustomFieldType.TEXT)
    }


@register_erasure
def erase_contact_record(person: PersonContext) -> dict[str, int]:
    """The contact's own personal fields and its search entry. An UPDATE of
    `search_document` also rewrites the SQLite full-text index (its triggers), and PostgreSQL
    searches the column itself, so the person is no longer found by name, email or phone."""
    contact = person.contact
    now = timezone.now()
    Contact.objects.for_workspace(person.workspace).filter(pk=contact.pk).update(
        first_name="",
        last_name="",
        email="",
        emails=[],
        phone="",
        phones=[],
        job_title="",
        birthdate=None,
        language="",
        street="",
        city="",
        state="",
        postal_code="",
        country="",
        external_id="",
        custom_fields=_erased_custom_fields(person.workspace, contact.custom_fields or {}),
        sort_name="erased person",
        search_document="",
        erased_at=now,
        updated_at=now,
    )
    return {"contact": 1}


@register_erasure
def erase_timeline(person: PersonContext) -> dict[str, int]:
    """What was written in the person's interactions, tasks and notes; the rows stay (they
    are the activity counts), with their channel, direction, times, status and authors."""
    ws, pk = person.workspace, person.contact.pk
    interactions = Interaction.objects.for_workspace(ws).filter(contact_id=pk)
    counted = interactions.count()
    interactions.exclude(subject="").update(subject=ERASED)
    interactions.update(body="", outcome="")
    tasks = Task.objects.for_workspace(ws).filter(contact_id=pk)
    task_count = tasks.update(title=ERASED, description="")
    notes = Note.objects.for_workspace(ws).filter(contact_id=pk)
    note_count = notes.update(body=ERASED)
    return {"interactions": counted, "tasks": task_count, "notes": note_count}


@register_erasure
def erase_task_reminders(person: PersonContext) -> dict[str, int]:
    """Reminders already sent about the person's tasks repeat the task's title and text."""
    from django.urls import NoReverseMatch, reverse

    from vinculo.collab.models import Notification, NotificationKind

    ws, pk = person.workspace, person.contact.pk
    task_ids = list(
        Task.objects.for_workspace(ws).filter(contact_id=pk).values_list("pk", flat=True)
    )
    if not task_ids:
        return {"notifications": 0}
    reminders = Notification.objects.for_workspace(ws).filter(kind=NotificationKind.TASK_REMINDER)
    # A reminder links to "My tasks" at the task, or to the record the task is about.
    record_urls = []
    for name, args in (("contacts:detail", [pk]), ("timeline:panel", ["contact", pk])):
        try:
            record_urls.append(reverse(name, args=args))
        except NoReverseMatch:
            continue
    count = reminders.filter(url__in=record_urls).update(title=ERASED, body="")
    # In slices: SQLite refuses expressions nested deeper than 1,000 terms.
    for start in range(0, len(task_ids), REMINDER_SLICE):
        links = Q()
        for task_id in task_ids[start : start + REMINDER_SLICE]:
            links |= Q(url__endswith=f"#task-{task_id}")
        count += reminders.filter(links).update(title=ERASED, body="")
    return {"notifications": count}


@register_erasure
def erase_consent_network_data(person: PersonContext) -> dict[str, int]:
    """The IP address and browser of each consent entry; the entries stay as proof that
    consent was asked for and given (LGPD art. 8 §2: the burden of proof is the company's)."""
    entries = ConsentEntry.objects.for_workspace(person.workspace).filter(
        contact_id=person.contact.pk
    )
    count = entries.count()
    entries.erase_network_data()
    return {"consents": count}


@register_erasure
def erase_event_values(person: PersonContext) -> dict[str, int]:
    """Values in the audit trail about the person (old → new of every change, names in
    deletions); who did what, and when, stay."""
    count = 0
    changed: list[Event] = []
    for event in person.events().only("pk", "payload").iterator(chunk_size=500):
        cleaned = scrub_event_payload(event.payload)
        if cleaned != event.payload:
            event.payload = cleaned
            changed.append(event)
        count += 1
    Event.objects.for_workspace(person.workspace).bulk_update(changed, ["payload"], batch_size=500)
    return {"events": count}


def _erased_before(value: Any) -> Any:
    """Undo data of an import with its values emptied (keys kept, so an undo after erasure
    restores blanks, never the person's data)."""
    if isinstance(value, str):
        return ""
    if isinstance(value, list):
        return []
    if isinstance(value, dict):
        return {k: _erased_before(v) for k, v in value.items()}
    # Ids (owner, company) and flags are not the person's data; an undo may restore them.
    return value


@register_erasure
def erase_import_rows(person: PersonContext) -> dict[str, int]:
    """Failed rows of import files that hold the person's email or phone (every cell and
    message blanked, the line number kept for the import's report), and the values imports
    replaced in the contact (kept for undo)."""
    failures: list[ImportRowFailure] = []
    for failure in person.import_failures():
        failure.values = [ERASED if cell else "" for cell in failure.values or []]
        failure.errors = [
            {**e, "message": ERASED} if isinstance(e, dict) else ERASED
            for e in failure.errors or []
        ]
        failures.append(failure)
    ImportRowFailure.objects.for_workspace(person.workspace).bulk_update(
        failures, ["values", "errors"], batch_size=500
    )
    changes = list(person.import_changes().filter(before__isnull=False))
    for change in changes:
        change.before = _erased_before(change.before)
    person.import_changes().model.objects.for_workspace(person.workspace).bulk_update(
        changes, ["before"], batch_size=500
    )
    return {"import_failures": len(failures), "import_changes": len(changes)}


@register_erasure
def erase_duplicate_candidates(person: PersonContext) -> dict[str, int]:
    """Suggestions that the person is a duplicate of someone: their reasons name the shared
    email or phone, and an erased record is nobody's duplicate any more."""
    pk = person.contact.pk
    count, _rows = (
        DuplicateCandidate.objects.for_workspace(person.workspace)
        .filter(Q(first_id=pk) | Q(second_id=pk), object_type="contact")
        .delete()
    )
    return {"duplicates": count}
