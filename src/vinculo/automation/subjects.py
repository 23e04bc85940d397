"""What automation rules can act on: subject types (contact, account, lead, deal, …), their
fields, and the event types (triggers) that start a rule.

Each app registers its own records here when it loads (`register_subject`, `register_trigger`),
so the engine, the condition builder and the action editor know nothing of any app in
particular. A field is read from the record by its name (`obj.<name>`; for "user" and "team"
fields `obj.<name>_id` when the name has no `_id` of its own) and written through the
subject's `update` callable with `data={<name>: value}`: the app's own update service, so
validation, events and access are the same as for a person editing the record.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db import models

from vinculo.core.exceptions import NotFound

if TYPE_CHECKING:
    from vinculo.core.models import Workspace

FIELD_KINDS = ("text", "number", "date", "datetime", "choice", "bool", "user", "team")


@dataclass(frozen=True)
class FieldSpec:
    """One field of a subject type as rules see it. `choices` holds (value, label) pairs for
    "choice" fields (empty: any value, e.g. per-workspace stages); `settable=False` keeps a
    field out of `set_field` (computed or system-owned values)."""

    name: str
    label: Any
    kind: str
    choices: Sequence[tuple[str, Any]] = ()
    settable: bool = True

    def __post_init__(self) -> None:
        if self.kind not in FIELD_KINDS:
            raise ValueError(f"field {self.name}: unknown kind {self.kind!r}")

    @property
    def choice_values(self) -> frozenset[str]:
        return frozenset(str(value) for value, _label in self.choices)


UpdateFn = Callable[..., Any]
AssignFn = Callable[..., Any]
OpenCountsFn = Callable[..., dict[int, int]]


@dataclass(frozen=True)
class SubjectType:
    """A kind of record rules act on.

    - `update(*, workspace, actor, obj, data) -> obj`: the app's update service.
    - `assign(*, workspace, actor, obj, owner, team, reason) -> obj`: its assignment service
      (None: `assign` actions fall back to `update` with the owner field).
    - `open_counts(*, workspace, user_ids) -> {user_id: open records}` ("fewest open").
    - `related`: {prefix: (subject type name, getter)}: conditions may read `prefix.field`.
    - `task_link`: the timeline Task foreign key naming this record ("contact", "lead", …).
    - `email_of(obj) -> str`: the address `send_email` writes to.
    - `add_tag(*, workspace, actor, obj, name) -> obj`: for subjects that carry tags.
    - `url_of(obj) -> str`: the record's page (run log links, notifications).
    - `live`: filter for the records rules act on (default: not soft-deleted, for models with
      a `deleted_at`).
    """

    name: str
    label: Any
    model: type[models.Model]
    module: str
    fields: Sequence[FieldSpec]
    update: UpdateFn
    assign: AssignFn | None = None
    open_counts: OpenCountsFn | None = None
    related: Mapping[str, tuple[str, Callable[[Any], Any]]] = field(default_factory=dict)
    task_link: str | None = None
    email_of: Callable[[Any], str] | None = None
    owner_field: str = "owner"
    add_tag: Callable[..., Any] | None = None
    url_of: Callable[[Any], str] | None = None
    live: Mapping[str, Any] = field(default_factory=dict)

    def get_field(self, name: str) -> FieldSpec | None:
        for spec in self.fields:
            if spec.name == name:
                return spec
        return None

    @property
    def settable_fields(self) -> list[FieldSpec]:
        return [spec for spec in self.fields if spec.settable]

    @property
    def live_filter(self) -> Mapping[str, Any]:
        """`live`, or by default "not soft-deleted" for models with a `deleted_at`."""
        if self.live:
            return self.live
        names = {f.name for f in self.model._meta.get_fields()}
        return {"deleted_at__isnull": True} if "deleted_at" in names else {}

    def get(self, *, workspace: Workspace, pk: int) -> Any:
        """The record, or NotFound (deleted or gone since the event)."""
        qs = self.model.objects.for_workspace(workspace)  # type: ignore[attr-defined]
        obj = qs.filter(pk=pk, **self.live_filter).first()
        if obj is None:
            raise NotFound(f"There is no {self.name} {pk}.")
        return obj

    def display(self, obj: Any) -> str:
        return str(obj)

    def url(self, obj: Any) -> str:
        if self.url_of is not None:
            try:
                return self.url_of(obj)
            except Exception:  # a link is a convenience; a record without a page has none
                return ""
        return ""


@dataclass(frozen=True)
class Trigger:
    event_type: str
    label: Any
    subject_type: str


_subjects: dict[str, SubjectType] = {}
_triggers: dict[str, Trigger] = {}


def register_subject(spec: SubjectType) -> SubjectType:
    """Make a record type available to rules (idempotent: a reload replaces it)."""
    _subjects[spec.name] = spec
    return spec


def register_trigger(event_type: str, *, label: Any, subject_type: str) -> Trigger:
    """Offer `event_type` as a rule trigger; its events' subject is a `subject_type` record."""
    trigger = Trigger(event_type, label, subject_type)
    _triggers[event_type] = trigger
    return trigger


def subject_type(name: str) -> SubjectType:
    """The registered subject type; KeyError when no app registered it."""
    return _subjects[name]


def registered_subjects() -> list[SubjectType]:
    return list(_subjects.values())


def registered_triggers() -> list[Trigger]:
    return sorted(_triggers.values(), key=lambda t: t.event_type)


def trigger_for(event_type: str) -> Trigger | None:
    return _triggers.get(event_type)
