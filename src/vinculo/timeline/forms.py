"""Forms of the timeline pages. Each one parses what a person typed into the arguments of one
service call (`service_kwargs`) and puts the service's own field errors back next to the inputs
(`add_service_errors`); the rules themselves live in the services."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from vinculo.core.exceptions import FieldError, ValidationFailed
from vinculo.timeline.models import Channel, Direction, Interaction, Note, Task
from vinculo.timeline.selectors import task_assignees
from vinculo.timeline.validation import MAX_BODY_LENGTH, field_max_length

if TYPE_CHECKING:
    from vinculo.core.models import User, Workspace

# ---------------------------------------------------------------------------------------------
# The timeline's filter chips


@dataclass(frozen=True)
class TimelineFilter:
    key: str
    label: Any
    kinds: frozenset[str] | None = None
    channels: frozenset[str] | None = None


def _channel(key: str, label: Any) -> TimelineFilter:
    return TimelineFilter(key, label, channels=frozenset({key}))


# Shown as chips; the other channels are offered in a "more" menu so the row stays short.
FILTER_CHIPS = (
    TimelineFilter("all", _("All")),
    _channel(Channel.EMAIL, _("Emails")),
    _channel(Channel.PHONE, _("Calls")),
    _channel(Channel.MEETING, _("Meetings")),
    TimelineFilter("notes", _("Notes"), kinds=frozenset({"note"})),
    TimelineFilter("tasks", _("Tasks"), kinds=frozenset({"task"})),
    TimelineFilter("changes", _("Changes"), kinds=frozenset({"event"})),
)
MORE_CHANNELS = tuple(
    _channel(value, label)
    for value, label in Channel.choices
    if value not in {Channel.EMAIL, Channel.PHONE, Channel.MEETING}
)
_FILTERS = {f.key: f for f in (*FILTER_CHIPS, *MORE_CHANNELS)}


def timeline_filter(value: str | None) -> TimelineFilter:
    """The filter a chip asked for; anything unknown shows everything."""
    return _FILTERS.get(value or "all", FILTER_CHIPS[0])


# ---------------------------------------------------------------------------------------------
# Service errors, in the person's language

SERVICE_MESSAGES: dict[str, Any] = {
    "required": _("This field is required."),
    "too-long": _("This text is too long."),
    "invalid": _("Enter a valid value."),
    "invalid-choice": _("Choose one of the options."),
    "not-found": _("This record no longer exists, or you cannot see it."),
    "link-required": _("Link it to a contact or an account."),
    "not-a-member": _("This person is not an active member of the workspace."),
    "after-due": _("The reminder must not be later than the due time."),
    "negative": _("Cannot be negative."),
    "too-large": _("This number is too large."),
}


def service_message(error: FieldError) -> str:
    return str(SERVICE_MESSAGES.get(error.code, error.message))


class ServiceForm(forms.Form):
    """A form whose `service_kwargs` feed one service; `service_fields` maps the service's
    field names to this form's where they differ."""

    service_fields: ClassVar[dict[str, str]] = {}

    def __init__(self, *args: Any, workspace: Workspace, viewer: User, **kwargs: Any) -> None:
        self.workspace = workspace
        self.viewer = viewer
        super().__init__(*args, **kwargs)

    def service_kwargs(self) -> dict[str, Any]:
        raise NotImplementedError

    def add_service_errors(self, exc: ValidationFailed) -> None:
        for error in exc.errors:
            name = self.service_fields.get(error.field, error.field)
            self.add_error(name if name in self.fields else None, service_message(error))


def _this_minute() -> dt.datetime:
    # What the picker can show: the hidden initial must equal an untouched input.
    return timezone.now().replace(second=0, microsecond=0)


def _when_field(label: Any, *, required: bool) -> forms.DateTimeField:
    # A native date-and-time picker; the typed time is read in the person's time zone.
    return forms.DateTimeField(
        label=label,
        required=required,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )


def _text_field(
    model: type[Any], name: str, label: Any, *, required: bool = False, rows: int = 0
) -> forms.CharField:
    widget = forms.Textarea(attrs={"rows": rows}) if rows else forms.TextInput()
    return forms.CharField(
        label=label,
        required=required,
        max_length=field_max_length(model, name) if not rows else MAX_BODY_LENGTH,
        strip=not rows,
        widget=widget,
    )


# ---------------------------------------------------------------------------------------------
# Quick actions: log a call, a meeting or an email, add a note


class InteractionForm(ServiceForm):
    channel: ClassVar[str]
    service_fields: ClassVar[dict[str, str]] = {"duration_seconds": "duration_minutes"}
    outcome_suggestions: ClassVar[tuple[Any, ...]] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["occurred_at"].initial = _this_minute
        # Renders the opening moment beside the input, so an untouched "when" can be told.
        self.fields["occurred_at"].show_hidden_initial = True
        if self.outcome_suggestions and "outcome" in self.fields and self.auto_id:
            outcome_id = str(self.auto_id) % "outcome"
            self.fields["outcome"].widget.attrs["list"] = f"{outcome_id}-suggestions"

    def service_kwargs(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        if "occurred_at" not in self.changed_data:
            # "When" left at the moment the form opened means "now": the picker only holds
            # minutes, and the entry must not sort below what was logged seconds earlier.
            data["occurred_at"] = timezone.now()
        minutes = data.pop("duration_minutes", None)
        if "duration_minutes" in self.fields:
            data["duration_seconds"] = minutes * 60 if minutes is not None else None
        return {"channel": self.channel, **data}


def _duration_field() -> forms.IntegerField:
    return forms.IntegerField(
        label=_("Duration (minutes)"),
        required=False,
        min_value=0,
        max_value=24 * 60,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )


class CallForm(InteractionForm):
    channel = Channel.PHONE
    direction = forms.ChoiceField(
        label=_("Direction"),
        choices=[
            (Direction.OUTBOUND, _("I called them")),
            (Direction.INBOUND, _("They called me")),
        ],
        initial=Direction.OUTBOUND,
    )
    occurred_at = _when_field(_("When"), required=True)
    duration_minutes = _duration_field()
    outcome = _text_field(Interaction, "outcome", _("Outcome"))
    body = _text_field(Interaction, "body", _("Notes"), rows=3)

    # Suggestions for the outcome field (a free text field: teams word outcomes their way).
    outcome_suggestions: ClassVar[tuple[Any, ...]] = (
        pgettext_lazy("call outcome", "Connected"),
        pgettext_lazy("call outcome", "Left a voicemail"),
        pgettext_lazy("call outcome", "No answer"),
        pgettext_lazy("call outcome", "Busy"),
        pgettext_lazy("call outcome", "Wrong number"),
    )


class MeetingForm(InteractionForm):
    channel = Channel.MEETING
    subject = _text_field(Interaction, "subject", _("Title"))
    occurred_at = _when_field(_("When"), required=True)
    duration_minutes = _duration_field()
    outcome = _text_field(Interaction, "outcome", _("Outcome"))
    body = _text_field(Interaction, "body", _("Notes"), rows=3)

    def service_kwargs(self) -> dict[str, Any]:
        return {"direction": Direction.OUTBOUND, **super().service_kwargs()}


class EmailForm(InteractionForm):
    channel = Channel.EMAIL
    direction = forms.ChoiceField(
        label=_("Direction"),
        choices=[(Direction.OUTBOUND, _("Sent")), (Direction.INBOUND, _("Received"))],
        initial=Direction.OUTBOUND,
    )
    subject = _text_field(Interaction, "subject", _("Subject"))
    occurred_at = _when_field(_("When"), required=True)
    body = _text_field(Interaction, "body", _("Message"), rows=4)


class NoteForm(ServiceForm):
    body = _text_field(Note, "body", _("Note"), required=True, rows=4)
    pinned = forms.BooleanField(label=_("Pin to the top of the record"), required=False)

    def service_kwargs(self) -> dict[str, Any]:
        return dict(self.cleaned_data)


# ---------------------------------------------------------------------------------------------
# Tasks

# Minutes before the due time; "" is no reminder.
REMINDER_CHOICES = [
    ("", _("No reminder")),
    ("0", _("At the due time")),
    ("15", _("15 minutes before")),
    ("60", _("1 hour before")),
    ("1440", _("1 day before")),
]


class TaskForm(ServiceForm):
    service_fields: ClassVar[dict[str, str]] = {
        "assignee_id": "assignee",
        "reminder_at": "reminder",
    }

    title = _text_field(Task, "title", _("Title"), required=True)
    due_at = _when_field(_("Due"), required=False)
    reminder = forms.ChoiceField(label=_("Reminder"), choices=REMINDER_CHOICES, required=False)
    assignee = forms.TypedChoiceField(
        label=_("Assignee"), coerce=int, required=False, empty_value=None
    )
    description = _text_field(Task, "description", _("Description"), rows=3)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["assignee"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [("", _("Nobody"))] + [
            (user.pk, user.display_name) for user in task_assignees(workspace=self.workspace)
        ]
        field.initial = self.viewer.pk

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("reminder") and not cleaned.get("due_at") and "due_at" not in self.errors:
            self.add_error("reminder", _("Set a due time to be reminded of it."))
        return cleaned

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        due_at: dt.datetime | None = data.get("due_at")
        offset = data.get("reminder")
        reminder_at = due_at - dt.timedelta(minutes=int(offset)) if due_at and offset else None
        return {
            "title": data["title"],
            "description": data.get("description", ""),
            "due_at": due_at,
            "reminder_at": reminder_at,
            "assignee_id": data.get("assignee"),
        }
