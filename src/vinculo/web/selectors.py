"""Reads for the app shell's home page."""

from __future__ import annotations

from dataclasses import dataclass

from vinculo.contacts.models import Account, Contact
from vinculo.core.access import visible
from vinculo.core.models import User, Workspace
from vinculo.timeline.models import Task, TaskStatus


@dataclass(frozen=True)
class WorkspaceOverview:
    contacts: int
    accounts: int
    open_tasks: int


def workspace_overview(*, workspace: Workspace, viewer: User) -> WorkspaceOverview:
    contacts = visible(
        Contact.objects.for_workspace(workspace).filter(deleted_at__isnull=True),
        workspace=workspace,
        viewer=viewer,
        module="contacts",
    )
    accounts = visible(
        Account.objects.for_workspace(workspace).filter(deleted_at__isnull=True),
        workspace=workspace,
        viewer=viewer,
        module="accounts",
    )
    tasks = Task.objects.for_workspace(workspace).filter(
        assignee=viewer, status=TaskStatus.OPEN, deleted_at__isnull=True
    )
    return WorkspaceOverview(
        contacts=contacts.count(), accounts=accounts.count(), open_tasks=tasks.count()
    )
