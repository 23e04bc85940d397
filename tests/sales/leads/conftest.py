"""Fixtures of the leads tests: leads made through the services (as people and web forms make
them), members in each role, and clients logged in as them."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from django.test import Client

# The Playwright fixtures of the browser suite: `browser` (Chromium) and `page` (a tab).
from vinculo.core.models import User, Workspace
from vinculo.core.roles import Role
from vinculo.core.services import apikey_create
from vinculo.sales.leads import services
from vinculo.sales.models import Lead

_seq = itertools.count(1)
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def lead_factory(workspace: Workspace):
    """A lead made by the system (no actor), as a web form or an import makes one."""

    def make(ws: Workspace | None = None, channel: str = "webform", **data: Any) -> Lead:
        n = next(_seq)
        data.setdefault("first_name", f"Person{n}")
        data.setdefault("email", f"person{n}@example.com")
        return services.lead_create(
            workspace=ws or workspace, actor=None, data=data, source_channel=channel
        )

    return make


@pytest.fixture
def lead(lead_factory) -> Lead:
    return lead_factory(
        first_name="Maria",
        last_name="Silva",
        email="maria@padaria.com.br",
        phone="(11) 98765-4321",
        company_name="Padaria Pão Quente",
        company_domain="padaria.com.br",
        country="BR",
        source="Web form",
        utm_source="google",
        utm_campaign="spring",
    )


@pytest.fixture
def seller(make_member) -> User:
    return make_member("seller@acme.test", Role.SALES)


@pytest.fixture
def other_seller(make_member) -> User:
    return make_member("other.seller@acme.test", Role.SALES)


@pytest.fixture
def staff(client: Client, admin: User) -> Client:
    """The admin, logged in to the pages (in English)."""
    admin.language = "en"
    admin.save(update_fields=["language"])
    client.force_login(admin)
    return client


def login(client: Client, user: User) -> Client:
    user.language = "en"
    user.save(update_fields=["language"])
    client.force_login(user)
    return client


@pytest.fixture
def seller_key(workspace: Workspace, seller: User) -> str:
    return apikey_create(workspace=workspace, user=seller, name="tests")[1]


def problem_fields(response: Any) -> dict[str, str]:
    """{field: code} of a 422 problem response."""
    return {e["field"]: e["code"] for e in response.json()["errors"]}
