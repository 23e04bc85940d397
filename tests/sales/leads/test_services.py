"""Lead services: validation and normalisation, events, assignment, status, first contact,
delete and restore, and record access."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from vinculo.contacts.services import RestoreExpired
from vinculo.core.exceptions import NotFound, PermissionDenied, ValidationFailed
from vinculo.core.models import CustomFieldDefinition, Event, Team
from vinculo.core.roles import Role
from vinculo.core.services import customfield_create
from vinculo.sales.leads import services
from vinculo.sales.leads.services import LeadConverted
from vinculo.sales.models import Lead, LeadStatus


def fields_of(exc: pytest.ExceptionInfo[ValidationFailed]) -> dict[str, str]:
    return {e.field: e.code for e in exc.value.errors}


# --- create ----------------------------------------------------------------------------------


def test_create_normalises_like_contacts_and_fills_search_columns(workspace, admin):
    lead = services.lead_create(
        workspace=workspace,
        actor=admin,
        data={
            "first_name": "  José ",
            "last_name": "Núñez",
            "email": "Jose.Nunez@Example.COM ",
            "phone": "(11) 98765-4321",
            "country": "br",
            "website": "www.padaria.com.br/contato",
            "company_name": "Padaria Pão Quente",
            "utm_source": "google",
            "utm_campaign": "primavera",
            "campaign": "Spring",
            "source": "Web form",
        },
    )

    assert lead.email == "jose.nunez@example.com"
    assert lead.phone == "+5511987654321"
    assert lead.country == "BR"
    assert lead.website == "https://www.padaria.com.br/contato"
    # The company's domain follows from its site, so accounts match by it on conversion.
    assert lead.company_domain == "padaria.com.br"
    assert lead.first_name == "José"
    assert lead.sort_name == "jose nunez"
    for word in ("jose", "nunez", "example", "5511987654321", "98765", "padaria", "quente"):
        assert word in lead.search_document.split()
    # Typed in by a person: theirs, with the assignment on record.
    assert lead.owner == admin and lead.assigned_at is not None
    assert lead.status == LeadStatus.NEW


def test_create_reports_every_bad_field_at_once_and_writes_nothing(workspace, admin):
    with pytest.raises(ValidationFailed) as exc:
        services.lead_create(
            workspace=workspace,
            actor=admin,
            data={
                "first_name": "Ana",
                "email": "ana@",
                "phone": "12",
                "country": "Brasil",
                "website": "not a site",
                "company_size": "huge",
                "owner_id": 999999,
                "team_id": 999999,
                "favourite_colour": "blue",
            },
        )

    assert fields_of(exc) == {
        "email": "invalid-email",
        "phone": "invalid-phone",
        "country": "invalid-country",
        "website": "invalid-url",
        "company_size": "invalid-choice",
        "owner_id": "not-a-member",
        "team_id": "not-found",
        "favourite_colour": "unknown-field",
    }
    assert not Lead.objects.exists()
    assert not Event.objects.filter(type__startswith="lead.").exists()


def test_a_lead_needs_something_that_identifies_it(workspace, admin):
    with pytest.raises(ValidationFailed) as exc:
        services.lead_create(workspace=workspace, actor=admin, data={"source": "Fair"})
    assert fields_of(exc) == {"email": "required"}
    # A company alone is enough (a business card with no name on it).
    lead = services.lead_create(workspace=workspace, actor=admin, data={"company_name": "ACME"})
    assert lead.display_name == "ACME"


def test_created_event_has_the_values_and_the_channel(workspace, lead):
    created = Event.objects.get(type="lead.created", subject_id=lead.pk)
    assert created.subject_type == "lead"
    assert created.payload["channel"] == "webform"
    assert created.payload["fields"]["email"] == "maria@padaria.com.br"
    assert created.payload["fields"]["utm_campaign"] == "spring"
    # A web-form lead waits for the assignment rules: no owner, no assignment event.
    assert lead.owner is None
    assert not Event.objects.filter(type="lead.assigned", subject_id=lead.pk).exists()


def test_unknown_source_channel_is_refused(workspace, admin):
    with pytest.raises(ValidationFailed) as exc:
        services.lead_create(
            workspace=workspace, actor=admin, data={"email": "a@b.co"}, source_channel="fax"
        )
    assert fields_of(exc) == {"source_channel": "invalid-choice"}


def test_custom_fields_of_leads_are_validated(workspace, admin):
    customfield_create(
        workspace=workspace,
        actor=admin,
        object_type="lead",
        key="budget",
        label="Budget",
        field_type="money",
    )
    assert CustomFieldDefinition.objects.get(key="budget").object_type == "lead"

    lead = services.lead_create(
        workspace=workspace,
        actor=admin,
        data={"email": "a@b.co", "custom_fields": {"budget": "1234.5"}},
    )
    assert lead.custom_fields == {"budget": "1234.50"}
    with pytest.raises(ValidationFailed) as exc:
        services.lead_create(
            workspace=workspace,
            actor=admin,
            data={"email": "c@d.co", "custom_fields": {"budget": "a lot", "colour": "x"}},
        )
    assert fields_of(exc) == {
        "custom_fields.budget": "invalid-type",
        "custom_fields.colour": "unknown",
    }


# --- update ------------------------------------------------------------------------------------


def test_update_records_old_and_new_values_only_when_something_changed(workspace, admin, lead):
    updated = services.lead_update(
        workspace=workspace,
        actor=admin,
        lead_id=lead.pk,
        data={"job_title": "Owner", "company_name": "Padaria Pão Quente"},
    )

    assert updated.job_title == "Owner"
    event = Event.objects.get(type="lead.updated", subject_id=lead.pk)
    assert event.payload == {"changes": {"job_title": ["", "Owner"]}}
    assert event.actor == admin

    services.lead_update(
        workspace=workspace, actor=admin, lead_id=lead.pk, data={"job_title": "Owner"}
    )
    assert Event.objects.filter(type="lead.updated", subject_id=lead.pk).count() == 1


def test_an_owner_change_through_update_is_an_assignment(workspace, admin, seller, lead):
    services.lead_update(
        workspace=workspace,
        actor=admin,
        lead_id=lead.pk,
        data={"owner_id": seller.pk, "industry": "Food"},
    )

    updated = Event.objects.get(type="lead.updated", subject_id=lead.pk)
    assert updated.payload == {"changes": {"industry": ["", "Food"]}}
    assigned = Event.objects.get(type="lead.assigned", subject_id=lead.pk)
    assert assigned.payload["owner_id"] == seller.pk
    assert assigned.payload["previous_owner_id"] is None
    lead.refresh_from_db()
    assert lead.assigned_at is not None


# --- assignment -------------------------------------------------------------------------------


def test_assign_records_the_assignment_and_counts_reassignments(
    workspace, admin, seller, other_seller, lead
):
    team = Team.objects.create(workspace=workspace, name="South")
    first = services.lead_assign(
        workspace=workspace,
        actor=admin,
        lead_id=lead.pk,
        owner_id=seller.pk,
        team_id=team.pk,
        reason="round robin",
    )
    assert (first.owner, first.team, first.reassigned_count) == (seller, team, 0)

    second = services.lead_assign(
        workspace=workspace, actor=None, lead_id=lead.pk, owner_id=other_seller.pk
    )
    # No team given: the lead stays with its team.
    assert (second.owner, second.team, second.reassigned_count) == (other_seller, team, 1)

    events = list(Event.objects.filter(type="lead.assigned", subject_id=lead.pk).order_by("id"))
    assert [e.payload["owner_id"] for e in events] == [seller.pk, other_seller.pk]
    assert events[0].payload["reason"] == "round robin"
    assert events[0].payload["changes"] == {
        "owner_id": [None, seller.pk],
        "team_id": [None, team.pk],
    }
    assert events[1].payload["previous_owner_id"] == seller.pk

    # The same owner again changes nothing.
    services.lead_assign(
        workspace=workspace, actor=admin, lead_id=lead.pk, owner_id=other_seller.pk
    )
    assert Event.objects.filter(type="lead.assigned", subject_id=lead.pk).count() == 2


def test_assign_refuses_someone_who_is_not_a_member(workspace, admin, other_admin, lead):
    with pytest.raises(ValidationFailed) as exc:
        services.lead_assign(
            workspace=workspace, actor=admin, lead_id=lead.pk, owner_id=other_admin.pk
        )
    assert fields_of(exc) == {"owner_id": "not-a-member"}


def test_bulk_assign_skips_what_the_actor_cannot_see_and_unchanged_leads(
    workspace, admin, seller, other_seller, lead_factory
):
    mine = lead_factory(owner_id=seller.pk)
    theirs = lead_factory(owner_id=other_seller.pk)
    unowned = lead_factory()
    already = lead_factory(owner_id=admin.pk)

    changed = services.leads_bulk_assign(
        workspace=workspace,
        actor=seller,
        lead_ids=[mine.pk, theirs.pk, unowned.pk, already.pk, 10**12],
        owner_id=admin.pk,
    )

    # A seller sees their own leads and the unowned pool, not another seller's.
    assert changed == sorted([mine.pk, unowned.pk])
    assert Lead.objects.get(pk=theirs.pk).owner_id == other_seller.pk
    assert Lead.objects.get(pk=mine.pk).reassigned_count == 1
    assert Lead.objects.get(pk=unowned.pk).reassigned_count == 0
    assert set(
        Event.objects.filter(type="lead.assigned", actor=seller).values_list(
            "subject_id", flat=True
        )
    ) == {mine.pk, unowned.pk}


def test_open_counts_count_open_leads_per_owner(workspace, seller, other_seller, lead_factory):
    lead_factory(owner_id=seller.pk)
    lead_factory(owner_id=seller.pk)
    done = lead_factory(owner_id=seller.pk)
    services.lead_set_status(
        workspace=workspace, actor=None, lead_id=done.pk, status="disqualified", reason="Spam"
    )
    lead_factory(owner_id=other_seller.pk)

    counts = services.lead_open_counts(
        workspace=workspace, user_ids=[seller.pk, other_seller.pk, 10**9]
    )
    assert counts == {seller.pk: 2, other_seller.pk: 1, 10**9: 0}


# --- status and first contact -----------------------------------------------------------------


def test_disqualifying_needs_a_reason_kept_until_the_lead_is_reopened(workspace, admin, lead):
    with pytest.raises(ValidationFailed) as exc:
        services.lead_set_status(
            workspace=workspace, actor=admin, lead_id=lead.pk, status="disqualified"
        )
    assert fields_of(exc) == {"reason": "required"}

    out = services.lead_set_status(
        workspace=workspace,
        actor=admin,
        lead_id=lead.pk,
        status="disqualified",
        reason="Student, no budget",
    )
    assert (out.status, out.disqualified_reason) == ("disqualified", "Student, no budget")
    event = Event.objects.get(type="lead.status_changed", subject_id=lead.pk)
    assert event.payload["from"] == "new" and event.payload["to"] == "disqualified"
    assert event.payload["reason"] == "Student, no budget"

    back = services.lead_set_status(
        workspace=workspace, actor=admin, lead_id=lead.pk, status="working"
    )
    assert (back.status, back.disqualified_reason) == ("working", "")
    # Working means someone reached out.
    assert back.first_contacted_at is not None


@pytest.mark.parametrize("status", ["converted", "lost", ""])
def test_statuses_that_cannot_be_set(workspace, admin, lead, status):
    with pytest.raises(ValidationFailed) as exc:
        services.lead_set_status(workspace=workspace, actor=admin, lead_id=lead.pk, status=status)
    assert fields_of(exc) == {"status": "invalid-choice"}


def test_mark_contacted_once_moves_a_new_lead_to_working(workspace, lead):
    at = timezone.now() - dt.timedelta(minutes=5)
    out = services.lead_mark_contacted(workspace=workspace, actor=None, lead_id=lead.pk, at=at)
    assert out is not None
    assert (out.status, out.first_contacted_at) == ("working", at)
    assert Event.objects.filter(type="lead.status_changed", subject_id=lead.pk).count() == 1

    again = services.lead_mark_contacted(workspace=workspace, actor=None, lead_id=lead.pk)
    assert again is not None and again.first_contacted_at == at
    assert Event.objects.filter(type="lead.status_changed", subject_id=lead.pk).count() == 1
    assert services.lead_mark_contacted(workspace=workspace, actor=None, lead_id=10**10) is None


def test_mark_contacted_of_a_qualified_lead_only_notes_the_moment(workspace, admin, lead):
    services.lead_set_status(workspace=workspace, actor=admin, lead_id=lead.pk, status="qualified")
    services.lead_mark_contacted(workspace=workspace, actor=None, lead_id=lead.pk)

    lead.refresh_from_db()
    assert lead.status == "qualified" and lead.first_contacted_at is not None
    noted = Event.objects.get(type="lead.updated", subject_id=lead.pk)
    assert list(noted.payload["changes"]) == ["first_contacted_at"]


def test_a_converted_lead_is_read_only(workspace, admin, lead):
    services.lead_convert(workspace=workspace, actor=admin, lead_id=lead.pk, create_deal=False)
    for call in (
        lambda: services.lead_update(
            workspace=workspace, actor=admin, lead_id=lead.pk, data={"job_title": "CEO"}
        ),
        lambda: services.lead_assign(
            workspace=workspace, actor=admin, lead_id=lead.pk, owner_id=admin.pk
        ),
        lambda: services.lead_set_status(
            workspace=workspace, actor=admin, lead_id=lead.pk, status="working"
        ),
    ):
        with pytest.raises(LeadConverted):
            call()


# --- delete, restore, purge -------------------------------------------------------------------


def test_delete_and_restore(workspace, admin, lead):
    services.lead_delete(workspace=workspace, actor=admin, lead_id=lead.pk)
    lead.refresh_from_db()
    assert lead.deleted_at is not None
    with pytest.raises(NotFound):
        services.lead_update(
            workspace=workspace, actor=admin, lead_id=lead.pk, data={"job_title": "x"}
        )

    restored = services.lead_restore(workspace=workspace, actor=admin, lead_id=lead.pk)
    assert restored.deleted_at is None
    kinds = list(
        Event.objects.filter(subject_type="lead", subject_id=lead.pk)
        .order_by("id")
        .values_list("type", flat=True)
    )
    assert kinds == ["lead.created", "lead.deleted", "lead.restored"]


def test_restore_after_the_retention_window_is_refused(workspace, admin, lead, settings):
    Lead.objects.filter(pk=lead.pk).update(
        deleted_at=timezone.now() - dt.timedelta(days=settings.SOFT_DELETE_RETENTION_DAYS + 1)
    )
    with pytest.raises(RestoreExpired):
        services.lead_restore(workspace=workspace, actor=admin, lead_id=lead.pk)


def test_purge_keeps_the_history_a_converted_lead_gave_its_contact(workspace, admin, lead):
    from vinculo.timeline.models import Interaction
    from vinculo.timeline.services import interaction_create, note_create

    call = interaction_create(workspace=workspace, actor=admin, channel="phone", lead_id=lead.pk)
    done = services.lead_convert(
        workspace=workspace, actor=admin, lead_id=lead.pk, create_deal=False
    )
    services.lead_delete(workspace=workspace, actor=admin, lead_id=lead.pk)
    stray = lead_only = services.lead_create(
        workspace=workspace, actor=admin, data={"email": "gone@example.com"}
    )
    note_create(workspace=workspace, actor=admin, body="only the lead's", lead_id=stray.pk)
    services.lead_delete(workspace=workspace, actor=admin, lead_id=lead_only.pk)
    later = timezone.now() + dt.timedelta(days=60)

    assert services.leads_purge_expired(now=later) == 2

    assert not Lead.objects.filter(pk__in=[lead.pk, stray.pk]).exists()
    kept = Interaction.objects.get(pk=call.pk)
    assert (kept.contact_id, kept.lead_id) == (done.contact.pk, None)
    assert Event.objects.filter(type="lead.purged").count() == 2


# --- record access ----------------------------------------------------------------------------


def test_roles_without_the_right_are_refused(workspace, make_member, lead):
    reader = make_member("reader@acme.test", Role.READ_ONLY)
    service = make_member("service@acme.test", Role.SERVICE)
    with pytest.raises(PermissionDenied):
        services.lead_create(workspace=workspace, actor=reader, data={"email": "a@b.co"})
    with pytest.raises(PermissionDenied):
        services.lead_update(
            workspace=workspace, actor=service, lead_id=lead.pk, data={"job_title": "x"}
        )
    with pytest.raises(PermissionDenied):
        services.lead_delete(workspace=workspace, actor=make_member("s@acme.test"), lead_id=1)


def test_a_seller_cannot_touch_another_sellers_lead(workspace, seller, other_seller, lead_factory):
    theirs = lead_factory(owner_id=other_seller.pk)
    with pytest.raises(NotFound):
        services.lead_update(
            workspace=workspace, actor=seller, lead_id=theirs.pk, data={"job_title": "x"}
        )
    with pytest.raises(NotFound):
        services.lead_convert(workspace=workspace, actor=seller, lead_id=theirs.pk)


def test_leads_of_another_workspace_are_not_found(workspace, other_workspace, other_admin, lead):
    with pytest.raises(NotFound):
        services.lead_update(
            workspace=other_workspace, actor=other_admin, lead_id=lead.pk, data={"city": "x"}
        )
    with pytest.raises(NotFound):
        services.lead_assign(workspace=other_workspace, actor=None, lead_id=lead.pk, owner_id=None)
