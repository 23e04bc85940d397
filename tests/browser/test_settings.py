"""The settings area in a real browser: every section in both languages and on a phone, forms
that answer in place with their errors, an API key shown once and revoked, and an invitation
sent by email and accepted by someone new."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from tests.browser.conftest import axe_violations, log_in, screenshot
from vinculo.core.models import ApiKey, Membership, Tag, User
from vinculo.core.roles import Role
from vinculo.core.services import (
    apikey_issue,
    customfield_create,
    membership_add,
    tag_create,
    team_create,
    workspace_create,
)

PASSWORD = "correct horse battery staple"
SECTIONS = [
    ("workspace", "Espaço de trabalho", "Workspace"),
    ("users", "Usuários e papéis", "Users and roles"),
    ("teams", "Equipes", "Teams"),
    ("custom-fields", "Campos personalizados", "Custom fields"),
    ("tags", "Etiquetas", "Tags"),
    ("api-keys", "Chaves de API", "API keys"),
]


@pytest.fixture
def ana(transactional_db):
    """An admin of a workspace with a few members, a team, fields, tags and keys."""
    workspace = workspace_create(name="Acme Ltda", slug="acme", admin_email="ana@acme.example.com")
    ana = User.objects.get(email="ana@acme.example.com")
    ana.full_name = "Ana Souza"
    ana.set_password(PASSWORD)
    ana.save()
    people = []
    for email, name, role in [
        ("bruno@acme.example.com", "Bruno Lima", Role.SALES),
        ("carla@acme.example.com", "Carla Dias", Role.SALES),
        ("davi@acme.example.com", "Davi Rocha", Role.MANAGER),
    ]:
        user = User.objects.create_user(email=email, password=PASSWORD, full_name=name)
        membership_add(workspace=workspace, user=user, role=role)
        people.append(user)
    team_create(
        workspace=workspace,
        actor=ana,
        name="Vendas Sul",
        lead_id=people[2].pk,
        member_ids=[people[0].pk, people[1].pk],
    )
    customfield_create(
        workspace=workspace,
        actor=ana,
        object_type="account",
        key="cnpj",
        label="CNPJ",
        field_type="text",
    )
    customfield_create(
        workspace=workspace,
        actor=ana,
        object_type="contact",
        key="canal",
        label="Canal preferido",
        field_type="choice",
        choices=["E-mail", "Telefone", "WhatsApp"],
    )
    for name, color in [("VIP", "violet"), ("Parceiro", "teal"), ("Inadimplente", "red")]:
        tag_create(workspace=workspace, actor=ana, name=name, color=color)
    apikey_issue(workspace=workspace, actor=ana, name="Planilha de metas")
    return ana


def _expected_422(page) -> None:
    """Forms with errors answer 422 on purpose; Chromium logs every 4xx answer as a console
    error, which the page fixture would otherwise report as a problem."""
    page.problems[:] = [p for p in page.problems if "status of 422" not in p]


def _sections(page, lang: str, suffix: str, *, check_axe: bool = True) -> None:
    for slug, pt, en in SECTIONS:
        page.goto(f"{page.base_url}/settings/{slug}/")
        title = pt if lang == "pt-br" else en
        expect(page.locator("#section-title")).to_have_text(title)
        if check_axe:
            assert axe_violations(page) == [], slug
        screenshot(page, f"settings-{slug}-{suffix}")


def _switch_language(page, code: str) -> None:
    menu = page.locator("details.menu", has=page.locator("#pref-language"))
    menu.locator("summary").click()
    with page.expect_navigation():
        page.locator("#pref-language").select_option(code)


@pytest.mark.django_db(transaction=True)
def test_every_section_in_portuguese_and_english(page, ana):
    log_in(page, ana.email, PASSWORD)
    page.goto(page.base_url + "/settings/")
    expect(page).to_have_url(re.compile(r"/settings/workspace/$"))
    _sections(page, "pt-br", "pt-br")
    _switch_language(page, "en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    _sections(page, "en", "en")
    _switch_language(page, "pt-br")
    expect(page.locator("#section-title")).to_have_text("Chaves de API")


@pytest.mark.django_db(transaction=True)
def test_every_section_on_a_phone(browser, live_server, ana):
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="pt-BR")
    page = context.new_page()
    page.base_url = live_server.url
    log_in(page, ana.email, PASSWORD)
    _sections(page, "pt-br", "390")
    # The sub-navigation becomes a row of tabs that scrolls sideways, not off the page.
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    context.close()


@pytest.mark.django_db(transaction=True)
def test_a_tag_form_answers_in_place_with_its_errors(page, ana):
    log_in(page, ana.email, PASSWORD)
    page.goto(page.base_url + "/settings/tags/")
    page.get_by_label("Nome").fill("vip")
    page.get_by_role("button", name="Criar etiqueta").click()
    error = page.locator("#id_name_error")
    expect(error).to_be_visible()
    expect(page.get_by_label("Nome")).to_be_focused()
    expect(page.get_by_label("Nome")).to_have_attribute("aria-invalid", "true")
    screenshot(page, "settings-tags-error-pt-br")
    _expected_422(page)
    page.get_by_label("Nome").fill("Novo cliente")
    page.get_by_label("Cor").select_option("green")
    page.get_by_role("button", name="Criar etiqueta").click()
    expect(page.locator(".messages")).to_contain_text("Etiqueta criada")
    expect(page.locator("table.data")).to_contain_text("Novo cliente")
    assert page.url.endswith("/settings/tags/")

    # Delete asks first; dismissing keeps the tag.
    row = page.locator("tr", has_text="Novo cliente")
    page.once("dialog", lambda dialog: dialog.dismiss())
    row.get_by_role("button", name=re.compile("Excluir")).click()
    expect(page.locator("table.data")).to_contain_text("Novo cliente")
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name=re.compile("Excluir")).click()
    expect(page.locator(".messages")).to_contain_text("Etiqueta excluída")
    expect(page.locator("table.data")).not_to_contain_text("Novo cliente")
    assert Tag.all_tenants.get(name="Novo cliente").deleted_at is not None


@pytest.mark.django_db(transaction=True)
def test_an_api_key_is_shown_once_copied_and_revoked(page, ana):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    log_in(page, ana.email, PASSWORD)
    page.goto(page.base_url + "/settings/api-keys/")
    page.get_by_label("Nome").fill("Integração ERP")
    page.get_by_role("button", name="Criar chave").click()
    reveal = page.locator(".key-reveal")
    expect(reveal).to_contain_text("não será mostrada de novo")
    raw = page.locator("#new-api-key").input_value()
    assert raw.startswith("vk_")
    expect(page.locator("#new-api-key")).to_be_focused()
    screenshot(page, "settings-api-key-new-pt-br")
    reveal.get_by_role("button", name="Copiar").click()
    expect(reveal.locator("[data-copy-status]")).to_have_text("Copiado!")
    assert page.evaluate("navigator.clipboard.readText()") == raw

    page.reload()
    expect(page.locator(".key-reveal")).to_have_count(0)
    assert raw not in page.content()
    row = page.locator("tr", has_text="Integração ERP")
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name=re.compile("Revogar")).click()
    expect(page.locator("tr", has_text="Integração ERP")).to_contain_text("Revogada")
    assert ApiKey.all_tenants.get(name="Integração ERP").revoked_at is not None


@pytest.mark.django_db(transaction=True)
def test_the_last_admin_cannot_step_down(page, ana):
    log_in(page, ana.email, PASSWORD)
    page.goto(page.base_url + "/settings/users/")
    row = page.locator("tr", has_text="ana@acme.example.com")
    row.locator("select").select_option("sales")
    alert = page.locator(".alert-error")
    expect(alert).to_contain_text("único administrador")
    screenshot(page, "settings-users-last-admin-pt-br")
    _expected_422(page)
    assert Membership.all_tenants.get(user=ana).role == Role.ADMIN


@pytest.mark.django_db(transaction=True)
def test_invite_someone_who_accepts_by_the_emailed_link(browser, page, live_server, ana):
    log_in(page, ana.email, PASSWORD)
    page.goto(page.base_url + "/settings/users/")
    page.get_by_label("E-mail").fill("nova@cliente.example.com")
    page.get_by_label("Papel", exact=True).select_option("marketing")
    page.get_by_role("button", name="Enviar convite").click()
    expect(page.locator(".messages")).to_contain_text(
        "Convite enviado para nova@cliente.example.com"
    )
    expect(page.locator("#settings-section")).to_contain_text("Convites pendentes")
    screenshot(page, "settings-users-invited-pt-br")

    [message] = [m for m in mail.outbox if m.to == ["nova@cliente.example.com"]]
    link = re.search(r"https?://\S+/invitations/\S+/", message.body).group(0)
    path = "/" + link.split("/", 3)[3]

    guest_context = browser.new_context(viewport={"width": 390, "height": 844}, locale="pt-BR")
    guest = guest_context.new_page()
    guest.goto(live_server.url + path)
    expect(guest.get_by_role("heading", name="Participe de Acme Ltda")).to_be_visible()
    assert axe_violations(guest) == []
    screenshot(guest, "invitation-accept-390")
    guest.get_by_label("Seu nome").fill("Nova Pessoa")
    guest.get_by_label("Senha", exact=True).fill(PASSWORD)
    guest.get_by_label("Senha (novamente)").fill("outra coisa qualquer")
    guest.get_by_role("button", name="Criar conta e participar").click()
    expect(guest.locator("#id_password_again_error")).to_be_visible()
    screenshot(guest, "invitation-accept-error-390")
    guest.get_by_label("Senha", exact=True).fill(PASSWORD)
    guest.get_by_label("Senha (novamente)").fill(PASSWORD)
    guest.get_by_role("button", name="Criar conta e participar").click()
    guest.wait_for_url(live_server.url + "/")
    expect(guest.locator(".messages")).to_contain_text("Boas-vindas a Acme Ltda")
    new = User.objects.get(email="nova@cliente.example.com")
    assert Membership.all_tenants.get(user=new).role == Role.MARKETING

    # The used link now says so.
    guest_context.clear_cookies()
    guest.goto(live_server.url + path)
    expect(guest.get_by_role("heading", name="Este convite já foi usado")).to_be_visible()
    screenshot(guest, "invitation-used-390")
    guest_context.close()
