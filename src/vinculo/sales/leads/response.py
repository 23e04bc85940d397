"""The lead response window: a new lead nobody contacted within the workspace's
`lead_response_hours` working hours goes to the next member of its team, and its previous
owner is told.

Working hours are the sales settings' `working_days` (0 = Monday) from `work_starts` to
`work_ends`, in the workspace's time zone. The clock starts when the lead was assigned to its
current owner (`assigned_at`), so a reassigned lead gives its new owner a whole window, and a
lead is reassigned at most once per window. `lead_response_sweep` runs every few minutes from a
periodic job; it is idempotent (a lead is re-checked under a lock before it moves).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import transaction
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from vinculo.core.models import Membership, TeamMember, User, Workspace
from vinculo.core.roles import ROLE_SPECS, Right
from vinculo.core.tenancy import workspace_scope
from vinculo.sales.models import Lead, LeadStatus, SalesSettings

logger = logging.getLogger(__name__)

DEFAULT_WORKING_DAYS = (0, 1, 2, 3, 4)
# Leads examined per workspace and run; the rest wait for the next run a few minutes later.
BATCH = 500
REASON = "not contacted in time"
NOTIFICATION_KIND = "lead.reassigned"


@dataclass(frozen=True)
class WorkingHours:
    """When a workspace's people work: local days and hours in its time zone."""

    zone: dt.tzinfo
    days: frozenset[int]
    starts: dt.time
    ends: dt.time

    @property
    def daily(self) -> timedelta:
        start = dt.datetime.combine(dt.date(2000, 1, 3), self.starts)
        end = dt.datetime.combine(dt.date(2000, 1, 3), self.ends)
        return max(end - start, timedelta(0))

    @property
    def has_time(self) -> bool:
        return bool(self.days) and self.daily > timedelta(0)

    @classmethod
    def of(cls, settings: SalesSettings, workspace: Workspace) -> WorkingHours:
        try:
            zone: dt.tzinfo = ZoneInfo(workspace.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            zone = dt.UTC
        days = frozenset(
            d for d in (settings.working_days or DEFAULT_WORKING_DAYS) if isinstance(d, int)
        )
        return cls(
            zone, days & set(range(7)), _as_time(settings.work_starts), _as_time(settings.work_ends)
        )


def _as_time(value: dt.time | str) -> dt.time:
    # A new, unsaved settings row still holds its defaults as strings ("09:00").
    return value if isinstance(value, dt.time) else dt.time.fromisoformat(value)


def add_working_hours(start: dt.datetime, hours: float, working: WorkingHours) -> dt.datetime:
    """The moment `hours` working hours after `start` (an aware datetime); the answer is in
    UTC. Time outside working hours does not count: from Friday 17:00, eight hours of a
    09:00–18:00 Monday-to-Friday week end on Monday at 16:00. A schedule with no working time
    at all counts every hour of the clock.

    Days are walked on the local wall clock, so a working day is `work_starts`–`work_ends` as
    people read it on their clocks even on a day the zone changes its offset.
    """
    if hours <= 0:
        return start.astimezone(dt.UTC)
    if not working.has_time:
        return (start + timedelta(hours=hours)).astimezone(dt.UTC)
    remaining = timedelta(hours=hours)
    cursor = start.astimezone(working.zone).replace(tzinfo=None)
    day = cursor.date()
    weekly = working.daily * len(working.days)
    # Enough days to hold the hours, with a week to spare: the loop always ends.
    for _day in range(7 * (math.ceil(remaining / weekly) + 2)):
        if day.weekday() in working.days:
            opens = dt.datetime.combine(day, working.starts)
            closes = dt.datetime.combine(day, working.ends)
            begin = max(cursor, opens)
            if begin < closes:
                available = closes - begin
                if remaining <= available:
                    return (begin + remaining).replace(tzinfo=working.zone).astimezone(dt.UTC)
                remaining -= available
        day += timedelta(days=1)
        cursor = dt.datetime.combine(day, dt.time.min)
    raise AssertionError("working hours did not fit in the weeks allowed for them")


def response_due_at(lead: Lead, *, hours: int, working: WorkingHours) -> dt.datetime | None:
    """When the lead's owner must have contacted it; None when there is no clock running."""
    if not hours or lead.assigned_at is None:
        return None
    return add_working_hours(lead.assigned_at, hours, working)


def _roles_working_leads() -> list[str]:
    return [role for role, spec in ROLE_SPECS.items() if spec.allows("leads", Right.EDIT)]


def _team_members(workspace: Workspace, team_ids: Iterable[int]) -> dict[int, list[int]]:
    """Active members of each team who may work leads, by team, ids ascending (one query)."""
    active = Membership.objects.for_workspace(workspace).filter(
        is_active=True, user__is_active=True, role__in=_roles_working_leads()
    )
    rows = (
        TeamMember.objects.for_workspace(workspace)
        .filter(team_id__in=list(team_ids), user_id__in=active.values("user_id"))
        .values_list("team_id", "user_id")
        .order_by("team_id", "user_id")
    )
    members: dict[int, list[int]] = {}
    for team_id, user_id in rows:
        members.setdefault(team_id, []).append(user_id)
    return members


def _lead_url(lead_id: int) -> str:
    try:
        return reverse("sales:lead_detail", args=[lead_id])
    except NoReverseMatch:
        return ""


def _notify_previous_owner(
    *, workspace: Workspace, lead: Lead, previous: User, new_owner: User, hours: int
) -> None:
    from vinculo.collab.models import NotificationKind
    from vinculo.collab.services import notification_create

    kind = (
        NOTIFICATION_KIND
        if NOTIFICATION_KIND in NotificationKind.values
        else NotificationKind.TASK_REMINDER
    )
    # Written in the language of the person who reads it.
    with translation.override(previous.language or workspace.locale or None):
        title = _("Lead %(lead)s was reassigned to %(owner)s") % {
            "lead": lead.display_name,
            "owner": new_owner.display_name,
        }
        body = _(
            "Nobody contacted this lead within %(hours)d working hours, so it went to the next "
            "person of the team."
        ) % {"hours": hours}
    notification_create(
        workspace=workspace,
        actor=None,
        user=previous,
        kind=kind,
        title=title,
        body=body,
        url=_lead_url(lead.pk),
    )


def lead_response_reassign(*, workspace: Workspace, now: dt.datetime | None = None) -> list[int]:
    """Reassign the workspace's leads whose response window has passed; returns their ids.

    A lead qualifies while it is new, never contacted, owned, in a team with another member
    who may work leads, and assigned longer ago than `lead_response_hours` working hours. It
    goes to the team's next member in round-robin order (the turn the assignment rules use,
    skipping the current owner) through `lead_assign`, which records `lead.assigned` and
    counts the reassignment; the previous owner gets a notification.
    """
    from vinculo.automation.actions import round_robin_next
    from vinculo.sales.common import sales_settings_for
    from vinculo.sales.leads.services import lead_assign

    settings = sales_settings_for(workspace)
    hours = settings.lead_response_hours
    if not hours:
        return []
    working = WorkingHours.of(settings, workspace)
    now = now or timezone.now()
    # N working hours take at least N hours of the clock: only older assignments can be due.
    candidates = list(
        Lead.objects.for_workspace(workspace)
        .filter(
            status=LeadStatus.NEW,
            first_contacted_at__isnull=True,
            owner__isnull=False,
            team__isnull=False,
            deleted_at__isnull=True,
            assigned_at__lte=now - timedelta(hours=hours),
        )
        .only("id", "owner_id", "team_id", "assigned_at")
        .order_by("assigned_at", "id")[:BATCH]
    )
    due = [
        lead
        for lead in candidates
        if (response_due_at(lead, hours=hours, working=working) or now) <= now
    ]
    if not due:
        return []
    members = _team_members(workspace, {lead.team_id for lead in due if lead.team_id})
    reassigned: list[int] = []
    for lead in due:
        others = [u for u in members.get(lead.team_id or 0, []) if u != lead.owner_id]
        if not others:
            continue
        with transaction.atomic():
            # Still the same owner's, still untouched: a second run (or a person acting in
            # between) leaves it alone.
            current = (
                Lead.objects.for_workspace(workspace)
                .select_for_update()
                .filter(
                    pk=lead.pk,
                    status=LeadStatus.NEW,
                    first_contacted_at__isnull=True,
                    owner_id=lead.owner_id,
                    assigned_at=lead.assigned_at,
                    deleted_at__isnull=True,
                )
                .select_related("owner")
                .first()
            )
            if current is None or current.owner is None:
                continue
            new_owner_id = round_robin_next(
                workspace=workspace,
                team_id=lead.team_id or 0,
                object_type="lead",
                member_ids=others,
            )
            updated = lead_assign(
                workspace=workspace,
                actor=None,
                lead_id=lead.pk,
                owner_id=new_owner_id,
                reason=REASON,
            )
            new_owner = User.objects.get(pk=new_owner_id)
            _notify_previous_owner(
                workspace=workspace,
                lead=updated,
                previous=current.owner,
                new_owner=new_owner,
                hours=hours,
            )
        reassigned.append(lead.pk)
    if reassigned:
        logger.info(
            "workspace %s: %d lead(s) reassigned after the response window",
            workspace.pk,
            len(reassigned),
        )
    return reassigned


def lead_response_sweep(*, now: dt.datetime | None = None) -> int:
    """Run the response window in every workspace; returns how many leads moved. A failing
    workspace is logged and the others still run."""
    moved = 0
    for workspace in Workspace.objects.order_by("id"):
        try:
            with workspace_scope(workspace):
                moved += len(lead_response_reassign(workspace=workspace, now=now))
        except Exception:
            logger.exception("lead response window failed in workspace %s", workspace.pk)
    return moved
