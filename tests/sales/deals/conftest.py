"""Fixtures of the deals tests: pipelines, deals, products and customer records, all made
through the services so they look exactly like the ones people create."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

# The browser tests of deals drive Chromium like the suite's own browser tests.
from vinculo.contacts.models import Account, Contact
from vinculo.core.models import User, Workspace
from vinculo.core.services import apikey_create
from vinculo.sales.deals import services
from vinculo.sales.models import Deal, Pipeline, Product, Stage

_seq = itertools.count(1)
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def pipeline(workspace: Workspace) -> Pipeline:
    return services.pipeline_default(workspace)


@pytest.fixture
def stages(pipeline: Pipeline) -> dict[str, Stage]:
    """The default pipeline's stages by their English name."""
    ordered = list(
        Stage.objects.for_workspace(pipeline.workspace)
        .filter(pipeline=pipeline)
        .order_by("position")
    )
    keys = ["new", "qualified", "proposal", "negotiation", "won", "lost"]
    return dict(zip(keys, ordered, strict=True))


@pytest.fixture
def deal_factory(workspace: Workspace, pipeline: Pipeline):
    def make(ws: Workspace | None = None, actor: User | None = None, **data: Any) -> Deal:
        data.setdefault("name", f"Deal {next(_seq)}")
        data.setdefault("owner_id", None)
        return services.deal_create(workspace=ws or workspace, actor=actor, data=data)

    return make


@pytest.fixture
def product_factory(workspace: Workspace):
    def make(ws: Workspace | None = None, **data: Any) -> Product:
        data.setdefault("name", f"Product {next(_seq)}")
        data.setdefault("unit_price", "100.00")
        return services.product_create(workspace=ws or workspace, actor=None, data=data)

    return make


@pytest.fixture
def contact(workspace: Workspace) -> Contact:
    return Contact.objects.for_workspace(workspace).create(
        workspace=workspace, first_name="Ana", last_name="Souza", sort_name="ana souza"
    )


@pytest.fixture
def account(workspace: Workspace) -> Account:
    return Account.objects.for_workspace(workspace).create(
        workspace=workspace, name="Acme Comércio", sort_name="acme comercio"
    )


@pytest.fixture
def key_for(workspace: Workspace):
    def make(user: User, ws: Workspace | None = None) -> str:
        return apikey_create(workspace=ws or workspace, user=user, name="test")[1]

    return make


@pytest.fixture
def browser_client(client: Client):
    """A logged-in client that reads the pages in English."""

    def log_in(user: User) -> Client:
        client.force_login(user)
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        return client

    return log_in


@pytest.fixture
def admin_client(browser_client, admin: User) -> Client:
    return browser_client(admin)


def column_ids(workspace: Workspace, stage: Stage) -> list[int]:
    """The deals of a board column in card order."""
    return list(
        Deal.objects.for_workspace(workspace)
        .filter(stage=stage, deleted_at__isnull=True)
        .order_by("position", "id")
        .values_list("id", flat=True)
    )


def error_fields(response: Any) -> set[str]:
    assert response.status_code == 422, response.content
    assert response["Content-Type"] == "application/problem+json"
    return {e["field"] for e in response.json()["errors"]}
