"""Rule points without the database: decay, totals, reasons and the memo of fit answers."""

from __future__ import annotations

import datetime as dt

import pytest

from vinculo.sales.scoring.points import (
    EngagementTotal,
    FitEvaluator,
    RuleSpec,
    condition_fields,
    decay_factor,
    engagement_totals,
    reason_text,
    score_with_reasons,
)

NOW = dt.datetime(2026, 5, 1, 12, tzinfo=dt.UTC)


def _rule(id_: int, name: str, points: int, kind: str = "fit", **kw) -> RuleSpec:
    return RuleSpec(
        id=id_,
        name=name,
        kind=kind,
        conditions=kw.get("conditions", {}),
        event_type=kw.get("event_type", ""),
        points=points,
    )


def test_decay_halves_every_half_life():
    assert decay_factor(NOW, NOW, 30) == 1.0
    assert decay_factor(NOW - dt.timedelta(days=30), NOW, 30) == pytest.approx(0.5)
    assert decay_factor(NOW - dt.timedelta(days=90), NOW, 30) == pytest.approx(0.125)
    assert decay_factor(NOW - dt.timedelta(days=15), NOW, 30) == pytest.approx(2**-0.5)
    # Clocks disagree by a little: an event "in the future" counts in full, never more.
    assert decay_factor(NOW + dt.timedelta(hours=1), NOW, 30) == 1.0
    assert decay_factor(NOW - dt.timedelta(days=400), NOW, 0) == 1.0


def test_engagement_totals_decay_each_row_and_skip_inactive_rules():
    form = _rule(1, "Form submitted", 8, kind="engagement")
    rows = [
        (1, 8, NOW),
        (1, 8, NOW - dt.timedelta(days=30)),
        (1, 8, NOW - dt.timedelta(days=60)),
        (99, 50, NOW),  # a rule deleted since: not counted
    ]
    totals = engagement_totals(rows, rules={1: form}, now=NOW, half_life_days=30)
    assert list(totals) == [1]
    assert totals[1].count == 3
    assert totals[1].points == pytest.approx(8 + 4 + 2)


def test_score_and_reasons_biggest_first():
    country = _rule(1, "Country is Brazil", 10)
    free_mail = _rule(2, "Free webmail", -5)
    form = _rule(3, "Form submitted", 8, kind="engagement")
    visit = _rule(4, "Page visited", 1, kind="engagement")
    rules = {r.id: r for r in (country, free_mail, form, visit)}
    score, reasons = score_with_reasons(
        [country, free_mail],
        {3: EngagementTotal(count=3, points=14.4), 4: EngagementTotal(count=1, points=0.3)},
        rules=rules,
    )
    # 10 − 5 + 14.4 + 0.3 = 19.7
    assert score == 20
    assert [reason_text(r) for r in reasons] == [
        "Form submitted (3×) +14",
        "Country is Brazil +10",
        "Free webmail −5",
    ]
    assert reasons[0] == {
        "kind": "engagement",
        "rule_id": 3,
        "label": "Form submitted",
        "points": 14,
        "count": 3,
    }


def test_condition_fields():
    tree = {
        "all": [
            {"field": "country", "op": "eq", "value": "BR"},
            {
                "any": [
                    {"field": "industry", "op": "eq", "value": "Varejo"},
                    {"field": "country", "op": "eq", "value": "PT"},
                ]
            },
        ]
    }
    assert condition_fields(tree) == ("country", "industry")
    assert condition_fields({}) == ()
    assert condition_fields({"all": [{"field": "account.industry", "op": "eq"}]}) is None
    assert condition_fields({"all": [{"field": "email", "op": "changed"}]}) is None
    assert condition_fields({"all": "nope"}) is None


class _Lead:
    def __init__(self, **values):
        self.__dict__.update(values)


def test_fit_answers_are_remembered_per_value_combination():
    calls = []

    def matches(conditions, *, subject_type, obj):
        calls.append(obj)
        return obj.country == "BR"

    brazil = _rule(
        1, "Brazil", 10, conditions={"all": [{"field": "country", "op": "eq", "value": "BR"}]}
    )
    evaluator = FitEvaluator([brazil, _rule(2, "Form", 5, kind="engagement")], matches)
    leads = [_Lead(country=c) for c in ["BR", "BR", "PT", "BR", "PT", "AR"]]
    hits = [bool(evaluator.matching(lead)) for lead in leads]
    assert hits == [True, True, False, True, False, False]
    assert len(calls) == 3  # BR, PT, AR once each
    assert evaluator.fields == frozenset({"country"})


def test_fit_rules_reading_related_records_are_asked_every_time():
    calls = []

    def matches(conditions, *, subject_type, obj):
        calls.append(obj)
        return True

    rule = _rule(1, "Big account", 10, conditions={"all": [{"field": "account.size", "op": "eq"}]})
    evaluator = FitEvaluator([rule], matches)
    for _ in range(3):
        evaluator.matching(_Lead(country="BR"))
    assert len(calls) == 3
    assert evaluator.fields is None
