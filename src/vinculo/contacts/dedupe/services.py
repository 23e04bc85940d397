"""Writes of dedupe: duplicate scans, dismissals and merges.

The scan (`duplicate_scan_start` → task → `duplicate_scan_run`) reads every live record of one
kind in id order, finds likely pairs with `scoring`, and upserts them as `DuplicateCandidate`
rows in one transaction at the end: an open pair gets its score and reasons refreshed, a pair
someone dismissed stays dismissed, and open pairs the scan no longer finds (a record changed,
was deleted or merged) disappear. Nothing is written before that transaction, so a scan whose
worker died is simply run again from the start (`duplicate_scans_resume`), without duplicates.

A merge (`contact_merge`, `account_merge`) keeps one record (the survivor) with the values
chosen field by field, moves every related record of the other one to it, soft-deletes the
other, and records the whole change in the audit trail. Related records are found through a
registry: a later app whose records point at contacts or accounts (deals, tickets, orders)
calls `register_merge_relation(Model, "contact")` when it loads (in its AppConfig.ready), and
merges move its rows too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from vinculo.contacts.dedupe import scoring
from vinculo.contacts.models import (
    Account,
    AccountTag,
    ConsentEntry,
    Contact,
    ContactTag,
    DuplicateCandidate,
    DuplicateScan,
    JobStatus,
)
from vinculo.contacts.services import (
    ACCOUNT_TRACKED,
    CONTACT_TRACKED,
    _account_refresh_derived,
    _changes,
    _contact_refresh_derived,
    _contacts_refresh_company,
    _current_tags,
    _get_for_write,
    _load_for_output,
    _set_tags,
    _snapshot,
)
from vinculo.contacts.validation import MAX_EMAILS, MAX_ID, MAX_PHONES
from vinculo.core.access import require
from vinculo.core.events import record_event, record_events_bulk
from vinculo.core.exceptions import ErrorCollector, FieldError, NotFound, ValidationFailed
from vinculo.core.memory import gc_paused
from vinculo.core.models import Event, User, Workspace
from vinculo.core.roles import Right
from vinculo.core.tenancy import workspace_scope
from vinculo.timeline.models import Interaction, Note, Task
from vinculo.timeline.services import activity_rollup_refresh

logger = logging.getLogger(__name__)

OBJECT_TYPES = {"contact": "contacts", "account": "accounts"}
SURVIVOR, OTHER = "survivor", "other"
# A running scan whose worker has not written for this long is taken to be dead.
STALE_AFTER = timedelta(minutes=2)
# Progress and heartbeat are written at most this often.
BEAT_EVERY = timedelta(seconds=1)
READ_BATCH = 10_000
WRITE_BATCH = 1000


def object_module(object_type: str) -> str:
    """The rights module of a kind of record; ValidationFailed for an unknown kind."""
    module = OBJECT_TYPES.get(object_type)
    if module is None:
        raise ValidationFailed(
            [
                FieldError(
                    "object_type",
                    "invalid-choice",
                    _("Duplicates are found among contacts or accounts."),
                )
            ]
        )
    return module


# --- the registry of related records -------------------------------------------------------------

# (workspace, actor, other id, survivor id) → how many rows moved.
Mover = Callable[[Workspace, User | None, int, int], int]


@dataclass(frozen=True)
class MergeRelation:
    """Rows of `model` whose `field` points at a record of `object_type` move to the survivor
    of a merge. `label` names them in the merge event's counts; `move` replaces the plain
    update when moving needs more (a unique constraint, a guarded table)."""

    object_type: str
    model: type[models.Model]
    field: str
    label: str
    move: Mover | None = None

    def rows(self, workspace: Workspace, record_id: int) -> Any:
        manager: Any = self.model._default_manager
        qs = (
            manager.for_workspace(workspace)
            if hasattr(manager, "for_workspace")
            else manager.filter(workspace=workspace)
        )
        return qs.filter(**{f"{self.field}_id": record_id})

    def apply(
        self, workspace: Workspace, actor: User | None, other_id: int, survivor_id: int
    ) -> int:
        if self.move is not None:
            return self.move(workspace, actor, other_id, survivor_id)
        return int(self.rows(workspace, other_id).update(**{f"{self.field}_id": survivor_id}))


_RELATIONS: dict[tuple[str, str], MergeRelation] = {}


def register_merge_relation(
    model: type[models.Model],
    field: str,
    *,
    object_type: str = "contact",
    label: str | None = None,
    move: Mover | None = None,
) -> MergeRelation:
    """Make merges of `object_type` records move `model` rows whose foreign key `field` points
    at the merged record. Registering the same (object type, label) again replaces it."""
    object_module(object_type)
    relation = MergeRelation(
        object_type=object_type,
        model=model,
        field=field,
        label=label or str(model._meta.verbose_name_plural),
        move=move,
    )
    _RELATIONS[(object_type, relation.label)] = relation
    return relation


def merge_relations(object_type: str) -> list[MergeRelation]:
    return [r for (kind, _label), r in _RELATIONS.items() if kind == object_type]


def _move_consents(
    workspace: Workspace, actor: User | None, other_id: int, survivor_id: int
) -> int:
    # The consent log refuses updates (it is evidence). Moving the entries of a person to the
    # record that now stands for the same person changes no entry's content, and keeps the
    # evidence alive: left on the merged record, it would be purged with it after 30 days.
    rows = ConsentEntry.objects.for_workspace(workspace).filter(contact_id=other_id)
    return int(models.QuerySet.update(rows, contact_id=survivor_id))


def _move_contacts_of_account(
    workspace: Workspace, actor: User | None, other_id: int, survivor_id: int
) -> int:
    """The people of the merged company now work at the survivor: each gets a
    `contact.updated` event (their account changed) like any other change of account."""
    people = Contact.objects.for_workspace(workspace).filter(account_id=other_id)
    ids = list(people.values_list("pk", flat=True))
    if not ids:
        return 0
    now = timezone.now()
    people.update(account_id=survivor_id, updated_at=now)
    record_events_bulk(
        [
            Event(
                workspace=workspace,
                type="contact.updated",
                subject_type="contact",
                subject_id=pk,
                actor=actor if actor is not None and actor.pk else None,
                payload={"changes": {"account_id": [other_id, survivor_id]}},
                occurred_at=now,
            )
            for pk in ids
        ]
    )
    return len(ids)


register_merge_relation(Interaction, "contact", label="interactions")
register_merge_relation(Task, "contact", label="tasks")
register_merge_relation(Note, "contact", label="notes")
register_merge_relation(ConsentEntry, "contact", label="consents", move=_move_consents)
register_merge_relation(Interaction, "account", object_type="account", label="interactions")
register_merge_relation(Task, "account", object_type="account", label="tasks")
register_merge_relation(Note, "account", object_type="account", label="notes")
register_merge_relation(
    Contact, "account", object_type="account", label="contacts", move=_move_contacts_of_account
)


# --- scans ---------------------------------------------------------------------------------------


def duplicate_scan_start(
    *, workspace: Workspace, actor: User | None, object_type: str, background: bool = True
) -> DuplicateScan:
    """Queue a scan for duplicates among the workspace's contacts or accounts (`object_type`
    "contact" or "account") and enqueue its task after commit. A scan of the same kind that is
    already queued or running is returned instead of a second one. With `background` False
    nothing is enqueued: the caller runs `duplicate_scan_run` itself (the CLI). No event: a
    scan changes no customer record. Raises PermissionDenied without the edit right."""
    module = object_module(object_type)
    require(workspace=workspace, user=actor, module=module, right=Right.EDIT)
    with transaction.atomic():
        active = (
            DuplicateScan.objects.for_workspace(workspace)
            .filter(object_type=object_type, status__in=[JobStatus.QUEUED, JobStatus.RUNNING])
            .order_by("-created_at", "-id")
            .first()
        )
        if active is not None and not _is_stale(active):
            return active
        scan = DuplicateScan.objects.for_workspace(workspace).create(
            workspace=workspace,
            object_type=object_type,
            status=JobStatus.QUEUED,
            created_by=actor if actor is not None and actor.pk else None,
        )
        if background:
            scan_id = scan.pk
            transaction.on_commit(lambda: _enqueue_scan(scan_id))
    return scan


def _enqueue_scan(scan_id: int) -> None:
    from vinculo.contacts.dedupe.tasks import scan_run_task

    try:
        scan_run_task.enqueue(scan_id=scan_id)
    except Exception:
        # `duplicate_scans_resume` finds a queued scan whose task never started.
        logger.exception("could not enqueue duplicate scan %s", scan_id)


def _is_stale(scan: DuplicateScan, now: Any = None) -> bool:
    now = now or timezone.now()
    last = scan.heartbeat_at or scan.started_at or scan.created_at
    return last < now - STALE_AFTER


def _claim(scan_id: int) -> DuplicateScan | None:
    """Take the scan for this worker: a queued one, or a running one whose worker stopped
    beating. One conditional update, so two workers cannot both take it."""
    now = timezone.now()
    free = Q(status=JobStatus.QUEUED) | Q(
        status=JobStatus.RUNNING, heartbeat_at__lt=now - STALE_AFTER
    )
    claimed = (
        DuplicateScan.all_tenants.filter(free, pk=scan_id).update(
            status=JobStatus.RUNNING, started_at=now, heartbeat_at=now, rows_done=0, error=""
        )
        == 1
    )
    if not claimed:
        return None
    return DuplicateScan.all_tenants.select_related("workspace").get(pk=scan_id)


class _Meter:
    """Writes the scan's progress and heartbeat, at most once every BEAT_EVERY. Reading the
    records is the first half of the work and comparing them the second, so `rows_done`
    moves across both: (read + compared) / 2 of `total_rows`."""

    def __init__(
        self, scan: DuplicateScan, on_progress: Callable[[DuplicateScan], None] | None
    ) -> None:
        self.scan = scan
        self.on_progress = on_progress
        self.read = 0
        self.compared = 0
        self.last_beat = timezone.now()

    def update(self, *, read: int | None = None, compared: int | None = None) -> None:
        if read is not None:
            self.read = read
        if compared is not None:
            self.compared = compared
        now = timezone.now()
        if now - self.last_beat < BEAT_EVERY:
            return
        self.last_beat = now
        self.scan.rows_done = (self.read + self.compared) // 2
        self.scan.heartbeat_at = now
        DuplicateScan.all_tenants.filter(pk=self.scan.pk).update(
            rows_done=self.scan.rows_done, heartbeat_at=now
        )
        if self.on_progress is not None:
            self.on_progress(self.scan)


def duplicate_scan_run(
    *, scan_id: int, on_progress: Callable[[DuplicateScan], None] | None = None
) -> DuplicateScan:
    """The scan's work (the task's body; the CLI calls it in the foreground). Idempotent: a
    scan that is done, or running in a live worker, is returned as it is; a dead worker's scan
    is run again from the start. `on_progress` hears about progress about once a second.
    Writes the pairs in one transaction, then marks the scan done (or failed, with the error)."""
    scan = _claim(scan_id)
    if scan is None:
        return DuplicateScan.all_tenants.get(pk=scan_id)
    meter = _Meter(scan, on_progress)
    try:
        with workspace_scope(scan.workspace), gc_paused():
            if scan.object_type == "contact":
                found = _contact_pairs(scan, meter)
            else:
                found = _account_pairs(scan, meter)
            _store_pairs(scan, found)
    except Exception as exc:
        logger.exception("duplicate scan %s failed", scan_id)
        DuplicateScan.all_tenants.filter(pk=scan_id).update(
            status=JobStatus.FAILED, finished_at=timezone.now(), error=str(exc)[:2000]
        )
        raise
    scan.refresh_from_db()
    if on_progress is not None:
        on_progress(scan)
    return scan


def _live(model: type[models.Model], workspace: Workspace) -> Any:
    qs = model.objects.for_workspace(workspace).filter(deleted_at__isnull=True)  # type: ignore[attr-defined]
    return qs.filter(erased_at__isnull=True) if model is Contact else qs


def _start_reading(scan: DuplicateScan, qs: Any) -> int:
    total = int(qs.count())
    scan.total_rows = total
    DuplicateScan.all_tenants.filter(pk=scan.pk).update(total_rows=total)
    return total


def _contact_pairs(scan: DuplicateScan, meter: _Meter) -> list[tuple[int, int, scoring.Match]]:
    qs = _live(Contact, scan.workspace)
    _start_reading(scan, qs)
    facts = scoring.stored_contact_facts
    records = []
    rows = qs.order_by("pk").values_list(
        "pk", "first_name", "last_name", "emails", "phones", "account_id", "city"
    )
    for row in rows.iterator(chunk_size=READ_BATCH):
        records.append(facts(*row))
        if len(records) % READ_BATCH == 0:
            meter.update(read=len(records))
    meter.update(read=len(records))
    return list(scoring.contact_pairs(records, progress=lambda done: meter.update(compared=done)))


def _account_pairs(scan: DuplicateScan, meter: _Meter) -> list[tuple[int, int, scoring.Match]]:
    qs = _live(Account, scan.workspace)
    _start_reading(scan, qs)
    records = []
    rows = qs.order_by("pk").values_list("pk", "name", "domain", "phone", "city")
    for pk, name, domain, phone, city in rows.iterator(chunk_size=READ_BATCH):
        records.append(
            scoring.account_facts(id=pk, name=name, domain=domain, phone=phone, city=city)
        )
        if len(records) % READ_BATCH == 0:
            meter.update(read=len(records))
    meter.update(read=len(records))
    return list(scoring.account_pairs(records, progress=lambda done: meter.update(compared=done)))


def _store_pairs(scan: DuplicateScan, found: list[tuple[int, int, scoring.Match]]) -> int:
    """Upsert the pairs found and mark the scan done, in one transaction. Returns how many
    pairs are open for review after it."""
    workspace = scan.workspace
    candidates = DuplicateCandidate.objects.for_workspace(workspace).filter(
        object_type=scan.object_type
    )
    existing: dict[tuple[int, int], tuple[int, str, float, Any]] = {
        (first, second): (pk, status, score, reasons)
        for pk, first, second, status, score, reasons in candidates.values_list(
            "pk", "first_id", "second_id", "status", "score", "reasons"
        ).iterator(chunk_size=WRITE_BATCH)
    }
    now = timezone.now()
    to_create: list[DuplicateCandidate] = []
    to_update: list[DuplicateCandidate] = []
    open_found = 0
    for first, second, match in found:
        row = existing.pop((first, second), None)
        if row is None:
            open_found += 1
            to_create.append(
                DuplicateCandidate(
                    workspace=workspace,
                    object_type=scan.object_type,
                    first_id=first,
                    second_id=second,
                    score=match.score,
                    reasons=match.reasons,
                    scan=scan,
                    created_at=now,
                )
            )
            continue
        pk, status, score, reasons = row
        if status != DuplicateCandidate.Status.OPEN:
            continue  # dismissed pairs stay dismissed; merged ones stay closed
        open_found += 1
        if score != match.score or reasons != match.reasons:
            to_update.append(
                DuplicateCandidate(pk=pk, score=match.score, reasons=match.reasons, scan=scan)
            )
    stale = [row[0] for row in existing.values() if row[1] == DuplicateCandidate.Status.OPEN]
    with transaction.atomic():
        candidates.bulk_create(to_create, batch_size=WRITE_BATCH, ignore_conflicts=True)
        candidates.bulk_update(to_update, ["score", "reasons", "scan"], batch_size=WRITE_BATCH)
        for start in range(0, len(stale), WRITE_BATCH):
            # Only still-open ones: a pair dismissed meanwhile keeps its verdict.
            candidates.filter(
                pk__in=stale[start : start + WRITE_BATCH], status=DuplicateCandidate.Status.OPEN
            ).delete()
        DuplicateScan.all_tenants.filter(pk=scan.pk).update(
            status=JobStatus.DONE,
            rows_done=scan.total_rows or 0,
            pairs_found=open_found,
            finished_at=timezone.now(),
            heartbeat_at=timezone.now(),
        )
    return open_found


def duplicate_scans_resume() -> int:
    """Enqueue again every scan whose worker died (running without a heartbeat for
    STALE_AFTER) or whose task never started (queued for as long). Runs periodically; returns
    how many were enqueued. The scans start over: nothing of theirs was written yet."""
    limit = timezone.now() - STALE_AFTER
    stuck = DuplicateScan.all_tenants.filter(
        Q(status=JobStatus.RUNNING, heartbeat_at__lt=limit)
        | Q(status=JobStatus.QUEUED, created_at__lt=limit)
    ).values_list("pk", flat=True)
    ids = list(stuck[:100])
    for scan_id in ids:
        _enqueue_scan(scan_id)
    return len(ids)


# --- review --------------------------------------------------------------------------------------


def _candidate_for_write(
    *, workspace: Workspace, actor: User | None, candidate_id: int
) -> DuplicateCandidate:
    """An open pair whose two records the actor may see, locked; NotFound otherwise (also
    for other workspaces and pairs already resolved)."""
    pk = candidate_id if 0 < candidate_id <= MAX_ID else 0
    candidate = (
        DuplicateCandidate.objects.for_workspace(workspace)
        .select_for_update()
        .filter(pk=pk, status=DuplicateCandidate.Status.OPEN)
        .first()
    )
    if candidate is None:
        raise NotFound(_("There is no such pair to review."))
    from vinculo.contacts.dedupe.selectors import pair_visible

    if not pair_visible(
        workspace=workspace,
        viewer=actor,
        object_type=candidate.object_type,
        ids=(candidate.first_id, candidate.second_id),
    ):
        raise NotFound(_("There is no such pair to review."))
    return candidate


def duplicate_dismiss(
    *, workspace: Workspace, actor: User | None, candidate_id: int
) -> DuplicateCandidate:
    """Mark an open pair "not duplicates": it leaves the queue and later scans leave it
    alone. Records `duplicate.dismissed`. Raises NotFound or PermissionDenied (edit right)."""
    with transaction.atomic():
        candidate = _candidate_for_write(
            workspace=workspace, actor=actor, candidate_id=candidate_id
        )
        require(
            workspace=workspace,
            user=actor,
            module=object_module(candidate.object_type),
            right=Right.EDIT,
        )
        candidate.status = DuplicateCandidate.Status.DISMISSED
        candidate.resolved_at = timezone.now()
        candidate.resolved_by = actor if actor is not None and actor.pk else None
        candidate.save(update_fields=["status", "resolved_at", "resolved_by"])
        record_event(
            workspace=workspace,
            actor=actor,
            type="duplicate.dismissed",
            subject=candidate,
            payload={
                "object_type": candidate.object_type,
                "first_id": candidate.first_id,
                "second_id": candidate.second_id,
                "score": candidate.score,
            },
        )
    return candidate


# --- merge ---------------------------------------------------------------------------------------


def merge_fields(object_type: str) -> tuple[str, ...]:
    """The fields a merge picks a value for (custom fields come on top, per key)."""
    return CONTACT_TRACKED if object_type == "contact" else ACCOUNT_TRACKED


def _empty(value: Any) -> bool:
    return value in (None, "", [], {})


def _value(record: Any, name: str) -> Any:
    if name.startswith("custom_fields."):
        return (record.custom_fields or {}).get(name.split(".", 1)[1])
    return getattr(record, name)


def merge_defaults(survivor: Any, other: Any, names: list[str]) -> dict[str, str]:
    """The default choice of each field: the survivor's value, unless it is empty and the
    other's is not."""
    return {
        name: OTHER
        if _empty(_value(survivor, name)) and not _empty(_value(other, name))
        else SURVIVOR
        for name in names
    }


def _choosable(object_type: str, survivor: Any, other: Any) -> list[str]:
    keys = dict.fromkeys([*(survivor.custom_fields or {}), *(other.custom_fields or {})])
    return [*merge_fields(object_type), *(f"custom_fields.{k}" for k in keys)]


def _clean_choices(choices: Mapping[str, Any] | None, defaults: dict[str, str]) -> dict[str, str]:
    """The side each field's value comes from: the defaults, overridden by `choices`."""
    errors = ErrorCollector()
    picked = dict(defaults)
    if choices is not None and not isinstance(choices, Mapping):
        errors.add("choices", "invalid-type", _("Send an object of field → survivor|other."))
        errors.raise_if_any()
    for name, side in (choices or {}).items():
        if name not in picked:
            errors.add(
                f"choices.{name}",
                "unknown-field",
                _("There is no field '%(name)s' to merge.") % {"name": name},
            )
        elif side not in (SURVIVOR, OTHER):
            errors.add(
                f"choices.{name}",
                "invalid-choice",
                _("Choose “survivor” or “other”."),
            )
        else:
            picked[name] = side
    errors.raise_if_any()
    return picked


def _united(first: list[str], second: list[str]) -> list[str]:
    return list(dict.fromkeys([*first, *second]))


def _merge_ids(errors: ErrorCollector, survivor_id: Any, other_id: Any) -> tuple[int, int]:
    ids = []
    for name, value in (("survivor_id", survivor_id), ("other_id", other_id)):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_ID:
            errors.add(name, "invalid-type", _("Send the id of a record."))
            ids.append(0)
        else:
            ids.append(value)
    if ids[0] and ids[0] == ids[1]:
        errors.add("other_id", "same-record", _("A record cannot be merged with itself."))
    errors.raise_if_any()
    return ids[0], ids[1]


def _lock_pair(
    model: type[Any], *, workspace: Workspace, actor: User | None, module: str, ids: tuple[int, int]
) -> tuple[Any, Any]:
    # Always lock the smaller id first, so two merges of the same pair cannot deadlock.
    locked = {
        pk: _get_for_write(model, workspace=workspace, actor=actor, module=module, record_id=pk)
        for pk in sorted(ids)
    }
    return locked[ids[0]], locked[ids[1]]


def _refuse_erased(survivor: Contact, other: Contact) -> None:
    """An erased person (LGPD/GDPR) stays erased: a merge would bring personal data back
    onto the record, or carry the other's history onto a record that must hold none."""
    errors = ErrorCollector()
    for name, contact in (("survivor_id", survivor), ("other_id", other)):
        if contact.erased_at is not None:
            errors.add(name, "erased", _("This person's data was erased; it cannot be merged."))
    errors.raise_if_any()


def _close_candidates(
    *, workspace: Workspace, actor: User | None, object_type: str, other_id: int
) -> int:
    """Pairs involving the merged record are over: it no longer exists."""
    return int(
        DuplicateCandidate.objects.for_workspace(workspace)
        .filter(Q(first_id=other_id) | Q(second_id=other_id), object_type=object_type)
        .exclude(status=DuplicateCandidate.Status.MERGED)
        .update(
            status=DuplicateCandidate.Status.MERGED,
            resolved_at=timezone.now(),
            resolved_by=actor if actor is not None and actor.pk else None,
        )
    )


def _move_related(
    object_type: str, workspace: Workspace, actor: User | None, other_id: int, survivor_id: int
) -> dict[str, int]:
    return {
        relation.label: relation.apply(workspace, actor, other_id, survivor_id)
        for relation in merge_relations(object_type)
    }


def _record_merge_events(
    *,
    workspace: Workspace,
    actor: User | None,
    label: str,
    survivor: Any,
    other: Any,
    other_name: str,
    picked: dict[str, str],
    changes: dict[str, list[Any]],
    moved: dict[str, int],
) -> None:
    record_event(
        workspace=workspace,
        actor=actor,
        type=f"{label}.merged",
        subject=survivor,
        payload={
            "other_id": other.pk,
            "other_name": other_name,
            # Which record each value now shown came from; the values themselves are in
            # `changes` (those that differ from the survivor's own) and in the events before.
            "from_other": sorted(n for n, side in picked.items() if side == OTHER),
            "changes": changes,
            "moved": moved,
        },
    )
    record_event(
        workspace=workspace,
        actor=actor,
        type=f"{label}.deleted",
        subject=other,
        payload={"name": other_name, "merged_into": survivor.pk},
    )


def contact_merge(
    *,
    workspace: Workspace,
    actor: User | None,
    survivor_id: int,
    other_id: int,
    choices: Mapping[str, str] | None = None,
) -> Contact:
    """Merge the contact `other_id` into `survivor_id`, in one transaction.

    `choices` says, per field (`first_name`, `account_id`, `custom_fields.<key>`, …), whether
    the survivor keeps its value or takes the other's ("survivor" | "other"); a field not
    given keeps the survivor's value unless it is empty. Emails and phones are united (the
    chosen side's primary first), tags united. Every related record (timeline interactions,
    tasks and notes, consent entries, and whatever later apps registered) moves to the
    survivor; the other contact is soft-deleted; open pairs involving it are closed.

    Records `contact.merged` on the survivor (the other's id, which fields came from it, the
    changes, how many related records moved) and `contact.deleted` on the other (with
    `merged_into`). Raises PermissionDenied (edit and delete rights), NotFound, or
    ValidationFailed (survivor_id, other_id, choices.<field>, emails, phones).
    """
    require(workspace=workspace, user=actor, module="contacts", right=Right.EDIT)
    require(workspace=workspace, user=actor, module="contacts", right=Right.DELETE)
    survivor_pk, other_pk = _merge_ids(ErrorCollector(), survivor_id, other_id)
    with transaction.atomic():
        survivor, other = _lock_pair(
            Contact,
            workspace=workspace,
            actor=actor,
            module="contacts",
            ids=(survivor_pk, other_pk),
        )
        _refuse_erased(survivor, other)
        names = _choosable("contact", survivor, other)
        picked = _clean_choices(choices, merge_defaults(survivor, other, names))
        old_tags = _current_tags(workspace, "contact_links__contact", survivor)
        other_tags = _current_tags(workspace, "contact_links__contact", other)
        before = _snapshot(survivor, CONTACT_TRACKED, [t.name for t in old_tags])
        _apply_choices(survivor, other, picked, list_fields=("emails", "phones"))
        _check_list_sizes(survivor)
        survivor.created_at = min(survivor.created_at, other.created_at)
        tags = _united_tags(old_tags, other_tags)
        company = (
            Account.objects.for_workspace(workspace)
            .filter(pk=survivor.account_id)
            .values_list("name", flat=True)
            .first()
            if survivor.account_id
            else ""
        )
        _contact_refresh_derived(survivor, company=company or "")
        survivor.updated_at = timezone.now()
        survivor.save()
        _set_tags(
            workspace=workspace,
            link_model=ContactTag,
            owner_field="contact",
            record=survivor,
            tags=tags,
        )
        changes = _changes(before, _snapshot(survivor, CONTACT_TRACKED, [t.name for t in tags]))
        moved = _move_related("contact", workspace, actor, other.pk, survivor.pk)
        other.deleted_at = timezone.now()
        other.save(update_fields=["deleted_at"])
        _close_candidates(
            workspace=workspace, actor=actor, object_type="contact", other_id=other.pk
        )
        activity_rollup_refresh(
            workspace=workspace,
            contact_ids={survivor.pk},
            account_ids={a for a in (other.account_id,) if a},
        )
        _record_merge_events(
            workspace=workspace,
            actor=actor,
            label="contact",
            survivor=survivor,
            other=other,
            other_name=other.display_name,
            picked=picked,
            changes=changes,
            moved=moved,
        )
    survivor.refresh_from_db()
    _load_for_output([survivor], workspace, with_account=True)
    return survivor


def account_merge(
    *,
    workspace: Workspace,
    actor: User | None,
    survivor_id: int,
    other_id: int,
    choices: Mapping[str, str] | None = None,
) -> Account:
    """Merge the account `other_id` into `survivor_id`, like `contact_merge`: values picked
    per field, tags united, and every related record moves, its contacts among them (each
    gets a `contact.updated` event for its new account). Records `account.merged` and
    `account.deleted` (with `merged_into`). Raises PermissionDenied (edit and delete rights on
    accounts), NotFound or ValidationFailed."""
    require(workspace=workspace, user=actor, module="accounts", right=Right.EDIT)
    require(workspace=workspace, user=actor, module="accounts", right=Right.DELETE)
    survivor_pk, other_pk = _merge_ids(ErrorCollector(), survivor_id, other_id)
    with transaction.atomic():
        survivor, other = _lock_pair(
            Account,
            workspace=workspace,
            actor=actor,
            module="accounts",
            ids=(survivor_pk, other_pk),
        )
        names = _choosable("account", survivor, other)
        picked = _clean_choices(choices, merge_defaults(survivor, other, names))
        old_tags = _current_tags(workspace, "account_links__account", survivor)
        other_tags = _current_tags(workspace, "account_links__account", other)
        before = _snapshot(survivor, ACCOUNT_TRACKED, [t.name for t in old_tags])
        _apply_choices(survivor, other, picked, list_fields=())
        survivor.created_at = min(survivor.created_at, other.created_at)
        tags = _united_tags(old_tags, other_tags)
        _account_refresh_derived(survivor)
        survivor.updated_at = timezone.now()
        survivor.save()
        _set_tags(
            workspace=workspace,
            link_model=AccountTag,
            owner_field="account",
            record=survivor,
            tags=tags,
        )
        changes = _changes(before, _snapshot(survivor, ACCOUNT_TRACKED, [t.name for t in tags]))
        moved = _move_related("account", workspace, actor, other.pk, survivor.pk)
        # The company name is part of its people's search documents.
        _contacts_refresh_company(workspace=workspace, account=survivor)
        other.deleted_at = timezone.now()
        other.save(update_fields=["deleted_at"])
        _close_candidates(
            workspace=workspace, actor=actor, object_type="account", other_id=other.pk
        )
        activity_rollup_refresh(workspace=workspace, contact_ids=set(), account_ids={survivor.pk})
        _record_merge_events(
            workspace=workspace,
            actor=actor,
            label="account",
            survivor=survivor,
            other=other,
            other_name=other.name,
            picked=picked,
            changes=changes,
            moved=moved,
        )
    survivor.refresh_from_db()
    _load_for_output([survivor], workspace, with_account=False)
    return survivor


def _apply_choices(
    survivor: Any, other: Any, picked: dict[str, str], *, list_fields: tuple[str, ...]
) -> None:
    custom = dict(survivor.custom_fields or {})
    for name, side in picked.items():
        source = other if side == OTHER else survivor
        if name in list_fields:
            rest = survivor if side == OTHER else other
            setattr(survivor, name, _united(getattr(source, name), getattr(rest, name)))
        elif name.startswith("custom_fields."):
            key = name.split(".", 1)[1]
            value = (source.custom_fields or {}).get(key)
            if _empty(value):
                custom.pop(key, None)
            else:
                custom[key] = value
        elif side == OTHER:
            setattr(survivor, name, getattr(other, name))
    survivor.custom_fields = custom


def _check_list_sizes(contact: Contact) -> None:
    errors = ErrorCollector()
    for name, limit in (("emails", MAX_EMAILS), ("phones", MAX_PHONES)):
        if len(getattr(contact, name)) > limit:
            errors.add(
                name,
                "too-many",
                _(
                    "Together they have more than %(max)d; remove some from one of them "
                    "before merging."
                )
                % {"max": limit},
            )
    errors.raise_if_any()


def _united_tags(first: list[Any], second: list[Any]) -> list[Any]:
    return list({tag.pk: tag for tag in [*first, *second]}.values())
