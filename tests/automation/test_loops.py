"""Rules never trigger each other forever: the events their actions record carry the chain of
rules behind them, a rule already in the chain is not run again, and no chain grows past the
engine's depth."""

from __future__ import annotations

from vinculo.automation.engine import MAX_DEPTH
from vinculo.automation.models import RuleRun, RunStatus
from vinculo.contacts.models import Contact
from vinculo.contacts.services import contact_update
from vinculo.core.models import Event


def statuses(rule) -> list[str]:
    """What a rule did, leaving out the events it did not match."""
    runs = RuleRun.objects.filter(rule=rule).exclude(status=RunStatus.NOT_MATCHED)
    return list(runs.order_by("id").values_list("status", flat=True))


def test_two_rules_that_would_ping_pong_forever_stop(
    workspace, rule_factory, contact_factory, deliver
):
    ping = rule_factory(
        name="ping",
        trigger="contact.updated",
        conditions={"all": [{"field": "job_title", "op": "eq", "value": "ping"}]},
        actions=[{"type": "set_field", "field": "job_title", "value": "pong"}],
    )
    pong = rule_factory(
        name="pong",
        trigger="contact.updated",
        conditions={"all": [{"field": "job_title", "op": "eq", "value": "pong"}]},
        actions=[{"type": "set_field", "field": "job_title", "value": "ping"}],
    )
    contact = contact_factory()

    deliver(
        contact_update,
        workspace=workspace,
        actor=None,
        contact_id=contact.pk,
        data={"job_title": "ping"},
    )

    # The person's edit: ping matches (→ pong), then pong sees "pong" and matches (→ ping).
    # Each event their actions recorded names both in its chain, so neither runs again.
    assert statuses(ping) == [RunStatus.MATCHED, RunStatus.LOOP_STOPPED, RunStatus.LOOP_STOPPED]
    assert statuses(pong) == [RunStatus.MATCHED]
    stopped = RuleRun.objects.filter(rule=ping, status=RunStatus.LOOP_STOPPED).first()
    assert "loop" in stopped.error
    assert stopped.depth == 1
    contact.refresh_from_db()
    assert contact.job_title == "ping"
    updates = list(
        Event.objects.filter(subject_id=contact.pk, type="contact.updated").order_by("id")
    )
    assert len(updates) == 3
    assert "automation" not in updates[0].payload
    assert updates[1].payload["automation"] == {"rules": [ping.pk], "depth": 1}
    assert updates[2].payload["automation"] == {"rules": [ping.pk, pong.pk], "depth": 1}
    # Nothing is left running: the rules' work ended with the person's edit.
    assert RuleRun.objects.count() == 6


def test_a_rule_that_retriggers_itself_runs_once(workspace, rule_factory, contact_factory, deliver):
    counter = rule_factory(
        trigger="contact.updated",
        conditions={"all": [{"field": "job_title", "op": "is_not_empty"}]},
        actions=[{"type": "set_field", "field": "job_title", "value": "x"}],
    )
    contact = contact_factory()
    deliver(
        contact_update,
        workspace=workspace,
        actor=None,
        contact_id=contact.pk,
        data={"job_title": "y"},
    )
    assert statuses(counter) == [RunStatus.MATCHED, RunStatus.LOOP_STOPPED]


def test_a_chain_of_different_rules_stops_at_the_depth_limit(
    workspace, rule_factory, contact_factory, deliver
):
    steps = MAX_DEPTH + 2
    # Later steps come first in the group, so each event sets off exactly one step and the
    # chain grows one rule per event.
    rules = [
        rule_factory(
            name=f"step {i}",
            position=steps - i,
            trigger="contact.updated",
            conditions={"all": [{"field": "source", "op": "eq", "value": f"s{i}"}]},
            actions=[{"type": "set_field", "field": "source", "value": f"s{i + 1}"}],
        )
        for i in range(steps)
    ]
    contact = contact_factory()
    deliver(
        contact_update,
        workspace=workspace,
        actor=None,
        contact_id=contact.pk,
        data={"source": "s0"},
    )
    for i in range(MAX_DEPTH):
        assert statuses(rules[i]) == [RunStatus.MATCHED], i
    assert statuses(rules[MAX_DEPTH]) == [RunStatus.LOOP_STOPPED]
    assert statuses(rules[MAX_DEPTH + 1]) == []
    contact = Contact.objects.get(pk=contact.pk)
    assert contact.source == f"s{MAX_DEPTH}"
    stopped = RuleRun.objects.get(status=RunStatus.LOOP_STOPPED)
    assert stopped.depth == MAX_DEPTH
