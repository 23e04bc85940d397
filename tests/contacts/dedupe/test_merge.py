"""Merging: values picked per field, every related record moves to the survivor, the other
record is soft-deleted, the audit trail says what happened, and pairs involving it close."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.contacts.dedupe.conftest import pair_of
from vinculo.contacts.dedupe.services import (
    account_merge,
    contact_merge,
    merge_relations,
    register_merge_relation,
)
from vinculo.contacts.models import (
    Account,
    ConsentEntry,
    ConsentSource,
    Contact,
    DuplicateCandidate,
)
from vinculo.contacts.selectors import contact_list
from vinculo.core.exceptions import NotFound, PermissionDenied, ValidationFailed
from vinculo.core.models import Event
from vinculo.core.roles import Role
from vinculo.timeline.models import Interaction, Note, Task
from vinculo.timeline.services import interaction_create, note_create, task_create


def consent(workspace, contact, purpose="email_marketing", granted=True):
    return ConsentEntry.objects.for_workspace(workspace).create(
        workspace=workspace,
        contact=contact,
        purpose=purpose,
        granted=granted,
        wording="Quero receber novidades por e-mail.",
        source=ConsentSource.FORM,
    )


def history(workspace, actor, contact, n: int):
    """n interactions, a task and a note of one contact (plus a deleted interaction)."""
    for i in range(n):
        interaction_create(
            workspace=workspace,
            actor=actor,
            channel="phone",
            contact_id=contact.pk,
            subject=f"Call {i} with {contact.first_name}",
            occurred_at=dt.datetime(2025, 3, 1 + i, 14, tzinfo=dt.UTC),
        )
    task_create(
        workspace=workspace,
        actor=actor,
        title=f"Follow up {contact.first_name}",
        contact_id=contact.pk,
    )
    note_create(
        workspace=workspace,
        actor=actor,
        body=f"Note on {contact.first_name}",
        contact_id=contact.pk,
    )
    consent(workspace, contact)


def counts(workspace, contact_id):
    return {
        "interactions": Interaction.objects.for_workspace(workspace)
        .filter(contact_id=contact_id)
        .count(),
        "tasks": Task.objects.for_workspace(workspace).filter(contact_id=contact_id).count(),
        "notes": Note.objects.for_workspace(workspace).filter(contact_id=contact_id).count(),
        "consents": ConsentEntry.objects.for_workspace(workspace)
        .filter(contact_id=contact_id)
        .count(),
    }


@pytest.fixture
def twins(workspace, admin, contact_factory, account_factory, custom_field):
    custom_field("segment", "text")
    custom_field("nps", "number")
    acme = account_factory(name="Acme Ltda")
    survivor = contact_factory(
        first_name="José",
        last_name="Núñez",
        emails=["jose@acme.com"],
        phones=["+5511987654321"],
        city="São Paulo",
        account_id=acme.pk,
        tags=["vip"],
        custom_fields={"segment": "B2B"},
    )
    other = contact_factory(
        first_name="jose",
        last_name="nunez",
        emails=["jose.nunez@gmail.com", "jose@acme.com"],
        phones=["+5511912345678"],
        job_title="Diretor",
        city="Sao Paulo",
        tags=["newsletter", "VIP"],
        custom_fields={"segment": "B2C", "nps": 9},
    )
    history(workspace, admin, survivor, 2)
    history(workspace, admin, other, 3)
    return survivor, other, acme


def test_merge_moves_every_related_record_and_records_the_event(workspace, admin, twins):
    survivor, other, _acme = twins
    before_survivor, before_other = counts(workspace, survivor.pk), counts(workspace, other.pk)
    assert before_other == {"interactions": 3, "tasks": 1, "notes": 1, "consents": 1}
    merged = contact_merge(
        workspace=workspace,
        actor=admin,
        survivor_id=survivor.pk,
        other_id=other.pk,
        choices={"city": "other", "custom_fields.segment": "other"},
    )
    after_survivor, after_other = counts(workspace, survivor.pk), counts(workspace, other.pk)
    assert after_other == {"interactions": 0, "tasks": 0, "notes": 0, "consents": 0}
    assert after_survivor == {k: before_survivor[k] + before_other[k] for k in before_survivor}
    # Values: chosen per field, the survivor's non-empty ones by default, the other's where
    # the survivor had none; emails and phones united (survivor's primary first); tags united.
    assert merged.first_name == "José" and merged.city == "Sao Paulo"
    assert merged.job_title == "Diretor"
    assert merged.emails == ["jose@acme.com", "jose.nunez@gmail.com"]
    assert merged.email == "jose@acme.com"
    assert merged.phones == ["+5511987654321", "+5511912345678"]
    assert merged.custom_fields == {"segment": "B2C", "nps": 9}
    assert sorted(t.name.casefold() for t in merged.tags.all()) == ["newsletter", "vip"]
    assert merged.last_activity_at == dt.datetime(2025, 3, 3, 14, tzinfo=dt.UTC)
    # The other record is soft-deleted and points to the survivor in its event.
    other.refresh_from_db()
    assert other.deleted_at is not None
    deleted = Event.objects.for_workspace(workspace).get(
        type="contact.deleted", subject_id=other.pk
    )
    assert deleted.payload["merged_into"] == survivor.pk
    event = Event.objects.for_workspace(workspace).get(
        type="contact.merged", subject_id=survivor.pk
    )
    assert event.actor == admin
    assert event.payload["other_id"] == other.pk
    assert event.payload["from_other"] == [
        "city",
        "custom_fields.nps",
        "custom_fields.segment",
        "job_title",
    ]
    assert event.payload["moved"] == {
        "interactions": 3,
        "tasks": 1,
        "notes": 1,
        "consents": 1,
        # Relations the sales module registered; none here.
        "deals": 0,
        "orders": 0,
        "quotes": 0,
    }
    assert event.payload["changes"]["city"] == ["São Paulo", "Sao Paulo"]
    assert event.payload["changes"]["emails"] == [
        ["jose@acme.com"],
        ["jose@acme.com", "jose.nunez@gmail.com"],
    ]


def test_the_merged_contact_is_gone_from_lists_and_search(workspace, admin, twins):
    survivor, other, _acme = twins
    contact_merge(workspace=workspace, actor=admin, survivor_id=survivor.pk, other_id=other.pk)
    listed = [c.pk for c in contact_list(workspace=workspace, viewer=admin).items]
    assert other.pk not in listed and survivor.pk in listed
    # The survivor is found by the other's address now.
    from vinculo.contacts.selectors import contact_filters

    filters = contact_filters(
        workspace=workspace, viewer=admin, params={"q": "jose.nunez@gmail.com"}
    )
    assert [
        c.pk for c in contact_list(workspace=workspace, viewer=admin, filters=filters).items
    ] == [survivor.pk]


def test_choosing_the_other_primary_email_puts_it_first(workspace, admin, twins):
    survivor, other, _acme = twins
    merged = contact_merge(
        workspace=workspace,
        actor=admin,
        survivor_id=survivor.pk,
        other_id=other.pk,
        choices={"emails": "other", "account_id": "other"},
    )
    assert merged.emails == ["jose.nunez@gmail.com", "jose@acme.com"]
    assert merged.account_id is None


def test_merge_closes_every_pair_involving_the_other_record(
    workspace, admin, twins, contact_factory, run_scan
):
    survivor, other, _acme = twins
    third = contact_factory(first_name="Outro", emails=["jose.nunez@gmail.com"])
    run_scan()
    assert pair_of(workspace, other.pk, third.pk).status == DuplicateCandidate.Status.OPEN
    contact_merge(workspace=workspace, actor=admin, survivor_id=survivor.pk, other_id=other.pk)
    for pk in (survivor.pk, third.pk):
        pair = pair_of(workspace, other.pk, pk)
        assert pair.status == DuplicateCandidate.Status.MERGED
        assert pair.resolved_by == admin
    # The next scan pairs the survivor (who now holds the address) with the third one.
    run_scan()
    assert pair_of(workspace, survivor.pk, third.pk).status == DuplicateCandidate.Status.OPEN


def test_bad_merges_are_refused_and_change_nothing(
    workspace, admin, twins, other_workspace, contact_factory
):
    survivor, other, _acme = twins
    with pytest.raises(ValidationFailed) as exc:
        contact_merge(
            workspace=workspace, actor=admin, survivor_id=survivor.pk, other_id=survivor.pk
        )
    assert [e.field for e in exc.value.errors] == ["other_id"]
    with pytest.raises(ValidationFailed) as exc:
        contact_merge(
            workspace=workspace,
            actor=admin,
            survivor_id=survivor.pk,
            other_id=other.pk,
            choices={"city": "both", "salary": "other"},
        )
    assert sorted(e.field for e in exc.value.errors) == ["choices.city", "choices.salary"]
    foreign = contact_factory(ws=other_workspace, first_name="Fora")
    with pytest.raises(NotFound):
        contact_merge(
            workspace=workspace, actor=admin, survivor_id=survivor.pk, other_id=foreign.pk
        )
    assert Contact.objects.for_workspace(workspace).filter(deleted_at__isnull=False).count() == 0
    assert counts(workspace, other.pk)["interactions"] == 3
    assert not Event.objects.for_workspace(workspace).filter(type="contact.merged").exists()


def test_too_many_emails_together_are_refused(workspace, admin, contact_factory):
    a = contact_factory(first_name="A", emails=[f"a{i}@x.com" for i in range(6)])
    b = contact_factory(first_name="B", emails=[f"b{i}@x.com" for i in range(6)])
    with pytest.raises(ValidationFailed) as exc:
        contact_merge(workspace=workspace, actor=admin, survivor_id=a.pk, other_id=b.pk)
    assert exc.value.errors[0].field == "emails"


@pytest.mark.parametrize("role", [Role.SALES, Role.MARKETING, Role.SERVICE, Role.READ_ONLY])
def test_merging_needs_edit_and_delete_rights(workspace, make_member, twins, role):
    survivor, other, _acme = twins
    member = make_member(f"{role}@acme.test", role)
    with pytest.raises(PermissionDenied):
        contact_merge(workspace=workspace, actor=member, survivor_id=survivor.pk, other_id=other.pk)


def test_a_manager_may_merge(workspace, make_member, twins):
    survivor, other, _acme = twins
    manager = make_member("manager@acme.test", Role.MANAGER)
    contact_merge(workspace=workspace, actor=manager, survivor_id=survivor.pk, other_id=other.pk)


def test_account_merge_moves_its_contacts_and_timeline(
    workspace, admin, account_factory, contact_factory
):
    keep = account_factory(name="Acme Ltda", domain="acme.com.br", tags=["cliente"])
    gone = account_factory(name="ACME S.A.", domain="acme.com.br", city="Recife", tags=["parceiro"])
    people = [contact_factory(first_name=f"P{i}", account_id=gone.pk) for i in range(3)]
    note_create(workspace=workspace, actor=admin, body="Contrato renovado", account_id=gone.pk)
    merged = account_merge(workspace=workspace, actor=admin, survivor_id=keep.pk, other_id=gone.pk)
    assert merged.city == "Recife"  # the survivor had none
    assert sorted(t.name for t in merged.tags.all()) == ["cliente", "parceiro"]
    moved = Contact.objects.for_workspace(workspace).filter(account_id=keep.pk)
    assert sorted(moved.values_list("pk", flat=True)) == sorted(p.pk for p in people)
    # Their search documents now carry the survivor's name.
    assert all("acme ltda" in c.search_document for c in moved)
    assert Note.objects.for_workspace(workspace).filter(account_id=keep.pk).count() == 1
    assert Account.objects.for_workspace(workspace).get(pk=gone.pk).deleted_at is not None
    event = Event.objects.for_workspace(workspace).get(type="account.merged")
    assert event.payload["moved"] == {
        "interactions": 0,
        "tasks": 0,
        "notes": 1,
        "contacts": 3,
        "deals": 0,
        "orders": 0,
        "quotes": 0,
    }
    changed = Event.objects.for_workspace(workspace).filter(
        type="contact.updated", subject_id__in=[p.pk for p in people]
    )
    assert {e.payload["changes"]["account_id"][1] for e in changed} == {keep.pk}
    assert {e.actor_id for e in changed} == {admin.pk}


def test_later_apps_register_their_relations(workspace, admin, twins):
    """A module added later (deals, tickets…) registers its link and merges move its rows."""
    survivor, other, _acme = twins
    relation = register_merge_relation(Interaction, "contact", label="test_interactions_again")
    try:
        assert relation in merge_relations("contact")
        contact_merge(workspace=workspace, actor=admin, survivor_id=survivor.pk, other_id=other.pk)
        event = Event.objects.for_workspace(workspace).get(type="contact.merged")
        # The plain relation moved them first; the extra one found none left.
        assert event.payload["moved"]["test_interactions_again"] == 0
    finally:
        from vinculo.contacts.dedupe import services

        services._RELATIONS.pop(("contact", "test_interactions_again"))


def test_an_erased_person_cannot_be_merged(workspace, admin, twins):
    from django.utils import timezone

    survivor, other, _acme = twins
    Contact.objects.for_workspace(workspace).filter(pk=other.pk).update(erased_at=timezone.now())
    with pytest.raises(ValidationFailed) as exc:
        contact_merge(workspace=workspace, actor=admin, survivor_id=survivor.pk, other_id=other.pk)
    assert [(e.field, e.code) for e in exc.value.errors] == [("other_id", "erased")]
    assert counts(workspace, other.pk)["interactions"] == 3
