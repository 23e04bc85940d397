"""Fixtures of the forecast tests. Pipelines, deals, their stage history and quotas are written
with the ORM at exact instants, so these tests depend only on the sales models, not on the
deals and leads services."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from vinculo.core.models import Team, TeamMember, User, Workspace
from vinculo.core.roles import Role
from vinculo.sales.models import (
    Deal,
    DealStageHistory,
    DealStatus,
    Pipeline,
    Quota,
    Stage,
    StageKind,
)

_seq = itertools.count(1)
SP = "America/Sao_Paulo"
HTMX = {"HTTP_HX_REQUEST": "true"}


def at(day: str, hour: float = 12) -> dt.datetime:
    """An instant in UTC: `at("2025-03-03", 12)` is 2025-03-03T12:00Z."""
    return dt.datetime.fromisoformat(day).replace(tzinfo=dt.UTC) + dt.timedelta(hours=hour)


class Book:
    """A workspace's pipeline (New 10 %, Qualified 25 %, Proposal 50 %, Won, Lost), and
    shortcuts to write deals, stage history and quotas in it."""

    def __init__(self, workspace: Workspace, name: str = "Sales") -> None:
        self.ws = workspace
        self.pipeline = Pipeline.objects.for_workspace(workspace).create(
            workspace=workspace, name=name, is_default=name == "Sales"
        )
        self.new = self.stage("New", 0, 10)
        self.qualified = self.stage("Qualified", 1, 25)
        self.proposal = self.stage("Proposal", 2, 50)
        self.won = self.stage("Won", 3, 100, StageKind.WON)
        self.lost = self.stage("Lost", 4, 0, StageKind.LOST)

    def stage(self, name: str, position: int, probability: int, kind: str = "open") -> Stage:
        return Stage.objects.for_workspace(self.ws).create(
            workspace=self.ws,
            pipeline=self.pipeline,
            name=name,
            position=position,
            probability=probability,
            kind=kind,
        )

    def deal(
        self,
        amount: str | int = 0,
        *,
        status: str = DealStatus.OPEN,
        stage: Stage | None = None,
        **fields: Any,
    ) -> Deal:
        if stage is None:
            stage = {"won": self.won, "lost": self.lost}.get(status, self.new)
        fields.setdefault("name", f"Deal {next(_seq)}")
        return Deal.objects.for_workspace(self.ws).create(
            workspace=self.ws,
            pipeline=self.pipeline,
            stage=stage,
            status=status,
            amount=Decimal(str(amount)),
            **fields,
        )

    def path(self, deal: Deal, *steps: tuple[Stage, dt.datetime]) -> None:
        """The deal's stays: it entered each stage at the instant given and left it when it
        entered the next (the last stay is still running)."""
        for i, (stage, entered) in enumerate(steps):
            left = steps[i + 1][1] if i + 1 < len(steps) else None
            DealStageHistory.objects.for_workspace(self.ws).create(
                workspace=self.ws, deal=deal, stage=stage, entered_at=entered, left_at=left
            )

    def quota(
        self, amount: str | int, start: str, end: str, *, user=None, team=None, **fields: Any
    ) -> Quota:
        return Quota.objects.for_workspace(self.ws).create(
            workspace=self.ws,
            user=user,
            team=team,
            period_start=dt.date.fromisoformat(start),
            period_end=dt.date.fromisoformat(end),
            amount=Decimal(str(amount)),
            **fields,
        )


@pytest.fixture
def book(workspace: Workspace) -> Book:
    workspace.time_zone = SP
    workspace.save(update_fields=["time_zone"])
    return Book(workspace)


@pytest.fixture
def their_book(other_workspace: Workspace) -> Book:
    return Book(other_workspace)


@pytest.fixture
def ana(make_member) -> User:
    user = make_member("ana@acme.test", Role.SALES)
    user.full_name = "Ana Souza"
    user.save(update_fields=["full_name"])
    return user


@pytest.fixture
def bruno(make_member) -> User:
    user = make_member("bruno@acme.test", Role.SALES)
    user.full_name = "Bruno Lima"
    user.save(update_fields=["full_name"])
    return user


@pytest.fixture
def manager(make_member) -> User:
    return make_member("gerente@acme.test", Role.MANAGER)


def make_team(workspace: Workspace, name: str, *members: User, lead: User | None = None) -> Team:
    team = Team.objects.for_workspace(workspace).create(workspace=workspace, name=name, lead=lead)
    for member in members:
        TeamMember.objects.for_workspace(workspace).create(
            workspace=workspace, team=team, user=member
        )
    return team


@pytest.fixture
def admin_client_ui(client: Client, admin: User) -> Client:
    admin.language = "en"
    admin.time_zone = SP
    admin.save(update_fields=["language", "time_zone"])
    client.force_login(admin)
    return client


def problem_fields(response: Any) -> dict[str, str]:
    """{field: code} of a 422 problem response."""
    return {e["field"]: e["code"] for e in response.json()["errors"]}
