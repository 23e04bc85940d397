"""Condition trees: how they evaluate on a record and its related ones, and how a bad tree is
refused with errors that name the place of each problem."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from django.utils import timezone

from vinculo.automation.conditions import (
    ConditionError,
    condition_fields,
    matches,
    validate_conditions,
)


def leaf(field: str, op: str, value=None) -> dict:
    node = {"field": field, "op": op}
    if value is not None:
        node["value"] = value
    return node


@pytest.fixture
def acme(account_factory):
    return account_factory(name="Acme", industry="Retail", size="51-200", country="BR")


@pytest.fixture
def ana(contact_factory, acme, admin):
    return contact_factory(
        first_name="Ana",
        last_name="Souza",
        emails=["ana@example.com"],
        country="BR",
        state="SP",
        lifecycle_stage="customer",
        account_id=acme.pk,
        owner_id=admin.pk,
        tags=["VIP", "Newsletter"],
    )


def check(tree, obj, event=None) -> bool:
    return matches(tree, subject_type="contact", obj=obj, event=event)


def test_an_empty_tree_always_matches(ana):
    assert check({}, ana)
    assert check({"all": []}, ana)
    assert check({"any": []}, ana)


@pytest.mark.parametrize(
    ("node", "expected"),
    [
        (leaf("country", "eq", "br"), True),  # text compares without regard to case
        (leaf("country", "eq", " BR "), True),
        (leaf("country", "ne", "BR"), False),
        (leaf("state", "in", ["RJ", "SP"]), True),
        (leaf("state", "not_in", ["RJ", "SP"]), False),
        (leaf("last_name", "contains", "ouz"), True),
        (leaf("last_name", "not_contains", "ouz"), False),
        (leaf("last_name", "starts_with", "sou"), True),
        (leaf("job_title", "is_empty"), True),
        (leaf("job_title", "is_not_empty"), False),
        (leaf("lifecycle_stage", "eq", "customer"), True),
        (leaf("lifecycle_stage", "in", ["lead", "opportunity"]), False),
        (leaf("tags", "contains", "vip"), True),  # a list matches when any item does
        (leaf("tags", "eq", "Newsletter"), True),
        (leaf("tags", "ne", "Newsletter"), False),
        (leaf("tags", "not_contains", "gold"), True),
        (leaf("account.industry", "eq", "retail"), True),
        (leaf("account.size", "eq", "51-200"), True),
        (leaf("account.name", "starts_with", "Glob"), False),
    ],
)
def test_leaves(ana, node, expected):
    assert check(node, ana) is expected


def test_owner_compares_by_id(ana, admin):
    assert check(leaf("owner", "eq", admin.pk), ana)
    assert check(leaf("owner", "in", [str(admin.pk), 999]), ana)
    assert not check(leaf("owner", "is_empty"), ana)


def test_dates_absolute_and_relative(ana):
    ana.birthdate = dt.date(1990, 5, 17)
    assert check(leaf("birthdate", "eq", "1990-05-17"), ana)
    assert check(leaf("birthdate", "lt", "2000-01-01"), ana)
    assert check(leaf("birthdate", "lt", "today-30d"), ana)
    assert not check(leaf("birthdate", "gt", "today-30d"), ana)
    ana.created_at = timezone.now() - dt.timedelta(hours=3)
    assert check(leaf("created_at", "lt", "now-2h"), ana)
    assert not check(leaf("created_at", "lt", "now-4h"), ana)
    assert check(leaf("created_at", "gte", "today-1w"), ana)


def test_custom_fields(ana):
    ana.custom_fields = {"size": "large"}
    assert check(leaf("custom_fields.size", "eq", "LARGE"), ana)
    assert check(leaf("custom_fields.plan", "is_empty"), ana)


def test_and_or_groups(ana):
    tree = {
        "all": [
            leaf("country", "eq", "BR"),
            {"any": [leaf("state", "eq", "RJ"), leaf("tags", "contains", "vip")]},
        ]
    }
    assert check(tree, ana)
    tree["all"][1]["any"][1]["value"] = "gold"
    assert not check(tree, ana)
    assert check({"any": [leaf("country", "eq", "AR"), leaf("country", "eq", "BR")]}, ana)
    assert not check({"all": [leaf("country", "eq", "AR"), leaf("country", "eq", "BR")]}, ana)


def test_a_missing_related_record_is_empty(contact_factory):
    loner = contact_factory(first_name="Solo")
    assert check(leaf("account.industry", "is_empty"), loner)
    assert not check(leaf("account.industry", "eq", "Retail"), loner)
    assert check(leaf("account.industry", "ne", "Retail"), loner)


def test_changed_reads_the_event_payload(ana, admin):
    updated = SimpleNamespace(
        type="contact.updated", payload={"changes": {"owner_id": [None, admin.pk]}}
    )
    assert check(leaf("owner", "changed"), ana, updated)
    assert check(leaf("owner", "changed", admin.pk), ana, updated)
    assert not check(leaf("owner", "changed", admin.pk + 1), ana, updated)
    assert not check(leaf("country", "changed"), ana, updated)
    assert not check(leaf("owner", "changed"), ana, None)
    created = SimpleNamespace(type="contact.created", payload={"fields": {"country": "BR"}})
    assert check(leaf("country", "changed", "br"), ana, created)
    # Events that carry the new value as to_<field> (deal.stage_changed's to_stage_id).
    moved = SimpleNamespace(type="contact.reassigned", payload={"to_owner_id": admin.pk})
    assert check(leaf("owner", "changed", admin.pk), ana, moved)


def test_a_tree_naming_an_unknown_field_raises(ana):
    with pytest.raises(ConditionError):
        check(leaf("shoe_size", "eq", 42), ana)


def _fields(errors) -> dict[str, str]:
    return {e.field: e.message for e in errors}


def test_validation_names_each_problem_by_its_place():
    tree = {
        "all": [
            leaf("country", "eq", "BR"),
            leaf("shoe_size", "eq", 42),
            {"any": [leaf("lifecycle_stage", "eq", "martian"), leaf("state", "in", [])]},
            leaf("country", "gt", "A"),
            leaf("birthdate", "lt", "someday"),
            {"field": "country", "op": "explode"},
            leaf("account.industry", "changed"),
            "nonsense",
        ]
    }
    errors = _fields(validate_conditions(tree, subject_type="contact"))
    assert errors["conditions.all[1].field"] == "unknown field “shoe_size”."
    assert "Choose one of" in errors["conditions.all[2].any[0].value"]
    assert errors["conditions.all[2].any[1].value"] == "Enter one or more values."
    assert "does not apply" in errors["conditions.all[3].op"]
    assert "Enter a date" in errors["conditions.all[4].value"]
    assert "conditions.all[5].op" in errors
    assert "own fields" in errors["conditions.all[6].op"]
    assert "conditions.all[7]" in errors
    assert "conditions.all[0].field" not in errors


def test_validation_accepts_good_trees():
    tree = {
        "any": [
            leaf("country", "in", ["BR", "AR"]),
            {"all": [leaf("owner", "is_empty"), leaf("account.size", "eq", "1-10")]},
            leaf("created_at", "lt", "now-2h"),
            leaf("owner", "changed"),
        ]
    }
    assert validate_conditions(tree, subject_type="contact") == []
    assert validate_conditions({}, subject_type="contact") == []


def test_validation_limits_depth_and_groups():
    deep: dict = {"all": [leaf("country", "eq", "BR")]}
    for _ in range(5):
        deep = {"all": [deep]}
    assert any(e.code == "too-deep" for e in validate_conditions(deep, subject_type="contact"))
    both = {"all": [], "any": []}
    assert _fields(validate_conditions(both, subject_type="contact")) == {
        "conditions": "A group holds exactly one of “all” or “any”."
    }


def test_related_fields_are_offered(db):
    paths = [path for path, _label, _spec in condition_fields("contact")]
    assert "country" in paths
    assert "account.industry" in paths
