"""Soft delete: records leave every list, can be restored for 30 days, then are purged."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.utils import timezone

from tests.contacts.conftest import item_ids
from vinculo.contacts.models import Account, Contact, ContactTag
from vinculo.contacts.services import records_purge_expired
from vinculo.core.models import Event


def _age(model, workspace, pk, days):
    model.objects.for_workspace(workspace).filter(pk=pk).update(
        deleted_at=timezone.now() - dt.timedelta(days=days)
    )


@pytest.mark.parametrize("kind", ["contacts", "accounts"])
def test_restore_within_the_retention_period(
    api, workspace, contact_factory, account_factory, kind
):
    record = (contact_factory if kind == "contacts" else account_factory)()
    model = Contact if kind == "contacts" else Account
    assert api.delete(f"/api/v1/{kind}/{record.pk}").status_code == 204
    assert api.delete(f"/api/v1/{kind}/{record.pk}").status_code == 404  # already gone
    _age(model, workspace, record.pk, settings.SOFT_DELETE_RETENTION_DAYS - 1)
    r = api.post(f"/api/v1/{kind}/{record.pk}/restore")
    assert r.status_code == 200
    assert model.objects.for_workspace(workspace).get(pk=record.pk).deleted_at is None
    # Restoring a live record changes nothing.
    assert api.post(f"/api/v1/{kind}/{record.pk}/restore").status_code == 200
    assert (
        Event.objects.for_workspace(workspace)
        .filter(subject_id=record.pk, type__endswith=".restored")
        .count()
        == 1
    )


@pytest.mark.parametrize("kind", ["contacts", "accounts"])
def test_restore_after_the_retention_period_is_a_clear_error(
    api, workspace, contact_factory, account_factory, kind
):
    record = (contact_factory if kind == "contacts" else account_factory)()
    model = Contact if kind == "contacts" else Account
    api.delete(f"/api/v1/{kind}/{record.pk}")
    _age(model, workspace, record.pk, settings.SOFT_DELETE_RETENTION_DAYS + 1)
    r = api.post(f"/api/v1/{kind}/{record.pk}/restore")
    assert r.status_code == 410
    assert r["Content-Type"] == "application/problem+json"
    assert r.json()["type"].endswith("/restore-expired")
    assert str(settings.SOFT_DELETE_RETENTION_DAYS) in r.json()["detail"]
    assert model.objects.for_workspace(workspace).get(pk=record.pk).deleted_at is not None


def test_purge_removes_only_expired_records_everywhere(
    workspace, other_workspace, contact_factory, account_factory
):
    account = account_factory(name="Old Co")
    expired = contact_factory(first_name="Expired", tags=["x"])
    recent = contact_factory(first_name="Recent")
    live = contact_factory(first_name="Live", account_id=account.pk)
    foreign = contact_factory(ws=other_workspace, first_name="Foreign")
    now = timezone.now()
    days = settings.SOFT_DELETE_RETENTION_DAYS
    Contact.all_tenants.filter(pk__in=[expired.pk, foreign.pk]).update(
        deleted_at=now - dt.timedelta(days=days + 1)
    )
    Contact.all_tenants.filter(pk=recent.pk).update(deleted_at=now - dt.timedelta(days=days - 1))
    Account.all_tenants.filter(pk=account.pk).update(deleted_at=now - dt.timedelta(days=days + 5))

    assert records_purge_expired() == {"contacts": 2, "accounts": 1}

    remaining = set(Contact.all_tenants.values_list("pk", flat=True))
    assert remaining == {recent.pk, live.pk}
    assert not ContactTag.all_tenants.filter(contact_id=expired.pk).exists()
    assert not Account.all_tenants.filter(pk=account.pk).exists()
    # A live contact of a purged account only loses the link.
    assert Contact.all_tenants.get(pk=live.pk).account_id is None
    purged = Event.all_tenants.filter(type="contact.purged").values_list(
        "subject_id", "workspace_id"
    )
    assert set(purged) == {(expired.pk, workspace.pk), (foreign.pk, other_workspace.pk)}
    assert records_purge_expired() == {"contacts": 0, "accounts": 0}


def test_deleted_account_keeps_its_contacts(api, workspace, contact_factory, account_factory):
    account = account_factory(name="Acme")
    contact = contact_factory(account_id=account.pk)
    api.delete(f"/api/v1/accounts/{account.pk}")
    assert item_ids(api.get("/api/v1/accounts")) == []
    assert item_ids(api.get("/api/v1/accounts", deleted="true")) == [account.pk]
    assert api.get(f"/api/v1/contacts/{contact.pk}").json()["account"]["id"] == account.pk
    r = api.post("/api/v1/contacts", {"first_name": "New", "account_id": account.pk})
    assert [e["field"] for e in r.json()["errors"]] == ["account_id"]
