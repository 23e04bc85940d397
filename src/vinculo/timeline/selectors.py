"""Reads of the timeline: one item, lists of each kind, and a customer's merged timeline.

Access: a timeline item is visible to a viewer who holds the timeline's view right and can see
the contact, the account, the lead or the deal it is linked to (`core.access.visible` decides
own/team/all, with the module rights of each kind of record). A task is also visible to its
assignee and to whoever created it, so "my tasks" never hides work that was handed to someone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, NoReturn, TypeVar, cast

from django.db import models
from django.db.models import CharField, Count, F, Q, QuerySet, Value
from django.db.models.functions import Coalesce
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _

from vinculo.contacts.models import Account, CompanySize, Contact, LifecycleStage
from vinculo.core.access import can, membership_for, visible
from vinculo.core.exceptions import ErrorCollector, NotFound
from vinculo.core.models import CustomFieldDefinition, Event, Membership, Team
from vinculo.core.pagination import MAX_LIMIT, Page, decode_cursor, encode_cursor, keyset_page
from vinculo.core.roles import Right, Role
from vinculo.sales.models import (
    Deal,
    DealStatus,
    ForecastCategory,
    Lead,
    LeadStatus,
    Pipeline,
    Stage,
)
from vinculo.timeline.models import Channel, Interaction, Note, Task, TaskStatus
from vinculo.timeline.validation import workspace_zone

if TYPE_CHECKING:
    from vinculo.core.models import User, Workspace

M = TypeVar("M", bound=models.Model)

INTERACTION_RELATED = ("contact", "account", "lead", "deal", "author")
TASK_RELATED = ("contact", "account", "lead", "deal", "assignee", "created_by")
NOTE_RELATED = ("contact", "account", "lead", "deal", "author")
# The records an item links to: (foreign key, module whose record access applies).
LINKS = (("contact", "contacts"), ("account", "accounts"), ("lead", "leads"), ("deal", "deals"))


def visible_items(
    qs: QuerySet[M],
    *,
    workspace: Workspace,
    viewer: User | None,
    personal_fields: tuple[str, ...] = (),
) -> QuerySet[M]:
    """Narrow a queryset of interactions, tasks or notes to what `viewer` may see.

    `personal_fields` name user FKs (a task's assignee and creator) that make an item visible
    to that user whatever its links are.
    """
    if viewer is None:
        return qs
    if not can(workspace=workspace, user=viewer, module="timeline", right=Right.VIEW):
        return qs.none()
    combined = qs.none()
    for link, module in LINKS:
        combined = combined | visible(
            qs.filter(**{f"{link}__isnull": False}),
            workspace=workspace,
            viewer=viewer,
            module=module,
            owner_field=f"{link}__owner",
        )
    if personal_fields:
        # Only tasks may stand alone; their people decide who sees them.
        unlinked = qs.filter(**{f"{link}__isnull": True for link, _module in LINKS})
        combined = combined | visible(
            unlinked,
            workspace=workspace,
            viewer=viewer,
            module="timeline",
            owner_field=personal_fields[0],
        )
        personal = Q()
        for name in personal_fields:
            personal |= Q(**{name: viewer.pk})
        combined = combined | qs.filter(personal)
    return combined


# ---------------------------------------------------------------------------------------------
# One item


def _get(
    qs: QuerySet[M], *, pk: int, label: str, deleted: bool = False, related: Iterable[str] = ()
) -> M:
    item = qs.filter(pk=pk, deleted_at__isnull=not deleted).select_related(*related).first()
    if item is None:
        raise NotFound(f"There is no {label} {pk}.")
    return item


def interaction_get(
    *, workspace: Workspace, viewer: User | None, interaction_id: int
) -> Interaction:
    qs = visible_items(
        Interaction.objects.for_workspace(workspace), workspace=workspace, viewer=viewer
    )
    return _get(qs, pk=interaction_id, label="interaction", related=INTERACTION_RELATED)


def task_get(*, workspace: Workspace, viewer: User | None, task_id: int) -> Task:
    qs = visible_items(
        Task.objects.for_workspace(workspace),
        workspace=workspace,
        viewer=viewer,
        personal_fields=("assignee", "created_by"),
    )
    return _get(qs, pk=task_id, label="task", related=TASK_RELATED)


def note_get(*, workspace: Workspace, viewer: User | None, note_id: int) -> Note:
    qs = visible_items(Note.objects.for_workspace(workspace), workspace=workspace, viewer=viewer)
    return _get(qs, pk=note_id, label="note", related=NOTE_RELATED)


# ---------------------------------------------------------------------------------------------
# Lists


@dataclass(frozen=True)
class InteractionFilters:
    contact_id: int | None = None
    account_id: int | None = None
    lead_id: int | None = None
    deal_id: int | None = None
    channels: frozenset[str] | None = None
    deleted: bool = False


@dataclass(frozen=True)
class TaskFilters:
    contact_id: int | None = None
    account_id: int | None = None
    lead_id: int | None = None
    deal_id: int | None = None
    assignee_id: int | None = None
    # "My tasks": assigned to the viewer.
    mine: bool = False
    statuses: frozenset[str] | None = None
    due_before: dt.datetime | None = None
    due_after: dt.datetime | None = None
    # "created": newest first. "due": soonest due first, only tasks that have a due date (the
    # order a to-do list wants, served by the (workspace, assignee, status, due_at) index).
    order: Literal["created", "due"] = "created"
    deleted: bool = False


@dataclass(frozen=True)
class NoteFilters:
    contact_id: int | None = None
    account_id: int | None = None
    lead_id: int | None = None
    deal_id: int | None = None
    pinned: bool | None = None
    deleted: bool = False


def _check_choices(
    errors: ErrorCollector, name: str, values: Iterable[str] | None, allowed: Iterable[str]
) -> None:
    if values is None:
        return
    allowed_list = list(allowed)
    bad = sorted(set(values) - set(allowed_list))
    if bad:
        errors.add(
            name,
            "invalid-choice",
            f"Unknown value(s) {', '.join(bad)}; use: {', '.join(allowed_list)}.",
        )


def _linked(qs: QuerySet[M], filters: Any) -> QuerySet[M]:
    for link, _module in LINKS:
        value = getattr(filters, f"{link}_id", None)
        if value is not None:
            qs = qs.filter(**{f"{link}_id": value})
    return qs


def _aware(value: dt.datetime, workspace: Workspace) -> dt.datetime:
    # "Due before 18:00" means 18:00 where the workspace works.
    if timezone.is_naive(value):
        return timezone.make_aware(value, workspace_zone(workspace))
    return value


def interaction_list(
    *,
    workspace: Workspace,
    viewer: User | None,
    filters: InteractionFilters | None = None,
    after: str | None = None,
    limit: int = 50,
) -> Page[Interaction]:
    filters = filters or InteractionFilters()
    errors = ErrorCollector()
    _check_choices(errors, "channel", filters.channels, Channel.values)
    errors.raise_if_any()
    qs = visible_items(
        Interaction.objects.for_workspace(workspace), workspace=workspace, viewer=viewer
    )
    qs = _linked(qs, filters)
    qs = qs.filter(deleted_at__isnull=not filters.deleted)
    if filters.channels:
        qs = qs.filter(channel__in=sorted(filters.channels))
    qs = qs.select_related(*INTERACTION_RELATED)
    return keyset_page(qs, order=["-occurred_at", "-id"], after=after, limit=limit)


def task_list(
    *,
    workspace: Workspace,
    viewer: User | None,
    filters: TaskFilters | None = None,
    after: str | None = None,
    limit: int = 50,
) -> Page[Task]:
    filters = filters or TaskFilters()
    errors = ErrorCollector()
    _check_choices(errors, "status", filters.statuses, TaskStatus.values)
    _check_choices(errors, "order", [filters.order], ["created", "due"])
    if filters.mine and viewer is None:
        errors.add("mine", "invalid", "'My tasks' needs a user.")
    errors.raise_if_any()
    qs = visible_items(
        Task.objects.for_workspace(workspace),
        workspace=workspace,
        viewer=viewer,
        personal_fields=("assignee", "created_by"),
    )
    qs = _linked(qs, filters)
    qs = qs.filter(deleted_at__isnull=not filters.deleted)
    if filters.mine and viewer is not None:
        qs = qs.filter(assignee_id=viewer.pk)
    if filters.assignee_id is not None:
        qs = qs.filter(assignee_id=filters.assignee_id)
    if filters.statuses:
        qs = qs.filter(status__in=sorted(filters.statuses))
    if filters.due_before is not None:
        qs = qs.filter(due_at__lt=_aware(filters.due_before, workspace))
    if filters.due_after is not None:
        qs = qs.filter(due_at__gte=_aware(filters.due_after, workspace))
    qs = qs.select_related(*TASK_RELATED)
    if filters.order == "due":
        qs = qs.filter(due_at__isnull=False)
        return keyset_page(qs, order=["due_at", "id"], after=after, limit=limit)
    return keyset_page(qs, order=["-created_at", "-id"], after=after, limit=limit)


def note_list(
    *,
    workspace: Workspace,
    viewer: User | None,
    filters: NoteFilters | None = None,
    after: str | None = None,
    limit: int = 50,
) -> Page[Note]:
    filters = filters or NoteFilters()
    qs = visible_items(Note.objects.for_workspace(workspace), workspace=workspace, viewer=viewer)
    qs = _linked(qs, filters)
    qs = qs.filter(deleted_at__isnull=not filters.deleted)
    if filters.pinned is not None:
        qs = qs.filter(pinned=filters.pinned)
    qs = qs.select_related(*NOTE_RELATED)
    return keyset_page(qs, order=["-created_at", "-id"], after=after, limit=limit)


# ---------------------------------------------------------------------------------------------
# A customer's timeline: interactions, tasks, notes and the record's own events, merged.

# Ties on the timestamp are broken by kind (this order), then by id, newest first.
TIMELINE_KINDS = ("event", "interaction", "note", "task")

TimelineObject = Interaction | Task | Note | Event


@dataclass(frozen=True)
class TimelineEntry:
    kind: str
    id: int
    occurred_at: dt.datetime
    obj: TimelineObject


@dataclass(frozen=True)
class TimelinePage:
    items: list[TimelineEntry]
    next_cursor: str | None


@dataclass(frozen=True)
class _Position:
    at: dt.datetime
    kind: str
    id: int


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _sort_key(entry: TimelineEntry) -> tuple[int, str, int]:
    # Integer microseconds: exact, unlike float timestamps, and negatable for "newest first".
    micros = (entry.occurred_at - _EPOCH) // dt.timedelta(microseconds=1)
    return (-micros, entry.kind, -entry.id)


def _decode_position(cursor: str) -> _Position:
    at, kind, pk = decode_cursor(cursor, size=3)
    if (
        not isinstance(at, dt.datetime)
        or at.tzinfo is None
        or kind not in TIMELINE_KINDS
        or isinstance(pk, bool)
        or not isinstance(pk, int)
    ):
        errors = ErrorCollector()
        errors.add("cursor", "invalid", "The cursor is not valid for this list.")
        errors.raise_if_any()
    return _Position(at=at, kind=kind, id=pk)


def _after(position: _Position, kind: str) -> Q:
    """Rows of `kind` that come after `position` in (timestamp desc, kind, id desc) order.
    Within one kind the kind is constant, so the three-column comparison reduces to this."""
    earlier = Q(timeline_at__lt=position.at)
    if kind < position.kind:
        return earlier
    if kind > position.kind:
        return earlier | Q(timeline_at=position.at)
    return earlier | Q(timeline_at=position.at, id__lt=position.id)


# The records a timeline can belong to: kind → (model, module whose record access applies).
SUBJECT_MODELS: dict[str, tuple[Any, str]] = {
    "contact": (Contact, "contacts"),
    "account": (Account, "accounts"),
    "lead": (Lead, "leads"),
    "deal": (Deal, "deals"),
}
TimelineRecord = Contact | Account | Lead | Deal


def _subject(*, workspace: Workspace, viewer: User | None, **records: Any) -> TimelineRecord:
    """The one record (`contact=`, `account=`, `lead=` or `deal=`: an object or an id) whose
    timeline is asked for, live and visible to the viewer; NotFound otherwise."""
    given = [(kind, value) for kind, value in records.items() if value is not None]
    if len(given) != 1 or given[0][0] not in SUBJECT_MODELS:
        raise ValueError("record_timeline needs exactly one of contact, account, lead or deal")
    label, value = given[0]
    model, module = SUBJECT_MODELS[label]
    pk = value if isinstance(value, int) else value.pk
    qs = model.objects.for_workspace(workspace).filter(pk=pk, deleted_at__isnull=True)
    found = visible(qs, workspace=workspace, viewer=viewer, module=module).first()
    if found is None:
        raise NotFound(f"There is no {label} {pk}.")
    return cast(TimelineRecord, found)


def record_timeline(
    *,
    workspace: Workspace,
    viewer: User | None,
    contact: Contact | int | None = None,
    account: Account | int | None = None,
    lead: Lead | int | None = None,
    deal: Deal | int | None = None,
    kinds: set[str] | frozenset[str] | None = None,
    channels: set[str] | frozenset[str] | None = None,
    after: str | None = None,
    limit: int = 50,
) -> TimelinePage:
    """The timeline of one contact, account, lead or deal, newest first, one page at a time.

    An account's timeline includes the entries of its (live, visible) contacts. Events are the
    record's own audit trail (`contact.updated`, `lead.assigned`, `deal.stage_changed`, …; a
    lead's includes the web-form submissions it came from, whose subject is the lead); the
    events of interactions, tasks and notes are left out because those items are already on
    the timeline. A channel filter keeps interactions of those channels only (tasks, notes and
    events have no channel).

    Each kind is read with its own keyset filter and LIMIT n+1 and the pages are merged, so a
    page costs one query per kind whatever its length.
    """
    errors = ErrorCollector()
    _check_choices(errors, "kinds", kinds, TIMELINE_KINDS)
    _check_choices(errors, "channel", channels, Channel.values)
    errors.raise_if_any()
    position = _decode_position(after) if after else None
    limit = max(1, min(limit, MAX_LIMIT))
    subject = _subject(
        workspace=workspace, viewer=viewer, contact=contact, account=account, lead=lead, deal=deal
    )

    wanted = set(kinds) if kinds else set(TIMELINE_KINDS)
    if channels:
        wanted &= {"interaction"}
    if viewer is not None and not can(
        workspace=workspace, user=viewer, module="timeline", right=Right.VIEW
    ):
        wanted &= {"event"}

    if isinstance(subject, Contact):
        linked = Q(contact_id=subject.pk)
        own_events = Q(subject_type="contact", subject_id=subject.pk)
    elif isinstance(subject, Lead):
        linked = Q(lead_id=subject.pk)
        own_events = Q(subject_type="lead", subject_id=subject.pk)
    elif isinstance(subject, Deal):
        linked = Q(deal_id=subject.pk)
        own_events = Q(subject_type="deal", subject_id=subject.pk)
    else:
        members = visible(
            Contact.objects.for_workspace(workspace).filter(
                account_id=subject.pk, deleted_at__isnull=True
            ),
            workspace=workspace,
            viewer=viewer,
            module="contacts",
        ).values("pk")
        linked = Q(account_id=subject.pk) | Q(contact_id__in=members)
        own_events = Q(subject_type="account", subject_id=subject.pk) | Q(
            subject_type="contact", subject_id__in=members
        )

    # Each row carries its place on the timeline (`kind`, `timeline_at`) for whoever renders it.
    sources: dict[str, QuerySet[Any]] = {
        "interaction": Interaction.objects.for_workspace(workspace)
        .filter(linked, deleted_at__isnull=True)
        .annotate(timeline_at=F("occurred_at"))
        .select_related(*INTERACTION_RELATED),
        # A done task sits where it was finished: that is when it last mattered.
        "task": Task.objects.for_workspace(workspace)
        .filter(linked, deleted_at__isnull=True)
        .annotate(timeline_at=Coalesce("completed_at", "created_at"))
        .select_related(*TASK_RELATED),
        "note": Note.objects.for_workspace(workspace)
        .filter(linked, deleted_at__isnull=True)
        .annotate(timeline_at=F("created_at"))
        .select_related(*NOTE_RELATED),
        "event": Event.objects.for_workspace(workspace)
        .filter(own_events)
        .annotate(timeline_at=F("occurred_at"))
        .select_related("actor"),
    }
    if channels:
        sources["interaction"] = sources["interaction"].filter(channel__in=sorted(channels))

    entries: list[TimelineEntry] = []
    for kind in TIMELINE_KINDS:
        if kind not in wanted:
            continue
        qs = sources[kind].annotate(kind=Value(kind, output_field=CharField()))
        if position is not None:
            qs = qs.filter(_after(position, kind))
        for row in qs.order_by("-timeline_at", "-id")[: limit + 1]:
            entries.append(
                TimelineEntry(kind=kind, id=row.pk, occurred_at=row.timeline_at, obj=row)
            )

    entries.sort(key=_sort_key)
    page = entries[:limit]
    next_cursor = None
    if len(entries) > limit:
        last = page[-1]
        next_cursor = encode_cursor([last.occurred_at, last.kind, last.id])
    return TimelinePage(items=page, next_cursor=next_cursor)


# ---------------------------------------------------------------------------------------------
# The timeline panel of a record page: the page of entries, the record's audit events put in
# words, and what the viewer may do there.

RECORD_KINDS = ("contact", "account", "lead", "deal")

# Field names of `contact.*`, `account.*`, `lead.*` and `deal.*` event payloads, as people call
# them. Kept here rather than read from the models' verbose names so that every tracked field
# is sure to have one.
FIELD_LABELS: dict[str, Any] = {
    "first_name": _("first name"),
    "last_name": _("last name"),
    "emails": _("emails"),
    "phones": _("phones"),
    "job_title": _("job title"),
    "birthdate": _("birthdate"),
    "language": _("language"),
    "lifecycle_stage": _("lifecycle stage"),
    "source": _("source"),
    "account_id": _("account"),
    "owner_id": _("owner"),
    "street": _("street"),
    "city": _("city"),
    "state": _("state"),
    "postal_code": _("postal code"),
    "country": _("country"),
    "external_id": _("external id"),
    "tags": _("tags"),
    "name": _("name"),
    "domain": _("domain"),
    "industry": _("industry"),
    "size": _("size"),
    "phone": _("phone"),
    "website": _("website"),
    # leads
    "email": _("email"),
    "company_name": _("company"),
    "company_domain": _("company domain"),
    "company_size": _("company size"),
    "message": _("message"),
    "campaign": _("campaign"),
    "utm_source": "utm_source",
    "utm_medium": "utm_medium",
    "utm_campaign": "utm_campaign",
    "utm_term": "utm_term",
    "utm_content": "utm_content",
    "web_form_id": _("web form"),
    "team_id": _("team"),
    "status": _("status"),
    "first_contacted_at": _("first contact"),
    # deals
    "amount": _("amount"),
    "currency": _("currency"),
    "expected_close_date": _("expected close date"),
    "forecast_category": _("forecast category"),
    "stage_id": _("stage"),
    "pipeline_id": _("pipeline"),
    "contact_id": _("contact"),
    "lost_reason": _("lost reason"),
}
_CHOICE_FIELDS: dict[str, type[models.TextChoices]] = {
    "lifecycle_stage": LifecycleStage,
    "size": CompanySize,
    "company_size": CompanySize,
    "forecast_category": ForecastCategory,
}
# Choices whose meaning depends on the record: a lead's status is not a deal's.
_SUBJECT_CHOICE_FIELDS: dict[tuple[str, str], type[models.TextChoices]] = {
    ("lead", "status"): LeadStatus,
    ("deal", "status"): DealStatus,
}
# Where a lead came from, as its `lead.created` event tells it.
LEAD_CHANNELS: dict[str, Any] = {
    "staff": _("typed in"),
    "api": _("through the API"),
    "import": _("from an import"),
    "webform": _("from a web form"),
    "automation": _("by an automation"),
}
# A changed value is shown up to this many characters (a long description is not an audit line).
CHANGE_VALUE_MAX = 120


@dataclass(frozen=True)
class ChangeLine:
    """One field of an audit event: its label and the old and new values, ready to show."""

    field: str
    label: str
    old: str
    new: str


@dataclass(frozen=True)
class EventWords:
    """An audit event put in words: the action (`created`, `updated`, …), the changed fields,
    and the name of its subject when that is not the record whose timeline is shown (a
    contact's change on its account's timeline)."""

    action: str
    lines: list[ChangeLine]
    subject_name: str = ""
    # What the sentence is about, for events that are not field changes: the consent purpose
    # of consent.granted/withdrawn, the other record's name of a merge, the new owner of an
    # assignment, the new status of a lead, the stages a deal moved between, the web form.
    detail: str = ""
    # A second piece of the sentence: the stage a deal came from, the records a lead became.
    detail_from: str = ""
    # Why, when the event says it: a disqualification or a lost deal's reason.
    reason: str = ""


@dataclass(frozen=True)
class PanelRow:
    """One entry of the panel; `words` is set for audit events."""

    entry: TimelineEntry
    words: EventWords | None = None


@dataclass(frozen=True)
class TimelinePanel:
    record: TimelineRecord
    kind: str
    rows: list[PanelRow]
    next_cursor: str | None
    can_log: bool
    can_complete: bool


def timeline_record_get(
    *, workspace: Workspace, viewer: User | None, kind: str, record_id: int
) -> TimelineRecord:
    """The live contact, account, lead or deal (`kind`) the viewer may see; NotFound
    otherwise, also for an unknown kind and for records of other workspaces."""
    if kind not in RECORD_KINDS:
        raise NotFound(f"There is no {kind} {record_id}.")
    return _subject(workspace=workspace, viewer=viewer, **{kind: record_id})


def _shown(value: Any) -> str:
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    if isinstance(value, list):
        return ", ".join(_shown(v) for v in value)
    if isinstance(value, str) and len(value) == 10 and value[4:5] == "-" and value[7:8] == "-":
        try:
            return formats.date_format(dt.date.fromisoformat(value), "SHORT_DATE_FORMAT")
        except ValueError:
            pass
    if isinstance(value, str) and len(value) > 18 and value[10:11] == "T":
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            moment = None
        if moment is not None and moment.tzinfo is not None:
            return formats.date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT")
    text = str(value)
    return text if len(text) <= CHANGE_VALUE_MAX else text[: CHANGE_VALUE_MAX - 1] + "…"


def _int_ids(values: Iterable[Any]) -> set[int]:
    return {v for v in values if isinstance(v, int) and not isinstance(v, bool)}


@dataclass
class _Names:
    """Names behind the ids of a page of events, each kind read once (only when needed)."""

    accounts: dict[int, str] = field(default_factory=dict)
    users: dict[int, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    teams: dict[int, str] = field(default_factory=dict)
    stages: dict[int, str] = field(default_factory=dict)
    pipelines: dict[int, str] = field(default_factory=dict)
    forms: dict[int, str] = field(default_factory=dict)
    contacts: dict[int, str] = field(default_factory=dict)
    deals: dict[int, str] = field(default_factory=dict)


# Ids in event payloads (in "changes" or at the top level) and the names they stand for.
_ID_KINDS = {
    "account_id": "accounts",
    "owner_id": "users",
    "previous_owner_id": "users",
    "team_id": "teams",
    "previous_team_id": "teams",
    "stage_id": "stages",
    "from_stage_id": "stages",
    "to_stage_id": "stages",
    "pipeline_id": "pipelines",
    "web_form_id": "forms",
    "form_id": "forms",
    "contact_id": "contacts",
    "deal_id": "deals",
}
# Top-level payload keys read for names (the others are read from "changes" only).
_TOP_LEVEL_IDS = frozenset(
    {"owner_id", "team_id", "from_stage_id", "to_stage_id", "form_id", "deal_id"}
)


def _event_names(*, workspace: Workspace, viewer: User | None, events: list[Event]) -> _Names:
    """Names behind the ids in these events: accounts and contacts (those the viewer may see),
    users, teams, stages, pipelines, web forms, deals and custom-field labels. One query per
    kind, and only when some event of the page needs it."""
    wanted: dict[str, set[int]] = {kind: set() for kind in set(_ID_KINDS.values())}
    custom_keys: set[tuple[str, str]] = set()
    for event in events:
        payload = event.payload or {}
        if event.type.startswith(("lead.", "deal.", "webform.")):
            for key in _TOP_LEVEL_IDS & set(payload):
                wanted[_ID_KINDS[key]] |= _int_ids([payload[key]])
            if event.type == "lead.converted":
                wanted["accounts"] |= _int_ids([payload.get("account_id")])
                wanted["contacts"] |= _int_ids([payload.get("contact_id")])
        for name, pair in (payload.get("changes") or {}).items():
            values = _int_ids(pair if isinstance(pair, list) else [pair])
            if name in _ID_KINDS:
                wanted[_ID_KINDS[name]] |= values
            elif name.startswith("custom_fields."):
                custom_keys.add((event.subject_type, name.split(".", 1)[1]))
    names = _Names()
    if wanted["accounts"]:
        qs = Account.objects.for_workspace(workspace).filter(pk__in=sorted(wanted["accounts"]))
        visible_accounts = visible(qs, workspace=workspace, viewer=viewer, module="accounts")
        names.accounts = dict(visible_accounts.values_list("pk", "name"))
    if wanted["contacts"]:
        qs = Contact.objects.for_workspace(workspace).filter(pk__in=sorted(wanted["contacts"]))
        names.contacts = {
            c.pk: c.display_name
            for c in visible(qs, workspace=workspace, viewer=viewer, module="contacts")
        }
    if wanted["users"]:
        # Members and former members alike: the owner may have left since.
        members = Membership.objects.for_workspace(workspace).filter(
            user_id__in=sorted(wanted["users"])
        )
        for membership in members.select_related("user"):
            names.users[membership.user_id] = membership.user.display_name
    if wanted["teams"]:
        names.teams = dict(
            Team.objects.for_workspace(workspace)
            .filter(pk__in=sorted(wanted["teams"]))
            .values_list("pk", "name")
        )
    if wanted["stages"]:
        names.stages = dict(
            Stage.objects.for_workspace(workspace)
            .filter(pk__in=sorted(wanted["stages"]))
            .values_list("pk", "name")
        )
    if wanted["pipelines"]:
        names.pipelines = dict(
            Pipeline.objects.for_workspace(workspace)
            .filter(pk__in=sorted(wanted["pipelines"]))
            .values_list("pk", "name")
        )
    if wanted["forms"]:
        from vinculo.marketing.models import WebForm

        names.forms = dict(
            WebForm.objects.for_workspace(workspace)
            .filter(pk__in=sorted(wanted["forms"]))
            .values_list("pk", "name")
        )
    if wanted["deals"]:
        qs = Deal.objects.for_workspace(workspace).filter(pk__in=sorted(wanted["deals"]))
        names.deals = dict(
            visible(qs, workspace=workspace, viewer=viewer, module="deals").values_list(
                "pk", "name"
            )
        )
    if custom_keys:
        definitions = CustomFieldDefinition.objects.for_workspace(workspace).filter(
            object_type__in=sorted({t for t, _k in custom_keys}),
            key__in=sorted({k for _t, k in custom_keys}),
        )
        names.labels = {f"{d.object_type}:{d.key}": d.label for d in definitions}
    return names


def _name_of(names: _Names, key: str, value: Any) -> str:
    """The name behind an id of `key` ("owner_id", "stage_id", …), or a word for one the
    viewer may not see or that is gone."""
    kind = _ID_KINDS.get(key)
    found = getattr(names, kind).get(value) if kind else None
    if found:
        return str(found)
    fallback = {
        "accounts": _("a hidden account"),
        "contacts": _("a hidden contact"),
        "users": _("a former member"),
        "teams": _("a former team"),
        "stages": _("a former stage"),
        "pipelines": _("a former pipeline"),
        "forms": _("a former web form"),
        "deals": _("a hidden deal"),
    }
    return str(fallback.get(kind or "", _shown(value)))


def _change_line(event: Event, name: str, pair: Any, names: _Names) -> ChangeLine:
    old, new = [*pair, None, None][:2] if isinstance(pair, list) else (None, pair)
    choices = _SUBJECT_CHOICE_FIELDS.get((event.subject_type, name)) or _CHOICE_FIELDS.get(name)

    def value(v: Any) -> str:
        if v is None or isinstance(v, bool) or not isinstance(v, int | str):
            return _shown(v)
        if name in _ID_KINDS and isinstance(v, int):
            return _name_of(names, name, v)
        if choices is not None and v in choices.values:
            return str(choices(v).label)
        return _shown(v)

    if name.startswith("custom_fields."):
        key = name.split(".", 1)[1]
        label = names.labels.get(f"{event.subject_type}:{key}", key)
    else:
        label = str(FIELD_LABELS.get(name, name.replace("_", " ")))
    return ChangeLine(field=name, label=label, old=value(old), new=value(new))


def _sales_words(event: Event, names: _Names) -> dict[str, str]:
    """What the sentence of a lead, deal or web-form event names besides the changes."""
    payload = event.payload or {}
    kind = event.type
    if kind == "lead.created":
        return {"detail": str(LEAD_CHANNELS.get(str(payload.get("channel")), ""))}
    if kind == "lead.assigned":
        owner, team = payload.get("owner_id"), payload.get("team_id")
        parts = [_name_of(names, "owner_id", owner)] if owner is not None else []
        if team is not None and ("team_id" in (payload.get("changes") or {}) or not parts):
            parts.append(_name_of(names, "team_id", team))
        return {"detail": " · ".join(parts), "reason": str(payload.get("reason") or "")}
    if kind == "lead.status_changed":
        status = str(payload.get("to") or "")
        label = LeadStatus(status).label if status in LeadStatus.values else status
        return {"detail": str(label), "reason": str(payload.get("reason") or "")}
    if kind == "lead.converted":
        made = [
            _name_of(names, "contact_id", payload["contact_id"])
            if payload.get("contact_id")
            else "",
            _name_of(names, "account_id", payload["account_id"])
            if payload.get("account_id")
            else "",
        ]
        deal = _name_of(names, "deal_id", payload["deal_id"]) if payload.get("deal_id") else ""
        return {"detail": " · ".join(p for p in made if p), "detail_from": deal}
    if kind == "webform.submitted":
        utm = payload.get("utm") or {}
        pairs = [f"{k}={v}" for k, v in utm.items() if v] if isinstance(utm, dict) else []
        form = payload.get("form_id")
        return {
            "detail": _name_of(names, "form_id", form) if form is not None else "",
            "reason": " · ".join(pairs)[:CHANGE_VALUE_MAX],
        }
    if kind == "deal.stage_changed":
        return {
            "detail": _name_of(names, "stage_id", payload.get("to_stage_id")),
            "detail_from": _name_of(names, "stage_id", payload.get("from_stage_id")),
        }
    if kind == "deal.lost":
        return {"reason": str(payload.get("lost_reason") or payload.get("reason") or "")}
    return {}


def _event_detail(event: Event) -> str:
    payload = event.payload or {}
    if event.type.startswith("consent."):
        from vinculo.contacts.privacy.services import purpose_label

        return purpose_label(str(payload.get("purpose", "")))
    if event.type.endswith(".merged"):
        return str(payload.get("other_name") or "")
    return ""


# Payload changes the sentence of these events already says: not repeated as lines.
_SAID_BY_SENTENCE = {
    "lead.assigned": frozenset({"owner_id", "team_id"}),
    "lead.status_changed": frozenset({"status"}),
    "lead.converted": frozenset({"status"}),
    "deal.stage_changed": frozenset({"stage_id"}),
}


def timeline_event_words(
    *,
    workspace: Workspace,
    viewer: User | None,
    events: list[Event],
    record: TimelineRecord | None = None,
) -> dict[int, EventWords]:
    """Each audit event of a record put in words, by event id: `contact.updated` with
    {"changes": {"lifecycle_stage": ["lead", "customer"]}} becomes the line
    "lifecycle stage: Lead → Customer"; `lead.assigned` names the new owner, `deal.stage_changed`
    the stages. One query per kind of name the page needs (accounts, users, custom-field
    labels, teams, stages…), and one for the names of an account's contacts when their changes
    show on the account's timeline."""
    if not events:
        return {}
    names = _event_names(workspace=workspace, viewer=viewer, events=events)
    own_contact = record.pk if isinstance(record, Contact) else None
    others = {
        e.subject_id for e in events if e.subject_type == "contact" and e.subject_id != own_contact
    }
    contact_names: dict[int, str] = {}
    if others and record is not None:
        contact_names = {
            c.pk: c.display_name
            for c in Contact.objects.for_workspace(workspace).filter(pk__in=sorted(others))
        }
    words: dict[int, EventWords] = {}
    for event in events:
        changes = (event.payload or {}).get("changes") or {}
        said = _SAID_BY_SENTENCE.get(event.type, frozenset())
        lines = [
            _change_line(event, name, pair, names)
            for name, pair in changes.items()
            if isinstance(name, str) and name not in said
        ]
        extra = _sales_words(event, names)
        words[event.pk] = EventWords(
            action=event.type.rsplit(".", 1)[-1],
            lines=lines,
            subject_name=contact_names.get(event.subject_id, "")
            if event.subject_type == "contact"
            else "",
            detail=extra.get("detail", "") or _event_detail(event),
            detail_from=extra.get("detail_from", ""),
            reason=extra.get("reason", ""),
        )
    return words


def timeline_panel(
    *,
    workspace: Workspace,
    viewer: User | None,
    kind: str,
    record_id: int,
    kinds: frozenset[str] | None = None,
    channels: frozenset[str] | None = None,
    after: str | None = None,
    limit: int = 30,
) -> TimelinePanel:
    """What a record page's timeline panel shows: one page of the record's timeline (see
    `record_timeline`), its audit events in words, and whether the viewer may log activity
    and complete tasks there. NotFound for a record the viewer cannot see."""
    record = timeline_record_get(workspace=workspace, viewer=viewer, kind=kind, record_id=record_id)
    records: dict[str, Any] = {kind: record}
    page = record_timeline(
        workspace=workspace,
        viewer=viewer,
        kinds=kinds,
        channels=channels,
        after=after,
        limit=limit,
        **records,
    )
    events = [entry.obj for entry in page.items if isinstance(entry.obj, Event)]
    words = timeline_event_words(workspace=workspace, viewer=viewer, events=events, record=record)
    return TimelinePanel(
        record=record,
        kind=kind,
        rows=[
            PanelRow(entry=e, words=words.get(e.id) if e.kind == "event" else None)
            for e in page.items
        ],
        next_cursor=page.next_cursor,
        can_log=viewer is None
        or can(workspace=workspace, user=viewer, module="timeline", right=Right.CREATE),
        can_complete=viewer is None
        or can(workspace=workspace, user=viewer, module="timeline", right=Right.EDIT),
    )


# ---------------------------------------------------------------------------------------------
# "My tasks": open tasks grouped overdue / today / upcoming / no date in the viewer's time zone.

TASK_BUCKETS = ("overdue", "today", "upcoming", "none")


@dataclass(frozen=True)
class TaskRow:
    task: Task
    # One of TASK_BUCKETS for open tasks, "done" for the others.
    bucket: str


@dataclass(frozen=True)
class MyTasksPage:
    rows: list[TaskRow]
    next_cursor: str | None
    # Open tasks per bucket, on the first page only (None on the pages after it).
    counts: dict[str, int] | None
    # Whether the viewer may list everyone's tasks (the "assignee: anyone" filter).
    can_see_everyone: bool


def tasks_can_see_everyone(*, workspace: Workspace, viewer: User | None) -> bool:
    """Admins and managers look at the whole team's tasks; others at their own."""
    membership = membership_for(workspace=workspace, user=viewer)
    return membership is not None and membership.role in (Role.ADMIN, Role.MANAGER)


def _day_bounds(zone: dt.tzinfo, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    today = now.astimezone(zone).date()
    start = dt.datetime.combine(today, dt.time.min, tzinfo=zone)
    end = dt.datetime.combine(today + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
    return start, end


def task_bucket(task: Task, *, start_of_today: dt.datetime, end_of_today: dt.datetime) -> str:
    if task.status != TaskStatus.OPEN:
        return "done"
    if task.due_at is None:
        return "none"
    if task.due_at < start_of_today:
        return "overdue"
    if task.due_at < end_of_today:
        return "today"
    return "upcoming"


def task_row(
    task: Task, *, zone: dt.tzinfo | None = None, now: dt.datetime | None = None
) -> TaskRow:
    """A task with its bucket judged now in `zone` (the active time zone by default), for
    showing one task again after a change."""
    start, end = _day_bounds(zone or timezone.get_current_timezone(), now or timezone.now())
    return TaskRow(task=task, bucket=task_bucket(task, start_of_today=start, end_of_today=end))


def _invalid_tasks_cursor() -> NoReturn:
    errors = ErrorCollector()
    errors.add("cursor", "invalid", "The cursor is not valid for this list.")
    errors.raise_if_any()
    raise AssertionError  # unreachable: raise_if_any raised


def my_tasks_page(
    *,
    workspace: Workspace,
    viewer: User,
    status: Literal["open", "done"] = "open",
    everyone: bool = False,
    after: str | None = None,
    limit: int = 50,
    zone: dt.tzinfo | None = None,
    now: dt.datetime | None = None,
) -> MyTasksPage:
    """The viewer's tasks (or, with `everyone` and the right to it, every task they may see),
    one keyset page at a time: first those with a due date, soonest first (latest first for
    done tasks), then those without one, newest first. Each row carries its bucket, judged in
    `zone` (the viewer's time zone; the active one by default).

    The cursor names the phase ("d." dated, "u." undated) and the keyset position within it,
    so each phase reads its own index: (workspace, assignee, status, due_at, id) for the dated
    part. The first page also counts the open tasks per bucket (one query).
    """
    zone = zone or timezone.get_current_timezone()
    now = now or timezone.now()
    start, end = _day_bounds(zone, now)
    see_everyone = tasks_can_see_everyone(workspace=workspace, viewer=viewer)
    statuses = (
        frozenset({TaskStatus.OPEN})
        if status == "open"
        else frozenset({TaskStatus.DONE, TaskStatus.CANCELLED})
    )
    qs = visible_items(
        Task.objects.for_workspace(workspace),
        workspace=workspace,
        viewer=viewer,
        personal_fields=("assignee", "created_by"),
    ).filter(deleted_at__isnull=True, status__in=sorted(statuses))
    if not (everyone and see_everyone):
        qs = qs.filter(assignee_id=viewer.pk)
    qs = qs.select_related(*TASK_RELATED)
    dated_order = ["due_at", "id"] if status == "open" else ["-due_at", "-id"]
    undated_order = ["-created_at", "-id"]
    dated = qs.filter(due_at__isnull=False)
    undated = qs.filter(due_at__isnull=True)

    phase, inner = "d", None
    if after:
        phase, _sep, inner_text = after.partition(".")
        if phase not in ("d", "u") or not _sep:
            _invalid_tasks_cursor()
        inner = inner_text or None

    items: list[Task] = []
    next_cursor: str | None = None
    if phase == "d":
        page = keyset_page(dated, order=dated_order, after=inner, limit=limit)
        items = page.items
        if page.next_cursor:
            next_cursor = f"d.{page.next_cursor}"
        elif len(items) < limit:
            rest = keyset_page(undated, order=undated_order, limit=limit - len(items))
            items = items + rest.items
            next_cursor = f"u.{rest.next_cursor}" if rest.next_cursor else None
        elif undated.exists():
            next_cursor = "u."
    else:
        page = keyset_page(undated, order=undated_order, after=inner, limit=limit)
        items = page.items
        next_cursor = f"u.{page.next_cursor}" if page.next_cursor else None

    counts = None
    if not after and status == "open":
        totals = qs.order_by().aggregate(
            overdue=Count("id", filter=Q(due_at__lt=start)),
            today=Count("id", filter=Q(due_at__gte=start, due_at__lt=end)),
            upcoming=Count("id", filter=Q(due_at__gte=end)),
            none=Count("id", filter=Q(due_at__isnull=True)),
        )
        counts = {bucket: int(totals[bucket] or 0) for bucket in TASK_BUCKETS}
    rows = [
        TaskRow(task=t, bucket=task_bucket(t, start_of_today=start, end_of_today=end))
        for t in items
    ]
    return MyTasksPage(
        rows=rows, next_cursor=next_cursor, counts=counts, can_see_everyone=see_everyone
    )


def task_assignees(*, workspace: Workspace) -> list[User]:
    """Active members of the workspace a task may be assigned to, by name."""
    members = (
        Membership.objects.for_workspace(workspace)
        .filter(is_active=True, user__is_active=True)
        .select_related("user")
    )
    return sorted((m.user for m in members), key=lambda u: u.display_name.casefold())
