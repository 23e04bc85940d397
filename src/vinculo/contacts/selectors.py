"""Reads of customer records, with record access applied: the one way to list or fetch
contacts and accounts. Related rows (owner, account, tags) come with the list in a fixed number
of queries, never one per row."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from vinculo.contacts.models import (
    Account,
    AccountTag,
    CompanySize,
    Contact,
    ContactTag,
    LifecycleStage,
)
from vinculo.contacts.search import search_filter
from vinculo.contacts.services import active_tags
from vinculo.contacts.validation import COUNTRY_CODES, MAX_ID, workspace_zone
from vinculo.core.access import can, visible
from vinculo.core.custom_fields import filter_by_custom_fields, parse_custom_field_params
from vinculo.core.exceptions import ErrorCollector, FieldError, NotFound, ValidationFailed
from vinculo.core.models import CustomFieldObject, Membership, SavedView, User, Workspace
from vinculo.core.pagination import Page, decode_cursor, keyset_page

# Each sort is served by an index of the model (workspace first, then these columns).
SORTS: dict[str, list[str]] = {
    "name": ["sort_name", "id"],
    "-name": ["-sort_name", "-id"],
    "created_at": ["created_at", "id"],
    "-created_at": ["-created_at", "-id"],
    "updated_at": ["updated_at", "id"],
    "-updated_at": ["-updated_at", "-id"],
}
DEFAULT_SORT = "name"
# With `q` and no explicit sort, newest first by id. Not rank (PITFALLS.md), and not name: on
# SQLite the full-text matches come out in id order, so the first page of a common word ("ma",
# "gmail") is found without sorting the hundreds of thousands of rows it matches at a million
# contacts; that keeps search-as-you-type inside its budget.
SEARCH_SORT = "recent"
_ORDERS: dict[str, list[str]] = {**SORTS, SEARCH_SORT: ["-id"]}
_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no", ""}


@dataclass(frozen=True)
class RecordFilters:
    """Validated list filters; build with `contact_filters` / `account_filters`."""

    exact: dict[str, Any] = field(default_factory=dict)
    ranges: dict[str, dt.datetime] = field(default_factory=dict)
    owner_none: bool = False
    tag: str | None = None
    custom_fields: dict[str, tuple[str, Any]] = field(default_factory=dict)
    deleted: bool = False
    q: str = ""
    sort: str = DEFAULT_SORT

    @property
    def order(self) -> list[str]:
        return _ORDERS[self.sort]


def _params(params: Mapping[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (params or {}).items() if v is not None and v != ""}


def _moment(
    errors: ErrorCollector, name: str, raw: Any, *, end: bool, zone: dt.tzinfo
) -> dt.datetime | None:
    """An ISO datetime, or a date meaning its first (or, for `*_before`, last) instant in the
    workspace's time zone."""
    if isinstance(raw, dt.datetime):
        value: dt.datetime | None = raw
    else:
        text = str(raw).strip()
        try:
            # A bare date first: parse_datetime would read it as midnight, and then
            # `created_before=<day>` would leave that whole day out.
            day = parse_date(text)
            if day is not None:
                value = dt.datetime.combine(day, dt.time.max if end else dt.time.min)
            else:
                value = parse_datetime(text)
        except ValueError:
            value = None
    if value is None:
        errors.add(name, "invalid-date", _("Enter a date or an ISO date-time."))
        return None
    if timezone.is_naive(value):
        value = timezone.make_aware(value, zone)
    return value


def _int(errors: ErrorCollector, name: str, raw: Any) -> int | None:
    text = str(raw).strip()
    if not text.isdigit() or not 0 < int(text) <= MAX_ID:
        errors.add(name, "invalid-id", _("Enter a numeric id."))
        return None
    return int(text)


def _common_filters(
    errors: ErrorCollector,
    values: dict[str, Any],
    *,
    viewer: User | None,
    exact: dict[str, Any],
    zone: dt.tzinfo,
) -> tuple[dict[str, dt.datetime], bool, str | None, bool, str, str]:
    owner_none = False
    owner = values.get("owner")
    if owner is not None:
        text = str(owner).strip().lower()
        if text == "none":
            owner_none = True
        elif text == "me":
            exact["owner_id"] = viewer.pk if viewer is not None else -1
        elif (owner_id := _int(errors, "owner", owner)) is not None:
            exact["owner_id"] = owner_id
    for name in ("city", "state"):
        if name in values:
            exact[name] = str(values[name]).strip()
    if "country" in values:
        code = str(values["country"]).strip().upper()
        if code not in COUNTRY_CODES:
            errors.add("country", "invalid-country", _("Enter a two-letter country code."))
        exact["country"] = code
    ranges: dict[str, dt.datetime] = {}
    for name, lookup, end in (
        ("created_after", "created_at__gte", False),
        ("created_before", "created_at__lte", True),
        ("updated_after", "updated_at__gte", False),
        ("updated_before", "updated_at__lte", True),
    ):
        moment = _moment(errors, name, values[name], end=end, zone=zone) if name in values else None
        if moment is not None:
            ranges[lookup] = moment
    tag: str | None = None
    if "tag" in values:
        tag = str(values["tag"]).strip()
    deleted = False
    if "deleted" in values:
        text = str(values["deleted"]).strip().lower()
        if text not in _TRUE | _FALSE:
            errors.add("deleted", "invalid-boolean", _("Use true or false."))
        deleted = text in _TRUE
    q = str(values.get("q") or "")
    sort = str(values.get("sort") or (SEARCH_SORT if q.strip() else DEFAULT_SORT))
    if sort not in _ORDERS:
        errors.add(
            "sort",
            "invalid-sort",
            _("Sort by one of: %(options)s.") % {"options": ", ".join(SORTS)},
        )
        sort = DEFAULT_SORT
    return ranges, owner_none, tag, deleted, q, sort


def contact_filters(
    *,
    workspace: Workspace,
    viewer: User | None,
    params: Mapping[str, Any] | None = None,
    custom_field_params: Iterable[tuple[str, str]] = (),
) -> RecordFilters:
    """Parse list parameters (owner: id, "me" or "none"; lifecycle_stage; account; tag: id or
    name; source; city; state; country; created/updated_after/before; deleted; q; sort) and
    `cf.<key>` pairs. Raises ValidationFailed naming every bad parameter."""
    errors = ErrorCollector()
    values = _params(params)
    exact: dict[str, Any] = {}
    if "lifecycle_stage" in values:
        stage = str(values["lifecycle_stage"])
        if stage not in LifecycleStage.values:
            errors.add(
                "lifecycle_stage",
                "invalid-choice",
                _("Choose one of: %(options)s.") % {"options": ", ".join(LifecycleStage.values)},
            )
        exact["lifecycle_stage"] = stage
    if "account" in values and (account_id := _int(errors, "account", values["account"])):
        exact["account_id"] = account_id
    if "source" in values:
        exact["source"] = str(values["source"]).strip()
    ranges, owner_none, tag, deleted, q, sort = _common_filters(
        errors, values, viewer=viewer, exact=exact, zone=workspace_zone(workspace)
    )
    cf = parse_custom_field_params(
        custom_field_params,
        workspace=workspace,
        object_type=CustomFieldObject.CONTACT,
        errors=errors,
    )
    errors.raise_if_any()
    return RecordFilters(exact, ranges, owner_none, tag, cf, deleted, q, sort)


def account_filters(
    *,
    workspace: Workspace,
    viewer: User | None,
    params: Mapping[str, Any] | None = None,
    custom_field_params: Iterable[tuple[str, str]] = (),
) -> RecordFilters:
    """Parse account list parameters (owner, tag, industry, size, domain, city, state, country,
    created/updated ranges, deleted, q, sort) and `cf.<key>` pairs. Raises ValidationFailed
    naming every bad parameter."""
    errors = ErrorCollector()
    values = _params(params)
    exact: dict[str, Any] = {}
    for name in ("industry", "domain"):
        if name in values:
            exact[name] = str(values[name]).strip()
    if "domain" in exact:
        exact["domain"] = exact["domain"].lower()
    if "size" in values:
        if values["size"] not in CompanySize.values:
            errors.add(
                "size",
                "invalid-choice",
                _("Choose one of: %(options)s.") % {"options": ", ".join(CompanySize.values)},
            )
        exact["size"] = values["size"]
    ranges, owner_none, tag, deleted, q, sort = _common_filters(
        errors, values, viewer=viewer, exact=exact, zone=workspace_zone(workspace)
    )
    cf = parse_custom_field_params(
        custom_field_params,
        workspace=workspace,
        object_type=CustomFieldObject.ACCOUNT,
        errors=errors,
    )
    errors.raise_if_any()
    return RecordFilters(exact, ranges, owner_none, tag, cf, deleted, q, sort)


def _apply(
    qs: QuerySet[Any],
    filters: RecordFilters,
    *,
    workspace: Workspace,
    link_model: type[ContactTag] | type[AccountTag],
    link_field: str,
) -> QuerySet[Any]:
    qs = qs.filter(deleted_at__isnull=not filters.deleted)
    if filters.exact:
        qs = qs.filter(**filters.exact)
    if filters.ranges:
        qs = qs.filter(**filters.ranges)
    if filters.owner_none:
        qs = qs.filter(owner__isnull=True)
    if filters.tag is not None:
        # A subquery rather than a join: a join would repeat a row per matching link.
        # Digits may be an id or a name ("2024"); both are looked up.
        by_tag = Q(tag__name__iexact=filters.tag)
        if filters.tag.isdigit() and 0 < int(filters.tag) <= MAX_ID:
            by_tag |= Q(tag_id=int(filters.tag))
        links = link_model.objects.for_workspace(workspace).filter(
            by_tag, tag__deleted_at__isnull=True
        )
        qs = qs.filter(pk__in=links.values(link_field))
    qs = filter_by_custom_fields(qs, filters.custom_fields)
    return search_filter(qs, filters.q)


def _check_cursor(cursor: str | None, filters: RecordFilters) -> None:
    """A cursor carries the sort values of the last row; one made for another sort would
    compare a name with a date. Reject it here rather than fail in the database."""
    if not cursor:
        return
    values = decode_cursor(cursor, size=len(filters.order))
    *leading, pk = values
    if leading:
        expects_text = filters.sort.lstrip("-") == "name"
        first = leading[0]
        ok = isinstance(first, str) if expects_text else isinstance(first, dt.datetime)
    else:
        ok = True
    if not ok or isinstance(pk, bool) or not isinstance(pk, int):
        raise ValidationFailed(
            [FieldError("cursor", "invalid", _("The cursor is not valid for this list."))]
        )


# --- contacts -----------------------------------------------------------------------------------


def _contacts_base(*, workspace: Workspace, viewer: User | None) -> QuerySet[Contact]:
    qs = visible(
        Contact.objects.for_workspace(workspace),
        workspace=workspace,
        viewer=viewer,
        module="contacts",
    )
    return qs.select_related("owner", "account").prefetch_related(
        Prefetch("tags", queryset=active_tags(workspace))
    )


def contact_list(
    *,
    workspace: Workspace,
    viewer: User | None,
    filters: RecordFilters | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[Contact]:
    """One page of the contacts `viewer` may see, filtered and sorted (keyset pagination)."""
    filters = filters or RecordFilters()
    _check_cursor(cursor, filters)
    qs = _apply(
        _contacts_base(workspace=workspace, viewer=viewer),
        filters,
        workspace=workspace,
        link_model=ContactTag,
        link_field="contact",
    )
    return keyset_page(qs, order=filters.order, after=cursor, limit=limit)


def contact_get(*, workspace: Workspace, viewer: User | None, contact_id: int) -> Contact:
    """A live contact `viewer` may see; NotFound otherwise (also for other workspaces)."""
    contact = (
        _contacts_base(workspace=workspace, viewer=viewer)
        .filter(pk=contact_id, deleted_at__isnull=True)
        .first()
    )
    if contact is None:
        raise NotFound(_("There is no such contact."))
    return contact


# --- accounts -----------------------------------------------------------------------------------


def _accounts_base(*, workspace: Workspace, viewer: User | None) -> QuerySet[Account]:
    qs = visible(
        Account.objects.for_workspace(workspace),
        workspace=workspace,
        viewer=viewer,
        module="accounts",
    )
    return qs.select_related("owner").prefetch_related(
        Prefetch("tags", queryset=active_tags(workspace))
    )


def account_list(
    *,
    workspace: Workspace,
    viewer: User | None,
    filters: RecordFilters | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[Account]:
    """One page of the accounts `viewer` may see, filtered and sorted (keyset pagination)."""
    filters = filters or RecordFilters()
    _check_cursor(cursor, filters)
    qs = _apply(
        _accounts_base(workspace=workspace, viewer=viewer),
        filters,
        workspace=workspace,
        link_model=AccountTag,
        link_field="account",
    )
    return keyset_page(qs, order=filters.order, after=cursor, limit=limit)


def account_get(*, workspace: Workspace, viewer: User | None, account_id: int) -> Account:
    """A live account `viewer` may see; NotFound otherwise (also for other workspaces)."""
    account = (
        _accounts_base(workspace=workspace, viewer=viewer)
        .filter(pk=account_id, deleted_at__isnull=True)
        .first()
    )
    if account is None:
        raise NotFound(_("There is no such account."))
    return account


# --- search suggestions -------------------------------------------------------------------------


@dataclass(frozen=True)
class ContactSuggestion:
    """The few columns a search dropdown shows for a contact."""

    id: int
    first_name: str
    last_name: str
    email: str
    phone: str
    company: str

    @property
    def display_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p) or self.email


@dataclass(frozen=True)
class AccountSuggestion:
    """The few columns a search dropdown shows for an account."""

    id: int
    name: str
    domain: str
    city: str


def contact_search_suggestions(
    *, workspace: Workspace, viewer: User | None, q: str, limit: int = 5
) -> list[ContactSuggestion]:
    """Up to `limit` live contacts `viewer` may see that match `q` (the list's search), newest
    first like the list's search (the order that stays fast on common words), in one query and
    without the related rows a list page loads. A blank `q` finds nothing rather than
    everything."""
    if not q.strip():
        return []
    qs = visible(
        Contact.objects.for_workspace(workspace).filter(deleted_at__isnull=True),
        workspace=workspace,
        viewer=viewer,
        module="contacts",
    )
    rows = (
        search_filter(qs, q)
        .order_by(*_ORDERS[SEARCH_SORT])
        .values_list("id", "first_name", "last_name", "email", "phone", "account__name")
    )
    return [
        ContactSuggestion(pk, first, last, email, phone, company or "")
        for pk, first, last, email, phone, company in rows[: max(1, limit)]
    ]


def account_search_suggestions(
    *, workspace: Workspace, viewer: User | None, q: str, limit: int = 5
) -> list[AccountSuggestion]:
    """Up to `limit` live accounts `viewer` may see that match `q`, newest first, in one query.
    A blank `q` finds nothing."""
    if not q.strip():
        return []
    qs = visible(
        Account.objects.for_workspace(workspace).filter(deleted_at__isnull=True),
        workspace=workspace,
        viewer=viewer,
        module="accounts",
    )
    rows = (
        search_filter(qs, q)
        .order_by(*_ORDERS[SEARCH_SORT])
        .values_list("id", "name", "domain", "city")
    )
    return [AccountSuggestion(*row) for row in rows[: max(1, limit)]]


# --- pages: record pages, exports, pickers, saved views -----------------------------------------


def contact_get_with_deleted(
    *, workspace: Workspace, viewer: User | None, contact_id: int
) -> Contact:
    """A contact `viewer` may see, soft-deleted or not (`deleted_at` says which): its page
    shows a deleted one with a Restore banner. NotFound otherwise (also other workspaces)."""
    pk = contact_id if 0 < contact_id <= MAX_ID else 0
    contact = _contacts_base(workspace=workspace, viewer=viewer).filter(pk=pk).first()
    if contact is None:
        raise NotFound(_("There is no such contact."))
    return contact


def account_get_with_deleted(
    *, workspace: Workspace, viewer: User | None, account_id: int
) -> Account:
    """An account `viewer` may see, soft-deleted or not. NotFound otherwise."""
    pk = account_id if 0 < account_id <= MAX_ID else 0
    account = _accounts_base(workspace=workspace, viewer=viewer).filter(pk=pk).first()
    if account is None:
        raise NotFound(_("There is no such account."))
    return account


def _only_ids(filters: RecordFilters, ids: Iterable[int] | None) -> RecordFilters:
    if ids is None:
        return filters
    wanted = sorted({i for i in ids if 0 < i <= MAX_ID})
    return replace(filters, exact={**filters.exact, "pk__in": wanted})


def contacts_export_query(
    *,
    workspace: Workspace,
    viewer: User | None,
    filters: RecordFilters | None = None,
    ids: Iterable[int] | None = None,
) -> QuerySet[Contact]:
    """The contacts of the list `filters` describe (narrowed to `ids`), as a queryset without
    related rows or order: for exports that stream plain values (`values_list`) a million rows
    at a time, where loading a model object per row would cost more than the whole budget."""
    qs = visible(
        Contact.objects.for_workspace(workspace),
        workspace=workspace,
        viewer=viewer,
        module="contacts",
    )
    filters = _only_ids(filters or RecordFilters(), ids)
    return _apply(qs, filters, workspace=workspace, link_model=ContactTag, link_field="contact")


def accounts_export_query(
    *,
    workspace: Workspace,
    viewer: User | None,
    filters: RecordFilters | None = None,
    ids: Iterable[int] | None = None,
) -> QuerySet[Account]:
    """Like `contacts_export_query`, for accounts."""
    qs = visible(
        Account.objects.for_workspace(workspace),
        workspace=workspace,
        viewer=viewer,
        module="accounts",
    )
    filters = _only_ids(filters or RecordFilters(), ids)
    return _apply(qs, filters, workspace=workspace, link_model=AccountTag, link_field="account")


def owner_choices(*, workspace: Workspace, viewer: User | None) -> list[User]:
    """The active members a record can be given to, by name: what owner pickers and the
    owner filter offer. One query; nothing for a viewer who sees neither contacts nor
    accounts."""
    if viewer is not None and not (
        can(workspace=workspace, user=viewer, module="contacts", right="view")
        or can(workspace=workspace, user=viewer, module="accounts", right="view")
    ):
        return []
    members = Membership.objects.for_workspace(workspace).filter(
        is_active=True, user__is_active=True
    )
    users = [m.user for m in members.select_related("user")]
    return sorted(users, key=lambda u: (u.display_name.casefold(), u.pk))


def _saved_views(*, workspace: Workspace, viewer: User, object_type: str) -> QuerySet[SavedView]:
    module = {"contact": "contacts", "account": "accounts"}.get(object_type)
    qs = SavedView.objects.for_workspace(workspace).filter(object_type=object_type)
    if module is None or not can(workspace=workspace, user=viewer, module=module, right="view"):
        return qs.none()
    return qs.filter(Q(owner=viewer) | Q(shared=True))


def savedview_list(*, workspace: Workspace, viewer: User, object_type: str) -> list[SavedView]:
    """The views of one list (`contact` or `account`) the viewer may open: their own and the
    shared ones, by name, with their owners. One query."""
    qs = _saved_views(workspace=workspace, viewer=viewer, object_type=object_type)
    views = list(qs.select_related("owner"))
    return sorted(views, key=lambda v: (v.name.casefold(), v.pk))


def savedview_get(
    *, workspace: Workspace, viewer: User, object_type: str, view_id: int
) -> SavedView:
    """One view of that list the viewer may open (their own or shared); NotFound otherwise."""
    pk = view_id if 0 < view_id <= MAX_ID else 0
    qs = _saved_views(workspace=workspace, viewer=viewer, object_type=object_type)
    view = qs.select_related("owner").filter(pk=pk).first()
    if view is None:
        raise NotFound(_("There is no such view."))
    return view
