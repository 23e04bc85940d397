"""The rule engine: which rules run for an event, in what order, and what each run logs.

- Rules of an event's type run in (group, position) order; with `stop_after_match` the first
  matching rule of a group ends that group (routing: the first matching team takes the lead).
- Every evaluation is a `RuleRun`: matched or not, the outcome of each action, errors. An
  action that fails logs its error and ends its rule's run (FAILED); other rules still run.
- A rule runs once per event: the runs already logged for an event are skipped, and the
  unique constraint on (rule, event, subject) stops a concurrent worker.
- Loops: while a rule's actions run, the events they record carry the chain of rules behind
  them (`core.events.automation_chain`). A rule already in an event's chain, or any rule past
  `MAX_DEPTH` chained runs, is not run again; the run is logged as LOOP_STOPPED.
- `wait` parks the remaining actions as a `PendingAction`; `resume_due_waits` carries on.
- Scheduled rules look at every live record of their subject type once per hour or day.

The cost when no rule listens to an event type is one query on the `rule_trigger` index.
Nothing is cached across calls, so workspaces never see each other's rules.
"""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from vinculo.automation.actions import (
    ActionContext,
    ActionFailed,
    action_type,
    failure_text,
    wait_delta,
)
from vinculo.automation.conditions import ConditionError, matches
from vinculo.automation.models import PendingAction, Rule, RuleRun, RunStatus, Schedule
from vinculo.automation.subjects import SubjectType, subject_type, trigger_for
from vinculo.core.events import automation_chain
from vinculo.core.exceptions import ApplicationError, NotFound
from vinculo.core.tenancy import workspace_scope

if TYPE_CHECKING:
    from vinculo.core.models import Event, Workspace

logger = logging.getLogger(__name__)

# At most this many rule runs in a chain (a rule's action → event → another rule …).
MAX_DEPTH = 5
SCHEDULE_PAGE = 500
RESUME_BATCH = 200
# Statuses that count as "the rule matched" for stop_after_match.
_MATCHED = (RunStatus.MATCHED, RunStatus.WAITING, RunStatus.FAILED)


@dataclass(frozen=True)
class Chain:
    rules: tuple[int, ...] = ()
    depth: int = 0

    @classmethod
    def of(cls, event: Event | None) -> Chain:
        info = ((event.payload or {}).get("automation") if event is not None else None) or {}
        rules = info.get("rules") if isinstance(info, dict) else None
        depth = info.get("depth") if isinstance(info, dict) else None
        return cls(
            tuple(r for r in (rules or []) if isinstance(r, int)),
            depth if isinstance(depth, int) and depth >= 0 else 0,
        )


@dataclass
class Outcome:
    status: str
    log: list[dict[str, Any]] = field(default_factory=list)
    error: str = ""


def _language(workspace: Workspace) -> str:
    return workspace.locale or "pt-br"


def subject_type_for_trigger(trigger: str, fallback: str = "") -> SubjectType | None:
    found = trigger_for(trigger)
    name = found.subject_type if found else fallback
    try:
        return subject_type(name)
    except KeyError:
        return None


# ---------------------------------------------------------------------------------------------
# Carrying out actions


def execute_actions(
    ctx: ActionContext,
    actions: list[dict[str, Any]],
    *,
    start: int,
    now: dt.datetime | None = None,
) -> Outcome:
    """Run `actions[start:]` in order, each in a savepoint, until one fails or a wait parks
    the rest (due `now` + its delay). Returns the log entries of this stretch."""
    outcome = Outcome(RunStatus.MATCHED)
    for index in range(start, len(actions)):
        action = actions[index]
        kind = action.get("type")
        if kind == "wait":
            due = (now or timezone.now()) + wait_delta(action)
            entry = {"index": index, "type": "wait", "ok": True}
            if index + 1 < len(actions):
                PendingAction.objects.for_workspace(ctx.workspace).create(
                    workspace=ctx.workspace, run=ctx.run, next_action=index + 1, due_at=due
                )
                entry["detail"] = _("Waiting until %(when)s.") % {
                    "when": timezone.localtime(due).strftime("%Y-%m-%d %H:%M")
                }
                entry["due_at"] = due.isoformat()
                outcome.log.append(entry)
                outcome.status = RunStatus.WAITING
                return outcome
            entry["detail"] = _("Nothing left to wait for.")
            outcome.log.append(entry)
            continue
        handler = action_type(kind or "")
        ctx.index = index
        try:
            if handler is None:
                raise ActionFailed(_("Unknown action “%(type)s”.") % {"type": kind})
            with transaction.atomic():
                detail = handler.run(ctx, action)
        except (ActionFailed, ApplicationError) as exc:
            message = str(exc) if isinstance(exc, ActionFailed) else failure_text(exc)
            outcome.log.append({"index": index, "type": kind, "ok": False, "error": message})
            outcome.status, outcome.error = RunStatus.FAILED, message
            return outcome
        except Exception as exc:
            logger.exception("automation action %s of rule %s failed", kind, ctx.rule.pk)
            message = failure_text(exc)
            outcome.log.append({"index": index, "type": kind, "ok": False, "error": message})
            outcome.status, outcome.error = RunStatus.FAILED, message
            return outcome
        outcome.log.append({"index": index, "type": kind, "ok": True, "detail": detail})
    return outcome


def _finish(run: RuleRun, outcome: Outcome, *, append: bool = False) -> None:
    run.action_log = [*(run.action_log or []), *outcome.log] if append else outcome.log
    run.status = outcome.status
    run.error = outcome.error
    run.finished_at = timezone.now()
    run.save(update_fields=["action_log", "status", "error", "finished_at"])


def _count_run(rule: Rule) -> None:
    Rule.all_tenants.filter(pk=rule.pk).update(
        run_count=F("run_count") + 1, last_run_at=timezone.now()
    )


def _run_matched(
    *,
    workspace: Workspace,
    rule: Rule,
    run: RuleRun,
    event: Event | None,
    st: SubjectType,
    obj: Any,
    chain: Chain,
) -> tuple[RuleRun, Any] | None:
    """Claim the run (its unique row) and carry out the rule's actions. None: another worker
    claimed it first."""
    try:
        with transaction.atomic():
            run.save(force_insert=True)
    except IntegrityError:
        return None
    ctx = ActionContext(workspace, rule, run, event, st, obj)
    with automation_chain(rules=[*chain.rules, rule.pk], depth=chain.depth + 1):
        outcome = execute_actions(ctx, list(rule.actions or []), start=0)
    _finish(run, outcome)
    _count_run(rule)
    return run, ctx.obj


# ---------------------------------------------------------------------------------------------
# Events


def run_rules_for_event(event: Event) -> list[RuleRun]:
    """Evaluate the active rules triggered by `event` and carry out those that match. Returns
    the runs logged by this call (none when the event was handled already)."""
    rules = list(
        Rule.all_tenants.filter(
            workspace_id=event.workspace_id,
            trigger=event.type,
            is_active=True,
            schedule=Schedule.NONE,
            deleted_at__isnull=True,
        ).order_by("group", "position", "id")
    )
    if not rules:
        return []
    workspace = event.workspace
    with workspace_scope(workspace), translation.override(_language(workspace)):
        return _run_rules(workspace, event, rules)


def _run_rules(workspace: Workspace, event: Event, rules: list[Rule]) -> list[RuleRun]:
    done = {
        run.rule_id: run
        for run in RuleRun.objects.for_workspace(workspace).filter(
            event=event, rule_id__in=[r.pk for r in rules]
        )
    }
    st = subject_type_for_trigger(event.type, event.subject_type)
    obj = None
    missing = ""
    if st is None:
        missing = _("Records of type “%(type)s” are not known to automation.") % {
            "type": event.subject_type
        }
    else:
        try:
            obj = st.get(workspace=workspace, pk=event.subject_id)
        except NotFound:
            missing = _("The record no longer exists.")
    chain = Chain.of(event)
    stopped: set[str] = set()
    made: list[RuleRun] = []
    quiet: list[RuleRun] = []
    for rule in rules:
        if rule.group in stopped:
            continue
        prior = done.get(rule.pk)
        if prior is not None:
            if rule.stop_after_match and prior.status in _MATCHED:
                stopped.add(rule.group)
            continue
        run = RuleRun(
            workspace=workspace,
            rule=rule,
            event=event,
            subject_type=st.name if st else event.subject_type,
            subject_id=event.subject_id,
            depth=chain.depth,
            started_at=timezone.now(),
        )
        status, error = _judge(rule, st, obj, event, chain, missing)
        if status != RunStatus.MATCHED:
            run.status, run.error, run.finished_at = status, error, timezone.now()
            quiet.append(run)
            continue
        assert st is not None
        run.status = RunStatus.MATCHED
        # Rules that already acted on this event belong to the chain of what follows: a later
        # rule undoing their change must not set them off again.
        acting = Chain((*chain.rules, *(r.rule_id for r in made)), chain.depth)
        result = _run_matched(
            workspace=workspace, rule=rule, run=run, event=event, st=st, obj=obj, chain=acting
        )
        if result is None:
            continue
        made.append(result[0])
        obj = result[1]
        if rule.stop_after_match:
            stopped.add(rule.group)
    if quiet:
        # Runs that did nothing are written together; a concurrent duplicate is dropped.
        RuleRun.objects.for_workspace(workspace).bulk_create(quiet, ignore_conflicts=True)
    return sorted([*made, *quiet], key=lambda r: r.started_at)


def _judge(
    rule: Rule,
    st: SubjectType | None,
    obj: Any,
    event: Event | None,
    chain: Chain,
    missing: str,
) -> tuple[str, str]:
    """(status, error) before any action: MATCHED means the actions should run."""
    if st is None or obj is None:
        return RunStatus.FAILED, missing
    try:
        if not matches(rule.conditions or {}, subject_type=st.name, obj=obj, event=event):
            return RunStatus.NOT_MATCHED, ""
    except ConditionError as exc:
        return RunStatus.FAILED, _("The conditions no longer fit the record: %(error)s") % {
            "error": exc
        }
    if rule.pk in chain.rules:
        return RunStatus.LOOP_STOPPED, _(
            "Not run: this event was caused by this same rule's actions (a loop)."
        )
    if chain.depth >= MAX_DEPTH:
        return RunStatus.LOOP_STOPPED, _(
            "Not run: %(depth)d rules in a row already led to this event."
        ) % {"depth": chain.depth}
    return RunStatus.MATCHED, ""


# ---------------------------------------------------------------------------------------------
# Waits


def resume_due_waits(*, now: dt.datetime | None = None, batch: int = RESUME_BATCH) -> int:
    """Carry on with the actions after each `wait` whose time has come, in every workspace.
    Each is claimed with a conditional update, so two workers never resume the same one.
    Returns how many were resumed."""
    now = now or timezone.now()
    resumed = 0
    while True:
        due = list(
            PendingAction.all_tenants.filter(done_at__isnull=True, due_at__lte=now)
            .select_related("workspace")
            .order_by("due_at", "id")[:batch]
        )
        if not due:
            return resumed
        for pending in due:
            if _resume(pending, now):
                resumed += 1
        if len(due) < batch:
            return resumed


def _resume(pending: PendingAction, now: dt.datetime) -> bool:
    workspace = pending.workspace
    with (
        workspace_scope(workspace),
        translation.override(_language(workspace)),
        transaction.atomic(),
    ):
        claimed = PendingAction.all_tenants.filter(pk=pending.pk, done_at__isnull=True).update(
            done_at=now
        )
        if claimed != 1:
            return False
        run = (
            RuleRun.objects.for_workspace(workspace)
            .select_related("rule", "event")
            .select_for_update(of=("self",))
            .get(pk=pending.run_id)
        )
        rule = run.rule
        if rule.deleted_at is not None or not rule.is_active:
            _finish(
                run,
                Outcome(
                    RunStatus.MATCHED,
                    [
                        {
                            "index": pending.next_action,
                            "type": "wait",
                            "ok": True,
                            "detail": _("The rule was switched off; the rest was not done."),
                        }
                    ],
                ),
                append=True,
            )
            return True
        st = subject_type_for_trigger(rule.trigger, run.subject_type)
        try:
            if st is None:
                raise NotFound("unknown subject type")
            obj = st.get(workspace=workspace, pk=run.subject_id)
        except NotFound:
            _finish(
                run,
                Outcome(RunStatus.FAILED, [], _("The record no longer exists.")),
                append=True,
            )
            return True
        chain = Chain.of(run.event)
        ctx = ActionContext(workspace, rule, run, run.event, st, obj)
        with automation_chain(rules=[*chain.rules, rule.pk], depth=run.depth + 1):
            outcome = execute_actions(
                ctx, list(rule.actions or []), start=pending.next_action, now=now
            )
        _finish(run, outcome, append=True)
    return True


def cancel_waits(*, workspace: Workspace, rule: Rule, reason: str) -> int:
    """Drop the waiting remainders of a rule's runs (its actions changed or it was deleted)."""
    now = timezone.now()
    pending = PendingAction.objects.for_workspace(workspace).filter(
        run__rule=rule, done_at__isnull=True
    )
    run_ids = list(pending.values_list("run_id", flat=True))
    count = pending.update(done_at=now)
    for run in RuleRun.objects.for_workspace(workspace).filter(pk__in=run_ids):
        _finish(
            run,
            Outcome(
                RunStatus.MATCHED,
                [{"index": None, "type": "wait", "ok": True, "detail": reason}],
            ),
            append=True,
        )
    return count


# ---------------------------------------------------------------------------------------------
# Scheduled rules


def window_start(schedule: str, now: dt.datetime, time_zone: str) -> dt.datetime:
    """Start of the current hour, or of the current day in the workspace's time zone."""
    try:
        zone = zoneinfo.ZoneInfo(time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = zoneinfo.ZoneInfo("UTC")
    local = now.astimezone(zone)
    if schedule == Schedule.HOURLY:
        return local.replace(minute=0, second=0, microsecond=0)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def run_scheduled_rules(*, now: dt.datetime | None = None) -> int:
    """Run every scheduled rule whose window (hour or day) has not been handled yet. A window is
    claimed with a conditional update of `last_run_at`, so one worker handles it. Returns the
    number of matched runs."""
    now = now or timezone.now()
    total = 0
    rules = (
        Rule.all_tenants.filter(
            schedule__in=[Schedule.HOURLY, Schedule.DAILY],
            is_active=True,
            deleted_at__isnull=True,
        )
        .select_related("workspace")
        .order_by("id")
    )
    for rule in rules:
        start = window_start(rule.schedule, now, rule.workspace.time_zone)
        claimed = (
            Rule.all_tenants.filter(pk=rule.pk)
            .filter(Q(last_run_at__isnull=True) | Q(last_run_at__lt=start))
            .update(last_run_at=now)
        )
        if claimed != 1:
            continue
        try:
            total += run_scheduled_rule(rule, since=start)
        except Exception:
            logger.exception("scheduled rule %s failed", rule.pk)
    return total


def run_scheduled_rule(rule: Rule, *, since: dt.datetime) -> int:
    """Evaluate `rule` on every live record of its subject type (in pages) and run it on those
    that match and have no run since `since`. Each record's run is its own transaction.
    Non-matching records leave no run (that would be a row per record per hour)."""
    workspace = rule.workspace
    st = subject_type_for_trigger(rule.trigger)
    if st is None:
        return 0
    with workspace_scope(workspace), translation.override(_language(workspace)):
        already = set(
            RuleRun.objects.for_workspace(workspace)
            .filter(rule=rule, started_at__gte=since)
            .values_list("subject_id", flat=True)
        )
        records = st.model.objects.for_workspace(workspace).filter(**st.live_filter)  # type: ignore[attr-defined]
        ran = 0
        last = 0
        while True:
            page = list(records.filter(pk__gt=last).order_by("pk")[:SCHEDULE_PAGE])
            if not page:
                return ran
            for obj in page:
                if obj.pk in already:
                    continue
                try:
                    hit = matches(rule.conditions or {}, subject_type=st.name, obj=obj)
                except ConditionError as exc:
                    _log_failed(workspace, rule, st, obj, str(exc))
                    return ran
                if not hit:
                    continue
                with transaction.atomic():
                    run = RuleRun(
                        workspace=workspace,
                        rule=rule,
                        event=None,
                        subject_type=st.name,
                        subject_id=obj.pk,
                        depth=0,
                        status=RunStatus.MATCHED,
                        started_at=timezone.now(),
                    )
                    if _run_matched(
                        workspace=workspace,
                        rule=rule,
                        run=run,
                        event=None,
                        st=st,
                        obj=obj,
                        chain=Chain(),
                    ):
                        ran += 1
            last = page[-1].pk


def _log_failed(workspace: Workspace, rule: Rule, st: SubjectType, obj: Any, error: str) -> None:
    RuleRun.objects.for_workspace(workspace).create(
        workspace=workspace,
        rule=rule,
        subject_type=st.name,
        subject_id=obj.pk,
        status=RunStatus.FAILED,
        error=_("The conditions no longer fit the record: %(error)s") % {"error": error},
        finished_at=timezone.now(),
    )
