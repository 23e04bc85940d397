"""Reads of leads, with record access applied: the list (filters, sorts, keyset pages), one
lead, the duplicate warning, what a conversion would match, and the few lists the pages
offer in their pickers. Related rows (owner, team) come with the list in the same query."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from email_validator import EmailNotValidError

from vinculo.contacts.models import Contact
from vinculo.contacts.search import search_filter
from vinculo.contacts.validation import COUNTRY_CODES, MAX_ID, normalize_email
from vinculo.core.access import can, visible
from vinculo.core.custom_fields import filter_by_custom_fields, parse_custom_field_params
from vinculo.core.exceptions import ErrorCollector, FieldError, NotFound, ValidationFailed
from vinculo.core.models import Membership, Team, User, Workspace
from vinculo.core.pagination import Page, decode_cursor, keyset_page
from vinculo.sales.leads.validation import LEAD_OBJECT
from vinculo.sales.models import Lead, LeadStatus, Pipeline

MODULE = "leads"
OPEN_STATUSES = (LeadStatus.NEW, LeadStatus.WORKING, LeadStatus.QUALIFIED)
# "open" is the statuses a person still works on; the others are the lead's own statuses.
STATUS_FILTERS = ("open", *LeadStatus.values)

# Each sort is served by an index of Lead.Meta (workspace first, then these columns).
SORTS: dict[str, list[str]] = {
    "-created_at": ["-created_at", "-id"],
    "created_at": ["created_at", "id"],
    "name": ["sort_name", "id"],
    "-name": ["-sort_name", "-id"],
    "-score": ["-score", "-id"],
    "score": ["score", "id"],
    "-predicted_score": ["-predicted_score", "-id"],
    "predicted_score": ["predicted_score", "id"],
}
DEFAULT_SORT = "-created_at"
# Leads the model has not scored yet have no predicted chance: they come after the scored
# ones, newest first, in a second phase of the pages (keyset order cannot hold NULLs).
PREDICTED_SORTS = frozenset({"-predicted_score", "predicted_score"})
UNSCORED_ORDER = ["-id"]
_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no", ""}


@dataclass(frozen=True)
class LeadFilters:
    """Validated list filters; build with `lead_filters`."""

    exact: dict[str, Any] = field(default_factory=dict)
    statuses: tuple[str, ...] = ()
    owner_none: bool = False
    team_none: bool = False
    score_min: int | None = None
    custom_fields: dict[str, tuple[str, Any]] = field(default_factory=dict)
    deleted: bool = False
    q: str = ""
    sort: str = DEFAULT_SORT

    @property
    def order(self) -> list[str]:
        return SORTS[self.sort]


def _int(errors: ErrorCollector, name: str, raw: Any, *, message: str) -> int | None:
    text = str(raw).strip()
    if not text.lstrip("-").isdigit() or len(text) > 18:
        errors.add(name, "invalid", message)
        return None
    return int(text)


def lead_filters(
    *,
    workspace: Workspace,
    viewer: User | None,
    params: Mapping[str, Any] | None = None,
    custom_field_params: Iterable[tuple[str, str]] = (),
) -> LeadFilters:
    """Parse list parameters: status (a status or "open"), owner (id, "me" or "none"), team
    (id or "none"), source, utm_campaign, score_min, country, deleted, q, sort, and
    `cf.<key>` pairs. Raises ValidationFailed naming every bad parameter."""
    errors = ErrorCollector()
    values = {k: v for k, v in (params or {}).items() if v is not None and v != ""}
    exact: dict[str, Any] = {}
    statuses: tuple[str, ...] = ()
    if "status" in values:
        status = str(values["status"]).strip()
        if status == "open":
            statuses = tuple(OPEN_STATUSES)
        elif status in LeadStatus.values:
            statuses = (status,)
        else:
            errors.add(
                "status",
                "invalid-choice",
                _("Choose one of: %(options)s.") % {"options": ", ".join(STATUS_FILTERS)},
            )
    owner_none = False
    if "owner" in values:
        text = str(values["owner"]).strip().lower()
        if text == "none":
            owner_none = True
        elif text == "me":
            exact["owner_id"] = viewer.pk if viewer is not None else -1
        else:
            owner = _int(errors, "owner", text, message=_("Enter a numeric id."))
            if owner is not None:
                exact["owner_id"] = owner
    team_none = False
    if "team" in values:
        text = str(values["team"]).strip().lower()
        if text == "none":
            team_none = True
        else:
            team = _int(errors, "team", text, message=_("Enter a numeric id."))
            if team is not None:
                exact["team_id"] = team
    for name in ("source", "utm_campaign"):
        if name in values:
            exact[name] = str(values[name]).strip()
    if "country" in values:
        code = str(values["country"]).strip().upper()
        if code not in COUNTRY_CODES:
            errors.add("country", "invalid-country", _("Enter a two-letter country code."))
        exact["country"] = code
    score_min = None
    if "score_min" in values:
        score_min = _int(errors, "score_min", values["score_min"], message=_("Enter a number."))
    deleted = False
    if "deleted" in values:
        text = str(values["deleted"]).strip().lower()
        if text not in _TRUE | _FALSE:
            errors.add("deleted", "invalid-boolean", _("Use true or false."))
        deleted = text in _TRUE
    q = " ".join(str(values.get("q") or "").split())[:200]
    sort = str(values.get("sort") or DEFAULT_SORT)
    if sort not in SORTS:
        errors.add(
            "sort",
            "invalid-choice",
            _("Choose one of: %(options)s.") % {"options": ", ".join(SORTS)},
        )
        sort = DEFAULT_SORT
    custom = parse_custom_field_params(
        custom_field_params, workspace=workspace, object_type=LEAD_OBJECT, errors=errors
    )
    errors.raise_if_any()
    return LeadFilters(
        exact=exact,
        statuses=statuses,
        owner_none=owner_none,
        team_none=team_none,
        score_min=score_min,
        custom_fields=custom,
        deleted=deleted,
        q=q,
        sort=sort,
    )


def _visible_leads(*, workspace: Workspace, viewer: User | None) -> QuerySet[Lead]:
    return visible(
        Lead.objects.for_workspace(workspace), workspace=workspace, viewer=viewer, module=MODULE
    )


def _apply(qs: QuerySet[Lead], filters: LeadFilters) -> QuerySet[Lead]:
    qs = qs.filter(deleted_at__isnull=not filters.deleted)
    if filters.exact:
        qs = qs.filter(**filters.exact)
    if len(filters.statuses) == 1:
        qs = qs.filter(status=filters.statuses[0])
    elif filters.statuses:
        qs = qs.filter(status__in=filters.statuses)
    if filters.owner_none:
        qs = qs.filter(owner__isnull=True)
    if filters.team_none:
        qs = qs.filter(team__isnull=True)
    if filters.score_min is not None:
        qs = qs.filter(score__gte=filters.score_min)
    qs = filter_by_custom_fields(qs, filters.custom_fields)
    return _search(qs, filters.q)


# An address shared by more leads than this is searched like any words.
EMAIL_MATCHES_MAX = 500


def _search(qs: QuerySet[Lead], q: str) -> QuerySet[Lead]:
    """Every word of `q` in the lead's names, email, phone or company (a scan of the search
    documents: leads have no full-text index of their own). An address typed whole, what
    people paste, is looked up by the email index first: its few ids are read on their own,
    because next to the list's order the planner would rather walk the whole order index."""
    if not q:
        return qs
    if "@" in q and " " not in q:
        try:
            address = normalize_email(q)
        except EmailNotValidError:
            address = ""  # not an address after all: search its words
        if address:
            ids = list(
                qs.filter(email=address)
                .order_by()
                .values_list("pk", flat=True)[: EMAIL_MATCHES_MAX + 1]
            )
            if len(ids) <= EMAIL_MATCHES_MAX:
                return qs.filter(pk__in=ids)
            return qs.filter(email=address)
    return search_filter(qs, q)


def _invalid_cursor() -> ValidationFailed:
    return ValidationFailed(
        [FieldError("cursor", "invalid", _("The cursor is not valid for this list."))]
    )


def _check_cursor(cursor: str, order: list[str]) -> None:
    """A cursor made for another sort would compare a name with a date: refuse it here."""
    values = decode_cursor(cursor, size=len(order))
    *leading, pk = values
    if isinstance(pk, bool) or not isinstance(pk, int):
        raise _invalid_cursor()
    if leading:
        first, column = leading[0], order[0].lstrip("-")
        if column == "sort_name":
            ok = isinstance(first, str)
        elif column == "created_at":
            ok = isinstance(first, dt.datetime)
        else:
            ok = isinstance(first, int) and not isinstance(first, bool)
        if not ok:
            raise _invalid_cursor()


def _list_base(*, workspace: Workspace, viewer: User | None) -> QuerySet[Lead]:
    return _visible_leads(workspace=workspace, viewer=viewer).select_related("owner", "team")


def lead_list(
    *,
    workspace: Workspace,
    viewer: User | None,
    filters: LeadFilters | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[Lead]:
    """One page of the leads `viewer` may see, filtered and sorted (keyset pagination; with a
    predicted-score sort, the scored leads first, then the unscored ones newest first)."""
    filters = filters or LeadFilters()
    qs = _apply(_list_base(workspace=workspace, viewer=viewer), filters)
    if filters.sort not in PREDICTED_SORTS:
        if cursor:
            _check_cursor(cursor, filters.order)
        return keyset_page(qs, order=filters.order, after=cursor, limit=limit)
    phase, inner = "s", None
    if cursor:
        phase, sep, inner_text = cursor.partition(".")
        if phase not in ("s", "u") or not sep:
            raise _invalid_cursor()
        inner = inner_text or None
        if inner:
            _check_cursor(inner, filters.order if phase == "s" else UNSCORED_ORDER)
    scored = qs.filter(predicted_score__isnull=False)
    unscored = qs.filter(predicted_score__isnull=True)
    if phase == "u":
        page = keyset_page(unscored, order=UNSCORED_ORDER, after=inner, limit=limit)
        return Page(page.items, f"u.{page.next_cursor}" if page.next_cursor else None)
    page = keyset_page(scored, order=filters.order, after=inner, limit=limit)
    if page.next_cursor:
        return Page(page.items, f"s.{page.next_cursor}")
    rest = keyset_page(unscored, order=UNSCORED_ORDER, limit=max(1, limit - len(page.items)))
    if len(page.items) >= limit:
        return Page(page.items, "u." if rest.items else None)
    items = page.items + rest.items
    return Page(items, f"u.{rest.next_cursor}" if rest.next_cursor else None)


def lead_get(
    *, workspace: Workspace, viewer: User | None, lead_id: int, with_deleted: bool = False
) -> Lead:
    """A lead `viewer` may see (live, or also soft-deleted with `with_deleted`: its page shows
    a Restore banner); NotFound otherwise, also for other workspaces."""
    pk = lead_id if isinstance(lead_id, int) and 0 < lead_id <= MAX_ID else 0
    qs = _list_base(workspace=workspace, viewer=viewer).select_related(
        "converted_contact", "converted_account", "converted_deal"
    )
    if not with_deleted:
        qs = qs.filter(deleted_at__isnull=True)
    lead = qs.filter(pk=pk).first()
    if lead is None:
        raise NotFound(_("There is no such lead."))
    return lead


def leads_export_query(
    *, workspace: Workspace, viewer: User | None, filters: LeadFilters | None = None
) -> QuerySet[Lead]:
    """The leads of the list `filters` describe, unordered and without related rows."""
    return _apply(_visible_leads(workspace=workspace, viewer=viewer), filters or LeadFilters())


# --- duplicates and conversion ------------------------------------------------------------------


@dataclass(frozen=True)
class DuplicateMatch:
    """A record that already has the email typed for a new lead."""

    kind: str  # "lead" or "contact"
    id: int
    name: str
    status: str = ""


def lead_duplicates(
    *,
    workspace: Workspace,
    viewer: User | None,
    email: str,
    exclude_id: int | None = None,
    limit: int = 5,
) -> list[DuplicateMatch]:
    """Open leads and live contacts the viewer may see that already have `email` (compared
    as the services store it): the warning of the new-lead form and the API's create answer.
    Saving stays allowed. Two queries at most, each on an email index."""
    try:
        address = normalize_email(email.strip()) if email and email.strip() else ""
    except EmailNotValidError:
        return []
    if not address:
        return []
    found: list[DuplicateMatch] = []
    leads = _visible_leads(workspace=workspace, viewer=viewer).filter(
        email=address, deleted_at__isnull=True, status__in=OPEN_STATUSES
    )
    if exclude_id is not None:
        leads = leads.exclude(pk=exclude_id)
    for lead in leads.order_by("pk")[:limit]:
        found.append(DuplicateMatch("lead", lead.pk, lead.display_name, lead.status))
    if viewer is None or can(workspace=workspace, user=viewer, module="contacts", right="view"):
        contacts = visible(
            Contact.objects.for_workspace(workspace).filter(
                email=address, deleted_at__isnull=True, erased_at__isnull=True
            ),
            workspace=workspace,
            viewer=viewer,
            module="contacts",
        )
        for contact in contacts.order_by("pk")[:limit]:
            found.append(DuplicateMatch("contact", contact.pk, contact.display_name))
    return found[:limit]


# --- search suggestions and pickers -------------------------------------------------------------


@dataclass(frozen=True)
class LeadSuggestion:
    id: int
    name: str
    email: str
    company: str
    status: str


def lead_search_suggestions(
    *, workspace: Workspace, viewer: User | None, q: str, limit: int = 5
) -> list[LeadSuggestion]:
    """Up to `limit` live leads `viewer` may see that match `q`, newest first, in one query
    (the global search box). A blank `q` finds nothing."""
    if not q.strip():
        return []
    qs = _search(
        _visible_leads(workspace=workspace, viewer=viewer).filter(deleted_at__isnull=True),
        " ".join(q.split())[:200],
    )
    rows = qs.order_by("-created_at", "-id").values_list(
        "id", "first_name", "last_name", "email", "company_name", "status"
    )[: max(1, limit)]
    return [
        LeadSuggestion(
            pk,
            " ".join(p for p in (first, last) if p) or email or company or f"#{pk}",
            email,
            company,
            status,
        )
        for pk, first, last, email, company, status in rows
    ]


def team_choices(*, workspace: Workspace) -> list[Team]:
    """The workspace's teams by name, for the filter and assignment pickers."""
    teams = list(Team.objects.for_workspace(workspace))
    return sorted(teams, key=lambda t: (t.name.casefold(), t.pk))


def owner_choices(*, workspace: Workspace, viewer: User | None) -> list[User]:
    """The active members a lead can be given to, by name (nothing for a viewer without
    sight of leads). One query."""
    if viewer is not None and not can(
        workspace=workspace, user=viewer, module=MODULE, right="view"
    ):
        return []
    members = Membership.objects.for_workspace(workspace).filter(
        is_active=True, user__is_active=True
    )
    users = [m.user for m in members.select_related("user")]
    return sorted(users, key=lambda u: (u.display_name.casefold(), u.pk))


def pipeline_choices(*, workspace: Workspace) -> list[Pipeline]:
    """The live pipelines a converted lead's deal may start in, default first."""
    return list(
        Pipeline.objects.for_workspace(workspace)
        .filter(deleted_at__isnull=True)
        .order_by("-is_default", "position", "pk")
    )


def source_choices(*, workspace: Workspace, limit: int = 50) -> list[str]:
    """Sources used by the workspace's leads, in order (the filter's suggestions). One query
    that hops from one value to the next along the source index, so it reads a few index
    entries per source instead of every lead (a plain DISTINCT scans them all)."""
    table = connection.ops.quote_name(Lead._meta.db_table)
    # Only the table name, from the model, is interpolated; values go as parameters.
    sql = f"""
        WITH RECURSIVE sources(value) AS (
            SELECT MIN(source) FROM {table} WHERE workspace_id = %s AND source > ''
            UNION ALL
            SELECT (SELECT MIN(source) FROM {table} WHERE workspace_id = %s AND source > value)
            FROM sources WHERE value IS NOT NULL
        )
        SELECT value FROM sources WHERE value IS NOT NULL LIMIT %s
    """  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [workspace.pk, workspace.pk, limit])
        return [row[0] for row in cursor.fetchall()]
