"""Fixtures of the app-shell tests: customer records made through the services (the contacts
factories), and a logged-in browser client."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.contacts.conftest import account_factory, contact_factory  # noqa: F401
from vinculo.core.models import User


@pytest.fixture
def logged_in(client: Client):
    def log_in(user: User) -> Client:
        client.force_login(user)
        return client

    return log_in


@pytest.fixture
def admin_client(logged_in, admin: User) -> Client:
    return logged_in(admin)
