"""The engine: which rules run for an event and in what order, what every run logs, how a
failure stays inside its rule, and how a re-delivered event does nothing twice."""

from __future__ import annotations

import pytest

from vinculo.automation.engine import run_rules_for_event
from vinculo.automation.models import RuleRun, RunStatus
from vinculo.automation.services import rule_delete, rule_update
from vinculo.contacts.models import Contact
from vinculo.contacts.services import contact_delete, contact_update
from vinculo.core.events import registered_subscribers
from vinculo.core.models import Event


def tags_of(contact: Contact) -> list[str]:
    return sorted(contact.tags.values_list("name", flat=True))


def runs_of(rule) -> list[RuleRun]:
    return list(RuleRun.objects.filter(rule=rule).order_by("id"))


def last_event(contact: Contact, type_: str = "contact.created") -> Event:
    return Event.objects.filter(subject_id=contact.pk, type=type_).latest("id")


def test_the_subscriber_listens_to_every_event():
    sub = next(s for s in registered_subscribers() if s.name == "automation.rules")
    assert sub.types is None


def test_rules_run_in_group_and_position_order_and_every_evaluation_is_logged(
    rule_factory, contact_factory, deliver
):
    second = rule_factory(group="g", position=1, actions=[{"type": "add_tag", "tag": "second"}])
    first = rule_factory(group="g", position=0, actions=[{"type": "add_tag", "tag": "first"}])
    skipped = rule_factory(
        group="g",
        position=2,
        conditions={"all": [{"field": "country", "op": "eq", "value": "AR"}]},
        actions=[{"type": "add_tag", "tag": "never"}],
    )
    contact = deliver(contact_factory, country="BR")

    assert tags_of(contact) == ["first", "second"]
    [run_first] = runs_of(first)
    [run_second] = runs_of(second)
    [run_skipped] = runs_of(skipped)
    assert run_first.started_at <= run_second.started_at
    assert run_first.status == RunStatus.MATCHED
    assert run_first.action_log == [
        {"index": 0, "type": "add_tag", "ok": True, "detail": "Tagged “first”."}
    ]
    assert run_skipped.status == RunStatus.NOT_MATCHED
    assert run_skipped.action_log == []
    assert (run_first.subject_type, run_first.subject_id) == ("contact", contact.pk)
    assert run_first.event_id == last_event(contact).pk
    first.refresh_from_db()
    assert first.run_count == 1 and first.last_run_at is not None


def test_stop_after_match_ends_its_group_only(rule_factory, contact_factory, deliver):
    south = rule_factory(
        group="routing",
        position=0,
        stop_after_match=True,
        conditions={"all": [{"field": "state", "op": "in", "value": ["SP", "RJ"]}]},
        actions=[{"type": "add_tag", "tag": "south"}],
    )
    catch_all = rule_factory(
        group="routing", position=1, actions=[{"type": "add_tag", "tag": "elsewhere"}]
    )
    other_group = rule_factory(group="welcome", actions=[{"type": "add_tag", "tag": "welcome"}])

    paulista = deliver(contact_factory, state="SP", country="BR")
    assert tags_of(paulista) == ["south", "welcome"]
    assert runs_of(catch_all) == []  # not even evaluated: the group had ended

    baiano = deliver(contact_factory, state="BA", country="BR")
    assert tags_of(baiano) == ["elsewhere", "welcome"]
    assert [r.status for r in runs_of(south)] == [RunStatus.MATCHED, RunStatus.NOT_MATCHED]
    assert len(runs_of(other_group)) == 2


def test_a_failing_action_fails_its_run_and_the_other_rules_still_run(
    rule_factory, contact_factory, deliver, team
):
    broken = rule_factory(
        position=0,
        actions=[
            {"type": "add_tag", "tag": "before"},
            {"type": "set_field", "field": "country", "value": "ZZ"},
            {"type": "add_tag", "tag": "after"},
        ],
    )
    fine = rule_factory(position=1, actions=[{"type": "add_tag", "tag": "fine"}])
    contact = deliver(contact_factory)

    [run] = runs_of(broken)
    assert run.status == RunStatus.FAILED
    assert "country" in run.error
    assert [e["ok"] for e in run.action_log] == [True, False]
    assert run.action_log[1]["type"] == "set_field"
    assert tags_of(contact) == ["before", "fine"]
    assert runs_of(fine)[0].status == RunStatus.MATCHED


def test_a_redelivered_event_does_nothing_twice(rule_factory, contact_factory, deliver, team):
    rule = rule_factory(
        actions=[
            {"type": "assign", "strategy": "round_robin", "team_id": team.pk},
            {"type": "add_tag", "tag": "once"},
        ]
    )
    contact = deliver(contact_factory)
    contact.refresh_from_db()
    owner = contact.owner_id
    event = last_event(contact)

    assert run_rules_for_event(event) == []
    assert run_rules_for_event(event) == []
    contact.refresh_from_db()
    assert contact.owner_id == owner
    assert len(runs_of(rule)) == 1
    # The turn was taken once: the next contact goes to the next person.
    second = deliver(contact_factory)
    second.refresh_from_db()
    assert second.owner_id != owner


def test_stop_after_match_holds_on_redelivery(rule_factory, contact_factory, deliver):
    rule_factory(position=0, stop_after_match=True, actions=[{"type": "add_tag", "tag": "a"}])
    later = rule_factory(position=1, actions=[{"type": "add_tag", "tag": "b"}])
    contact = deliver(contact_factory)
    run_rules_for_event(last_event(contact))
    assert runs_of(later) == []


def test_inactive_deleted_and_scheduled_rules_do_not_run_on_events(
    workspace, rule_factory, contact_factory, deliver
):
    paused = rule_factory(actions=[{"type": "add_tag", "tag": "paused"}])
    rule_update(workspace=workspace, actor=None, rule_id=paused.pk, data={"is_active": False})
    gone = rule_factory(actions=[{"type": "add_tag", "tag": "gone"}])
    rule_delete(workspace=workspace, actor=None, rule_id=gone.pk)
    rule_factory(schedule="hourly", actions=[{"type": "add_tag", "tag": "hourly"}])
    other_trigger = rule_factory(trigger="account.created", actions=[])

    contact = deliver(contact_factory)
    assert tags_of(contact) == []
    assert RuleRun.objects.count() == 0
    assert runs_of(other_trigger) == []


def test_no_rule_for_the_event_type_costs_one_query(
    workspace, rule_factory, contact_factory, django_assert_num_queries
):
    rule_factory(trigger="account.created")
    contact = contact_factory()
    event = last_event(contact)
    with django_assert_num_queries(1):
        assert run_rules_for_event(event) == []


def test_rules_of_another_workspace_never_run(
    other_workspace, rule_factory, contact_factory, deliver
):
    rule_factory(ws=other_workspace, actions=[{"type": "add_tag", "tag": "foreign"}])
    contact = deliver(contact_factory)
    assert tags_of(contact) == []
    assert RuleRun.all_tenants.count() == 0


def test_a_record_deleted_before_its_event_is_handled_fails_the_run(
    workspace, rule_factory, contact_factory
):
    rule = rule_factory(actions=[{"type": "add_tag", "tag": "x"}])
    contact = contact_factory()
    event = last_event(contact)
    contact_delete(workspace=workspace, actor=None, contact_id=contact.pk)
    [run] = run_rules_for_event(event)
    assert run.status == RunStatus.FAILED
    assert run.error == "The record no longer exists."
    assert runs_of(rule)[0].status == RunStatus.FAILED


def test_conditions_see_the_record_as_earlier_rules_left_it(
    rule_factory, contact_factory, deliver, team, reps
):
    rule_factory(
        position=0, actions=[{"type": "assign", "strategy": "user", "user_id": reps[1].pk}]
    )
    rule_factory(
        position=1,
        conditions={"all": [{"field": "owner", "op": "eq", "value": reps[1].pk}]},
        actions=[{"type": "add_tag", "tag": "seen-owner"}],
    )
    contact = deliver(contact_factory)
    assert tags_of(contact) == ["seen-owner"]


def test_changed_condition_on_updates(workspace, rule_factory, contact_factory, deliver):
    rule = rule_factory(
        trigger="contact.updated",
        conditions={"all": [{"field": "lifecycle_stage", "op": "changed", "value": "customer"}]},
        actions=[{"type": "add_tag", "tag": "new-customer"}],
    )
    contact = contact_factory()
    deliver(
        contact_update,
        workspace=workspace,
        actor=None,
        contact_id=contact.pk,
        data={"job_title": "CEO"},
    )
    assert tags_of(contact) == []
    deliver(
        contact_update,
        workspace=workspace,
        actor=None,
        contact_id=contact.pk,
        data={"lifecycle_stage": "customer"},
    )
    assert tags_of(contact) == ["new-customer"]
    assert [r.status for r in runs_of(rule)][:2] == [RunStatus.NOT_MATCHED, RunStatus.MATCHED]


@pytest.mark.parametrize(
    ("language", "expected"), [("pt-br", "Etiqueta “x” adicionada."), ("en", "Tagged “x”.")]
)
def test_run_details_are_written_in_the_workspace_language(
    workspace, rule_factory, contact_factory, deliver, language, expected
):
    workspace.locale = language
    workspace.save()
    rule = rule_factory(actions=[{"type": "add_tag", "tag": "x"}])
    deliver(contact_factory)
    assert runs_of(rule)[0].action_log[0]["detail"] == expected
