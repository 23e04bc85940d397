"""Erasure: after it the person's values are in no table and no search finds them; counts and
business facts stay; the event holds the reason and counts only; it happens once, in one
transaction, for those with the right; later modules add their own steps."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection, models

from tests.contacts.privacy.conftest import PERSON_VALUES
from vinculo.collab.models import Notification
from vinculo.contacts.models import (
    Account,
    ConsentEntry,
    Contact,
    ContactTag,
    DuplicateCandidate,
    ImportChange,
    ImportJob,
    ImportRowFailure,
)
from vinculo.contacts.privacy import services
from vinculo.contacts.privacy.exporting import ERASED
from vinculo.contacts.privacy.services import ContactErased, contact_erase
from vinculo.contacts.selectors import contact_filters, contact_list, contact_search_suggestions
from vinculo.core.exceptions import NotFound, PermissionDenied, ValidationFailed
from vinculo.core.models import Event
from vinculo.core.roles import Role
from vinculo.timeline.models import Interaction, Note, Task

# Every table erasure touches, and the link tables of the record.
TOUCHED = (
    Contact,
    Account,
    ContactTag,
    Interaction,
    Task,
    Note,
    Notification,
    ConsentEntry,
    Event,
    ImportJob,
    ImportRowFailure,
    ImportChange,
    DuplicateCandidate,
)
TEXT_FIELDS = (
    models.CharField,
    models.TextField,
    models.JSONField,
    models.GenericIPAddressField,
    models.DateField,
)


def leftovers(workspace) -> list[tuple[str, int, str, str]]:
    """(table, row, column, value) for every text, JSON or date column of the touched tables
    that still holds one of the person's values."""
    found = []
    needles = [v.casefold() for v in PERSON_VALUES]
    for model in TOUCHED:
        columns = [f.name for f in model._meta.concrete_fields if isinstance(f, TEXT_FIELDS)]
        manager: Any = model.all_tenants if hasattr(model, "all_tenants") else model.objects
        for row in manager.filter(workspace=workspace).values("pk", *columns):
            for column in columns:
                text = str(row[column]).casefold()
                for needle in needles:
                    if needle in text:
                        found.append((model._meta.db_table, row["pk"], column, needle))
    return found


def search(workspace, q: str) -> list[int]:
    filters = contact_filters(workspace=workspace, viewer=None, params={"q": q})
    listed = [c.pk for c in contact_list(workspace=workspace, viewer=None, filters=filters).items]
    suggested = [
        s.id for s in contact_search_suggestions(workspace=workspace, viewer=None, q=q, limit=10)
    ]
    return sorted(set(listed) | set(suggested))


def counts(workspace, contact: Contact) -> dict[str, int]:
    ws = workspace
    return {
        "contacts": Contact.objects.for_workspace(ws).count(),
        "interactions": Interaction.objects.for_workspace(ws).filter(contact=contact).count(),
        "tasks": Task.objects.for_workspace(ws).filter(contact=contact).count(),
        "notes": Note.objects.for_workspace(ws).filter(contact=contact).count(),
        "consents": ConsentEntry.objects.for_workspace(ws).filter(contact=contact).count(),
        "events": Event.objects.for_workspace(ws)
        .filter(subject_type="contact", subject_id=contact.pk)
        .count(),
        "import_failures": ImportRowFailure.objects.for_workspace(ws).count(),
    }


def erase(person, actor=None, reason: str = "Pedido do titular por e-mail em 03/03") -> Any:
    return contact_erase(
        workspace=person.workspace, actor=actor, contact_id=person.contact.pk, reason=reason
    )


def test_before_erasure_the_scan_finds_the_person(workspace, person) -> None:
    # The scan below proves something only if it finds the values while they are there.
    tables = {table for table, *_rest in leftovers(workspace)}
    assert tables >= {
        "contacts_contact",
        "timeline_interaction",
        "timeline_task",
        "timeline_note",
        "collab_notification",
        "contacts_consententry",
        "core_event",
        "contacts_importrowfailure",
        "contacts_importchange",
        "contacts_duplicatecandidate",
    }
    for q in ("Mariazinha", "silvestre", "mariazinha.silvestre@example.com", "98765"):
        assert search(workspace, q) == [person.contact.pk]


def test_after_erasure_the_values_are_in_no_table(workspace, admin, person) -> None:
    erase(person, actor=admin)
    assert leftovers(workspace) == []


def test_after_erasure_no_search_finds_the_person(workspace, admin, person) -> None:
    erase(person, actor=admin)
    for q in (
        "Mariazinha",
        "silvestre",
        "mariazinha.silvestre@example.com",
        "mari.pessoal",
        "5511987654321",
        "98765",
        "4321",
    ):
        assert search(workspace, q) == [], q
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT rowid FROM contacts_contact_fts WHERE contacts_contact_fts MATCH ?",
                ['"mariazinha"*'],
            )
            assert cursor.fetchall() == []
    # The other person is found as before.
    assert search(workspace, "Bento") == [person.other.pk]


def test_business_facts_and_counts_stay(workspace, admin, person) -> None:
    before = counts(workspace, person.contact)
    report = erase(person, actor=admin)
    after = counts(workspace, person.contact)
    assert after == {**before, "events": before["events"] + 1}

    contact = Contact.objects.for_workspace(workspace).get(pk=person.contact.pk)
    assert contact.erased_at is not None
    assert contact.display_name == "Erased person"
    assert (contact.lifecycle_stage, contact.owner_id, contact.account_id) == (
        "customer",
        admin.pk,
        person.extra["company"].pk,
    )
    assert contact.created_at == person.contact.created_at
    assert contact.custom_fields == {"score": 42}
    assert [
        t.tag.name for t in ContactTag.objects.for_workspace(workspace).filter(contact=contact)
    ] == ["vip"]
    # The consent entries stay as proof, without the network details.
    entry = ConsentEntry.objects.for_workspace(workspace).get(contact=contact)
    assert (entry.purpose, entry.granted, entry.wording) == (
        "email_marketing",
        True,
        "Quero receber ofertas por e-mail.",
    )
    assert (entry.ip_address, entry.user_agent) == (None, "")
    # Timeline items stay, with their channel and authors; their text is gone.
    call = Interaction.objects.for_workspace(workspace).get(contact=contact)
    assert (call.channel, call.author_id, call.subject, call.body) == (
        "phone",
        admin.pk,
        ERASED,
        "",
    )
    assert report.counts == {
        "contact": 1,
        "interactions": 1,
        "tasks": 1,
        "notes": 1,
        "notifications": 1,
        "consents": 1,
        "events": report.counts["events"],
        "import_failures": 2,
        "import_changes": 1,
        "duplicates": 1,
        # Erasure steps the sales and marketing modules registered; this person has no leads.
        "leads": 0,
        "lead_predictions": 0,
        "quotes": 0,
        "webform_submissions": 0,
    }
    assert report.counts["events"] >= 10


def test_other_people_are_untouched(workspace, admin, person) -> None:
    other_before = Contact.objects.for_workspace(workspace).values().get(pk=person.other.pk)
    stranger = person.stranger_failure
    erase(person, actor=admin)
    assert Contact.objects.for_workspace(workspace).values().get(pk=person.other.pk) == other_before
    stranger_after = ImportRowFailure.objects.for_workspace(workspace).get(pk=stranger.pk)
    assert stranger_after.values == ["Carla Dias", "carla@", "(11) 91234-0000"]
    assert Interaction.objects.for_workspace(workspace).get(contact=person.other).body == (
        "Bento pediu a tabela"
    )
    assert ConsentEntry.objects.for_workspace(workspace).get(contact=person.other).ip_address == (
        "198.51.100.9"
    )
    # Failed rows keep their line and field for the import's report.
    seven = ImportRowFailure.objects.for_workspace(workspace).get(line_number=7)
    assert seven.values == [ERASED, ERASED, ERASED]
    assert seven.errors == [{"field": "email", "message": ERASED}]
    # Undo data keeps its keys (and ids), its values emptied.
    change = ImportChange.objects.for_workspace(workspace).get()
    assert change.before == {
        "first_name": "",
        "emails": [],
        "phones": [],
        "city": "",
        "owner_id": admin.pk,
        "custom_fields": {"apelido": ""},
    }


def test_the_event_holds_the_reason_and_counts_only(workspace, admin, person) -> None:
    report = erase(person, actor=admin, reason="Pedido do titular em 03/03")
    event = Event.objects.for_workspace(workspace).get(type="contact.erased")
    assert (event.subject_type, event.subject_id, event.actor_id) == (
        "contact",
        person.contact.pk,
        admin.pk,
    )
    assert event.payload == {"reason": "Pedido do titular em 03/03", "counts": report.counts}
    # Earlier events keep what happened and who did it; the values are gone.
    updated = Event.objects.for_workspace(workspace).get(type="contact.updated")
    assert updated.actor_id == admin.pk
    assert updated.payload == {"changes": {"job_title": [ERASED, ERASED]}}
    created = Event.objects.for_workspace(workspace).get(
        type="contact.created", subject_id=person.contact.pk
    )
    assert created.payload["fields"]["lifecycle_stage"] == "customer"
    assert created.payload["fields"]["first_name"] == ERASED


def test_erasing_twice_is_refused(workspace, admin, person) -> None:
    erase(person, actor=admin)
    with pytest.raises(ContactErased) as caught:
        erase(person, actor=admin)
    assert caught.value.status == 409
    assert Event.objects.for_workspace(workspace).filter(type="contact.erased").count() == 1


def test_only_privacy_roles_erase(workspace, make_member, person) -> None:
    for role in (Role.SALES, Role.MARKETING, Role.SERVICE, Role.READ_ONLY):
        with pytest.raises(PermissionDenied):
            erase(person, actor=make_member(f"{role}.member@acme.test", role))
    assert Contact.objects.for_workspace(workspace).get(pk=person.contact.pk).erased_at is None
    erase(person, actor=make_member("manager.member@acme.test", Role.MANAGER))
    assert Contact.objects.for_workspace(workspace).get(pk=person.contact.pk).erased_at


def test_a_reason_is_required(workspace, admin, person) -> None:
    for reason in ("", "   ", "x" * 501):
        with pytest.raises(ValidationFailed) as caught:
            erase(person, actor=admin, reason=reason)
        assert [e.field for e in caught.value.errors] == ["reason"]
    assert leftovers(workspace)


def test_other_workspaces_cannot_erase(other_workspace, other_admin, person) -> None:
    with pytest.raises(NotFound):
        contact_erase(
            workspace=other_workspace,
            actor=other_admin,
            contact_id=person.contact.pk,
            reason="Pedido",
        )
    assert Contact.all_tenants.get(pk=person.contact.pk).erased_at is None


def test_a_soft_deleted_contact_can_be_erased(workspace, admin, person) -> None:
    Contact.objects.for_workspace(workspace).filter(pk=person.contact.pk).update(
        deleted_at=person.contact.created_at
    )
    erase(person, actor=admin)
    assert leftovers(workspace) == []


def test_a_failing_step_leaves_everything_as_it_was(workspace, admin, person) -> None:
    @services.register_erasure
    def broken(p: Any) -> dict[str, int]:
        raise RuntimeError("the deals table is down")

    try:
        with pytest.raises(RuntimeError):
            erase(person, actor=admin)
    finally:
        services._erasure_steps.pop(f"{broken.__module__}.{broken.__qualname__}")
    assert Contact.objects.for_workspace(workspace).get(pk=person.contact.pk).first_name == (
        "Mariazinha"
    )
    assert ConsentEntry.objects.for_workspace(workspace).get(contact=person.contact).ip_address
    assert not Event.objects.for_workspace(workspace).filter(type="contact.erased").exists()


def test_a_module_adds_its_own_step(workspace, admin, person) -> None:
    seen: list[tuple[int, frozenset[str]]] = []

    @services.register_erasure
    def deals(p: Any) -> dict[str, int]:
        # The step sees the person as they were, to find them in its own tables.
        seen.append((p.contact.pk, p.emails))
        return {"deals": 2}

    try:
        report = erase(person, actor=admin)
    finally:
        services._erasure_steps.pop(f"{deals.__module__}.{deals.__qualname__}")
    assert seen == [
        (
            person.contact.pk,
            frozenset({"mariazinha.silvestre@example.com", "mari.pessoal@exemplo.com.br"}),
        )
    ]
    assert report.counts["deals"] == 2


def test_the_erased_record_is_not_a_duplicate_any_more(workspace, admin, person) -> None:
    erase(person, actor=admin)
    assert not DuplicateCandidate.objects.for_workspace(workspace).exists()
