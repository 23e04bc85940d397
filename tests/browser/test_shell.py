"""The app shell in a real browser: logging in, the user menu's language switch, the drawer on
a phone, the workspace switcher, the error pages, and axe-core on the main pages."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import axe_violations, log_in, screenshot
from vinculo.contacts.services import contact_create
from vinculo.core.models import User, Workspace
from vinculo.core.roles import Role
from vinculo.core.services import membership_add, workspace_create

PASSWORD = "correct horse battery staple"


@pytest.fixture
def ana(transactional_db):
    workspace = workspace_create(name="Acme Ltda", slug="acme", admin_email="ana@acme.example.com")
    user = User.objects.get(email="ana@acme.example.com")
    user.full_name = "Ana Souza"
    user.set_password(PASSWORD)
    user.save()
    for n in range(3):
        contact_create(workspace=workspace, actor=user, data={"first_name": f"Pessoa {n}"})
    return user


def _violations(page) -> list[dict]:
    return axe_violations(page)


def _user_menu(page):
    return page.locator("details.menu", has=page.locator("#pref-language"))


@pytest.mark.django_db(transaction=True)
def test_home_in_both_languages_via_the_user_menu(page, ana):
    log_in(page, ana.email, PASSWORD)
    expect(page.get_by_role("heading", name="Olá, Ana Souza")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "pt-br")
    assert _violations(page) == []
    screenshot(page, "home-pt-br")

    _user_menu(page).locator("summary").click()
    expect(page.get_by_label("Idioma")).to_be_visible()
    screenshot(page, "user-menu-pt-br")
    with page.expect_navigation():
        page.get_by_label("Idioma").select_option("en")
    expect(page.get_by_role("heading", name="Hello, Ana Souza")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("navigation", name="Main navigation")).to_contain_text("Home")
    assert page.locator("#global-search").get_attribute("placeholder") == "Search…"
    screenshot(page, "home-en")
    assert _violations(page) == []

    _user_menu(page).locator("summary").click()
    with page.expect_navigation():
        page.get_by_label("Language").select_option("pt-br")
    expect(page.get_by_role("heading", name="Olá, Ana Souza")).to_be_visible()
    expect(page.get_by_role("navigation", name="Navegação principal")).to_contain_text("Início")


@pytest.mark.django_db(transaction=True)
def test_escape_closes_the_user_menu(page, ana):
    log_in(page, ana.email, PASSWORD)
    menu = _user_menu(page)
    menu.locator("summary").click()
    expect(menu).to_have_attribute("open", "")
    page.keyboard.press("Escape")
    expect(menu).not_to_have_attribute("open", "")
    expect(menu.locator("summary")).to_be_focused()


@pytest.mark.django_db(transaction=True)
def test_phone_drawer(browser, live_server, ana):
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="pt-BR")
    page = context.new_page()
    page.base_url = live_server.url
    try:
        log_in(page, ana.email, PASSWORD)
        sidebar = page.locator("#sidebar")
        toggle = page.get_by_role("button", name="Abrir menu")
        expect(sidebar).to_be_hidden()
        expect(toggle).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        screenshot(page, "home-390")

        toggle.click()
        expect(sidebar).to_be_visible()
        expect(toggle).to_have_attribute("aria-expanded", "true")
        # The drawer takes the focus (the current page's link) and keeps Tab inside.
        expect(sidebar.locator('[aria-current="page"]')).to_be_focused()
        for _ in range(8):
            page.keyboard.press("Tab")
            assert page.evaluate(
                "document.getElementById('sidebar').contains(document.activeElement)"
            )
        screenshot(page, "home-390-drawer")
        assert _violations(page) == []

        page.keyboard.press("Escape")
        expect(sidebar).to_be_hidden()
        expect(toggle).to_be_focused()

        toggle.click()
        page.get_by_role("button", name="Fechar menu").click()
        expect(sidebar).to_be_hidden()

        toggle.click()
        page.mouse.click(370, 400)  # the dimmed page beside the drawer
        expect(sidebar).to_be_hidden()

        toggle.click()
        with page.expect_navigation():
            sidebar.get_by_role("link", name="Início").click()
        expect(sidebar).to_be_hidden()
    finally:
        context.close()


@pytest.mark.django_db(transaction=True)
def test_workspace_switcher(page, ana):
    acme = Workspace.objects.get(slug="acme")
    beta = workspace_create(name="Beta Comércio", slug="beta", admin_email="boss@beta.example.com")
    membership_add(workspace=beta, user=ana, role=Role.SALES)
    log_in(page, ana.email, PASSWORD)
    switcher = page.get_by_label("Espaço de trabalho")
    expect(switcher).to_have_value(str(acme.pk))
    with page.expect_navigation():
        switcher.select_option(str(beta.pk))
    expect(page.locator("#content")).to_contain_text("Beta Comércio")
    expect(page.get_by_label("Espaço de trabalho")).to_have_value(str(beta.pk))
    screenshot(page, "workspace-switcher")


@pytest.mark.django_db(transaction=True)
def test_not_found_pages(page, browser, live_server, ana):
    response = page.goto(page.base_url + "/nada-aqui")
    assert response.status == 404
    expect(page.get_by_role("heading", name="Página não encontrada")).to_be_visible()
    screenshot(page, "404-visitor-pt-br")
    log_in(page, ana.email, PASSWORD)
    page.goto(page.base_url + "/nada-aqui")
    expect(page.get_by_role("heading", name="Página não encontrada")).to_be_visible()
    expect(page.locator("#global-search")).to_be_visible()
    screenshot(page, "404-pt-br")
    assert _violations(page) == []
    ana.language = "en"
    ana.save()
    page.goto(page.base_url + "/nothing-here")
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    screenshot(page, "404-en")
    # The browser logs each 404 it was given; here they are the point.
    page.problems[:] = [p for p in page.problems if "404" not in p]

    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="pt-BR")
    try:
        mobile = context.new_page()
        mobile.base_url = live_server.url
        ana.language = "pt-br"
        ana.save()
        log_in(mobile, ana.email, PASSWORD)
        mobile.goto(live_server.url + "/nada-aqui")
        expect(mobile.get_by_role("heading", name="Página não encontrada")).to_be_visible()
        assert mobile.evaluate("document.documentElement.scrollWidth") <= 390
        screenshot(mobile, "404-390")
    finally:
        context.close()


@pytest.mark.django_db(transaction=True)
def test_entrance_language_switch(page, ana):
    page.goto(page.base_url + "/accounts/login/")
    expect(page.locator("html")).to_have_attribute("lang", "pt-br")
    with page.expect_navigation():
        page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    with page.expect_navigation():
        page.get_by_role("button", name="Português (Brasil)").click()
    expect(page.locator("html")).to_have_attribute("lang", "pt-br")


@pytest.mark.django_db(transaction=True)
def test_preferences_page(page, ana):
    log_in(page, ana.email, PASSWORD)
    page.goto(page.base_url + "/preferences?next=/")
    page.locator("#id_time_zone").select_option("Asia/Tokyo")
    with page.expect_navigation():
        page.locator("#content").get_by_role("button", name="Salvar").click()
    ana.refresh_from_db()
    assert ana.time_zone == "Asia/Tokyo"
    page.goto(page.base_url + "/preferences")
    screenshot(page, "preferences-pt-br")
    assert _violations(page) == []
