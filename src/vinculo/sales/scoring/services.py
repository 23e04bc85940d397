"""Writes of sales scoring: scoring rules and the score half-life, engagements as events
arrive, and the scores stored on leads (rule points with their reasons and the predicted
chance of winning with its factors).

Scores are derived data: refreshing them records no event (an event would come back here and
refresh again). Everything else that changes records one.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from vinculo.analytics import lead_scoring
from vinculo.analytics.models import LeadScoringModel
from vinculo.core.access import require
from vinculo.core.events import record_event
from vinculo.core.exceptions import ErrorCollector, FieldError, NotFound, ValidationFailed
from vinculo.core.models import Event
from vinculo.core.roles import Right
from vinculo.sales.common import sales_settings_for
from vinculo.sales.models import (
    Lead,
    LeadEngagement,
    LeadStatus,
    SalesSettings,
    ScoringRule,
    ScoringRuleKind,
)
from vinculo.sales.scoring.points import (
    FitEvaluator,
    RuleSpec,
    engagement_totals,
    lead_attribute,
    score_with_reasons,
)

if TYPE_CHECKING:
    from vinculo.core.models import User, Workspace

logger = logging.getLogger(__name__)

# Writing rules, the half-life and starting recomputes or training: people who set up how the
# workspace works (admins, managers, marketing), not every sales rep.
RULES_MODULE = "automation"
NAME_MAX = 120
POINTS_LIMIT = 1000
HALF_LIFE_MAX = 3650
EVENT_TYPE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
OPEN_STATUSES = (LeadStatus.NEW, LeadStatus.WORKING, LeadStatus.QUALIFIED)
CHUNK = 2000
# Lead columns never read by scoring: not loaded when many leads are scored at once.
HEAVY_COLUMNS = ("message", "search_document", "score_reasons", "predicted_factors")
# What scoring reads of every lead: its ids, status and the prediction's features.
SCORED_FIELDS = (
    "id",
    "workspace",
    "team",
    "status",
    "source",
    "utm_source",
    "utm_medium",
    "industry",
    "company_size",
    "country",
    "state",
    "email",
    "phone",
    "job_title",
    "web_form",
    # The stored score, to write only the leads whose score moved.
    "score",
    "score_reasons",
    "predicted_score",
    "predicted_factors",
)
SCORE_COLUMNS = ["score", "score_reasons", "predicted_score", "predicted_factors", "scored_at"]
# Lead events that can move a lead's score without an engagement rule of their own.
LEAD_EVENTS = frozenset({"lead.created", "lead.updated", "lead.assigned", "lead.status_changed"})


def _conditions() -> Any:
    from vinculo.automation import conditions

    return conditions


def _safe_matches(conditions: dict[str, Any], *, subject_type: str, obj: Any) -> bool:
    """A rule naming a field that no longer exists scores nothing rather than stopping the
    scoring of every lead (the rules page shows the rule's problems when it is edited)."""
    module = _conditions()
    try:
        return bool(module.matches(conditions, subject_type=subject_type, obj=obj))
    except module.ConditionError:
        logger.warning("scoring rule conditions no longer valid: %s", conditions)
        return False


# ---------------------------------------------------------------------------------------------
# Rules


def _rule_errors(
    data: Mapping[str, Any], *, partial: bool, current: ScoringRule | None
) -> tuple[dict[str, Any], list[FieldError]]:
    """Clean `data` for a rule: every problem at once, each naming its field."""
    errors = ErrorCollector()
    cleaned: dict[str, Any] = {}
    if "name" in data or not partial:
        name = data.get("name")
        name = name.strip() if isinstance(name, str) else ""
        if not name:
            errors.add("name", "required", "Give the rule a name.")
        elif len(name) > NAME_MAX:
            errors.add("name", "too-long", f"Use at most {NAME_MAX} characters.")
        cleaned["name"] = name
    kind = data.get("kind", current.kind if current else None)
    if "kind" in data or not partial:
        if kind not in ScoringRuleKind.values:
            errors.add("kind", "invalid-choice", "Choose fit or engagement.")
        cleaned["kind"] = kind
    if "points" in data or not partial:
        points = data.get("points")
        if isinstance(points, str) and re.fullmatch(r"\s*[+-]?\d{1,6}\s*", points):
            points = int(points)
        if not isinstance(points, int) or isinstance(points, bool):
            errors.add("points", "invalid", "Enter a whole number of points.")
        elif points == 0:
            errors.add("points", "invalid", "Zero points would change nothing.")
        elif abs(points) > POINTS_LIMIT:
            errors.add("points", "out-of-range", f"Use between -{POINTS_LIMIT} and {POINTS_LIMIT}.")
        cleaned["points"] = points
    if "is_active" in data:
        if not isinstance(data["is_active"], bool):
            errors.add("is_active", "invalid", "Enter true or false.")
        cleaned["is_active"] = data["is_active"]
    event_type = data.get("event_type", current.event_type if current else "")
    event_type = event_type.strip() if isinstance(event_type, str) else event_type
    conditions = data.get("conditions", current.conditions if current else {})
    if conditions is None:
        conditions = {}
    if kind == ScoringRuleKind.ENGAGEMENT:
        if not isinstance(event_type, str) or not event_type:
            errors.add("event_type", "required", "Choose the event that earns the points.")
        elif len(event_type) > 80 or not EVENT_TYPE.match(event_type):
            errors.add("event_type", "invalid", "Use an event name such as webform.submitted.")
        cleaned["event_type"] = event_type
    elif kind == ScoringRuleKind.FIT:
        cleaned["event_type"] = ""
    if "conditions" in data or "kind" in data or not partial:
        if not isinstance(conditions, dict):
            errors.add("conditions", "invalid", "Conditions must be a group (all or any).")
        else:
            errors.errors.extend(_conditions().validate_conditions(conditions, subject_type="lead"))
            if kind == ScoringRuleKind.FIT and not _has_leaf(conditions):
                errors.add("conditions", "required", "A fit rule needs at least one condition.")
            if kind == ScoringRuleKind.FIT and _uses_changed(conditions):
                errors.add(
                    "conditions",
                    "invalid",
                    "A fit rule looks at the lead as it is; “changed” needs an event.",
                )
        cleaned["conditions"] = conditions
    return cleaned, errors.errors


def _has_leaf(tree: Any) -> bool:
    if isinstance(tree, dict):
        if "field" in tree:
            return True
        return any(_has_leaf(child) for key in ("all", "any") for child in tree.get(key) or [])
    return False


def _uses_changed(tree: Any) -> bool:
    if isinstance(tree, dict):
        if tree.get("op") == "changed":
            return True
        return any(_uses_changed(c) for key in ("all", "any") for c in tree.get(key) or [])
    return False


def _rule_for_update(workspace: Workspace, rule_id: int) -> ScoringRule:
    rule = (
        ScoringRule.objects.for_workspace(workspace)
        .select_for_update()
        .filter(pk=rule_id, deleted_at__isnull=True)
        .first()
    )
    if rule is None:
        raise NotFound(f"There is no scoring rule {rule_id}.")
    return rule


def _recompute_after_commit(workspace: Workspace) -> None:
    workspace_id = workspace.pk
    transaction.on_commit(lambda: _enqueue_recompute(workspace_id))


def _enqueue_recompute(workspace_id: int) -> Any:
    from vinculo.sales.scoring.tasks import scores_recompute_task

    try:
        return scores_recompute_task.enqueue(workspace_id=workspace_id)
    except Exception:
        # The nightly recompute catches up; a failed enqueue must not fail the user's save.
        logger.exception("could not enqueue a score recompute for workspace %s", workspace_id)
        return None


def scoring_rule_create(
    *, workspace: Workspace, actor: User | None, data: Mapping[str, Any]
) -> ScoringRule:
    """Create a scoring rule. Records `scoring_rule.created`; recomputes every lead's score
    in the background after commit."""
    require(workspace=workspace, user=actor, module=RULES_MODULE, right=Right.CREATE)
    cleaned, errors = _rule_errors(data, partial=False, current=None)
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        rule = ScoringRule.objects.for_workspace(workspace).create(workspace=workspace, **cleaned)
        record_event(
            workspace=workspace,
            actor=actor,
            type="scoring_rule.created",
            subject=rule,
            payload={"fields": _rule_fields(rule)},
        )
        _recompute_after_commit(workspace)
    return rule


def _rule_fields(rule: ScoringRule) -> dict[str, Any]:
    return {
        "name": rule.name,
        "kind": rule.kind,
        "points": rule.points,
        "event_type": rule.event_type,
        "conditions": rule.conditions,
        "is_active": rule.is_active,
    }


def scoring_rule_update(
    *, workspace: Workspace, actor: User | None, rule_id: int, data: Mapping[str, Any]
) -> ScoringRule:
    """Change a scoring rule. Records `scoring_rule.updated` with {"changes": {field: [old,
    new]}} when something changed, and then recomputes every lead's score after commit."""
    require(workspace=workspace, user=actor, module=RULES_MODULE, right=Right.EDIT)
    with transaction.atomic():
        rule = _rule_for_update(workspace, rule_id)
        cleaned, errors = _rule_errors(data, partial=True, current=rule)
        if errors:
            raise ValidationFailed(errors)
        before = _rule_fields(rule)
        for key, value in cleaned.items():
            setattr(rule, key, value)
        after = _rule_fields(rule)
        changes = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
        if changes:
            rule.save(update_fields=list(changes))
            record_event(
                workspace=workspace,
                actor=actor,
                type="scoring_rule.updated",
                subject=rule,
                payload={"changes": changes},
            )
            _recompute_after_commit(workspace)
    return rule


def scoring_rule_delete(*, workspace: Workspace, actor: User | None, rule_id: int) -> None:
    """Delete a scoring rule: its points leave every lead's score (recomputed after commit).
    Records `scoring_rule.deleted`."""
    require(workspace=workspace, user=actor, module=RULES_MODULE, right=Right.DELETE)
    with transaction.atomic():
        rule = _rule_for_update(workspace, rule_id)
        rule.deleted_at = timezone.now()
        rule.is_active = False
        rule.save(update_fields=["deleted_at", "is_active"])
        record_event(
            workspace=workspace,
            actor=actor,
            type="scoring_rule.deleted",
            subject=rule,
            payload={"name": rule.name},
        )
        _recompute_after_commit(workspace)


def scoring_settings_update(
    *, workspace: Workspace, actor: User | None, data: Mapping[str, Any]
) -> SalesSettings:
    """Change how fast engagement points fade (`score_half_life_days`, 1–3650). Records
    `sales_settings.updated`; every score is recomputed after commit."""
    require(workspace=workspace, user=actor, module=RULES_MODULE, right=Right.EDIT)
    raw = data.get("score_half_life_days")
    if isinstance(raw, str) and raw.strip().isdigit():
        raw = int(raw.strip())
    if not isinstance(raw, int) or isinstance(raw, bool) or not 1 <= raw <= HALF_LIFE_MAX:
        raise ValidationFailed(
            [
                FieldError(
                    "score_half_life_days",
                    "out-of-range",
                    f"Enter a whole number of days between 1 and {HALF_LIFE_MAX}.",
                )
            ]
        )
    with transaction.atomic():
        settings = sales_settings_for(workspace)
        old = settings.score_half_life_days
        if old != raw:
            settings.score_half_life_days = raw
            settings.save(update_fields=["score_half_life_days"])
            record_event(
                workspace=workspace,
                actor=actor,
                type="sales_settings.updated",
                subject=settings,
                payload={"changes": {"score_half_life_days": [old, raw]}},
            )
            _recompute_after_commit(workspace)
    return settings


def active_rules(*, workspace: Workspace) -> list[RuleSpec]:
    rules = ScoringRule.objects.for_workspace(workspace).filter(
        is_active=True, deleted_at__isnull=True
    )
    return [RuleSpec.of(rule) for rule in rules.order_by("id")]


# ---------------------------------------------------------------------------------------------
# Scores


@dataclass
class ScoringContext:
    """What scoring any number of leads of a workspace reads once."""

    rules: dict[int, RuleSpec]
    fit: FitEvaluator
    half_life_days: int
    models: lead_scoring.CurrentModels
    now: Any
    web_form_names: dict[int, str] | None = None

    @classmethod
    def load(cls, workspace: Workspace) -> ScoringContext:
        rules = active_rules(workspace=workspace)
        return cls(
            rules={r.id: r for r in rules},
            fit=FitEvaluator(rules, _safe_matches),
            half_life_days=sales_settings_for(workspace).score_half_life_days,
            models=lead_scoring.current_models(workspace=workspace),
            now=timezone.now(),
        )

    def load_fields(self) -> tuple[str, ...] | None:
        """The lead fields scoring reads, or None when a fit rule reads beyond the lead's
        own columns."""
        names = self.fit.fields
        if names is None or any(lead_attribute(name) is None for name in names):
            return None
        return tuple(sorted(set(SCORED_FIELDS) | names))

    def engagement_rules(self) -> dict[int, RuleSpec]:
        return {k: r for k, r in self.rules.items() if not r.is_fit}

    def form_names(self, workspace: Workspace) -> dict[int, str]:
        if self.web_form_names is None:
            self.web_form_names = lead_scoring.web_form_names(workspace=workspace)
        return self.web_form_names

    def apply(
        self,
        workspace: Workspace,
        lead: Any,
        engagements: list[tuple[int, int, Any]],
        engagement_count: int,
    ) -> None:
        """Set the lead's score, reasons, prediction and factors (not saved)."""
        totals = engagement_totals(
            engagements,
            rules=self.engagement_rules(),
            now=self.now,
            half_life_days=self.half_life_days,
        )
        lead.score, lead.score_reasons = score_with_reasons(
            self.fit.matching(lead), totals, rules=self.rules
        )
        prediction = None
        if self.models:
            names = self.form_names(workspace) if lead.web_form_id else {}
            prediction = self.models.predict(
                lead_scoring.lead_row(lead), engagement_count, web_form_names=names
            )
        lead.predicted_score = prediction.score if prediction else None
        lead.predicted_factors = prediction.factors if prediction else []
        lead.scored_at = self.now


def lead_score_refresh(*, workspace: Workspace, lead_id: int) -> Lead:
    """Recompute a lead's rule score (fit + decayed engagement) with its reasons and its
    predicted chance of winning with the top factors, and save them. No event."""
    lead = (
        Lead.objects.for_workspace(workspace)
        .defer(*HEAVY_COLUMNS)
        .filter(pk=lead_id, deleted_at__isnull=True)
        .first()
    )
    if lead is None:
        raise NotFound(f"There is no lead {lead_id}.")
    context = ScoringContext.load(workspace)
    engagements = list(
        LeadEngagement.objects.for_workspace(workspace)
        .filter(lead_id=lead.pk)
        .values_list("rule_id", "points", "occurred_at")
    )
    context.apply(workspace, lead, engagements, len(engagements))
    Lead.objects.for_workspace(workspace).filter(pk=lead.pk).update(
        **{name: getattr(lead, name) for name in SCORE_COLUMNS}
    )
    return lead


class LeadRow:
    """A lead's scored columns without a model instance. Building 100,000 Lead instances took
    a third of a full recompute; these carry the same attributes (foreign keys as `<name>_id`)
    and the model's `_meta`, which is all the condition tree and the prediction read."""

    _meta = Lead._meta

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)

    @property
    def pk(self) -> int:
        return int(self.__dict__["id"])


def _lead_chunks(
    workspace: Workspace,
    *,
    lead_ids: Iterable[int] | None,
    only_open: bool,
    chunk: int,
    fields: tuple[str, ...] | None,
) -> Iterator[list[Any]]:
    """Leads in id order, `chunk` at a time: LeadRows when the fields scoring reads are known,
    model instances (less their heavy text) when a rule reads beyond them."""
    qs: Any = Lead.objects.for_workspace(workspace).filter(deleted_at__isnull=True)
    if only_open:
        qs = qs.filter(status__in=OPEN_STATUSES)
    if fields is not None:
        columns = [lead_attribute(name) or name for name in fields]
        qs = qs.values(*columns)
        make: Any = LeadRow
    else:
        qs = qs.defer(*HEAVY_COLUMNS)
        make = None
    qs = qs.order_by("pk")

    def batch_of(rows: Any) -> list[Any]:
        return [make(row) for row in rows] if make is not None else list(rows)

    if lead_ids is not None:
        wanted = sorted(set(lead_ids))
        for start in range(0, len(wanted), chunk):
            batch = batch_of(qs.filter(pk__in=wanted[start : start + chunk]))
            if batch:
                yield batch
        return
    last = 0
    while True:
        batch = batch_of(qs.filter(pk__gt=last)[:chunk])
        if not batch:
            return
        yield batch
        last = batch[-1].pk


def scores_recompute(
    *,
    workspace: Workspace,
    lead_ids: Iterable[int] | None = None,
    only_open: bool = False,
    chunk: int = CHUNK,
) -> int:
    """Recompute and store the scores of many leads (all of the workspace's by default, the
    open ones with `only_open`): rules, settings and models are read once; leads and their
    engagements a chunk at a time; each chunk is written with one bulk update in its own
    transaction, so a page polling the progress sees it advance. Returns the leads scored."""
    context = ScoringContext.load(workspace)
    done = 0
    chunks = _lead_chunks(
        workspace,
        lead_ids=lead_ids,
        only_open=only_open,
        chunk=chunk,
        fields=context.load_fields(),
    )
    for leads in chunks:
        first, last = leads[0].pk, leads[-1].pk
        by_lead: dict[int, list[tuple[int, int, Any]]] = defaultdict(list)
        rows = (
            LeadEngagement.objects.for_workspace(workspace)
            .filter(lead_id__gte=first, lead_id__lte=last)
            .values_list("lead_id", "rule_id", "points", "occurred_at")
            .order_by()
        )
        for lead_id, rule_id, points, occurred_at in rows:
            by_lead[lead_id].append((rule_id, points, occurred_at))
        changed: list[Any] = []
        same: list[Any] = []
        for lead in leads:
            engagements = by_lead.get(lead.pk, [])
            before = _stored_score(lead)
            context.apply(workspace, lead, engagements, len(engagements))
            (same if before is not None and before == _stored_score(lead) else changed).append(lead)
        with transaction.atomic():
            _write_scores(workspace, changed, context.now)
            if same:
                # Only the time: on PostgreSQL a row whose indexed columns stay as they were
                # is updated in place, without touching the lead table's many indexes.
                Lead.objects.for_workspace(workspace).filter(
                    pk__in=[lead.pk for lead in same]
                ).update(scored_at=context.now)
        done += len(leads)
    return done


def _stored_score(lead: Any) -> tuple[Any, ...] | None:
    """What a LeadRow holds of its score (None for model instances, whose reasons and
    factors are not loaded: they are always written)."""
    if not isinstance(lead, LeadRow):
        return None
    values = lead.__dict__
    return tuple(values[name] for name in SCORE_COLUMNS[:4])


def _write_scores(workspace: Workspace, leads: list[Any], scored_at: Any) -> None:
    """One parameterised UPDATE per lead, sent with executemany: Django's bulk_update builds a
    CASE expression per column and row, which took most of the time of a 100,000-lead
    recompute (about 75 s against 30 s of budget); this writes the same values in a fraction
    of that. Still scoped by workspace, like every write."""
    meta = Lead._meta
    quote = connection.ops.quote_name
    columns = ", ".join(
        f"{quote(str(getattr(meta.get_field(name), 'column', name)))} = %s"
        for name in SCORE_COLUMNS
    )
    # Only quoted names of the model's own table and columns go into the text; every value
    # is a parameter.
    sql = (
        f"UPDATE {quote(meta.db_table)} SET {columns} "  # noqa: S608
        f"WHERE {quote('id')} = %s AND {quote('workspace_id')} = %s"
    )
    adapt_json = connection.ops.adapt_json_value
    when = connection.ops.adapt_datetimefield_value(scored_at)
    rows = [
        (
            lead.score,
            adapt_json(lead.score_reasons, None),
            lead.predicted_score,
            adapt_json(lead.predicted_factors, None),
            when,
            lead.pk,
            workspace.pk,
        )
        for lead in leads
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


@dataclass(frozen=True)
class RecomputeStarted:
    started_at: Any
    total: int
    task_id: str | None


def scores_recompute_start(*, workspace: Workspace, actor: User | None) -> RecomputeStarted:
    """Start recomputing every lead's score in the background ("recompute now")."""
    require(workspace=workspace, user=actor, module=RULES_MODULE, right=Right.EDIT)
    started_at = timezone.now()
    total = Lead.objects.for_workspace(workspace).filter(deleted_at__isnull=True).count()
    result = _enqueue_recompute(workspace.pk)
    return RecomputeStarted(
        started_at=started_at, total=total, task_id=str(result.id) if result else None
    )


# ---------------------------------------------------------------------------------------------
# Engagements: events that earn points


def _event_lead_id(event: Event) -> int | None:
    if event.subject_type == "lead":
        return event.subject_id
    value = (event.payload or {}).get("lead_id")
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return None


def _moves_score(event: Event, fit_fields: frozenset[str] | None) -> bool:
    """Whether a lead event can change the lead's score without earning engagement points: a
    new lead, a change of a field a fit rule or the prediction reads, a new team (the team's
    model predicts)."""
    if event.type in {"lead.created", "lead.assigned"}:
        return True
    if event.type not in LEAD_EVENTS:
        return False
    changes = (event.payload or {}).get("changes")
    if not isinstance(changes, dict):
        return True
    if fit_fields is None:
        return True
    read = fit_fields | lead_scoring.FEATURE_FIELDS
    return any(name in read or name.removesuffix("_id") in read for name in changes)


def lead_engagement_record(*, workspace: Workspace, event: Event) -> Lead | None:
    """Score an event that happened to a lead (its subject, or `lead_id` in its payload):
    each active engagement rule for the event's type whose conditions the lead meets earns
    its points once per event (a second delivery adds nothing), and the lead's score is
    refreshed when the event earned points or changed what the score reads. Returns the
    refreshed lead, or None when nothing changed."""
    lead_id = _event_lead_id(event)
    if lead_id is None:
        return None
    rules = [
        RuleSpec.of(rule)
        for rule in ScoringRule.objects.for_workspace(workspace).filter(
            Q(kind=ScoringRuleKind.FIT) | Q(event_type=event.type),
            is_active=True,
            deleted_at__isnull=True,
        )
    ]
    earning = [r for r in rules if not r.is_fit and r.event_type == event.type]
    fit_fields = FitEvaluator(rules, _safe_matches).fields
    moves = _moves_score(event, fit_fields)
    if not earning and not moves:
        return None
    lead = (
        Lead.objects.for_workspace(workspace)
        .defer(*HEAVY_COLUMNS)
        .filter(pk=lead_id, deleted_at__isnull=True)
        .first()
    )
    if lead is None:
        return None
    earned = [
        LeadEngagement(
            workspace=workspace,
            lead=lead,
            rule_id=rule.id,
            event=event,
            points=rule.points,
            occurred_at=event.occurred_at,
        )
        for rule in earning
        if _engagement_applies(rule, lead, event)
    ]
    if earned:
        LeadEngagement.objects.bulk_create(earned, ignore_conflicts=True)
    if not earned and not moves:
        return None
    return lead_score_refresh(workspace=workspace, lead_id=lead.pk)


def _engagement_applies(rule: RuleSpec, lead: Lead, event: Event) -> bool:
    if not rule.conditions:
        return True
    module = _conditions()
    try:
        return bool(module.matches(rule.conditions, subject_type="lead", obj=lead, event=event))
    except module.ConditionError:
        logger.warning("engagement rule %s conditions no longer valid", rule.id)
        return False


def erased_lead_predictions_clear(*, workspace: Workspace) -> int:
    """Drop the prediction of leads whose person was erased: its factors quote the lead's own
    values (state, source…). Runs inside a person's erasure, after the leads' own step has
    marked them erased; a later rescoring predicts again from what is left. Returns the leads
    cleared."""
    erased = Lead.objects.for_workspace(workspace).filter(erased_at__isnull=False)
    return erased.exclude(predicted_factors=[]).update(predicted_factors=[], predicted_score=None)


# ---------------------------------------------------------------------------------------------
# The predictive model


def lead_scoring_retrain(*, workspace: Workspace) -> list[LeadScoringModel]:
    """Train the workspace's predictive models from its won and lost history (see
    `analytics.lead_scoring`), then rescore its open leads with them."""
    try:
        models = lead_scoring.lead_scoring_train(workspace=workspace)
    except Exception:
        # The open leads still need tonight's decay; the previous models stay current.
        logger.exception("training the lead scoring models of workspace %s failed", workspace.pk)
        models = []
    scores_recompute(workspace=workspace, only_open=True)
    return models


def lead_scoring_train_start(*, workspace: Workspace, actor: User | None) -> str | None:
    """Start training in the background; returns the task's id (None if it could not be
    queued: the nightly run still trains)."""
    require(workspace=workspace, user=actor, module=RULES_MODULE, right=Right.EDIT)
    from vinculo.sales.scoring.tasks import lead_scoring_train_task

    result = lead_scoring_train_task.enqueue(workspace_id=workspace.pk)
    return str(result.id)


NIGHT_HOURS = frozenset({2, 3})


def scoring_nightly_enqueue(*, now: Any = None) -> list[int]:
    """Once a night in each workspace's own time zone (between 02:00 and 04:00), queue the
    retraining of its models and the rescoring of its open leads (which applies the day's
    decay). Each workspace's run is claimed like a periodic job of its own, so with many
    workers, or called every hour, a workspace still runs once a night. Returns the ids of the
    workspaces queued."""
    import zoneinfo
    from datetime import timedelta

    from vinculo.core.models import Workspace
    from vinculo.core.periodic import PeriodicJob, claim
    from vinculo.sales.scoring.tasks import lead_scoring_train_task

    now = now or timezone.now()
    with_leads = Lead.all_tenants.values("workspace_id").distinct().order_by()
    queued = []
    for workspace in Workspace.objects.filter(pk__in=with_leads).order_by("pk"):
        try:
            zone = zoneinfo.ZoneInfo(workspace.time_zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            zone = zoneinfo.ZoneInfo("UTC")
        if now.astimezone(zone).hour not in NIGHT_HOURS:
            continue
        job = PeriodicJob(f"sales.scoring.nightly:{workspace.pk}", timedelta(hours=20), dict)
        if not claim(job):
            continue
        try:
            lead_scoring_train_task.enqueue(workspace_id=workspace.pk)
        except Exception:
            logger.exception("could not queue the nightly scoring of workspace %s", workspace.pk)
            continue
        queued.append(workspace.pk)
    return queued
