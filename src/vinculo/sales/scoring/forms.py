"""Forms of the scoring pages: a rule (name, points, event, and its conditions as rows of
field / comparison / value under "all" or "any"), and the half-life. They parse input into
the data the services take; the services validate and their errors come back next to the
field or the condition row they name."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any

from django.http import QueryDict
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from vinculo.core.exceptions import ValidationFailed
from vinculo.sales.models import ScoringRule, ScoringRuleKind

# The comparisons the page offers ("changed" needs an event: fit rules cannot use it, and an
# engagement rule's own event type already says what happened).
OP_LABELS: dict[str, Any] = {
    "eq": pgettext_lazy("condition", "is"),
    "ne": pgettext_lazy("condition", "is not"),
    "in": pgettext_lazy("condition", "is one of"),
    "not_in": pgettext_lazy("condition", "is none of"),
    "contains": pgettext_lazy("condition", "contains"),
    "not_contains": pgettext_lazy("condition", "does not contain"),
    "starts_with": pgettext_lazy("condition", "starts with"),
    "gt": pgettext_lazy("condition", "is greater than"),
    "gte": pgettext_lazy("condition", "is at least"),
    "lt": pgettext_lazy("condition", "is less than"),
    "lte": pgettext_lazy("condition", "is at most"),
    "is_empty": pgettext_lazy("condition", "is empty"),
    "is_not_empty": pgettext_lazy("condition", "is not empty"),
}
LIST_OPS = frozenset({"in", "not_in"})
NO_VALUE_OPS = frozenset({"is_empty", "is_not_empty"})
MATCH_LABELS = {
    "all": _("all of these conditions"),
    "any": _("any of these conditions"),
}

# Events offered for engagement rules besides the registered lead triggers.
ENGAGEMENT_EVENTS: dict[str, Any] = {
    "webform.submitted": _("A web form is submitted"),
    "interaction.logged": _("A call, email or meeting is logged"),
    "email.opened": _("An email is opened"),
    "email.clicked": _("A link in an email is clicked"),
    "page.visited": _("A page of the website is visited"),
}

_ERROR_PATH = re.compile(r"^conditions\.(?:all|any)\[(\d+)\]\.?(\w*)")


@dataclass
class FieldOption:
    path: str
    label: str
    kind: str
    choices: list[tuple[str, str]]
    ops: list[str]


def lead_field_options() -> list[FieldOption]:
    """The lead fields a condition may name, from the automation registry."""
    from vinculo.automation import conditions

    try:
        listed = conditions.condition_fields("lead")
    except KeyError:
        return []
    options = []
    for path, label, spec in listed:
        ops = [op for op in conditions.OPS_BY_KIND.get(spec.kind, ()) if op in OP_LABELS]
        choices = [(str(value), str(text)) for value, text in spec.choices]
        options.append(FieldOption(path, str(label), spec.kind, choices, ops))
    return options


def event_type_choices(current: str = "") -> list[tuple[str, str]]:
    """The events an engagement rule may count: the registered lead triggers and the
    engagement events the product knows, plus the rule's own if it is none of them."""
    from vinculo.automation.subjects import registered_triggers

    choices = {key: str(label) for key, label in ENGAGEMENT_EVENTS.items()}
    for trigger in registered_triggers():
        if trigger.subject_type == "lead":
            choices[trigger.event_type] = str(trigger.label)
    if current and current not in choices:
        choices[current] = current
    return sorted(choices.items(), key=lambda item: item[1].casefold())


@dataclass
class ConditionRow:
    field: str = ""
    op: str = "eq"
    value: str = ""
    errors: list[str] = dataclasses.field(default_factory=list)


def _value_text(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def flat_rows(conditions: Any) -> tuple[str, list[ConditionRow]] | None:
    """("all" | "any", rows) for a tree one level deep; None for anything the row editor
    cannot show (nested groups, written through the API)."""
    if not conditions:
        return "all", []
    if not isinstance(conditions, dict) or len(conditions) != 1:
        return None
    match = next(iter(conditions))
    leaves = conditions[match]
    if match not in ("all", "any") or not isinstance(leaves, list):
        return None
    rows = []
    for leaf in leaves:
        if not isinstance(leaf, dict) or "field" not in leaf or leaf.get("op") not in OP_LABELS:
            return None
        rows.append(
            ConditionRow(str(leaf["field"]), str(leaf["op"]), _value_text(leaf.get("value")))
        )
    return match, rows


class RuleForm:
    """The rule page's form. Not a Django form: its condition rows repeat (`cond_field`,
    `cond_op`, `cond_value` lists), and a row left without a field is dropped."""

    def __init__(
        self,
        data: QueryDict | None = None,
        *,
        kind: str,
        rule: ScoringRule | None = None,
        fields: list[FieldOption] | None = None,
    ) -> None:
        self.kind = rule.kind if rule else kind
        self.rule = rule
        self.bound = data is not None
        self.field_options = fields if fields is not None else lead_field_options()
        self.errors: dict[str, list[str]] = {}
        self.conditions_locked = False
        if data is None:
            self.name = rule.name if rule else ""
            self.points = str(rule.points) if rule else ""
            self.event_type = rule.event_type if rule else ""
            self.is_active = rule.is_active if rule else True
            flat = flat_rows(rule.conditions if rule else {})
            self.rows: list[ConditionRow] = []
            self.match = "all"
            if flat is None:
                self.conditions_locked = True
            else:
                self.match, self.rows = flat
        else:
            self.name = data.get("name", "").strip()
            self.points = data.get("points", "").strip()
            self.event_type = data.get("event_type", "").strip()
            self.is_active = data.get("is_active") in ("on", "true", "1")
            self.match = "any" if data.get("match") == "any" else "all"
            self.conditions_locked = rule is not None and flat_rows(rule.conditions) is None
            self.rows = [
                ConditionRow(f.strip(), o.strip(), v.strip())
                for f, o, v in zip(
                    data.getlist("cond_field"),
                    data.getlist("cond_op"),
                    data.getlist("cond_value"),
                    strict=False,
                )
            ]
            if "add_row" in data:
                self.rows.append(ConditionRow())
        if not self.rows and not self.conditions_locked and self.kind == ScoringRuleKind.FIT:
            self.rows.append(ConditionRow())
        self._kept: list[int] = []

    # -- parsing ------------------------------------------------------------------------------

    def _option(self, path: str) -> FieldOption | None:
        return next((o for o in self.field_options if o.path == path), None)

    def _leaf_value(self, row: ConditionRow) -> Any:
        option = self._option(row.field)
        if row.op in NO_VALUE_OPS:
            return None
        if row.op in LIST_OPS:
            return self._list_value(option, row.value)
        return self._choice_value(option, row.value)

    @classmethod
    def _list_value(cls, option: FieldOption | None, text: str) -> list[Any]:
        """Values separated by commas; a choice's label may hold a comma of its own
        ("201–1,000 employees"), so labels are picked out of the text first."""
        values: list[Any] = []
        rest = text
        if option is not None and option.choices:
            for code, label in sorted(option.choices, key=lambda c: -len(c[1])):
                at = rest.casefold().find(label.casefold())
                if label and at >= 0:
                    values.append(code)
                    rest = rest[:at] + rest[at + len(label) :]
        values.extend(
            cls._choice_value(option, part.strip()) for part in rest.split(",") if part.strip()
        )
        return values

    @staticmethod
    def _choice_value(option: FieldOption | None, text: str) -> Any:
        """A choice field takes its code or its label ("Large" → "201-1000")."""
        if option is None or not option.choices:
            if option is not None and option.kind == "bool":
                return text.lower() in ("true", "1", "yes", "sim")
            return text
        for code, label in option.choices:
            if text.casefold() in (code.casefold(), label.casefold()):
                return code
        return text

    def conditions(self) -> dict[str, Any]:
        self._kept = []
        leaves = []
        for index, row in enumerate(self.rows):
            if not row.field:
                continue
            leaf: dict[str, Any] = {"field": row.field, "op": row.op}
            value = self._leaf_value(row)
            if row.op not in NO_VALUE_OPS:
                leaf["value"] = value
            leaves.append(leaf)
            self._kept.append(index)
        return {self.match: leaves} if leaves else {}

    def to_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name,
            "points": self.points,
            "is_active": self.is_active,
        }
        if self.rule is None:
            data["kind"] = self.kind
        if self.kind == ScoringRuleKind.ENGAGEMENT:
            data["event_type"] = self.event_type
        if not self.conditions_locked:
            data["conditions"] = self.conditions()
        return data

    # -- errors -------------------------------------------------------------------------------

    SERVICE_MESSAGES: dict[tuple[str, str], Any] = {
        ("name", "required"): _("Give the rule a name."),
        ("name", "too-long"): _("Use at most 120 characters."),
        ("points", "invalid"): _("Enter a whole number of points other than zero."),
        ("points", "out-of-range"): _("Use between −1000 and 1000 points."),
        ("event_type", "required"): _("Choose the event that earns the points."),
        ("event_type", "invalid"): _("Choose an event from the list."),
        ("conditions", "required"): _("Add at least one condition."),
        ("conditions", "invalid"): _("These conditions cannot be used for this kind of rule."),
        ("field", "unknown-field"): _("Choose a field from the list."),
        ("field", "required"): _("Choose a field."),
        ("op", "invalid-choice"): _("This comparison does not apply to this field."),
        ("value", "required"): _("Enter a value."),
        ("value", "invalid"): _("This value does not fit the field."),
    }

    def add_service_errors(self, exc: ValidationFailed) -> None:
        for error in exc.errors:
            match = _ERROR_PATH.match(error.field)
            if match and not self.conditions_locked:
                kept = int(match.group(1))
                part = match.group(2) or "value"
                row_index = self._kept[kept] if kept < len(self._kept) else None
                message = self.SERVICE_MESSAGES.get((part, error.code), error.message)
                if row_index is not None:
                    row = self.rows[row_index]
                    option = self._option(row.field)
                    if part == "value" and option is not None and option.choices:
                        labels = ", ".join(label for _code, label in option.choices)
                        message = _("Choose among: %(choices)s.") % {"choices": labels}
                    if str(message) not in row.errors:
                        row.errors.append(str(message))
                    continue
                self.errors.setdefault("conditions", []).append(str(message))
                continue
            name = error.field.split(".", 1)[0]
            message = self.SERVICE_MESSAGES.get((name, error.code), error.message)
            key = name if name in ("name", "points", "event_type", "is_active") else "conditions"
            self.errors.setdefault(key, []).append(str(message))

    @property
    def has_errors(self) -> bool:
        return bool(self.errors) or any(row.errors for row in self.rows)


def condition_summary(conditions: Any, options: list[FieldOption]) -> str:
    """ "country is BR and industry is one of Varejo, Serviços" for the rule lists."""
    flat = flat_rows(conditions)
    if flat is None:
        return str(_("Conditions set through the API"))
    match, rows = flat
    if not rows:
        return ""
    labels = {o.path: o for o in options}
    parts = []
    for row in rows:
        option = labels.get(row.field)
        name = option.label if option else row.field
        value = row.value
        if option and option.choices:
            names = dict(option.choices)
            value = ", ".join(names.get(v.strip(), v.strip()) for v in row.value.split(","))
        op = OP_LABELS.get(row.op, row.op)
        parts.append(f"{name} {op}" if row.op in NO_VALUE_OPS else f"{name} {op} {value}")
    joiner = f" {_('and')} " if match == "all" else f" {_('or')} "
    text = joiner.join(parts)
    return text[:1].upper() + text[1:]


class HalfLifeForm:
    def __init__(self, data: QueryDict | None = None, *, current: int) -> None:
        self.value = (
            data.get("score_half_life_days", "").strip() if data is not None else str(current)
        )
        self.errors: list[str] = []

    def to_data(self) -> dict[str, Any]:
        return {"score_half_life_days": self.value}

    def add_service_errors(self, exc: ValidationFailed) -> None:
        self.errors = [str(_("Enter a whole number of days between 1 and 3650."))]
