"""The leads pages: list (filters, sort, search, paging, empty state, bulk assignment), the
new-lead form with its duplicate warning, the lead's page and its actions, the conversion
page; tenancy and query counts."""

from __future__ import annotations

import pytest
from django.test import Client

from vinculo.contacts.models import Contact
from vinculo.contacts.services import contact_create
from vinculo.core.models import Event, Team
from vinculo.core.roles import Role
from vinculo.sales.leads import services
from vinculo.sales.models import Lead, LeadStatus

from .conftest import HTMX, login

# Session, user, workspace and membership; the page of leads with owner and team; the filter
# pickers (members, teams, sources). Fixed whatever the number of rows.
LIST_PAGE_BUDGET = 12
# Besides those: the lead, custom fields, consent entries.
DETAIL_PAGE_BUDGET = 12


def html(response) -> str:
    return response.content.decode()


# --- the list ---------------------------------------------------------------------------------


def test_empty_list_invites_to_add_the_first_lead(staff):
    r = staff.get("/leads/")
    assert r.status_code == 200
    page = html(r)
    assert "No leads yet" in page
    assert 'href="/leads/new"' in page


def test_list_shows_the_columns_and_filters(staff, workspace, admin, lead, lead_factory):
    Lead.objects.filter(pk=lead.pk).update(score=42, predicted_score=63, owner=admin)
    other = lead_factory(first_name="Zeca", source="Fair")

    r = staff.get("/leads/")
    page = html(r)
    for text in ("Maria Silva", "Padaria Pão Quente", "New", "42", "63%", "Web form", "Zeca"):
        assert text in page, text
    assert admin.display_name in page
    # The source filter suggests the sources in use, each once, in order.
    datalist = page.split('id="lead-sources"')[1].split("</datalist>")[0]
    assert datalist.count("<option") == 2
    assert datalist.index('"Fair"') < datalist.index('"Web form"')

    page = html(staff.get("/leads/", {"source": "Fair"}))
    assert "Zeca" in page and "Maria Silva" not in page
    assert "Source: <strong>Fair</strong>" in page
    page = html(staff.get("/leads/", {"q": "padaria"}))
    assert "Maria Silva" in page and "Zeca" not in page
    assert other.pk


def test_sort_headers_and_bad_filters(staff, lead):
    page = html(staff.get("/leads/", {"sort": "-score"}))
    assert 'aria-sort="descending"' in page
    assert "sort=score" in page

    r = staff.get("/leads/", {"status": "lost", "score_min": "x"})
    assert r.status_code == 422
    assert "Some filters are not valid" in html(r)


def test_filters_answer_the_results_part_to_htmx(staff, lead):
    r = staff.get("/leads/", {"q": "maria"}, HTTP_HX_TARGET="results", **HTMX)
    assert r.status_code == 200
    page = html(r)
    assert page.lstrip().startswith('<div id="results"')
    assert r["HX-Push-Url"] == "/leads/?q=maria"


def test_load_more_appends_the_next_page(staff, lead_factory):
    for i in range(55):
        lead_factory(first_name=f"P{i:02d}")
    page = html(staff.get("/leads/"))
    assert page.count('name="ids"') == 50
    next_url = page.split('id="more-row"')[1].split('hx-get="')[1].split('"')[0]
    more = staff.get(next_url.replace("&amp;", "&"), HTTP_HX_TARGET="more-row", **HTMX)
    assert more.status_code == 200
    assert html(more).count('name="ids"') == 5


def test_bulk_assign_from_the_list(staff, workspace, seller, lead_factory):
    a, b = lead_factory(), lead_factory()
    r = staff.post(
        "/leads/bulk", {"ids": [a.pk, b.pk], "owner": str(seller.pk)}, HTTP_HX_TARGET="x", **HTMX
    )
    assert r.status_code == 200
    assert "2 leads assigned." in html(r)
    assert r["HX-Trigger"] == '{"records-changed": true}'
    assert set(Lead.objects.values_list("owner_id", flat=True)) == {seller.pk}

    r = staff.post("/leads/bulk", {"ids": [a.pk]}, **HTMX)
    assert r.status_code == 422 and "Choose an owner." in html(r)


def test_list_queries_do_not_grow(
    staff, workspace, admin, lead_factory, django_assert_max_num_queries
):
    team = Team.objects.create(workspace=workspace, name="South")
    for i in range(40):
        lead_factory(owner_id=admin.pk if i % 2 else None, team_id=team.pk, source=f"S{i % 4}")
    staff.get("/leads/")
    with django_assert_max_num_queries(LIST_PAGE_BUDGET):
        r = staff.get("/leads/")
    assert html(r).count('name="ids"') == 40


def test_a_role_without_leads_gets_403(client, make_member):
    login(client, make_member("svc@acme.test", Role.SERVICE))
    assert client.get("/leads/").status_code == 403
    assert client.get("/leads/new").status_code == 403


# --- new lead ---------------------------------------------------------------------------------


def test_new_lead_form_errors_come_back_next_to_their_fields(staff):
    r = staff.post("/leads/new", {"first_name": "Ana", "email": "ana@", "country": "XX"})
    assert r.status_code == 422
    page = html(r)
    assert "Enter a valid email address" in page
    assert "Enter an ISO 3166 two-letter code such as BR." in page
    assert not Lead.objects.exists()


def test_new_lead_is_created_and_duplicates_are_announced(staff, workspace, admin, lead):
    contact_create(workspace=workspace, actor=admin, data={"first_name": "M", "email": "x@y.com"})
    r = staff.post(
        "/leads/new",
        {"first_name": "Xavier", "email": "X@Y.com", "owner": str(admin.pk), "source": "Fair"},
        follow=True,
    )
    assert r.status_code == 200
    created = Lead.objects.get(first_name="Xavier")
    assert r.redirect_chain[-1][0] == f"/leads/{created.pk}/"
    page = html(r)
    assert "x@y.com was already known: the contact M." in page
    assert created.owner == admin and created.source == "Fair"


def test_duplicate_check_partial(staff, workspace, admin, lead):
    contact_create(
        workspace=workspace,
        actor=admin,
        data={"first_name": "Ana", "email": "maria@padaria.com.br"},
    )
    page = html(staff.get("/leads/duplicates", {"email": "Maria@Padaria.com.br"}))
    assert "already belongs to the open lead" in page and "Maria Silva" in page
    assert "already belongs to the contact" in page
    assert html(staff.get("/leads/duplicates", {"email": "nobody@else.com"})).strip() == ""
    assert html(staff.get("/leads/duplicates", {"email": "not an email"})).strip() == ""


# --- the lead's page --------------------------------------------------------------------------


def test_detail_page_shows_the_lead_and_its_slots(staff, workspace, lead):
    from vinculo.contacts.models import ConsentEntry

    ConsentEntry.objects.create(
        workspace=workspace,
        lead=lead,
        purpose="email_marketing",
        granted=True,
        wording="Yes please",
        source="form",
    )
    Lead.objects.filter(pk=lead.pk).update(
        score=35, score_reasons=[{"label": "Country is Brazil", "points": 15}]
    )
    r = staff.get(f"/leads/{lead.pk}/")
    assert r.status_code == 200
    page = html(r)
    for text in (
        "Maria Silva",
        "Padaria Pão Quente",
        "maria@padaria.com.br",
        "spring",
        "Email marketing",
        "Country is Brazil",
        "Qualify",
        "Disqualify",
        "Start working",
        f'/leads/{lead.pk}/convert"',
        f'/records/lead/{lead.pk}/timeline"',
    ):
        assert text in page, text


def test_detail_page_queries_do_not_grow(staff, workspace, lead, django_assert_max_num_queries):
    from vinculo.contacts.models import ConsentEntry

    for purpose in ("email_marketing", "sms_marketing", "whatsapp"):
        ConsentEntry.objects.create(
            workspace=workspace,
            lead=lead,
            purpose=purpose,
            granted=True,
            wording="ok",
            source="form",
        )
    staff.get(f"/leads/{lead.pk}/")  # the session is written on the first page after login
    with django_assert_max_num_queries(DETAIL_PAGE_BUDGET):
        assert staff.get(f"/leads/{lead.pk}/").status_code == 200


def test_a_fact_is_edited_in_place(staff, lead):
    form = staff.get(f"/leads/{lead.pk}/fields/job_title", **HTMX)
    assert form.status_code == 200 and 'name="job_title"' in html(form)

    r = staff.post(f"/leads/{lead.pk}/fields/job_title", {"job_title": "Owner"}, **HTMX)
    assert r.status_code == 200 and "Owner" in html(r)
    assert "timeline-changed" in r["HX-Trigger"]
    lead.refresh_from_db()
    assert lead.job_title == "Owner"

    bad = staff.post(f"/leads/{lead.pk}/fields/email", {"email": "nope"}, **HTMX)
    assert bad.status_code == 422 and "Enter a valid email address" in html(bad)
    assert staff.get(f"/leads/{lead.pk}/fields/score", **HTMX).status_code == 404


def test_disqualify_needs_a_reason_then_works(staff, lead):
    r = staff.post(f"/leads/{lead.pk}/status", {"status": "disqualified", "reason": ""})
    assert r.status_code == 422
    assert "Say why the lead is disqualified." in html(r)

    r = staff.post(
        f"/leads/{lead.pk}/status", {"status": "disqualified", "reason": "Spam"}, follow=True
    )
    assert "Disqualified: Spam" in html(r)
    assert Lead.objects.get(pk=lead.pk).status == LeadStatus.DISQUALIFIED


def test_assign_from_the_lead_page(staff, seller, lead):
    r = staff.post(f"/leads/{lead.pk}/assign", {"owner": str(seller.pk)}, follow=True)
    assert f"Assigned to {seller.display_name}." in html(r)
    assert Event.objects.filter(type="lead.assigned", subject_id=lead.pk).exists()


def test_delete_and_restore_from_the_page(staff, lead):
    page = html(staff.post(f"/leads/{lead.pk}/delete", follow=True))
    assert "This lead was deleted on" in page
    staff.post(f"/leads/{lead.pk}/restore")
    assert Lead.objects.get(pk=lead.pk).deleted_at is None


# --- conversion -------------------------------------------------------------------------------


def test_convert_page_shows_what_was_found(staff, workspace, admin, lead):
    contact = contact_create(
        workspace=workspace,
        actor=admin,
        data={"first_name": "Maria S.", "email": "maria@padaria.com.br"},
    )
    page = html(staff.get(f"/leads/{lead.pk}/convert"))
    assert "Maria S." in page and "already has the address" in page
    assert f'value="{contact.pk}"' in page
    assert "“Padaria Pão Quente” will be created" in page


def test_convert_from_the_page_and_twice(staff, lead):
    r = staff.post(
        f"/leads/{lead.pk}/convert",
        {"create_deal": "on", "deal_name": "Ovens", "amount": "1500"},
        follow=True,
    )
    assert r.status_code == 200
    page = html(r)
    assert "Converted on" in page and "Maria Silva" in page
    contact = Contact.objects.get()
    assert f'href="/contacts/{contact.pk}/"' in page

    again = staff.get(f"/leads/{lead.pk}/convert", follow=True)
    assert "This lead was already converted." in html(again)
    assert Contact.objects.count() == 1


def test_convert_form_errors_are_422(staff, lead):
    r = staff.post(f"/leads/{lead.pk}/convert", {"create_deal": "on", "amount": "-3"})
    assert r.status_code == 422
    assert Lead.objects.get(pk=lead.pk).status == "new"


# --- tenancy ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/leads/{pk}/",
        "/leads/{pk}/convert",
        "/leads/{pk}/fields/job_title",
        "/records/lead/{pk}/timeline",
    ],
)
def test_another_workspace_gets_404(client: Client, other_admin, lead, path):
    login(client, other_admin)
    assert client.get(path.format(pk=lead.pk)).status_code == 404


def test_another_workspace_cannot_change_a_lead(client: Client, other_admin, lead):
    login(client, other_admin)
    for path, data in (
        ("/leads/{pk}/status", {"status": "working"}),
        ("/leads/{pk}/assign", {"owner": ""}),
        ("/leads/{pk}/convert", {}),
        ("/leads/{pk}/delete", {}),
        ("/leads/{pk}/fields/job_title", {"job_title": "x"}),
    ):
        r = client.post(path.format(pk=lead.pk), data)
        assert r.status_code in (404, 302), path
    lead.refresh_from_db()
    assert (lead.status, lead.job_title, lead.deleted_at) == ("new", "", None)
    assert services.lead_for_output(workspace=lead.workspace, lead_id=lead.pk).owner is None
