"""Converting a lead: contact and account matched (never duplicated) or created, the deal
through the deals service, consent copied, timeline moved, all in one transaction, once."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from vinculo.contacts.models import Account, ConsentEntry, Contact
from vinculo.contacts.services import account_create, contact_create
from vinculo.core.exceptions import Conflict, ValidationFailed
from vinculo.core.models import Event
from vinculo.sales.leads import services
from vinculo.sales.leads.services import LeadConverted
from vinculo.sales.models import Deal, Lead, LeadStatus, Pipeline
from vinculo.timeline.models import Interaction, Note, Task
from vinculo.timeline.services import interaction_create, note_create, task_create


def test_a_new_person_becomes_a_contact_an_account_and_a_deal(workspace, admin, lead):
    done = services.lead_convert(
        workspace=workspace,
        actor=admin,
        lead_id=lead.pk,
        deal_name="Padaria – ovens",
        amount="12500.00",
    )

    assert done.contact_created and done.account_created
    contact, account, deal = done.contact, done.account, done.deal
    assert (contact.first_name, contact.last_name, contact.email) == (
        "Maria",
        "Silva",
        "maria@padaria.com.br",
    )
    assert contact.phone == "+5511987654321" and contact.account_id == account.pk
    assert contact.lifecycle_stage == "opportunity"
    assert (account.name, account.domain) == ("Padaria Pão Quente", "padaria.com.br")
    assert isinstance(deal, Deal)
    assert (deal.name, deal.amount) == ("Padaria – ovens", Decimal("12500.00"))
    assert (deal.contact_id, deal.account_id, deal.lead_id) == (contact.pk, account.pk, lead.pk)
    assert Pipeline.objects.filter(pk=deal.pipeline_id, is_default=True).exists()

    lead.refresh_from_db()
    assert lead.status == LeadStatus.CONVERTED and lead.converted_at is not None
    assert (lead.converted_contact_id, lead.converted_account_id, lead.converted_deal_id) == (
        contact.pk,
        account.pk,
        deal.pk,
    )
    event = Event.objects.get(type="lead.converted", subject_id=lead.pk)
    assert event.payload["contact_id"] == contact.pk
    assert event.payload["deal_id"] == deal.pk
    assert event.payload["contact_created"] is True
    assert Event.objects.filter(type="deal.created", subject_id=deal.pk).exists()


def test_existing_contact_and_account_are_used_never_duplicated(workspace, admin, lead):
    account = account_create(
        workspace=workspace, actor=admin, data={"name": "Padaria PQ", "domain": "padaria.com.br"}
    )
    contact = contact_create(
        workspace=workspace,
        actor=admin,
        data={"first_name": "M.", "emails": ["other@x.com", "maria@padaria.com.br"]},
    )

    done = services.lead_convert(workspace=workspace, actor=admin, lead_id=lead.pk)

    assert not done.contact_created and not done.account_created
    assert (done.contact.pk, done.account.pk) == (contact.pk, account.pk)
    assert Contact.objects.count() == 1 and Account.objects.count() == 1
    # A contact without a company is linked to the one found.
    contact.refresh_from_db()
    assert contact.account_id == account.pk
    assert done.deal.contact_id == contact.pk


def test_an_account_is_found_by_its_exact_name_ignoring_case_and_accents(
    workspace, admin, lead_factory
):
    account = account_create(workspace=workspace, actor=admin, data={"name": "PADARIA PAO QUENTE"})
    lead = lead_factory(company_name="Padaria Pão Quente")
    match = services.conversion_match(workspace=workspace, lead=lead)
    assert (match.account, match.account_by) == (account, "name")
    done = services.lead_convert(workspace=workspace, actor=admin, lead_id=lead.pk)
    assert done.account.pk == account.pk and Account.objects.count() == 1


def test_a_lead_without_a_company_gets_no_account(workspace, admin, lead_factory):
    lead = lead_factory(first_name="Solo", company_name="")
    done = services.lead_convert(workspace=workspace, actor=admin, lead_id=lead.pk)
    assert done.account is None and not Account.objects.exists()
    assert done.deal.account_id is None


def test_chosen_records_win_over_the_matches(workspace, admin, lead):
    chosen = account_create(workspace=workspace, actor=admin, data={"name": "Holding"})
    done = services.lead_convert(
        workspace=workspace, actor=admin, lead_id=lead.pk, account_id=chosen.pk, create_deal=False
    )
    assert done.account.pk == chosen.pk and done.deal is None
    assert Account.objects.count() == 1 and not Deal.objects.exists()


def test_consent_is_copied_to_the_contact_and_the_leads_log_stays(workspace, admin, lead):
    given = timezone.now() - dt.timedelta(days=3)
    ConsentEntry.objects.create(
        workspace=workspace,
        lead=lead,
        purpose="email_marketing",
        granted=True,
        wording="I want the newsletter.",
        source="form",
        ip_address="203.0.113.9",
        user_agent="Firefox",
        recorded_at=given,
    )

    done = services.lead_convert(workspace=workspace, actor=admin, lead_id=lead.pk)

    copy = ConsentEntry.objects.get(contact=done.contact)
    assert (copy.purpose, copy.granted, copy.wording, copy.source) == (
        "email_marketing",
        True,
        "I want the newsletter.",
        "form",
    )
    assert (copy.ip_address, copy.user_agent, copy.recorded_at) == ("203.0.113.9", "Firefox", given)
    assert ConsentEntry.objects.filter(lead=lead, contact__isnull=True).count() == 1
    shown = Event.objects.get(type="consent.granted", subject_id=done.contact.pk)
    assert shown.occurred_at == given and shown.payload["lead_id"] == lead.pk


def test_the_leads_timeline_moves_to_the_contact_and_the_deal(workspace, admin, lead):
    call = interaction_create(workspace=workspace, actor=admin, channel="phone", lead_id=lead.pk)
    task = task_create(workspace=workspace, actor=admin, title="Send prices", lead_id=lead.pk)
    note = note_create(workspace=workspace, actor=admin, body="Wants 3 ovens", lead_id=lead.pk)

    done = services.lead_convert(workspace=workspace, actor=admin, lead_id=lead.pk)

    for model, pk in ((Interaction, call.pk), (Task, task.pk), (Note, note.pk)):
        item = model.objects.get(pk=pk)
        assert (item.contact_id, item.lead_id, item.deal_id) == (
            done.contact.pk,
            lead.pk,
            done.deal.pk,
        )
    contact = Contact.objects.get(pk=done.contact.pk)
    assert contact.last_activity_at == call.occurred_at


def test_converting_twice_is_refused_with_a_clear_error(workspace, admin, lead):
    services.lead_convert(workspace=workspace, actor=admin, lead_id=lead.pk)
    with pytest.raises(LeadConverted) as exc:
        services.lead_convert(workspace=workspace, actor=admin, lead_id=lead.pk)
    assert "converted on" in exc.value.detail
    assert Contact.objects.count() == 1 and Deal.objects.count() == 1


def test_a_failing_step_leaves_nothing_behind(workspace, admin, lead, monkeypatch):
    def broken(**kwargs):
        raise ValidationFailed([])

    monkeypatch.setattr(services, "_deal_create", broken)
    with pytest.raises(ValidationFailed):
        services.lead_convert(workspace=workspace, actor=admin, lead_id=lead.pk)

    assert not Contact.objects.exists() and not Account.objects.exists()
    assert Lead.objects.get(pk=lead.pk).status == LeadStatus.NEW
    assert not Event.objects.filter(type__in=["contact.created", "lead.converted"]).exists()


def test_bad_choices_are_named(workspace, admin, lead, other_workspace):
    foreign = Account.objects.create(workspace=other_workspace, name="Elsewhere")
    with pytest.raises(ValidationFailed) as exc:
        services.lead_convert(
            workspace=workspace,
            actor=admin,
            lead_id=lead.pk,
            account_id=foreign.pk,
            contact_id=10**12,
            pipeline_id=999,
            amount="12.345",
        )
    assert {e.field: e.code for e in exc.value.errors} == {
        "account_id": "not-found",
        "contact_id": "not-found",
        "pipeline_id": "not-found",
        "amount": "invalid-decimal-places",
    }
    assert Lead.objects.get(pk=lead.pk).status == LeadStatus.NEW


def test_a_match_the_seller_cannot_see_is_not_duplicated(
    workspace, seller, other_seller, lead_factory
):
    contact_create(
        workspace=workspace,
        actor=other_seller,
        data={"first_name": "Theirs", "email": "shared@padaria.com.br"},
    )
    lead = lead_factory(email="shared@padaria.com.br", owner_id=seller.pk)

    with pytest.raises(Conflict) as exc:
        services.lead_convert(workspace=workspace, actor=seller, lead_id=lead.pk)

    assert exc.value.code == "match-not-visible"
    assert Contact.objects.count() == 1
    assert Lead.objects.get(pk=lead.pk).status == LeadStatus.NEW
