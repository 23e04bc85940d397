"""Factories for customer records. They go through the services, so the rows look exactly
like the ones users create (normalised phones, search documents, tags)."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from vinculo.contacts.models import Account, Contact
from vinculo.contacts.services import account_create, contact_create
from vinculo.core.models import CustomFieldDefinition, User, Workspace
from vinculo.core.services import apikey_create

_seq = itertools.count(1)


@pytest.fixture
def contact_factory(workspace: Workspace):
    def make(ws: Workspace | None = None, actor: User | None = None, **data: Any) -> Contact:
        n = next(_seq)
        data.setdefault("first_name", f"Person{n}")
        data.setdefault("owner_id", None)
        return contact_create(workspace=ws or workspace, actor=actor, data=data)

    return make


@pytest.fixture
def account_factory(workspace: Workspace):
    def make(ws: Workspace | None = None, actor: User | None = None, **data: Any) -> Account:
        n = next(_seq)
        data.setdefault("name", f"Company {n}")
        data.setdefault("owner_id", None)
        return account_create(workspace=ws or workspace, actor=actor, data=data)

    return make


@pytest.fixture
def key_for(workspace: Workspace):
    """An API key for a user (a member of `ws`, the test workspace by default)."""

    def make(user: User, ws: Workspace | None = None) -> str:
        return apikey_create(workspace=ws or workspace, user=user, name="test")[1]

    return make


@pytest.fixture
def custom_field(workspace: Workspace):
    def make(
        key: str,
        field_type: str,
        *,
        object_type: str = "contact",
        required: bool = False,
        choices: list[Any] | None = None,
        ws: Workspace | None = None,
    ) -> CustomFieldDefinition:
        return CustomFieldDefinition.objects.for_workspace(ws or workspace).create(
            workspace=ws or workspace,
            object_type=object_type,
            key=key,
            label=key.replace("_", " ").title(),
            field_type=field_type,
            required=required,
            choices=choices or [],
        )

    return make


def item_ids(response: Any) -> list[int]:
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["items"]]


def error_fields(response: Any) -> set[str]:
    assert response.status_code == 422, response.content
    assert response["Content-Type"] == "application/problem+json"
    return {e["field"] for e in response.json()["errors"]}
