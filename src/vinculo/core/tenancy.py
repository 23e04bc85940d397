"""Tenant scoping that fails closed.

Every tenant-owned model uses `TenantManager` as its default manager. Querying it without an
active workspace raises `TenantScopeMissing` instead of silently returning every tenant's rows.
The active workspace is set per request by `WorkspaceMiddleware` / the API auth, and by tasks
and commands with `workspace_scope(workspace)`. `Model.objects.for_workspace(ws)` scopes
explicitly and is what services and selectors use.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from django.db import models

if TYPE_CHECKING:
    from vinculo.core.models import Workspace

_active_workspace: ContextVar[Workspace | None] = ContextVar("vinculo_workspace", default=None)


class TenantScopeMissing(RuntimeError):
    """A tenant-owned table was queried with no active workspace."""


def active_workspace() -> Workspace | None:
    return _active_workspace.get()


def activate_workspace(workspace: Workspace | None) -> object:
    """Set the active workspace; returns a token for `deactivate_workspace`."""
    return _active_workspace.set(workspace)


def deactivate_workspace(token: Any) -> None:
    _active_workspace.reset(token)


@contextmanager
def workspace_scope(workspace: Workspace) -> Iterator[Workspace]:
    token = _active_workspace.set(workspace)
    try:
        yield workspace
    finally:
        _active_workspace.reset(token)


class TenantQuerySet(models.QuerySet):
    def for_workspace(self, workspace: Workspace) -> TenantQuerySet:
        return self.filter(workspace_id=workspace.pk)


class TenantManager(models.Manager.from_queryset(TenantQuerySet)):  # type: ignore[misc]
    """Default manager of tenant-owned models: scoped to the active workspace, or refusing."""

    def get_queryset(self) -> TenantQuerySet:
        workspace = _active_workspace.get()
        if workspace is None:
            raise TenantScopeMissing(
                f"{self.model.__name__} queried without an active workspace; "
                "use .for_workspace(ws) or workspace_scope(ws)"
            )
        return super().get_queryset().filter(workspace_id=workspace.pk)

    def for_workspace(self, workspace: Workspace) -> TenantQuerySet:
        return super().get_queryset().filter(workspace_id=workspace.pk)


class TenantModel(models.Model):
    """Base of every tenant-owned model.

    `objects` fails closed; `all_tenants` is for the few system jobs that cross workspaces on
    purpose (the event dispatcher sweep, retention purges) and Django's internal base manager.
    """

    workspace = models.ForeignKey("core.Workspace", on_delete=models.CASCADE, related_name="+")

    objects = TenantManager()
    all_tenants = models.Manager()

    class Meta:
        abstract = True
        base_manager_name = "all_tenants"
