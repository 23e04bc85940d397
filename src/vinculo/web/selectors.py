"""Reads for the app shell's home page."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from vinculo.contacts.models import Account, Contact
from vinculo.core.access import can, visible
from vinculo.core.models import User, Workspace
from vinculo.timeline.models import Task, TaskStatus
from vinculo.timeline.selectors import TaskFilters, task_list

# Counting every row of a large table costs hundreds of milliseconds on PostgreSQL (a million
# contacts: about 0.7 s); the home page counts up to this many and shows "100,000+" beyond.
COUNT_CAP = 100_000


@dataclass(frozen=True)
class Count:
    value: int
    more: bool = False  # there are more than `value`


def _count_upto(qs: QuerySet[Any], cap: int | None = None) -> Count:
    cap = COUNT_CAP if cap is None else cap
    n = qs[: cap + 1].count()
    return Count(min(n, cap), n > cap)


@dataclass(frozen=True)
class WorkspaceOverview:
    contacts: Count | None
    accounts: Count | None
    open_tasks: Count | None
    now: dt.datetime
    # The viewer's next open tasks with a due date, soonest first.
    next_tasks: list[Task] = field(default_factory=list)


def workspace_overview(
    *, workspace: Workspace, viewer: User, next_tasks: int = 5
) -> WorkspaceOverview:
    """Counts of what the viewer may see (None for a module their role cannot open; capped at
    `COUNT_CAP`) and their next open tasks."""
    contacts = accounts = open_tasks = None
    if can(workspace=workspace, user=viewer, module="contacts", right="view"):
        contacts = _count_upto(
            visible(
                Contact.objects.for_workspace(workspace).filter(deleted_at__isnull=True),
                workspace=workspace,
                viewer=viewer,
                module="contacts",
            )
        )
    if can(workspace=workspace, user=viewer, module="accounts", right="view"):
        accounts = _count_upto(
            visible(
                Account.objects.for_workspace(workspace).filter(deleted_at__isnull=True),
                workspace=workspace,
                viewer=viewer,
                module="accounts",
            )
        )
    tasks: list[Task] = []
    if can(workspace=workspace, user=viewer, module="timeline", right="view"):
        open_tasks = _count_upto(
            Task.objects.for_workspace(workspace).filter(
                assignee=viewer, status=TaskStatus.OPEN, deleted_at__isnull=True
            )
        )
        if open_tasks.value:
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
