"""The lead response window: working-hours arithmetic checked against cases worked out by
hand, and the periodic reassignment of leads nobody contacted in time (round robin inside the
team, skipping the owner; the owner told; once per window)."""

from __future__ import annotations

import datetime as dt
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from vinculo.collab.models import Notification
from vinculo.core.models import Event, Membership, Team, TeamMember, User, Workspace
from vinculo.core.periodic import registered_jobs
from vinculo.core.roles import Role
from vinculo.sales.common import sales_settings_for
from vinculo.sales.leads.response import (
    WorkingHours,
    add_working_hours,
    lead_response_reassign,
    lead_response_sweep,
)
from vinculo.sales.leads.services import lead_create, lead_mark_contacted
from vinculo.sales.models import Lead

SP = ZoneInfo("America/Sao_Paulo")  # UTC−3, no daylight saving time since 2019
WEEK = WorkingHours(SP, frozenset({0, 1, 2, 3, 4}), dt.time(9), dt.time(18))


def local(y: int, m: int, d: int, h: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, h, minute, tzinfo=SP)


# 2026-03-06 is a Friday; 2026-03-09 the Monday after.
@pytest.mark.parametrize(
    ("start", "hours", "due"),
    [
        # The brief's own case: Friday 17:00 with 8 hours → 1 h on Friday, 7 h on Monday.
        (local(2026, 3, 6, 17), 8, local(2026, 3, 9, 16)),
        # A weekend start waits for Monday 09:00.
        (local(2026, 3, 7, 10), 2, local(2026, 3, 9, 11)),
        (local(2026, 3, 8, 23, 30), 1, local(2026, 3, 9, 10)),
        # Before hours: the clock starts at 09:00.
        (local(2026, 3, 9, 7), 3, local(2026, 3, 9, 12)),
        # After hours: the next working morning.
        (local(2026, 3, 9, 20), 1, local(2026, 3, 10, 10)),
        # Within the day, running over into the next: 7.5 h on Monday, 0.5 h on Tuesday.
        (local(2026, 3, 9, 10, 30), 8, local(2026, 3, 10, 9, 30)),
        # Ending exactly at closing time stays on that day.
        (local(2026, 3, 6, 17), 1, local(2026, 3, 6, 18)),
        # Wednesday 12:00 + 27 h: 6 (Wed) + 9 (Thu) + 9 (Fri) + 3 (Mon) → Monday 12:00.
        (local(2026, 3, 4, 12), 27, local(2026, 3, 9, 12)),
        # Half an hour.
        (local(2026, 3, 9, 17, 45), 0.5, local(2026, 3, 10, 9, 15)),
    ],
)
def test_working_hours_against_hand_computed_cases(start, hours, due):
    assert add_working_hours(start, hours, WEEK) == due.astimezone(dt.UTC)


def test_a_start_given_in_utc_is_read_on_the_workspace_clock():
    # Friday 20:00 UTC is Friday 17:00 in São Paulo: due Monday 16:00 there, 19:00 UTC.
    start = dt.datetime(2026, 3, 6, 20, tzinfo=dt.UTC)
    assert add_working_hours(start, 8, WEEK) == dt.datetime(2026, 3, 9, 19, tzinfo=dt.UTC)


def test_other_working_days_and_hours():
    # Monday to Saturday, 08:00–12:00: Saturday 11:00 + 2 h → Monday 09:00.
    mornings = WorkingHours(SP, frozenset(range(6)), dt.time(8), dt.time(12))
    assert add_working_hours(local(2026, 3, 7, 11), 2, mornings) == local(2026, 3, 9, 9)
    # A zone far from São Paulo: Tokyo (UTC+9, no DST), Friday 17:00 + 8 h → Monday 16:00.
    tokyo = WorkingHours(ZoneInfo("Asia/Tokyo"), WEEK.days, WEEK.starts, WEEK.ends)
    start = dt.datetime(2026, 3, 6, 17, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert add_working_hours(start, 8, tokyo) == dt.datetime(
        2026, 3, 9, 16, tzinfo=ZoneInfo("Asia/Tokyo")
    )


def test_a_schedule_without_working_time_counts_the_clock():
    nobody = WorkingHours(SP, frozenset(), dt.time(9), dt.time(18))
    backwards = WorkingHours(SP, WEEK.days, dt.time(18), dt.time(9))
    start = local(2026, 3, 6, 17)
    assert add_working_hours(start, 8, nobody) == local(2026, 3, 7, 1)
    assert add_working_hours(start, 8, backwards) == local(2026, 3, 7, 1)
    assert add_working_hours(start, 0, WEEK) == start


# ---------------------------------------------------------------------------------------------
# The reassignment job


@pytest.fixture
def sales_team(workspace: Workspace, make_member) -> dict[str, object]:
    ana = make_member("ana@acme.test", Role.SALES)
    bruno = make_member("bruno@acme.test", Role.SALES)
    carla = make_member("carla@acme.test", Role.SALES)
    reader = make_member("reader@acme.test", Role.READ_ONLY)
    ana.language = "en"
    ana.full_name = "Ana Lima"
    ana.save(update_fields=["language", "full_name"])
    team = Team.objects.for_workspace(workspace).create(workspace=workspace, name="Inside sales")
    for user in (ana, bruno, carla, reader):
        TeamMember.objects.for_workspace(workspace).create(
            workspace=workspace, team=team, user=user
        )
    settings = sales_settings_for(workspace)
    settings.lead_response_hours = 8
    settings.working_days = [0, 1, 2, 3, 4]
    settings.work_starts = dt.time(9)
    settings.work_ends = dt.time(18)
    settings.save()
    workspace.time_zone = "America/Sao_Paulo"
    workspace.save(update_fields=["time_zone"])
    return {"team": team, "ana": ana, "bruno": bruno, "carla": carla, "reader": reader}


def _lead(
    workspace: Workspace, team: dict, *, owner: User, assigned_at: dt.datetime, **data
) -> Lead:
    data.setdefault("first_name", "Lia")
    data.setdefault("email", f"lead{Lead.all_tenants.count()}@example.com")
    lead = lead_create(
        workspace=workspace,
        actor=None,
        data={**data, "owner_id": owner.pk, "team_id": team["team"].pk},
        source_channel="webform",
    )
    Lead.objects.for_workspace(workspace).filter(pk=lead.pk).update(assigned_at=assigned_at)
    return Lead.objects.for_workspace(workspace).get(pk=lead.pk)


def test_the_job_is_registered():
    assert "sales.lead_response_window" in {job.name for job in registered_jobs()}


def test_a_lead_is_reassigned_once_its_window_has_passed(workspace, sales_team):
    team = sales_team
    lead = _lead(workspace, team, owner=team["ana"], assigned_at=local(2026, 3, 6, 17))
    # Monday 15:59: one working minute left.
    assert lead_response_reassign(workspace=workspace, now=local(2026, 3, 9, 15, 59)) == []
    assert lead_response_reassign(workspace=workspace, now=local(2026, 3, 9, 16)) == [lead.pk]
    lead.refresh_from_db()
    assert lead.owner_id in {team["bruno"].pk, team["carla"].pk}
    assert lead.reassigned_count == 1
    assert lead.assigned_at > local(2026, 3, 6, 17)
    event = Event.objects.filter(type="lead.assigned", subject_id=lead.pk).latest("id")
    assert event.payload["previous_owner_id"] == team["ana"].pk
    assert event.payload["reason"] == "not contacted in time"
    note = Notification.objects.get(user=team["ana"])
    assert "Lia" in note.title and "reassigned" in note.title
    assert "8 working hours" in note.body


def test_once_per_window(workspace, sales_team):
    team = sales_team
    lead = _lead(
        workspace, team, owner=team["ana"], assigned_at=timezone.now() - timedelta(days=30)
    )
    assert lead_response_reassign(workspace=workspace) == [lead.pk]
    # Minutes later the new owner's window has just started: nothing moves.
    soon = timezone.now() + timedelta(minutes=5)
    assert lead_response_reassign(workspace=workspace, now=soon) == []
    lead.refresh_from_db()
    assert lead.reassigned_count == 1
    # Once their window passes untouched too, the lead moves on again.
    later = timezone.now() + timedelta(days=30)
    assert lead_response_reassign(workspace=workspace, now=later) == [lead.pk]
    lead.refresh_from_db()
    assert lead.reassigned_count == 2


def test_round_robin_skips_the_owner_and_takes_turns(workspace, sales_team):
    team = sales_team
    start = local(2026, 3, 2, 9)
    leads = [
        _lead(workspace, team, owner=team["ana"], assigned_at=start, first_name=f"L{i}")
        for i in range(4)
    ]
    moved = lead_response_reassign(workspace=workspace, now=local(2026, 3, 3, 9))
    assert moved == [lead.pk for lead in leads]
    owners = [Lead.objects.get(pk=lead.pk).owner_id for lead in leads]
    # Never back to Ana, never to the read-only member; Bruno and Carla take turns.
    assert team["ana"].pk not in owners and team["reader"].pk not in owners
    assert owners[0] != owners[1] and owners[0] == owners[2] and owners[1] == owners[3]


def test_contacted_worked_or_teamless_leads_stay(workspace, sales_team, admin):
    team = sales_team
    start = local(2026, 3, 2, 9)
    contacted = _lead(workspace, team, owner=team["ana"], assigned_at=start)
    lead_mark_contacted(workspace=workspace, actor=None, lead_id=contacted.pk)
    teamless = lead_create(
        workspace=workspace,
        actor=None,
        data={"first_name": "Solo", "email": "solo@example.com", "owner_id": team["ana"].pk},
        source_channel="webform",
    )
    Lead.objects.filter(pk=teamless.pk).update(assigned_at=start)
    alone_team = Team.objects.for_workspace(workspace).create(workspace=workspace, name="Solo")
    TeamMember.objects.for_workspace(workspace).create(
        workspace=workspace, team=alone_team, user=team["ana"]
    )
    alone = _lead(workspace, team, owner=team["ana"], assigned_at=start)
    Lead.objects.filter(pk=alone.pk).update(team=alone_team)
    assert lead_response_reassign(workspace=workspace, now=local(2026, 3, 6, 9)) == []
    assert not Notification.objects.filter(user=team["ana"]).exists()


def test_a_zero_window_turns_it_off(workspace, sales_team):
    team = sales_team
    settings = sales_settings_for(workspace)
    settings.lead_response_hours = 0
    settings.save(update_fields=["lead_response_hours"])
    _lead(workspace, team, owner=team["ana"], assigned_at=local(2026, 1, 5, 9))
    assert lead_response_reassign(workspace=workspace, now=local(2026, 3, 6, 9)) == []


def test_the_sweep_covers_every_workspace_and_leaves_others_alone(
    workspace, sales_team, other_workspace
):
    team = sales_team
    lead = _lead(workspace, team, owner=team["ana"], assigned_at=local(2026, 3, 2, 9))
    assert lead_response_sweep(now=local(2026, 3, 4, 9)) == 1
    lead.refresh_from_db()
    assert lead.owner_id != team["ana"].pk
    assert not Membership.objects.for_workspace(other_workspace).filter(user=team["ana"]).exists()


def test_inactive_members_do_not_get_leads(workspace, sales_team):
    team = sales_team
    Membership.objects.for_workspace(workspace).filter(user=team["carla"]).update(is_active=False)
    leads = [
        _lead(workspace, team, owner=team["ana"], assigned_at=local(2026, 3, 2, 9))
        for _ in range(2)
    ]
    lead_response_reassign(workspace=workspace, now=local(2026, 3, 4, 9))
    assert {Lead.objects.get(pk=lead.pk).owner_id for lead in leads} == {team["bruno"].pk}
