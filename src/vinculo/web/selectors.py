"""Reads for the app shell's home page."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.utils import timezone

from vinculo.contacts.models import Account, Contact
from vinculo.core.access import can, visible
from vinculo.core.models import User, Workspace
from vinculo.timeline.models import Task, TaskStatus
from vinculo.timeline.selectors import TaskFilters, task_list


@dataclass(frozen=True)
class WorkspaceOverview:
    contacts: int | None
    accounts: int | None
    open_tasks: int | None
    now: dt.datetime
    # The viewer's next open tasks with a due date, soonest first.
    next_tasks: list[Task] = field(default_factory=list)


def workspace_overview(
    *, workspace: Workspace, viewer: User, next_tasks: int = 5
) -> WorkspaceOverview:
    """Counts of what the viewer may see (None for a module their role cannot open) and their
    next open tasks."""
    contacts = accounts = open_tasks = None
    if can(workspace=workspace, user=viewer, module="contacts", right="view"):
        contacts = visible(
            Contact.objects.for_workspace(workspace).filter(deleted_at__isnull=True),
            workspace=workspace,
            viewer=viewer,
            module="contacts",
        ).count()
    if can(workspace=workspace, user=viewer, module="accounts", right="view"):
        accounts = visible(
            Account.objects.for_workspace(workspace).filter(deleted_at__isnull=True),
            workspace=workspace,
            viewer=viewer,
            module="accounts",
        ).count()
    tasks: list[Task] = []
    if can(workspace=workspace, user=viewer, module="timeline", right="view"):
        open_tasks = (
            Task.objects.for_workspace(workspace)
            .filter(assignee=viewer, status=TaskStatus.OPEN, deleted_at__isnull=True)
            .count()
        )
        if open_tasks:
            tasks = task_list(
                workspace=workspace,
                viewer=viewer,
                filters=TaskFilters(mine=True, statuses=frozenset({TaskStatus.OPEN}), order="due"),
                limit=next_tasks,
            ).items
    return WorkspaceOverview(
        contacts=contacts,
        accounts=accounts,
        open_tasks=open_tasks,
        now=timezone.now(),
        next_tasks=tasks,
    )
