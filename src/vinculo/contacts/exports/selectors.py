"""Reads of exports: what a list export holds (its plan: filters, columns, ids), how many rows,
the rows themselves streamed in chunks, and the export jobs a person may see.

The rows of a million-contact export are read as plain tuples (`values_list`) in keyset chunks:
no model object per row, owner names from a small cache, tag names with one grouped query per
chunk. Each chunk is its own short query, so a long export never holds a read transaction open
(on SQLite that would also hold back the progress updates written between chunks).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils.translation import gettext as _

from vinculo.contacts import selectors as record_selectors
from vinculo.contacts.forms import (
    ACCOUNT_COLUMNS,
    ACCOUNT_DEFAULT_COLUMNS,
    CONTACT_COLUMNS,
    CONTACT_DEFAULT_COLUMNS,
    Column,
    custom_columns,
)
from vinculo.contacts.models import AccountTag, ContactTag, ExportFormat, ExportJob, JobStatus
from vinculo.contacts.selectors import RecordFilters
from vinculo.contacts.validation import MAX_ID
from vinculo.core.access import can, require
from vinculo.core.custom_fields import CF_PARAM_PREFIX
from vinculo.core.exceptions import (
    ApplicationError,
    Conflict,
    ErrorCollector,
    FieldError,
    NotFound,
    ValidationFailed,
)
from vinculo.core.models import CustomFieldDefinition, Tag, User, Workspace
from vinculo.core.pagination import Page, keyset_page
from vinculo.core.roles import Right
from vinculo.core.selectors import customfield_list

# Rows read per query. Larger chunks mean fewer queries and fewer tag look-ups; this size keeps
# a chunk's tuples well under a few megabytes.
EXPORT_CHUNK = 5000
# An XLSX sheet holds 1,048,576 rows, the header among them.
XLSX_MAX_ROWS = 1_048_575
EXPORT_RETENTION_DAYS = 7
MAX_COLUMNS = 60
MAX_IDS = 10_000

# The list filters each kind of record understands (the list API's parameters), besides
# `cf.<key>` for custom fields.
_COMMON_FILTERS = frozenset(
    {
        "q",
        "owner",
        "tag",
        "city",
        "state",
        "country",
        "created_after",
        "created_before",
        "updated_after",
        "updated_before",
        "deleted",
        "sort",
    }
)

# Database fields each column reads. `name` of a contact needs the parts display_name joins;
# owner and tags are resolved per chunk (see `_Resolver`); custom columns read the JSON.
_CONTACT_FIELDS: dict[str, tuple[str, ...]] = {
    "name": ("first_name", "last_name", "email"),
    "email": ("email",),
    "phone": ("phone",),
    "account": ("account__name",),
    "job_title": ("job_title",),
    "lifecycle_stage": ("lifecycle_stage",),
    "owner": ("owner_id",),
    "tags": (),
    "source": ("source",),
    "city": ("city",),
    "state": ("state",),
    "country": ("country",),
    "created_at": ("created_at",),
    "updated_at": ("updated_at",),
    "last_activity_at": ("last_activity_at",),
}
_ACCOUNT_FIELDS: dict[str, tuple[str, ...]] = {
    "name": ("name",),
    "domain": ("domain",),
    "industry": ("industry",),
    "size": ("size",),
    "phone": ("phone",),
    "website": ("website",),
    "owner": ("owner_id",),
    "tags": (),
    "city": ("city",),
    "state": ("state",),
    "country": ("country",),
    "created_at": ("created_at",),
    "updated_at": ("updated_at",),
    "last_activity_at": ("last_activity_at",),
}
# Values the selector adds after the database's own: the owner's name and the tag names.
OWNER_NAME = "@owner"
TAG_NAMES = "@tags"


@dataclass(frozen=True)
class ExportKind:
    """What differs between exporting contacts and exporting accounts."""

    object_type: str
    module: str
    label: Any
    columns: tuple[Column, ...]
    default_columns: tuple[str, ...]
    fields: Mapping[str, tuple[str, ...]]
    filter_names: frozenset[str]
    parse_filters: Callable[..., RecordFilters]
    query: Callable[..., QuerySet[Any]]
    link_model: type[ContactTag] | type[AccountTag]
    link_field: str


def _kinds() -> dict[str, ExportKind]:
    from django.utils.translation import gettext_lazy

    return {
        "contact": ExportKind(
            object_type="contact",
            module="contacts",
            label=gettext_lazy("Contacts"),
            columns=CONTACT_COLUMNS,
            default_columns=CONTACT_DEFAULT_COLUMNS,
            fields=_CONTACT_FIELDS,
            filter_names=_COMMON_FILTERS | {"lifecycle_stage", "account", "source"},
            parse_filters=record_selectors.contact_filters,
            query=record_selectors.contacts_export_query,
            link_model=ContactTag,
            link_field="contact_id",
        ),
        "account": ExportKind(
            object_type="account",
            module="accounts",
            label=gettext_lazy("Accounts"),
            columns=ACCOUNT_COLUMNS,
            default_columns=ACCOUNT_DEFAULT_COLUMNS,
            fields=_ACCOUNT_FIELDS,
            filter_names=_COMMON_FILTERS | {"industry", "size", "domain"},
            parse_filters=record_selectors.account_filters,
            query=record_selectors.accounts_export_query,
            link_model=AccountTag,
            link_field="account_id",
        ),
    }


KINDS = _kinds()
# The CLI and the API also accept the plural ("contacts"), as people say it.
_OBJECT_ALIASES = {"contacts": "contact", "accounts": "account"}


@dataclass(frozen=True)
class ExportPlan:
    """A validated export: which records (filters, or the chosen ids), which columns, which
    format, and the tuple layout the rows come in."""

    kind: ExportKind
    file_format: str
    filters: RecordFilters
    columns: tuple[Column, ...]
    ids: tuple[int, ...] | None
    params: dict[str, str]
    fields: tuple[str, ...] = ()
    order: tuple[str, ...] = ()
    extra: tuple[str, ...] = ()

    @property
    def object_type(self) -> str:
        return self.kind.object_type

    @property
    def layout(self) -> dict[str, int]:
        """Position of every value in a row tuple, by field name."""
        return {name: i for i, name in enumerate((*self.fields, *self.extra))}


def export_kind(object_type: str) -> ExportKind | None:
    name = str(object_type or "").strip().lower()
    return KINDS.get(_OBJECT_ALIASES.get(name, name))


def _definitions(workspace: Workspace, viewer: User | None, object_type: str) -> list[Any]:
    return list(
        customfield_list(
            workspace=workspace, viewer=viewer, object_type=object_type, limit=200
        ).items
    )


def _columns(
    errors: ErrorCollector,
    kind: ExportKind,
    keys: Iterable[str],
    definitions: list[CustomFieldDefinition],
) -> tuple[Column, ...]:
    """The columns named by `keys`, the name first as on the list; the list's default columns
    when none are named. Unknown keys are errors naming them."""
    catalogue = {c.key: c for c in (*kind.columns, *custom_columns(definitions))}
    wanted = [str(k).strip() for k in keys if str(k).strip()] or list(kind.default_columns)
    if len(wanted) > MAX_COLUMNS:
        errors.add(
            "columns",
            "too-many",
            _("Choose at most %(max)d columns.") % {"max": MAX_COLUMNS},
        )
        return ()
    unknown = [k for k in wanted if k not in catalogue]
    if unknown:
        errors.add(
            "columns",
            "unknown-column",
            _("Unknown columns: %(names)s. Choose among: %(options)s.")
            % {"names": ", ".join(unknown), "options": ", ".join(catalogue)},
        )
    return tuple(catalogue[k] for k in dict.fromkeys(["name", *wanted]) if k in catalogue)


def _valid_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


def _prefixed(exc: ValidationFailed, prefix: str) -> list[FieldError]:
    return [FieldError(f"{prefix}{e.field}", e.code, e.message) for e in exc.errors]


def _chosen_ids(errors: ErrorCollector, ids: Iterable[int] | None) -> tuple[int, ...] | None:
    if ids is None:
        return None
    raw = list(ids)
    if len(raw) > MAX_IDS:
        errors.add("ids", "too-many", _("Choose at most %(max)d records.") % {"max": MAX_IDS})
    elif not all(_valid_id(i) for i in raw):
        errors.add("ids", "invalid-id", _("Every id must be a positive whole number."))
    else:
        return tuple(dict.fromkeys(raw))
    return None


def _record_filters(
    errors: ErrorCollector,
    kind: ExportKind,
    params: dict[str, str],
    *,
    workspace: Workspace,
    viewer: User | None,
    strict: bool,
) -> RecordFilters:
    plain = {k: v for k, v in params.items() if not k.startswith(CF_PARAM_PREFIX)}
    custom = [(k, v) for k, v in params.items() if k.startswith(CF_PARAM_PREFIX)]
    unknown = [name for name in plain if name not in kind.filter_names]
    if strict:
        for name in unknown:
            errors.add(
                f"filters.{name}",
                "unknown-filter",
                _("Unknown filter. Use one of: %(options)s, or cf.<key>.")
                % {"options": ", ".join(sorted(kind.filter_names))},
            )
    known = {k: v for k, v in plain.items() if k not in unknown}
    try:
        return kind.parse_filters(
            workspace=workspace, viewer=viewer, params=known, custom_field_params=custom
        )
    except ValidationFailed as exc:
        errors.errors.extend(_prefixed(exc, "filters."))
        return RecordFilters()


def export_plan(
    *,
    workspace: Workspace,
    viewer: User | None,
    object_type: str,
    file_format: str = ExportFormat.CSV,
    params: Mapping[str, Any] | None = None,
    columns: Iterable[str] = (),
    ids: Iterable[int] | None = None,
    strict: bool = True,
) -> ExportPlan:
    """Validate what to export: the kind of record (`contact` or `account`), the format, the
    list filters (`params`: the list API's parameters, `sort` and `cf.<key>` included), the
    columns (keys of the list's columns; the list's default ones when empty) and, optionally,
    the chosen ids. Raises PermissionDenied without the right to view those records and
    ValidationFailed naming every bad field (`object_type`, `format`, `filters.<name>`,
    `columns`, `ids`). With `strict`, an unknown filter is an error; otherwise it is ignored,
    as the list page ignores it."""
    errors = ErrorCollector()
    kind = export_kind(object_type)
    if kind is None:
        errors.add(
            "object_type",
            "invalid-choice",
            _("Choose one of: %(options)s.") % {"options": ", ".join(KINDS)},
        )
    fmt = str(file_format or "").strip().lower()
    if fmt not in ExportFormat.values:
        errors.add(
            "format",
            "invalid-choice",
            _("Choose one of: %(options)s.") % {"options": ", ".join(ExportFormat.values)},
        )
    wanted_ids = _chosen_ids(errors, ids)
    if kind is None:
        raise ValidationFailed(errors.errors)
    require(workspace=workspace, user=viewer, module=kind.module, right=Right.VIEW)
    text_params = {str(k): str(v) for k, v in (params or {}).items() if v is not None}
    filters = _record_filters(
        errors, kind, text_params, workspace=workspace, viewer=viewer, strict=strict
    )
    chosen = _columns(errors, kind, columns, _definitions(workspace, viewer, kind.object_type))
    errors.raise_if_any()
    order = tuple(filters.order)
    fields, extra = _layout(kind, chosen, order)
    return ExportPlan(
        kind=kind,
        file_format=fmt,
        filters=filters,
        columns=chosen,
        ids=wanted_ids,
        params=text_params,
        fields=fields,
        order=order,
        extra=extra,
    )


def _layout(
    kind: ExportKind, chosen: tuple[Column, ...], order: tuple[str, ...]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The database fields a row is read with (the id first, the sort's last, for the next
    chunk's start) and the values added to them (owner's name, tag names)."""
    needed: list[str] = ["id"]
    for column in chosen:
        needed.extend(
            ("custom_fields",) if column.definition is not None else kind.fields[column.key]
        )
    needed.extend(term.lstrip("-") for term in order)
    keys = {c.key for c in chosen}
    extra = tuple(name for key, name in (("owner", OWNER_NAME), ("tags", TAG_NAMES)) if key in keys)
    return tuple(dict.fromkeys(needed)), extra


def _queryset(workspace: Workspace, viewer: User | None, plan: ExportPlan) -> QuerySet[Any]:
    return plan.kind.query(workspace=workspace, viewer=viewer, filters=plan.filters, ids=plan.ids)


def export_count(*, workspace: Workspace, viewer: User | None, plan: ExportPlan) -> int:
    """How many rows the export holds (one query)."""
    return _queryset(workspace, viewer, plan).count()


def _after(order: tuple[str, ...], values: list[Any]) -> Q:
    """Rows after `values` in `order`. The leading bound (`a >= x`) lets both databases seek
    the sort index to the chunk's start; the full comparison then settles ties."""
    first = order[0]
    bound = Q(**{f"{first.lstrip('-')}__{'lte' if first.startswith('-') else 'gte'}": values[0]})
    condition = Q()
    for i, term in enumerate(order):
        step = Q(**{f"{term.lstrip('-')}__{'lt' if term.startswith('-') else 'gt'}": values[i]})
        for j in range(i):
            step &= Q(**{order[j].lstrip("-"): values[j]})
        condition |= step
    return bound & condition


@dataclass
class _Resolver:
    """Names of owners (cached for the whole export: a workspace has few) and live tags
    (one grouped query per chunk)."""

    workspace: Workspace
    plan: ExportPlan
    owners: dict[int | None, str] = field(default_factory=lambda: {None: ""})
    tag_names: dict[int, str] | None = None

    def owner_names(self, owner_ids: set[Any]) -> dict[int | None, str]:
        missing = [i for i in owner_ids if i not in self.owners]
        if missing:
            for pk, full_name, email in User.objects.filter(pk__in=missing).values_list(
                "pk", "full_name", "email"
            ):
                self.owners[pk] = full_name or email.split("@")[0]
            for pk in missing:
                self.owners.setdefault(pk, "")
        return self.owners

    def tags_of(self, record_ids: list[int]) -> dict[int, list[str]]:
        if self.tag_names is None:
            self.tag_names = dict(
                Tag.objects.for_workspace(self.workspace)
                .filter(deleted_at__isnull=True)
                .values_list("id", "name")
            )
        names = self.tag_names
        link_field = self.plan.kind.link_field
        found: dict[int, list[str]] = {}
        links = (
            self.plan.kind.link_model.objects.for_workspace(self.workspace)
            .filter(**{f"{link_field}__in": _id_set(record_ids)})
            .values_list(link_field, "tag_id")
        )
        for record_id, tag_id in links:
            name = names.get(tag_id)
            if name is not None:
                found.setdefault(record_id, []).append(name)
        for tags in found.values():
            tags.sort(key=str.casefold)
        return found


def _id_set(ids: list[int]) -> Any:
    """`ids` for an `__in` lookup. Django prepares a list's every element on its own, about
    8 µs each: 8 s of a million-row export's tag look-ups. One JSON or array parameter costs
    nothing of that."""
    vendor = connection.vendor
    if vendor == "sqlite":
        return RawSQL("SELECT value FROM json_each(%s)", (json.dumps(ids),))
    if vendor == "postgresql":
        return RawSQL("SELECT unnest(%s::bigint[])", (ids,))
    return ids


def export_chunks(
    *,
    workspace: Workspace,
    viewer: User | None,
    plan: ExportPlan,
    chunk_size: int = EXPORT_CHUNK,
) -> Iterator[list[tuple[Any, ...]]]:
    """The export's rows in the list's order, `chunk_size` at a time, as tuples laid out as
    `plan.layout` says (the owner's name and the tag names, when those columns are chosen,
    come last). Only records `viewer` may see; None is the system and sees all."""
    with _sqlite_mmap():
        yield from _chunks(workspace, viewer, plan, chunk_size)


def _chunks(
    workspace: Workspace, viewer: User | None, plan: ExportPlan, chunk_size: int
) -> Iterator[list[tuple[Any, ...]]]:
    qs = _queryset(workspace, viewer, plan).order_by(*plan.order)
    layout = plan.layout
    order_at = [layout[term.lstrip("-")] for term in plan.order]
    owner_at = layout.get("owner_id")
    resolver = _Resolver(workspace, plan)
    last: list[Any] | None = None
    while True:
        page = qs if last is None else qs.filter(_after(plan.order, last))
        rows = list(page.values_list(*plan.fields)[:chunk_size])
        if not rows:
            return
        if plan.extra:
            rows = _with_extras(rows, plan, resolver, owner_at)
        yield rows
        if len(rows) < chunk_size:
            return
        last = [rows[-1][i] for i in order_at]


# Reading a million rows in the order of an index visits the table's pages all over the file;
# memory-mapped, SQLite reads them without a system call each (a quarter less time).
SQLITE_MMAP_BYTES = 2**31 - 2**16


@contextmanager
def _sqlite_mmap() -> Iterator[None]:
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA mmap_size")
        row = cursor.fetchone()
        before = int(row[0]) if row else 0
        cursor.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES:d}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA mmap_size={before:d}")


def _with_extras(
    rows: list[tuple[Any, ...]], plan: ExportPlan, resolver: _Resolver, owner_at: int | None
) -> list[tuple[Any, ...]]:
    owners = resolver.owner_names({r[owner_at] for r in rows}) if owner_at is not None else {}
    tags = resolver.tags_of([r[0] for r in rows]) if TAG_NAMES in plan.extra else {}
    none: list[str] = []
    if plan.extra == (OWNER_NAME, TAG_NAMES):
        assert owner_at is not None
        return [(*r, owners[r[owner_at]], tags.get(r[0], none)) for r in rows]
    if plan.extra == (OWNER_NAME,):
        assert owner_at is not None
        return [(*r, owners[r[owner_at]]) for r in rows]
    return [(*r, tags.get(r[0], none)) for r in rows]


# --- export jobs -------------------------------------------------------------------------------


def _is_admin(workspace: Workspace, viewer: User) -> bool:
    # Only admins hold the settings edit right: they may fetch anyone's export (support work).
    return can(workspace=workspace, user=viewer, module="settings", right=Right.EDIT)


def export_list(
    *, workspace: Workspace, viewer: User, cursor: str | None = None, limit: int = 50
) -> Page[ExportJob]:
    """The viewer's own exports, newest first (keyset pages)."""
    qs = ExportJob.objects.for_workspace(workspace).filter(created_by=viewer)
    return keyset_page(qs, order=["-created_at", "-id"], after=cursor, limit=limit)


def export_get(*, workspace: Workspace, viewer: User | None, export_id: int) -> ExportJob:
    """An export its maker (or an admin of the workspace) may see, while they may still view
    that kind of record; NotFound otherwise, also for other workspaces' exports."""
    pk = export_id if 0 < export_id <= MAX_ID else 0
    job = (
        ExportJob.objects.for_workspace(workspace)
        .select_related("created_by")
        .filter(pk=pk)
        .first()
    )
    if job is None or viewer is None:
        raise NotFound(_("There is no such export."))
    kind = export_kind(job.object_type)
    allowed = (job.created_by_id == viewer.pk or _is_admin(workspace, viewer)) and (
        kind is not None
        and can(workspace=workspace, user=viewer, module=kind.module, right=Right.VIEW)
    )
    if not allowed:
        raise NotFound(_("There is no such export."))
    return job


class ExportNotReady(Conflict):
    code = "export-not-ready"
    title = "The export's file is not ready yet"


class ExportExpired(ApplicationError):
    code = "export-expired"
    status = 410
    title = "The export's file was deleted"


def export_file(*, workspace: Workspace, viewer: User | None, export_id: int) -> ExportJob:
    """An export (see `export_get`) whose file can be downloaded now. Raises ExportNotReady
    while it is being written (or failed) and ExportExpired once its file was deleted."""
    job = export_get(workspace=workspace, viewer=viewer, export_id=export_id)
    if job.status == JobStatus.DONE and job.file:
        return job
    if job.status == JobStatus.DONE:
        raise ExportExpired(
            _("Export files are kept for %(days)d days; export the list again.")
            % {"days": EXPORT_RETENTION_DAYS}
        )
    if job.status == JobStatus.FAILED:
        raise ExportNotReady(_("The export failed: %(reason)s") % {"reason": job.error})
    raise ExportNotReady(_("The file is still being written; try again in a moment."))


def export_expires_at(job: ExportJob) -> dt.datetime | None:
    """When the file of a finished export is deleted."""
    if job.finished_at is None:
        return None
    return job.finished_at + dt.timedelta(days=EXPORT_RETENTION_DAYS)


def export_file_size(job: ExportJob) -> int | None:
    """The size of the export's file in bytes, None when there is none (not done, expired)."""
    if not job.file:
        return None
    try:
        return int(job.file.size)
    except (OSError, FileNotFoundError):
        return None
