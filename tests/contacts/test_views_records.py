"""Record pages of contacts and accounts (header, facts edited in place, tags, related records,
timeline, delete and restore) and the create and edit forms."""

from __future__ import annotations

import json
import re

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from vinculo.contacts.models import Account, Contact
from vinculo.core.models import Event, User, Workspace
from vinculo.core.roles import Role
from vinculo.core.tenancy import workspace_scope

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def browser_client(client: Client):
    def log_in(user: User) -> Client:
        client.force_login(user)
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        return client

    return log_in


@pytest.fixture
def admin_client(browser_client, admin: User) -> Client:
    return browser_client(admin)


def field_error(html: str, input_id: str) -> str:
    """The error shown under one input (its id plus `_error`), or ""."""
    found = re.search(rf'id="{re.escape(input_id)}_error">([^<]*)<', html)
    return found.group(1) if found else ""


# --- the contact page ---------------------------------------------------------------------------


def test_contact_page_shows_the_key_facts(
    admin_client: Client, admin: User, contact_factory, account_factory, custom_field
) -> None:
    custom_field("budget", "money")
    acme = account_factory(name="Acme")
    contact = contact_factory(
        first_name="Ana",
        last_name="Souza",
        job_title="CFO",
        account_id=acme.pk,
        email="ana@acme.example.com",
        phone="+55 11 98765-4321",
        lifecycle_stage="customer",
        owner_id=admin.pk,
        tags=["vip"],
        custom_fields={"budget": "1234.5"},
    )
    response = admin_client.get(f"/contacts/{contact.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>Ana Souza</h1>" in html
    assert 'aria-hidden="true">AS</span>' in html
    assert f'<a href="/accounts/{acme.pk}/">Acme</a>' in html
    assert 'href="mailto:ana@acme.example.com"' in html
    assert 'href="tel:+5511987654321"' in html
    assert "badge-green" in html and "Customer" in html
    assert "vip" in html
    assert "R$ 1,234.50" in html  # money in the workspace's currency, the reader's format
    assert f'hx-get="/records/contact/{contact.pk}/timeline" hx-trigger="load"' in html
    # Each fact can be edited in place.
    assert f'hx-get="/contacts/{contact.pk}/fields/job_title"' in html
    assert f'hx-get="/contacts/{contact.pk}/fields/cf_budget"' in html


def test_readers_see_facts_without_edit_buttons(
    browser_client, make_member, contact_factory
) -> None:
    reader = make_member("reader@acme.test", Role.READ_ONLY)
    contact = contact_factory(first_name="Ana")
    html = browser_client(reader).get(f"/contacts/{contact.pk}/").content.decode()
    assert "Ana" in html
    assert "/fields/" not in html
    assert f"/contacts/{contact.pk}/delete" not in html


def test_header_refreshes_alone(admin_client: Client, contact_factory) -> None:
    contact = contact_factory(first_name="Ana")
    response = admin_client.get(f"/contacts/{contact.pk}/?part=header", **HTMX)
    html = response.content.decode()
    assert html.lstrip().startswith("<header") and "<html" not in html


# --- facts edited in place ----------------------------------------------------------------------


def test_edit_one_fact_in_place(
    admin_client: Client, workspace: Workspace, contact_factory
) -> None:
    contact = contact_factory(first_name="Ana", job_title="Analyst", city="Recife")
    form = admin_client.get(f"/contacts/{contact.pk}/fields/job_title", **HTMX)
    html = form.content.decode()
    assert 'name="job_title"' in html and 'value="Analyst"' in html and "autofocus" in html
    assert 'name="city"' not in html
    response = admin_client.post(
        f"/contacts/{contact.pk}/fields/job_title", {"job_title": "Director"}, **HTMX
    )
    assert response.status_code == 200
    assert "Director" in response.content.decode()
    assert json.loads(response["HX-Trigger"]) == {
        "record-changed": True,
        "timeline-changed": True,
    }
    contact.refresh_from_db()
    assert (contact.job_title, contact.city) == ("Director", "Recife")
    event = Event.objects.for_workspace(workspace).filter(type="contact.updated").get()
    assert event.payload == {"changes": {"job_title": ["Analyst", "Director"]}}
    # Cancel answers the value again, unchanged.
    cancel = admin_client.get(f"/contacts/{contact.pk}/fields/job_title?display=1", **HTMX)
    assert "Director" in cancel.content.decode() and "<form" not in cancel.content.decode()


def test_a_bad_value_in_place_answers_422_with_the_error_and_writes_nothing(
    admin_client: Client, workspace: Workspace, contact_factory
) -> None:
    contact = contact_factory(first_name="Ana", email="ana@example.com")
    response = admin_client.post(
        f"/contacts/{contact.pk}/fields/emails",
        {"emails": ["ana@example.com", "not-an-email"]},
        **HTMX,
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert field_error(html, "id_emails_1") == (
        "Enter a valid email address, such as name@example.com."
    )
    assert field_error(html, "id_emails_0") == ""
    assert 'value="not-an-email"' in html
    contact.refresh_from_db()
    assert contact.emails == ["ana@example.com"]
    assert not Event.objects.for_workspace(workspace).filter(type="contact.updated").exists()
    # Clearing the only name and email leaves a contact without a name: refused too.
    response = admin_client.post(
        f"/contacts/{contact.pk}/fields/first_name", {"first_name": ""}, **HTMX
    )
    assert response.status_code == 200  # the email still names the contact
    response = admin_client.post(f"/contacts/{contact.pk}/fields/emails", {"emails": []}, **HTMX)
    assert response.status_code == 422
    assert "needs a first name" in response.content.decode()


@pytest.mark.parametrize(
    ("field_type", "choices", "sent", "stored", "shown"),
    [
        ("number", [], "12.5", 12.5, "12.5"),
        ("money", [], "1234.50", "1234.50", "R$ 1,234.50"),
        ("date", [], "2026-01-31", "2026-01-31", "01/31/2026"),
        ("boolean", [], "true", True, "Yes"),
        ("choice", ["s", "m"], "m", "m", "m"),
        ("multi_choice", ["a", "b", "c"], ["a", "c"], ["a", "c"], "a, c"),
        ("text", [], "Hello", "Hello", "Hello"),
    ],
)
def test_custom_fields_in_place_by_type(
    admin_client: Client,
    contact_factory,
    custom_field,
    field_type: str,
    choices: list[str],
    sent: object,
    stored: object,
    shown: str,
) -> None:
    custom_field("extra", field_type, choices=choices)
    contact = contact_factory(first_name="Ana")
    form = admin_client.get(f"/contacts/{contact.pk}/fields/cf_extra", **HTMX)
    assert form.status_code == 200 and 'name="cf_extra"' in form.content.decode()
    response = admin_client.post(
        f"/contacts/{contact.pk}/fields/cf_extra", {"cf_extra": sent}, **HTMX
    )
    assert response.status_code == 200, response.content
    assert shown in response.content.decode()
    contact.refresh_from_db()
    assert contact.custom_fields == {"extra": stored}


def test_a_bad_custom_value_in_place_is_refused(
    admin_client: Client, contact_factory, custom_field
) -> None:
    custom_field("size", "number")
    contact = contact_factory(first_name="Ana")
    response = admin_client.post(
        f"/contacts/{contact.pk}/fields/cf_size", {"cf_size": "big"}, **HTMX
    )
    assert response.status_code == 422
    assert field_error(response.content.decode(), "id_cf_size") == "Enter a number."
    contact.refresh_from_db()
    assert contact.custom_fields == {}


def test_facts_without_javascript_go_back_to_the_record(
    admin_client: Client, contact_factory
) -> None:
    contact = contact_factory(first_name="Ana", email="ana@example.com")
    response = admin_client.post(f"/contacts/{contact.pk}/fields/job_title", {"job_title": "CEO"})
    assert response.status_code == 302 and response["Location"] == f"/contacts/{contact.pk}/"
    response = admin_client.post(
        f"/contacts/{contact.pk}/fields/emails", {"emails": ["bad@"]}, follow=True
    )
    assert "Enter a valid email address" in response.content.decode()
    contact.refresh_from_db()
    assert (contact.job_title, contact.emails) == ("CEO", ["ana@example.com"])


def test_unknown_fields_and_deleted_records_are_404(
    admin_client: Client, workspace: Workspace, contact_factory
) -> None:
    contact = contact_factory(first_name="Ana")
    assert admin_client.get(f"/contacts/{contact.pk}/fields/password").status_code == 404
    assert admin_client.get(f"/contacts/{contact.pk}/fields/cf_nothing").status_code == 404
    Contact.objects.for_workspace(workspace).filter(pk=contact.pk).update(deleted_at=timezone.now())
    assert admin_client.get(f"/contacts/{contact.pk}/fields/first_name").status_code == 404
    response = admin_client.post(
        f"/contacts/{contact.pk}/fields/first_name", {"first_name": "X"}, **HTMX
    )
    assert response.status_code == 404


def test_owner_and_company_in_place(
    admin_client: Client, make_member, contact_factory, account_factory
) -> None:
    seller = make_member("seller@acme.test", Role.SALES)
    acme = account_factory(name="Acme")
    contact = contact_factory(first_name="Ana")
    admin_client.post(f"/contacts/{contact.pk}/fields/owner", {"owner": seller.pk}, **HTMX)
    response = admin_client.post(
        f"/contacts/{contact.pk}/fields/account", {"account": acme.pk}, **HTMX
    )
    assert "Acme" in response.content.decode()
    contact.refresh_from_db()
    assert (contact.owner_id, contact.account_id) == (seller.pk, acme.pk)


def test_sales_cannot_edit_a_record_out_of_sight(
    browser_client, make_member, contact_factory
) -> None:
    seller = make_member("seller@acme.test", Role.SALES)
    other = make_member("other@acme.test", Role.SALES)
    contact = contact_factory(first_name="Ana", owner_id=other.pk)
    client = browser_client(seller)
    assert client.get(f"/contacts/{contact.pk}/").status_code == 404
    response = client.post(f"/contacts/{contact.pk}/fields/first_name", {"first_name": "X"})
    assert response.status_code == 404
    contact.refresh_from_db()
    assert contact.first_name == "Ana"


# --- tags in place ------------------------------------------------------------------------------


def test_add_and_remove_tags_in_place(admin_client: Client, contact_factory) -> None:
    contact = contact_factory(first_name="Ana", tags=["old"])
    response = admin_client.post(f"/contacts/{contact.pk}/tags", {"add": "New one"}, **HTMX)
    assert response.status_code == 200
    assert "New one" in response.content.decode()
    response = admin_client.post(f"/contacts/{contact.pk}/tags", {"remove": "old"}, **HTMX)
    assert not re.search(r">\s*old\s*<", response.content.decode())
    assert list(contact.tags.values_list("name", flat=True)) == ["New one"]
    response = admin_client.post(f"/contacts/{contact.pk}/tags", {"add": "x" * 61}, **HTMX)
    assert response.status_code == 422
    assert 'id="tag-add-error"' in response.content.decode()


# --- delete and restore -------------------------------------------------------------------------


def test_delete_then_restore_from_the_banner(
    admin_client: Client, workspace: Workspace, contact_factory
) -> None:
    contact = contact_factory(first_name="Ana")
    response = admin_client.post(f"/contacts/{contact.pk}/delete")
    assert response["Location"] == f"/contacts/{contact.pk}/"
    html = admin_client.get(f"/contacts/{contact.pk}/").content.decode()
    assert "This contact was deleted on" in html
    assert f'action="/contacts/{contact.pk}/restore"' in html
    assert "/fields/" not in html  # a deleted record is read-only
    admin_client.post(f"/contacts/{contact.pk}/restore")
    contact.refresh_from_db()
    assert contact.deleted_at is None
    types = Event.objects.for_workspace(workspace).values_list("type", flat=True)
    assert {"contact.deleted", "contact.restored"} <= set(types)


# --- tenancy and query budgets ------------------------------------------------------------------


def test_another_workspaces_records_are_404_everywhere(
    admin_client: Client,
    other_workspace: Workspace,
    contact_factory,
    account_factory,
) -> None:
    with workspace_scope(other_workspace):
        contact = contact_factory(ws=other_workspace, first_name="Outsider")
        account = account_factory(ws=other_workspace, name="Their Co")
    for url in (
        f"/contacts/{contact.pk}/",
        f"/contacts/{contact.pk}/edit",
        f"/contacts/{contact.pk}/fields/first_name",
        f"/accounts/{account.pk}/",
        f"/accounts/{account.pk}/edit",
        f"/accounts/{account.pk}/contacts",
        f"/accounts/{account.pk}/fields/name",
    ):
        assert admin_client.get(url).status_code == 404, url
    for url, data in (
        (f"/contacts/{contact.pk}/fields/first_name", {"first_name": "Hacked"}),
        (f"/contacts/{contact.pk}/tags", {"add": "hacked"}),
        (f"/contacts/{contact.pk}/delete", {}),
        (f"/contacts/{contact.pk}/edit", {"first_name": "Hacked"}),
        (f"/accounts/{account.pk}/delete", {}),
        (f"/accounts/{account.pk}/fields/name", {"name": "Hacked"}),
    ):
        assert admin_client.post(url, data).status_code == 404, url
    with workspace_scope(other_workspace):
        contact.refresh_from_db()
        account.refresh_from_db()
        assert contact.first_name == "Outsider" and contact.deleted_at is None
        assert not contact.tags.exists()
        assert account.name == "Their Co" and account.deleted_at is None


def test_record_page_queries_are_bounded(
    admin_client: Client,
    admin: User,
    contact_factory,
    account_factory,
    custom_field,
    django_assert_max_num_queries,
) -> None:
    for key in ("a", "b", "c"):
        custom_field(key, "text")
        custom_field(key, "text", object_type="account")
    acme = account_factory(name="Acme", tags=["x", "y"])
    contact = contact_factory(
        first_name="Ana", account_id=acme.pk, owner_id=admin.pk, tags=["x", "y", "z"]
    )
    for i in range(25):
        contact_factory(first_name=f"Colleague {i}", account_id=acme.pk, tags=["x"])
    with django_assert_max_num_queries(12):
        assert admin_client.get(f"/contacts/{contact.pk}/").status_code == 200
    with django_assert_max_num_queries(12):
        assert admin_client.get(f"/accounts/{acme.pk}/").status_code == 200
    with django_assert_max_num_queries(12):
        response = admin_client.get(f"/accounts/{acme.pk}/contacts", **HTMX)
    assert response.content.decode().count('class="person"') == 10
    with django_assert_max_num_queries(11):
        admin_client.get(f"/contacts/{contact.pk}/fields/owner", **HTMX)
    with django_assert_max_num_queries(11):
        admin_client.get(f"/contacts/{contact.pk}/fields/first_name?display=1", **HTMX)
    with django_assert_max_num_queries(11):
        admin_client.get(f"/contacts/{contact.pk}/?part=header", **HTMX)


# --- accounts -----------------------------------------------------------------------------------


def test_account_page_lists_its_people_a_page_at_a_time(
    admin_client: Client, account_factory, contact_factory
) -> None:
    acme = account_factory(name="Acme", domain="acme.test", website="https://acme.test")
    for i in range(12):
        contact_factory(first_name=f"Person {i:02d}", account_id=acme.pk, job_title="Buyer")
    contact_factory(first_name="Elsewhere")
    page = admin_client.get(f"/accounts/{acme.pk}/").content.decode()
    assert "<h1>Acme</h1>" in page
    assert f'hx-get="/accounts/{acme.pk}/contacts" hx-trigger="load"' in page
    assert f'hx-get="/records/account/{acme.pk}/timeline"' in page
    people = admin_client.get(f"/accounts/{acme.pk}/contacts", **HTMX).content.decode()
    assert people.count('class="person"') == 10
    assert f'href="/contacts/new?account={acme.pk}"' in people
    more = re.search(r'hx-get="([^"]+cursor=[^"]+)"', people).group(1).replace("&amp;", "&")
    rest = admin_client.get(more, **HTMX).content.decode()
    assert rest.count('class="person"') == 2
    assert "Elsewhere" not in people + rest


def test_add_a_contact_to_an_account(
    admin_client: Client, workspace: Workspace, account_factory
) -> None:
    acme = account_factory(name="Acme")
    form = admin_client.get(f"/contacts/new?account={acme.pk}").content.decode()
    assert f'name="account" value="{acme.pk}"' in form
    assert 'value="Acme"' in form
    response = admin_client.post(
        "/contacts/new",
        {"first_name": "Bia", "account": acme.pk, "lifecycle_stage": "lead", "emails": [""]},
    )
    assert response.status_code == 302
    contact = Contact.objects.for_workspace(workspace).get()
    assert contact.account_id == acme.pk


def test_account_facts_in_place(admin_client: Client, account_factory) -> None:
    acme = account_factory(name="Acme")
    response = admin_client.post(f"/accounts/{acme.pk}/fields/name", {"name": ""}, **HTMX)
    assert response.status_code == 422
    assert field_error(response.content.decode(), "id_name") == "An account needs a name."
    response = admin_client.post(
        f"/accounts/{acme.pk}/fields/website", {"website": "acme.test"}, **HTMX
    )
    assert response.status_code == 200
    acme.refresh_from_db()
    assert acme.website == "https://acme.test"


# --- create and edit forms ----------------------------------------------------------------------


def test_new_contact_form_renders_every_field(admin_client: Client, custom_field) -> None:
    for key, kind in (
        ("t", "text"),
        ("n", "number"),
        ("m", "money"),
        ("d", "date"),
        ("b", "boolean"),
    ):
        custom_field(key, kind)
    custom_field("c", "choice", choices=[{"value": "s", "label": "Small"}])
    custom_field("mc", "multi_choice", choices=["x", "y"])
    html = admin_client.get("/contacts/new").content.decode()
    for name in (
        "first_name",
        "last_name",
        "emails",
        "phones",
        "job_title",
        "account",
        "lifecycle_stage",
        "owner",
        "source",
        "tags",
        "birthdate",
        "language",
        "street",
        "city",
        "state",
        "postal_code",
        "country",
        "cf_t",
        "cf_n",
        "cf_m",
        "cf_d",
        "cf_b",
        "cf_c",
        "cf_mc",
    ):
        assert f'name="{name}"' in html, name
    assert 'type="date" name="cf_d"' in html
    assert 'type="checkbox" name="cf_mc"' in html
    assert ">Small<" in html
    # Every input has a label.
    for input_id in re.findall(r'<(?:input|select)[^>]* id="([^"]+)"', html):
        assert f'for="{input_id}"' in html, input_id


def test_create_with_errors_answers_422_next_to_each_field_and_writes_nothing(
    admin_client: Client, workspace: Workspace, custom_field
) -> None:
    custom_field("size", "number")
    response = admin_client.post(
        "/contacts/new",
        {
            "first_name": "",
            "emails": ["ok@example.com", "bad@"],
            "phones": ["12"],
            "country": "XX",
            "cf_size": "big",
            "lifecycle_stage": "lead",
        },
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert field_error(html, "id_emails_1")
    assert field_error(html, "id_phones_0")
    assert field_error(html, "id_country")
    assert field_error(html, "id_cf_size") == "Enter a number."
    assert 'value="bad@"' in html  # what was typed stays
    assert not Contact.objects.for_workspace(workspace).exists()
    assert not Event.objects.for_workspace(workspace).filter(type="contact.created").exists()
    # Nothing that names the contact: the error sits by the first name.
    response = admin_client.post("/contacts/new", {"lifecycle_stage": "lead"})
    assert response.status_code == 422
    assert "needs a first name" in field_error(response.content.decode(), "id_first_name")


def test_create_a_contact(
    admin_client: Client, workspace: Workspace, admin: User, custom_field
) -> None:
    custom_field("budget", "money")
    custom_field("topics", "multi_choice", choices=["a", "b"])
    response = admin_client.post(
        "/contacts/new",
        {
            "first_name": "Zé",
            "last_name": "Silva",
            "emails": ["ze@example.com", "", "ze@work.example.org"],
            "phones": ["(11) 98765-4321"],
            "lifecycle_stage": "opportunity",
            "owner": admin.pk,
            "tags": "vip, fair",
            "birthdate": "1990-05-01",
            "cf_budget": "1234.5",
            "cf_topics": ["b"],
        },
    )
    contact = Contact.objects.for_workspace(workspace).get()
    assert response.status_code == 302 and response["Location"] == f"/contacts/{contact.pk}/"
    assert contact.emails == ["ze@example.com", "ze@work.example.org"]
    assert contact.phones == ["+5511987654321"]
    assert contact.custom_fields == {"budget": "1234.50", "topics": ["b"]}
    assert sorted(t.name for t in contact.tags.all()) == ["fair", "vip"]
    assert contact.owner_id == admin.pk


def test_money_typed_the_brazilian_way(
    client: Client, admin: User, workspace: Workspace, custom_field
) -> None:
    custom_field("budget", "money")
    client.force_login(admin)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "pt-br"
    client.post(
        "/contacts/new", {"first_name": "Zé", "cf_budget": "1.234,50", "lifecycle_stage": "lead"}
    )
    assert Contact.objects.for_workspace(workspace).get().custom_fields == {"budget": "1234.50"}


def test_edit_the_whole_contact(
    admin_client: Client, workspace: Workspace, contact_factory, account_factory
) -> None:
    acme = account_factory(name="Acme")
    contact = contact_factory(first_name="Ana", email="ana@example.com", account_id=acme.pk)
    form = admin_client.get(f"/contacts/{contact.pk}/edit").content.decode()
    assert 'value="ana@example.com"' in form and 'value="Acme"' in form
    response = admin_client.post(
        f"/contacts/{contact.pk}/edit",
        {
            "first_name": "Ana",
            "last_name": "Lima",
            "emails": ["ana@example.com"],
            "account": acme.pk,
            "lifecycle_stage": "customer",
        },
    )
    assert response.status_code == 302
    contact.refresh_from_db()
    assert (contact.last_name, contact.lifecycle_stage, contact.account_id) == (
        "Lima",
        "customer",
        acme.pk,
    )


def test_create_an_account_with_errors_then_correctly(
    admin_client: Client, workspace: Workspace
) -> None:
    response = admin_client.post("/accounts/new", {"name": "", "domain": "not a domain"})
    assert response.status_code == 422
    html = response.content.decode()
    assert field_error(html, "id_name") == "An account needs a name."
    assert field_error(html, "id_domain")
    assert not Account.objects.for_workspace(workspace).exists()
    response = admin_client.post("/accounts/new", {"name": "Acme", "domain": "acme.test"})
    account = Account.objects.for_workspace(workspace).get()
    assert response["Location"] == f"/accounts/{account.pk}/"


def test_readers_cannot_create(browser_client, workspace: Workspace, make_member) -> None:
    reader = make_member("reader@acme.test", Role.READ_ONLY)
    client = browser_client(reader)
    assert client.post("/contacts/new", {"first_name": "X"}).status_code == 403
    assert not Contact.objects.for_workspace(workspace).exists()
