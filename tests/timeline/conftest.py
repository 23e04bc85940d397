"""Fixtures of the timeline tests. Contacts and accounts are made with the ORM directly, so these
tests depend only on the models of the contacts app, not on its services."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest

from vinculo.contacts.models import Account, Contact
from vinculo.core.models import Workspace

_seq = itertools.count(1)

BASE_TIME = dt.datetime(2025, 3, 10, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def account_factory(workspace: Workspace):
    def make(ws: Workspace | None = None, **fields: Any) -> Account:
        ws = ws or workspace
        fields.setdefault("name", f"Account {next(_seq)}")
        return Account.objects.for_workspace(ws).create(workspace=ws, **fields)

    return make


@pytest.fixture
def contact_factory(workspace: Workspace):
    def make(ws: Workspace | None = None, **fields: Any) -> Contact:
        ws = ws or workspace
        n = next(_seq)
        fields.setdefault("first_name", f"Person{n}")
        fields.setdefault("email", f"person{n}@example.test")
        return Contact.objects.for_workspace(ws).create(workspace=ws, **fields)

    return make


@pytest.fixture
def contact(contact_factory) -> Contact:
    return contact_factory(first_name="Ana", last_name="Souza")


@pytest.fixture
def account(account_factory) -> Account:
    return account_factory(name="Souza Comércio")


@pytest.fixture
def foreign_contact(other_workspace: Workspace, contact_factory) -> Contact:
    return contact_factory(ws=other_workspace, first_name="Outsider")


@pytest.fixture
def foreign_account(other_workspace: Workspace, account_factory) -> Account:
    return account_factory(ws=other_workspace, name="Outsider Inc")


def problem_fields(response: Any) -> dict[str, str]:
    """{field: code} of a 422 problem response."""
    return {e["field"]: e["code"] for e in response.json()["errors"]}
