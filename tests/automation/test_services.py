"""Writing rules: every problem of a rule reported at once, each naming its field; rights;
reordering; delete and restore; the events of each write."""

from __future__ import annotations

import pytest

from vinculo.automation.models import Rule
from vinculo.automation.services import (
    rule_create,
    rule_delete,
    rule_move,
    rule_reorder,
    rule_restore,
    rule_update,
)
from vinculo.core.exceptions import NotFound, PermissionDenied, ValidationFailed
from vinculo.core.models import Event
from vinculo.core.roles import Role


def errors_of(call, **kwargs) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as exc:
        call(**kwargs)
    return {e.field: e.message for e in exc.value.errors}


def test_create_stores_the_cleaned_rule_and_records_its_event(workspace, admin, team):
    rule = rule_create(
        workspace=workspace,
        actor=admin,
        data={
            "name": "  Route   Brazil ",
            "trigger": "contact.created",
            "group": "routing",
            "conditions": {"all": [{"field": "country", "op": "eq", "value": "BR"}]},
            "actions": [
                {"type": "assign", "strategy": "round_robin", "team_id": str(team.pk)},
                {"type": "notify", "title": "  New  lead ", "to": "owner"},
            ],
        },
    )
    rule.refresh_from_db()
    assert rule.name == "Route Brazil"
    assert rule.created_by == admin
    assert rule.position == 0
    assert rule.actions == [
        {"type": "assign", "strategy": "round_robin", "team_id": team.pk},
        {"type": "notify", "to": "owner", "title": "New lead", "body": ""},
    ]
    event = Event.objects.get(type="rule.created", subject_id=rule.pk)
    assert event.payload["fields"]["actions"] == ["assign", "notify"]
    second = rule_create(
        workspace=workspace,
        actor=admin,
        data={"name": "b", "trigger": "contact.created", "group": "routing"},
    )
    assert second.position == 1


def test_every_problem_is_reported_at_once_naming_its_field(workspace, admin, other_workspace):
    from vinculo.core.services import team_create

    foreign_team = team_create(workspace=other_workspace, actor=None, name="Theirs")
    errors = errors_of(
        rule_create,
        workspace=workspace,
        actor=admin,
        data={
            "name": "",
            "trigger": "contact.created",
            "schedule": "weekly",
            "colour": "red",
            "conditions": {"all": [{"field": "nope", "op": "eq", "value": 1}]},
            "actions": [
                {"type": "assign", "strategy": "round_robin", "team_id": foreign_team.pk},
                {"type": "teleport"},
                {"type": "set_field", "field": "created_at", "value": "x"},
                {"type": "wait"},
                {"type": "call_webhook", "url": "ftp://example.com/x", "secret": "short"},
                {"type": "send_email", "subject": "{{ nope }}", "body": ""},
                {"type": "create_task", "title": "t", "assignee": "user"},
                {"type": "add_tag", "tag": "x" * 61},
            ],
        },
    )
    assert errors == {
        "name": "Give the rule a name.",
        "schedule": 'Choose one of: "", hourly, daily.',
        "colour": "Unknown field.",
        "conditions.all[0].field": "unknown field “nope”.",
        "actions[0].team_id": "There is no such team in this workspace.",
        "actions[1].type": "Choose one of: assign, set_field, add_tag, create_task, notify, "
        "send_email, call_webhook, wait.",
        "actions[2].field": "This field cannot be set by a rule.",
        "actions[3].minutes": "Wait at least one minute.",
        "actions[4].url": "Enter an http:// or https:// address.",
        "actions[4].secret": "Use a secret of 16 to 200 characters.",
        "actions[5].subject": "Unknown placeholder {{ nope }}.",
        "actions[5].body": "This field is required.",
        "actions[6].user_id": "This field is required.",
        "actions[7].tag": "Use at most 60 characters.",
    }
    assert Rule.objects.count() == 0


def test_an_unknown_trigger_is_refused(workspace, admin):
    errors = errors_of(
        rule_create, workspace=workspace, actor=admin, data={"name": "x", "trigger": "moon.landed"}
    )
    assert errors == {"trigger": "This is not a trigger rules can use."}


def test_changed_is_refused_on_a_scheduled_rule(workspace, admin):
    errors = errors_of(
        rule_create,
        workspace=workspace,
        actor=admin,
        data={
            "name": "x",
            "trigger": "contact.updated",
            "schedule": "daily",
            "conditions": {"all": [{"field": "owner", "op": "changed"}]},
        },
    )
    assert errors == {"conditions": "“changed” needs an event; a scheduled rule has none."}


def test_actions_the_subject_cannot_take_are_refused(workspace, admin):
    errors = errors_of(
        rule_create,
        workspace=workspace,
        actor=admin,
        data={
            "name": "x",
            "trigger": "account.created",
            "actions": [{"type": "send_email", "to": "subject", "subject": "s", "body": "b"}],
        },
    )
    assert errors == {"actions[0].to": "Account records have no email address; write to the owner."}


def test_update_changes_only_what_is_sent_and_records_the_changes(workspace, admin, rule_factory):
    rule = rule_factory(name="Old", actions=[{"type": "add_tag", "tag": "a"}])
    updated = rule_update(
        workspace=workspace, actor=admin, rule_id=rule.pk, data={"name": "New", "is_active": False}
    )
    assert (updated.name, updated.is_active, updated.actions) == (
        "New",
        False,
        [{"type": "add_tag", "tag": "a"}],
    )
    event = Event.objects.get(type="rule.updated", subject_id=rule.pk)
    assert event.payload["changes"] == {"name": ["Old", "New"], "is_active": [True, False]}
    # Nothing changed: no event.
    rule_update(workspace=workspace, actor=admin, rule_id=rule.pk, data={"name": "New"})
    assert Event.objects.filter(type="rule.updated").count() == 1


def test_a_new_trigger_checks_the_conditions_against_its_record(workspace, admin, rule_factory):
    rule = rule_factory(
        conditions={"all": [{"field": "lifecycle_stage", "op": "eq", "value": "lead"}]}
    )
    errors = errors_of(
        rule_update,
        workspace=workspace,
        actor=admin,
        rule_id=rule.pk,
        data={"trigger": "account.created"},
    )
    assert errors == {"conditions.all[0].field": "unknown field “lifecycle_stage”."}


def test_roles_without_the_right_cannot_write(workspace, make_member, rule_factory):
    sales = make_member("sales@acme.test", Role.SALES)
    marketing = make_member("mkt@acme.test", Role.MARKETING)
    with pytest.raises(PermissionDenied):
        rule_create(
            workspace=workspace, actor=sales, data={"name": "x", "trigger": "contact.created"}
        )
    rule = rule_factory()
    # Marketing may create and edit rules but not delete them.
    rule_update(workspace=workspace, actor=marketing, rule_id=rule.pk, data={"name": "y"})
    with pytest.raises(PermissionDenied):
        rule_delete(workspace=workspace, actor=marketing, rule_id=rule.pk)


def test_a_rule_of_another_workspace_is_not_found(workspace, admin, other_workspace, rule_factory):
    theirs = rule_factory(ws=other_workspace)
    with pytest.raises(NotFound):
        rule_update(workspace=workspace, actor=admin, rule_id=theirs.pk, data={"name": "x"})
    with pytest.raises(NotFound):
        rule_delete(workspace=workspace, actor=admin, rule_id=theirs.pk)


def test_reorder_and_move(workspace, admin, rule_factory):
    a, b, c = (rule_factory(name=n, group="g") for n in "abc")
    other = rule_factory(name="other", group="h")
    rule_reorder(workspace=workspace, actor=admin, rule_ids=[c.pk, a.pk, b.pk])
    order = list(Rule.objects.filter(group="g").order_by("position").values_list("name", flat=True))
    assert order == ["c", "a", "b"]
    rule_move(workspace=workspace, actor=admin, rule_id=b.pk, direction="up")
    order = list(Rule.objects.filter(group="g").order_by("position").values_list("name", flat=True))
    assert order == ["c", "b", "a"]
    assert Event.objects.filter(type="rule.reordered").count() == 2

    assert errors_of(rule_reorder, workspace=workspace, actor=admin, rule_ids=[a.pk, other.pk]) == {
        "rule_ids": "Reorder the rules of one group at a time."
    }
    assert errors_of(rule_reorder, workspace=workspace, actor=admin, rule_ids=[a.pk, b.pk]) == {
        "rule_ids": "Send every rule of the group, each once."
    }
    assert errors_of(rule_reorder, workspace=workspace, actor=admin, rule_ids=[a.pk, a.pk]) == {
        "rule_ids": "Each rule may appear once."
    }


def test_delete_and_restore(workspace, admin, rule_factory):
    rule = rule_factory()
    rule_delete(workspace=workspace, actor=admin, rule_id=rule.pk)
    assert Rule.objects.get(pk=rule.pk).deleted_at is not None
    with pytest.raises(NotFound):
        rule_update(workspace=workspace, actor=admin, rule_id=rule.pk, data={"name": "x"})
    restored = rule_restore(workspace=workspace, actor=admin, rule_id=rule.pk)
    assert restored.deleted_at is None
    assert list(
        Event.objects.filter(subject_id=rule.pk, type__startswith="rule.")
        .order_by("id")
        .values_list("type", flat=True)
    ) == [
        "rule.created",
        "rule.deleted",
        "rule.restored",
    ]
