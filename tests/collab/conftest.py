"""Fixtures of the notification tests."""

from __future__ import annotations

import itertools

import pytest
from django.test import Client

from vinculo.collab.models import Notification, NotificationKind
from vinculo.collab.services import notification_create
from vinculo.contacts.models import Contact
from vinculo.core.models import User, Workspace

_seq = itertools.count(1)


@pytest.fixture
def notify(workspace: Workspace):
    def make(
        user: User, title: str = "", *, ws: Workspace | None = None, url: str = ""
    ) -> Notification:
        return notification_create(
            workspace=ws or workspace,
            actor=None,
            user=user,
            kind=NotificationKind.TASK_REMINDER,
            title=title or f"Reminder {next(_seq)}",
            url=url,
        )

    return make


@pytest.fixture
def contact(workspace: Workspace) -> Contact:
    return Contact.objects.for_workspace(workspace).create(
        workspace=workspace, first_name="Ana", last_name="Souza"
    )


@pytest.fixture
def browser(client: Client, admin: User) -> Client:
    admin.language = "en"
    admin.save(update_fields=["language"])
    client.force_login(admin)
    return client
