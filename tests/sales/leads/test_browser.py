"""The leads pages in a real browser: the list (search, filters, bulk assignment), a lead's page
(status with a missing reason, a call logged on its timeline), the conversion into an existing
account and a new contact and deal; both languages, a phone's width and axe-core."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import axe_violations, log_in, screenshot
from vinculo.contacts.models import Contact
from vinculo.contacts.services import account_create
from vinculo.core.models import User
from vinculo.core.services import membership_add, workspace_create
from vinculo.core.tenancy import workspace_scope
from vinculo.sales.leads import services
from vinculo.sales.models import Lead, LeadStatus

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery staple"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 860}


@pytest.fixture
def crm(transactional_db):
    workspace = workspace_create(name="Acme Ltda", slug="acme", admin_email="ana@acme.example.com")
    user = User.objects.get(email="ana@acme.example.com")
    user.full_name = "Ana Souza"
    user.set_password(PASSWORD)
    user.save()
    bruno = User.objects.create_user(email="bruno@acme.example.com", full_name="Bruno Lima")
    membership_add(workspace=workspace, user=bruno, role="sales")
    with workspace_scope(workspace):
        account = account_create(
            workspace=workspace,
            actor=user,
            data={"name": "Padaria Pão Quente", "domain": "padaria.com.br", "city": "São Paulo"},
        )
        rows = [
            ("Maria", "Silva", "maria@padaria.com.br", "Padaria Pão Quente", "Web form", 72, 64),
            ("João", "Pereira", "joao@oficina.com.br", "Oficina do João", "Fair", 35, None),
            ("Heloísa", "Viana", "helo@serraazul.com.br", "Laticínios Serra Azul", "Ads", 88, 81),
            ("Otávio", "Ramos", "otavio@exemplo.com.br", "", "Referral", 12, 9),
        ]
        leads = []
        for first, last, email, company, source, score, predicted in rows:
            lead = services.lead_create(
                workspace=workspace,
                actor=None,
                data={
                    "first_name": first,
                    "last_name": last,
                    "email": email,
                    "phone": "(11) 98765-4321",
                    "company_name": company,
                    "source": source,
                    "utm_source": "google",
                    "utm_campaign": "primavera",
                    "country": "BR",
                    "state": "SP",
                },
                source_channel="webform",
            )
            leads.append((lead, score, predicted))
        services.lead_assign(
            workspace=workspace, actor=user, lead_id=leads[2][0].pk, owner_id=bruno.pk
        )
        # Scores as the scoring would leave them (set last: events rescore their leads).
        for lead, score, predicted in leads:
            Lead.objects.filter(pk=lead.pk).update(score=score, predicted_score=predicted)
        leads = [lead for lead, _score, _predicted in leads]
    return {
        "workspace": workspace,
        "user": user,
        "bruno": bruno,
        "account": account,
        "leads": leads,
    }


def _settle(page) -> None:
    expect(page.locator(".htmx-request, .htmx-added, .htmx-settling")).to_have_count(0)
    page.evaluate("document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0)")


def _language(page, code: str) -> None:
    page.context.add_cookies([{"name": "django_language", "value": code, "url": page.base_url}])


def _accept_422(page) -> None:
    page.problems[:] = [p for p in page.problems if "status of 422" not in p]


def _shots(page, name: str) -> None:
    _settle(page)
    assert axe_violations(page) == []
    screenshot(page, name)
    page.set_viewport_size(PHONE)
    _settle(page)
    screenshot(page, f"{name}-390")
    page.set_viewport_size(DESKTOP)


@pytest.mark.django_db(transaction=True)
def test_work_a_lead_from_the_list_to_its_conversion(page, crm):
    maria = crm["leads"][0]
    log_in(page, crm["user"].email, PASSWORD)
    _language(page, "en")

    page.goto(page.base_url + "/leads/")
    expect(page.get_by_role("heading", name="Leads", level=1)).to_be_visible()
    expect(page.locator("table.leads-table tbody tr")).to_have_count(4)
    _shots(page, "leads-list-en")

    # Search as one types; the address bar keeps the search.
    page.locator("#filter-q").fill("padaria")
    expect(page.locator("table.leads-table tbody tr")).to_have_count(1)
    expect(page).to_have_url(page.base_url + "/leads/?q=padaria&sort=-created_at")
    # Sorted by score, the best first.
    page.goto(page.base_url + "/leads/?sort=-score")
    expect(page.locator("table.leads-table tbody tr").first).to_contain_text("Heloísa Viana")

    # Bulk assignment of two rows.
    page.locator(f'input[name="ids"][value="{crm["leads"][1].pk}"]').check()
    page.locator(f'input[name="ids"][value="{crm["leads"][3].pk}"]').check()
    page.locator("#bulk-owner").select_option(str(crm["bruno"].pk))
    page.locator("#bulk-form button[type=submit]").click()
    expect(page.locator("#list-notice")).to_contain_text("2 leads assigned.")
    assert set(
        Lead.all_tenants.filter(pk__in=[crm["leads"][1].pk, crm["leads"][3].pk]).values_list(
            "owner_id", flat=True
        )
    ) == {crm["bruno"].pk}

    # The lead's page: a disqualification without a reason is refused next to its input.
    page.goto(f"{page.base_url}/leads/{maria.pk}/")
    expect(page.get_by_role("heading", name="Maria Silva", level=1)).to_be_visible()
    expect(page.get_by_role("heading", name="Timeline")).to_be_visible()
    _shots(page, "lead-detail-en")
    page.locator(".lead-disqualify summary").click()
    page.locator(".lead-disqualify button[type=submit]").click()
    expect(page.locator("#status-reason_error")).to_have_text("Say why the lead is disqualified.")
    _accept_422(page)

    # A call logged on its timeline is the first contact: the lead is being worked.
    page.goto(f"{page.base_url}/leads/{maria.pk}/")
    page.locator('[data-quick-action="call"]').click()
    page.locator("form [name=outcome]").fill("Connected")
    page.locator("form [name=outcome]").press("Enter")
    expect(page.locator(".tl-entries")).to_contain_text("Connected")
    page.reload()
    expect(page.locator(".record-header .badge")).to_have_text("Working")

    # Conversion: the account is found by its name, the contact is new.
    page.locator(f'a[href="/leads/{maria.pk}/convert"]').click()
    expect(page.locator(".convert-form")).to_contain_text("has the same name")
    _shots(page, "lead-convert-en")
    page.locator("#convert-amount").fill("12500")
    page.locator(".convert-form button[type=submit]").click()
    expect(page.locator(".lead-converted")).to_contain_text("Converted on")
    contact = Contact.all_tenants.get(email="maria@padaria.com.br")
    assert contact.account_id == crm["account"].pk
    maria.refresh_from_db()
    assert maria.status == LeadStatus.CONVERTED and maria.converted_deal_id is not None
    _shots(page, "lead-converted-en")

    # The same pages in Portuguese.
    _language(page, "pt-br")
    heloisa = crm["leads"][2]
    page.goto(page.base_url + "/leads/")
    expect(page.locator("html")).to_have_attribute("lang", "pt-br")
    _shots(page, "leads-list-pt-br")
    page.goto(f"{page.base_url}/leads/{heloisa.pk}/")
    expect(page.get_by_role("heading", name="Heloísa Viana", level=1)).to_be_visible()
    _shots(page, "lead-detail-pt-br")
    page.goto(f"{page.base_url}/leads/{heloisa.pk}/convert")
    _shots(page, "lead-convert-pt-br")


@pytest.mark.django_db(transaction=True)
def test_the_empty_list_and_the_new_lead_form(page, crm):
    with workspace_scope(crm["workspace"]):
        Lead.objects.all().delete()
    log_in(page, crm["user"].email, PASSWORD)
    _language(page, "en")
    page.goto(page.base_url + "/leads/")
    expect(page.get_by_role("heading", name="No leads yet")).to_be_visible()
    _shots(page, "leads-empty-en")

    page.get_by_role("link", name="Add your first lead").click()
    page.locator("#id_email").fill("maria@padaria")
    page.locator(".record-form button[type=submit]").click()
    expect(page.locator("#id_email_error")).to_be_visible()
    _accept_422(page)
    _shots(page, "lead-form-errors-en")
    page.locator("#id_first_name").fill("Maria")
    page.locator("#id_email").fill("maria@padaria.com.br")
    page.locator(".record-form button[type=submit]").click()
    expect(page.get_by_role("heading", name="Maria", level=1)).to_be_visible()
