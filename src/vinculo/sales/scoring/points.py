"""Rule points of a lead: fit rules (the lead's fields match a condition tree) and engagement
rules (points each time something happens to the lead, losing half their weight every
half-life), and the reasons shown beside the score.

Pure computation on rows already loaded: the services decide what to read and write. Fit rules
are evaluated by the automation engine's condition tree (`automation.conditions.matches`);
over many leads the answer of a rule is remembered per combination of the values it reads, so
100,000 leads with a handful of countries cost a handful of evaluations.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import FieldDoesNotExist

from vinculo.sales.models import Lead, ScoringRule, ScoringRuleKind

SECONDS_PER_DAY = 86400.0


@dataclass(frozen=True)
class RuleSpec:
    """An active scoring rule as the computation needs it."""

    id: int
    name: str
    kind: str
    conditions: dict[str, Any]
    event_type: str
    points: int

    @classmethod
    def of(cls, rule: ScoringRule) -> RuleSpec:
        return cls(
            id=rule.pk,
            name=rule.name,
            kind=rule.kind,
            conditions=rule.conditions or {},
            event_type=rule.event_type,
            points=rule.points,
        )

    @property
    def is_fit(self) -> bool:
        return self.kind == ScoringRuleKind.FIT


def condition_fields(tree: Any) -> tuple[str, ...] | None:
    """The field names a condition tree reads, or None when it reads anything else (related
    records, the event) or has a shape this walker does not know: then the answer cannot be
    remembered by field values."""
    names: list[str] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        if not isinstance(node, dict):
            return None
        if not node:
            continue
        group = node.get("all", node.get("any"))
        if group is not None:
            if not isinstance(group, list):
                return None
            stack.extend(group)
            continue
        name = node.get("field")
        if not isinstance(name, str) or "." in name or node.get("op") == "changed":
            return None
        names.append(name)
    return tuple(sorted(set(names)))


def lead_attribute(name: str) -> str | None:
    """The Lead attribute holding a field's raw value (`owner` → `owner_id`), or None when the
    name is not a concrete Lead field."""
    try:
        model_field = Lead._meta.get_field(name)
    except FieldDoesNotExist:
        return None
    if not getattr(model_field, "concrete", False):
        return None
    return str(getattr(model_field, "attname", name))


class FitEvaluator:
    """Which fit rules a lead matches. `matches` is the condition tree evaluator."""

    def __init__(self, rules: Iterable[RuleSpec], matches: Any) -> None:
        self.rules = [r for r in rules if r.is_fit]
        self._matches = matches
        self._keys: dict[int, tuple[str, ...] | None] = {}
        self._cache: dict[int, dict[tuple[Any, ...], bool]] = {}
        for rule in self.rules:
            names = condition_fields(rule.conditions)
            attributes: tuple[str, ...] | None = None
            if names is not None:
                resolved = [lead_attribute(n) for n in names]
                if all(a is not None for a in resolved):
                    attributes = tuple(a for a in resolved if a is not None)
            self._keys[rule.id] = attributes
            self._cache[rule.id] = {}

    @property
    def fields(self) -> frozenset[str] | None:
        """The lead fields the fit rules read; None when some rule reads beyond them."""
        names: set[str] = set()
        for rule in self.rules:
            found = condition_fields(rule.conditions)
            if found is None:
                return None
            names.update(found)
        return frozenset(names)

    def matching(self, lead: Any) -> list[RuleSpec]:
        matched = []
        for rule in self.rules:
            attributes = self._keys[rule.id]
            if attributes is None:
                hit = bool(self._matches(rule.conditions, subject_type="lead", obj=lead))
            else:
                key = tuple(getattr(lead, a) for a in attributes)
                cache = self._cache[rule.id]
                cached = cache.get(key)
                if cached is None:
                    cached = cache[key] = bool(
                        self._matches(rule.conditions, subject_type="lead", obj=lead)
                    )
                hit = cached
            if hit:
                matched.append(rule)
        return matched


def decay_factor(occurred_at: dt.datetime, now: dt.datetime, half_life_days: float) -> float:
    """0.5 ** (age in days / half-life); no decay with a half-life of 0 or for future times."""
    if half_life_days <= 0:
        return 1.0
    age_days = max(0.0, (now - occurred_at).total_seconds() / SECONDS_PER_DAY)
    return float(0.5 ** (age_days / half_life_days))


@dataclass
class EngagementTotal:
    count: int = 0
    points: float = 0.0


def engagement_totals(
    rows: Iterable[tuple[int, int, dt.datetime]],
    *,
    rules: Mapping[int, RuleSpec],
    now: dt.datetime,
    half_life_days: float,
) -> dict[int, EngagementTotal]:
    """Decayed points per engagement rule from (rule_id, points, occurred_at) rows; rows of
    rules no longer active do not count."""
    totals: dict[int, EngagementTotal] = {}
    for rule_id, points, occurred_at in rows:
        if rule_id not in rules:
            continue
        total = totals.get(rule_id)
        if total is None:
            total = totals[rule_id] = EngagementTotal()
        total.count += 1
        total.points += points * decay_factor(occurred_at, now, half_life_days)
    return totals


def score_with_reasons(
    fit: Sequence[RuleSpec],
    engagement: Mapping[int, EngagementTotal],
    *,
    rules: Mapping[int, RuleSpec],
) -> tuple[int, list[dict[str, Any]]]:
    """score = round(fit points + decayed engagement points), and the rules behind it, biggest
    first: {"kind", "rule_id", "label", "points"} (+ "count" for engagement). A rule whose
    share rounds to nothing is left out of the reasons."""
    exact = 0.0
    reasons: list[dict[str, Any]] = []
    for rule in fit:
        exact += rule.points
        if rule.points:
            reasons.append(
                {"kind": "fit", "rule_id": rule.id, "label": rule.name, "points": rule.points}
            )
    for rule_id, total in engagement.items():
        exact += total.points
        shown = round(total.points)
        if shown:
            reasons.append(
                {
                    "kind": "engagement",
                    "rule_id": rule_id,
                    "label": rules[rule_id].name,
                    "points": shown,
                    "count": total.count,
                }
            )
    reasons.sort(key=lambda r: (-r["points"], r["label"], r["rule_id"]))
    return round(exact), reasons


def signed(points: int) -> str:
    """+10, −5 (with a real minus sign), 0."""
    return f"+{points}" if points > 0 else f"−{abs(points)}" if points < 0 else "0"


def reason_text(reason: Mapping[str, Any]) -> str:
    """A reason as the lead page reads it: "Country is Brazil +10", "Form submitted (3×) +14"."""
    points = signed(int(reason.get("points", 0)))
    count = reason.get("count")
    if reason.get("kind") == "engagement" and count:
        return f"{reason.get('label', '')} ({count}×) {points}"
    return f"{reason.get('label', '')} {points}"
