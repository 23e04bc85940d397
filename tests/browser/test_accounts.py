"""The accounts pages in a real browser: the list, an account's page with its people (and
adding one more), facts edited in place, both languages, a phone and axe-core."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import axe_violations, log_in, screenshot
from vinculo.contacts.models import Contact
from vinculo.contacts.services import account_create, contact_create
from vinculo.core.models import User
from vinculo.core.services import workspace_create
from vinculo.core.tenancy import workspace_scope

PASSWORD = "correct horse battery staple"


@pytest.fixture
def crm(transactional_db):
    workspace = workspace_create(name="Acme Ltda", slug="acme", admin_email="ana@acme.example.com")
    user = User.objects.get(email="ana@acme.example.com")
    user.full_name = "Ana Souza"
    user.set_password(PASSWORD)
    user.save()
    with workspace_scope(workspace):
        serra = account_create(
            workspace=workspace,
            actor=user,
            data={
                "name": "Laticínios Serra Azul",
                "domain": "serraazul.com.br",
                "website": "https://serraazul.com.br",
                "industry": "Alimentos",
                "size": "51-200",
                "phone": "+55 81 3222-1000",
                "city": "Recife",
                "tags": ["estratégica"],
            },
        )
        for name in ("Mercado Boa Vista", "Construtora Horizonte", "Clínica Vida Plena"):
            account_create(workspace=workspace, actor=user, data={"name": name, "city": "Olinda"})
        for i, (first, last) in enumerate(
            [
                ("Heloísa", "Viana"),
                ("Márcia", "Lopes"),
                ("Renato", "Dias"),
                ("Paula", "Freitas"),
                ("Igor", "Campos"),
                ("Sofia", "Teixeira"),
                ("Caio", "Moura"),
                ("Lívia", "Prado"),
                ("Tiago", "Rocha"),
                ("Nina", "Alves"),
                ("Davi", "Costa"),
                ("Ester", "Braga"),
            ]
        ):
            contact_create(
                workspace=workspace,
                actor=user,
                data={
                    "first_name": first,
                    "last_name": last,
                    "account_id": serra.pk,
                    "job_title": "Compras" if i % 2 else "Financeiro",
                    "emails": [
                        f"{first.lower()}@serraazul.com.br".replace("í", "i").replace("á", "a")
                    ],
                    "lifecycle_stage": "customer" if i % 3 else "opportunity",
                },
            )
    return {"workspace": workspace, "user": user, "account": serra}


def _swapped(page) -> None:
    """Wait until htmx has settled what it swapped in (and wired up its attributes)."""
    expect(page.locator(".htmx-request, .htmx-added, .htmx-settling")).to_have_count(0)


def _settle(page) -> None:
    expect(page.locator(".htmx-request, .htmx-added, .htmx-settling")).to_have_count(0)
    page.evaluate("document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0)")


def _no_serious_violations(page) -> None:
    violations = axe_violations(page)
    assert violations == [], violations


@pytest.mark.django_db(transaction=True)
def test_account_page_shows_its_contacts(page, crm):
    serra = crm["account"]
    log_in(page, crm["user"].email, PASSWORD)
    page.goto(page.base_url + "/accounts/")
    expect(page.get_by_role("heading", name="Empresas")).to_be_visible()
    expect(page.locator("table.records tbody tr")).to_have_count(4)
    _settle(page)
    _no_serious_violations(page)
    screenshot(page, "account-list-pt-br")

    page.get_by_role("link", name="Laticínios Serra Azul").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Laticínios Serra Azul")
    expect(page.get_by_role("link", name="https://serraazul.com.br")).to_be_visible()
    people = page.locator("#account-contacts")
    expect(people.locator(".person")).to_have_count(10)
    expect(people).to_contain_text("Heloísa Viana")
    _swapped(page)
    people.get_by_role("button", name="Mostrar mais pessoas").click()
    expect(people.locator(".person")).to_have_count(12)
    expect(page.get_by_role("heading", name="Linha do tempo")).to_be_visible()
    _settle(page)
    _no_serious_violations(page)
    screenshot(page, "account-record-pt-br")

    # A fact in place: the industry.
    page.get_by_role("button", name="Alterar Setor:").click()
    _swapped(page)
    page.locator("#fact-industry input[name=industry]").fill("Laticínios")
    page.locator("#fact-industry input[name=industry]").press("Enter")
    expect(page.locator("#fact-industry")).to_contain_text("Laticínios")
    expect(page.locator(".record-sub")).to_contain_text("Laticínios")

    # Add one more person to this account: the form knows the company.
    people.get_by_role("link", name="Adicionar contato a esta empresa").click()
    expect(page.get_by_role("combobox", name="Empresa", exact=True)).to_have_value(
        "Laticínios Serra Azul"
    )
    page.get_by_label("Nome", exact=True).fill("Vera")
    page.get_by_label("Sobrenome").fill("Gomes")
    page.locator(".record-form").get_by_role("button", name="Criar contato").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Vera Gomes")
    vera = Contact.objects.for_workspace(crm["workspace"]).get(first_name="Vera")
    assert vera.account_id == serra.pk
    page.get_by_role("link", name="Laticínios Serra Azul").first.click()
    expect(people.locator(".person")).to_have_count(10)
    _swapped(page)
    people.get_by_role("button", name="Mostrar mais pessoas").click()
    expect(people).to_contain_text("Vera Gomes")

    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    expect(people.locator(".person")).to_have_count(10)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    _settle(page)
    _no_serious_violations(page)
    screenshot(page, "account-record-390")
    page.goto(page.base_url + "/accounts/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    _settle(page)
    screenshot(page, "account-list-390")

    page.set_viewport_size({"width": 1280, "height": 860})
    page.context.add_cookies([{"name": "django_language", "value": "en", "url": page.base_url}])
    page.goto(page.base_url + "/accounts/")
    expect(page.get_by_role("heading", name="Accounts")).to_be_visible()
    _settle(page)
    screenshot(page, "account-list-en")
    page.goto(f"{page.base_url}/accounts/{serra.pk}/")
    expect(people.get_by_role("heading", name="People")).to_be_visible()
    expect(people.locator(".person")).to_have_count(10)
    _settle(page)
    _no_serious_violations(page)
    screenshot(page, "account-record-en")
