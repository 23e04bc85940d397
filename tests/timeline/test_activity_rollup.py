"""The `timeline.activity` subscriber keeps `last_activity_at` of contacts and accounts current."""

from __future__ import annotations

import datetime as dt

import pytest

from vinculo.contacts.models import Account, Contact
from vinculo.core.events import deliver_event, registered_subscribers
from vinculo.core.models import Event, EventDelivery
from vinculo.timeline import services
from vinculo.timeline.subscribers import refresh_last_activity

from .conftest import BASE_TIME

T1 = BASE_TIME
T2 = BASE_TIME + dt.timedelta(days=2)
T3 = BASE_TIME + dt.timedelta(days=5)


@pytest.fixture
def dispatch(django_capture_on_commit_callbacks):
    """Run a write and let its events reach the subscribers, as after a real commit."""

    def run(fn, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(**kwargs)

    return run


def _activity(record) -> dt.datetime | None:
    model = type(record)
    return model.objects.values_list("last_activity_at", flat=True).get(pk=record.pk)


def test_the_subscriber_is_registered():
    names = {s.name for s in registered_subscribers()}
    assert "timeline.activity" in names


def test_logging_moves_the_contacts_and_accounts_activity(
    workspace, admin, dispatch, account, contact_factory
):
    member = contact_factory(account=account)
    loner = contact_factory()

    dispatch(
        services.interaction_create,
        workspace=workspace,
        actor=admin,
        channel="phone",
        contact_id=member.id,
        occurred_at=T2,
    )
    assert _activity(member) == T2
    # The account follows its contacts, as its timeline does.
    assert _activity(account) == T2
    assert _activity(loner) is None

    # An older touch does not pull the activity back.
    dispatch(
        services.interaction_create,
        workspace=workspace,
        actor=admin,
        channel="email",
        contact_id=member.id,
        occurred_at=T1,
    )
    assert _activity(member) == T2

    dispatch(
        services.interaction_create,
        workspace=workspace,
        actor=admin,
        channel="meeting",
        account_id=account.id,
        occurred_at=T3,
    )
    assert _activity(account) == T3
    assert _activity(member) == T2


def test_edits_deletes_and_restores_recompute(workspace, admin, dispatch, contact_factory):
    ana, bia = contact_factory(), contact_factory()
    older = dispatch(
        services.interaction_create,
        workspace=workspace,
        actor=admin,
        channel="email",
        contact_id=ana.id,
        occurred_at=T1,
    )
    latest = dispatch(
        services.interaction_create,
        workspace=workspace,
        actor=admin,
        channel="email",
        contact_id=ana.id,
        occurred_at=T2,
    )
    assert _activity(ana) == T2

    dispatch(
        services.interaction_update,
        workspace=workspace,
        actor=admin,
        interaction_id=latest.id,
        data={"occurred_at": T3},
    )
    assert _activity(ana) == T3

    # Moving the latest touch to Bia: Ana falls back to her older one.
    dispatch(
        services.interaction_update,
        workspace=workspace,
        actor=admin,
        interaction_id=latest.id,
        data={"contact_id": bia.id},
    )
    assert _activity(ana) == T1
    assert _activity(bia) == T3

    dispatch(services.interaction_delete, workspace=workspace, actor=admin, interaction_id=older.id)
    assert _activity(ana) is None
    dispatch(
        services.interaction_restore, workspace=workspace, actor=admin, interaction_id=older.id
    )
    assert _activity(ana) == T1


def test_delivering_the_same_event_twice_changes_nothing(
    workspace, admin, dispatch, account, contact_factory
):
    member = contact_factory(account=account)
    first = dispatch(
        services.interaction_create,
        workspace=workspace,
        actor=admin,
        channel="chat",
        contact_id=member.id,
        occurred_at=T2,
    )
    event = Event.objects.get(type="interaction.logged", subject_id=first.id)
    assert EventDelivery.objects.filter(event=event, subscriber="timeline.activity").exists()
    before = (
        Contact.objects.values("last_activity_at", "updated_at").get(pk=member.pk),
        Account.objects.values("last_activity_at", "updated_at").get(pk=account.pk),
    )

    # The dispatcher refuses a second delivery…
    assert deliver_event(event) == 0
    # …and the handler itself, run again (a retry after a crash), leaves the same values.
    refresh_last_activity(event)
    refresh_last_activity(event)
    after = (
        Contact.objects.values("last_activity_at", "updated_at").get(pk=member.pk),
        Account.objects.values("last_activity_at", "updated_at").get(pk=account.pk),
    )
    assert after == before
    assert EventDelivery.objects.filter(event=event, subscriber="timeline.activity").count() == 1

    # A late replay of the old event after a newer touch does not undo the newer one.
    dispatch(
        services.interaction_create,
        workspace=workspace,
        actor=admin,
        channel="chat",
        contact_id=member.id,
        occurred_at=T3,
    )
    refresh_last_activity(event)
    assert _activity(member) == T3
    assert _activity(account) == T3


def test_other_workspaces_are_untouched(
    workspace, admin, dispatch, contact, other_workspace, foreign_contact
):
    dispatch(
        services.interaction_create,
        workspace=workspace,
        actor=admin,
        channel="email",
        contact_id=contact.id,
        occurred_at=T2,
    )
    assert _activity(contact) == T2
    assert (
        Contact.objects.for_workspace(other_workspace)
        .values_list("last_activity_at", flat=True)
        .get(pk=foreign_contact.pk)
        is None
    )


def test_a_contact_changing_accounts_moves_its_activity(
    workspace, admin, dispatch, account_factory, contact_factory
):
    from django.db import transaction

    from vinculo.core.events import record_event

    old, new = account_factory(), account_factory()
    member = contact_factory(account=old)
    dispatch(
        services.interaction_create,
        workspace=workspace,
        actor=admin,
        channel="email",
        contact_id=member.id,
        occurred_at=T2,
    )
    assert _activity(old) == T2

    # What the contacts service records when a contact changes accounts.
    def move() -> None:
        with transaction.atomic():
            Contact.objects.filter(pk=member.pk).update(account=new)
            record_event(
                workspace=workspace,
                actor=admin,
                type="contact.updated",
                subject=member,
                payload={"changes": {"account_id": [old.id, new.id]}},
            )

    dispatch(move)
    assert _activity(old) is None
    assert _activity(new) == T2
    assert _activity(member) == T2
