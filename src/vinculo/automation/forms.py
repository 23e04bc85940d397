"""The rule editor's form: the HTML inputs of a rule (its fields, the condition tree and the
ordered actions) read into the `data` the services take, and back.

The condition builder and the action list keep their whole state in the form: adding, removing
or moving a row posts the form with a `builder` command and the page comes back re-drawn from
what was posted (with htmx, only the editor is swapped). So it works without any script of our
own and nothing is lost between steps. Inputs are named by position:

- `cond-<key>-type` (group | leaf), `cond-<key>-join` (all | any), `cond-<key>-field`,
  `cond-<key>-op`, `cond-<key>-value`; the root group's key is `r`, its children `r.0`, `r.1`…
- `act-<i>-type` and `act-<i>-<parameter>` for each action in order.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from vinculo.automation.actions import (
    ASSIGNEES,
    EMAIL_TARGETS,
    RECIPIENTS,
    STRATEGIES,
    WAIT_UNITS,
    registered_actions,
)
from vinculo.automation.conditions import (
    LIST_OPS,
    NO_VALUE_OPS,
    OPS_BY_KIND,
    condition_fields,
    resolve_field,
)
from vinculo.automation.models import Schedule
from vinculo.automation.subjects import FieldSpec, subject_type, trigger_for
from vinculo.core.exceptions import FieldError
from vinculo.core.models import Membership, Team

if TYPE_CHECKING:
    from django.http import QueryDict

    from vinculo.automation.models import Rule
    from vinculo.core.models import Workspace

OP_LABELS: dict[str, Any] = {
    "eq": pgettext_lazy("condition operator", "is"),
    "ne": pgettext_lazy("condition operator", "is not"),
    "in": pgettext_lazy("condition operator", "is one of"),
    "not_in": pgettext_lazy("condition operator", "is none of"),
    "contains": pgettext_lazy("condition operator", "contains"),
    "not_contains": pgettext_lazy("condition operator", "does not contain"),
    "starts_with": pgettext_lazy("condition operator", "starts with"),
    "gt": pgettext_lazy("condition operator", "is greater than"),
    "gte": pgettext_lazy("condition operator", "is at least"),
    "lt": pgettext_lazy("condition operator", "is less than"),
    "lte": pgettext_lazy("condition operator", "is at most"),
    "is_empty": pgettext_lazy("condition operator", "is empty"),
    "is_not_empty": pgettext_lazy("condition operator", "is not empty"),
    "changed": pgettext_lazy("condition operator", "changed"),
}
DATE_OP_LABELS: dict[str, Any] = {
    "gt": pgettext_lazy("condition operator", "is after"),
    "gte": pgettext_lazy("condition operator", "is on or after"),
    "lt": pgettext_lazy("condition operator", "is before"),
    "lte": pgettext_lazy("condition operator", "is on or before"),
}
JOIN_LABELS = {
    "all": _("All of these are true"),
    "any": _("Any of these is true"),
}
STRATEGY_LABELS = {
    "round_robin": _("Round robin in a team"),
    "fewest_open": _("Team member with the fewest open records"),
    "user": _("A specific person"),
}
ASSIGNEE_LABELS = {
    "owner": _("The record's owner"),
    "user": _("A specific person"),
    "none": _("Nobody"),
}
RECIPIENT_LABELS = {
    "owner": _("The record's owner"),
    "user": _("A specific person"),
    "team": _("Everyone in a team"),
}
EMAIL_TARGET_LABELS = {
    "subject": _("The record's email address"),
    "owner": _("The record's owner"),
}
UNIT_LABELS = {"minutes": _("minutes"), "hours": _("hours"), "days": _("days")}
MAX_NODES = 60
_KEY = re.compile(r"^r(\.\d{1,3}){0,6}$")


@dataclass
class Param:
    """One input of an action's parameters on the page."""

    name: str
    label: Any
    widget: str  # text, textarea, number, select
    choices: list[tuple[str, Any]] = dc_field(default_factory=list)
    help: Any = ""
    value: Any = ""
    refresh: bool = False  # changing it re-draws the action (other inputs depend on it)
    error: str = ""
    values: list[str] = dc_field(default_factory=list)


@dataclass
class ActionRow:
    index: int
    type: str
    label: Any
    params: list[Param]
    error: str = ""


@dataclass
class CondNode:
    key: str
    jpath: str
    kind: str  # group | leaf
    join: str = "all"
    field: str = ""
    op: str = ""
    value: Any = ""
    children: list[CondNode] = dc_field(default_factory=list)
    depth: int = 0
    # Filled for drawing:
    ops: list[tuple[str, Any]] = dc_field(default_factory=list)
    spec: FieldSpec | None = None
    choices: list[tuple[str, Any]] = dc_field(default_factory=list)
    errors: dict[str, str] = dc_field(default_factory=dict)

    @property
    def value_list(self) -> list[str]:
        if isinstance(self.value, list):
            return [str(v) for v in self.value]
        return [str(self.value)] if self.value not in (None, "") else []

    @property
    def value_text(self) -> str:
        if isinstance(self.value, list):
            return ", ".join(str(v) for v in self.value)
        if isinstance(self.value, bool):
            return "true" if self.value else "false"
        return "" if self.value is None else str(self.value)

    @property
    def needs_value(self) -> bool:
        return self.op not in NO_VALUE_OPS

    @property
    def multiple(self) -> bool:
        return self.op in LIST_OPS


def _member_choices(workspace: Workspace) -> list[tuple[str, Any]]:
    rows = (
        Membership.objects.for_workspace(workspace)
        .filter(is_active=True, user__is_active=True)
        .select_related("user")
        .order_by("user__full_name", "user__email")
    )
    return [(str(m.user_id), m.user.display_name) for m in rows]


def _team_choices(workspace: Workspace) -> list[tuple[str, Any]]:
    return [(str(t.pk), t.name) for t in Team.objects.for_workspace(workspace).order_by("name")]


class RuleEditor:
    """The editor's state: the rule's fields, condition tree and actions, as posted or as
    stored, with the errors of the last save attempt placed next to their inputs."""

    def __init__(
        self,
        *,
        workspace: Workspace,
        post: QueryDict | None = None,
        rule: Rule | None = None,
        initial_trigger: str = "",
    ) -> None:
        self.workspace = workspace
        self.rule = rule
        self.errors: dict[str, str] = {}
        self.general_errors: list[str] = []
        self._members: list[tuple[str, Any]] | None = None
        self._teams: list[tuple[str, Any]] | None = None
        if post is not None:
            self._from_post(post)
        elif rule is not None:
            self._from_rule(rule)
        else:
            self.fields = {
                "name": "",
                "description": "",
                "trigger": initial_trigger,
                "schedule": "",
                "group": "",
                "is_active": True,
                "stop_after_match": False,
            }
            self.root = CondNode("r", "conditions", "group")
            self.actions: list[dict[str, Any]] = []

    # --- reading ------------------------------------------------------------------------------

    def _from_rule(self, rule: Rule) -> None:
        self.fields = {
            "name": rule.name,
            "description": rule.description,
            "trigger": rule.trigger,
            "schedule": rule.schedule,
            "group": rule.group,
            "is_active": rule.is_active,
            "stop_after_match": rule.stop_after_match,
        }
        tree = rule.conditions or {}
        if "field" in tree:
            tree = {"all": [tree]}
        self.root = self._node_from_json(tree or {"all": []}, "r", "conditions", 0)
        self.actions = [dict(a) for a in rule.actions or []]

    def _node_from_json(self, node: Any, key: str, jpath: str, depth: int) -> CondNode:
        if isinstance(node, dict) and ("all" in node or "any" in node):
            join = "any" if "any" in node else "all"
            out = CondNode(key, jpath, "group", join=join, depth=depth)
            for i, child in enumerate(node.get(join) or []):
                out.children.append(
                    self._node_from_json(child, f"{key}.{i}", f"{jpath}.{join}[{i}]", depth + 1)
                )
            return out
        node = node if isinstance(node, dict) else {}
        return CondNode(
            key,
            jpath,
            "leaf",
            field=str(node.get("field") or ""),
            op=str(node.get("op") or ""),
            value=node.get("value", ""),
            depth=depth,
        )

    def _from_post(self, post: QueryDict) -> None:
        self.fields = {
            "name": post.get("name", ""),
            "description": post.get("description", ""),
            "trigger": post.get("trigger", ""),
            "schedule": post.get("schedule", ""),
            "group": post.get("group", ""),
            "is_active": post.get("is_active") in ("on", "true", "1"),
            "stop_after_match": post.get("stop_after_match") in ("on", "true", "1"),
        }
        keys = sorted(
            {
                k[len("cond-") : -len("-type")]
                for k in post
                if k.startswith("cond-") and k.endswith("-type")
            },
            key=lambda k: [int(p) for p in k.split(".")[1:]],
        )
        keys = [k for k in keys if _KEY.match(k)][:MAX_NODES]
        nodes: dict[str, CondNode] = {"r": CondNode("r", "conditions", "group")}
        nodes["r"].join = "any" if post.get("cond-r-join") == "any" else "all"
        for key in keys:
            if key == "r":
                continue
            parent = nodes.get(key.rsplit(".", 1)[0])
            if parent is None or parent.kind != "group":
                continue
            kind = "group" if post.get(f"cond-{key}-type") == "group" else "leaf"
            node = CondNode(key, "", kind, depth=parent.depth + 1)
            if kind == "group":
                node.join = "any" if post.get(f"cond-{key}-join") == "any" else "all"
            else:
                node.field = post.get(f"cond-{key}-field", "")
                node.op = post.get(f"cond-{key}-op", "")
                values = [v for v in post.getlist(f"cond-{key}-value")]
                node.value = values if node.op in LIST_OPS else (values[0] if values else "")
            parent.children.append(node)
            nodes[key] = node
        self.root = nodes["r"]
        self._renumber(self.root, "r", "conditions", 0)
        self.actions = []
        indexes = sorted(
            {int(m.group(1)) for k in post if (m := re.match(r"^act-(\d{1,2})-type$", k))}
        )
        for i in indexes:
            prefix = f"act-{i}-"
            action: dict[str, Any] = {"type": post.get(f"{prefix}type", "")}
            for k in post:
                if k.startswith(prefix) and k != f"{prefix}type":
                    action[k[len(prefix) :]] = post.get(k, "")
            self.actions.append(action)

    def _renumber(self, node: CondNode, key: str, jpath: str, depth: int) -> None:
        node.key, node.jpath, node.depth = key, jpath, depth
        for i, child in enumerate(node.children):
            self._renumber(child, f"{key}.{i}", f"{jpath}.{node.join}[{i}]", depth + 1)

    # --- builder commands ---------------------------------------------------------------------

    def _find(self, key: str, node: CondNode | None = None) -> CondNode | None:
        node = node or self.root
        if node.key == key:
            return node
        for child in node.children:
            found = self._find(key, child)
            if found is not None:
                return found
        return None

    def apply(self, command: str, post: Mapping[str, Any]) -> None:
        """Carry out an add / remove / move command of the builder."""
        verb, _sep, arg = command.partition(":")
        if verb in ("add", "group"):
            parent = self._find(arg)
            if parent is not None and parent.kind == "group" and self._count() < MAX_NODES:
                kind = "group" if verb == "group" else "leaf"
                child = CondNode("", "", kind, depth=parent.depth + 1)
                if kind == "group":
                    child.children.append(CondNode("", "", "leaf", depth=parent.depth + 2))
                parent.children.append(child)
        elif verb == "remove" and arg != "r":
            parent = self._find(arg.rsplit(".", 1)[0])
            if parent is not None:
                parent.children = [c for c in parent.children if c.key != arg]
        elif verb == "action-add":
            kind = post.get("new_action_type") or ""
            if kind in {a.name for a in registered_actions()} and len(self.actions) < 20:
                self.actions.append({"type": kind})
        elif verb in ("action-remove", "action-up", "action-down") and arg.isdigit():
            i = int(arg)
            if 0 <= i < len(self.actions):
                if verb == "action-remove":
                    del self.actions[i]
                else:
                    j = i - 1 if verb == "action-up" else i + 1
                    if 0 <= j < len(self.actions):
                        self.actions[i], self.actions[j] = self.actions[j], self.actions[i]
        self._renumber(self.root, "r", "conditions", 0)

    def _count(self, node: CondNode | None = None) -> int:
        node = node or self.root
        return 1 + sum(self._count(c) for c in node.children)

    # --- to the services ----------------------------------------------------------------------

    @property
    def subject_name(self) -> str | None:
        found = trigger_for(str(self.fields.get("trigger") or ""))
        return found.subject_type if found else None

    def data(self) -> dict[str, Any]:
        """What `rule_create` / `rule_update` take."""
        return {
            **self.fields,
            "conditions": self._json(self.root) if self.root.children else {},
            "actions": [self._action_json(a) for a in self.actions],
        }

    def _json(self, node: CondNode) -> dict[str, Any]:
        if node.kind == "group":
            return {node.join: [self._json(c) for c in node.children]}
        out: dict[str, Any] = {"field": node.field, "op": node.op}
        if node.op in NO_VALUE_OPS:
            return out
        kind = "text"
        if self.subject_name and node.field:
            resolved = resolve_field(node.field, subject_type=self.subject_name)
            kind = resolved.spec.kind if resolved else "text"
        if node.op in LIST_OPS:
            raw = node.value if isinstance(node.value, list) else [node.value]
            items: list[str] = []
            for item in raw:
                items.extend(p.strip() for p in str(item).split(",") if p.strip())
            out["value"] = [_typed(kind, v) for v in items]
        elif node.op == "changed":
            if node.value not in (None, ""):
                out["value"] = _typed(kind, node.value)
        else:
            out["value"] = _typed(kind, node.value)
        return out

    def _action_json(self, action: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"type": action.get("type", "")}
        for name, value in action.items():
            if name == "type":
                continue
            if isinstance(value, str):
                value = value.strip() if name not in ("body", "description") else value
                if value == "" and name not in ("value", "secret"):
                    continue
                if name.endswith("_id") or name in ("due_in_hours", *WAIT_UNITS):
                    value = int(value) if value.isdigit() else value
                elif name == "value" and action.get("type") == "set_field":
                    value = self._set_field_value(action, value)
            out[name] = value
        return out

    def _set_field_value(self, action: dict[str, Any], value: str) -> Any:
        st_name = self.subject_name
        if not st_name:
            return value
        spec = subject_type(st_name).get_field(str(action.get("field") or ""))
        return _typed(spec.kind, value) if spec else value

    # --- errors -------------------------------------------------------------------------------

    def add_errors(self, errors: list[FieldError]) -> None:
        for error in errors:
            self.errors.setdefault(error.field, str(error.message))

    def error_for(self, path: str) -> str:
        return self.errors.get(path, "")

    # --- drawing ------------------------------------------------------------------------------

    @property
    def members(self) -> list[tuple[str, Any]]:
        if self._members is None:
            self._members = _member_choices(self.workspace)
        return self._members

    @property
    def teams(self) -> list[tuple[str, Any]]:
        if self._teams is None:
            self._teams = _team_choices(self.workspace)
        return self._teams

    def field_choices(self) -> list[tuple[str, Any]]:
        if not self.subject_name:
            return []
        return [(path, label) for path, label, _spec in condition_fields(self.subject_name)]

    def prepared_root(self) -> CondNode:
        """The tree with each leaf's operators, field spec and errors filled in."""
        self._prepare(self.root)
        return self.root

    def _prepare(self, node: CondNode) -> None:
        prefix = node.jpath
        node.errors = {
            name: self.errors[f"{prefix}.{name}"]
            for name in ("field", "op", "value")
            if f"{prefix}.{name}" in self.errors
        }
        if prefix in self.errors:
            node.errors["node"] = self.errors[prefix]
        for i in range(200):
            key = f"{prefix}.value[{i}]"
            if key in self.errors:
                node.errors.setdefault("value", self.errors[key])
        if node.kind == "group":
            for join in ("all", "any"):
                if f"{prefix}.{join}" in self.errors:
                    node.errors["node"] = self.errors[f"{prefix}.{join}"]
            for child in node.children:
                self._prepare(child)
            return
        resolved = (
            resolve_field(node.field, subject_type=self.subject_name)
            if self.subject_name and node.field
            else None
        )
        node.spec = resolved.spec if resolved else None
        node.choices = self.value_choices(node.spec)
        kind = node.spec.kind if node.spec else "text"
        labels = {**OP_LABELS, **(DATE_OP_LABELS if kind in ("date", "datetime") else {})}
        node.ops = [(op, labels[op]) for op in OPS_BY_KIND[kind]]
        if node.op and node.op not in OPS_BY_KIND[kind]:
            node.ops.append((node.op, labels.get(node.op, node.op)))

    def value_choices(self, spec: FieldSpec | None) -> list[tuple[str, Any]]:
        if spec is None:
            return []
        if spec.kind == "choice":
            return [(str(v), label) for v, label in spec.choices]
        if spec.kind == "bool":
            return [("true", _("Yes")), ("false", _("No"))]
        if spec.kind == "user":
            return self.members
        if spec.kind == "team":
            return self.teams
        return []

    def action_rows(self) -> list[ActionRow]:
        labels = {a.name: a.label for a in registered_actions()}
        rows = []
        for i, action in enumerate(self.actions):
            kind = str(action.get("type") or "")
            params = self._params(kind, action)
            for param in params:
                param.error = self.errors.get(f"actions[{i}].{param.name}", "")
            rows.append(
                ActionRow(
                    i,
                    kind,
                    labels.get(kind, kind),
                    params,
                    error=self.errors.get(f"actions[{i}].type", "")
                    or self.errors.get(f"actions[{i}]", ""),
                )
            )
        return rows

    def _params(self, kind: str, a: dict[str, Any]) -> list[Param]:
        def v(name: str, default: Any = "") -> Any:
            value = a.get(name, default)
            return "" if value is None else value

        if kind == "assign":
            strategy = v("strategy", "round_robin")
            params = [
                Param(
                    "strategy",
                    _("How"),
                    "select",
                    [(s, STRATEGY_LABELS[s]) for s in STRATEGIES],
                    value=strategy,
                    refresh=True,
                )
            ]
            if strategy == "user":
                params.append(
                    Param("user_id", _("Person"), "select", self.members, value=v("user_id"))
                )
            params.append(
                Param(
                    "team_id",
                    _("Team"),
                    "select",
                    self.teams,
                    value=v("team_id"),
                    help=_("Optional: also give the record to this team.")
                    if strategy == "user"
                    else "",
                )
            )
            return params
        if kind == "set_field":
            st_name = self.subject_name
            settable = subject_type(st_name).settable_fields if st_name else []
            chosen = next((s for s in settable if s.name == a.get("field")), None)
            params = [
                Param(
                    "field",
                    _("Field"),
                    "select",
                    [(s.name, s.label) for s in settable],
                    value=v("field"),
                    refresh=True,
                )
            ]
            choices = self.value_choices(chosen)
            value = v("value")
            if isinstance(value, bool):
                value = "true" if value else "false"
            params.append(
                Param(
                    "value",
                    _("Value"),
                    "select" if choices else "text",
                    choices,
                    value=value,
                    help=_("Dates may be relative: today+7d, now+2h.")
                    if chosen and chosen.kind in ("date", "datetime")
                    else "",
                )
            )
            return params
        if kind == "add_tag":
            return [Param("tag", _("Tag"), "text", value=v("tag"))]
        if kind == "create_task":
            assignee = v("assignee", "owner")
            params = [
                Param("title", _("Title"), "text", value=v("title"), help=_placeholder_help()),
                Param("description", _("Description"), "textarea", value=v("description")),
                Param(
                    "due_in_hours",
                    _("Due in (hours)"),
                    "number",
                    value=v("due_in_hours"),
                    help=_("Leave empty for no due date."),
                ),
                Param(
                    "assignee",
                    _("Assign the task to"),
                    "select",
                    [(s, ASSIGNEE_LABELS[s]) for s in ASSIGNEES],
                    value=assignee,
                    refresh=True,
                ),
            ]
            if assignee == "user":
                params.append(
                    Param("user_id", _("Person"), "select", self.members, value=v("user_id"))
                )
            return params
        if kind == "notify":
            to = v("to", "owner")
            params = [
                Param(
                    "to",
                    _("Who"),
                    "select",
                    [(s, RECIPIENT_LABELS[s]) for s in RECIPIENTS],
                    value=to,
                    refresh=True,
                )
            ]
            if to == "user":
                params.append(
                    Param("user_id", _("Person"), "select", self.members, value=v("user_id"))
                )
            if to == "team":
                params.append(Param("team_id", _("Team"), "select", self.teams, value=v("team_id")))
            params += [
                Param("title", _("Title"), "text", value=v("title"), help=_placeholder_help()),
                Param("body", _("Message"), "textarea", value=v("body")),
            ]
            return params
        if kind == "send_email":
            return [
                Param(
                    "to",
                    _("To"),
                    "select",
                    [(s, EMAIL_TARGET_LABELS[s]) for s in EMAIL_TARGETS],
                    value=v("to", "subject"),
                ),
                Param(
                    "subject", _("Subject"), "text", value=v("subject"), help=_placeholder_help()
                ),
                Param("body", _("Message"), "textarea", value=v("body")),
            ]
        if kind == "call_webhook":
            return [
                Param("url", _("URL"), "text", value=v("url")),
                Param(
                    "secret",
                    _("Signing secret"),
                    "text",
                    value=v("secret"),
                    help=_(
                        "Each call carries an HMAC-SHA256 of its body in the X-Vinculo-Signature "
                        "header. Leave empty to have one made."
                    ),
                ),
            ]
        if kind == "wait":
            return [Param(unit, UNIT_LABELS[unit], "number", value=v(unit)) for unit in WAIT_UNITS]
        return []

    @property
    def schedule_choices(self) -> list[tuple[str, Any]]:
        return list(Schedule.choices)


def _placeholder_help() -> Any:
    return _("Placeholders such as {{ first_name }} or {{ account.name }} are filled in.")


def _typed(kind: str, value: Any) -> Any:
    """A posted string as the JSON value a condition or action stores (left as it is when it
    does not parse, so the validation names the problem)."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if kind == "number":
        if re.fullmatch(r"[+-]?\d{1,15}", text):
            return int(text)
        if re.fullmatch(r"[+-]?\d{1,15}[.,]\d{1,10}", text):
            return float(text.replace(",", "."))
        return text
    if kind == "bool":
        if text.lower() in ("true", "1", "yes"):
            return True
        if text.lower() in ("false", "0", "no"):
            return False
        return text
    if kind in ("user", "team"):
        return int(text) if text.isdigit() else text
    return text
