"""Fixtures of the web form tests: forms made through the service, a logged-in browser and a
visitor's client (no login)."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from django.test import Client

from vinculo.core.models import User, Workspace
from vinculo.marketing.models import WebForm
from vinculo.marketing.services import webform_create

_seq = itertools.count(1)

FIELDS = [
    {"name": "first_name", "label": "Your name", "required": True},
    {"name": "email", "label": "Work email", "required": True},
    {"name": "company_name", "label": "", "required": False},
    {"name": "message", "label": "", "required": False},
]
WORDING = "I agree to receive emails about products and events. I can opt out at any time."


@pytest.fixture
def webform_factory(workspace: Workspace, admin: User):
    def make(ws: Workspace | None = None, actor: User | None = None, **data: Any) -> WebForm:
        data.setdefault("name", f"Contact form {next(_seq)}")
        data.setdefault("title", "Talk to sales")
        data.setdefault("fields", [dict(f) for f in FIELDS])
        data.setdefault("consent_enabled", True)
        data.setdefault("consent_purpose", "email_marketing")
        data.setdefault("consent_wording", WORDING)
        data.setdefault("consent_required", False)
        data.setdefault("lead_source", "Website")
        return webform_create(workspace=ws or workspace, actor=actor, data=data)

    return make


@pytest.fixture
def webform(webform_factory) -> WebForm:
    return webform_factory()


@pytest.fixture
def staff(client: Client, admin: User) -> Client:
    """The workspace's admin, logged in, reading English."""
    admin.language = "en"
    admin.save(update_fields=["language"])
    client.force_login(admin)
    return client


@pytest.fixture
def visitor() -> Client:
    """Someone on the internet: no session, English, a browser's user agent."""
    return Client(HTTP_ACCEPT_LANGUAGE="en", HTTP_USER_AGENT="Mozilla/5.0 (test visitor)")


def post_form(
    client: Client, form: WebForm, data: dict[str, Any], *, query: str = "", **extra: Any
):
    return client.post(f"/f/{form.public_key}{query}", data, **extra)
