"""Exports in a real browser: a filtered list downloaded from its Export menu as XLSX and CSV,
the selected rows from the bulk bar, a large list prepared in the background with its page and
download, and the Exports page (pt-BR, en, 390 px, axe-core)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect
from python_calamine import CalamineWorkbook

from tests.browser.conftest import axe_violations, log_in, screenshot
from vinculo.contacts.models import ExportJob, JobStatus
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
            workspace=workspace, actor=user, data={"name": "Laticínios Serra Azul"}
        )
        people = [
            ("Heloísa", "Viana", "customer", "=1+1", serra.pk, ["vip"]),
            ("João", "Pereira", "lead", "Compras", None, []),
            ("Márcia", "Lopes", "customer", "Diretora", serra.pk, ["feira", "vip"]),
            ("Otávio", "Ramos", "customer", "@Compras", None, ["feira"]),
            ("Beatriz", "Nunes", "subscriber", "Financeiro", None, []),
        ]
        for first, last, stage, job, account, tags in people:
            contact_create(
                workspace=workspace,
                actor=user,
                data={
                    "first_name": first,
                    "last_name": last,
                    "lifecycle_stage": stage,
                    "job_title": job,
                    "phones": ["+55 81 99876-5432"],
                    "account_id": account,
                    "tags": tags,
                },
            )
    return {"workspace": workspace, "user": user}


def _settle(page) -> None:
    expect(page.locator(".htmx-request, .htmx-added, .htmx-settling")).to_have_count(0)
    page.evaluate("document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0)")


def _english(page) -> None:
    page.context.add_cookies([{"name": "django_language", "value": "en", "url": page.base_url}])


def _no_serious_violations(page) -> None:
    violations = axe_violations(page)
    assert violations == [], violations


def _download(page, click) -> tuple[str, bytes]:
    with page.expect_download() as info:
        click()
    download = info.value
    path = download.path()
    assert path is not None
    return download.suggested_filename, Path(path).read_bytes()


def _xlsx(data: bytes) -> list[list[object]]:
    return [
        list(r)
        for r in CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0).to_python()
    ]


def _csv(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


@pytest.mark.django_db(transaction=True)
def test_export_a_filtered_list_as_xlsx_and_csv(page, crm):
    log_in(page, crm["user"].email, PASSWORD)
    page.goto(page.base_url + "/contacts/?lifecycle_stage=customer&sort=-name")
    expect(page.locator("table.records tbody tr")).to_have_count(3)
    menu = page.locator(".export-menu")
    menu.locator("summary").click()
    expect(menu.locator("button[value=xlsx]")).to_be_visible()
    _settle(page)
    screenshot(page, "export-menu-pt-br")

    name, data = _download(page, lambda: menu.locator("button[value=xlsx]").click())
    assert name.endswith(".xlsx")
    rows = _xlsx(data)
    assert rows[0] == ["Nome", "E-mail", "Telefone", "Empresa", "Estágio", "Dono", "Etiquetas"]
    assert [r[0] for r in rows[1:]] == ["Otávio Ramos", "Márcia Lopes", "Heloísa Viana"]
    assert rows[2][3] == "Laticínios Serra Azul" and rows[2][6] == "feira, vip"
    assert rows[1][2] == "+55 81 99876-5432"

    if not menu.locator(".menu-panel").is_visible():
        menu.locator("summary").click()
    name, data = _download(page, lambda: menu.locator("button[value=csv]").click())
    assert name.endswith(".csv")
    rows = _csv(data)
    assert [r[0] for r in rows[1:]] == ["Otávio Ramos", "Márcia Lopes", "Heloísa Viana"]
    assert rows[1][2] == "'+55 81 99876-5432"
    assert not ExportJob.all_tenants.exists(), "small lists come back at once"

    # The menu on a phone.
    page.set_viewport_size({"width": 390, "height": 844})
    if not menu.locator(".menu-panel").is_visible():
        menu.locator("summary").click()
    expect(menu.locator("button[value=xlsx]")).to_be_in_viewport()
    _settle(page)
    screenshot(page, "export-menu-390")
    page.set_viewport_size({"width": 1280, "height": 860})

    # The selected rows, from the bulk bar.
    page.locator("table.records tbody tr").nth(1).locator("input[name=ids]").check()
    bar = page.locator("[data-bulkbar]")
    expect(bar).to_be_visible()
    name, data = _download(page, lambda: bar.locator("[data-export-selection=xlsx]").click())
    assert [r[0] for r in _xlsx(data)[1:]] == ["Márcia Lopes"]


@pytest.mark.django_db(transaction=True)
def test_a_large_list_is_prepared_in_the_background(page, crm, settings):
    settings.VINCULO_EXPORT_IMMEDIATE_MAX_ROWS = 2
    log_in(page, crm["user"].email, PASSWORD)
    page.goto(page.base_url + "/exports/")
    expect(page.locator(".empty")).to_be_visible()
    _settle(page)
    _no_serious_violations(page)
    screenshot(page, "exports-empty-pt-br")

    page.goto(page.base_url + "/contacts/")
    page.locator(".export-menu summary").click()
    page.locator(".export-menu button[value=xlsx]").click()
    expect(page).to_have_url(f"{page.base_url}/exports/{ExportJob.all_tenants.get().pk}/")
    job = ExportJob.all_tenants.get()
    assert job.status == JobStatus.DONE and job.rows_done == 5
    download_link = page.locator(".export-card a[download]")
    expect(download_link).to_be_visible()
    _settle(page)
    _no_serious_violations(page)
    screenshot(page, "export-detail-pt-br")
    name, data = _download(page, download_link.click)
    assert name == job.file_name and name.endswith(".xlsx")
    assert len(_xlsx(data)) == 6

    page.goto(page.base_url + "/exports/")
    row = page.locator("table.export-history tbody tr").first
    expect(row.locator(".badge")).to_be_visible()
    expect(row.locator("a[download]")).to_be_visible()
    _settle(page)
    _no_serious_violations(page)
    screenshot(page, "exports-list-pt-br")
    page.set_viewport_size({"width": 390, "height": 844})
    _settle(page)
    screenshot(page, "exports-list-390")
    page.goto(f"{page.base_url}/exports/{job.pk}/")
    _settle(page)
    screenshot(page, "export-detail-390")
    page.set_viewport_size({"width": 1280, "height": 860})

    _english(page)
    page.goto(page.base_url + "/exports/")
    expect(page.get_by_role("heading", name="Exports")).to_be_visible()
    _settle(page)
    _no_serious_violations(page)
    screenshot(page, "exports-list-en")
    page.goto(f"{page.base_url}/exports/{job.pk}/")
    expect(page.get_by_role("heading", name="Your file is ready")).to_be_visible()
    _settle(page)
    screenshot(page, "export-detail-en")

    # An export the worker is writing shows its progress, polled every second.
    running = ExportJob.all_tenants.create(
        workspace=crm["workspace"],
        created_by=crm["user"],
        object_type="contact",
        file_format="csv",
        status=JobStatus.RUNNING,
        total_rows=1_000_000,
        rows_done=412_000,
        started_at=timezone.now() - dt.timedelta(seconds=8),
        heartbeat_at=timezone.now(),
    )
    page.goto(f"{page.base_url}/exports/{running.pk}/")
    expect(page.locator(".job-progress progress")).to_have_attribute("value", "41")
    with page.expect_response(lambda r: r.url.endswith(f"/exports/{running.pk}/progress")):
        pass
    _settle(page)
    _no_serious_violations(page)
    screenshot(page, "export-running-en")
    ExportJob.all_tenants.filter(pk=running.pk).delete()
    page.goto(f"{page.base_url}/exports/{job.pk}/")

    # Deleting asks first.
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator(".export-delete button").click()
    expect(page).to_have_url(page.base_url + "/exports/")
    assert not ExportJob.all_tenants.exists()
