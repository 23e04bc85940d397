"""Reads of dedupe, with record access applied: the review queue (a pair shows only when its
two records are live and the viewer may see both), scans, the two sides of a merge, and the
"already exists" check of the create and edit forms."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import connections
from django.db.models import Exists, OuterRef, QuerySet, TextField
from django.db.models.functions import Cast
from django.utils.translation import gettext as _

from vinculo.contacts.dedupe import scoring
from vinculo.contacts.dedupe.services import OBJECT_TYPES, merge_relations, object_module
from vinculo.contacts.models import Account, Contact, DuplicateCandidate, DuplicateScan
from vinculo.contacts.search import query_tokens, search_filter
from vinculo.contacts.selectors import _accounts_base, _contacts_base
from vinculo.contacts.validation import MAX_ID, _domain, default_region
from vinculo.core.access import can, visible
from vinculo.core.exceptions import ErrorCollector, NotFound, PermissionDenied
from vinculo.core.models import User, Workspace
from vinculo.core.pagination import keyset_page
from vinculo.core.roles import Right

QUEUE_ORDER = ["-score", "id"]
# Typed values checked at once by the form's warning.
MAX_CHECKED_VALUES = 10
# The shortest word of an address worth a search-index lookup (see `_holding`).
MIN_SEARCH_WORD = 3


@dataclass(frozen=True)
class DuplicatePair:
    """An open pair with its two records (owner, account and tags loaded)."""

    candidate: DuplicateCandidate
    first: Any
    second: Any


@dataclass(frozen=True)
class PairPage:
    items: list[DuplicatePair]
    next_cursor: str | None


def _model(object_type: str) -> type[Contact] | type[Account]:
    object_module(object_type)
    return Contact if object_type == "contact" else Account


def _visible_live(workspace: Workspace, viewer: User | None, object_type: str) -> QuerySet[Any]:
    """Records the viewer may see that are not deleted, nor (people) erased."""
    model = _model(object_type)
    live = model.objects.for_workspace(workspace).filter(deleted_at__isnull=True)
    if model is Contact:
        live = live.filter(erased_at__isnull=True)
    return visible(live, workspace=workspace, viewer=viewer, module=object_module(object_type))


def _loaded(workspace: Workspace, viewer: User | None, object_type: str) -> QuerySet[Any]:
    base = _contacts_base if object_type == "contact" else _accounts_base
    return base(workspace=workspace, viewer=viewer).filter(deleted_at__isnull=True)


def _open_pairs(workspace: Workspace, viewer: User | None, object_type: str) -> QuerySet[Any]:
    records = _visible_live(workspace, viewer, object_type)
    # Correlated EXISTS rather than IN (subquery): walking the queue's index by score and
    # probing each record by primary key stops after a page, whatever the number of records.
    return (
        DuplicateCandidate.objects.for_workspace(workspace)
        .filter(object_type=object_type, status=DuplicateCandidate.Status.OPEN)
        .filter(Exists(records.filter(pk=OuterRef("first_id"))))
        .filter(Exists(records.filter(pk=OuterRef("second_id"))))
    )


def _with_records(
    workspace: Workspace, viewer: User | None, object_type: str, candidates: list[Any]
) -> list[DuplicatePair]:
    ids = {pk for c in candidates for pk in (c.first_id, c.second_id)}
    by_id = {r.pk: r for r in _loaded(workspace, viewer, object_type).filter(pk__in=sorted(ids))}
    return [
        DuplicatePair(c, by_id[c.first_id], by_id[c.second_id])
        for c in candidates
        if c.first_id in by_id and c.second_id in by_id
    ]


def duplicate_queue(
    *,
    workspace: Workspace,
    viewer: User | None,
    object_type: str,
    cursor: str | None = None,
    limit: int = 25,
) -> PairPage:
    """Open pairs of `object_type` the viewer may see both records of, likeliest first (keyset
    pages). Three queries: the pairs, their records (with owner and account), their tags."""
    page = keyset_page(
        _open_pairs(workspace, viewer, object_type), order=QUEUE_ORDER, after=cursor, limit=limit
    )
    return PairPage(
        items=_with_records(workspace, viewer, object_type, page.items),
        next_cursor=page.next_cursor,
    )


def duplicate_open_count(*, workspace: Workspace, viewer: User | None, object_type: str) -> int:
    return int(_open_pairs(workspace, viewer, object_type).count())


def duplicate_get(
    *, workspace: Workspace, viewer: User | None, candidate_id: int
) -> DuplicateCandidate:
    """An open pair whose two records are live and visible to the viewer; NotFound otherwise
    (also for other workspaces)."""
    pk = candidate_id if 0 < candidate_id <= MAX_ID else 0
    object_type = (
        DuplicateCandidate.objects.for_workspace(workspace)
        .filter(pk=pk)
        .values_list("object_type", flat=True)
        .first()
    )
    candidate = None
    if object_type in OBJECT_TYPES:
        candidate = _open_pairs(workspace, viewer, object_type).filter(pk=pk).first()
    if candidate is None:
        raise NotFound(_("There is no such pair to review."))
    return candidate


def pair_visible(
    *, workspace: Workspace, viewer: User | None, object_type: str, ids: tuple[int, int]
) -> bool:
    """Whether both records are live and the viewer may see them."""
    found = _visible_live(workspace, viewer, object_type).filter(pk__in=ids).count()
    return int(found) == len(set(ids))


def _require_view(workspace: Workspace, viewer: User | None, object_type: str) -> None:
    module = object_module(object_type)
    if viewer is not None and not can(
        workspace=workspace, user=viewer, module=module, right=Right.VIEW
    ):
        raise PermissionDenied(_("Your role does not show these records."))


def duplicate_scan_latest(
    *, workspace: Workspace, viewer: User | None, object_type: str
) -> DuplicateScan | None:
    """The workspace's latest scan of `object_type`, running or finished."""
    _require_view(workspace, viewer, object_type)
    return (
        DuplicateScan.objects.for_workspace(workspace)
        .filter(object_type=object_type)
        .order_by("-created_at", "-id")
        .first()
    )


def duplicate_scan_get(*, workspace: Workspace, viewer: User | None, scan_id: int) -> DuplicateScan:
    pk = scan_id if 0 < scan_id <= MAX_ID else 0
    scan = DuplicateScan.objects.for_workspace(workspace).filter(pk=pk).first()
    if scan is None:
        raise NotFound(_("There is no such scan."))
    _require_view(workspace, viewer, scan.object_type)
    return scan


# --- merge ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MergeSides:
    """The two records of a merge, as the viewer sees them, and how many related records of
    the other one would move (by relation label: interactions, tasks, …)."""

    object_type: str
    survivor: Any
    other: Any
    moving: dict[str, int]


def merge_sides(
    *,
    workspace: Workspace,
    viewer: User | None,
    object_type: str,
    survivor_id: int,
    other_id: int,
) -> MergeSides:
    """Both live records (owner, account, tags loaded) and the counts of what would move.
    NotFound when either is missing, deleted or hidden from the viewer, or they are one."""
    ids = [pk for pk in (survivor_id, other_id) if 0 < pk <= MAX_ID]
    records = {r.pk: r for r in _loaded(workspace, viewer, object_type).filter(pk__in=ids)}
    if survivor_id == other_id or len(records) != 2:
        raise NotFound(_("There is no such pair of records."))
    moving = {
        relation.label: int(relation.rows(workspace, other_id).count())
        for relation in merge_relations(object_type)
    }
    return MergeSides(object_type, records[survivor_id], records[other_id], moving)


# --- "already exists" --------------------------------------------------------------------------


@dataclass(frozen=True)
class ExistingRecord:
    """A live record that already holds a value typed into a form."""

    id: int
    name: str
    field: str  # "email" | "phone" | "domain"
    value: str


def _typed(values: Iterable[str], limit: int = MAX_CHECKED_VALUES) -> list[str]:
    return [v.strip() for v in values if isinstance(v, str) and v.strip()][:limit]


def contact_duplicate_check(
    *,
    workspace: Workspace,
    viewer: User | None,
    emails: Iterable[str] = (),
    phones: Iterable[str] = (),
    country: str = "",
    exclude_id: int | None = None,
    limit: int = 5,
) -> list[ExistingRecord]:
    """Live contacts the viewer may see that already have one of these emails or phones (any
    of theirs, not only the primary one), as typed into a form: the addresses compared
    lower-cased, the numbers read like the services read them (`country`, else the
    workspace's region). `exclude_id` leaves out the record being edited. At most `limit`."""
    _require_view(workspace, viewer, "contact")
    region = default_region(country=country.strip().upper()[:2], workspace=workspace)
    wanted_emails = [scoring.email_key(e) for e in _typed(emails) if "@" in e]
    wanted_phones = [
        p for p in (scoring.phone_key(raw, region) for raw in _typed(phones)) if len(p) > 5
    ]
    if not wanted_emails and not wanted_phones:
        return []
    base = _visible_live(workspace, viewer, "contact")
    if exclude_id is not None:
        base = base.exclude(pk=exclude_id)
    found: dict[int, ExistingRecord] = {}
    typed = [("emails", "email", e, e.partition("@")[0]) for e in wanted_emails]
    typed += [("phones", "phone", p, p.removeprefix("+")) for p in wanted_phones]
    for list_field, field, value, words in typed:
        rows = _holding(base, list_field, value, words).order_by("pk")
        for pk, first, last, their_emails in rows.values_list(
            "pk", "first_name", "last_name", "emails"
        )[:limit]:
            name = " ".join(p for p in (first, last) if p) or (their_emails or [""])[0]
            found.setdefault(pk, ExistingRecord(pk, name, field, value))
    return list(found.values())[:limit]


def _holding(base: QuerySet[Any], list_field: str, value: str, words: str) -> QuerySet[Any]:
    """The contacts of `base` whose list (emails or phones) holds `value`. The search index
    holds every address and number as words: it narrows the search to the few contacts with
    those words (the address's local part, the number's digits: the domain's words are in
    half the base, and would make the search slow), and the list itself confirms."""
    if max((len(t) for t in query_tokens(words)), default=0) < MIN_SEARCH_WORD:
        # A word this short ("a@…") is the start of a large share of all words: searching
        # for it costs as much as reading the table. The primary address has its own index.
        return base.filter(**{list_field.removesuffix("s"): value})
    narrowed = search_filter(base, words)
    if connections[base.db].vendor == "postgresql":
        return narrowed.filter(**{f"{list_field}__contains": [value]})
    # SQLite keeps the list as JSON text, each value quoted as json.dumps quotes it.
    text = f"_{list_field}_text"
    return narrowed.alias(**{text: Cast(list_field, TextField())}).filter(
        **{f"{text}__contains": json.dumps(value)}
    )


def account_duplicate_check(
    *,
    workspace: Workspace,
    viewer: User | None,
    domain: str = "",
    exclude_id: int | None = None,
    limit: int = 5,
) -> list[ExistingRecord]:
    """Live accounts the viewer may see with this domain (as the services store it: no
    scheme, no "www."). `exclude_id` leaves out the account being edited."""
    _require_view(workspace, viewer, "account")
    errors = ErrorCollector()
    wanted = _domain(errors, domain[:300]) if domain.strip() else ""
    if not wanted or errors.errors:
        return []
    base = _visible_live(workspace, viewer, "account").filter(domain=wanted)
    if exclude_id is not None:
        base = base.exclude(pk=exclude_id)
    return [
        ExistingRecord(pk, name, "domain", wanted)
        for pk, name in base.order_by("pk").values_list("pk", "name")[:limit]
    ]
