"""Tenancy fails closed: tenant-owned tables refuse to be read or written without a workspace,
and with one they never show another workspace's rows."""

from __future__ import annotations

import threading

import pytest
from django.apps import apps
from django.db import models
from django.test import Client

from vinculo.core.models import ApiKey, Membership, Tag, Workspace
from vinculo.core.services import apikey_create, workspace_create
from vinculo.core.tenancy import (
    TenantModel,
    TenantScopeMissing,
    active_workspace,
    workspace_scope,
)

TENANT_MODELS = sorted(
    (m for m in apps.get_models() if issubclass(m, TenantModel)), key=lambda m: m.__name__
)

# Indexes and constraints that cross workspaces on purpose: the dispatcher's sweep of undelivered
# events, deliveries keyed by the (globally unique) event, the worker's sweeps of due reminders
# and of automation waits that are due.
CROSS_TENANT_BY_DESIGN = {"event_pending", "eventdelivery_unique", "task_reminder", "pending_due"}


@pytest.fixture
def two_workspaces(db: None) -> tuple[Workspace, Workspace]:
    # Created here rather than with the suite's `workspace` fixture, which activates a scope.
    acme = workspace_create(name="Acme", slug="acme", admin_email="admin@acme.test")
    globex = workspace_create(name="Globex", slug="globex", admin_email="admin@globex.test")
    return acme, globex


@pytest.fixture
def tags(two_workspaces: tuple[Workspace, Workspace]) -> dict[str, Tag]:
    acme, globex = two_workspaces
    return {
        "acme-vip": Tag.objects.for_workspace(acme).create(workspace=acme, name="VIP"),
        "acme-lead": Tag.objects.for_workspace(acme).create(workspace=acme, name="Lead"),
        "globex-vip": Tag.objects.for_workspace(globex).create(workspace=globex, name="VIP"),
    }


@pytest.mark.parametrize("model", TENANT_MODELS, ids=lambda m: m.__name__)
def test_every_tenant_model_refuses_queries_without_a_workspace(db, model):
    assert active_workspace() is None
    with pytest.raises(TenantScopeMissing, match=model.__name__):
        list(model.objects.all())
    with pytest.raises(TenantScopeMissing):
        model.objects.count()


def test_writes_through_the_default_manager_fail_closed_too(two_workspaces):
    acme, _ = two_workspaces
    with pytest.raises(TenantScopeMissing):
        Tag.objects.create(workspace=acme, name="VIP")
    with pytest.raises(TenantScopeMissing):
        Tag.objects.filter(name="VIP").update(color="red")
    with pytest.raises(TenantScopeMissing):
        Tag.objects.filter(name="VIP").delete()
    assert not Tag.all_tenants.exists()


def test_for_workspace_returns_only_that_workspaces_rows(two_workspaces, tags):
    acme, globex = two_workspaces
    assert set(Tag.objects.for_workspace(acme)) == {tags["acme-vip"], tags["acme-lead"]}
    assert set(Tag.objects.for_workspace(globex)) == {tags["globex-vip"]}
    # Chained filters stay inside the workspace even when they name the other one's row.
    assert not Tag.objects.for_workspace(acme).filter(pk=tags["globex-vip"].pk).exists()


def test_workspace_scope_scopes_the_default_manager_and_nests(two_workspaces, tags):
    acme, globex = two_workspaces
    with workspace_scope(acme):
        assert set(Tag.objects.all()) == {tags["acme-vip"], tags["acme-lead"]}
        with workspace_scope(globex):
            assert list(Tag.objects.all()) == [tags["globex-vip"]]
        assert active_workspace() == acme
        assert Tag.objects.count() == 2
    assert active_workspace() is None
    with pytest.raises(TenantScopeMissing):
        Tag.objects.count()


def test_workspace_scope_is_left_even_when_the_block_fails(two_workspaces):
    acme, _ = two_workspaces
    with pytest.raises(ZeroDivisionError), workspace_scope(acme):
        _ = 1 / 0
    assert active_workspace() is None


def test_default_manager_never_returns_another_workspaces_rows(two_workspaces, tags):
    acme, _ = two_workspaces
    foreign = tags["globex-vip"]
    with workspace_scope(acme):
        assert not Tag.objects.filter(pk=foreign.pk).exists()
        with pytest.raises(Tag.DoesNotExist):
            Tag.objects.get(pk=foreign.pk)
        assert list(Tag.objects.filter(name="VIP")) == [tags["acme-vip"]]
        assert Tag.objects.filter(pk=foreign.pk).update(color="red") == 0
        assert Tag.objects.filter(pk=foreign.pk).delete()[0] == 0
        # Other tenant-owned tables, reached directly and through a relation.
        assert {m.workspace_id for m in Membership.objects.all()} == {acme.pk}
    foreign.refresh_from_db()
    assert foreign.color == "gray"


def test_a_scope_does_not_leak_into_other_threads(two_workspaces, tags):
    acme, _ = two_workspaces
    seen: list[BaseException | int] = []

    def query() -> None:
        try:
            seen.append(Tag.objects.count())
        except TenantScopeMissing as exc:
            seen.append(exc)

    with workspace_scope(acme):
        worker = threading.Thread(target=query)
        worker.start()
        worker.join()
    assert len(seen) == 1
    assert isinstance(seen[0], TenantScopeMissing)


def test_an_api_request_leaves_no_workspace_active_behind_it(two_workspaces, tags):
    acme, _ = two_workspaces
    admin = Membership.objects.for_workspace(acme).get().user
    _, raw = apikey_create(workspace=acme, user=admin)
    response = Client().get("/api/v1/tags", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 200
    assert {t["name"] for t in response.json()["items"]} == {"VIP", "Lead"}
    assert active_workspace() is None
    with pytest.raises(TenantScopeMissing):
        ApiKey.objects.count()


@pytest.mark.parametrize("model", TENANT_MODELS, ids=lambda m: m.__name__)
def test_workspace_leads_every_unique_constraint_and_index(model):
    """DESIGN §3: `workspace` first in every unique constraint and composite index, so every
    tenant's rows sit together and tenants can later be spread over servers."""
    offenders = []
    for constraint in model._meta.constraints:
        if not isinstance(constraint, models.UniqueConstraint):
            continue
        if constraint.name in CROSS_TENANT_BY_DESIGN:
            continue
        first = (
            constraint.fields[0]
            if constraint.fields
            else getattr(constraint.expressions[0], "name", "")
        )
        if first != "workspace":
            offenders.append(constraint.name)
    for index in model._meta.indexes:
        if index.name in CROSS_TENANT_BY_DESIGN:
            continue
        if len(index.fields) > 1 and index.fields[0].lstrip("-") != "workspace":
            offenders.append(index.name)
    assert offenders == []
