"""The contacts pages in a real browser: create a contact (first with mistakes), edit a fact in
place, save a filtered view and reopen it, bulk-tag two contacts, the list on a phone, both
languages and axe-core."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import axe_violations, log_in, screenshot
from vinculo.contacts.models import Contact
from vinculo.contacts.services import account_create, contact_create
from vinculo.core.models import SavedView, Tag, User
from vinculo.core.services import membership_add, workspace_create
from vinculo.core.tenancy import workspace_scope

PASSWORD = "correct horse battery staple"


@pytest.fixture
def crm(transactional_db):
    workspace = workspace_create(name="Acme Ltda", slug="acme", admin_email="ana@acme.example.com")
    user = User.objects.get(email="ana@acme.example.com")
    user.full_name = "Ana Souza"
    user.set_password(PASSWORD)
    user.save()
    colleague = User.objects.create_user(email="bruno@acme.example.com", full_name="Bruno Lima")
    membership_add(workspace=workspace, user=colleague, role="sales")
    with workspace_scope(workspace):
        acme = account_create(
            workspace=workspace,
            actor=user,
            data={"name": "Laticínios Serra Azul", "domain": "serraazul.com.br", "city": "Recife"},
        )
        people = [
            ("Heloísa", "Viana", "customer", "helo@serraazul.com.br", acme.pk, ["vip"]),
            ("João", "Pereira", "lead", "joao@exemplo.com.br", None, []),
            ("Márcia", "Lopes", "opportunity", "marcia@serraazul.com.br", acme.pk, []),
            ("Otávio", "Ramos", "customer", "otavio@exemplo.com.br", None, ["feira"]),
            ("Beatriz", "Nunes", "subscriber", "bia@exemplo.com.br", None, []),
        ]
        contacts = [
            contact_create(
                workspace=workspace,
                actor=user,
                data={
                    "first_name": first,
                    "last_name": last,
                    "lifecycle_stage": stage,
                    "emails": [email],
                    "phones": ["+55 81 99876-5432"],
                    "account_id": account,
                    "tags": tags,
                    "job_title": "Compras",
                },
            )
            for first, last, stage, email, account, tags in people
        ]
    return {"workspace": workspace, "user": user, "account": acme, "contacts": contacts}


def _settle(page) -> None:
    """Nothing focused before a screenshot (Playwright hides a caret with an injected style the
    CSP blocks), and htmx done with what it swapped in."""
    expect(page.locator(".htmx-request, .htmx-added, .htmx-settling")).to_have_count(0)
    page.evaluate("document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0)")


def _swapped(page) -> None:
    """Wait until htmx has settled what it swapped in (and wired up its attributes)."""
    expect(page.locator(".htmx-request, .htmx-added, .htmx-settling")).to_have_count(0)


def _accept_422(page) -> None:
    """Chromium logs every 4xx answer as a console error; a 422 with field errors is the
    designed answer to a form with mistakes."""
    page.problems[:] = [p for p in page.problems if "status of 422" not in p]


def _english(page) -> None:
    page.context.add_cookies([{"name": "django_language", "value": "en", "url": page.base_url}])


def _no_serious_violations(page) -> None:
    violations = axe_violations(page)
    assert violations == [], violations


@pytest.mark.django_db(transaction=True)
def test_create_a_contact_with_mistakes_then_correctly(page, crm):
    log_in(page, crm["user"].email, PASSWORD)
    page.goto(page.base_url + "/contacts/")
    page.get_by_role("link", name="Novo contato").click()
    expect(page.get_by_role("heading", name="Novo contato")).to_be_visible()

    # No name and no email: the error sits by the first name.
    page.locator(".record-form").get_by_role("button", name="Criar contato").click()
    expect(page.locator("#id_first_name_error")).to_contain_text("precisa de nome")
    # A bad email: the error sits by that email.
    page.get_by_label("Sobrenome").fill("Albuquerque")
    page.locator("#id_emails_0").fill("carla@")
    page.locator(".record-form").get_by_role("button", name="Criar contato").click()
    expect(page.locator("#id_emails_0_error")).to_have_text(
        "Digite um e-mail válido, como nome@exemplo.com.br."
    )
    expect(page.locator("#id_emails_0")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("alert")).to_be_visible()
    _accept_422(page)
    assert (
        not Contact.objects.for_workspace(crm["workspace"]).filter(last_name="Albuquerque").exists()
    )
    _settle(page)
    _no_serious_violations(page)
    screenshot(page, "contact-form-errors-pt-br")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "contact-form-errors-390")
    page.set_viewport_size({"width": 1280, "height": 860})

    page.get_by_label("Nome", exact=True).fill("Carla")
    page.locator("#id_emails_0").fill("carla@serraazul.com.br")
    page.get_by_role("button", name="+ Adicionar outro e-mail").click()
    page.locator("#id_emails_1").fill("carla.pessoal@exemplo.com.br")
    # The company comes from a picker that searches as one types.
    page.get_by_role("combobox", name="Empresa", exact=True).fill("serra")
    page.get_by_role("option", name="Laticínios Serra Azul").click()
    page.get_by_label("Estágio do ciclo de vida").select_option("opportunity")
    page.get_by_label("Etiquetas").fill("feira, vip")
    page.locator(".record-form").get_by_role("button", name="Criar contato").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Carla Albuquerque")
    expect(page.locator(".record-sub")).to_contain_text("Laticínios Serra Azul")
    expect(page.get_by_role("link", name="carla@serraazul.com.br")).to_have_attribute(
        "href", "mailto:carla@serraazul.com.br"
    )
    carla = Contact.objects.for_workspace(crm["workspace"]).get(last_name="Albuquerque")
    assert carla.emails == ["carla@serraazul.com.br", "carla.pessoal@exemplo.com.br"]
    assert carla.account_id == crm["account"].pk
    with workspace_scope(crm["workspace"]):
        assert sorted(t.name for t in carla.tags.all()) == ["feira", "vip"]

    # The same form in English, with its mistakes.
    _english(page)
    page.goto(page.base_url + "/contacts/new")
    page.locator("#id_emails_0").fill("x@")
    page.locator(".record-form").get_by_role("button", name="Create contact").click()
    expect(page.locator("#id_emails_0_error")).to_be_visible()
    _accept_422(page)
    _settle(page)
    screenshot(page, "contact-form-errors-en")


@pytest.mark.django_db(transaction=True)
def test_edit_facts_in_place(page, crm):
    heloisa = crm["contacts"][0]
    log_in(page, crm["user"].email, PASSWORD)
    page.goto(f"{page.base_url}/contacts/{heloisa.pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Heloísa Viana")
    # The timeline loads into the page.
    expect(page.get_by_role("heading", name="Linha do tempo")).to_be_visible()

    page.get_by_role("button", name="Alterar Cargo:").click()
    _swapped(page)
    field = page.locator("#fact-job_title input[name=job_title]")
    expect(field).to_be_focused()
    field.fill("Diretora de compras")
    field.press("Enter")
    expect(page.locator("#fact-job_title")).to_contain_text("Diretora de compras")
    expect(page.locator(".record-sub")).to_contain_text("Diretora de compras")
    expect(page.get_by_role("button", name="Alterar Cargo:")).to_be_focused()
    heloisa.refresh_from_db()
    assert heloisa.job_title == "Diretora de compras"

    # A mistake stays in the small form with its error; Escape gives up.
    page.get_by_role("button", name="Alterar E-mails:").click()
    _swapped(page)
    page.locator("#id_emails_0").fill("helo@")
    page.locator("#id_emails_0").press("Enter")
    expect(page.locator("#id_emails_0_error")).to_be_visible()
    _accept_422(page)
    _swapped(page)
    page.locator("#id_emails_0").press("Escape")
    expect(page.locator("#fact-emails")).to_contain_text("helo@serraazul.com.br")
    heloisa.refresh_from_db()
    assert heloisa.emails == ["helo@serraazul.com.br"]

    # The stage, by keyboard too.
    page.get_by_role("button", name="Alterar Estágio do ciclo de vida:").click()
    _swapped(page)
    page.locator("#fact-lifecycle_stage select").select_option("churned")
    page.locator("#fact-lifecycle_stage").get_by_role("button", name="Salvar").click()
    expect(page.locator(".record-header .badge")).to_have_text("Ex-cliente")

    # Tags in place.
    page.get_by_label("Adicionar etiqueta").fill("reunião em março")
    page.get_by_label("Adicionar etiqueta").press("Enter")
    expect(page.locator("#record-tags")).to_contain_text("reunião em março")
    page.get_by_role("button", name="Remover a etiqueta vip").click()
    expect(page.locator("#record-tags .chip")).to_have_count(1)

    _settle(page)
    _no_serious_violations(page)
    screenshot(page, "contact-record-pt-br")
    page.set_viewport_size({"width": 390, "height": 844})
    _settle(page)
    screenshot(page, "contact-record-390")
    page.set_viewport_size({"width": 1280, "height": 860})
    _english(page)
    page.reload()
    expect(page.get_by_role("heading", name="About")).to_be_visible()
    _settle(page)
    _no_serious_violations(page)
    screenshot(page, "contact-record-en")


@pytest.mark.django_db(transaction=True)
def test_save_a_filtered_view_and_reopen_it(page, crm):
    log_in(page, crm["user"].email, PASSWORD)
    page.goto(page.base_url + "/contacts/")
    expect(page.locator("table.records tbody tr")).to_have_count(5)

    page.locator(".filter-panel > summary").click()
    page.get_by_role("search").get_by_label("Estágio do ciclo de vida").select_option("customer")
    expect(page.locator("table.records tbody tr")).to_have_count(2)
    expect(page).to_have_url(page.base_url + "/contacts/?lifecycle_stage=customer")
    page.get_by_role("searchbox", name="Buscar").fill("otá")
    expect(page.locator("table.records tbody tr")).to_have_count(1)
    expect(page).to_have_url(page.base_url + "/contacts/?q=ot%C3%A1&lifecycle_stage=customer")
    chips = page.locator(".active-filters .chip")
    expect(chips).to_have_count(2)

    page.locator(".list-actions summary", has_text="Salvar visualização").click()
    page.get_by_label("Nome da visualização").fill("Clientes Otávio")
    page.get_by_label("Compartilhar com toda a equipe").check()
    page.locator(".list-actions form").get_by_role("button", name="Salvar visualização").click()
    expect(page.locator(".alert-ok, .alert-success, .alert-info").first).to_contain_text(
        "Clientes Otávio"
    )
    view = SavedView.objects.for_workspace(crm["workspace"]).get()
    assert view.query == {"q": "otá", "lifecycle_stage": "customer"}
    assert view.shared is True

    # Away and back through the views menu.
    page.goto(page.base_url + "/contacts/")
    expect(page.locator("table.records tbody tr")).to_have_count(5)
    page.locator(".views-menu > summary").click()
    page.get_by_role("link", name="Clientes Otávio").click()
    expect(page.locator("table.records tbody tr")).to_have_count(1)
    expect(page.locator("table.records")).to_contain_text("Otávio Ramos")
    expect(page.get_by_role("searchbox", name="Buscar")).to_have_value("otá")

    # Removing a filter is one click; the back button brings it back.
    page.get_by_role("link", name="Remover o filtro Buscar").click()
    expect(page.locator("table.records tbody tr")).to_have_count(2)
    page.go_back()
    expect(page.locator("table.records tbody tr")).to_have_count(1)

    # Sorting by a header and removing chips one after another keep working.
    _swapped(page)
    page.locator("table.records thead").get_by_role("link", name="Nome").click()
    expect(page.locator("table.records th[aria-sort=descending]")).to_have_count(1)
    page.get_by_role("link", name="Remover o filtro Buscar").click()
    expect(page.locator("table.records tbody tr")).to_have_count(2)
    expect(page.locator("table.records tbody tr").first).to_contain_text("Otávio Ramos")
    page.get_by_role("link", name="Remover o filtro Estágio do ciclo de vida").click()
    expect(page.locator("table.records tbody tr")).to_have_count(5)
    assert "sort=-name" in page.url and "lifecycle_stage" not in page.url


@pytest.mark.django_db(transaction=True)
def test_bulk_tag_two_contacts(page, crm):
    log_in(page, crm["user"].email, PASSWORD)
    page.goto(page.base_url + "/contacts/")
    bar = page.locator("#bulk-form")
    expect(bar).to_be_hidden()
    page.get_by_role("checkbox", name="Selecionar João Pereira").check()
    page.get_by_role("checkbox", name="Selecionar Beatriz Nunes").check()
    expect(bar).to_be_visible()
    expect(bar.locator("[data-bulk-count]")).to_have_text("2 selecionados")
    bar.get_by_label("Etiqueta a adicionar").fill("Black Friday")
    bar.get_by_role("button", name="Adicionar etiqueta").click()
    expect(page.locator("#list-notice")).to_contain_text("2 contatos etiquetados.")
    # The list refreshed itself: the tags show and the selection is gone.
    expect(page.locator("table.records")).to_contain_text("Black Friday")
    expect(bar).to_be_hidden()
    with workspace_scope(crm["workspace"]):
        tag = Tag.objects.for_workspace(crm["workspace"]).get(name="Black Friday")
        tagged = Contact.objects.for_workspace(crm["workspace"]).filter(tag_links__tag=tag)
        assert sorted(c.first_name for c in tagged) == ["Beatriz", "João"]

    # Delete one, then undo.
    page.get_by_role("checkbox", name="Selecionar Beatriz Nunes").check()
    page.once("dialog", lambda dialog: dialog.accept())
    bar.get_by_role("button", name="Excluir").click()
    expect(page.locator("#list-notice")).to_contain_text("1 contato excluído.")
    expect(page.locator("table.records tbody tr")).to_have_count(4)
    page.locator("#list-notice").get_by_role("button", name="Desfazer").click()
    expect(page.locator("#list-notice")).to_contain_text("1 contato restaurado.")
    expect(page.locator("table.records tbody tr")).to_have_count(5)


@pytest.mark.django_db(transaction=True)
def test_contact_list_in_both_languages_and_on_a_phone(page, crm):
    log_in(page, crm["user"].email, PASSWORD)
    page.goto(page.base_url + "/contacts/")
    expect(page.get_by_role("heading", name="Contatos")).to_be_visible()
    page.get_by_role("checkbox", name="Selecionar Heloísa Viana").check()
    _settle(page)
    _no_serious_violations(page)
    screenshot(page, "contact-list-pt-br")
    page.get_by_role("checkbox", name="Selecionar Heloísa Viana").uncheck()

    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    # Cards: each row is a block whose cells name themselves, nothing wider than the screen.
    first = page.locator("table.records tbody tr").first
    expect(first.locator("td.col-name")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.get_by_role("checkbox", name="Selecionar Heloísa Viana").check()
    expect(page.locator("#bulk-form")).to_be_visible()
    _settle(page)
    _no_serious_violations(page)
    screenshot(page, "contact-list-390")
    page.get_by_role("checkbox", name="Selecionar Heloísa Viana").uncheck()

    page.set_viewport_size({"width": 1280, "height": 860})
    _english(page)
    page.goto(page.base_url + "/contacts/?lifecycle_stage=customer")
    expect(page.get_by_role("heading", name="Contacts")).to_be_visible()
    expect(page.locator(".active-filters")).to_contain_text("Lifecycle stage: Customer")
    _settle(page)
    _no_serious_violations(page)
    screenshot(page, "contact-list-en")
    page.goto(page.base_url + "/contacts/?q=nobody")
    expect(page.get_by_text("No contact matches these filters")).to_be_visible()
