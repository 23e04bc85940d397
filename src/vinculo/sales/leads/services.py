"""Writes of leads: create, update, assign, status, first contact, delete and restore, and the
conversion of a lead into a contact, an account and a deal.

Every function here is the one way its change happens: pages, the API, web forms, imports and
automation rules call the same ones. Each checks the actor's rights on the "leads" module,
validates every field at once, writes in one transaction and records the event describing the
change in that transaction (`lead.created`, `lead.updated` with {"changes": {field: [old,
new]}}, `lead.assigned`, `lead.status_changed`, `lead.converted`, `lead.deleted`,
`lead.restored`). A lead of another workspace, one the actor cannot see and one that does not
exist are the same `NotFound`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from vinculo.contacts.models import Account, ConsentEntry, Contact, LifecycleStage
from vinculo.contacts.services import RestoreExpired
from vinculo.contacts.validation import MAX_ID
from vinculo.contacts.validation import _owner as clean_owner
from vinculo.core.access import require, visible
from vinculo.core.events import record_event, record_events_bulk
from vinculo.core.exceptions import (
    Conflict,
    ErrorCollector,
    FieldError,
    NotFound,
    ValidationFailed,
)
from vinculo.core.models import Event, Membership, User, Workspace
from vinculo.core.roles import Right
from vinculo.core.search import normalize_text
from vinculo.sales.leads.search import derive_lead_columns
from vinculo.sales.leads.validation import (
    LEAD_TRACKED,
    clean_id,
    clean_reason,
    clean_team,
    lead_validate,
)
from vinculo.sales.models import Lead, LeadStatus

MODULE = "leads"
BULK_MAX = 500
# Statuses a person (or a rule) may set; `converted` only comes from `lead_convert`.
SETTABLE_STATUSES = (
    LeadStatus.NEW,
    LeadStatus.WORKING,
    LeadStatus.QUALIFIED,
    LeadStatus.DISQUALIFIED,
)
# Where a lead came from, as its `lead.created` event tells automation and reports.
SOURCE_CHANNELS = ("staff", "api", "import", "webform", "automation")


class LeadConverted(Conflict):
    code = "lead-converted"
    title = "This lead was already converted"


# --- shared pieces ------------------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def lead_snapshot(lead: Any) -> dict[str, Any]:
    """JSON-safe values of every tracked field, custom fields one key at a time."""
    snap = {name: _jsonable(getattr(lead, name, None)) for name in LEAD_TRACKED}
    for key, value in (getattr(lead, "custom_fields", None) or {}).items():
        snap[f"custom_fields.{key}"] = value
    return snap


def _changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    changes: dict[str, list[Any]] = {}
    for name in dict.fromkeys([*before, *after]):
        old, new = before.get(name), after.get(name)
        if old != new and not (old in (None, "") and new in (None, "")):
            changes[name] = [old, new]
    return changes


def _non_empty(snapshot: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in snapshot.items() if v not in (None, "", [], {})}


def _actor(actor: User | None) -> User | None:
    return actor if actor is not None and actor.pk else None


def _lead_id(lead_id: Any) -> int:
    return lead_id if isinstance(lead_id, int) and 0 < lead_id <= MAX_ID else 0


def _get_for_write(
    *, workspace: Workspace, actor: User | None, lead_id: int, deleted: bool | None = False
) -> Lead:
    """The lead as the actor sees it, locked for the rest of the transaction."""
    qs = visible(
        Lead.objects.for_workspace(workspace), workspace=workspace, viewer=actor, module=MODULE
    )
    if deleted is not None:
        qs = qs.filter(deleted_at__isnull=not deleted)
    lead = qs.select_for_update(of=("self",)).filter(pk=_lead_id(lead_id)).first()
    if lead is None:
        raise NotFound(_("There is no such lead."))
    return lead


def _refuse_converted(lead: Lead) -> None:
    if lead.status == LeadStatus.CONVERTED:
        when = timezone.localtime(lead.converted_at).date().isoformat() if lead.converted_at else ""
        raise LeadConverted(
            _("This lead was converted on %(date)s; work on its contact and deal instead.")
            % {"date": when}
        )


def lead_for_output(*, workspace: Workspace, lead_id: int) -> Lead:
    """A lead with the rows its pages and API answers show (owner, team), one query."""
    return Lead.objects.for_workspace(workspace).select_related("owner", "team").get(pk=lead_id)


def _assignment_payload(
    *,
    old_owner: int | None,
    new_owner: int | None,
    old_team: int | None,
    new_team: int | None,
    reason: str,
) -> dict[str, Any]:
    changes: dict[str, list[Any]] = {}
    if old_owner != new_owner:
        changes["owner_id"] = [old_owner, new_owner]
    if old_team != new_team:
        changes["team_id"] = [old_team, new_team]
    return {
        "owner_id": new_owner,
        "team_id": new_team,
        "previous_owner_id": old_owner,
        "previous_team_id": old_team,
        "reason": reason,
        "changes": changes,
    }


# --- create and update --------------------------------------------------------------------------


def lead_create(
    *,
    workspace: Workspace,
    actor: User | None,
    data: Mapping[str, Any],
    source_channel: str = "staff",
) -> Lead:
    """Create a lead from `data` (person and company fields, source, UTM parameters, campaign,
    `web_form_id`, `owner_id`, `team_id`, custom fields). `source_channel` says where it came
    from ("staff", "api", "import", "webform", "automation"); a lead typed in by staff is the
    actor's unless `owner_id` says otherwise, others wait for the assignment rules.

    Records `lead.created` with the values set and the channel, and `lead.assigned` when it
    starts with an owner or a team. Raises PermissionDenied or ValidationFailed.
    """
    require(workspace=workspace, user=actor, module=MODULE, right=Right.CREATE)
    if source_channel not in SOURCE_CHANNELS:
        raise ValidationFailed(
            [
                FieldError(
                    "source_channel",
                    "invalid-choice",
                    _("Choose one of: %(options)s.") % {"options": ", ".join(SOURCE_CHANNELS)},
                )
            ]
        )
    cleaned = lead_validate(
        workspace=workspace,
        actor=actor,
        data=data,
        instance=None,
        default_owner=source_channel == "staff",
    )
    with transaction.atomic():
        now = timezone.now()
        lead = Lead(workspace=workspace, created_by=_actor(actor), created_at=now, updated_at=now)
        for name, value in cleaned.fields.items():
            setattr(lead, name, value)
        derive_lead_columns(lead)
        if lead.owner_id or lead.team_id:
            lead.assigned_at = now
        lead.save(force_insert=True)
        record_event(
            workspace=workspace,
            actor=actor,
            type="lead.created",
            subject=lead,
            payload={"fields": _non_empty(lead_snapshot(lead)), "channel": source_channel},
        )
        if lead.owner_id or lead.team_id:
            record_event(
                workspace=workspace,
                actor=actor,
                type="lead.assigned",
                subject=lead,
                payload=_assignment_payload(
                    old_owner=None,
                    new_owner=lead.owner_id,
                    old_team=None,
                    new_team=lead.team_id,
                    reason="created",
                ),
            )
    return lead_for_output(workspace=workspace, lead_id=lead.pk)


def lead_update(
    *, workspace: Workspace, actor: User | None, lead_id: int, data: Mapping[str, Any]
) -> Lead:
    """Change the fields in `data` of a live lead the actor can see (the status changes
    through `lead_set_status`, the owner preferably through `lead_assign`).

    Records `lead.updated` with {"changes": {field: [old, new]}} when something changed, and
    `lead.assigned` (instead of those fields in the changes) when the owner or team did.
    Raises NotFound, PermissionDenied, LeadConverted or ValidationFailed.
    """
    require(workspace=workspace, user=actor, module=MODULE, right=Right.EDIT)
    with transaction.atomic():
        lead = _get_for_write(workspace=workspace, actor=actor, lead_id=lead_id)
        _refuse_converted(lead)
        cleaned = lead_validate(workspace=workspace, actor=actor, data=data, instance=lead)
        before = lead_snapshot(lead)
        old_owner, old_team = lead.owner_id, lead.team_id
        for name, value in cleaned.fields.items():
            setattr(lead, name, value)
        changes = _changes(before, lead_snapshot(lead))
        if not changes:
            return lead_for_output(workspace=workspace, lead_id=lead.pk)
        now = timezone.now()
        derive_lead_columns(lead)
        lead.updated_at = now
        assigned = "owner_id" in changes or "team_id" in changes
        if assigned:
            lead.assigned_at = now
            if old_owner is not None and lead.owner_id != old_owner:
                lead.reassigned_count = F("reassigned_count") + 1
        lead.save()
        field_changes = {k: v for k, v in changes.items() if k not in ("owner_id", "team_id")}
        if field_changes:
            record_event(
                workspace=workspace,
                actor=actor,
                type="lead.updated",
                subject=lead,
                payload={"changes": field_changes},
            )
        if assigned:
            record_event(
                workspace=workspace,
                actor=actor,
                type="lead.assigned",
                subject=lead,
                payload=_assignment_payload(
                    old_owner=old_owner,
                    new_owner=lead.owner_id,
                    old_team=old_team,
                    new_team=lead.team_id,
                    reason="updated",
                ),
            )
    return lead_for_output(workspace=workspace, lead_id=lead.pk)


# --- assignment ---------------------------------------------------------------------------------


def _clean_assignment(
    *, workspace: Workspace, owner_id: Any, team_id: Any, reason: Any
) -> tuple[int | None, int | None, str]:
    errors = ErrorCollector()
    owner = clean_owner(errors, owner_id, workspace=workspace) if owner_id is not None else None
    team = clean_team(errors, team_id, workspace=workspace) if team_id is not None else None
    text = " ".join(reason.split())[:200] if isinstance(reason, str) else ""
    errors.raise_if_any()
    return owner, team, text


def lead_assign(
    *,
    workspace: Workspace,
    actor: User | None,
    lead_id: int,
    owner_id: int | None,
    team_id: int | None = None,
    reason: str = "",
) -> Lead:
    """Give a lead to `owner_id` (an active member; None leaves it unowned) and, when
    `team_id` is given, to that team (None keeps the team it has). `reason` says why ("round
    robin", "not contacted in time", …) for the audit trail and automation.

    Records `lead.assigned` with the new and previous owner and team (nothing when neither
    changes). A lead that already had another owner counts one more reassignment. Raises
    NotFound, PermissionDenied, LeadConverted or ValidationFailed (owner_id, team_id).
    """
    require(workspace=workspace, user=actor, module=MODULE, right=Right.EDIT)
    owner, team, text = _clean_assignment(
        workspace=workspace, owner_id=owner_id, team_id=team_id, reason=reason
    )
    with transaction.atomic():
        lead = _get_for_write(workspace=workspace, actor=actor, lead_id=lead_id)
        _refuse_converted(lead)
        old_owner, old_team = lead.owner_id, lead.team_id
        new_team = team if team_id is not None else old_team
        if owner == old_owner and new_team == old_team:
            return lead_for_output(workspace=workspace, lead_id=lead.pk)
        now = timezone.now()
        updates: dict[str, Any] = {
            "owner_id": owner,
            "team_id": new_team,
            "assigned_at": now,
            "updated_at": now,
        }
        if old_owner is not None and owner != old_owner:
            updates["reassigned_count"] = F("reassigned_count") + 1
        Lead.objects.for_workspace(workspace).filter(pk=lead.pk).update(**updates)
        record_event(
            workspace=workspace,
            actor=actor,
            type="lead.assigned",
            subject=lead,
            payload=_assignment_payload(
                old_owner=old_owner,
                new_owner=owner,
                old_team=old_team,
                new_team=new_team,
                reason=text,
            ),
        )
    return lead_for_output(workspace=workspace, lead_id=lead.pk)


def _bulk_ids(ids: Iterable[Any]) -> list[int]:
    wanted = sorted(
        {i for i in ids if isinstance(i, int) and not isinstance(i, bool) and 0 < i <= MAX_ID}
    )
    if len(wanted) > BULK_MAX:
        raise ValidationFailed(
            [
                FieldError(
                    "ids",
                    "too-many",
                    _("Select at most %(max)d records at a time.") % {"max": BULK_MAX},
                )
            ]
        )
    return wanted


def leads_bulk_assign(
    *,
    workspace: Workspace,
    actor: User | None,
    lead_ids: Iterable[Any],
    owner_id: int | None,
    team_id: int | None = None,
    reason: str = "",
) -> list[int]:
    """`lead_assign` for every selected open lead the actor may see, in one transaction and a
    fixed number of statements. Ids the actor cannot see, converted leads and leads already
    with that owner are skipped. Records `lead.assigned` for each lead changed; returns their
    ids."""
    require(workspace=workspace, user=actor, module=MODULE, right=Right.EDIT)
    owner, team, text = _clean_assignment(
        workspace=workspace, owner_id=owner_id, team_id=team_id, reason=reason
    )
    wanted = _bulk_ids(lead_ids)
    if not wanted:
        return []
    with transaction.atomic():
        qs = visible(
            Lead.objects.for_workspace(workspace), workspace=workspace, viewer=actor, module=MODULE
        )
        leads = list(
            qs.filter(pk__in=wanted, deleted_at__isnull=True)
            .exclude(status=LeadStatus.CONVERTED)
            .select_for_update(of=("self",))
            .order_by("pk")
            .only("pk", "owner_id", "team_id")
        )
        changed = [
            lead
            for lead in leads
            if lead.owner_id != owner or (team_id is not None and lead.team_id != team)
        ]
        if not changed:
            return []
        now = timezone.now()
        base = Lead.objects.for_workspace(workspace)
        reassigned = [
            lead.pk for lead in changed if lead.owner_id is not None and lead.owner_id != owner
        ]
        values: dict[str, Any] = {"owner_id": owner, "assigned_at": now, "updated_at": now}
        if team_id is not None:
            values["team_id"] = team
        base.filter(pk__in=[lead.pk for lead in changed]).update(**values)
        if reassigned:
            base.filter(pk__in=reassigned).update(reassigned_count=F("reassigned_count") + 1)
        actor_id = _actor(actor)
        record_events_bulk(
            [
                Event(
                    workspace=workspace,
                    type="lead.assigned",
                    subject_type="lead",
                    subject_id=lead.pk,
                    actor=actor_id,
                    occurred_at=now,
                    payload=_assignment_payload(
                        old_owner=lead.owner_id,
                        new_owner=owner,
                        old_team=lead.team_id,
                        new_team=team if team_id is not None else lead.team_id,
                        reason=text,
                    ),
                )
                for lead in changed
            ]
        )
    return [lead.pk for lead in changed]


def lead_open_counts(*, workspace: Workspace, user_ids: list[int]) -> dict[int, int]:
    """Open leads (new, working, qualified, not deleted) each user owns: what "fewest open
    leads" assignment compares. One query."""
    from django.db.models import Count

    rows = (
        Lead.objects.for_workspace(workspace)
        .filter(
            owner_id__in=list(user_ids),
            deleted_at__isnull=True,
            status__in=[LeadStatus.NEW, LeadStatus.WORKING, LeadStatus.QUALIFIED],
        )
        .values("owner_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    found = {row["owner_id"]: row["n"] for row in rows}
    return {uid: found.get(uid, 0) for uid in user_ids}


# --- status and first contact -------------------------------------------------------------------


def _status_event(
    *,
    workspace: Workspace,
    actor: User | None,
    lead: Lead,
    old: str,
    reason: str,
    first_contacted: dt.datetime | None = None,
) -> None:
    changes: dict[str, list[Any]] = {"status": [old, lead.status]}
    if first_contacted is not None:
        changes["first_contacted_at"] = [None, first_contacted.isoformat()]
    record_event(
        workspace=workspace,
        actor=actor,
        type="lead.status_changed",
        subject=lead,
        payload={"from": old, "to": lead.status, "reason": reason, "changes": changes},
    )


def lead_set_status(
    *, workspace: Workspace, actor: User | None, lead_id: int, status: str, reason: str = ""
) -> Lead:
    """Move a lead to `status`: new, working, qualified or disqualified (`reason` required;
    it is kept on the lead until it leaves that status). Moving to working counts as the
    first contact when there was none.

    Records `lead.status_changed` {"from", "to", "reason"} (nothing when the status and the
    reason stay). Raises NotFound, PermissionDenied, LeadConverted or ValidationFailed
    (status, reason).
    """
    require(workspace=workspace, user=actor, module=MODULE, right=Right.EDIT)
    errors = ErrorCollector()
    if status == LeadStatus.CONVERTED:
        errors.add("status", "invalid-choice", _("Convert the lead to mark it converted."))
    elif status not in SETTABLE_STATUSES:
        errors.add(
            "status",
            "invalid-choice",
            _("Choose one of: %(options)s.") % {"options": ", ".join(SETTABLE_STATUSES)},
        )
    text = clean_reason(errors, reason, required=status == LeadStatus.DISQUALIFIED)
    errors.raise_if_any()
    with transaction.atomic():
        lead = _get_for_write(workspace=workspace, actor=actor, lead_id=lead_id)
        _refuse_converted(lead)
        kept_reason = text if status == LeadStatus.DISQUALIFIED else ""
        if lead.status == status and lead.disqualified_reason == kept_reason:
            return lead_for_output(workspace=workspace, lead_id=lead.pk)
        old = lead.status
        now = timezone.now()
        lead.status = status
        lead.disqualified_reason = kept_reason
        lead.updated_at = now
        fields = ["status", "disqualified_reason", "updated_at"]
        first_contacted = None
        if status == LeadStatus.WORKING and lead.first_contacted_at is None:
            lead.first_contacted_at = first_contacted = now
            fields.append("first_contacted_at")
        lead.save(update_fields=fields)
        _status_event(
            workspace=workspace,
            actor=actor,
            lead=lead,
            old=old,
            reason=text,
            first_contacted=first_contacted,
        )
    return lead_for_output(workspace=workspace, lead_id=lead.pk)


def lead_mark_contacted(
    *, workspace: Workspace, actor: User | None, lead_id: int, at: dt.datetime | None = None
) -> Lead | None:
    """Note that the lead's owner reached out (an interaction was logged, or the lead moved to
    working): sets `first_contacted_at` once, which stops the response-time clock, and moves a
    new lead to working. Idempotent; converted, deleted and unknown leads are left alone
    (None is returned for those that do not exist or cannot be seen).

    Records `lead.status_changed` when the status moves, else `lead.updated` (changes:
    first_contacted_at) the first time.
    """
    require(workspace=workspace, user=actor, module=MODULE, right=Right.EDIT)
    with transaction.atomic():
        try:
            lead = _get_for_write(workspace=workspace, actor=actor, lead_id=lead_id)
        except NotFound:
            return None
        if lead.status == LeadStatus.CONVERTED:
            return lead
        moment = at or timezone.now()
        fields: list[str] = []
        first = None
        if lead.first_contacted_at is None:
            lead.first_contacted_at = first = moment
            fields.append("first_contacted_at")
        old = lead.status
        if old == LeadStatus.NEW:
            lead.status = LeadStatus.WORKING
            fields.append("status")
        if not fields:
            return lead
        lead.updated_at = timezone.now()
        lead.save(update_fields=[*fields, "updated_at"])
        if "status" in fields:
            _status_event(
                workspace=workspace,
                actor=actor,
                lead=lead,
                old=old,
                reason="",
                first_contacted=first,
            )
        else:
            assert first is not None
            record_event(
                workspace=workspace,
                actor=actor,
                type="lead.updated",
                subject=lead,
                payload={"changes": {"first_contacted_at": [None, first.isoformat()]}},
            )
    return lead


# --- delete and restore -------------------------------------------------------------------------


def lead_delete(*, workspace: Workspace, actor: User | None, lead_id: int) -> None:
    """Soft-delete a lead: it leaves every list and can be restored for
    SOFT_DELETE_RETENTION_DAYS. Records `lead.deleted`. Raises NotFound or PermissionDenied."""
    require(workspace=workspace, user=actor, module=MODULE, right=Right.DELETE)
    with transaction.atomic():
        lead = _get_for_write(workspace=workspace, actor=actor, lead_id=lead_id)
        lead.deleted_at = timezone.now()
        lead.save(update_fields=["deleted_at"])
        record_event(
            workspace=workspace,
            actor=actor,
            type="lead.deleted",
            subject=lead,
            payload={"name": lead.display_name},
        )


def lead_restore(*, workspace: Workspace, actor: User | None, lead_id: int) -> Lead:
    """Bring back a soft-deleted lead within the retention period. Records `lead.restored`; a
    lead that is not deleted is returned unchanged. Raises RestoreExpired after the period,
    NotFound when there is no such lead."""
    require(workspace=workspace, user=actor, module=MODULE, right=Right.DELETE)
    with transaction.atomic():
        lead = _get_for_write(workspace=workspace, actor=actor, lead_id=lead_id, deleted=None)
        if lead.deleted_at is not None:
            limit = timezone.now() - dt.timedelta(days=settings.SOFT_DELETE_RETENTION_DAYS)
            if lead.deleted_at < limit:
                raise RestoreExpired(
                    _(
                        "It was deleted on %(date)s; deleted records can be restored for "
                        "%(days)d days only."
                    )
                    % {
                        "date": lead.deleted_at.date().isoformat(),
                        "days": settings.SOFT_DELETE_RETENTION_DAYS,
                    }
                )
            lead.deleted_at = None
            lead.save(update_fields=["deleted_at"])
            record_event(
                workspace=workspace,
                actor=actor,
                type="lead.restored",
                subject=lead,
                payload={"name": lead.display_name},
            )
    return lead_for_output(workspace=workspace, lead_id=lead.pk)


# --- conversion ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConversionMatch:
    """The contact and account a lead would convert into: existing ones found by its email,
    its company's domain or exact name (None: one would be created, or none for the account
    of a lead without a company)."""

    contact: Contact | None
    account: Account | None
    account_by: str  # "domain", "name" or ""


def conversion_match(*, workspace: Workspace, lead: Lead) -> ConversionMatch:
    """Existing records the lead matches, whoever owns them: a conversion never makes a
    second contact for an address or a second account for a company. The contact: a live one
    holding the lead's email (its primary address first, then any of its addresses). The
    account: a live one with the company's domain, else with exactly its name (ignoring case
    and accents). At most four queries."""
    contact = None
    if lead.email:
        contacts = Contact.objects.for_workspace(workspace).filter(
            deleted_at__isnull=True, erased_at__isnull=True
        )
        contact = contacts.filter(email=lead.email).order_by("pk").first()
        if contact is None:
            from vinculo.contacts.dedupe.selectors import contact_duplicate_check

            found = contact_duplicate_check(workspace=workspace, viewer=None, emails=[lead.email])
            if found:
                contact = contacts.filter(pk=found[0].id).first()
    accounts = Account.objects.for_workspace(workspace).filter(deleted_at__isnull=True)
    account, by = None, ""
    if lead.company_domain:
        account = accounts.filter(domain=lead.company_domain.lower()).order_by("pk").first()
        by = "domain" if account else ""
    if account is None and lead.company_name.strip():
        key = normalize_text(lead.company_name)[:300]
        account = accounts.filter(sort_name=key).order_by("pk").first()
        by = "name" if account else ""
    return ConversionMatch(contact=contact, account=account, account_by=by)


def _refuse_unseen(
    *, workspace: Workspace, actor: User | None, contact: Contact | None, account: Account | None
) -> None:
    """A match the actor may not see cannot be linked by them, and must not be duplicated
    either: the conversion is refused with a word on what to do."""
    if actor is None:
        return
    for record, model, module, message in (
        (
            contact,
            Contact,
            "contacts",
            _(
                "A contact with this email already exists, owned by someone whose records you "
                "cannot see; ask a manager to convert this lead."
            ),
        ),
        (
            account,
            Account,
            "accounts",
            _(
                "This company is already an account owned by someone whose records you cannot "
                "see; ask a manager to convert this lead."
            ),
        ),
    ):
        if record is None:
            continue
        seen = visible(
            model.objects.for_workspace(workspace).filter(pk=record.pk),
            workspace=workspace,
            viewer=actor,
            module=module,
        ).exists()
        if not seen:
            raise Conflict(message, code="match-not-visible")


def _clean_amount(errors: ErrorCollector, amount: Any) -> Decimal | None:
    if amount is None or amount == "":
        return None
    try:
        value = Decimal(str(amount).strip())
    except InvalidOperation:
        errors.add("amount", "invalid", _("Enter an amount such as 1234.50."))
        return None
    if not value.is_finite() or value < 0 or value >= Decimal("1e12"):
        errors.add("amount", "invalid", _("Enter an amount such as 1234.50."))
        return None
    if value != value.quantize(Decimal("0.01")):
        errors.add("amount", "invalid-decimal-places", _("Use at most two decimal places."))
        return None
    return value


def _visible_record(
    errors: ErrorCollector,
    name: str,
    model: type[Contact] | type[Account],
    pk: Any,
    *,
    workspace: Workspace,
    actor: User | None,
    module: str,
    message: str,
) -> Any:
    record_id = clean_id(errors, name, pk, message=message)
    if record_id is None:
        return None
    qs = visible(
        model.objects.for_workspace(workspace).filter(deleted_at__isnull=True),
        workspace=workspace,
        viewer=actor,
        module=module,
    )
    record = qs.filter(pk=record_id).first()
    if record is None:
        errors.add(name, "not-found", message)
    return record


def _active_owner(workspace: Workspace, lead: Lead, actor: User | None) -> int | None:
    """The lead's owner when still an active member, else the actor (the records made by a
    conversion need an owner someone can reach)."""
    if lead.owner_id is not None:
        active = (
            Membership.objects.for_workspace(workspace)
            .filter(user_id=lead.owner_id, is_active=True, user__is_active=True)
            .exists()
        )
        if active:
            return lead.owner_id
    actor = _actor(actor)
    return actor.pk if actor is not None else None


def _contact_from_lead(
    *, workspace: Workspace, actor: User | None, lead: Lead, account: Account | None, deal: bool
) -> Contact:
    from vinculo.contacts.services import contact_create

    data: dict[str, Any] = {
        "first_name": lead.first_name,
        "last_name": lead.last_name,
        "job_title": lead.job_title,
        "source": lead.source,
        "city": lead.city,
        "state": lead.state,
        "country": lead.country,
        "owner_id": _active_owner(workspace, lead, actor),
        "lifecycle_stage": LifecycleStage.OPPORTUNITY if deal else LifecycleStage.LEAD,
    }
    if lead.email:
        data["email"] = lead.email
    if lead.phone:
        data["phone"] = lead.phone
    if account is not None:
        data["account_id"] = account.pk
    if not (lead.first_name or lead.last_name or lead.email):
        # A lead known only by its company or phone still needs a name to be a contact.
        data["first_name"] = lead.company_name or lead.phone
    return contact_create(workspace=workspace, actor=actor, data=data)


def _account_from_lead(*, workspace: Workspace, actor: User | None, lead: Lead) -> Account:
    from vinculo.contacts.services import account_create

    data: dict[str, Any] = {
        "name": lead.company_name.strip(),
        "industry": lead.industry,
        "city": lead.city,
        "state": lead.state,
        "country": lead.country,
        "owner_id": _active_owner(workspace, lead, actor),
    }
    if lead.company_domain:
        data["domain"] = lead.company_domain
    if lead.website:
        data["website"] = lead.website
    if lead.company_size:
        data["size"] = lead.company_size
    return account_create(workspace=workspace, actor=actor, data=data)


def _deal_create(*, workspace: Workspace, actor: User | None, data: dict[str, Any]) -> Any:
    # Imported here: deals build on leads (a deal keeps its lead), not the other way round.
    from vinculo.sales.deals.services import deal_create

    return deal_create(workspace=workspace, actor=actor, data=data)


def _copy_consent(*, workspace: Workspace, lead: Lead, contact: Contact) -> int:
    """The lead's consent log, appended to the contact's: new entries with the same purpose,
    wording, source, network data, actor and moment (the log is append-only, so the lead's
    own entries stay as they are). Each copy is on the contact's timeline at its moment."""
    entries = list(
        ConsentEntry.objects.for_workspace(workspace).filter(lead=lead).order_by("recorded_at")
    )
    for entry in entries:
        copy = ConsentEntry.objects.for_workspace(workspace).create(
            workspace=workspace,
            contact=contact,
            purpose=entry.purpose,
            granted=entry.granted,
            wording=entry.wording,
            source=entry.source,
            ip_address=entry.ip_address,
            user_agent=entry.user_agent,
            actor_id=entry.actor_id,
            recorded_at=entry.recorded_at,
        )
        record_event(
            workspace=workspace,
            actor=entry.actor,
            type="consent.granted" if entry.granted else "consent.withdrawn",
            subject=contact,
            payload={
                "purpose": entry.purpose,
                "source": entry.source,
                "entry_id": copy.pk,
                "lead_id": lead.pk,
            },
            occurred_at=entry.recorded_at,
        )
    return len(entries)


def _move_timeline(
    *, workspace: Workspace, lead: Lead, contact: Contact, deal_id: int | None
) -> int:
    """The lead's interactions, tasks and notes, now also the contact's (and the deal's):
    they keep their lead link, so the lead's page still shows its history."""
    from vinculo.timeline.models import Interaction, Note, Task

    moved = 0
    for model in (Interaction, Task, Note):
        items = model.objects.for_workspace(workspace).filter(lead=lead)
        moved += items.update(contact=contact)
        if deal_id is not None:
            items.filter(deal__isnull=True).update(deal_id=deal_id)
    return moved


@dataclass(frozen=True)
class Conversion:
    lead: Lead
    contact: Contact
    account: Account | None
    deal: Any
    contact_created: bool
    account_created: bool


def lead_convert(
    *,
    workspace: Workspace,
    actor: User | None,
    lead_id: int,
    account_id: int | None = None,
    contact_id: int | None = None,
    create_deal: bool = True,
    deal_name: str = "",
    pipeline_id: int | None = None,
    amount: Any = None,
) -> Conversion:
    """Turn a lead into a contact, an account and (with `create_deal`) a deal, in one
    transaction.

    The contact is `contact_id` when given, else the live contact holding the lead's email,
    else a new one from the lead's person fields; the account is `account_id`, else the one
    with the company's domain or exact name, else a new one when the lead names a company
    (see `conversion_match`): records are never duplicated. A contact without an account is
    linked to it. The deal is made by the deals service (`deal_name` defaults to the company
    or the person; `pipeline_id` to the default pipeline).

    Also: the lead's consent entries are copied to the contact; its interactions, tasks and
    notes move to the contact (keeping the lead) and are linked to the deal; the lead keeps
    what it became (`converted_*`) and its status becomes converted.

    Records `lead.converted` {"contact_id", "account_id", "deal_id", "contact_created",
    "account_created"}, besides the events of the records made. Raises NotFound,
    PermissionDenied, LeadConverted (converting twice) or ValidationFailed (account_id,
    contact_id, pipeline_id, amount, deal_name).
    """
    require(workspace=workspace, user=actor, module=MODULE, right=Right.EDIT)
    errors = ErrorCollector()
    money = _clean_amount(errors, amount)
    name = " ".join(deal_name.split()) if isinstance(deal_name, str) else ""
    if len(name) > 200:
        errors.add("deal_name", "too-long", _("Use at most %(max)d characters.") % {"max": 200})
    pipeline = clean_id(errors, "pipeline_id", pipeline_id, message=_("There is no such pipeline."))
    contact = _visible_record(
        errors,
        "contact_id",
        Contact,
        contact_id,
        workspace=workspace,
        actor=actor,
        module="contacts",
        message=_("There is no such contact."),
    )
    account = _visible_record(
        errors,
        "account_id",
        Account,
        account_id,
        workspace=workspace,
        actor=actor,
        module="accounts",
        message=_("There is no such account."),
    )
    if pipeline is not None:
        from vinculo.sales.models import Pipeline

        if (
            not Pipeline.objects.for_workspace(workspace)
            .filter(pk=pipeline, deleted_at__isnull=True)
            .exists()
        ):
            errors.add("pipeline_id", "not-found", _("There is no such pipeline."))
    errors.raise_if_any()
    with transaction.atomic():
        lead = _get_for_write(workspace=workspace, actor=actor, lead_id=lead_id)
        _refuse_converted(lead)
        match = conversion_match(workspace=workspace, lead=lead)
        if account is None and account_id is None:
            account = match.account
        if contact is None and contact_id is None:
            contact = match.contact
        _refuse_unseen(workspace=workspace, actor=actor, contact=contact, account=account)
        if account is None and contact is not None and contact.account_id is not None:
            account = (
                Account.objects.for_workspace(workspace)
                .filter(pk=contact.account_id, deleted_at__isnull=True)
                .first()
            )
        account_created = False
        if account is None and lead.company_name.strip():
            account = _account_from_lead(workspace=workspace, actor=actor, lead=lead)
            account_created = True
        contact_created = False
        if contact is None:
            contact = _contact_from_lead(
                workspace=workspace, actor=actor, lead=lead, account=account, deal=create_deal
            )
            contact_created = True
        elif contact.account_id is None and account is not None:
            from vinculo.contacts.services import contact_update

            contact = contact_update(
                workspace=workspace,
                actor=actor,
                contact_id=contact.pk,
                data={"account_id": account.pk},
            )
        deal = None
        if create_deal:
            data: dict[str, Any] = {
                "name": name or lead.company_name.strip() or lead.display_name,
                "contact_id": contact.pk,
                "account_id": account.pk if account is not None else None,
                "owner_id": _active_owner(workspace, lead, actor),
                "lead_id": lead.pk,
            }
            if pipeline is not None:
                data["pipeline_id"] = pipeline
            if money is not None:
                data["amount"] = money
            if lead.team_id is not None:
                data["team_id"] = lead.team_id
            deal = _deal_create(workspace=workspace, actor=actor, data=data)
        _copy_consent(workspace=workspace, lead=lead, contact=contact)
        _move_timeline(
            workspace=workspace,
            lead=lead,
            contact=contact,
            deal_id=deal.pk if deal is not None else None,
        )
        now = timezone.now()
        old_status = lead.status
        lead.status = LeadStatus.CONVERTED
        lead.converted_at = now
        lead.converted_contact = contact
        lead.converted_account = account
        lead.converted_deal_id = deal.pk if deal is not None else None
        lead.updated_at = now
        lead.save(
            update_fields=[
                "status",
                "converted_at",
                "converted_contact",
                "converted_account",
                "converted_deal",
                "updated_at",
            ]
        )
        record_event(
            workspace=workspace,
            actor=actor,
            type="lead.converted",
            subject=lead,
            payload={
                "contact_id": contact.pk,
                "account_id": account.pk if account is not None else None,
                "deal_id": deal.pk if deal is not None else None,
                "contact_created": contact_created,
                "account_created": account_created,
                "changes": {"status": [old_status, LeadStatus.CONVERTED]},
            },
        )
        from vinculo.timeline.services import activity_rollup_refresh

        activity_rollup_refresh(
            workspace=workspace,
            contact_ids={contact.pk},
            account_ids={account.pk} if account is not None else set(),
        )
    return Conversion(
        lead=lead_for_output(workspace=workspace, lead_id=lead.pk),
        contact=contact,
        account=account,
        deal=deal,
        contact_created=contact_created,
        account_created=account_created,
    )


# --- retention ----------------------------------------------------------------------------------

PURGE_BATCH = 500


def leads_purge_expired(*, now: dt.datetime | None = None) -> int:
    """Hard-delete leads soft-deleted longer ago than SOFT_DELETE_RETENTION_DAYS, in every
    workspace, in batches of their own transaction. Interactions, tasks and notes that also
    belong to a contact, an account or a deal (a converted lead's history) stay with those,
    unlinked from the lead; the lead's own items and consent log go with it. Records
    `lead.purged` per lead. Returns how many were removed."""
    from django.db.models import Q

    from vinculo.timeline.models import Interaction, Note, Task

    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=settings.SOFT_DELETE_RETENTION_DAYS)
    removed = 0
    expired = Lead.all_tenants.filter(deleted_at__lt=cutoff).order_by("pk")
    shared = Q(contact__isnull=False) | Q(account__isnull=False) | Q(deal__isnull=False)
    while True:
        rows = list(expired.values_list("pk", "workspace_id")[:PURGE_BATCH])
        if not rows:
            return removed
        ids = [pk for pk, _ws in rows]
        with transaction.atomic():
            for model in (Interaction, Task, Note):
                model.all_tenants.filter(shared, lead_id__in=ids).update(lead=None)
            Lead.all_tenants.filter(pk__in=ids).delete()
            record_events_bulk(
                [
                    Event(
                        workspace_id=ws,
                        type="lead.purged",
                        subject_type="lead",
                        subject_id=pk,
                        occurred_at=now,
                    )
                    for pk, ws in rows
                ]
            )
        removed += len(rows)
