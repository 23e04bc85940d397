"""Field rules of the services themselves (the API, imports and automations share them)."""

from __future__ import annotations

import pytest

from vinculo.contacts.models import Contact
from vinculo.contacts.services import contact_create, contact_update
from vinculo.core.exceptions import ValidationFailed


def _fails(workspace, data, *, actor=None):
    with pytest.raises(ValidationFailed) as info:
        contact_create(workspace=workspace, actor=actor, data=data)
    return {e.field: e.code for e in info.value.errors}


def test_service_refuses_unknown_fields_and_wrong_types(workspace):
    errors = _fails(
        workspace,
        {
            "first_name": 5,
            "emails": "a@example.com",
            "phones": [None],
            "tags": ["", "x" * 61],
            "custom_fields": ["x"],
            "shoe_size": 44,
        },
    )
    assert errors == {
        "first_name": "invalid-type",
        "emails": "invalid-type",
        "phones.0": "invalid-type",
        "tags.0": "invalid-tag",
        "tags.1": "too-long",
        "custom_fields": "invalid-type",
        "shoe_size": "unknown-field",
    }
    assert Contact.objects.for_workspace(workspace).count() == 0


def test_limits_on_lists(workspace):
    many = [f"p{i}@example.com" for i in range(11)]
    # The addresses were meant as the identity: no second error about a missing name.
    assert _fails(workspace, {"emails": many}) == {"emails": "too-many"}


def test_emails_are_lower_cased_and_unique(workspace):
    contact = contact_create(
        workspace=workspace,
        actor=None,
        data={"emails": ["Ana@Example.com", "ana@example.COM", "ANA@work.example.com"]},
    )
    assert contact.emails == ["ana@example.com", "ana@work.example.com"]
    assert contact.email == "ana@example.com"
    assert contact.sort_name == "ana@example.com"  # no name: sorted by address


def test_sort_name_and_search_document(workspace):
    contact = contact_create(
        workspace=workspace,
        actor=None,
        data={"first_name": "Élodie", "last_name": "Çelik", "phones": ["+5511987654321"]},
    )
    assert contact.sort_name == "elodie celik"
    words = contact.search_document.split()
    assert {"elodie", "celik", "5511987654321", "11987654321", "987654321", "98765"} <= set(words)


def test_update_validates_against_the_stored_record(workspace):
    contact = contact_create(
        workspace=workspace, actor=None, data={"first_name": "A", "country": "US"}
    )
    # The stored country decides how a national number is read.
    contact = contact_update(
        workspace=workspace,
        actor=None,
        contact_id=contact.pk,
        data={"phones": ["650-253-0000"]},
    )
    assert contact.phones == ["+16502530000"]


def test_system_actor_may_write_and_owns_nothing(workspace):
    contact = contact_create(workspace=workspace, actor=None, data={"first_name": "Bot"})
    assert contact.owner_id is None and contact.created_by_id is None
