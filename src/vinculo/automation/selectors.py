"""Reads of automation: rules (grouped by trigger and group, in running order) and their runs.

Rules have no owner; under a role whose scope is "own" a person sees the rules they created.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from vinculo.automation.models import Rule, RuleRun, RunStatus
from vinculo.automation.subjects import registered_triggers, subject_type, trigger_for
from vinculo.core.access import visible
from vinculo.core.exceptions import FieldError, NotFound, ValidationFailed
from vinculo.core.pagination import Page, keyset_page

if TYPE_CHECKING:
    from vinculo.core.models import User, Workspace

MODULE = "automation"
RULE_ORDER = ["trigger", "group", "position", "id"]
RUN_ORDER = ["-started_at", "-id"]
# The run log's filters: "failed" also shows loops stopped (neither did what it should).
RUN_FILTERS = {
    "matched": (RunStatus.MATCHED, RunStatus.WAITING),
    "not_matched": (RunStatus.NOT_MATCHED,),
    "failed": (RunStatus.FAILED, RunStatus.LOOP_STOPPED),
}


def _rules(workspace: Workspace, viewer: User | None) -> QuerySet[Rule]:
    return visible(
        Rule.objects.for_workspace(workspace),
        workspace=workspace,
        viewer=viewer,
        module=MODULE,
        owner_field="created_by",
    )


def rule_list(
    *,
    workspace: Workspace,
    viewer: User | None,
    trigger: str | None = None,
    deleted: bool = False,
    after: str | None = None,
    limit: int = 50,
) -> Page[Rule]:
    """Rules in running order (trigger, group, position), a keyset page at a time."""
    qs = _rules(workspace, viewer).filter(deleted_at__isnull=not deleted)
    if trigger:
        qs = qs.filter(trigger=trigger)
    return keyset_page(qs, order=RULE_ORDER, after=after, limit=limit)


@dataclass
class RuleGroup:
    trigger: str
    trigger_label: Any
    group: str
    rules: list[Rule] = field(default_factory=list)


def rule_groups(*, workspace: Workspace, viewer: User | None) -> list[RuleGroup]:
    """Every live rule, grouped by trigger and group in running order (the rules page)."""
    groups: list[RuleGroup] = []
    for rule in _rules(workspace, viewer).filter(deleted_at__isnull=True).order_by(*RULE_ORDER):
        if not groups or (groups[-1].trigger, groups[-1].group) != (rule.trigger, rule.group):
            found = trigger_for(rule.trigger)
            groups.append(
                RuleGroup(rule.trigger, found.label if found else rule.trigger, rule.group)
            )
        groups[-1].rules.append(rule)
    return groups


def rule_get(
    *, workspace: Workspace, viewer: User | None, rule_id: int, deleted: bool | None = False
) -> Rule:
    qs = _rules(workspace, viewer)
    if deleted is not None:
        qs = qs.filter(deleted_at__isnull=not deleted)
    rule = qs.filter(pk=rule_id).first()
    if rule is None:
        raise NotFound(_("There is no such rule."), code="not-found")
    return rule


def rule_runs(
    *,
    workspace: Workspace,
    viewer: User | None,
    rule_id: int,
    status: str | None = None,
    after: str | None = None,
    limit: int = 50,
) -> Page[RuleRun]:
    """A rule's runs, newest first, optionally only matched / not matched / failed."""
    rule = rule_get(workspace=workspace, viewer=viewer, rule_id=rule_id, deleted=None)
    qs = RuleRun.objects.for_workspace(workspace).filter(rule=rule)
    if status:
        if status not in RUN_FILTERS:
            raise ValidationFailed(
                [
                    FieldError(
                        "status",
                        "invalid-choice",
                        _("Choose one of: %(choices)s.") % {"choices": ", ".join(RUN_FILTERS)},
                    )
                ]
            )
        qs = qs.filter(status__in=RUN_FILTERS[status])
    page = keyset_page(qs, order=RUN_ORDER, after=after, limit=limit)
    attach_subjects(workspace, page.items)
    return page


def attach_subjects(workspace: Workspace, runs: list[RuleRun]) -> None:
    """Give each run `subject` (the record, or None when gone) and `subject_url`: one query
    per subject type on the page."""
    wanted: dict[str, set[int]] = {}
    for run in runs:
        wanted.setdefault(run.subject_type, set()).add(run.subject_id)
    found: dict[tuple[str, int], Any] = {}
    for name, ids in wanted.items():
        try:
            st = subject_type(name)
        except KeyError:
            continue
        model: Any = st.model
        for obj in model.objects.for_workspace(workspace).filter(pk__in=ids):
            found[(name, obj.pk)] = obj
    for run in runs:
        obj = found.get((run.subject_type, run.subject_id))
        run.subject = obj  # type: ignore[attr-defined]
        try:
            run.subject_url = subject_type(run.subject_type).url(obj) if obj else ""  # type: ignore[attr-defined]
        except KeyError:
            run.subject_url = ""  # type: ignore[attr-defined]


def trigger_choices() -> list[tuple[str, Any, str]]:
    """(event type, label, subject type) of every trigger rules can use."""
    return [(t.event_type, t.label, t.subject_type) for t in registered_triggers()]
