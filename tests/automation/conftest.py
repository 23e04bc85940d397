"""Fixtures of the automation tests: records made through the services, rules made through
`rule_create`, teams with members, and a way to let events reach the engine as after a real
commit."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest

from vinculo.automation.models import Rule
from vinculo.automation.services import rule_create
from vinculo.contacts.models import Account, Contact
from vinculo.contacts.services import account_create, contact_create
from vinculo.core.models import Team, User, Workspace
from vinculo.core.roles import Role
from vinculo.core.services import apikey_create, team_create

_seq = itertools.count(1)


@pytest.fixture(autouse=True)
def english_workspace(workspace: Workspace) -> Workspace:
    """Rule runs are logged in the workspace's language (pt-BR by default); the tests read them
    in English unless they choose otherwise."""
    workspace.locale = "en"
    workspace.save(update_fields=["locale"])
    return workspace


@pytest.fixture
def contact_factory(workspace: Workspace) -> Callable[..., Contact]:
    def make(ws: Workspace | None = None, actor: User | None = None, **data: Any) -> Contact:
        data.setdefault("first_name", f"Person{next(_seq)}")
        data.setdefault("owner_id", None)
        return contact_create(workspace=ws or workspace, actor=actor, data=data)

    return make


@pytest.fixture
def account_factory(workspace: Workspace) -> Callable[..., Account]:
    def make(ws: Workspace | None = None, actor: User | None = None, **data: Any) -> Account:
        data.setdefault("name", f"Company {next(_seq)}")
        data.setdefault("owner_id", None)
        return account_create(workspace=ws or workspace, actor=actor, data=data)

    return make


@pytest.fixture
def rule_factory(workspace: Workspace) -> Callable[..., Rule]:
    def make(ws: Workspace | None = None, **data: Any) -> Rule:
        data.setdefault("name", f"Rule {next(_seq)}")
        data.setdefault("trigger", "contact.created")
        return rule_create(workspace=ws or workspace, actor=None, data=data)

    return make


@pytest.fixture
def reps(make_member) -> list[User]:
    return [make_member(f"rep{i}@acme.test", Role.SALES) for i in range(1, 4)]


@pytest.fixture
def team(workspace: Workspace, reps: list[User]) -> Team:
    return team_create(
        workspace=workspace, actor=None, name="South", member_ids=[u.pk for u in reps]
    )


@pytest.fixture
def deliver(django_capture_on_commit_callbacks):
    """Run a write and let its events (and theirs, in turn) reach every subscriber, as after
    a real commit."""

    def run(fn: Callable[..., Any], **kwargs: Any) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return fn(**kwargs)

    return run


@pytest.fixture
def key_for(workspace: Workspace):
    def make(user: User, ws: Workspace | None = None) -> str:
        return apikey_create(workspace=ws or workspace, user=user, name="test")[1]

    return make


@pytest.fixture
def browser_client(client):
    """A logged-in client that reads the pages in English."""
    from django.conf import settings

    def log_in(user: User):
        client.force_login(user)
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        return client

    return log_in


@pytest.fixture
def admin_client(browser_client, admin: User):
    return browser_client(admin)
