"""Writes of sales forecasting: quotas, the deals' last activity, and the stalled-deal alerts.

Quotas need the "forecasts" module's create/edit/delete rights (admins and managers); reps may
read them. A quota is for one person or one team over a period, and a person or team has at
most one quota on any given day, so attainment never counts a target twice.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import Max, Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from vinculo.core.access import require
from vinculo.core.events import record_event
from vinculo.core.exceptions import ErrorCollector, NotFound
from vinculo.core.models import Event, Membership, Team, Workspace
from vinculo.core.roles import Right
from vinculo.core.tenancy import workspace_scope
from vinculo.sales.forecasts.selectors import (
    INACTIVE,
    SLOW_STAGE,
    StalledCheck,
    stalled_checker,
    stalled_info,
    stalled_queryset,
)
from vinculo.sales.models import MONEY, Deal, Quota, Quote
from vinculo.timeline.models import Interaction, Note, Task

if TYPE_CHECKING:
    from vinculo.core.models import User

logger = logging.getLogger(__name__)

MODULE = "forecasts"
QUOTA_FIELDS = ("user_id", "team_id", "period_start", "period_end", "amount", "currency")
CENT = Decimal("0.01")
MAX_AMOUNT = Decimal(10) ** (MONEY["max_digits"] - MONEY["decimal_places"])
# A quota spans at most this long: longer targets are a typo in a year more often than not.
MAX_QUOTA_DAYS = 366 * 2


# ---------------------------------------------------------------------------------------------
# Quotas


def _clean_id(errors: ErrorCollector, name: str, value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        errors.add(name, "invalid", _("Must be a positive integer id."))
        return None
    return value


def _clean_date(errors: ErrorCollector, name: str, value: Any) -> dt.date | None:
    if value is None or value == "":
        errors.add(name, "required", _("This field is required."))
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    errors.add(name, "invalid-date", _("Enter a date as YYYY-MM-DD."))
    return None


def _clean_amount(errors: ErrorCollector, value: Any) -> Decimal | None:
    if value is None or value == "":
        errors.add("amount", "required", _("This field is required."))
        return None
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        errors.add("amount", "invalid", _("Enter a number such as 25000 or 25000.50."))
        return None
    if isinstance(value, bool) or not amount.is_finite():
        errors.add("amount", "invalid", _("Enter a number such as 25000 or 25000.50."))
        return None
    if amount <= 0:
        errors.add("amount", "not-positive", _("The target must be more than zero."))
        return None
    if amount >= MAX_AMOUNT:
        errors.add("amount", "too-large", _("The target is too large."))
        return None
    if amount != amount.quantize(CENT):
        errors.add("amount", "too-precise", _("Use at most two decimal places."))
        return None
    return amount.quantize(CENT)


def _clean_currency(errors: ErrorCollector, value: Any, workspace: Workspace) -> str:
    text = str(value or "").strip().upper()
    if not text:
        return workspace.currency
    if len(text) != 3 or not text.isalpha() or not text.isascii():
        errors.add("currency", "invalid", _("Use a three-letter currency code such as BRL."))
    return text


def _quota_values(
    errors: ErrorCollector, workspace: Workspace, data: Mapping[str, Any]
) -> dict[str, Any]:
    """Every field checked on its own, then together; the person or team row is locked, so two
    overlapping quotas written at once cannot both pass the overlap check."""
    for name in sorted(set(data) - set(QUOTA_FIELDS)):
        errors.add(name, "unknown-field", _("This field cannot be set on a quota."))
    user_id = _clean_id(errors, "user_id", data.get("user_id"))
    team_id = _clean_id(errors, "team_id", data.get("team_id"))
    if user_id is None and team_id is None and "user_id" not in {e.field for e in errors.errors}:
        errors.add("user_id", "required", _("Choose a person or a team."))
    elif user_id is not None and team_id is not None:
        errors.add("team_id", "person-or-team", _("A quota is for a person or a team, not both."))
    if user_id is not None and team_id is None:
        member = (
            Membership.objects.for_workspace(workspace)
            .select_for_update()
            .filter(user_id=user_id, is_active=True, user__is_active=True)
            .first()
        )
        if member is None:
            errors.add("user_id", "not-a-member", _("This person is not in the workspace."))
    if team_id is not None and user_id is None:
        team = Team.objects.for_workspace(workspace).select_for_update().filter(pk=team_id).first()
        if team is None:
            errors.add("team_id", "not-found", _("There is no such team in this workspace."))
    start = _clean_date(errors, "period_start", data.get("period_start"))
    end = _clean_date(errors, "period_end", data.get("period_end"))
    if start is not None and end is not None:
        if end < start:
            errors.add(
                "period_end", "before-start", _("The period must end on or after its start.")
            )
        elif (end - start).days >= MAX_QUOTA_DAYS:
            errors.add("period_end", "too-long", _("A quota covers at most two years."))
    return {
        "user_id": user_id,
        "team_id": team_id,
        "period_start": start,
        "period_end": end,
        "amount": _clean_amount(errors, data.get("amount")),
        "currency": _clean_currency(errors, data.get("currency"), workspace),
    }


def _check_overlap(
    errors: ErrorCollector, workspace: Workspace, values: Mapping[str, Any], exclude: int | None
) -> None:
    if errors.errors:
        return
    clash = Quota.objects.for_workspace(workspace).filter(
        period_start__lte=values["period_end"], period_end__gte=values["period_start"]
    )
    if values["user_id"] is not None:
        clash = clash.filter(user_id=values["user_id"])
        message = _("This person already has a quota from %(start)s to %(end)s.")
    else:
        clash = clash.filter(team_id=values["team_id"])
        message = _("This team already has a quota from %(start)s to %(end)s.")
    if exclude is not None:
        clash = clash.exclude(pk=exclude)
    found = clash.order_by("period_start").first()
    if found is not None:
        errors.add(
            "period_start",
            "overlap",
            message
            % {"start": found.period_start.isoformat(), "end": found.period_end.isoformat()},
        )


def _snapshot(quota: Quota) -> dict[str, Any]:
    return {
        "user_id": quota.user_id,
        "team_id": quota.team_id,
        "period_start": quota.period_start.isoformat(),
        "period_end": quota.period_end.isoformat(),
        "amount": str(quota.amount),
        "currency": quota.currency,
    }


def quota_create(*, workspace: Workspace, actor: User | None, data: Mapping[str, Any]) -> Quota:
    """Set a target for a person (`user_id`) or a team (`team_id`) from `period_start` to
    `period_end` (dates, both included): `amount` in `currency` (the workspace's if blank).

    Every bad field is reported at once; a period overlapping another quota of the same person
    or team is refused on `period_start`. Side effects: records `quota.created`.
    """
    require(workspace=workspace, user=actor, module=MODULE, right=Right.CREATE)
    with transaction.atomic():
        errors = ErrorCollector()
        values = _quota_values(errors, workspace, data)
        _check_overlap(errors, workspace, values, exclude=None)
        errors.raise_if_any()
        quota = Quota.objects.for_workspace(workspace).create(workspace=workspace, **values)
        record_event(
            workspace=workspace,
            actor=actor,
            type="quota.created",
            subject=quota,
            payload=_snapshot(quota),
        )
    return quota


def _quota_for_write(workspace: Workspace, quota_id: int) -> Quota:
    quota = Quota.objects.for_workspace(workspace).select_for_update().filter(pk=quota_id).first()
    if quota is None:
        raise NotFound(_("There is no quota %(id)s.") % {"id": quota_id})
    return quota


def quota_update(
    *, workspace: Workspace, actor: User | None, quota_id: int, data: Mapping[str, Any]
) -> Quota:
    """Change some fields of a quota (only the keys present in `data`), checked as a whole as
    on creation. Moving it to a team clears its person and the other way round. Side effects:
    records `quota.updated` with the changes (nothing when no value changed)."""
    require(workspace=workspace, user=actor, module=MODULE, right=Right.EDIT)
    with transaction.atomic():
        quota = _quota_for_write(workspace, quota_id)
        before = _snapshot(quota)
        merged: dict[str, Any] = {
            "user_id": quota.user_id,
            "team_id": quota.team_id,
            "period_start": quota.period_start,
            "period_end": quota.period_end,
            "amount": quota.amount,
            "currency": quota.currency,
        }
        # Naming one of person or team means "this one instead of the other".
        if data.get("user_id") not in (None, "") and "team_id" not in data:
            merged["team_id"] = None
        if data.get("team_id") not in (None, "") and "user_id" not in data:
            merged["user_id"] = None
        merged.update(data)
        errors = ErrorCollector()
        values = _quota_values(errors, workspace, merged)
        _check_overlap(errors, workspace, values, exclude=quota.pk)
        errors.raise_if_any()
        for name, value in values.items():
            setattr(quota, name, value)
        after = _snapshot(quota)
        changes = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
        if not changes:
            return quota
        quota.save(update_fields=list(QUOTA_FIELDS))
        record_event(
            workspace=workspace,
            actor=actor,
            type="quota.updated",
            subject=quota,
            payload={**after, "changes": changes},
        )
    return quota


def quota_delete(*, workspace: Workspace, actor: User | None, quota_id: int) -> None:
    """Remove a quota for good (attainment of its period then shows no target). Side effects:
    records `quota.deleted` with what it was."""
    require(workspace=workspace, user=actor, module=MODULE, right=Right.DELETE)
    with transaction.atomic():
        quota = _quota_for_write(workspace, quota_id)
        record_event(
            workspace=workspace,
            actor=actor,
            type="quota.deleted",
            subject=quota,
            payload=_snapshot(quota),
        )
        quota.delete()


# ---------------------------------------------------------------------------------------------
# Last activity of deals


def deal_activity_refresh(
    *, workspace: Workspace, deal_ids: Iterable[int], now: dt.datetime | None = None
) -> None:
    """Recompute `last_activity_at` of these deals: the latest of their live interactions (not
    those dated in the future), tasks created or completed, notes added, quote events, and
    deal events made by a person (changes made by automations or the system do not count as
    someone working the deal).

    Computed from the rows, so a repeated, late or out-of-order delivery leaves the same value.
    Does not touch `updated_at`: this is derived, not an edit.
    """
    wanted = sorted({pk for pk in deal_ids if pk})
    if not wanted:
        return
    now = now or timezone.now()
    latest: dict[int, dt.datetime] = {}

    def take(rows: Iterable[tuple[int, dt.datetime | None]]) -> None:
        for deal_id, moment in rows:
            if moment is not None and (deal_id not in latest or moment > latest[deal_id]):
                latest[deal_id] = moment

    def per_deal(qs: Any, column: str) -> Iterable[tuple[int, dt.datetime | None]]:
        return qs.values("deal_id").annotate(m=Max(column)).values_list("deal_id", "m")

    on_deals = {"deal_id__in": wanted, "deleted_at__isnull": True}
    interactions = Interaction.objects.for_workspace(workspace).filter(
        occurred_at__lte=now, **on_deals
    )
    take(per_deal(interactions, "occurred_at"))
    tasks = Task.objects.for_workspace(workspace).filter(**on_deals)
    take(per_deal(tasks, "created_at"))
    take(per_deal(tasks, "completed_at"))
    take(per_deal(Note.objects.for_workspace(workspace).filter(**on_deals), "created_at"))
    events = Event.objects.for_workspace(workspace).filter(
        actor__isnull=False, occurred_at__lte=now
    )
    take(
        events.filter(subject_type="deal", subject_id__in=wanted, type__startswith="deal.")
        .exclude(type="deal.deleted")
        .values("subject_id")
        .annotate(m=Max("occurred_at"))
        .values_list("subject_id", "m")
    )
    quotes = dict(
        Quote.objects.for_workspace(workspace)
        .filter(deal_id__in=wanted)
        .values_list("pk", "deal_id")
    )
    if quotes:
        quote_latest = (
            events.filter(subject_type="quote", subject_id__in=sorted(quotes))
            .values("subject_id")
            .annotate(m=Max("occurred_at"))
            .values_list("subject_id", "m")
        )
        take((quotes[quote_id], moment) for quote_id, moment in quote_latest)
    deals = Deal.objects.for_workspace(workspace)
    for deal_id in wanted:
        moment = latest.get(deal_id)
        # Only a change is written: this runs on every timeline write about a deal.
        unchanged = (
            Q(last_activity_at__isnull=True) if moment is None else Q(last_activity_at=moment)
        )
        deals.filter(pk=deal_id).exclude(unchanged).update(last_activity_at=moment)


# ---------------------------------------------------------------------------------------------
# Stalled-deal alerts

# An owner hears about the same stalled deal at most this often.
RENOTIFY_AFTER = dt.timedelta(days=7)
NOTIFY_BATCH = 200


def _deal_url(deal: Deal) -> str:
    for name, args in (("sales:deal_detail", [deal.pk]), ("sales:stalled_deals", [])):
        try:
            url = reverse(name, args=args)
        except NoReverseMatch:
            continue
        return url if args else f"{url}#deal-{deal.pk}"
    return ""


def _alert_body(deal: Deal, check: StalledCheck) -> str:
    info = stalled_info(deal, check)
    parts = []
    if INACTIVE in info.reasons:
        parts.append(
            ngettext(
                "No activity for %(days)d day.",
                "No activity for %(days)d days.",
                info.days_inactive,
            )
            % {"days": info.days_inactive}
        )
    if SLOW_STAGE in info.reasons:
        median = round(info.stage_median_days or 0)
        parts.append(
            ngettext(
                "%(days)d day in %(stage)s, where deals usually spend %(median)s.",
                "%(days)d days in %(stage)s, where deals usually spend %(median)s.",
                info.days_in_stage,
            )
            % {
                "days": info.days_in_stage,
                "stage": deal.stage.name,
                "median": ngettext("%(n)d day", "%(n)d days", median) % {"n": median},
            }
        )
    return " ".join(parts)


def stalled_deals_notify(
    *, workspace: Workspace, now: dt.datetime | None = None, batch: int = NOTIFY_BATCH
) -> int:
    """Tell each owner about their stalled open deals, at most once a week per deal; returns
    the notifications made.

    Exactly once per week: each deal is claimed by a conditional update of
    `stalled_notified_at` in the same transaction as its notification, so two workers, or a
    run repeated after a crash, cannot notify twice. A deal whose owner left the workspace is
    claimed without a notification. Side effects: `collab` notifications, written in each
    owner's language; no event (an alert changes nothing about the deal).
    """
    from vinculo.collab.models import NotificationKind
    from vinculo.collab.services import notification_create

    check = stalled_checker(workspace, now=now, refresh=True)
    now = check.now
    due = Q(stalled_notified_at__isnull=True) | Q(stalled_notified_at__lte=now - RENOTIFY_AFTER)
    pending = stalled_queryset(workspace, check).filter(due, owner__isnull=False)
    members = {
        m.user_id: m.user
        for m in Membership.objects.for_workspace(workspace)
        .filter(is_active=True, user__is_active=True)
        .select_related("user")
    }
    sent = 0
    last_id = 0
    while True:
        deals = list(pending.filter(pk__gt=last_id).select_related("stage").order_by("pk")[:batch])
        if not deals:
            return sent
        last_id = deals[-1].pk
        for deal in deals:
            owner = members.get(deal.owner_id) if deal.owner_id else None
            with transaction.atomic():
                claimed = (
                    Deal.objects.for_workspace(workspace)
                    .filter(due, pk=deal.pk, status=deal.status)
                    .update(stalled_notified_at=now)
                )
                if not claimed or owner is None:
                    continue
                with translation.override(owner.language or workspace.locale or "en"):
                    notification_create(
                        workspace=workspace,
                        actor=None,
                        user=owner,
                        kind=NotificationKind.DEAL_STALLED,
                        title=deal.name,
                        body=_alert_body(deal, check),
                        url=_deal_url(deal),
                    )
                sent += 1


def stalled_deals_notify_all(*, now: dt.datetime | None = None) -> int:
    """`stalled_deals_notify` for every workspace (the daily job); a workspace that fails is
    logged and the others still run."""
    sent = 0
    for workspace in Workspace.objects.order_by("pk").iterator():
        try:
            with workspace_scope(workspace):
                sent += stalled_deals_notify(workspace=workspace, now=now)
        except Exception:
            logger.exception("stalled-deal alerts failed for workspace %s", workspace.pk)
    return sent
