"""Bulk actions on contacts and accounts: one transaction, an event per record, rights, and
selections that carry ids the actor must not touch."""

from __future__ import annotations

import pytest

from vinculo.contacts import services
from vinculo.contacts.models import Account, Contact
from vinculo.core.exceptions import PermissionDenied, ValidationFailed
from vinculo.core.models import Event, User, Workspace
from vinculo.core.roles import Role
from vinculo.core.tenancy import workspace_scope


def _tags(contact: Contact) -> list[str]:
    return sorted(t.name for t in contact.tags.filter(deleted_at__isnull=True))


def test_bulk_tag_adds_tags_and_records_one_event_per_changed_contact(
    workspace: Workspace, admin: User, contact_factory
) -> None:
    a = contact_factory(tags=["vip"])
    b = contact_factory()
    c = contact_factory(tags=["Lead quente"])
    changed = services.contacts_bulk_tag(
        workspace=workspace, actor=admin, contact_ids=[a.pk, b.pk, c.pk], tags=["lead quente"]
    )
    assert sorted(changed) == sorted([a.pk, b.pk])
    assert _tags(a) == ["Lead quente", "vip"]
    assert _tags(b) == ["Lead quente"]
    events = Event.objects.for_workspace(workspace).filter(type="contact.updated")
    assert {e.subject_id for e in events} == {a.pk, b.pk}
    payload = events.get(subject_id=a.pk).payload
    assert payload["changes"]["tags"] == [["vip"], ["Lead quente", "vip"]]
    assert events.get(subject_id=a.pk).actor_id == admin.pk


def test_bulk_actions_skip_other_workspaces_ids(
    workspace: Workspace, admin: User, other_workspace: Workspace, contact_factory
) -> None:
    mine = contact_factory()
    with workspace_scope(other_workspace):
        theirs = contact_factory(ws=other_workspace, first_name="Outsider")
    for action, extra in (
        (services.contacts_bulk_tag, {"tags": ["x"]}),
        (services.contacts_bulk_assign, {"owner_id": admin.pk}),
        (services.contacts_bulk_delete, {}),
    ):
        changed = action(
            workspace=workspace, actor=admin, contact_ids=[mine.pk, theirs.pk], **extra
        )
        assert theirs.pk not in changed
    with workspace_scope(other_workspace):
        theirs = Contact.objects.for_workspace(other_workspace).get(pk=theirs.pk)
        assert theirs.deleted_at is None and theirs.owner_id is None
        assert not theirs.tags.exists()
        assert (
            not Event.objects.for_workspace(other_workspace)
            .filter(type__in=["contact.updated", "contact.deleted"])
            .exists()
        )


def test_bulk_assign_and_unassign(
    workspace: Workspace, admin: User, make_member, contact_factory
) -> None:
    seller = make_member("seller@acme.test", Role.SALES)
    a, b = contact_factory(), contact_factory(owner_id=seller.pk)
    changed = services.contacts_bulk_assign(
        workspace=workspace, actor=admin, contact_ids=[a.pk, b.pk], owner_id=seller.pk
    )
    assert changed == [a.pk]
    a.refresh_from_db()
    assert a.owner_id == seller.pk
    event = Event.objects.for_workspace(workspace).get(type="contact.updated", subject_id=a.pk)
    assert event.payload == {"changes": {"owner_id": [None, seller.pk]}}
    assert services.contacts_bulk_assign(
        workspace=workspace, actor=admin, contact_ids=[a.pk], owner_id=None
    ) == [a.pk]


def test_bulk_assign_refuses_an_owner_who_is_not_a_member(
    workspace: Workspace, admin: User, other_admin: User, contact_factory
) -> None:
    a = contact_factory()
    with pytest.raises(ValidationFailed) as exc:
        services.contacts_bulk_assign(
            workspace=workspace, actor=admin, contact_ids=[a.pk], owner_id=other_admin.pk
        )
    assert [e.field for e in exc.value.errors] == ["owner_id"]
    a.refresh_from_db()
    assert a.owner_id is None


def test_bulk_delete_and_restore(workspace: Workspace, admin: User, contact_factory) -> None:
    a, b = contact_factory(), contact_factory()
    deleted = services.contacts_bulk_delete(
        workspace=workspace, actor=admin, contact_ids=[a.pk, b.pk]
    )
    assert sorted(deleted) == sorted([a.pk, b.pk])
    assert Contact.objects.for_workspace(workspace).filter(deleted_at__isnull=True).count() == 0
    assert Event.objects.for_workspace(workspace).filter(type="contact.deleted").count() == 2
    restored = services.contacts_bulk_restore(workspace=workspace, actor=admin, contact_ids=deleted)
    assert sorted(restored) == sorted(deleted)
    assert Contact.objects.for_workspace(workspace).filter(deleted_at__isnull=True).count() == 2
    assert Event.objects.for_workspace(workspace).filter(type="contact.restored").count() == 2


def test_bulk_rights(workspace: Workspace, make_member, contact_factory) -> None:
    reader = make_member("reader@acme.test", Role.READ_ONLY)
    seller = make_member("seller@acme.test", Role.SALES)
    a = contact_factory()
    with pytest.raises(PermissionDenied):
        services.contacts_bulk_tag(
            workspace=workspace, actor=reader, contact_ids=[a.pk], tags=["x"]
        )
    # Sales may edit but not delete.
    with pytest.raises(PermissionDenied):
        services.contacts_bulk_delete(workspace=workspace, actor=seller, contact_ids=[a.pk])
    a.refresh_from_db()
    assert a.deleted_at is None


def test_team_scope_skips_contacts_out_of_sight(
    workspace: Workspace, make_member, contact_factory
) -> None:
    seller = make_member("seller@acme.test", Role.SALES)
    other = make_member("other@acme.test", Role.SALES)
    own = contact_factory(owner_id=seller.pk)
    hidden = contact_factory(owner_id=other.pk)
    changed = services.contacts_bulk_tag(
        workspace=workspace, actor=seller, contact_ids=[own.pk, hidden.pk], tags=["t"]
    )
    assert changed == [own.pk]
    assert _tags(hidden) == []


def test_bulk_tag_validates_names_and_selection_size(
    workspace: Workspace, admin: User, contact_factory
) -> None:
    a = contact_factory()
    with pytest.raises(ValidationFailed):
        services.contacts_bulk_tag(workspace=workspace, actor=admin, contact_ids=[a.pk], tags=[])
    with pytest.raises(ValidationFailed):
        services.contacts_bulk_tag(
            workspace=workspace, actor=admin, contact_ids=[a.pk], tags=["x" * 61]
        )
    with pytest.raises(ValidationFailed) as exc:
        services.contacts_bulk_delete(
            workspace=workspace, actor=admin, contact_ids=list(range(1, services.BULK_MAX + 2))
        )
    assert exc.value.errors[0].field == "ids"
    assert not Event.objects.for_workspace(workspace).filter(type="contact.deleted").exists()


def test_accounts_bulk_actions(workspace: Workspace, admin: User, account_factory) -> None:
    a, b = account_factory(), account_factory()
    assert sorted(
        services.accounts_bulk_tag(
            workspace=workspace, actor=admin, account_ids=[a.pk, b.pk], tags=["key"]
        )
    ) == sorted([a.pk, b.pk])
    assert services.accounts_bulk_assign(
        workspace=workspace, actor=admin, account_ids=[a.pk], owner_id=admin.pk
    ) == [a.pk]
    assert services.accounts_bulk_delete(workspace=workspace, actor=admin, account_ids=[b.pk]) == [
        b.pk
    ]
    assert Account.objects.for_workspace(workspace).get(pk=b.pk).deleted_at is not None
    assert services.accounts_bulk_restore(workspace=workspace, actor=admin, account_ids=[b.pk]) == [
        b.pk
    ]
    types = list(
        Event.objects.for_workspace(workspace)
        .filter(subject_type="account")
        .exclude(type="account.created")
        .order_by("id")
        .values_list("type", flat=True)
    )
    assert types == [
        "account.updated",
        "account.updated",
        "account.updated",
        "account.deleted",
        "account.restored",
    ]


def test_tag_add_and_remove_in_place(workspace: Workspace, admin: User, contact_factory) -> None:
    a = contact_factory(tags=["one"])
    services.contact_tag_add(workspace=workspace, actor=admin, contact_id=a.pk, name="Two")
    assert _tags(a) == ["Two", "one"]
    services.contact_tag_remove(workspace=workspace, actor=admin, contact_id=a.pk, name="ONE")
    assert _tags(a) == ["Two"]
