"""Each action type, carried out through the engine on real records: assignment strategies,
fields, tags, tasks, notifications, emails and webhooks."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail
from django.db import connection, transaction
from django.utils import timezone

from vinculo.automation.actions import WEBHOOK_SIGNATURE_HEADER, round_robin_next
from vinculo.automation.engine import run_rules_for_event
from vinculo.automation.models import RoundRobinPointer, Rule, RuleRun, RunStatus
from vinculo.automation.services import rule_update
from vinculo.collab.models import Notification
from vinculo.contacts.models import Account, Contact
from vinculo.core.exceptions import ValidationFailed
from vinculo.core.models import Event, Membership
from vinculo.core.tenancy import workspace_scope
from vinculo.timeline.models import Task


def run_of(rule) -> RuleRun:
    return RuleRun.objects.filter(rule=rule).latest("id")


def owner_of(contact: Contact) -> int | None:
    return Contact.objects.values_list("owner_id", flat=True).get(pk=contact.pk)


# --- assign ---------------------------------------------------------------------------------


def test_round_robin_takes_turns_in_a_stable_order(
    rule_factory, contact_factory, deliver, team, reps
):
    rule = rule_factory(actions=[{"type": "assign", "strategy": "round_robin", "team_id": team.pk}])
    owners = [owner_of(deliver(contact_factory)) for _ in range(4)]
    assert owners == [reps[0].pk, reps[1].pk, reps[2].pk, reps[0].pk]
    pointer = RoundRobinPointer.objects.get(team=team, object_type="contact")
    assert pointer.last_user_id == reps[0].pk
    assert "Assigned to rep1" in run_of(rule).action_log[0]["detail"]


def test_round_robin_skips_members_no_longer_active(
    workspace, rule_factory, contact_factory, deliver, team, reps
):
    Membership.objects.filter(user=reps[1]).update(is_active=False)
    rule_factory(actions=[{"type": "assign", "strategy": "round_robin", "team_id": team.pk}])
    owners = [owner_of(deliver(contact_factory)) for _ in range(3)]
    assert owners == [reps[0].pk, reps[2].pk, reps[0].pk]


def test_fewest_open_picks_the_least_loaded_member(
    rule_factory, contact_factory, deliver, team, reps
):
    for _ in range(2):
        contact_factory(owner_id=reps[0].pk)
    contact_factory(owner_id=reps[2].pk)
    rule_factory(actions=[{"type": "assign", "strategy": "fewest_open", "team_id": team.pk}])
    assert owner_of(deliver(contact_factory)) == reps[1].pk
    # rep2 now has one, like rep3: the tie goes to the first in the stable order.
    assert owner_of(deliver(contact_factory)) == reps[1].pk
    assert owner_of(deliver(contact_factory)) == reps[2].pk


def test_assign_to_a_fixed_person(rule_factory, contact_factory, deliver, reps):
    rule_factory(actions=[{"type": "assign", "strategy": "user", "user_id": reps[2].pk}])
    assert owner_of(deliver(contact_factory)) == reps[2].pk


def test_a_team_without_active_members_fails_the_run(
    rule_factory, contact_factory, deliver, team, reps
):
    rule = rule_factory(actions=[{"type": "assign", "strategy": "round_robin", "team_id": team.pk}])
    Membership.objects.filter(user__in=reps).update(is_active=False)
    contact = deliver(contact_factory)
    run = run_of(rule)
    assert run.status == RunStatus.FAILED
    assert run.error == "The team South has no active members."
    assert owner_of(contact) is None


@pytest.mark.django_db(transaction=True)
def test_two_workers_never_take_the_same_turn(workspace, team, reps):
    """Two threads, each with its own database connection, take turns at once: every turn is
    taken exactly once, so the members get them evenly."""
    taken: list[int] = []
    errors: list[BaseException] = []
    members = sorted(u.pk for u in reps)

    def worker() -> None:
        try:
            with workspace_scope(workspace):
                for _ in range(15):
                    with transaction.atomic():
                        taken.append(
                            round_robin_next(
                                workspace=workspace,
                                team_id=team.pk,
                                object_type="contact",
                                member_ids=members,
                            )
                        )
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert Counter(taken) == dict.fromkeys(members, 10)


# --- set_field and add_tag -------------------------------------------------------------------


def test_set_field_goes_through_the_update_service(
    workspace, rule_factory, contact_factory, deliver
):
    rule = rule_factory(
        actions=[
            {"type": "set_field", "field": "lifecycle_stage", "value": "opportunity"},
            {"type": "set_field", "field": "birthdate", "value": "2000-02-29"},
        ]
    )
    contact = deliver(contact_factory)
    contact = Contact.objects.get(pk=contact.pk)
    assert contact.lifecycle_stage == "opportunity"
    assert contact.birthdate == dt.date(2000, 2, 29)
    assert run_of(rule).status == RunStatus.MATCHED
    # The change is recorded like a person's, with the rule's chain on it.
    updated = Event.objects.filter(subject_id=contact.pk, type="contact.updated").first()
    assert updated.payload["changes"]["lifecycle_stage"] == ["lead", "opportunity"]
    assert updated.payload["automation"]["rules"] == [rule.pk]
    assert updated.actor_id is None


def test_set_field_with_a_value_the_service_refuses_fails(rule_factory, contact_factory, deliver):
    rule = rule_factory(actions=[{"type": "set_field", "field": "country", "value": "Narnia"}])
    deliver(contact_factory)
    run = run_of(rule)
    assert run.status == RunStatus.FAILED
    assert run.error.startswith("country:")


def test_add_tag_on_contacts_and_accounts(rule_factory, contact_factory, account_factory, deliver):
    rule_factory(actions=[{"type": "add_tag", "tag": "Inbound"}])
    rule_factory(trigger="account.created", actions=[{"type": "add_tag", "tag": "Prospect"}])
    contact = deliver(contact_factory, tags=["VIP"])
    account = deliver(account_factory)
    assert sorted(contact.tags.values_list("name", flat=True)) == ["Inbound", "VIP"]
    assert list(Account.objects.get(pk=account.pk).tags.values_list("name", flat=True)) == [
        "Prospect"
    ]


# --- create_task and notify ------------------------------------------------------------------


def test_create_task_linked_to_the_record_for_its_owner(
    rule_factory, contact_factory, deliver, reps
):
    rule_factory(
        actions=[
            {
                "type": "create_task",
                "title": "Call {{ first_name }} at {{ account.name }}",
                "description": "Source: {{ source }}",
                "due_in_hours": 24,
                "assignee": "owner",
            }
        ]
    )
    before = timezone.now()
    contact = deliver(contact_factory, first_name="Bia", source="fair", owner_id=reps[0].pk)
    task = Task.objects.get(contact=contact)
    assert task.title == "Call Bia at"  # no account: an empty value
    assert task.description == "Source: fair"
    assert task.assignee_id == reps[0].pk
    assert before + dt.timedelta(hours=23) < task.due_at < timezone.now() + dt.timedelta(hours=25)


def test_create_task_for_a_fixed_person_without_due_date(
    rule_factory, account_factory, deliver, reps
):
    rule_factory(
        trigger="account.created",
        actions=[
            {
                "type": "create_task",
                "title": "Qualify {{ name }}",
                "assignee": "user",
                "user_id": reps[1].pk,
            }
        ],
    )
    account = deliver(account_factory, name="Globex")
    task = Task.objects.get(account=account)
    assert (task.title, task.assignee_id, task.due_at) == ("Qualify Globex", reps[1].pk, None)


def test_notify_the_owner_a_person_and_a_team(
    rule_factory, contact_factory, deliver, team, reps, admin
):
    rule = rule_factory(
        actions=[
            {"type": "notify", "to": "owner", "title": "New contact {{ first_name }}"},
            {
                "type": "notify",
                "to": "user",
                "user_id": admin.pk,
                "title": "FYI",
                "body": "{{ email }}",
            },
            {"type": "notify", "to": "team", "team_id": team.pk, "title": "Team news"},
        ]
    )
    contact = deliver(
        contact_factory, first_name="Caio", emails=["caio@example.com"], owner_id=reps[2].pk
    )
    owner_note = Notification.objects.get(user=reps[2], title="New contact Caio")
    assert owner_note.url == f"/contacts/{contact.pk}/"
    assert Notification.objects.get(user=admin, title="FYI").body == "caio@example.com"
    assert set(
        Notification.objects.filter(title="Team news").values_list("user_id", flat=True)
    ) == {u.pk for u in reps}
    assert run_of(rule).status == RunStatus.MATCHED


def test_notify_the_owner_of_an_unowned_record_notifies_nobody(
    rule_factory, contact_factory, deliver
):
    rule = rule_factory(actions=[{"type": "notify", "to": "owner", "title": "x"}])
    deliver(contact_factory)
    assert Notification.objects.count() == 0
    assert run_of(rule).action_log[0]["detail"] == "Nobody to notify (no owner or members)."


# --- send_email ------------------------------------------------------------------------------


def test_send_email_to_the_record_with_placeholders(rule_factory, contact_factory, deliver):
    rule = rule_factory(
        actions=[
            {
                "type": "send_email",
                "to": "subject",
                "subject": "Welcome, {{ first_name }}",
                "body": "Hi {{ first_name }}, {% now 'Y' %}.",
            }
        ]
    )
    # A placeholder reaching into an object is refused when the rule is saved; stored anyway
    # (written around the service), it renders as nothing.
    with pytest.raises(ValidationFailed) as refused:
        rule_update(
            workspace=rule.workspace,
            actor=None,
            rule_id=rule.pk,
            data={"actions": [{**rule.actions[0], "body": "{{ first_name.__class__ }}"}]},
        )
    assert refused.value.errors[0].field == "actions[0].body"
    Rule.objects.filter(pk=rule.pk).update(
        actions=[
            {
                **rule.actions[0],
                "body": "Hi {{ first_name }}, {% now 'Y' %} {{ first_name.__class__ }}.",
            }
        ]
    )

    deliver(contact_factory, first_name="Duda", emails=["duda@example.com"])
    [message] = mail.outbox
    assert message.to == ["duda@example.com"]
    assert message.subject == "Welcome, Duda"
    # Placeholders are filled in; template code is left as text and never runs.
    assert message.body == "Hi Duda, {% now 'Y' %} ."


def test_no_email_leaves_before_the_run_commits(
    rule_factory, contact_factory, django_capture_on_commit_callbacks
):
    rule_factory(actions=[{"type": "send_email", "subject": "x", "body": "y"}])
    contact = contact_factory(emails=["h@example.com"])
    event = Event.objects.get(subject_id=contact.pk, type="contact.created")
    with django_capture_on_commit_callbacks() as callbacks:
        [run] = run_rules_for_event(event)
        assert mail.outbox == []
    assert run.action_log[0]["detail"] == "Email “x” to h@example.com."
    assert len(callbacks) == 1
    callbacks[0]()
    assert [m.to for m in mail.outbox] == [["h@example.com"]]


def test_send_email_to_the_owner(rule_factory, contact_factory, deliver, reps):
    rule_factory(
        actions=[
            {"type": "send_email", "to": "owner", "subject": "New: {{ first_name }}", "body": "x"}
        ]
    )
    deliver(contact_factory, first_name="Eva", owner_id=reps[0].pk)
    assert [m.to for m in mail.outbox] == [[reps[0].email]]


def test_send_email_without_an_address_fails_the_run(rule_factory, contact_factory, deliver):
    rule = rule_factory(actions=[{"type": "send_email", "subject": "x", "body": "y"}])
    deliver(contact_factory)
    assert mail.outbox == []
    assert run_of(rule).error == "There is no email address to write to."


def test_a_header_cannot_be_broken_by_a_placeholder(
    rule_factory, contact_factory, deliver, workspace
):
    rule_factory(actions=[{"type": "send_email", "subject": "About {{ job_title }}", "body": "y"}])
    deliver(contact_factory, emails=["f@example.com"], job_title="Boss\nBcc: evil@example.com")
    assert mail.outbox[0].subject in ("About Boss Bcc: evil@example.com", "About Boss")
    assert mail.outbox[0].bcc == []


# --- call_webhook ----------------------------------------------------------------------------


class Receiver:
    """A real HTTP server on a free local port, recording what it receives."""

    def __init__(self, status: int = 200) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                receiver.requests.append((dict(self.headers), self.rfile.read(length)))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    made: list[Receiver] = []

    def make(status: int = 200) -> Receiver:
        made.append(Receiver(status))
        return made[-1]

    yield make
    for r in made:
        r.close()


def test_webhook_posts_the_event_and_record_signed_with_the_rules_secret(
    rule_factory, contact_factory, deliver, receiver
):
    hook = receiver()
    rule = rule_factory(actions=[{"type": "call_webhook", "url": hook.url}])
    secret = rule.actions[0]["secret"]
    assert len(secret) == 64  # made when the rule was saved, kept in its parameters

    contact = deliver(contact_factory, first_name="Gil", country="BR")

    [(headers, body)] = hook.requests
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    assert headers[WEBHOOK_SIGNATURE_HEADER] == expected
    assert headers["Content-Type"] == "application/json"
    payload = json.loads(body)
    assert payload["event"]["type"] == "contact.created"
    assert payload["subject"]["id"] == contact.pk
    assert payload["subject"]["fields"]["first_name"] == "Gil"
    assert payload["subject"]["fields"]["country"] == "BR"
    assert payload["rule"] == {"id": rule.pk, "name": rule.name}
    run = run_of(rule)
    assert run.status == RunStatus.MATCHED
    assert run.action_log[0]["ok"] is True
    assert "answered HTTP 200" in run.action_log[0]["detail"]


def test_a_webhook_answering_an_error_fails_the_run(
    rule_factory, contact_factory, deliver, receiver
):
    hook = receiver(status=500)
    rule = rule_factory(actions=[{"type": "call_webhook", "url": hook.url, "secret": "s" * 32}])
    deliver(contact_factory)
    run = run_of(rule)
    assert len(hook.requests) == 1
    assert run.status == RunStatus.FAILED
    assert run.error == "The webhook answered HTTP 500."
    assert run.action_log[0]["ok"] is False


def test_an_unreachable_webhook_fails_the_run(rule_factory, contact_factory, deliver, receiver):
    hook = receiver()
    hook.close()  # nothing listens on the port any more
    rule = rule_factory(actions=[{"type": "call_webhook", "url": hook.url}])
    deliver(contact_factory)
    run = run_of(rule)
    assert run.status == RunStatus.FAILED
    assert run.error.startswith("The webhook could not be called")
