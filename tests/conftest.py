"""Fixtures shared by the whole suite: workspaces, users in each role, and an API client that
authenticates with a real API key."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.utils import translation

from vinculo.core.models import User, Workspace
from vinculo.core.roles import Role
from vinculo.core.services import apikey_create, membership_add, workspace_create
from vinculo.core.tenancy import workspace_scope

# Chromium through Playwright (`browser`, `page`) for browser tests wherever they live: one
# plugin, so every worker starts one browser.
pytest_plugins = ["tests.support.browser"]


def pytest_report_header(config: pytest.Config) -> str:
    return f"vinculo database: {os.environ.get('VINCULO_TEST_DB', 'sqlite')}"


@dataclass
class ApiClient:
    """Calls /api/v1 the way an integration would: JSON bodies and a Bearer key."""

    client: Client
    key: str

    def _headers(self, key: str | None) -> dict[str, str]:
        # Answers in English, as an integration would ask for (Accept-Language).
        return {"HTTP_AUTHORIZATION": f"Bearer {key or self.key}", "HTTP_ACCEPT_LANGUAGE": "en"}

    def get(self, path: str, *, key: str | None = None, **params: Any) -> Any:
        return self.client.get(path, params or None, **self._headers(key))

    def post(
        self,
        path: str,
        body: Any = None,
        *,
        key: str | None = None,
        raw: bytes | str | None = None,
        content_type: str = "application/json",
    ) -> Any:
        data = raw if raw is not None else json.dumps(body if body is not None else {})
        return self.client.post(path, data, content_type=content_type, **self._headers(key))

    def patch(self, path: str, body: Any, *, key: str | None = None) -> Any:
        return self.client.patch(
            path, json.dumps(body), content_type="application/json", **self._headers(key)
        )

    def put(self, path: str, body: Any, *, key: str | None = None) -> Any:
        return self.client.put(
            path, json.dumps(body), content_type="application/json", **self._headers(key)
        )

    def delete(self, path: str, *, key: str | None = None) -> Any:
        return self.client.delete(path, **self._headers(key))


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    """Code run outside a request (services, tasks, commands) writes in the active language,
    pt-BR by default; tests read it in English unless they choose otherwise. Pages and the API
    still answer in the language each request asks for."""
    with translation.override("en"):
        yield


@pytest.fixture
def workspace(db: None) -> Iterator[Workspace]:
    ws = workspace_create(name="Acme Ltda", slug="acme", admin_email="admin@acme.test")
    with workspace_scope(ws):
        yield ws


@pytest.fixture
def admin(workspace: Workspace) -> User:
    return User.objects.get(email="admin@acme.test")


@pytest.fixture
def other_workspace(db: None) -> Workspace:
    return workspace_create(name="Globex", slug="globex", admin_email="admin@globex.test")


@pytest.fixture
def other_admin(other_workspace: Workspace) -> User:
    return User.objects.get(email="admin@globex.test")


@pytest.fixture
def make_member(workspace: Workspace):
    def make(email: str, role: str = Role.SALES, ws: Workspace | None = None) -> User:
        user = User.objects.create_user(email=email, password="correct horse battery")
        membership_add(workspace=ws or workspace, user=user, role=role)
        return user

    return make


@pytest.fixture
def api_key(workspace: Workspace, admin: User) -> str:
    return apikey_create(workspace=workspace, user=admin, name="tests")[1]


@pytest.fixture
def other_key(other_workspace: Workspace, other_admin: User) -> str:
    return apikey_create(workspace=other_workspace, user=other_admin, name="tests")[1]


@pytest.fixture
def api(client: Client, api_key: str) -> ApiClient:
    return ApiClient(client=client, key=api_key)
