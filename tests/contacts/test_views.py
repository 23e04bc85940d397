"""The contacts and accounts lists: filters, sort, keyset pages, columns, saved views, bulk
actions, empty states, query budgets and what another workspace's ids reach."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from vinculo.contacts.models import Account, Contact
from vinculo.contacts.services import savedview_create
from vinculo.core.models import Event, SavedView, User, Workspace
from vinculo.core.roles import Role
from vinculo.core.tenancy import workspace_scope

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def browser_client(client: Client):
    """A logged-in client that reads the pages in English."""

    def log_in(user: User) -> Client:
        client.force_login(user)
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        return client

    return log_in


@pytest.fixture
def admin_client(browser_client, admin: User) -> Client:
    return browser_client(admin)


def names(response: Any) -> list[str]:
    """The record names in the list's rows, in order."""
    html = response.content.decode()
    return re.findall(r'class="record-link" href="[^"]+">([^<]+)</a>', html)


def htmx(target: str) -> dict[str, str]:
    return {**HTMX, "HTTP_HX_TARGET": target}


# --- the list -----------------------------------------------------------------------------------


def test_list_shows_contacts_in_name_order_with_the_default_columns(
    admin_client: Client, contact_factory, account_factory
) -> None:
    acme = account_factory(name="Acme")
    contact_factory(first_name="Bia", email="bia@example.com", account_id=acme.pk)
    contact_factory(first_name="Ana", phone="+55 11 98765-4321", tags=["vip"])
    response = admin_client.get("/contacts/")
    assert response.status_code == 200
    assert names(response) == ["Ana", "Bia"]
    html = response.content.decode()
    assert 'href="mailto:bia@example.com"' in html
    assert 'href="tel:+5511987654321"' in html
    assert f'href="/accounts/{acme.pk}/"' in html
    for label in ("Email", "Phone", "Company", "Stage", "Owner", "Tags"):
        assert f">{label}<" in html
    # Cards on phones: every cell says what it is.
    assert 'data-label="Email"' in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("q=ana", ["Ana Souza"]),
        ("lifecycle_stage=customer", ["Bia Lima"]),
        ("tag=vip", ["Ana Souza", "Caio Reis"]),
        ("city=Recife", ["Caio Reis"]),
        ("source=fair", ["Bia Lima"]),
        ("owner=none", ["Bia Lima", "Caio Reis"]),
        ("owner=me", ["Ana Souza"]),
        ("cf.size=big", ["Caio Reis"]),
        ("country=PT", ["Bia Lima"]),
    ],
)
def test_filters(
    admin_client: Client,
    admin: User,
    contact_factory,
    custom_field,
    query: str,
    expected: list[str],
) -> None:
    custom_field("size", "choice", choices=["big", "small"])
    contact_factory(first_name="Ana", last_name="Souza", tags=["vip"], owner_id=admin.pk)
    contact_factory(
        first_name="Bia", last_name="Lima", lifecycle_stage="customer", source="fair", country="PT"
    )
    contact_factory(
        first_name="Caio",
        last_name="Reis",
        tags=["VIP"],
        city="Recife",
        custom_fields={"size": "big"},
    )
    response = admin_client.get(f"/contacts/?{query}")
    assert response.status_code == 200
    assert names(response) == expected
    # The filter in force shows as a chip that removes it.
    assert 'class="chip-remove"' in response.content.decode()


def test_account_and_created_range_filters(
    admin_client: Client, workspace: Workspace, contact_factory, account_factory
) -> None:
    acme = account_factory(name="Acme")
    old = contact_factory(first_name="Old", account_id=acme.pk)
    contact_factory(first_name="New", account_id=acme.pk)
    contact_factory(first_name="Elsewhere")
    Contact.objects.for_workspace(workspace).filter(pk=old.pk).update(
        created_at=timezone.now() - dt.timedelta(days=40)
    )
    response = admin_client.get(f"/contacts/?account={acme.pk}")
    assert names(response) == ["New", "Old"]
    assert "Acme" in response.content.decode()  # the chip names the company, not its id
    since = (timezone.localdate() - dt.timedelta(days=10)).isoformat()
    assert names(admin_client.get(f"/contacts/?account={acme.pk}&created_after={since}")) == ["New"]


def test_a_bad_filter_answers_422_naming_it(admin_client: Client, contact_factory) -> None:
    contact_factory(first_name="Ana")
    response = admin_client.get("/contacts/?lifecycle_stage=royalty&created_after=yesterday")
    assert response.status_code == 422
    html = response.content.decode()
    assert 'id="filter-lifecycle_stage_error"' in html
    assert 'id="filter-created_after_error"' in html
    assert names(response) == []


def test_blank_parameters_are_dropped_from_the_address(admin_client: Client) -> None:
    response = admin_client.get("/contacts/?q=&owner=&lifecycle_stage=lead")
    assert response.status_code == 302
    assert response["Location"] == "/contacts/?lifecycle_stage=lead"
    # htmx requests are answered, with the clean address to push instead.
    response = admin_client.get("/contacts/?q=&lifecycle_stage=lead", **htmx("results"))
    assert response.status_code == 200
    assert response["HX-Push-Url"] == "/contacts/?lifecycle_stage=lead"


def test_sort_by_header(admin_client: Client, workspace: Workspace, contact_factory) -> None:
    first = contact_factory(first_name="Ana")
    contact_factory(first_name="Bia")
    Contact.objects.for_workspace(workspace).filter(pk=first.pk).update(
        created_at=timezone.now() + dt.timedelta(minutes=5)
    )
    assert names(admin_client.get("/contacts/?sort=-name")) == ["Bia", "Ana"]
    assert names(admin_client.get("/contacts/?sort=-created_at")) == ["Ana", "Bia"]
    html = admin_client.get("/contacts/?sort=-name").content.decode()
    assert 'aria-sort="descending"' in html
    assert 'href="/contacts/?sort=name"' in html
    # Only sorts an index serves are offered; anything else is refused.
    assert admin_client.get("/contacts/?sort=email").status_code == 422


def test_keyset_pages_keep_the_filters(admin_client: Client, contact_factory) -> None:
    for i in range(55):
        contact_factory(first_name=f"Lead {i:02d}", tags=["t"])
    contact_factory(first_name="Untagged")
    response = admin_client.get("/contacts/?tag=t")
    assert len(names(response)) == 50
    html = response.content.decode()
    more = re.search(r'id="more-row".*?href="([^"]+)"', html, re.S)
    assert more
    next_url = more.group(1).replace("&amp;", "&")
    assert "tag=t" in next_url and "cursor=" in next_url
    # "Load more" answers only the next rows.
    rows = admin_client.get(next_url, **htmx("more-row"))
    assert rows.status_code == 200
    assert names(rows) == [f"Lead {i:02d}" for i in range(50, 55)]
    assert "<html" not in rows.content.decode()
    assert 'id="more-row"' not in rows.content.decode()
    # Without JavaScript the same address is a page of its own.
    page_two = admin_client.get(next_url)
    assert names(page_two) == [f"Lead {i:02d}" for i in range(50, 55)]
    assert "Back to the first page" in page_two.content.decode()
    assert admin_client.get("/contacts/?cursor=garbage").status_code == 422


def test_filter_changes_answer_the_results_alone(admin_client: Client, contact_factory) -> None:
    contact_factory(first_name="Ana")
    response = admin_client.get("/contacts/?q=ana", **htmx("results"))
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="results"')
    assert names(response) == ["Ana"]
    region = admin_client.get("/contacts/?q=ana", **htmx("list-region")).content.decode()
    assert 'id="filters"' in region and 'id="results"' in region and "<html" not in region


# --- columns ------------------------------------------------------------------------------------


def test_columns_are_kept_in_the_session(admin_client: Client, contact_factory) -> None:
    contact_factory(first_name="Ana", city="Recife", job_title="CEO")
    response = admin_client.post(
        "/contacts/columns",
        {"columns": ["city", "job_title"], "next": "/contacts/?q=ana"},
    )
    assert response.status_code == 302
    assert response["Location"] == "/contacts/?q=ana"
    html = admin_client.get("/contacts/").content.decode()
    headers = re.findall(r'<th scope="col"[^>]*>(?:<a [^>]*>)?([^<]+)', html)
    assert [h.strip() for h in headers] == ["Name", "City", "Job title"]
    assert re.search(r">\s*Recife\s*<", html) and re.search(r">\s*CEO\s*<", html)
    assert ">Email<" not in html


def test_columns_of_an_own_view_are_kept_in_the_view(
    admin_client: Client, workspace: Workspace, admin: User, custom_field
) -> None:
    custom_field("size", "text")
    view = savedview_create(workspace=workspace, actor=admin, object_type="contact", name="Mine")
    admin_client.post(
        "/contacts/columns", {"columns": ["email", "cf.size"], "view": view.pk, "next": "/"}
    )
    view.refresh_from_db()
    assert view.columns == ["email", "cf.size"]
    html = admin_client.get(f"/contacts/?view={view.pk}").content.decode()
    assert ">Size<" in html


# --- saved views --------------------------------------------------------------------------------


def test_save_a_filtered_view_and_reopen_it(
    admin_client: Client, workspace: Workspace, contact_factory
) -> None:
    contact_factory(first_name="Ana", lifecycle_stage="customer")
    contact_factory(first_name="Bia")
    response = admin_client.post(
        "/contacts/views",
        {"name": "Customers", "query": "lifecycle_stage=customer&sort=-name", "columns": ["email"]},
    )
    view = SavedView.objects.for_workspace(workspace).get()
    assert (view.name, view.shared, view.columns) == ("Customers", False, ["email"])
    assert view.query == {"lifecycle_stage": "customer", "sort": "-name"}
    assert response["Location"] == f"/contacts/?lifecycle_stage=customer&sort=-name&view={view.pk}"
    # Opening the view puts its filters in the address.
    opened = admin_client.get(f"/contacts/?view={view.pk}")
    assert opened.status_code == 302
    assert opened["Location"] == f"/contacts/?lifecycle_stage=customer&sort=-name&view={view.pk}"
    page = admin_client.get(opened["Location"])
    assert names(page) == ["Ana"]
    assert "Customers" in page.content.decode()
    # Changing a filter offers to update the view; the update keeps the new filters.
    changed = admin_client.get(f"/contacts/?lifecycle_stage=lead&view={view.pk}").content.decode()
    assert f'action="/contacts/views/{view.pk}/update"' in changed
    admin_client.post(f"/contacts/views/{view.pk}/update", {"query": "lifecycle_stage=lead"})
    view.refresh_from_db()
    assert view.query == {"lifecycle_stage": "lead"}
    admin_client.post(f"/contacts/views/{view.pk}/delete")
    assert not SavedView.objects.for_workspace(workspace).exists()


def test_private_views_stay_private_and_shared_ones_are_offered_to_all(
    browser_client, workspace: Workspace, admin: User, make_member
) -> None:
    seller = make_member("seller@acme.test", Role.SALES)
    private = savedview_create(
        workspace=workspace, actor=admin, object_type="contact", name="Admin only"
    )
    savedview_create(
        workspace=workspace, actor=admin, object_type="contact", name="Everyone", shared=True
    )
    client = browser_client(seller)
    html = client.get("/contacts/").content.decode()
    assert "Everyone" in html
    assert "Admin only" not in html
    # Someone else's private view is "no longer there", and cannot be changed or deleted.
    response = client.get(f"/contacts/?view={private.pk}")
    assert response.status_code == 302 and response["Location"] == "/contacts/"
    assert client.post(f"/contacts/views/{private.pk}/delete").status_code == 404
    assert SavedView.objects.for_workspace(workspace).count() == 2


def test_a_bad_view_name_is_refused(admin_client: Client, workspace: Workspace) -> None:
    response = admin_client.post("/contacts/views", {"name": "", "query": "q=a"})
    assert response.status_code == 302
    assert not SavedView.objects.for_workspace(workspace).exists()


# --- bulk actions -------------------------------------------------------------------------------


def test_bulk_tag_answers_a_notice_and_refreshes_the_list(
    admin_client: Client, workspace: Workspace, contact_factory
) -> None:
    a, b, c = contact_factory(), contact_factory(), contact_factory()
    response = admin_client.post(
        "/contacts/bulk", {"action": "tag", "tag": "Fair 2026", "ids": [a.pk, b.pk]}, **HTMX
    )
    assert response.status_code == 200
    assert "2 contacts tagged." in response.content.decode()
    assert json.loads(response["HX-Trigger"]) == {"records-changed": True}
    tagged = {x.pk for x in Contact.objects.for_workspace(workspace) if x.tags.exists()}
    assert tagged == {a.pk, b.pk}
    assert c.pk not in tagged


def test_bulk_assign_and_delete_with_undo(
    admin_client: Client, workspace: Workspace, admin: User, make_member, contact_factory
) -> None:
    seller = make_member("seller@acme.test", Role.SALES)
    a, b = contact_factory(), contact_factory()
    admin_client.post(
        "/contacts/bulk", {"action": "assign", "owner": seller.pk, "ids": [a.pk, b.pk]}, **HTMX
    )
    assert set(Contact.objects.for_workspace(workspace).values_list("owner_id", flat=True)) == {
        seller.pk
    }
    response = admin_client.post("/contacts/bulk", {"action": "delete", "ids": [a.pk]}, **HTMX)
    html = response.content.decode()
    assert "1 contact deleted." in html
    assert 'action="/contacts/bulk/restore"' in html
    assert f'name="ids" value="{a.pk}"' in html
    a.refresh_from_db()
    assert a.deleted_at is not None
    undo = admin_client.post("/contacts/bulk/restore", {"ids": [a.pk]}, **HTMX)
    assert "1 contact restored." in undo.content.decode()
    a.refresh_from_db()
    assert a.deleted_at is None


def test_bulk_without_javascript_redirects_back_with_a_message(
    admin_client: Client, contact_factory
) -> None:
    a = contact_factory()
    response = admin_client.post(
        "/contacts/bulk", {"action": "tag", "tag": "x", "ids": [a.pk], "next": "/contacts/?q=a"}
    )
    assert response.status_code == 302 and response["Location"] == "/contacts/?q=a"
    response = admin_client.post(
        "/contacts/bulk", {"action": "tag", "tag": "x", "ids": [a.pk], "next": "https://evil.test"}
    )
    assert response["Location"] == "/contacts/"


def test_bulk_errors_answer_422_and_change_nothing(
    admin_client: Client, workspace: Workspace, contact_factory
) -> None:
    a = contact_factory()
    assert (
        admin_client.post("/contacts/bulk", {"action": "tag", "tag": "x"}, **HTMX).status_code
        == 422
    )
    response = admin_client.post(
        "/contacts/bulk", {"action": "tag", "tag": " ", "ids": [a.pk]}, **HTMX
    )
    assert response.status_code == 422
    response = admin_client.post("/contacts/bulk", {"action": "assign", "ids": [a.pk]}, **HTMX)
    assert response.status_code == 422
    assert (
        admin_client.post("/contacts/bulk", {"action": "explode", "ids": [a.pk]}).status_code == 400
    )
    assert not Event.objects.for_workspace(workspace).filter(type="contact.updated").exists()


def test_bulk_respects_rights(
    browser_client, workspace: Workspace, make_member, contact_factory
) -> None:
    reader = make_member("reader@acme.test", Role.READ_ONLY)
    seller = make_member("seller@acme.test", Role.SALES)
    a = contact_factory(owner_id=seller.pk)
    client = browser_client(reader)
    assert (
        client.post("/contacts/bulk", {"action": "tag", "tag": "x", "ids": [a.pk]}).status_code
        == 403
    )
    client = browser_client(seller)
    assert client.post("/contacts/bulk", {"action": "delete", "ids": [a.pk]}).status_code == 403
    a.refresh_from_db()
    assert a.deleted_at is None and not a.tags.exists()
    # A reader gets no edit or delete actions to start with.
    html = browser_client(reader).get("/contacts/").content.decode()
    assert 'value="tag"' not in html and 'value="delete"' not in html


def test_other_workspaces_ids_in_a_selection_change_nothing_there(
    admin_client: Client,
    workspace: Workspace,
    other_workspace: Workspace,
    contact_factory,
) -> None:
    mine = contact_factory(first_name="Mine")
    with workspace_scope(other_workspace):
        theirs = contact_factory(ws=other_workspace, first_name="Theirs")
    for data in (
        {"action": "tag", "tag": "stolen"},
        {"action": "assign", "owner": "none"},
        {"action": "delete"},
    ):
        admin_client.post("/contacts/bulk", {**data, "ids": [mine.pk, theirs.pk]}, **HTMX)
    admin_client.post("/contacts/bulk/restore", {"ids": [theirs.pk]}, **HTMX)
    with workspace_scope(other_workspace):
        theirs = Contact.objects.for_workspace(other_workspace).get(pk=theirs.pk)
        assert theirs.deleted_at is None
        assert not theirs.tags.exists()
        assert (
            Event.objects.for_workspace(other_workspace)
            .filter(subject_type="contact", subject_id=theirs.pk)
            .count()
            == 1
        )


def test_account_bulk_actions(admin_client: Client, workspace: Workspace, account_factory) -> None:
    a, b = account_factory(name="Acme"), account_factory(name="Globo")
    response = admin_client.post(
        "/accounts/bulk", {"action": "tag", "tag": "key", "ids": [a.pk, b.pk]}, **HTMX
    )
    assert "2 accounts tagged." in response.content.decode()
    admin_client.post("/accounts/bulk", {"action": "delete", "ids": [b.pk]}, **HTMX)
    assert names(admin_client.get("/accounts/")) == ["Acme"]


# --- empty states -------------------------------------------------------------------------------


def test_an_empty_workspace_offers_the_first_contact_and_an_import(
    admin_client: Client,
) -> None:
    html = admin_client.get("/contacts/").content.decode()
    assert "Create your first contact" in html
    assert 'href="/contacts/new"' in html
    assert 'href="/imports/new?object=contact"' in html
    html = admin_client.get("/accounts/").content.decode()
    assert "Create your first account" in html
    assert 'href="/imports/new?object=account"' in html


def test_a_filter_without_results_offers_to_clear_it(admin_client: Client, contact_factory) -> None:
    contact_factory(first_name="Ana")
    html = admin_client.get("/contacts/?q=zzzz&sort=-name").content.decode()
    assert "No contact matches these filters" in html
    assert 'href="/contacts/?sort=-name"' in html  # clear filters keeps the sort
    assert "Create your first contact" not in html


def test_readers_see_no_create_button(browser_client, make_member) -> None:
    reader = make_member("reader@acme.test", Role.READ_ONLY)
    html = browser_client(reader).get("/contacts/").content.decode()
    assert 'href="/contacts/new"' not in html


# --- access, tenancy and query budgets ----------------------------------------------------------


def test_team_scope_lists_only_the_teams_contacts(
    browser_client, make_member, contact_factory
) -> None:
    seller = make_member("seller@acme.test", Role.SALES)
    other = make_member("other@acme.test", Role.SALES)
    contact_factory(first_name="Own", owner_id=seller.pk)
    contact_factory(first_name="Hidden", owner_id=other.pk)
    contact_factory(first_name="Pool")
    client = browser_client(seller)
    assert names(client.get("/contacts/")) == ["Own", "Pool"]
    assert "Hidden" not in client.get("/contacts/export.csv").getvalue().decode()


def test_other_workspaces_records_are_not_listed(
    admin_client: Client, other_workspace: Workspace, contact_factory, account_factory
) -> None:
    with workspace_scope(other_workspace):
        contact_factory(ws=other_workspace, first_name="Outsider")
        theirs = account_factory(ws=other_workspace, name="Their Co")
    assert names(admin_client.get("/contacts/")) == []
    assert names(admin_client.get(f"/contacts/?account={theirs.pk}")) == []
    assert names(admin_client.get("/accounts/")) == []


def _make_rows(contact_factory, account_factory, admin: User, count: int) -> None:
    accounts = [account_factory(name=f"Co {i}", tags=["a"]) for i in range(3)]
    for i in range(count):
        contact_factory(
            first_name=f"P{i:03d}",
            email=f"p{i}@example.com",
            owner_id=admin.pk,
            account_id=accounts[i % 3].pk,
            tags=["x", f"t{i % 4}"],
        )


@pytest.mark.parametrize("count", [5, 60])
def test_list_page_queries_do_not_grow_with_rows(
    admin_client: Client,
    admin: User,
    contact_factory,
    account_factory,
    custom_field,
    django_assert_max_num_queries,
    count: int,
) -> None:
    custom_field("size", "choice", choices=["big"])
    _make_rows(contact_factory, account_factory, admin, count)
    admin_client.post(
        "/contacts/columns", {"columns": ["email", "account", "owner", "tags", "cf.size"]}
    )
    with django_assert_max_num_queries(16):
        response = admin_client.get("/contacts/?tag=x&cf.size=big&sort=-created_at")
    assert response.status_code == 200
    with django_assert_max_num_queries(16):
        assert len(names(admin_client.get("/contacts/?owner=me"))) == min(count, 50)
    # The results alone skip the page's shell.
    with django_assert_max_num_queries(14):
        admin_client.get("/contacts/?owner=me", **htmx("results"))
    with django_assert_max_num_queries(16):
        assert admin_client.get("/accounts/").status_code == 200


def test_load_more_queries_do_not_grow(
    admin_client: Client,
    admin: User,
    contact_factory,
    account_factory,
    django_assert_max_num_queries,
) -> None:
    _make_rows(contact_factory, account_factory, admin, 70)
    html = admin_client.get("/contacts/").content.decode()
    next_url = (
        re.search(r'id="more-row".*?href="([^"]+)"', html, re.S).group(1).replace("&amp;", "&")
    )
    with django_assert_max_num_queries(10):
        rows = admin_client.get(next_url, **htmx("more-row"))
    assert len(names(rows)) == 20


def test_accounts_list_filters(admin_client: Client, account_factory) -> None:
    account_factory(name="Acme", industry="Energy", size="11-50")
    account_factory(name="Globo", industry="Media")
    assert names(admin_client.get("/accounts/?industry=Energy")) == ["Acme"]
    assert names(admin_client.get("/accounts/?size=11-50")) == ["Acme"]
    assert names(admin_client.get("/accounts/?q=glob")) == ["Globo"]


def test_logged_out_visitors_are_sent_to_log_in(client: Client) -> None:
    response = client.get("/contacts/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_account_suggestions_for_the_picker(
    admin_client: Client, other_workspace: Workspace, account_factory
) -> None:
    account_factory(name="Acme Brasil", domain="acme.com.br", city="Recife")
    with workspace_scope(other_workspace):
        account_factory(ws=other_workspace, name="Acme Other")
    items = admin_client.get("/accounts/suggest?q=acme").json()["items"]
    assert [(i["name"], i["detail"]) for i in items] == [("Acme Brasil", "acme.com.br · Recife")]
    assert admin_client.get("/accounts/suggest?q=").json() == {"items": []}


def test_deleted_records_leave_the_list(
    admin_client: Client, workspace: Workspace, contact_factory
) -> None:
    a = contact_factory(first_name="Gone")
    Contact.objects.for_workspace(workspace).filter(pk=a.pk).update(deleted_at=timezone.now())
    assert names(admin_client.get("/contacts/")) == []
    assert Account.objects.for_workspace(workspace).count() == 0
