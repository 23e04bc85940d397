"""Pages of contacts and accounts: the lists (filters, columns, saved views, bulk actions,
export) and the record pages (facts edited in place, tags, related records, the timeline).

Views parse the request, call a service or a selector and render. The two lists and the two
record pages work the same way; a `RecordPages` value holds what differs (forms, columns,
selectors, services and words), so each view is written once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseRedirect,
    JsonResponse,
    QueryDict,
)
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from vinculo.contacts import selectors, services
from vinculo.contacts.exports.selectors import export_plan
from vinculo.contacts.forms import (
    ACCOUNT_COLUMNS,
    ACCOUNT_DEFAULT_COLUMNS,
    ACCOUNT_FACTS,
    CONTACT_COLUMNS,
    CONTACT_DEFAULT_COLUMNS,
    CONTACT_FACTS,
    STAGE_COLORS,
    AccountFilterForm,
    AccountForm,
    Column,
    ContactFilterForm,
    ContactForm,
    FilterForm,
    RecordForm,
    SavedViewForm,
    cell_text,
    custom_columns,
    initials,
    record_facts,
    stage_label,
)
from vinculo.contacts.models import Account, Contact
from vinculo.core.access import can
from vinculo.core.custom_fields import CF_PARAM_PREFIX
from vinculo.core.exceptions import NotFound, PermissionDenied, ValidationFailed
from vinculo.core.models import CustomFieldDefinition, SavedView, User, Workspace
from vinculo.core.pages import domain_errors
from vinculo.core.pages import page_context as _context
from vinculo.core.pagination import Page
from vinculo.core.roles import Right
from vinculo.core.selectors import customfield_list, tag_list

PAGE_SIZE = 50
RELATED_PAGE_SIZE = 10
SUGGESTIONS = 8
# Query parameters that are not filters.
NOT_FILTERS = frozenset({"sort", "cursor", "view", "part"})
MAX_ID = 2**63 - 1


@dataclass(frozen=True)
class RecordPages:
    """What differs between the contacts pages and the accounts pages."""

    object_type: str
    module: str
    columns: tuple[Column, ...]
    default_columns: tuple[str, ...]
    facts: tuple[str, ...]
    filter_form: type[FilterForm]
    record_form: type[RecordForm]
    parse_filters: Callable[..., Any]
    list_records: Callable[..., Page[Any]]
    get_record: Callable[..., Any]
    id_arg: str
    ids_arg: str
    create: Callable[..., Any]
    update: Callable[..., Any]
    delete: Callable[..., Any]
    restore: Callable[..., Any]
    tag_add: Callable[..., Any]
    tag_remove: Callable[..., Any]
    bulk_tag: Callable[..., list[int]]
    bulk_assign: Callable[..., list[int]]
    bulk_delete: Callable[..., list[int]]
    bulk_restore: Callable[..., list[int]]
    urls: dict[str, str]
    words: dict[str, Any] = field(default_factory=dict)

    def url(self, name: str, *args: Any) -> str:
        return reverse(self.urls[name], args=args or None)


CONTACTS = RecordPages(
    object_type="contact",
    module="contacts",
    columns=CONTACT_COLUMNS,
    default_columns=CONTACT_DEFAULT_COLUMNS,
    facts=CONTACT_FACTS,
    filter_form=ContactFilterForm,
    record_form=ContactForm,
    parse_filters=selectors.contact_filters,
    list_records=selectors.contact_list,
    get_record=selectors.contact_get_with_deleted,
    id_arg="contact_id",
    ids_arg="contact_ids",
    create=services.contact_create,
    update=services.contact_update,
    delete=services.contact_delete,
    restore=services.contact_restore,
    tag_add=services.contact_tag_add,
    tag_remove=services.contact_tag_remove,
    bulk_tag=services.contacts_bulk_tag,
    bulk_assign=services.contacts_bulk_assign,
    bulk_delete=services.contacts_bulk_delete,
    bulk_restore=services.contacts_bulk_restore,
    urls={
        "list": "contacts:list",
        "new": "contacts:new",
        "detail": "contacts:detail",
        "edit": "contacts:edit",
        "field": "contacts:field",
        "tags": "contacts:tags",
        "delete": "contacts:delete",
        "restore": "contacts:restore",
        "bulk": "contacts:bulk",
        "bulk_restore": "contacts:bulk_restore",
        "export": "contacts:export",
        "columns": "contacts:columns",
        "view_save": "contacts:view_save",
        "view_update": "contacts:view_update",
        "view_delete": "contacts:view_delete",
        # Not there yet: the empty list links to it once it exists.
        "import": "contacts:import",
    },
    words={
        "title": gettext_lazy("Contacts"),
        "search": gettext_lazy("Search by name, email, phone or company"),
        "new": gettext_lazy("New contact"),
        "create": gettext_lazy("Create contact"),
        "first": gettext_lazy("Create your first contact"),
        "first_help": gettext_lazy(
            "Contacts are the people you sell to and serve. Add one to start their timeline."
        ),
        "no_match": gettext_lazy("No contact matches these filters"),
        "edit": gettext_lazy("Edit contact"),
        "delete_confirm": gettext_lazy("Delete this contact? You can restore it for 30 days."),
        "bulk_delete_confirm": gettext_lazy(
            "Delete the selected contacts? You can restore them for 30 days."
        ),
        "deleted": gettext_lazy("This contact was deleted on %(date)s."),
        "filename": "contacts",
        "kind": gettext_lazy("Contact"),
    },
)

ACCOUNTS = RecordPages(
    object_type="account",
    module="accounts",
    columns=ACCOUNT_COLUMNS,
    default_columns=ACCOUNT_DEFAULT_COLUMNS,
    facts=ACCOUNT_FACTS,
    filter_form=AccountFilterForm,
    record_form=AccountForm,
    parse_filters=selectors.account_filters,
    list_records=selectors.account_list,
    get_record=selectors.account_get_with_deleted,
    id_arg="account_id",
    ids_arg="account_ids",
    create=services.account_create,
    update=services.account_update,
    delete=services.account_delete,
    restore=services.account_restore,
    tag_add=services.account_tag_add,
    tag_remove=services.account_tag_remove,
    bulk_tag=services.accounts_bulk_tag,
    bulk_assign=services.accounts_bulk_assign,
    bulk_delete=services.accounts_bulk_delete,
    bulk_restore=services.accounts_bulk_restore,
    urls={
        "list": "contacts:accounts",
        "new": "contacts:account_new",
        "detail": "contacts:account_detail",
        "edit": "contacts:account_edit",
        "field": "contacts:account_field",
        "tags": "contacts:account_tags",
        "delete": "contacts:account_delete",
        "restore": "contacts:account_restore",
        "bulk": "contacts:account_bulk",
        "bulk_restore": "contacts:account_bulk_restore",
        "export": "contacts:account_export",
        "columns": "contacts:account_columns",
        "view_save": "contacts:account_view_save",
        "view_update": "contacts:account_view_update",
        "view_delete": "contacts:account_view_delete",
        "import": "contacts:account_import",
    },
    words={
        "title": gettext_lazy("Accounts"),
        "search": gettext_lazy("Search by name, domain or phone"),
        "new": gettext_lazy("New account"),
        "create": gettext_lazy("Create account"),
        "first": gettext_lazy("Create your first account"),
        "first_help": gettext_lazy(
            "Accounts are the companies you work with; their people are your contacts."
        ),
        "no_match": gettext_lazy("No account matches these filters"),
        "edit": gettext_lazy("Edit account"),
        "delete_confirm": gettext_lazy("Delete this account? You can restore it for 30 days."),
        "bulk_delete_confirm": gettext_lazy(
            "Delete the selected accounts? You can restore them for 30 days."
        ),
        "deleted": gettext_lazy("This account was deleted on %(date)s."),
        "filename": "accounts",
        "kind": gettext_lazy("Account"),
    },
)


# ---------------------------------------------------------------------------------------------
# Plumbing


def _htmx(request: HttpRequest) -> Any:
    return getattr(request, "htmx", None)


def _partial(request: HttpRequest) -> str:
    """Which part of the page an htmx request wants ("" for the whole page). A history
    restore after a cache miss wants the whole page."""
    htmx = _htmx(request)
    if not htmx or htmx.history_restore_request:
        return ""
    return str(htmx.target or "")


def _rights(workspace: Workspace, user: User, pages: RecordPages) -> dict[str, bool]:
    return {
        f"can_{right}": can(workspace=workspace, user=user, module=pages.module, right=right)
        for right in (Right.VIEW, Right.CREATE, Right.EDIT, Right.DELETE)
    }


def _require_view(workspace: Workspace, user: User, pages: RecordPages) -> None:
    if not can(workspace=workspace, user=user, module=pages.module, right=Right.VIEW):
        raise DjangoPermissionDenied("no view right")


def _definitions(workspace: Workspace, user: User, object_type: str) -> list[CustomFieldDefinition]:
    return customfield_list(
        workspace=workspace, viewer=user, object_type=object_type, limit=200
    ).items


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def _ids(values: Iterable[str]) -> list[int]:
    return [int(v) for v in values if v.isdigit() and 0 < len(v) < 19]


def _id(value: str | None) -> int | None:
    ids = _ids([value or ""])
    return ids[0] if ids else None


def _triggered(response: HttpResponse, *events: str) -> HttpResponse:
    response["HX-Trigger"] = json.dumps(dict.fromkeys(events, True))
    return response


# ---------------------------------------------------------------------------------------------
# The state of a list: filters, sort, page and saved view, all in the URL


@dataclass
class ListState:
    params: dict[str, str]
    sort: str = ""
    cursor: str = ""
    view_id: int | None = None
    had_blank: bool = False

    @classmethod
    def parse(cls, query: QueryDict | dict[str, Any]) -> ListState:
        params: dict[str, str] = {}
        had_blank = False
        items = query.lists() if isinstance(query, QueryDict) else query.items()
        for name, raw in items:
            values = raw if isinstance(raw, list) else [raw]
            value = next((str(v).strip() for v in reversed(values) if str(v).strip()), "")
            if not value:
                had_blank = True
                continue
            params[name] = value
        state = cls(params={k: v for k, v in params.items() if k not in NOT_FILTERS})
        state.sort = params.get("sort", "")
        state.cursor = params.get("cursor", "")
        state.view_id = _id(params.get("view"))
        state.had_blank = had_blank
        return state

    @property
    def plain(self) -> dict[str, str]:
        return {k: v for k, v in self.params.items() if not k.startswith(CF_PARAM_PREFIX)}

    @property
    def custom(self) -> list[tuple[str, str]]:
        return [(k, v) for k, v in self.params.items() if k.startswith(CF_PARAM_PREFIX)]

    def saved_query(self) -> dict[str, str]:
        """What a saved view keeps: the filters and the sort."""
        return {**self.params, **({"sort": self.sort} if self.sort else {})}

    def query(
        self,
        *,
        without: str = "",
        sort: str | None = None,
        cursor: str = "",
        view: bool = True,
    ) -> str:
        pairs = [(k, v) for k, v in self.params.items() if k != without]
        chosen_sort = self.sort if sort is None else sort
        if chosen_sort:
            pairs.append(("sort", chosen_sort))
        if view and self.view_id:
            pairs.append(("view", str(self.view_id)))
        if cursor:
            pairs.append(("cursor", cursor))
        return urlencode(pairs)


def _with_query(url: str, query: str) -> str:
    return f"{url}?{query}" if query else url


def _columns_key(pages: RecordPages, view: SavedView | None) -> str:
    return f"vinculo.columns.{pages.object_type}.{view.pk if view else 0}"


def _columns(
    request: HttpRequest,
    pages: RecordPages,
    view: SavedView | None,
    definitions: list[CustomFieldDefinition],
) -> tuple[list[Column], list[Column]]:
    """The columns shown (the person's choice for this view in the session, else the
    view's, else the default) and every column that can be chosen."""
    catalogue = [*pages.columns, *custom_columns(definitions)]
    by_key = {c.key: c for c in catalogue}
    keys = (
        request.session.get(_columns_key(pages, view))
        or (view.columns if view is not None else None)
        or pages.default_columns
    )
    chosen = [by_key[k] for k in dict.fromkeys(["name", *keys]) if k in by_key]
    return chosen, catalogue


@dataclass(frozen=True)
class Cell:
    column: Column
    text: str
    color: str = ""


@dataclass(frozen=True)
class Row:
    record: Contact | Account
    name: str
    cells: list[Cell]
    url: str
    account_url: str = ""


def _url_maker(name: str) -> Callable[[int], str]:
    """The URL of a record from its id, without one URL reversal per row: a list page draws
    a hundred links."""
    prefix, _sep, suffix = reverse(name, args=[1]).rpartition("1")
    return lambda pk: f"{prefix}{pk}{suffix}"


def _table(rows: list[Any], columns: list[Column], currency: str, pages: RecordPages) -> list[Row]:
    record_url = _url_maker(pages.urls["detail"])
    account_url = _url_maker("contacts:account_detail")
    table = []
    for record in rows:
        cells = []
        for column in columns:
            color = ""
            if column.kind == "stage":
                color = STAGE_COLORS.get(record.lifecycle_stage, "gray")
            cells.append(Cell(column, cell_text(record, column, currency=currency), color))
        name = record.display_name if isinstance(record, Contact) else record.name
        linked = getattr(record, "account_id", None)
        table.append(
            Row(record, name, cells, record_url(record.pk), account_url(linked) if linked else "")
        )
    return table


def _headers(state: ListState, columns: list[Column], list_url: str) -> list[dict[str, Any]]:
    """Each column's header: the URL a sortable one leads to and its aria-sort."""
    current = state.sort or "name"
    headers = []
    for column in columns:
        header: dict[str, Any] = {"column": column, "url": "", "aria": ""}
        if column.sort:
            if current == column.sort:
                target, header["aria"] = f"-{column.sort}", "ascending"
            elif current == f"-{column.sort}":
                target, header["aria"] = column.sort, "descending"
            else:
                # Dates read best newest first; names from A.
                target = column.sort if column.sort == "name" else f"-{column.sort}"
            header["url"] = _with_query(list_url, state.query(sort=target))
        headers.append(header)
    return headers


@login_required
@require_GET
@domain_errors
def record_list(request: HttpRequest, pages: RecordPages) -> HttpResponse:
    """A list of contacts or accounts: filters, sort, columns and saved views in the URL,
    keyset pages ("load more" appends rows), bulk actions on the selected rows."""
    workspace, user = _context(request)
    _require_view(workspace, user, pages)
    list_url = pages.url("list")
    state = ListState.parse(request.GET)
    part = _partial(request)
    view = None
    if state.view_id is not None:
        try:
            view = selectors.savedview_get(
                workspace=workspace,
                viewer=user,
                object_type=pages.object_type,
                view_id=state.view_id,
            )
        except NotFound:
            messages.error(request, _("That view no longer exists."))
            return HttpResponseRedirect(_with_query(list_url, state.query(view=False)))
        if not state.params and not state.sort and view.query:
            # Opening a view puts its filters in the URL, so the address is what is shown.
            opened = ListState.parse(view.query)
            opened.view_id = view.pk
            return HttpResponseRedirect(_with_query(list_url, opened.query()))
    if state.had_blank and not _htmx(request):
        return HttpResponseRedirect(_with_query(list_url, state.query(cursor=state.cursor)))
    definitions = _definitions(workspace, user, pages.object_type)
    columns, catalogue = _columns(request, pages, view, definitions)
    errors: ValidationFailed | None = None
    try:
        filters = pages.parse_filters(
            workspace=workspace,
            viewer=user,
            params=state.plain | ({"sort": state.sort} if state.sort else {}),
            custom_field_params=state.custom,
        )
        page = pages.list_records(
            workspace=workspace,
            viewer=user,
            filters=filters,
            cursor=state.cursor or None,
            limit=PAGE_SIZE,
        )
    except ValidationFailed as exc:
        errors = exc
        page = Page(items=[], next_cursor=None)
    current_url = _with_query(list_url, state.query(cursor=state.cursor))
    next_url = (
        _with_query(list_url, state.query(cursor=page.next_cursor)) if page.next_cursor else ""
    )
    context: dict[str, Any] = {
        "pages": pages,
        "words": pages.words,
        "page": page,
        "rows": page.items,
        "columns": columns,
        "state": state,
        "list_url": list_url,
        "current_url": current_url,
        "next_url": next_url,
        "currency": workspace.currency,
        "table": _table(page.items, columns, workspace.currency, pages),
        "bulk": True,
        "colspan": len(columns) + 1,
        **_rights(workspace, user, pages),
    }
    if part == "more-row":
        return render(request, "contacts/list.html#rows", context)
    form = pages.filter_form(
        state.params,
        workspace=workspace,
        viewer=user,
        definitions=definitions,
        tag_names=_tag_names(workspace, user),
        account_label=_account_label(workspace, user, state.params.get("account")),
    )
    if errors is not None:
        form.is_valid()
        form.add_filter_errors(errors)
    saved_views = selectors.savedview_list(
        workspace=workspace, viewer=user, object_type=pages.object_type
    )
    context |= {
        "form": form,
        "chips": [
            (chip, _with_query(list_url, state.query(without=chip.param))) for chip in form.chips()
        ],
        "clear_url": _with_query(
            list_url, ListState(params={}, sort=state.sort, view_id=state.view_id).query()
        ),
        "filtered": bool(state.params),
        "catalogue": catalogue,
        "chosen_keys": {c.key for c in columns},
        "headers": _headers(state, columns, list_url),
        "saved_views": saved_views,
        "view": view,
        "view_modified": view is not None and view.query != state.saved_query(),
        "can_change_view": view is not None
        and (
            view.owner_id == user.pk
            or can(workspace=workspace, user=user, module="settings", right=Right.EDIT)
        ),
        "saved_query": urlencode(list(state.saved_query().items())),
        "export_url": _with_query(pages.url("export"), state.query()),
        "first_url": _with_query(list_url, state.query()) if state.cursor else "",
        "view_form": SavedViewForm(auto_id="view-%s"),
        "owners": form.owners,
        "tag_options": form.tag_names,
        "import_url": _optional_url(pages.urls["import"]),
    }
    templates = {"results": "#results", "list-region": "#region"}
    template = "contacts/list.html" + templates.get(part, "")
    response = render(request, template, context, status=422 if errors else 200)
    if _htmx(request) and part in templates:
        response["HX-Push-Url"] = current_url
    return response


def _optional_url(name: str) -> str:
    try:
        return reverse(name)
    except NoReverseMatch:
        return ""


def _tag_names(workspace: Workspace, user: User) -> list[str]:
    try:
        return [t.name for t in tag_list(workspace=workspace, viewer=user, limit=200).items]
    except PermissionDenied:
        return []


def _account_label(workspace: Workspace, user: User, raw: str | None) -> str:
    account_id = _id(raw)
    if account_id is None:
        return ""
    try:
        return str(
            selectors.account_get_with_deleted(
                workspace=workspace, viewer=user, account_id=account_id
            ).name
        )
    except NotFound:
        return ""


# ---------------------------------------------------------------------------------------------
# Columns and saved views


@login_required
@require_POST
@domain_errors
def list_columns(request: HttpRequest, pages: RecordPages) -> HttpResponse:
    """Keep the chosen columns: in the saved view being shown when it is the person's own,
    else in their session for this view (or the plain list)."""
    workspace, user = _context(request)
    keys = [k for k in request.POST.getlist("columns") if 0 < len(k) <= 70][:40]
    view_id = _id(request.POST.get("view"))
    fallback = pages.url("list")
    view = None
    if view_id is not None:
        view = selectors.savedview_get(
            workspace=workspace, viewer=user, object_type=pages.object_type, view_id=view_id
        )
    if view is not None and view.owner_id == user.pk:
        services.savedview_update(workspace=workspace, actor=user, view_id=view.pk, columns=keys)
        request.session.pop(_columns_key(pages, view), None)
    else:
        request.session[_columns_key(pages, view)] = keys
    return HttpResponseRedirect(_safe_next(request, fallback))


def _posted_query(request: HttpRequest) -> dict[str, str]:
    pairs = parse_qsl(request.POST.get("query", ""), keep_blank_values=False)
    return {k: v for k, v in pairs if k not in NOT_FILTERS or k == "sort"}


@login_required
@require_POST
@domain_errors
def view_save(request: HttpRequest, pages: RecordPages) -> HttpResponse:
    """Save the filters, sort and columns being shown as a new view."""
    workspace, user = _context(request)
    form = SavedViewForm(request.POST)
    list_url = pages.url("list")
    query = _posted_query(request)
    if not form.is_valid():
        messages.error(request, _("Give the view a name."))
        return HttpResponseRedirect(_with_query(list_url, urlencode(list(query.items()))))
    try:
        view = services.savedview_create(
            workspace=workspace,
            actor=user,
            object_type=pages.object_type,
            name=form.cleaned_data["name"],
            shared=form.cleaned_data["shared"],
            query=query,
            columns=request.POST.getlist("columns"),
        )
    except ValidationFailed as exc:
        for error in exc.errors:
            messages.error(request, error.message)
        return HttpResponseRedirect(_with_query(list_url, urlencode(list(query.items()))))
    messages.success(request, _("View “%(name)s” saved.") % {"name": view.name})
    return HttpResponseRedirect(
        _with_query(list_url, urlencode([*query.items(), ("view", view.pk)]))
    )


@login_required
@require_POST
@domain_errors
def view_update(request: HttpRequest, pages: RecordPages, view_id: int) -> HttpResponse:
    """Put the filters and sort being shown into the view."""
    workspace, user = _context(request)
    query = _posted_query(request)
    view = services.savedview_update(workspace=workspace, actor=user, view_id=view_id, query=query)
    messages.success(request, _("View “%(name)s” updated.") % {"name": view.name})
    return HttpResponseRedirect(
        _with_query(pages.url("list"), urlencode([*query.items(), ("view", view.pk)]))
    )


@login_required
@require_POST
@domain_errors
def view_delete(request: HttpRequest, pages: RecordPages, view_id: int) -> HttpResponse:
    workspace, user = _context(request)
    services.savedview_delete(workspace=workspace, actor=user, view_id=view_id)
    messages.success(request, _("View deleted."))
    return HttpResponseRedirect(pages.url("list"))


# ---------------------------------------------------------------------------------------------
# Bulk actions


def _bulk_message(pages: RecordPages, action: str, count: int) -> str:
    if pages.object_type == "contact":
        texts = {
            "tag": ngettext("%(count)d contact tagged.", "%(count)d contacts tagged.", count),
            "assign": ngettext(
                "%(count)d contact assigned.", "%(count)d contacts assigned.", count
            ),
            "delete": ngettext("%(count)d contact deleted.", "%(count)d contacts deleted.", count),
            "restore": ngettext(
                "%(count)d contact restored.", "%(count)d contacts restored.", count
            ),
        }
    else:
        texts = {
            "tag": ngettext("%(count)d account tagged.", "%(count)d accounts tagged.", count),
            "assign": ngettext(
                "%(count)d account assigned.", "%(count)d accounts assigned.", count
            ),
            "delete": ngettext("%(count)d account deleted.", "%(count)d accounts deleted.", count),
            "restore": ngettext(
                "%(count)d account restored.", "%(count)d accounts restored.", count
            ),
        }
    return texts[action] % {"count": count}


def _bulk_answer(
    request: HttpRequest,
    pages: RecordPages,
    *,
    message: str,
    error: bool = False,
    undo_ids: list[int] | None = None,
) -> HttpResponse:
    if not _htmx(request):
        (messages.error if error else messages.success)(request, message)
        return HttpResponseRedirect(_safe_next(request, pages.url("list")))
    context = {"pages": pages, "message": message, "error": error, "undo_ids": undo_ids or []}
    response = render(request, "contacts/list.html#notice", context, status=422 if error else 200)
    return response if error else _triggered(response, "records-changed")


@login_required
@require_POST
@domain_errors
def bulk(request: HttpRequest, pages: RecordPages) -> HttpResponse:
    """Tag, assign or delete the selected records (`ids`); answers a notice (with an undo
    after a delete) and tells the list to refresh itself."""
    workspace, user = _context(request)
    action = request.POST.get("action", "")
    ids = _ids(request.POST.getlist("ids"))
    if not ids:
        return _bulk_answer(request, pages, message=_("Select some rows first."), error=True)
    kwargs: dict[str, Any] = {"workspace": workspace, "actor": user, pages.ids_arg: ids}
    try:
        if action == "tag":
            changed = pages.bulk_tag(**kwargs, tags=[request.POST.get("tag", "")])
        elif action == "assign":
            owner = request.POST.get("owner", "")
            if not owner:
                return _bulk_answer(request, pages, message=_("Choose an owner."), error=True)
            changed = pages.bulk_assign(**kwargs, owner_id=None if owner == "none" else _id(owner))
        elif action == "delete":
            changed = pages.bulk_delete(**kwargs)
        else:
            return HttpResponseBadRequest("unknown action")
    except ValidationFailed as exc:
        return _bulk_answer(
            request, pages, message=" ".join(e.message for e in exc.errors), error=True
        )
    return _bulk_answer(
        request,
        pages,
        message=_bulk_message(pages, action, len(changed)),
        undo_ids=changed if action == "delete" else None,
    )


@login_required
@require_POST
@domain_errors
def bulk_restore(request: HttpRequest, pages: RecordPages) -> HttpResponse:
    """Undo a bulk delete: restore the records in `ids`."""
    workspace, user = _context(request)
    ids = _ids(request.POST.getlist("ids"))
    restored = pages.bulk_restore(workspace=workspace, actor=user, **{pages.ids_arg: ids})
    return _bulk_answer(request, pages, message=_bulk_message(pages, "restore", len(restored)))


# ---------------------------------------------------------------------------------------------
# Export


@login_required
@require_GET
@domain_errors
def export(request: HttpRequest, pages: RecordPages) -> HttpResponseBase:
    """The records of the list being shown (its filters; only `ids` when given), with its
    columns, as a file at once: CSV for spreadsheets (UTF-8 with a byte-order mark, formulas
    neutralised), or XLSX with `format=xlsx` (the chosen rows, or a list no larger than what
    the Export menu downloads at once). The CSV is streamed as it is read (see
    contacts.exports), so the list's size does not matter to the server."""
    from vinculo.contacts.exports.selectors import export_count
    from vinculo.contacts.exports.services import immediate_limit
    from vinculo.contacts.exports.views import download_now

    workspace, user = _context(request)
    _require_view(workspace, user, pages)
    state = ListState.parse(request.GET)
    view = None
    if state.view_id is not None:
        view = selectors.savedview_get(
            workspace=workspace, viewer=user, object_type=pages.object_type, view_id=state.view_id
        )
    definitions = _definitions(workspace, user, pages.object_type)
    columns, _catalogue = _columns(request, pages, view, definitions)
    try:
        plan = export_plan(
            workspace=workspace,
            viewer=user,
            object_type=pages.object_type,
            file_format=request.GET.get("format") or "csv",
            params=state.params | ({"sort": state.sort} if state.sort else {}),
            columns=[c.key for c in columns],
            ids=_ids(request.GET.getlist("ids")) or None,
            strict=False,
        )
    except ValidationFailed as exc:
        return HttpResponse(
            "; ".join(e.message for e in exc.errors), status=422, content_type="text/plain"
        )
    if (
        plan.file_format == "xlsx"
        and plan.ids is None
        and export_count(workspace=workspace, viewer=user, plan=plan) > immediate_limit()
    ):
        # A workbook cannot be streamed: a large one is written by the worker instead.
        return HttpResponse(
            _("This list is too large to download at once: use the list's Export menu."),
            status=422,
            content_type="text/plain",
        )
    return download_now(workspace, plan, user)


# ---------------------------------------------------------------------------------------------
# Create and edit


def _form_kwargs(workspace: Workspace, user: User, pages: RecordPages) -> dict[str, Any]:
    return {
        "workspace": workspace,
        "viewer": user,
        "definitions": _definitions(workspace, user, pages.object_type),
    }


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors
def record_new(request: HttpRequest, pages: RecordPages) -> HttpResponse:
    """The create form. Every field error the service finds comes back next to its input
    (status 422), and nothing is written."""
    workspace, user = _context(request)
    kwargs = _form_kwargs(workspace, user, pages)
    initial: dict[str, Any] = {"owner": str(user.pk)}
    account_label = ""
    if pages.object_type == "contact":
        initial["lifecycle_stage"] = "lead"
        account_id = _id(request.GET.get("account") or request.POST.get("account"))
        if account_id is not None:
            account_label = _account_label(workspace, user, str(account_id))
            if account_label and request.method == "GET":
                initial["account"] = str(account_id)
        kwargs["account_label"] = account_label
    form = pages.record_form(request.POST or None, initial=initial, **kwargs)
    if request.method == "POST" and form.is_valid():
        try:
            record = pages.create(workspace=workspace, actor=user, data=form.to_data())
        except ValidationFailed as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, _("“%(name)s” created.") % {"name": record})
            return HttpResponseRedirect(pages.url("detail", record.pk))
    return render(
        request,
        "contacts/form.html",
        {"pages": pages, "words": pages.words, "form": form, "record": None},
        status=422 if form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors
def record_edit(request: HttpRequest, pages: RecordPages, pk: int) -> HttpResponse:
    """The whole record in one form (the record page edits one fact at a time)."""
    workspace, user = _context(request)
    record = pages.get_record(workspace=workspace, viewer=user, **{pages.id_arg: pk})
    if record.deleted_at is not None:
        raise Http404("deleted")
    form = pages.record_form(
        request.POST or None, instance=record, **_form_kwargs(workspace, user, pages)
    )
    if request.method == "POST" and form.is_valid():
        try:
            record = pages.update(
                workspace=workspace, actor=user, data=form.to_data(), **{pages.id_arg: pk}
            )
        except ValidationFailed as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, _("Changes saved."))
            return HttpResponseRedirect(pages.url("detail", record.pk))
    return render(
        request,
        "contacts/form.html",
        {"pages": pages, "words": pages.words, "form": form, "record": record},
        status=422 if form.errors else 200,
    )


# ---------------------------------------------------------------------------------------------
# Record pages


def _record_context(
    workspace: Workspace,
    user: User,
    pages: RecordPages,
    record: Contact | Account,
    definitions: list[CustomFieldDefinition],
) -> dict[str, Any]:
    rights = _rights(workspace, user, pages)
    # An erased person's record is shown read-only: no personal data is typed back into it.
    live = record.deleted_at is None and getattr(record, "erased_at", None) is None
    name = record.display_name if isinstance(record, Contact) else record.name
    return {
        "pages": pages,
        "words": pages.words,
        "record": record,
        "kind": pages.object_type,
        "name": name,
        "initials": initials(name),
        "facts": record_facts(
            record,
            form_class=pages.record_form,
            definitions=definitions,
            currency=workspace.currency,
        ),
        "stage_color": STAGE_COLORS.get(getattr(record, "lifecycle_stage", ""), "gray"),
        "stage_label": stage_label(getattr(record, "lifecycle_stage", "")),
        "editable": live and rights["can_edit"],
        "deleted_on": (
            pages.words["deleted"]
            % {"date": timezone.localtime(record.deleted_at).strftime("%Y-%m-%d")}
            if record.deleted_at
            else ""
        ),
        **rights,
    }


@login_required
@require_GET
@domain_errors
def record_detail(request: HttpRequest, pages: RecordPages, pk: int) -> HttpResponse:
    """A contact's or an account's page: the key facts in its header, every field editable
    in place, tags, related records and the timeline. `?part=header` answers the header
    alone (it refreshes itself after a fact changes)."""
    workspace, user = _context(request)
    record = pages.get_record(workspace=workspace, viewer=user, **{pages.id_arg: pk})
    definitions = _definitions(workspace, user, pages.object_type)
    context = _record_context(workspace, user, pages, record, definitions)
    if _htmx(request) and request.GET.get("part") == "header":
        return render(request, "contacts/detail.html#header", context)
    return render(request, "contacts/detail.html", context)


def _fact_name(pages: RecordPages, name: str, definitions: list[CustomFieldDefinition]) -> str:
    known = set(pages.facts) | {RecordForm.cf_name(d.key) for d in definitions}
    if name not in known:
        raise Http404("no such field")
    return name


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors
def record_field(request: HttpRequest, pages: RecordPages, pk: int, name: str) -> HttpResponse:
    """One fact edited in place: GET answers its small form (or, with `?display=1`, its value
    again: Cancel), POST saves it with the update service and answers the new value; a bad
    value comes back in the form with its error and status 422."""
    workspace, user = _context(request)
    definitions = _definitions(workspace, user, pages.object_type)
    name = _fact_name(pages, name, definitions)
    context: dict[str, Any] = {"pages": pages, "editable": True, "field_name": name}
    if request.method == "POST":
        form = pages.record_form(
            request.POST, workspace=workspace, viewer=user, definitions=definitions, only=[name]
        )
        if form.is_valid():
            try:
                record = pages.update(
                    workspace=workspace, actor=user, data=form.to_data(), **{pages.id_arg: pk}
                )
            except ValidationFailed as exc:
                form.add_service_errors(exc)
            else:
                if not _htmx(request):
                    return HttpResponseRedirect(pages.url("detail", pk))
                context |= _fact_context(workspace, pages, record, definitions, name)
                response = render(request, "contacts/detail.html#fact", context)
                # The header shows some facts too, and the timeline lists the change.
                return _triggered(response, "record-changed", "timeline-changed")
        if not _htmx(request):
            # Without JavaScript the small form is the whole answer: say what went wrong on
            # the record page instead.
            messages.error(
                request, " ".join(str(m) for errors in form.errors.values() for m in errors)
            )
            return HttpResponseRedirect(pages.url("detail", pk))
        context |= {"form": form, "record_pk": pk}
        return render(request, "contacts/detail.html#fact_form", context, status=422)
    record = pages.get_record(workspace=workspace, viewer=user, **{pages.id_arg: pk})
    if record.deleted_at is not None:
        raise Http404("deleted")
    if request.GET.get("display"):
        context |= _fact_context(workspace, pages, record, definitions, name)
        return render(request, "contacts/detail.html#fact", context)
    form = pages.record_form(
        workspace=workspace, viewer=user, definitions=definitions, instance=record, only=[name]
    )
    context |= {"form": form, "record_pk": pk}
    return render(request, "contacts/detail.html#fact_form", context)


def _fact_context(
    workspace: Workspace,
    pages: RecordPages,
    record: Contact | Account,
    definitions: list[CustomFieldDefinition],
    name: str,
) -> dict[str, Any]:
    facts = record_facts(
        record,
        form_class=pages.record_form,
        definitions=definitions,
        currency=workspace.currency,
        only=name,
    )
    return {"fact": facts[0], "record": record}


@login_required
@require_POST
@domain_errors
def record_tags(request: HttpRequest, pages: RecordPages, pk: int) -> HttpResponse:
    """Add (`add`) or remove (`remove`) one tag in place; answers the record's tags."""
    workspace, user = _context(request)
    kwargs: dict[str, Any] = {"workspace": workspace, "actor": user, pages.id_arg: pk}
    error = ""
    record = None
    try:
        if "remove" in request.POST:
            record = pages.tag_remove(**kwargs, name=request.POST["remove"])
        else:
            record = pages.tag_add(**kwargs, name=request.POST.get("add", ""))
    except ValidationFailed as exc:
        error = " ".join(e.message for e in exc.errors)
    if not _htmx(request):
        if error:
            messages.error(request, error)
        return HttpResponseRedirect(pages.url("detail", pk))
    if record is None:
        record = pages.get_record(workspace=workspace, viewer=user, **{pages.id_arg: pk})
    context = {
        "pages": pages,
        "record": record,
        "editable": True,
        "tag_error": error,
        "tag_value": request.POST.get("add", "") if error else "",
    }
    return render(request, "contacts/detail.html#tags", context, status=422 if error else 200)


@login_required
@require_POST
@domain_errors
def record_delete(request: HttpRequest, pages: RecordPages, pk: int) -> HttpResponse:
    """Soft-delete; the record page then shows it deleted, with Restore."""
    workspace, user = _context(request)
    pages.delete(workspace=workspace, actor=user, **{pages.id_arg: pk})
    return HttpResponseRedirect(pages.url("detail", pk))


@login_required
@require_POST
@domain_errors
def record_restore(request: HttpRequest, pages: RecordPages, pk: int) -> HttpResponse:
    workspace, user = _context(request)
    try:
        pages.restore(workspace=workspace, actor=user, **{pages.id_arg: pk})
    except services.RestoreExpired as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, _("Restored."))
    return HttpResponseRedirect(pages.url("detail", pk))


@login_required
@require_GET
@domain_errors
def account_contacts(request: HttpRequest, pk: int) -> HttpResponse:
    """An account's people, a page at a time (loaded by the account page)."""
    workspace, user = _context(request)
    account = selectors.account_get_with_deleted(workspace=workspace, viewer=user, account_id=pk)
    cursor = request.GET.get("cursor") or None
    try:
        page = selectors.contact_list(
            workspace=workspace,
            viewer=user,
            filters=selectors.contact_filters(
                workspace=workspace, viewer=user, params={"account": str(pk)}
            ),
            cursor=cursor,
            limit=RELATED_PAGE_SIZE,
        )
    except ValidationFailed:
        return HttpResponseBadRequest("bad cursor")
    context = {
        "account": account,
        "page": page,
        "people": [
            (c, STAGE_COLORS.get(c.lifecycle_stage, "gray"), stage_label(c.lifecycle_stage))
            for c in page.items
        ],
        "more_url": (
            reverse("contacts:account_contacts", args=[pk])
            + "?"
            + urlencode({"cursor": page.next_cursor})
            if page.next_cursor
            else ""
        ),
        "can_create": can(workspace=workspace, user=user, module="contacts", right=Right.CREATE)
        and account.deleted_at is None,
        "first_page": cursor is None,
    }
    template = (
        "contacts/related.html#rows" if cursor and _htmx(request) else "contacts/related.html"
    )
    return render(request, template, context)


@login_required
@require_GET
def account_suggest(request: HttpRequest) -> HttpResponse:
    """Accounts matching `q`, for the company pickers (JSON)."""
    workspace, user = _context(request)
    suggestions = selectors.account_search_suggestions(
        workspace=workspace, viewer=user, q=request.GET.get("q", "")[:100], limit=SUGGESTIONS
    )
    return JsonResponse(
        {
            "items": [
                {
                    "id": s.id,
                    "name": s.name,
                    "detail": " · ".join(p for p in (s.domain, s.city) if p),
                }
                for s in suggestions
            ]
        }
    )
