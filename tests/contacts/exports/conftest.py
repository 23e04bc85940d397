"""Fixtures of the export tests: a sales team with its own records, readers of CSV and XLSX
files, and a small limit for the lists downloaded at once."""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from python_calamine import CalamineWorkbook

from vinculo.contacts.models import Contact
from vinculo.core.models import Team, TeamMember, User, Workspace
from vinculo.core.roles import Role


@pytest.fixture
def small_limit(settings: Any) -> int:
    """Lists of more than 3 rows become background exports."""
    settings.VINCULO_EXPORT_IMMEDIATE_MAX_ROWS = 3
    return 3


@pytest.fixture
def log_in(client: Client):
    def make(user: User, language: str = "en") -> Client:
        client.force_login(user)
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
        return client

    return make


def read_csv(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "a CSV for Excel starts with a byte-order mark"
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def read_xlsx(data: bytes) -> list[list[Any]]:
    sheet = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0)
    return [list(row) for row in sheet.to_python()]


def xlsx_part(data: bytes, name: str) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return archive.read(name).decode("utf-8")


def body(response: Any) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return bytes(response.content)


@dataclass
class SalesTeam:
    """Two sales reps in one team, a third rep in another, and a record owned by each."""

    ana: User
    bruno: User
    carla: User
    ana_contact: Contact
    bruno_contact: Contact
    carla_contact: Contact
    unowned: Contact


@pytest.fixture
def sales_team(workspace: Workspace, make_member, contact_factory) -> SalesTeam:
    ana = make_member("ana@acme.test", Role.SALES)
    bruno = make_member("bruno@acme.test", Role.SALES)
    carla = make_member("carla@acme.test", Role.SALES)
    north = Team.objects.for_workspace(workspace).create(workspace=workspace, name="North")
    south = Team.objects.for_workspace(workspace).create(workspace=workspace, name="South")
    for team, user in ((north, ana), (north, bruno), (south, carla)):
        TeamMember.objects.for_workspace(workspace).create(
            workspace=workspace, team=team, user=user
        )
    return SalesTeam(
        ana=ana,
        bruno=bruno,
        carla=carla,
        ana_contact=contact_factory(first_name="Ana's", last_name="Client", owner_id=ana.pk),
        bruno_contact=contact_factory(first_name="Bruno's", last_name="Client", owner_id=bruno.pk),
        carla_contact=contact_factory(first_name="Carla's", last_name="Client", owner_id=carla.pk),
        unowned=contact_factory(first_name="Nobody's", last_name="Client"),
    )
