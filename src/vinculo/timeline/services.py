"""Writes of the timeline: interactions, tasks and notes.

Every write checks the actor's right on the "timeline" module, validates all fields at once
(`ValidationFailed` lists each bad field), runs in one transaction and records its event in that
transaction (`interaction.logged`, `task.completed`, …). Event payloads carry the linked
`contact_id`/`account_id` (and `lead_id`/`deal_id` when set), and updates add
`{"changes": {field: [old, new]}}`, so subscribers (the activity rollup, automations,
webhooks) need not read the item back.

Deletes are soft (`deleted_at`) and undone by the `*_restore` services. Items the actor cannot
see, deleted ones and those of other workspaces all answer `NotFound` the same way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from django.db import models, transaction
from django.utils import timezone

from vinculo.core.access import require
from vinculo.core.events import record_event
from vinculo.core.exceptions import ErrorCollector, NotFound
from vinculo.core.roles import Right
from vinculo.timeline.models import Channel, Direction, Interaction, Note, Task, TaskStatus
from vinculo.timeline.selectors import (
    INTERACTION_RELATED,
    NOTE_RELATED,
    TASK_RELATED,
    visible_items,
)
from vinculo.timeline.validation import (
    clean_account,
    clean_bool,
    clean_choice,
    clean_contact,
    clean_datetime,
    clean_deal,
    clean_duration,
    clean_lead,
    clean_member,
    clean_text,
    field_max_length,
    reject_unknown,
)

if TYPE_CHECKING:
    from vinculo.core.models import User, Workspace

MODULE = "timeline"

Item = TypeVar("Item", Interaction, Task, Note)
Cleaner = Callable[[ErrorCollector, str, Any], Any]


@dataclass(frozen=True)
class _Kind:
    model: type[models.Model]
    label: str
    related: tuple[str, ...]
    personal_fields: tuple[str, ...] = ()
    # Interactions and notes are about someone; a task may stand alone (a reminder to self).
    needs_link: bool = True


_INTERACTION = _Kind(Interaction, "interaction", INTERACTION_RELATED)
_TASK = _Kind(Task, "task", TASK_RELATED, ("assignee", "created_by"), needs_link=False)
_NOTE = _Kind(Note, "note", NOTE_RELATED)


# ---------------------------------------------------------------------------------------------
# Shared steps


def _text(
    model: type[models.Model], name: str, *, required: bool = False, strip: bool = True
) -> Cleaner:
    limit = field_max_length(model, name)
    return lambda e, n, v: clean_text(e, n, v, max_length=limit, required=required, strip=strip)


def _link_cleaners(workspace: Workspace, actor: User | None) -> dict[str, Cleaner]:
    return {
        "contact_id": lambda e, n, v: clean_contact(e, n, v, workspace=workspace, actor=actor),
        "account_id": lambda e, n, v: clean_account(e, n, v, workspace=workspace, actor=actor),
        "lead_id": lambda e, n, v: clean_lead(e, n, v, workspace=workspace, actor=actor),
        "deal_id": lambda e, n, v: clean_deal(e, n, v, workspace=workspace, actor=actor),
    }


LINKS = ("contact_id", "account_id", "lead_id", "deal_id")


def _clean(
    errors: ErrorCollector, cleaners: Mapping[str, Cleaner], data: Mapping[str, Any]
) -> dict[str, Any]:
    reject_unknown(errors, data, cleaners)
    return {
        name: cleaners[name](errors, name, value)
        for name, value in data.items()
        if name in cleaners
    }


def _check_link(
    errors: ErrorCollector, kind: _Kind, data: Mapping[str, Any], item: models.Model | None = None
) -> None:
    """At least one link, judged on what the item will hold after the write. A link that was
    given but failed its own check already has an error, so it still counts as given here."""
    if not kind.needs_link:
        return

    def after(name: str) -> Any:
        if name in data:
            return data[name]
        return getattr(item, name, None) if item is not None else None

    if all(after(name) in (None, "") for name in LINKS):
        errors.add(
            "contact_id",
            "link-required",
            f"Link the {kind.label} to a contact, an account, a lead or a deal.",
        )


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, models.Model):
        return value.pk
    return value


def _apply(item: models.Model, cleaned: Mapping[str, Any]) -> dict[str, list[Any]]:
    """Set the cleaned values on `item`; return {field: [old, new]} for those that changed.
    Link fields arrive as `<name>_id` holding the object (or None)."""
    changes: dict[str, list[Any]] = {}
    for name, value in cleaned.items():
        if name.endswith("_id"):
            relation = name[: -len("_id")]
            new_id = value.pk if value is not None else None
            old_id = getattr(item, name)
            if old_id != new_id:
                changes[name] = [old_id, new_id]
                setattr(item, relation, value)
            continue
        old = getattr(item, name)
        if old != value:
            changes[name] = [_jsonable(old), _jsonable(value)]
            setattr(item, name, value)
    return changes


def _links(item: Any) -> dict[str, Any]:
    # Contact and account always (their subscribers read both); a lead or a deal when linked.
    links = {"contact_id": item.contact_id, "account_id": item.account_id}
    for name in ("lead_id", "deal_id"):
        if getattr(item, name) is not None:
            links[name] = getattr(item, name)
    return links


def _locked(
    kind: _Kind, *, workspace: Workspace, actor: User | None, pk: int, deleted: bool = False
) -> Any:
    """The item, row-locked for the rest of the transaction, or NotFound."""
    qs = visible_items(
        kind.model.objects.for_workspace(workspace),  # type: ignore[attr-defined]
        workspace=workspace,
        viewer=actor,
        personal_fields=kind.personal_fields,
    )
    item = (
        qs.filter(pk=pk, deleted_at__isnull=not deleted)
        .select_related(*kind.related)
        .select_for_update(of=("self",))
        .first()
    )
    if item is None:
        raise NotFound(f"There is no {kind.label} {pk}.")
    return item


def _save_changes(item: Any, changes: Mapping[str, list[Any]]) -> None:
    item.updated_at = timezone.now()
    item.save(update_fields=sorted({*changes, "updated_at"}))


def _soft_delete(kind: _Kind, *, workspace: Workspace, actor: User | None, pk: int) -> Any:
    require(workspace=workspace, user=actor, module=MODULE, right=Right.DELETE)
    with transaction.atomic():
        item = _locked(kind, workspace=workspace, actor=actor, pk=pk)
        item.deleted_at = timezone.now()
        item.save(update_fields=["deleted_at"])
        record_event(
            workspace=workspace,
            actor=actor,
            type=f"{kind.label}.deleted",
            subject=item,
            payload=_links(item),
        )
    return item


def _restore(kind: _Kind, *, workspace: Workspace, actor: User | None, pk: int) -> Any:
    require(workspace=workspace, user=actor, module=MODULE, right=Right.DELETE)
    with transaction.atomic():
        try:
            item = _locked(kind, workspace=workspace, actor=actor, pk=pk, deleted=True)
        except NotFound:
            # Restoring what is not deleted is a no-op, so a retried request succeeds.
            return _locked(kind, workspace=workspace, actor=actor, pk=pk)
        item.deleted_at = None
        item.save(update_fields=["deleted_at"])
        record_event(
            workspace=workspace,
            actor=actor,
            type=f"{kind.label}.restored",
            subject=item,
            payload=_links(item),
        )
    return item


# ---------------------------------------------------------------------------------------------
# Interactions


def _interaction_cleaners(workspace: Workspace, actor: User | None) -> dict[str, Cleaner]:
    return {
        "channel": lambda e, n, v: clean_choice(e, n, v, choices=Channel),
        "direction": lambda e, n, v: clean_choice(e, n, v, choices=Direction),
        "occurred_at": lambda e, n, v: clean_datetime(e, n, v, workspace=workspace, required=True),
        "subject": _text(Interaction, "subject"),
        "body": _text(Interaction, "body", strip=False),
        "outcome": _text(Interaction, "outcome"),
        "duration_seconds": clean_duration,
        **_link_cleaners(workspace, actor),
    }


def interaction_create(
    *,
    workspace: Workspace,
    actor: User | None,
    channel: str,
    contact_id: int | None = None,
    account_id: int | None = None,
    lead_id: int | None = None,
    deal_id: int | None = None,
    direction: str = Direction.OUTBOUND,
    occurred_at: dt.datetime | None = None,
    subject: str = "",
    body: str = "",
    outcome: str = "",
    duration_seconds: int | None = None,
) -> Interaction:
    """Log a touch with a customer (a call, an email, a meeting…), authored by `actor`, on a
    contact, an account, a lead and/or a deal.

    Side effects: records `interaction.logged`; after commit the activity rollup moves the
    linked records' `last_activity_at` (and a lead's first contact, see sales.leads).
    """
    require(workspace=workspace, user=actor, module=MODULE, right=Right.CREATE)
    data = {
        "channel": channel,
        "direction": direction,
        "occurred_at": occurred_at or timezone.now(),
        "subject": subject,
        "body": body,
        "outcome": outcome,
        "duration_seconds": duration_seconds,
        "contact_id": contact_id,
        "account_id": account_id,
        "lead_id": lead_id,
        "deal_id": deal_id,
    }
    with transaction.atomic():
        errors = ErrorCollector()
        cleaned = _clean(errors, _interaction_cleaners(workspace, actor), data)
        _check_link(errors, _INTERACTION, data)
        errors.raise_if_any()
        interaction = Interaction(workspace=workspace, author=actor)
        _apply(interaction, cleaned)
        interaction.save()
        record_event(
            workspace=workspace,
            actor=actor,
            type="interaction.logged",
            subject=interaction,
            payload={
                **_links(interaction),
                "channel": interaction.channel,
                "direction": interaction.direction,
                "occurred_at": interaction.occurred_at.isoformat(),
            },
        )
    return interaction


def interaction_update(
    *, workspace: Workspace, actor: User | None, interaction_id: int, data: Mapping[str, Any]
) -> Interaction:
    """Change some fields of an interaction (only the keys present in `data`).

    Side effects: records `interaction.updated` with the changes (nothing when no value
    changed); after commit the activity rollup refreshes the old and new links.
    """
    require(workspace=workspace, user=actor, module=MODULE, right=Right.EDIT)
    with transaction.atomic():
        interaction: Interaction = _locked(
            _INTERACTION, workspace=workspace, actor=actor, pk=interaction_id
        )
        errors = ErrorCollector()
        cleaned = _clean(errors, _interaction_cleaners(workspace, actor), data)
        _check_link(errors, _INTERACTION, data, interaction)
        errors.raise_if_any()
        changes = _apply(interaction, cleaned)
        if not changes:
            return interaction
        _save_changes(interaction, changes)
        record_event(
            workspace=workspace,
            actor=actor,
            type="interaction.updated",
            subject=interaction,
            payload={
                **_links(interaction),
                "occurred_at": interaction.occurred_at.isoformat(),
                "changes": changes,
            },
        )
    return interaction


def interaction_delete(
    *, workspace: Workspace, actor: User | None, interaction_id: int
) -> Interaction:
    """Move an interaction to the trash. Side effects: records `interaction.deleted`; after
    commit the activity rollup recomputes without it."""
    item: Interaction = _soft_delete(
        _INTERACTION, workspace=workspace, actor=actor, pk=interaction_id
    )
    return item


def interaction_restore(
    *, workspace: Workspace, actor: User | None, interaction_id: int
) -> Interaction:
    """Bring an interaction back from the trash (a no-op if it is not deleted). Side effects:
    records `interaction.restored`; after commit the activity rollup counts it again."""
    item: Interaction = _restore(_INTERACTION, workspace=workspace, actor=actor, pk=interaction_id)
    return item


# ---------------------------------------------------------------------------------------------
# Tasks


def _task_cleaners(workspace: Workspace, actor: User | None) -> dict[str, Cleaner]:
    return {
        "title": _text(Task, "title", required=True),
        "description": _text(Task, "description", strip=False),
        "due_at": lambda e, n, v: clean_datetime(e, n, v, workspace=workspace),
        "reminder_at": lambda e, n, v: clean_datetime(e, n, v, workspace=workspace),
        "assignee_id": lambda e, n, v: clean_member(e, n, v, workspace=workspace),
        "status": lambda e, n, v: clean_choice(e, n, v, choices=TaskStatus),
        **_link_cleaners(workspace, actor),
    }


def _check_reminder(
    errors: ErrorCollector, cleaned: Mapping[str, Any], task: Task | None = None
) -> None:
    due = cleaned["due_at"] if "due_at" in cleaned else getattr(task, "due_at", None)
    reminder = (
        cleaned["reminder_at"] if "reminder_at" in cleaned else getattr(task, "reminder_at", None)
    )
    if due is not None and reminder is not None and reminder > due:
        errors.add("reminder_at", "after-due", "The reminder must not be later than the due time.")


def _task_payload(task: Task, **extra: Any) -> dict[str, Any]:
    return {
        **_links(task),
        "assignee_id": task.assignee_id,
        "status": task.status,
        "due_at": _jsonable(task.due_at),
        **extra,
    }


def task_create(
    *,
    workspace: Workspace,
    actor: User | None,
    title: str,
    description: str = "",
    due_at: dt.datetime | None = None,
    reminder_at: dt.datetime | None = None,
    assignee_id: int | None = None,
    contact_id: int | None = None,
    account_id: int | None = None,
    lead_id: int | None = None,
    deal_id: int | None = None,
) -> Task:
    """Create an open task, optionally assigned to a workspace member and linked to a contact,
    an account, a lead and/or a deal. Side effects: records `task.created`."""
    require(workspace=workspace, user=actor, module=MODULE, right=Right.CREATE)
    data = {
        "title": title,
        "description": description,
        "due_at": due_at,
        "reminder_at": reminder_at,
        "assignee_id": assignee_id,
        "contact_id": contact_id,
        "account_id": account_id,
        "lead_id": lead_id,
        "deal_id": deal_id,
    }
    with transaction.atomic():
        errors = ErrorCollector()
        cleaned = _clean(errors, _task_cleaners(workspace, actor), data)
        _check_reminder(errors, cleaned)
        errors.raise_if_any()
        task = Task(workspace=workspace, created_by=actor, status=TaskStatus.OPEN)
        _apply(task, cleaned)
        task.save()
        record_event(
            workspace=workspace,
            actor=actor,
            type="task.created",
            subject=task,
            payload=_task_payload(task),
        )
    return task


def _task_event_type(changes: Mapping[str, list[Any]]) -> str:
    if "status" in changes:
        old, new = changes["status"]
        if new == TaskStatus.DONE:
            return "task.completed"
        if old == TaskStatus.DONE and new == TaskStatus.OPEN:
            return "task.reopened"
    return "task.updated"


def _set_status(task: Task, cleaned: dict[str, Any]) -> None:
    """`completed_at` follows the status: set when a task becomes done, cleared when it leaves
    done. A moved reminder is armed again."""
    if "status" in cleaned and cleaned["status"] != task.status:
        cleaned["completed_at"] = timezone.now() if cleaned["status"] == TaskStatus.DONE else None
    if "reminder_at" in cleaned and cleaned["reminder_at"] != task.reminder_at:
        cleaned["reminded_at"] = None


def task_update(
    *, workspace: Workspace, actor: User | None, task_id: int, data: Mapping[str, Any]
) -> Task:
    """Change some fields of a task (only the keys present in `data`). A status change to done
    completes it, and from done back to open reopens it.

    Side effects: records `task.updated`, or `task.completed` / `task.reopened` when the status
    says so (nothing when no value changed).
    """
    require(workspace=workspace, user=actor, module=MODULE, right=Right.EDIT)
    with transaction.atomic():
        task: Task = _locked(_TASK, workspace=workspace, actor=actor, pk=task_id)
        errors = ErrorCollector()
        cleaned = _clean(errors, _task_cleaners(workspace, actor), data)
        _check_reminder(errors, cleaned, task)
        errors.raise_if_any()
        _set_status(task, cleaned)
        changes = _apply(task, cleaned)
        if not changes:
            return task
        _save_changes(task, changes)
        record_event(
            workspace=workspace,
            actor=actor,
            type=_task_event_type(changes),
            subject=task,
            payload=_task_payload(task, changes=changes),
        )
    return task


def task_complete(*, workspace: Workspace, actor: User | None, task_id: int) -> Task:
    """Mark a task done (a no-op if it already is). Side effects: records `task.completed`."""
    return task_update(
        workspace=workspace, actor=actor, task_id=task_id, data={"status": TaskStatus.DONE}
    )


def task_reopen(*, workspace: Workspace, actor: User | None, task_id: int) -> Task:
    """Put a done or cancelled task back to open (a no-op if it is open). Side effects: records
    `task.reopened` (from done) or `task.updated` (from cancelled)."""
    return task_update(
        workspace=workspace, actor=actor, task_id=task_id, data={"status": TaskStatus.OPEN}
    )


def task_delete(*, workspace: Workspace, actor: User | None, task_id: int) -> Task:
    """Move a task to the trash. Side effects: records `task.deleted`."""
    item: Task = _soft_delete(_TASK, workspace=workspace, actor=actor, pk=task_id)
    return item


def task_restore(*, workspace: Workspace, actor: User | None, task_id: int) -> Task:
    """Bring a task back from the trash (a no-op if it is not deleted). Side effects: records
    `task.restored`."""
    item: Task = _restore(_TASK, workspace=workspace, actor=actor, pk=task_id)
    return item


# ---------------------------------------------------------------------------------------------
# Notes


def _note_cleaners(workspace: Workspace, actor: User | None) -> dict[str, Cleaner]:
    return {
        "body": _text(Note, "body", required=True, strip=False),
        "pinned": clean_bool,
        **_link_cleaners(workspace, actor),
    }


def note_create(
    *,
    workspace: Workspace,
    actor: User | None,
    body: str,
    contact_id: int | None = None,
    account_id: int | None = None,
    lead_id: int | None = None,
    deal_id: int | None = None,
    pinned: bool = False,
) -> Note:
    """Add a note, written by `actor`, to a contact, an account, a lead and/or a deal. Side
    effects: records `note.added`."""
    require(workspace=workspace, user=actor, module=MODULE, right=Right.CREATE)
    data = {
        "body": body,
        "pinned": pinned,
        "contact_id": contact_id,
        "account_id": account_id,
        "lead_id": lead_id,
        "deal_id": deal_id,
    }
    with transaction.atomic():
        errors = ErrorCollector()
        cleaned = _clean(errors, _note_cleaners(workspace, actor), data)
        _check_link(errors, _NOTE, data)
        errors.raise_if_any()
        note = Note(workspace=workspace, author=actor)
        _apply(note, cleaned)
        note.save()
        record_event(
            workspace=workspace,
            actor=actor,
            type="note.added",
            subject=note,
            payload={**_links(note), "pinned": note.pinned},
        )
    return note


def note_update(
    *, workspace: Workspace, actor: User | None, note_id: int, data: Mapping[str, Any]
) -> Note:
    """Change some fields of a note (only the keys present in `data`). Side effects: records
    `note.updated` with the changes (nothing when no value changed)."""
    require(workspace=workspace, user=actor, module=MODULE, right=Right.EDIT)
    with transaction.atomic():
        note: Note = _locked(_NOTE, workspace=workspace, actor=actor, pk=note_id)
        errors = ErrorCollector()
        cleaned = _clean(errors, _note_cleaners(workspace, actor), data)
        _check_link(errors, _NOTE, data, note)
        errors.raise_if_any()
        changes = _apply(note, cleaned)
        if not changes:
            return note
        _save_changes(note, changes)
        record_event(
            workspace=workspace,
            actor=actor,
            type="note.updated",
            subject=note,
            payload={**_links(note), "changes": changes},
        )
    return note


def note_delete(*, workspace: Workspace, actor: User | None, note_id: int) -> Note:
    """Move a note to the trash. Side effects: records `note.deleted`."""
    item: Note = _soft_delete(_NOTE, workspace=workspace, actor=actor, pk=note_id)
    return item


def note_restore(*, workspace: Workspace, actor: User | None, note_id: int) -> Note:
    """Bring a note back from the trash (a no-op if it is not deleted). Side effects: records
    `note.restored`."""
    item: Note = _restore(_NOTE, workspace=workspace, actor=actor, pk=note_id)
    return item


# ---------------------------------------------------------------------------------------------
# The activity rollup


def activity_rollup_refresh(
    *,
    workspace: Workspace,
    contact_ids: set[int],
    account_ids: set[int],
    lead_ids: set[int] | frozenset[int] = frozenset(),
) -> None:
    """Recompute `last_activity_at` of these contacts, accounts and leads (and of the
    contacts' accounts) as the latest `occurred_at` of their live interactions. An account's
    activity includes its contacts' interactions, as its timeline does. (A deal's is kept by
    sales, which counts its tasks, notes and quotes too.)

    Computed from the current rows rather than from the event that triggered it, so running
    it twice, late or out of order gives the same result. Does not touch `updated_at`: this is
    a derived value, not a user's edit.
    """
    from django.db.models import Max, Q

    from vinculo.contacts.models import Account, Contact

    contact_ids = {pk for pk in contact_ids if pk}
    account_ids = {pk for pk in account_ids if pk}
    live = Interaction.objects.for_workspace(workspace).filter(deleted_at__isnull=True)
    if contact_ids:
        latest = dict(
            live.filter(contact_id__in=sorted(contact_ids))
            .values("contact_id")
            .annotate(latest=Max("occurred_at"))
            .values_list("contact_id", "latest")
        )
        contacts = Contact.objects.for_workspace(workspace).filter(pk__in=sorted(contact_ids))
        for contact_id, account_id in contacts.values_list("pk", "account_id"):
            contacts.filter(pk=contact_id).update(last_activity_at=latest.get(contact_id))
            if account_id:
                account_ids.add(account_id)
    for account_id in sorted(account_ids):
        members = Contact.objects.for_workspace(workspace).filter(account_id=account_id)
        value = live.filter(
            Q(account_id=account_id) | Q(contact_id__in=members.values("pk"))
        ).aggregate(latest=Max("occurred_at"))["latest"]
        Account.objects.for_workspace(workspace).filter(pk=account_id).update(
            last_activity_at=value
        )
    _rollup_leads(workspace, live, lead_ids=lead_ids)


def _rollup_leads(workspace: Workspace, live: Any, *, lead_ids: Any) -> None:
    from django.db.models import Max

    from vinculo.sales.models import Lead

    wanted = sorted({pk for pk in lead_ids if pk})
    if not wanted:
        return
    latest = dict(
        live.filter(lead_id__in=wanted)
        .values("lead_id")
        .annotate(latest=Max("occurred_at"))
        .values_list("lead_id", "latest")
    )
    leads = Lead.objects.for_workspace(workspace)
    for pk in wanted:
        leads.filter(pk=pk).update(last_activity_at=latest.get(pk))


# ---------------------------------------------------------------------------------------------
# Task reminders

REMINDER_BATCH = 200


def _reminder_url(task: Task, recipient_id: int) -> str:
    """Where the reminder leads: the assignee's "My tasks", else the record the task is about
    (its page once it exists, its timeline until then), else "My tasks"."""
    from django.urls import NoReverseMatch, reverse

    my_tasks = reverse("timeline:my_tasks") + f"#task-{task.pk}"
    if task.assignee_id == recipient_id:
        return my_tasks
    for kind, record_id, page in (
        ("contact", task.contact_id, "contacts:detail"),
        ("account", task.account_id, "contacts:account_detail"),
        ("lead", task.lead_id, "sales:lead_detail"),
        ("deal", task.deal_id, "sales:deal_detail"),
    ):
        if record_id is None:
            continue
        try:
            return reverse(page, args=[record_id])
        except NoReverseMatch:
            return reverse("timeline:panel", args=[kind, record_id])
    return my_tasks


def task_reminders_send(*, now: dt.datetime | None = None, batch: int = REMINDER_BATCH) -> int:
    """Notify, once, the assignee (else the creator) of every open task whose reminder time has
    passed. Runs across workspaces (a periodic job); returns the notifications created.

    Exactly once: each task is claimed by a conditional update of `reminded_at` in the same
    transaction as its notification, so two workers racing on a task, or a run repeated after
    a crash, cannot notify twice. Moving the reminder (`task_update`) clears `reminded_at`, so
    a rescheduled reminder is sent again. A task whose person has left the workspace is marked
    reminded without a notification.

    Side effects: `collab` notifications; no event (a reminder changes nothing about the task).
    """
    from vinculo.collab.models import NotificationKind
    from vinculo.collab.services import notification_create
    from vinculo.core.models import Membership

    now = now or timezone.now()
    sent = 0
    pending = Task.all_tenants.filter(
        status=TaskStatus.OPEN,
        deleted_at__isnull=True,
        reminder_at__lte=now,
        reminded_at__isnull=True,
    )
    last: tuple[dt.datetime, int] | None = None
    while True:
        qs = pending
        if last is not None:
            qs = qs.filter(
                models.Q(reminder_at__gt=last[0]) | models.Q(reminder_at=last[0], id__gt=last[1])
            )
        tasks = list(qs.select_related("workspace").order_by("reminder_at", "id")[:batch])
        if not tasks:
            return sent
        people = {p for t in tasks if (p := t.assignee_id or t.created_by_id) is not None}
        memberships = Membership.all_tenants.filter(
            workspace_id__in={t.workspace_id for t in tasks},
            user_id__in=sorted(people),
            is_active=True,
            user__is_active=True,
        ).select_related("user")
        recipients: dict[tuple[int, int | None], User] = {
            (m.workspace_id, m.user_id): m.user for m in memberships
        }
        for task in tasks:
            recipient = recipients.get((task.workspace_id, task.assignee_id or task.created_by_id))
            with transaction.atomic():
                claimed = Task.all_tenants.filter(
                    pk=task.pk,
                    status=TaskStatus.OPEN,
                    reminder_at=task.reminder_at,
                    reminded_at__isnull=True,
                ).update(reminded_at=now)
                if not claimed or recipient is None:
                    continue
                notification_create(
                    workspace=task.workspace,
                    actor=None,
                    user=recipient,
                    kind=NotificationKind.TASK_REMINDER,
                    title=task.title,
                    body=task.description[:500],
                    url=_reminder_url(task, recipient.pk),
                )
                sent += 1
        assert tasks[-1].reminder_at is not None
        last = (tasks[-1].reminder_at, tasks[-1].pk)
