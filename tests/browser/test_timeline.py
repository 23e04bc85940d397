"""A contact's timeline panel in a real browser: log a call (first with a mistake), create a task
and complete it in one click, filter by channel, both languages, a phone, and axe-core."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser.conftest import axe_violations, log_in, screenshot
from vinculo.contacts.services import contact_create, contact_update
from vinculo.core.models import User
from vinculo.core.services import workspace_create
from vinculo.timeline import services
from vinculo.timeline.models import Interaction, Task, TaskStatus

PASSWORD = "correct horse battery staple"


@pytest.fixture
def crm(transactional_db):
    workspace = workspace_create(name="Acme Ltda", slug="acme", admin_email="ana@acme.example.com")
    user = User.objects.get(email="ana@acme.example.com")
    user.full_name = "Ana Souza"
    user.set_password(PASSWORD)
    user.save()
    contact = contact_create(
        workspace=workspace,
        actor=user,
        data={"first_name": "Heloísa", "last_name": "Viana", "emails": ["helo@exemplo.com.br"]},
    )
    contact_update(
        workspace=workspace,
        actor=user,
        contact_id=contact.pk,
        data={"lifecycle_stage": "customer"},
    )
    earlier = timezone.now() - dt.timedelta(days=2)
    services.interaction_create(
        workspace=workspace,
        actor=user,
        channel="email",
        contact_id=contact.pk,
        occurred_at=earlier,
        subject="Proposta comercial",
        body="Segue a proposta.\nQualquer dúvida, estou à disposição.",
    )
    services.note_create(
        workspace=workspace, actor=user, body="Prefere contato por WhatsApp.", contact_id=contact.pk
    )
    return {"workspace": workspace, "user": user, "contact": contact}


def _panel(page, crm) -> None:
    page.goto(f"{page.base_url}/records/contact/{crm['contact'].pk}/timeline")
    expect(page.get_by_role("heading", name="Linha do tempo")).to_be_visible()


def _settle(page) -> None:
    """Nothing focused before a screenshot: Playwright hides a text caret with an injected style,
    which the CSP blocks (and the console reports)."""
    page.evaluate("document.activeElement && document.activeElement.blur()")


def _swapped(page) -> None:
    """Wait until htmx has no request in flight and has settled what it swapped in (and wired
    up its attributes), before acting again or reading the database the live server writes."""
    expect(page.locator(".htmx-request, .htmx-added, .htmx-settling")).to_have_count(0)


def _accept_422(page) -> None:
    """Chromium logs every 4xx answer as a console error; a 422 with field errors is the
    designed answer to a form with mistakes, not a problem."""
    page.problems[:] = [p for p in page.problems if "status of 422" not in p]


@pytest.mark.django_db(transaction=True)
def test_log_a_call_and_see_it_on_the_timeline(page, crm):
    log_in(page, crm["user"].email, PASSWORD)
    _panel(page, crm)
    entries = page.locator(".tl-entry")
    expect(entries).to_have_count(4)  # the email, the note and two changes of the contact
    expect(page.get_by_text("Ana Souza alterou estágio do ciclo de vida:")).to_be_visible()

    page.get_by_role("link", name="Registrar ligação").click()
    form = page.locator("form.tl-form")
    expect(form.get_by_role("heading", name="Registrar ligação")).to_be_visible()
    expect(form.get_by_label("Sentido")).to_be_focused()
    form.get_by_label("Duração (minutos)").fill("-5")
    form.get_by_role("button", name="Salvar").click()

    error = form.locator(".field.has-error")
    expect(error).to_have_count(1)
    expect(error).to_contain_text("Duração (minutos)")
    expect(error.locator(".error")).to_be_visible()
    expect(form.get_by_label("Duração (minutos)")).to_be_focused()
    _accept_422(page)
    _swapped(page)
    assert Interaction.objects.for_workspace(crm["workspace"]).count() == 1
    _settle(page)
    screenshot(page, "timeline-call-error-pt-br")

    form.get_by_label("Duração (minutos)").fill("12")
    form.get_by_label("Resultado").fill("Atendeu")
    form.get_by_label("Notas").fill("Pediu desconto de 10%.\nRetornar na sexta.")
    form.get_by_role("button", name="Salvar").click()

    expect(page.locator(".tl-done")).to_contain_text("Ligação registrada.")
    expect(page.locator("form.tl-form")).to_have_count(0)
    newest = entries.first
    expect(newest).to_contain_text("Ligação")
    expect(newest).to_contain_text("Atendeu")
    expect(newest).to_contain_text("12 min")
    assert newest.locator(".tl-text").inner_html().strip() == (
        "Pediu desconto de 10%.<br>Retornar na sexta."
    )
    expect(entries).to_have_count(5)
    _swapped(page)
    call = Interaction.objects.for_workspace(crm["workspace"]).get(channel="phone")
    assert call.duration_seconds == 720 and call.author_id == crm["user"].pk
    _settle(page)
    screenshot(page, "timeline-pt-br")


@pytest.mark.django_db(transaction=True)
def test_create_a_task_and_complete_it_in_one_click(page, crm):
    log_in(page, crm["user"].email, PASSWORD)
    _panel(page, crm)

    page.get_by_role("link", name="Criar tarefa").click()
    form = page.locator("form.tl-form")
    form.get_by_label("Título").fill("Enviar contrato")
    form.get_by_label("Prazo").fill("2030-05-10T15:00")
    form.get_by_label("Lembrete").select_option("60")
    form.get_by_role("button", name="Salvar").click()

    expect(page.locator(".tl-done")).to_contain_text("Tarefa criada.")
    entry = page.locator(".tl-entry.tl-kind-task", has_text="Enviar contrato")
    expect(entry).to_be_visible()
    _swapped(page)
    task = Task.objects.for_workspace(crm["workspace"]).get()
    assert task.contact_id == crm["contact"].pk and task.assignee_id == crm["user"].pk

    entry.get_by_role("button", name="Concluir “Enviar contrato”").click()

    done = page.locator(f"#tl-entry-task-{task.pk}")
    expect(done).to_have_class("tl-entry tl-kind-task is-done is-changed")
    expect(done).to_contain_text("Concluída")
    _swapped(page)
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE
    _settle(page)
    screenshot(page, "timeline-task-done-pt-br")

    done.get_by_role("button", name="Reabrir “Enviar contrato”").click()
    expect(page.locator(f"#tl-entry-task-{task.pk}")).not_to_have_class("is-done")
    _swapped(page)
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN


@pytest.mark.django_db(transaction=True)
def test_filter_by_channel_and_load_in_place(page, crm):
    log_in(page, crm["user"].email, PASSWORD)
    _panel(page, crm)

    page.get_by_role("link", name="E-mails").click()
    expect(page.locator(".tl-entry")).to_have_count(1)
    expect(page.locator(".tl-entry")).to_contain_text("Proposta comercial")
    expect(page.get_by_role("link", name="E-mails")).to_have_attribute("aria-current", "true")
    assert page.url.endswith("/timeline"), "a filter swaps the entries in place"

    page.get_by_role("link", name="Alterações").click()
    expect(page.locator(".tl-entry.tl-kind-event")).to_have_count(2)
    _swapped(page)
    page.get_by_label("Outros canais").select_option("sms")
    expect(page.get_by_text("Nada corresponde a este filtro")).to_be_visible()
    page.get_by_role("link", name="Mostrar tudo").click()
    expect(page.locator(".tl-entry")).to_have_count(4)


@pytest.mark.django_db(transaction=True)
def test_panel_in_english_on_a_phone_and_accessible(page, crm):
    user = crm["user"]
    user.language = "en"
    user.save(update_fields=["language"])
    log_in(page, user.email, PASSWORD)
    page.goto(f"{page.base_url}/records/contact/{crm['contact'].pk}/timeline")
    expect(page.get_by_role("heading", name="Timeline")).to_be_visible()
    expect(page.get_by_text("Ana Souza changed lifecycle stage:")).to_be_visible()
    assert axe_violations(page) == []
    screenshot(page, "timeline-en")

    page.get_by_role("link", name="Log a meeting").click()
    expect(page.locator("form.tl-form")).to_be_visible()
    assert axe_violations(page) == []
    _settle(page)
    screenshot(page, "timeline-meeting-form-en")

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{page.base_url}/records/contact/{crm['contact'].pk}/timeline")
    expect(page.get_by_role("link", name="Log a call")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "timeline-390")
    page.get_by_role("link", name="Create a task").click()
    expect(page.locator("form.tl-form")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    _settle(page)
    screenshot(page, "timeline-task-form-390")
    assert axe_violations(page) == []


@pytest.mark.django_db(transaction=True)
def test_panel_keyboard_only(page, crm):
    log_in(page, crm["user"].email, PASSWORD)
    _panel(page, crm)
    page.get_by_role("link", name="Adicionar nota").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("textbox", name="Nota", exact=True)).to_be_focused()
    page.keyboard.type("Ligou pedindo boleto.")
    page.keyboard.press("Escape")
    expect(page.locator("form.tl-form")).to_have_count(0)
    expect(page.get_by_role("link", name="Adicionar nota")).to_be_focused()

    page.get_by_role("link", name="Adicionar nota").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("textbox", name="Nota", exact=True)).to_be_focused()
    page.keyboard.type("Ligou pedindo boleto.")
    page.keyboard.press("Tab")  # the pin checkbox
    page.keyboard.press("Space")
    page.get_by_role("button", name="Salvar").focus()
    page.keyboard.press("Enter")
    expect(page.locator(".tl-entry").first).to_contain_text("Ligou pedindo boleto.")
    expect(page.locator(".tl-entry").first).to_contain_text("Fixada")
