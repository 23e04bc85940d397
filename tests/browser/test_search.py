"""Global search in a real browser: Ctrl-K, results as you type with and without accents,
keyboard navigation, the results page, and how it all looks in both languages and on a phone."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import axe_violations, log_in, screenshot
from vinculo.contacts.services import account_create, contact_create
from vinculo.core.models import User
from vinculo.core.services import workspace_create

PASSWORD = "correct horse battery staple"


@pytest.fixture
def crm(transactional_db):
    workspace = workspace_create(name="Acme Ltda", slug="acme", admin_email="ana@acme.example.com")
    user = User.objects.get(email="ana@acme.example.com")
    user.full_name = "Ana Souza"
    user.set_password(PASSWORD)
    user.save()
    padaria = account_create(
        workspace=workspace,
        actor=user,
        data={"name": "Padaria Pão Doce", "domain": "paodoce.com.br", "city": "São Paulo"},
    )
    people = {}
    for first, last, email, phone in [
        ("José", "Conceição", "ze@paodoce.com.br", "(11) 98765-4321"),
        ("Josefa", "Araújo", "josefa@exemplo.com.br", "(21) 99876-1234"),
        ("Joana", "Prado", "joana@exemplo.com.br", ""),
        ("Marcos", "Oliveira", "marcos@exemplo.com.br", ""),
    ]:
        people[first] = contact_create(
            workspace=workspace,
            actor=user,
            data={
                "first_name": first,
                "last_name": last,
                "emails": [email],
                "phones": [phone] if phone else [],
                "account_id": padaria.pk if first == "José" else None,
            },
        )
    return {"workspace": workspace, "user": user, "padaria": padaria, "people": people}


def _login(page, crm) -> None:
    log_in(page, crm["user"].email, PASSWORD)


def _options(page):
    return page.locator('#global-search-popup [role="option"]')


@pytest.mark.django_db(transaction=True)
def test_ctrl_k_and_typing_without_accents_finds_jose(page, crm):
    _login(page, crm)
    box = page.locator("#global-search")
    page.keyboard.press("Control+k")
    expect(box).to_be_focused()
    page.keyboard.type("jose", delay=40)
    popup = page.locator("#global-search-popup")
    expect(popup).to_be_visible()
    expect(popup.get_by_role("option", name=re.compile("José Conceição"))).to_be_visible()
    expect(popup.get_by_role("option", name=re.compile("Josefa Araújo"))).to_be_visible()
    expect(popup).not_to_contain_text("Joana")
    expect(box).to_have_attribute("aria-expanded", "true")
    screenshot(page, "search-dropdown-pt-br")
    violations = axe_violations(page)
    assert violations == [], violations


@pytest.mark.django_db(transaction=True)
def test_typing_with_accents_and_by_phone(page, crm):
    _login(page, crm)
    box = page.locator("#global-search")
    box.click()
    box.press_sequentially("José Conc", delay=30)
    popup = page.locator("#global-search-popup")
    expect(popup.get_by_role("option", name=re.compile("José Conceição"))).to_be_visible()
    expect(popup).not_to_contain_text("Josefa")
    box.fill("")
    box.press_sequentially("98765-43", delay=30)
    expect(popup.get_by_role("option", name=re.compile("José Conceição"))).to_be_visible()
    box.fill("")
    box.press_sequentially("pao doce", delay=30)
    expect(popup).to_contain_text("Empresas")
    expect(popup.get_by_role("option", name=re.compile("^Padaria Pão Doce"))).to_be_visible()


@pytest.mark.django_db(transaction=True)
def test_arrow_keys_and_enter_open_a_result(page, crm):
    _login(page, crm)
    box = page.locator("#global-search")
    page.keyboard.press("Control+k")
    page.keyboard.type("joana", delay=30)
    expect(_options(page).first).to_contain_text("Joana Prado")
    page.keyboard.press("ArrowDown")
    first = _options(page).first
    expect(first).to_have_attribute("aria-selected", "true")
    expect(box).to_have_attribute("aria-activedescendant", first.get_attribute("id"))
    # Down again reaches "all results", then wraps round to the first hit; up goes back.
    page.keyboard.press("ArrowDown")
    expect(_options(page).last).to_have_attribute("aria-selected", "true")
    page.keyboard.press("ArrowDown")
    expect(first).to_have_attribute("aria-selected", "true")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowUp")
    expect(first).to_have_attribute("aria-selected", "true")
    joana = crm["people"]["Joana"]
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith(f"/contacts/{joana.pk}/")
    # Until the contact page exists, the browser reports its 404; that is not this test's.
    page.problems[:] = [p for p in page.problems if "404" not in p]


@pytest.mark.django_db(transaction=True)
def test_escape_closes_and_enter_opens_the_results_page(page, crm):
    _login(page, crm)
    box = page.locator("#global-search")
    popup = page.locator("#global-search-popup")
    box.click()
    box.press_sequentially("jos", delay=30)
    expect(popup).to_be_visible()
    page.keyboard.press("Escape")
    expect(popup).to_be_hidden()
    expect(box).to_have_attribute("aria-expanded", "false")
    expect(box).to_have_value("jos")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/search\?q=jos$"))
    expect(page.get_by_role("heading", name="Contatos")).to_be_visible()
    expect(page.locator(".result-list a")).to_have_count(2)
    expect(page.locator("#search-page-q")).to_have_value("jos")
    screenshot(page, "search-results-pt-br")
    violations = axe_violations(page)
    assert violations == [], violations


@pytest.mark.django_db(transaction=True)
def test_one_character_and_no_results(page, crm):
    _login(page, crm)
    box = page.locator("#global-search")
    popup = page.locator("#global-search-popup")
    box.click()
    box.press_sequentially("j", delay=30)
    page.wait_for_timeout(400)
    expect(popup).to_be_hidden()
    box.press_sequentially("qxz", delay=30)
    expect(popup).to_contain_text("Nenhum resultado para “jqxz”")
    expect(page.locator("[data-search-status]")).to_have_text("Nenhum resultado para “jqxz”")


@pytest.mark.django_db(transaction=True)
def test_search_in_english_and_on_a_phone(page, crm, browser, live_server):
    user = crm["user"]
    user.language = "en"
    user.save()
    _login(page, crm)
    box = page.locator("#global-search")
    expect(box).to_have_attribute("placeholder", "Search…")
    box.click()
    box.press_sequentially("jose", delay=30)
    expect(page.locator("#global-search-popup")).to_contain_text("All results for “jose”")
    screenshot(page, "search-dropdown-en")
    page.goto(page.base_url + "/search?q=pao")
    expect(page.get_by_role("heading", name="Accounts")).to_be_visible()
    screenshot(page, "search-results-en")
    page.goto(page.base_url + "/search?q=zzzz")
    expect(page.locator("#content")).to_contain_text("No results for “zzzz”")
    screenshot(page, "search-results-empty-en")

    phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="pt-BR")
    try:
        mobile = phone.new_page()
        mobile.base_url = live_server.url
        user.language = "pt-br"
        user.save()
        log_in(mobile, user.email, PASSWORD)
        mobile.locator("#global-search").click()
        mobile.locator("#global-search").press_sequentially("jose", delay=30)
        expect(mobile.get_by_role("option", name=re.compile("José Conceição"))).to_be_visible()
        assert mobile.evaluate("document.documentElement.scrollWidth") <= 390
        screenshot(mobile, "search-dropdown-390")
        mobile.goto(live_server.url + "/search?q=jo")
        assert mobile.evaluate("document.documentElement.scrollWidth") <= 390
        screenshot(mobile, "search-results-390")
    finally:
        phone.close()
