"""'My tasks' and the notification bell in a real browser: buckets, one-click completion with
undo, creating a task, a reminder under the bell, both languages, a phone, and axe-core."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser.conftest import axe_violations, log_in, screenshot
from vinculo.collab.models import Notification
from vinculo.contacts.services import account_create, contact_create
from vinculo.core.models import User
from vinculo.core.services import workspace_create
from vinculo.timeline import services
from vinculo.timeline.models import Task, TaskStatus
from vinculo.timeline.periodic import send_task_reminders

PASSWORD = "correct horse battery staple"


@pytest.fixture
def crm(transactional_db):
    workspace = workspace_create(name="Acme Ltda", slug="acme", admin_email="ana@acme.example.com")
    user = User.objects.get(email="ana@acme.example.com")
    user.full_name = "Ana Souza"
    user.time_zone = "America/Sao_Paulo"
    user.set_password(PASSWORD)
    user.save()
    account = account_create(workspace=workspace, actor=user, data={"name": "Padaria Pão Doce"})
    contact = contact_create(
        workspace=workspace,
        actor=user,
        data={"first_name": "José", "last_name": "Conceição", "account_id": account.pk},
    )
    local_now = timezone.localtime(timezone.now(), timezone.get_fixed_timezone(-180))
    end_of_today = local_now.replace(hour=23, minute=58, second=0, microsecond=0)
    tasks = {
        "Cobrar retorno da proposta": local_now - dt.timedelta(days=3),
        "Enviar contrato para assinatura": end_of_today,
        "Agendar demonstração": local_now + dt.timedelta(days=4),
        "Revisar cadastro": None,
    }
    for title, due in tasks.items():
        services.task_create(
            workspace=workspace,
            actor=user,
            title=title,
            due_at=due,
            assignee_id=user.pk,
            contact_id=contact.pk,
            account_id=account.pk if title == "Agendar demonstração" else None,
        )
    return {"workspace": workspace, "user": user, "contact": contact}


def _settle(page) -> None:
    """Nothing focused before a screenshot: Playwright hides a text caret with an injected style,
    which the CSP blocks (and the console reports)."""
    page.evaluate("document.activeElement && document.activeElement.blur()")


def _swapped(page) -> None:
    """Wait until htmx has no request in flight and has settled what it swapped in, before the
    test reads the database the live server is writing."""
    expect(page.locator(".htmx-request, .htmx-added, .htmx-settling")).to_have_count(0)


@pytest.mark.django_db(transaction=True)
def test_my_tasks_buckets(page, crm):
    log_in(page, crm["user"].email, PASSWORD)
    page.get_by_role("navigation", name="Navegação principal").get_by_role(
        "link", name="Minhas tarefas"
    ).click()

    expect(page.get_by_role("heading", name="Minhas tarefas", level=1)).to_be_visible()
    headings = page.locator(".tasks-bucket h2")
    expect(headings).to_have_text(["Atrasadas", "Hoje", "Próximas", "Sem prazo"])
    rows = page.locator(".task-row .task-title")
    expect(rows).to_have_text(
        [
            "Cobrar retorno da proposta",
            "Enviar contrato para assinatura",
            "Agendar demonstração",
            "Revisar cadastro",
        ]
    )
    expect(page.locator(".task-row").first.locator(".task-due")).to_have_class("task-due is-late")
    link = page.locator(".task-row").first.get_by_role("link", name="José Conceição")
    expect(link).to_be_visible()
    expect(page.locator(".tasks-summary")).to_contain_text("1 Atrasadas")
    assert axe_violations(page) == []
    screenshot(page, "my-tasks-pt-br")

    link.click()
    expect(page.get_by_role("heading", name="José Conceição")).to_be_visible()


@pytest.mark.django_db(transaction=True)
def test_complete_in_one_click_and_undo(page, crm):
    log_in(page, crm["user"].email, PASSWORD)
    page.goto(page.base_url + "/tasks/")
    row = page.locator(".task-row", has_text="Cobrar retorno da proposta")

    row.get_by_role("button", name="Concluir “Cobrar retorno da proposta”").click()

    done = page.locator(".task-row.is-done", has_text="Cobrar retorno da proposta")
    expect(done).to_be_visible()
    expect(done.get_by_role("status")).to_contain_text("Tarefa concluída.")
    _swapped(page)
    task = Task.objects.for_workspace(crm["workspace"]).get(title="Cobrar retorno da proposta")
    assert task.status == TaskStatus.DONE
    _settle(page)
    screenshot(page, "my-tasks-completed-pt-br")

    _swapped(page)
    done.get_by_role("button", name="Desfazer").click()

    reopened = page.locator(".task-row", has_text="Cobrar retorno da proposta")
    expect(reopened).not_to_have_class("is-done")
    expect(reopened.get_by_role("status")).to_contain_text("Tarefa reaberta.")
    _swapped(page)
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN

    page.get_by_label("Situação").select_option("done")
    expect(page.get_by_text("Nenhuma tarefa concluída ainda")).to_be_visible()
    assert "/tasks/?status=done" in page.url, "the filter is kept in the address"


@pytest.mark.django_db(transaction=True)
def test_create_a_task_from_my_tasks(page, crm):
    log_in(page, crm["user"].email, PASSWORD)
    page.goto(page.base_url + "/tasks/")

    page.get_by_role("link", name="Nova tarefa").click()
    form = page.locator("form.task-form")
    expect(form.get_by_label("Título")).to_be_focused()
    form.get_by_label("Título").fill("Ligar para o fornecedor")
    form.get_by_label("Prazo").fill("2030-01-15T10:00")
    form.get_by_role("button", name="Criar tarefa").click()

    expect(page.locator(".tl-done")).to_contain_text("Tarefa “Ligar para o fornecedor” criada.")
    expect(page.locator(".task-row", has_text="Ligar para o fornecedor")).to_be_visible()
    _swapped(page)
    task = Task.objects.for_workspace(crm["workspace"]).get(title="Ligar para o fornecedor")
    assert task.assignee_id == crm["user"].pk
    assert task.due_at == dt.datetime(2030, 1, 15, 13, 0, tzinfo=dt.UTC)


@pytest.mark.django_db(transaction=True)
def test_the_bell_shows_a_reminder(page, crm):
    workspace, user = crm["workspace"], crm["user"]
    task = services.task_create(
        workspace=workspace,
        actor=user,
        title="Confirmar reunião de quinta",
        assignee_id=user.pk,
        due_at=timezone.now() + dt.timedelta(minutes=30),
        reminder_at=timezone.now() - dt.timedelta(minutes=1),
    )
    assert send_task_reminders() == 1

    log_in(page, user.email, PASSWORD)
    bell = page.locator("details.notif")
    expect(bell.locator(".notif-badge")).to_have_text("1")
    bell.locator("summary").click()
    item = bell.locator(".notif-item")
    expect(item).to_have_count(1)
    expect(item).to_contain_text("Lembrete de tarefa")
    expect(item).to_contain_text("Confirmar reunião de quinta")
    assert axe_violations(page) == []
    screenshot(page, "bell-pt-br")

    item.get_by_role("link").click()
    page.wait_for_url(f"{page.base_url}/tasks/#task-{task.pk}")
    expect(page.locator(f"#task-{task.pk}")).to_be_visible()
    expect(page.locator(".notif-badge")).to_have_count(0)
    _swapped(page)
    assert Notification.objects.for_workspace(workspace).get().read_at is not None

    page.goto(page.base_url + "/notifications/")
    expect(page.get_by_role("heading", name="Notificações")).to_be_visible()
    expect(page.locator(".notif-item:not(.is-unread)")).to_contain_text("Confirmar reunião")
    assert axe_violations(page) == []
    screenshot(page, "notifications-pt-br")


@pytest.mark.django_db(transaction=True)
def test_mark_all_read(page, crm):
    workspace, user = crm["workspace"], crm["user"]
    for title in ("Primeiro", "Segundo"):
        services.task_create(
            workspace=workspace,
            actor=user,
            title=title,
            assignee_id=user.pk,
            reminder_at=timezone.now() - dt.timedelta(minutes=1),
        )
    send_task_reminders()
    log_in(page, user.email, PASSWORD)
    bell = page.locator("details.notif")
    expect(bell.locator(".notif-badge")).to_have_text("2")
    bell.locator("summary").click()
    expect(bell.locator(".notif-item.is-unread")).to_have_count(2)

    bell.get_by_role("button", name="Marcar todas como lidas").click()

    expect(bell.locator(".notif-badge")).to_have_count(0)
    expect(bell.locator(".notif-item.is-unread")).to_have_count(0)
    expect(bell.locator(".notif-item")).to_have_count(2)


@pytest.mark.django_db(transaction=True)
def test_my_tasks_in_english_and_on_a_phone(page, crm):
    user = crm["user"]
    user.language = "en"
    user.save(update_fields=["language"])
    services.task_create(
        workspace=crm["workspace"],
        actor=user,
        title="Reminder due",
        assignee_id=user.pk,
        reminder_at=timezone.now() - dt.timedelta(minutes=1),
    )
    send_task_reminders()
    log_in(page, user.email, PASSWORD)
    page.goto(page.base_url + "/tasks/")
    expect(page.locator(".tasks-bucket h2")).to_have_text(
        ["Overdue", "Today", "Upcoming", "No due date"]
    )
    assert axe_violations(page) == []
    screenshot(page, "my-tasks-en")
    page.get_by_role("link", name="New task").click()
    expect(page.locator("form.task-form")).to_be_visible()
    _settle(page)
    screenshot(page, "my-tasks-new-en")
    assert axe_violations(page) == []

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(page.base_url + "/tasks/")
    expect(page.locator(".task-row")).to_have_count(5)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "my-tasks-390")
    page.locator("details.notif summary").click()
    expect(page.locator(".notif-item")).to_have_count(1)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "bell-390")

    page.goto(page.base_url + "/notifications/")
    expect(page.get_by_role("heading", name="Notifications")).to_be_visible()
    assert axe_violations(page) == []
    screenshot(page, "notifications-en")
