"""`wait` parks the rest of a rule's actions until the periodic job resumes them; scheduled
rules look at every live record once per hour or day."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from vinculo.automation.engine import resume_due_waits, run_scheduled_rules
from vinculo.automation.models import PendingAction, Rule, RuleRun, RunStatus
from vinculo.automation.services import rule_delete, rule_update
from vinculo.contacts.models import Contact
from vinculo.contacts.services import contact_delete
from vinculo.core.events import automation_chain
from vinculo.core.periodic import registered_jobs


def tags_of(contact: Contact) -> list[str]:
    return sorted(Contact.objects.get(pk=contact.pk).tags.values_list("name", flat=True))


def test_the_periodic_jobs_are_registered():
    jobs = {job.name: job.every for job in registered_jobs()}
    assert jobs["automation.resume_waits"] == dt.timedelta(minutes=1)
    assert "automation.scheduled_rules" in jobs


# --- waits -----------------------------------------------------------------------------------


def test_wait_parks_the_rest_and_the_job_resumes_it_when_due(
    rule_factory, contact_factory, deliver
):
    rule = rule_factory(
        actions=[
            {"type": "add_tag", "tag": "now"},
            {"type": "wait", "hours": 2},
            {"type": "add_tag", "tag": "later"},
            {"type": "wait", "minutes": 30},
            {"type": "add_tag", "tag": "last"},
        ]
    )
    contact = deliver(contact_factory)
    run = RuleRun.objects.get(rule=rule)
    assert run.status == RunStatus.WAITING
    assert tags_of(contact) == ["now"]
    pending = PendingAction.objects.get(run=run)
    assert pending.next_action == 2
    start = timezone.now()
    assert start + dt.timedelta(minutes=119) < pending.due_at <= start + dt.timedelta(hours=2)

    assert resume_due_waits(now=start + dt.timedelta(hours=1)) == 0
    assert tags_of(contact) == ["now"]

    assert resume_due_waits(now=start + dt.timedelta(hours=2, minutes=1)) == 1
    assert tags_of(contact) == ["later", "now"]
    run.refresh_from_db()
    assert run.status == RunStatus.WAITING
    pending.refresh_from_db()
    assert pending.done_at is not None
    # Resuming again does nothing twice.
    assert resume_due_waits(now=start + dt.timedelta(hours=2, minutes=1)) == 0

    second = PendingAction.objects.get(run=run, done_at__isnull=True)
    assert resume_due_waits(now=second.due_at + dt.timedelta(seconds=1)) == 1
    run.refresh_from_db()
    assert run.status == RunStatus.MATCHED
    assert tags_of(contact) == ["last", "later", "now"]
    assert [e["type"] for e in run.action_log] == ["add_tag", "wait", "add_tag", "wait", "add_tag"]
    assert run.finished_at is not None


def test_events_from_resumed_actions_keep_the_rules_chain(
    workspace, rule_factory, contact_factory, deliver
):
    rule = rule_factory(actions=[{"type": "wait", "minutes": 5}, {"type": "add_tag", "tag": "x"}])
    contact = deliver(contact_factory)
    resume_due_waits(now=timezone.now() + dt.timedelta(minutes=6))
    from vinculo.core.models import Event

    updated = Event.objects.get(subject_id=contact.pk, type="contact.updated")
    assert updated.payload["automation"] == {"rules": [rule.pk], "depth": 1}


def test_a_wait_of_a_rule_changed_or_deleted_meanwhile_is_dropped(
    workspace, rule_factory, contact_factory, deliver
):
    edited = rule_factory(actions=[{"type": "wait", "days": 1}, {"type": "add_tag", "tag": "a"}])
    deleted = rule_factory(actions=[{"type": "wait", "days": 1}, {"type": "add_tag", "tag": "b"}])
    contact = deliver(contact_factory)
    rule_update(
        workspace=workspace,
        actor=None,
        rule_id=edited.pk,
        data={"actions": [{"type": "add_tag", "tag": "c"}]},
    )
    rule_delete(workspace=workspace, actor=None, rule_id=deleted.pk)
    assert PendingAction.objects.filter(done_at__isnull=True).count() == 0
    assert resume_due_waits(now=timezone.now() + dt.timedelta(days=2)) == 0
    assert tags_of(contact) == []
    run = RuleRun.objects.get(rule=edited)
    assert run.status == RunStatus.MATCHED
    assert run.action_log[-1]["detail"] == "The rule's actions changed; the rest was not done."


def test_a_wait_whose_record_is_gone_fails_when_resumed(
    workspace, rule_factory, contact_factory, deliver
):
    rule = rule_factory(actions=[{"type": "wait", "hours": 1}, {"type": "add_tag", "tag": "x"}])
    contact = deliver(contact_factory)
    contact_delete(workspace=workspace, actor=None, contact_id=contact.pk)
    assert resume_due_waits(now=timezone.now() + dt.timedelta(hours=2)) == 1
    run = RuleRun.objects.get(rule=rule)
    assert run.status == RunStatus.FAILED
    assert run.error == "The record no longer exists."


def test_a_paused_rules_waits_are_skipped(workspace, rule_factory, contact_factory, deliver):
    rule = rule_factory(actions=[{"type": "wait", "hours": 1}, {"type": "add_tag", "tag": "x"}])
    contact = deliver(contact_factory)
    Rule.objects.filter(pk=rule.pk).update(is_active=False)
    assert resume_due_waits(now=timezone.now() + dt.timedelta(hours=2)) == 1
    assert tags_of(contact) == []
    assert "switched off" in RuleRun.objects.get(rule=rule).action_log[-1]["detail"]


# --- scheduled rules -------------------------------------------------------------------------


def test_a_scheduled_rule_acts_once_per_record_per_window(workspace, rule_factory, contact_factory):
    br = [contact_factory(country="BR") for _ in range(3)]
    ar = contact_factory(country="AR")
    gone = contact_factory(country="BR")
    contact_delete(workspace=workspace, actor=None, contact_id=gone.pk)
    rule = rule_factory(
        trigger="contact.updated",
        schedule="hourly",
        conditions={"all": [{"field": "country", "op": "eq", "value": "BR"}]},
        actions=[{"type": "add_tag", "tag": "hourly"}],
    )
    now = timezone.now().replace(minute=10)

    assert run_scheduled_rules(now=now) == 3
    assert all(tags_of(c) == ["hourly"] for c in br)
    assert tags_of(ar) == [] and tags_of(gone) == []
    runs = RuleRun.objects.filter(rule=rule)
    assert runs.count() == 3  # records that did not match leave no run
    assert all(r.event_id is None and r.status == RunStatus.MATCHED for r in runs)

    # Later in the same hour: nothing again.
    assert run_scheduled_rules(now=now + dt.timedelta(minutes=30)) == 0
    # Next hour: once more for each.
    assert run_scheduled_rules(now=now + dt.timedelta(hours=1)) == 3
    assert RuleRun.objects.filter(rule=rule).count() == 6


def test_a_scheduled_rule_skips_records_it_already_ran_on_in_the_window(
    workspace, rule_factory, contact_factory
):
    first = contact_factory(country="BR")
    rule = rule_factory(
        trigger="contact.updated", schedule="daily", actions=[{"type": "add_tag", "tag": "d"}]
    )
    RuleRun.objects.create(
        workspace=workspace,
        rule=rule,
        subject_type="contact",
        subject_id=first.pk,
        status=RunStatus.MATCHED,
    )
    second = contact_factory(country="BR")
    assert run_scheduled_rules() == 1
    assert tags_of(first) == [] and tags_of(second) == ["d"]


def test_scheduled_rules_page_through_many_records(
    workspace, rule_factory, contact_factory, monkeypatch
):
    from vinculo.automation import engine

    monkeypatch.setattr(engine, "SCHEDULE_PAGE", 2)
    made = [contact_factory(source="fair") for _ in range(5)]
    rule_factory(
        trigger="contact.updated",
        schedule="daily",
        conditions={"all": [{"field": "source", "op": "eq", "value": "fair"}]},
        actions=[{"type": "set_field", "field": "source", "value": "fair-done"}],
    )
    assert run_scheduled_rules() == 5
    assert set(
        Contact.objects.filter(pk__in=[c.pk for c in made]).values_list("source", flat=True)
    ) == {"fair-done"}


def test_the_chain_context_is_reset_after_actions(workspace, contact_factory):
    with automation_chain(rules=[1], depth=1):
        pass
    contact = contact_factory()
    from vinculo.core.models import Event

    assert (
        "automation" not in Event.objects.get(subject_id=contact.pk, type="contact.created").payload
    )
