"""API shapes of the timeline. Inputs are loose on purpose (plain strings for choices, any
integers for ids): the services validate them and report every bad field at once, with the same
codes a form gets. The enums still show in the OpenAPI document."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from ninja import Field, Schema

from vinculo.timeline.models import Channel, Direction, TaskStatus
from vinculo.timeline.selectors import (
    InteractionFilters,
    NoteFilters,
    TaskFilters,
    TimelinePage,
)

# ---------------------------------------------------------------------------------------------
# References to related records


class UserRef(Schema):
    id: int
    name: str
    email: str

    @staticmethod
    def resolve_name(obj: Any) -> str:
        return str(obj.display_name)


class ContactRef(Schema):
    id: int
    name: str

    @staticmethod
    def resolve_name(obj: Any) -> str:
        return str(obj.display_name)


class AccountRef(Schema):
    id: int
    name: str


class LeadRef(Schema):
    id: int
    name: str

    @staticmethod
    def resolve_name(obj: Any) -> str:
        return str(obj.display_name)


class DealRef(Schema):
    id: int
    name: str


def _choice(choices: type[Any], description: str, default: Any = ...) -> Any:
    return Field(default, description=description, json_schema_extra={"enum": list(choices.values)})


# ---------------------------------------------------------------------------------------------
# Interactions


class InteractionIn(Schema):
    channel: str = _choice(Channel, "How the touch happened.")
    direction: str = _choice(Direction, "Who reached out.", Direction.OUTBOUND.value)
    occurred_at: dt.datetime | None = Field(
        None, description="When it happened (now if left out; workspace time zone if no offset)."
    )
    subject: str = ""
    body: str = ""
    outcome: str = ""
    duration_seconds: int | None = None
    contact_id: int | None = None
    account_id: int | None = None
    lead_id: int | None = None
    deal_id: int | None = None


class InteractionPatch(Schema):
    channel: str | None = _choice(Channel, "How the touch happened.", None)
    direction: str | None = _choice(Direction, "Who reached out.", None)
    occurred_at: dt.datetime | None = None
    subject: str | None = None
    body: str | None = None
    outcome: str | None = None
    duration_seconds: int | None = None
    contact_id: int | None = None
    account_id: int | None = None
    lead_id: int | None = None
    deal_id: int | None = None


class InteractionOut(Schema):
    id: int
    channel: str
    direction: str
    occurred_at: dt.datetime
    subject: str
    body: str
    outcome: str
    duration_seconds: int | None
    contact: ContactRef | None
    account: AccountRef | None
    lead: LeadRef | None
    deal: DealRef | None
    author: UserRef | None
    created_at: dt.datetime
    updated_at: dt.datetime
    deleted_at: dt.datetime | None


def _split(values: list[str] | None) -> frozenset[str] | None:
    """Accept `?x=a&x=b` and `?x=a,b` alike."""
    if not values:
        return None
    parts = {p.strip() for value in values for p in value.split(",")}
    return frozenset(p for p in parts if p) or None


class ListQuery(Schema):
    limit: int = Field(50, ge=1, le=200)
    cursor: str | None = None
    deleted: bool = Field(False, description="List the trash instead.")


class InteractionQuery(ListQuery):
    contact_id: int | None = None
    account_id: int | None = None
    lead_id: int | None = None
    deal_id: int | None = None
    channel: list[str] | None = None

    def to_filters(self) -> InteractionFilters:
        return InteractionFilters(
            contact_id=self.contact_id,
            account_id=self.account_id,
            lead_id=self.lead_id,
            deal_id=self.deal_id,
            channels=_split(self.channel),
            deleted=self.deleted,
        )


class InteractionPage(Schema):
    items: list[InteractionOut]
    next_cursor: str | None


# ---------------------------------------------------------------------------------------------
# Tasks


class TaskIn(Schema):
    title: str
    description: str = ""
    due_at: dt.datetime | None = None
    reminder_at: dt.datetime | None = Field(None, description="Not later than `due_at`.")
    assignee_id: int | None = Field(None, description="An active member of the workspace.")
    contact_id: int | None = None
    account_id: int | None = None
    lead_id: int | None = None
    deal_id: int | None = None


class TaskPatch(Schema):
    title: str | None = None
    description: str | None = None
    due_at: dt.datetime | None = None
    reminder_at: dt.datetime | None = None
    assignee_id: int | None = None
    status: str | None = _choice(TaskStatus, "Setting done completes the task.", None)
    contact_id: int | None = None
    account_id: int | None = None
    lead_id: int | None = None
    deal_id: int | None = None


class TaskOut(Schema):
    id: int
    title: str
    description: str
    status: str
    due_at: dt.datetime | None
    reminder_at: dt.datetime | None
    completed_at: dt.datetime | None
    assignee: UserRef | None
    created_by: UserRef | None
    contact: ContactRef | None
    account: AccountRef | None
    lead: LeadRef | None
    deal: DealRef | None
    created_at: dt.datetime
    updated_at: dt.datetime
    deleted_at: dt.datetime | None


class TaskQuery(ListQuery):
    contact_id: int | None = None
    account_id: int | None = None
    lead_id: int | None = None
    deal_id: int | None = None
    assignee_id: int | None = None
    mine: bool = Field(False, description="Only tasks assigned to me.")
    status: list[str] | None = None
    due_before: dt.datetime | None = None
    due_after: dt.datetime | None = None
    order: Literal["created", "due"] = Field(
        "created",
        description="created: newest first; due: soonest due first (tasks with a due date).",
    )

    def to_filters(self) -> TaskFilters:
        return TaskFilters(
            contact_id=self.contact_id,
            account_id=self.account_id,
            lead_id=self.lead_id,
            deal_id=self.deal_id,
            assignee_id=self.assignee_id,
            mine=self.mine,
            statuses=_split(self.status),
            due_before=self.due_before,
            due_after=self.due_after,
            order=self.order,
            deleted=self.deleted,
        )


class TaskPage(Schema):
    items: list[TaskOut]
    next_cursor: str | None


# ---------------------------------------------------------------------------------------------
# Notes


class NoteIn(Schema):
    body: str
    pinned: bool = False
    contact_id: int | None = None
    account_id: int | None = None
    lead_id: int | None = None
    deal_id: int | None = None


class NotePatch(Schema):
    body: str | None = None
    pinned: bool | None = None
    contact_id: int | None = None
    account_id: int | None = None
    lead_id: int | None = None
    deal_id: int | None = None


class NoteOut(Schema):
    id: int
    body: str
    pinned: bool
    author: UserRef | None
    contact: ContactRef | None
    account: AccountRef | None
    lead: LeadRef | None
    deal: DealRef | None
    created_at: dt.datetime
    updated_at: dt.datetime
    deleted_at: dt.datetime | None


class NoteQuery(ListQuery):
    contact_id: int | None = None
    account_id: int | None = None
    lead_id: int | None = None
    deal_id: int | None = None
    pinned: bool | None = None

    def to_filters(self) -> NoteFilters:
        return NoteFilters(
            contact_id=self.contact_id,
            account_id=self.account_id,
            lead_id=self.lead_id,
            deal_id=self.deal_id,
            pinned=self.pinned,
            deleted=self.deleted,
        )


class NotePage(Schema):
    items: list[NoteOut]
    next_cursor: str | None


# ---------------------------------------------------------------------------------------------
# A customer's timeline: one list, each item shaped by its `kind`.


class _TimelinePlace(Schema):
    """Where an entry sits on the timeline: rows read by `record_timeline` carry their `kind`
    and `timeline_at`."""

    occurred_at: dt.datetime

    @staticmethod
    def resolve_occurred_at(obj: Any) -> dt.datetime:
        return obj.timeline_at


class TimelineInteraction(InteractionOut, _TimelinePlace):
    kind: Literal["interaction"]


class TimelineTask(TaskOut, _TimelinePlace):
    """`occurred_at` is when the task was completed, or created while it is not done."""

    kind: Literal["task"]


class TimelineNote(NoteOut, _TimelinePlace):
    kind: Literal["note"]


class TimelineEvent(_TimelinePlace):
    """Something recorded about the record itself (`contact.updated`, `lead.assigned`, …)."""

    kind: Literal["event"]
    id: int
    type: str
    subject_type: str
    subject_id: int
    actor: UserRef | None
    payload: dict[str, Any]


TimelineItem = Annotated[
    TimelineInteraction | TimelineTask | TimelineNote | TimelineEvent,
    Field(discriminator="kind"),
]


class TimelinePageOut(Schema):
    items: list[TimelineItem]
    next_cursor: str | None

    @staticmethod
    def resolve_items(page: TimelinePage) -> list[Any]:
        return [entry.obj for entry in page.items]


class TimelineQuery(Schema):
    kinds: list[str] | None = Field(
        None,
        description="Any of event, interaction, note, task (repeat the parameter or use commas).",
    )
    channel: list[str] | None = Field(
        None,
        description=f"Only interactions of these channels: {', '.join(Channel.values)}.",
    )
    limit: int = Field(50, ge=1, le=200)
    cursor: str | None = None

    def kind_set(self) -> frozenset[str] | None:
        return _split(self.kinds)

    def channel_set(self) -> frozenset[str] | None:
        return _split(self.channel)
