"""Reads of the timeline: one item, lists of each kind, and a customer's merged timeline.

Access: a timeline item is visible to a viewer who holds the timeline's view right and can see
the contact or the account it is linked to (`core.access.visible` decides own/team/all). A task
is also visible to its assignee and to whoever created it, so "my tasks" never hides work that
was handed to someone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from django.db import models
from django.db.models import CharField, F, Q, QuerySet, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from vinculo.contacts.models import Account, Contact
from vinculo.core.access import can, visible
from vinculo.core.exceptions import ErrorCollector, NotFound
from vinculo.core.models import Event
from vinculo.core.pagination import MAX_LIMIT, Page, decode_cursor, encode_cursor, keyset_page
from vinculo.core.roles import Right
from vinculo.timeline.models import Channel, Interaction, Note, Task, TaskStatus
from vinculo.timeline.validation import workspace_zone

if TYPE_CHECKING:
    from vinculo.core.models import User, Workspace

M = TypeVar("M", bound=models.Model)

INTERACTION_RELATED = ("contact", "account", "author")
TASK_RELATED = ("contact", "account", "assignee", "created_by")
NOTE_RELATED = ("contact", "account", "author")


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
    by_contact = visible(
        qs.filter(contact__isnull=False),
        workspace=workspace,
        viewer=viewer,
        module="contacts",
        owner_field="contact__owner",
    )
    by_account = visible(
        qs.filter(account__isnull=False),
        workspace=workspace,
        viewer=viewer,
        module="accounts",
        owner_field="account__owner",
    )
    combined = by_contact | by_account
    if personal_fields:
        # Only tasks may stand alone; their people decide who sees them.
        unlinked = qs.filter(contact__isnull=True, account__isnull=True)
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
    channels: frozenset[str] | None = None
    deleted: bool = False


@dataclass(frozen=True)
class TaskFilters:
    contact_id: int | None = None
    account_id: int | None = None
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


def _linked(qs: QuerySet[M], contact_id: int | None, account_id: int | None) -> QuerySet[M]:
    if contact_id is not None:
        qs = qs.filter(contact_id=contact_id)
    if account_id is not None:
        qs = qs.filter(account_id=account_id)
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
    qs = _linked(qs, filters.contact_id, filters.account_id)
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
    qs = _linked(qs, filters.contact_id, filters.account_id)
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
    qs = _linked(qs, filters.contact_id, filters.account_id)
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


def _subject(
    *,
    workspace: Workspace,
    viewer: User | None,
    contact: Contact | int | None,
    account: Account | int | None,
) -> Contact | Account:
    if (contact is None) == (account is None):
        raise ValueError("record_timeline needs exactly one of contact or account")
    model: type[Contact] | type[Account]
    value: Contact | Account | int
    if contact is not None:
        model, module, value, label = Contact, "contacts", contact, "contact"
    else:
        assert account is not None
        model, module, value, label = Account, "accounts", account, "account"
    pk = value if isinstance(value, int) else value.pk
    qs = model.objects.for_workspace(workspace).filter(pk=pk, deleted_at__isnull=True)
    found = visible(qs, workspace=workspace, viewer=viewer, module=module).first()
    if found is None:
        raise NotFound(f"There is no {label} {pk}.")
    return found


def record_timeline(
    *,
    workspace: Workspace,
    viewer: User | None,
    contact: Contact | int | None = None,
    account: Account | int | None = None,
    kinds: set[str] | frozenset[str] | None = None,
    channels: set[str] | frozenset[str] | None = None,
    after: str | None = None,
    limit: int = 50,
) -> TimelinePage:
    """The timeline of one contact or account, newest first, one page at a time.

    An account's timeline includes the entries of its (live, visible) contacts. Events are the
    record's own audit trail (`contact.updated`, …); the events of interactions, tasks and notes
    are left out because those items are already on the timeline. A channel filter keeps
    interactions of those channels only (tasks, notes and events have no channel).

    Each kind is read with its own keyset filter and LIMIT n+1 and the pages are merged, so a
    page costs one query per kind whatever its length.
    """
    errors = ErrorCollector()
    _check_choices(errors, "kinds", kinds, TIMELINE_KINDS)
    _check_choices(errors, "channel", channels, Channel.values)
    errors.raise_if_any()
    position = _decode_position(after) if after else None
    limit = max(1, min(limit, MAX_LIMIT))
    subject = _subject(workspace=workspace, viewer=viewer, contact=contact, account=account)

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
