"""The consent log: append-only (in the services and in the model), the current state derived
from it, validation naming every bad field, events, and who may record or read it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from vinculo.contacts.models import ConsentEntry, ConsentLogIsAppendOnly, Contact
from vinculo.contacts.privacy.selectors import consent_log, consent_state, privacy_panel
from vinculo.contacts.privacy.services import ContactErased, consent_record, contact_erase
from vinculo.core.exceptions import NotFound, PermissionDenied, ValidationFailed
from vinculo.core.models import Event, User
from vinculo.core.roles import Role


def record(workspace, contact, *, purpose="email_marketing", granted=True, actor=None, **extra):
    values = {"wording": "Aceito receber e-mails.", "source": "staff", **extra}
    return consent_record(
        workspace=workspace,
        actor=actor,
        contact_id=contact.pk,
        purpose=purpose,
        granted=granted,
        **values,
    )


@pytest.fixture
def contact(contact_factory) -> Contact:
    return contact_factory(first_name="Lívia", emails=["livia@example.com"])


# --- append-only ------------------------------------------------------------------------------


def test_an_entry_cannot_be_changed_or_deleted(workspace, contact) -> None:
    entry = record(workspace, contact)
    entry.granted = False
    with pytest.raises(ConsentLogIsAppendOnly):
        entry.save()
    with pytest.raises(ConsentLogIsAppendOnly):
        entry.delete()
    entries = ConsentEntry.objects.for_workspace(workspace)
    with pytest.raises(ConsentLogIsAppendOnly):
        entries.update(granted=False)
    with pytest.raises(ConsentLogIsAppendOnly):
        entries.filter(pk=entry.pk).delete()
    with pytest.raises(ConsentLogIsAppendOnly):
        ConsentEntry.all_tenants.filter(pk=entry.pk).update(wording="changed")
    stored = ConsentEntry.objects.for_workspace(workspace).get()
    assert stored.granted is True
    assert stored.wording == "Aceito receber e-mails."


def test_deleting_the_contact_or_the_recorder_still_works(workspace, contact, make_member) -> None:
    clerk = make_member("clerk@acme.test", Role.MANAGER)
    record(workspace, contact, actor=clerk)
    # The recorder leaves: the entry stays, without them.
    clerk.delete()
    entry = ConsentEntry.objects.for_workspace(workspace).get()
    assert entry.actor_id is None
    # Purging a contact removes its log with it (the cascade goes around `delete()`).
    Contact.objects.for_workspace(workspace).filter(pk=contact.pk).delete()
    assert not ConsentEntry.objects.for_workspace(workspace).exists()


def test_a_withdrawal_is_a_new_entry(workspace, contact) -> None:
    first = record(workspace, contact, granted=True)
    second = record(workspace, contact, granted=False, wording="Pediu por telefone para parar.")
    assert first.pk != second.pk
    rows = ConsentEntry.objects.for_workspace(workspace).order_by("id")
    assert [(e.granted, e.wording) for e in rows] == [
        (True, "Aceito receber e-mails."),
        (False, "Pediu por telefone para parar."),
    ]


# --- state derived from the log -----------------------------------------------------------------


def test_state_follows_grant_withdraw_and_grant_again(workspace, admin, contact) -> None:
    start = timezone.now() - dt.timedelta(days=30)
    record(workspace, contact, granted=True, recorded_at=start)
    record(workspace, contact, granted=True, recorded_at=start + dt.timedelta(days=1))
    record(workspace, contact, purpose="whatsapp", granted=True, recorded_at=start)

    def state() -> dict[str, tuple[bool, dt.datetime]]:
        return {
            s.purpose: (s.granted, s.since)
            for s in consent_state(workspace=workspace, viewer=admin, contact_id=contact.pk)
        }

    # Confirming a consent again does not move "since".
    assert state() == {"email_marketing": (True, start), "whatsapp": (True, start)}
    withdrawn_at = start + dt.timedelta(days=10)
    record(workspace, contact, granted=False, recorded_at=withdrawn_at)
    assert state()["email_marketing"] == (False, withdrawn_at)
    assert state()["whatsapp"] == (True, start)
    again = start + dt.timedelta(days=20)
    entry = record(workspace, contact, granted=True, recorded_at=again, wording="De novo, sim.")
    assert state()["email_marketing"] == (True, again)
    current = consent_state(workspace=workspace, viewer=admin, contact_id=contact.pk)[0]
    assert current.entry == entry
    assert current.label == "Email marketing"


def test_state_orders_known_purposes_first_then_others(workspace, admin, contact) -> None:
    record(workspace, contact, purpose="newsletter_events")
    record(workspace, contact, purpose="profiling")
    record(workspace, contact, purpose="email_marketing")
    states = consent_state(workspace=workspace, viewer=admin, contact_id=contact.pk)
    assert [s.purpose for s in states] == ["email_marketing", "profiling", "newsletter_events"]
    assert states[-1].label == "Newsletter events"


def test_log_is_newest_first_and_paged(workspace, admin, contact) -> None:
    base = timezone.now() - dt.timedelta(hours=5)
    for hour in range(5):
        record(
            workspace, contact, granted=hour % 2 == 0, recorded_at=base + dt.timedelta(hours=hour)
        )
    page = consent_log(workspace=workspace, viewer=admin, contact_id=contact.pk, limit=3)
    assert [e.recorded_at for e in page.items] == [base + dt.timedelta(hours=h) for h in (4, 3, 2)]
    rest = consent_log(
        workspace=workspace, viewer=admin, contact_id=contact.pk, cursor=page.next_cursor
    )
    assert len(rest.items) == 2 and rest.next_cursor is None


# --- validation ---------------------------------------------------------------------------------


def test_every_bad_field_is_named_and_nothing_is_written(workspace, contact) -> None:
    with pytest.raises(ValidationFailed) as caught:
        consent_record(
            workspace=workspace,
            actor=None,
            contact_id=contact.pk,
            purpose="E-mail Marketing!",
            granted="yes",  # type: ignore[arg-type]
            wording="   ",
            source="fax",
            ip_address="999.1.1.1",
            recorded_at=timezone.now() + dt.timedelta(days=2),
        )
    assert {e.field for e in caught.value.errors} == {
        "purpose",
        "granted",
        "wording",
        "source",
        "ip_address",
        "recorded_at",
    }
    assert not ConsentEntry.objects.for_workspace(workspace).exists()
    assert not Event.objects.for_workspace(workspace).filter(type__startswith="consent.").exists()


def test_purpose_may_be_a_slug_of_ones_own_and_is_required(workspace, contact) -> None:
    entry = record(workspace, contact, purpose="feira_2025")
    assert entry.purpose == "feira_2025"
    for bad in ("", "1abc", "x" * 61, "com espaço"):
        with pytest.raises(ValidationFailed) as caught:
            record(workspace, contact, purpose=bad)
        assert [e.field for e in caught.value.errors] == ["purpose"]


def test_network_details_are_kept_and_the_user_agent_cut(workspace, contact) -> None:
    entry = record(
        workspace, contact, source="form", ip_address="2001:db8::1", user_agent="A" * 500
    )
    entry.refresh_from_db()
    assert entry.ip_address == "2001:db8::1"
    assert len(entry.user_agent) == 300


# --- events -------------------------------------------------------------------------------------


def test_grant_and_withdrawal_are_events_on_the_contact(workspace, admin, contact) -> None:
    granted = record(workspace, contact, actor=admin)
    withdrawn = record(workspace, contact, actor=admin, granted=False)
    events = Event.objects.for_workspace(workspace).filter(type__startswith="consent.")
    assert [(e.type, e.subject_type, e.subject_id, e.actor_id, e.payload) for e in events] == [
        (
            "consent.granted",
            "contact",
            contact.pk,
            admin.pk,
            {"purpose": "email_marketing", "source": "staff", "entry_id": granted.pk},
        ),
        (
            "consent.withdrawn",
            "contact",
            contact.pk,
            admin.pk,
            {"purpose": "email_marketing", "source": "staff", "entry_id": withdrawn.pk},
        ),
    ]


# --- rights and reach ---------------------------------------------------------------------------


def test_who_may_record_consent(workspace, make_member, contact_factory) -> None:
    reader = make_member("reader@acme.test", Role.READ_ONLY)
    seller = make_member("seller@acme.test", Role.SALES)
    outsider = make_member("outsider@acme.test", Role.SALES)
    mine = contact_factory(owner_id=seller.pk)
    with pytest.raises(PermissionDenied):
        record(workspace, mine, actor=reader)
    # Sales see their own and their team's records only.
    assert record(workspace, mine, actor=seller).actor == seller
    with pytest.raises(NotFound):
        record(workspace, mine, actor=outsider)


def test_no_consent_for_deleted_erased_or_foreign_contacts(
    workspace, other_workspace, admin, contact, contact_factory
) -> None:
    foreign = contact_factory(ws=other_workspace)
    with pytest.raises(NotFound):
        record(workspace, foreign, actor=admin)
    gone = contact_factory()
    Contact.objects.for_workspace(workspace).filter(pk=gone.pk).update(deleted_at=timezone.now())
    with pytest.raises(NotFound):
        record(workspace, gone, actor=admin)
    contact_erase(workspace=workspace, actor=admin, contact_id=contact.pk, reason="Pedido")
    with pytest.raises(ContactErased):
        record(workspace, contact, actor=admin)


def test_reading_consent_needs_sight_of_the_contact(
    workspace, other_workspace, make_member, contact_factory
) -> None:
    seller = make_member("seller@acme.test", Role.SALES)
    hidden = contact_factory(owner_id=User.objects.get(email="admin@acme.test").pk)
    record(workspace, hidden)
    with pytest.raises(NotFound):
        consent_state(workspace=workspace, viewer=seller, contact_id=hidden.pk)
    with pytest.raises(NotFound):
        consent_log(workspace=workspace, viewer=seller, contact_id=hidden.pk)
    with pytest.raises(NotFound):
        consent_state(workspace=other_workspace, viewer=None, contact_id=hidden.pk)


def test_panel_rights_follow_roles(workspace, make_member, contact) -> None:
    rights = {}
    for role in (Role.ADMIN, Role.MANAGER, Role.SALES, Role.READ_ONLY):
        user = make_member(f"{role}.member@acme.test", role)
        panel = privacy_panel(workspace=workspace, viewer=user, contact_id=contact.pk)
        rights[role] = (panel.can_record, panel.can_export, panel.can_erase)
    assert rights == {
        Role.ADMIN: (True, True, True),
        Role.MANAGER: (True, True, True),
        Role.SALES: (True, False, False),
        Role.READ_ONLY: (False, False, False),
    }
