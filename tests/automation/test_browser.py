"""The automation pages in a real browser (Chromium through Playwright): the sidebar link, the
empty state, building a rule with the condition builder and the action list, a rule running on
a new contact, its run log, bad input, reordering, a phone, and axe-core."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import axe_violations, log_in, screenshot
from vinculo.automation.models import Rule
from vinculo.contacts.models import Contact
from vinculo.contacts.services import contact_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "correct horse battery staple"


@pytest.fixture
def ana(workspace, admin):
    admin.full_name = "Ana Souza"
    admin.set_password(PASSWORD)
    admin.save()
    workspace.locale = "pt-br"
    workspace.save()
    return admin


def _swapped(page) -> None:
    expect(page.locator(".htmx-request, .htmx-added, .htmx-settling")).to_have_count(0)


def _settle(page) -> None:
    page.evaluate("document.activeElement && document.activeElement.blur()")


def test_build_a_rule_and_watch_it_run(page, ana, workspace):
    log_in(page, ana.email, PASSWORD)
    page.get_by_role("navigation", name="Navegação principal").get_by_role(
        "link", name="Automação"
    ).click()
    expect(page.get_by_role("heading", name="Regras de automação", level=1)).to_be_visible()
    expect(page.get_by_role("heading", name="Nenhuma regra ainda")).to_be_visible()
    screenshot(page, "automation-empty")
    assert axe_violations(page) == []

    page.get_by_role("link", name="Criar a primeira regra").click()
    expect(page.get_by_role("heading", name="Nova regra", level=1)).to_be_visible()
    page.get_by_label("Nome").fill("Contatos do Brasil")
    page.get_by_label("Começa quando").select_option("contact.created")
    _swapped(page)
    page.get_by_role("button", name="+ Condição").click()
    _swapped(page)
    page.locator("#cond-r\\.0-field").select_option("country")
    _swapped(page)
    page.locator("#cond-r\\.0-op").select_option("eq")
    _swapped(page)
    page.locator("#cond-r\\.0-value").fill("BR")
    page.get_by_role("button", name="+ Grupo (e/ou)").click()
    _swapped(page)
    page.locator("#cond-r\\.1-join").select_option("any")
    page.locator("#cond-r\\.1\\.0-field").select_option("lifecycle_stage")
    _swapped(page)
    page.locator("#cond-r\\.1\\.0-op").select_option("in")
    _swapped(page)
    page.locator("#cond-r\\.1\\.0-value").select_option(["lead", "customer"])
    page.get_by_label("Adicionar uma ação").select_option("add_tag")
    page.get_by_role("button", name="Adicionar", exact=True).click()
    _swapped(page)
    page.locator("#act-0-tag").fill("Brasil")
    page.get_by_label("Adicionar uma ação").select_option("notify")
    page.get_by_role("button", name="Adicionar", exact=True).click()
    _swapped(page)
    page.locator("#act-1-title").fill("Novo contato: {{ first_name }}")
    _settle(page)
    screenshot(page, "automation-editor")
    assert axe_violations(page) == []

    page.get_by_role("button", name="Salvar regra").last.click()
    page.wait_for_url(page.base_url + "/automation/")
    expect(page.get_by_text("Regra “Contatos do Brasil” salva.")).to_be_visible()
    rule = Rule.objects.get()
    assert rule.conditions["all"][0] == {"field": "country", "op": "eq", "value": "BR"}
    assert rule.conditions["all"][1]["any"][0]["value"] == ["lead", "customer"]
    assert [a["type"] for a in rule.actions] == ["add_tag", "notify"]

    # The rule runs on the next contact created (events are delivered as after any write).
    carla = contact_create(
        workspace=workspace,
        actor=ana,
        data={"first_name": "Carla", "country": "BR", "owner_id": ana.pk},
    )
    assert list(Contact.objects.get(pk=carla.pk).tags.values_list("name", flat=True)) == ["Brasil"]
    page.reload()
    expect(page.get_by_role("link", name="executou 1 vez")).to_be_visible()
    _settle(page)
    screenshot(page, "automation-list")
    assert axe_violations(page) == []

    page.get_by_role("link", name="Histórico de execuções").first.click()
    expect(page.get_by_role("link", name="Carla")).to_be_visible()
    expect(page.get_by_text("Etiqueta “Brasil” adicionada.")).to_be_visible()
    expect(page.get_by_text("1 pessoa notificada.")).to_be_visible()
    screenshot(page, "automation-runs")
    assert axe_violations(page) == []


def test_bad_input_reorder_and_a_phone(page, ana, rule_factory):
    first = rule_factory(name="Primeira", group="distribuição")
    second = rule_factory(name="Segunda", group="distribuição")
    log_in(page, ana.email, PASSWORD)

    page.goto(page.base_url + f"/automation/rules/{first.pk}/")
    page.get_by_label("Nome").fill("")
    page.get_by_label("Adicionar uma ação").select_option("wait")
    page.get_by_role("button", name="Adicionar", exact=True).click()
    _swapped(page)
    page.get_by_role("button", name="Salvar regra").last.click()
    _swapped(page)
    expect(page.get_by_role("alert").first).to_contain_text("A regra não foi salva")
    expect(page.get_by_text("Dê um nome à regra.")).to_be_visible()
    expect(page.get_by_text("Aguarde pelo menos um minuto.")).to_be_visible()
    _settle(page)
    screenshot(page, "automation-editor-errors")
    assert Rule.objects.get(pk=first.pk).name == "Primeira"

    page.goto(page.base_url + "/automation/")
    page.get_by_role("button", name="Mover “Segunda” para cima").click()
    _swapped(page)
    expect(page.locator(".rule-name")).to_have_text(["Segunda", "Primeira"])
    assert Rule.objects.get(pk=second.pk).position == 0

    # Drag and drop does the same as the buttons.
    expect(page.locator("[data-sortable-ready]")).to_have_count(1)
    handle = page.locator(f"#rule-{first.pk} .drag-handle").bounding_box()
    target = page.locator(f"#rule-{second.pk}").bounding_box()
    page.mouse.move(handle["x"] + 4, handle["y"] + 4)
    page.mouse.down()
    for step in range(1, 11):
        page.mouse.move(
            handle["x"] + 4, handle["y"] + 4 - (handle["y"] - target["y"] + 8) * step / 10
        )
    page.mouse.up()
    _swapped(page)
    expect(page.locator(".rule-name")).to_have_text(["Primeira", "Segunda"])
    assert Rule.objects.get(pk=first.pk).position == 0

    page.get_by_role("switch", name="Ativa Primeira").click()
    _swapped(page)
    expect(page.get_by_role("switch", name="Pausada Primeira")).to_be_visible()
    assert Rule.objects.get(pk=first.pk).is_active is False
    _settle(page)
    screenshot(page, "automation-list-group")
    assert axe_violations(page) == []

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Excluir Primeira").click()
    _swapped(page)
    expect(page.locator(".rule-name")).to_have_text(["Segunda"])

    page.set_viewport_size({"width": 390, "height": 800})
    _settle(page)
    screenshot(page, "automation-list-phone")
    page.goto(page.base_url + f"/automation/rules/{second.pk}/")
    screenshot(page, "automation-editor-phone")
    assert axe_violations(page) == []
