"""Writes of automation rules: create, update, delete (soft), restore and reorder.

Every write checks the actor's right on the "automation" module, validates everything at once
(trigger, schedule, the condition tree and each action's parameters, each error naming its
place: `conditions.all[1].field`, `actions[0].team_id`), and records its event in the same
transaction (`rule.created`, `rule.updated`, …). Changing a rule's actions or deleting it drops
the waiting remainders of its runs, since they point into the old list of actions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from vinculo.automation.actions import clean_actions
from vinculo.automation.conditions import condition_uses_changed, validate_conditions
from vinculo.automation.engine import cancel_waits
from vinculo.automation.models import Rule, Schedule
from vinculo.automation.subjects import subject_type, trigger_for
from vinculo.core.access import require, visible
from vinculo.core.events import record_event
from vinculo.core.exceptions import ErrorCollector, NotFound
from vinculo.core.roles import Right

if TYPE_CHECKING:
    from vinculo.core.models import User, Workspace

MODULE = "automation"
NAME_MAX = Rule._meta.get_field("name").max_length or 120
GROUP_MAX = Rule._meta.get_field("group").max_length or 40
DESCRIPTION_MAX = 2000
FIELDS = frozenset(
    {
        "name",
        "description",
        "is_active",
        "trigger",
        "schedule",
        "group",
        "position",
        "stop_after_match",
        "conditions",
        "actions",
    }
)
# Fields whose old → new values go into `rule.updated` (the tree and actions are summarised).
_TRACKED = ("name", "description", "is_active", "trigger", "schedule", "group", "position")


def _text(errors: ErrorCollector, name: str, value: Any, *, max_length: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        errors.add(name, "invalid-type", _("Enter text."))
        return ""
    value = value.strip() if name == "description" else " ".join(value.split())
    if len(value) > max_length:
        errors.add(name, "too-long", _("Use at most %(max)d characters.") % {"max": max_length})
    return value


def _bool(errors: ErrorCollector, name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "on", "1", 1):
        return True
    if value in ("false", "off", "0", 0, "", None):
        return False
    errors.add(name, "invalid", _("Enter true or false."))
    return False


def _clean(
    *,
    workspace: Workspace,
    data: Mapping[str, Any],
    current: Rule | None,
) -> dict[str, Any]:
    """The values to store, for the keys in `data` (all of them on create). Raises
    ValidationFailed listing every problem."""
    errors = ErrorCollector()
    for name in sorted(set(data) - FIELDS):
        errors.add(name, "unknown-field", _("Unknown field."))
    creating = current is None
    cleaned: dict[str, Any] = {}

    if "name" in data or creating:
        cleaned["name"] = _text(errors, "name", data.get("name"), max_length=NAME_MAX)
        if not cleaned["name"] and not any(e.field == "name" for e in errors.errors):
            errors.add("name", "required", _("Give the rule a name."))
    if "description" in data:
        cleaned["description"] = _text(
            errors, "description", data.get("description"), max_length=DESCRIPTION_MAX
        )
    if "group" in data:
        cleaned["group"] = _text(errors, "group", data.get("group"), max_length=GROUP_MAX)
    for flag in ("is_active", "stop_after_match"):
        if flag in data:
            cleaned[flag] = _bool(errors, flag, data.get(flag))
    if "position" in data and data.get("position") is not None:
        position = data.get("position")
        if isinstance(position, bool) or not isinstance(position, int) or position < 0:
            errors.add("position", "invalid", _("Enter a whole number, 0 or more."))
        else:
            cleaned["position"] = position

    trigger = data.get("trigger") if "trigger" in data else (current.trigger if current else None)
    found = trigger_for(trigger) if isinstance(trigger, str) else None
    if "trigger" in data or creating:
        if not trigger:
            errors.add("trigger", "required", _("Choose what starts the rule."))
        elif found is None:
            errors.add("trigger", "invalid-choice", _("This is not a trigger rules can use."))
        else:
            cleaned["trigger"] = trigger
    schedule = data.get("schedule") if "schedule" in data else (current.schedule if current else "")
    schedule = schedule or ""
    if "schedule" in data:
        if schedule not in Schedule.values:
            errors.add(
                "schedule",
                "invalid-choice",
                _("Choose one of: %(choices)s.")
                % {"choices": ", ".join(v or '""' for v in Schedule.values)},
            )
        else:
            cleaned["schedule"] = schedule

    if found is not None:
        st = subject_type(found.subject_type)
        retarget = "trigger" in data and (current is None or current.trigger != trigger)
        conditions = (
            data["conditions"] if "conditions" in data else getattr(current, "conditions", {})
        )
        if "conditions" in data or retarget or "schedule" in data:
            conditions = conditions if conditions is not None else {}
            if not isinstance(conditions, dict):
                errors.add("conditions", "invalid", _("Must be a group of conditions."))
            else:
                errors.errors.extend(validate_conditions(conditions, subject_type=st.name))
                if schedule and condition_uses_changed(conditions):
                    errors.add(
                        "conditions",
                        "changed-needs-event",
                        _("“changed” needs an event; a scheduled rule has none."),
                    )
                cleaned["conditions"] = conditions
        if "actions" in data or retarget:
            actions = data["actions"] if "actions" in data else getattr(current, "actions", [])
            cleaned["actions"] = clean_actions(
                actions if actions is not None else [],
                subject=st,
                workspace=workspace,
                errors=errors,
            )
    errors.raise_if_any()
    return cleaned


def _next_position(workspace: Workspace, trigger: str, group: str) -> int:
    top = (
        Rule.objects.for_workspace(workspace)
        .filter(trigger=trigger, group=group, deleted_at__isnull=True)
        .aggregate(top=Max("position"))["top"]
    )
    return 0 if top is None else top + 1


def _for_write(
    *, workspace: Workspace, actor: User | None, rule_id: int, deleted: bool | None = False
) -> Rule:
    qs = visible(
        Rule.objects.for_workspace(workspace),
        workspace=workspace,
        viewer=actor,
        module=MODULE,
        owner_field="created_by",
    )
    if deleted is not None:
        qs = qs.filter(deleted_at__isnull=not deleted)
    rule = qs.select_for_update(of=("self",)).filter(pk=rule_id).first()
    if rule is None:
        raise NotFound(_("There is no such rule."), code="not-found")
    return rule


def _summary(rule: Rule) -> dict[str, Any]:
    return {
        "name": rule.name,
        "trigger": rule.trigger,
        "schedule": rule.schedule,
        "group": rule.group,
        "position": rule.position,
        "is_active": rule.is_active,
        "actions": [a.get("type") for a in rule.actions or []],
    }


def rule_create(*, workspace: Workspace, actor: User | None, data: Mapping[str, Any]) -> Rule:
    """Create a rule from `data` (name, trigger, conditions, actions, …). It goes to the end of
    its group unless `position` is given. Records `rule.created`. Raises PermissionDenied or
    ValidationFailed (every problem, each naming its field)."""
    require(workspace=workspace, user=actor, module=MODULE, right=Right.CREATE)
    with transaction.atomic():
        cleaned = _clean(workspace=workspace, data=data, current=None)
        now = timezone.now()
        rule = Rule(workspace=workspace, created_by=actor, created_at=now, updated_at=now)
        for name, value in cleaned.items():
            setattr(rule, name, value)
        if "position" not in cleaned:
            rule.position = _next_position(workspace, rule.trigger, rule.group)
        rule.save(force_insert=True)
        record_event(
            workspace=workspace,
            actor=actor,
            type="rule.created",
            subject=rule,
            payload={"fields": _summary(rule)},
        )
    return rule


def rule_update(
    *, workspace: Workspace, actor: User | None, rule_id: int, data: Mapping[str, Any]
) -> Rule:
    """Change the fields in `data` of a rule. New actions drop the waiting remainders of its
    earlier runs. Records `rule.updated` with the changes (nothing when none). Raises
    NotFound, PermissionDenied or ValidationFailed."""
    require(workspace=workspace, user=actor, module=MODULE, right=Right.EDIT)
    with transaction.atomic():
        rule = _for_write(workspace=workspace, actor=actor, rule_id=rule_id)
        cleaned = _clean(workspace=workspace, data=data, current=rule)
        changes: dict[str, list[Any]] = {}
        for name, value in cleaned.items():
            old = getattr(rule, name)
            if old != value:
                changes[name] = (
                    [old, value] if name in _TRACKED else [_tree_note(old), _tree_note(value)]
                )
                setattr(rule, name, value)
        if ("trigger" in changes or "group" in changes) and "position" not in cleaned:
            rule.position = _next_position(workspace, rule.trigger, rule.group)
        if not changes:
            return rule
        rule.updated_at = timezone.now()
        rule.save()
        if "actions" in changes or "trigger" in changes:
            cancel_waits(
                workspace=workspace,
                rule=rule,
                reason=_("The rule's actions changed; the rest was not done."),
            )
        record_event(
            workspace=workspace,
            actor=actor,
            type="rule.updated",
            subject=rule,
            payload={"changes": changes},
        )
    return rule


def _tree_note(value: Any) -> Any:
    """Conditions and actions are summarised in events: the rule holds the full version."""
    if isinstance(value, list):
        return [a.get("type") if isinstance(a, dict) else a for a in value]
    if isinstance(value, dict):
        return {"size": len(str(value))}
    return value


def rule_delete(*, workspace: Workspace, actor: User | None, rule_id: int) -> None:
    """Soft-delete a rule: it stops running at once and drops its waiting remainders; its
    run log stays. Records `rule.deleted`."""
    require(workspace=workspace, user=actor, module=MODULE, right=Right.DELETE)
    with transaction.atomic():
        rule = _for_write(workspace=workspace, actor=actor, rule_id=rule_id)
        rule.deleted_at = timezone.now()
        rule.save(update_fields=["deleted_at"])
        cancel_waits(
            workspace=workspace,
            rule=rule,
            reason=_("The rule was deleted; the rest was not done."),
        )
        record_event(
            workspace=workspace,
            actor=actor,
            type="rule.deleted",
            subject=rule,
            payload={"name": rule.name},
        )


def rule_restore(*, workspace: Workspace, actor: User | None, rule_id: int) -> Rule:
    """Bring back a deleted rule (a no-op if it is not deleted). Records `rule.restored`."""
    require(workspace=workspace, user=actor, module=MODULE, right=Right.DELETE)
    with transaction.atomic():
        rule = _for_write(workspace=workspace, actor=actor, rule_id=rule_id, deleted=None)
        if rule.deleted_at is not None:
            rule.deleted_at = None
            rule.save(update_fields=["deleted_at"])
            record_event(
                workspace=workspace,
                actor=actor,
                type="rule.restored",
                subject=rule,
                payload={"name": rule.name},
            )
    return rule


def rule_reorder(*, workspace: Workspace, actor: User | None, rule_ids: list[int]) -> list[Rule]:
    """Put the rules of one trigger and group in the order of `rule_ids` (all of them, each
    once). Records `rule.reordered`. Raises ValidationFailed for ids that are missing, repeated,
    or not of one group."""
    require(workspace=workspace, user=actor, module=MODULE, right=Right.EDIT)
    errors = ErrorCollector()
    if (
        not isinstance(rule_ids, list)
        or not rule_ids
        or not all(isinstance(i, int) and not isinstance(i, bool) for i in rule_ids)
    ):
        errors.add("rule_ids", "invalid", _("Send the ids of the rules in their new order."))
        errors.raise_if_any()
    if len(set(rule_ids)) != len(rule_ids):
        errors.add("rule_ids", "duplicate", _("Each rule may appear once."))
        errors.raise_if_any()
    with transaction.atomic():
        qs = visible(
            Rule.objects.for_workspace(workspace),
            workspace=workspace,
            viewer=actor,
            module=MODULE,
            owner_field="created_by",
        ).filter(deleted_at__isnull=True)
        rules = {r.pk: r for r in qs.select_for_update(of=("self",)).filter(pk__in=rule_ids)}
        missing = [i for i in rule_ids if i not in rules]
        if missing:
            raise NotFound(_("There is no such rule."), code="not-found")
        groups = {(r.trigger, r.group) for r in rules.values()}
        if len(groups) != 1:
            errors.add("rule_ids", "mixed-groups", _("Reorder the rules of one group at a time."))
            errors.raise_if_any()
        trigger, group = groups.pop()
        siblings = set(qs.filter(trigger=trigger, group=group).values_list("pk", flat=True))
        if siblings != set(rule_ids):
            errors.add(
                "rule_ids",
                "incomplete",
                _("Send every rule of the group, each once."),
            )
            errors.raise_if_any()
        ordered = [rules[i] for i in rule_ids]
        changed = []
        for position, rule in enumerate(ordered):
            if rule.position != position:
                rule.position = position
                changed.append(rule)
        if changed:
            Rule.objects.for_workspace(workspace).bulk_update(changed, ["position"])
            record_event(
                workspace=workspace,
                actor=actor,
                type="rule.reordered",
                subject=ordered[0],
                payload={"trigger": trigger, "group": group, "order": rule_ids},
            )
    return ordered


def rule_move(
    *, workspace: Workspace, actor: User | None, rule_id: int, direction: str
) -> list[Rule]:
    """Move a rule one place up or down in its group (the buttons of the rules page)."""
    if direction not in ("up", "down"):
        errors = ErrorCollector()
        errors.add("direction", "invalid-choice", _("Choose up or down."))
        errors.raise_if_any()
    require(workspace=workspace, user=actor, module=MODULE, right=Right.EDIT)
    with transaction.atomic():
        rule = _for_write(workspace=workspace, actor=actor, rule_id=rule_id)
        order = list(
            visible(
                Rule.objects.for_workspace(workspace),
                workspace=workspace,
                viewer=actor,
                module=MODULE,
                owner_field="created_by",
            )
            .filter(trigger=rule.trigger, group=rule.group, deleted_at__isnull=True)
            .order_by("position", "id")
            .values_list("pk", flat=True)
        )
        at = order.index(rule.pk)
        other = at - 1 if direction == "up" else at + 1
        if 0 <= other < len(order):
            order[at], order[other] = order[other], order[at]
        return rule_reorder(workspace=workspace, actor=actor, rule_ids=order)
