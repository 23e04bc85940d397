"""Imports in a real browser: a ";"-separated Windows-1252 file with accents and one bad row goes
through the upload, the mapping, the preview (which shows the bad cell), the start, the
progress bar, the report and the failed rows' download, and is then undone. Screenshots of
every step in pt-BR, in English and at 390 px; axe-core on each step."""

from __future__ import annotations

import codecs
import csv
import io
import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import axe_violations, log_in, screenshot
from vinculo.contacts.imports.services import import_run
from vinculo.contacts.models import Contact, ImportJob, JobStatus
from vinculo.contacts.services import contact_create
from vinculo.core.models import User
from vinculo.core.services import workspace_create
from vinculo.core.tenancy import workspace_scope

PASSWORD = "correct horse battery staple"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 860}

# As Excel in Brazil saves "CSV (separado por vírgulas)": ";", Windows-1252, dd/mm/yyyy. Mônica
# is already in the base (her row fills her empty fields); line 5 has an email that is not one.
FILE = (
    "Nome completo;E-mail;Telefone;Empresa;Cidade;Data de nascimento;Observação\r\n"
    "José Açaí da Conceição;jose@exemplo.com.br;(11) 98765-4321;Laticínios São João;"
    "São Paulo;31/12/1980;cliente antigo\r\n"
    "Mônica Ribeiro;monica@exemplo.com.br;(21) 99876-5432;;Niterói;05/02/1975;\r\n"
    "Inês Araújo;ines@exemplo.com.br;;Padaria Pão de Açúcar;Maceió;12/06/1992;\r\n"
    "Cecília Gonçalves;não-é-email;(81) 3222-1100;;Recife;01/01/1990;ligar à tarde\r\n"
).encode("cp1252")


@pytest.fixture
def crm(transactional_db):
    workspace = workspace_create(name="Acme Ltda", slug="acme", admin_email="ana@acme.example.com")
    user = User.objects.get(email="ana@acme.example.com")
    user.full_name = "Ana Souza"
    user.set_password(PASSWORD)
    user.save()
    with workspace_scope(workspace):
        monica = contact_create(
            workspace=workspace,
            actor=user,
            data={
                "first_name": "Mônica",
                "last_name": "Ribeiro",
                "emails": ["monica@exemplo.com.br"],
            },
        )
    return {"workspace": workspace, "user": user, "monica": monica}


@pytest.fixture
def uploads_on_disk(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path)},
        },
    }


def _settle(page) -> None:
    """htmx done, nothing focused (a caret would be hidden with an injected style the CSP
    refuses), at the top of the page."""
    expect(page.locator(".htmx-request, .htmx-added, .htmx-settling")).to_have_count(0)
    page.evaluate("document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0)")


def _shots(page, name: str) -> None:
    """The page as it is, at 390 px too, and no serious accessibility fault."""
    _settle(page)
    violations = axe_violations(page)
    assert violations == [], violations
    screenshot(page, name)
    page.set_viewport_size(PHONE)
    _settle(page)
    screenshot(page, f"{name}-390")
    page.set_viewport_size(DESKTOP)


def _english(page) -> None:
    page.context.add_cookies([{"name": "django_language", "value": "en", "url": page.base_url}])


def _accept_422(page) -> None:
    page.problems[:] = [p for p in page.problems if "status of 422" not in p]


def _contacts(crm) -> list[str]:
    with workspace_scope(crm["workspace"]):
        return sorted(
            Contact.objects.for_workspace(crm["workspace"])
            .filter(deleted_at__isnull=True)
            .values_list("email", flat=True)
        )


@pytest.mark.django_db(transaction=True)
def test_import_a_brazilian_excel_file_then_undo_it(page, crm, settings, uploads_on_disk):
    # The worker is not running: the import waits in the queue until the test runs it, so the
    # progress step can be seen.
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    log_in(page, crm["user"].email, PASSWORD)
    page.goto(page.base_url + "/contacts/")
    page.locator('a[href="/imports/new?object=contact"]').first.click()

    # 1. Upload.
    expect(page.locator("#id_file")).to_be_visible()
    expect(page.locator('input[name="object_type"][value="contact"]')).to_be_checked()
    _shots(page, "import-1-upload-pt-br")
    page.set_input_files(
        "#id_file", files=[{"name": "clientes.csv", "mimeType": "text/csv", "buffer": FILE}]
    )
    page.locator(".import-upload button[type=submit]").click()

    # 2. Mapping: the columns with their accents, the guesses, what was detected.
    expect(page.locator("table.import-map")).to_be_visible()
    job = ImportJob.objects.for_workspace(crm["workspace"]).get()
    assert (job.encoding, job.delimiter) == ("cp1252", ";")
    expect(page.locator("table.import-map tbody tr")).to_have_count(7)
    expect(page.locator("table.import-map")).to_contain_text("Observação")
    expect(page.locator("table.import-map")).to_contain_text("São Paulo")
    expect(page.locator("#id_col_1")).to_have_value("email")
    expect(page.locator("#id_col_0")).to_have_value("full_name")
    expect(page.locator("#id_col_6")).to_have_value("")
    expect(page.locator(".file-facts")).to_contain_text("Windows-1252")
    # Mapping two columns to the same field is pointed out at once.
    page.locator("#id_col_4").select_option("email")
    expect(page.locator(".dup-hint")).to_have_count(2)
    page.locator("#id_col_4").select_option("city")
    expect(page.locator(".dup-hint")).to_have_count(0)
    page.locator('input[name="on_match"][value="fill"]').check()
    _shots(page, "import-2-mapping-pt-br")

    # 3. Preview: the bad email is highlighted in its cell; nothing is written yet.
    page.locator('button[name="preview"]').click()
    expect(page.locator("table.import-preview")).to_be_visible()
    expect(page.locator("table.import-preview tbody tr")).to_have_count(4)
    bad = page.locator("table.import-preview td.has-error")
    expect(bad).to_have_count(1)
    expect(bad).to_contain_text("não-é-email")
    expect(page.locator("tr.action-fail")).to_have_count(1)
    expect(page.locator("tr.action-update")).to_have_count(1)
    expect(page.locator("tr.action-create")).to_have_count(2)
    assert _contacts(crm) == ["monica@exemplo.com.br"]
    _shots(page, "import-3-preview-pt-br")

    # 4. Start: the progress bar while the import waits and runs.
    page.locator(f'form[action="/imports/{job.pk}/start"] button').click()
    expect(page.locator(".job-progress progress")).to_be_visible()
    expect(page.locator(".job-progress")).to_have_attribute("hx-get", f"/imports/{job.pk}/progress")
    _settle(page)
    screenshot(page, "import-4-progress-pt-br")
    page.set_viewport_size(PHONE)
    screenshot(page, "import-4-progress-pt-br-390")
    page.set_viewport_size(DESKTOP)
    with workspace_scope(crm["workspace"]):
        import_run(job_id=job.pk)

    # 5. Report: the poll notices the end and the page reloads with the counts.
    expect(page.locator(".report-stats")).to_be_visible(timeout=15_000)
    stats = page.locator(".report-stats .value")
    expect(stats).to_have_text(["2", "1", "0", "1"])
    assert _contacts(crm) == [
        "ines@exemplo.com.br",
        "jose@exemplo.com.br",
        "monica@exemplo.com.br",
    ]
    monica = Contact.objects.for_workspace(crm["workspace"]).get(pk=crm["monica"].pk)
    assert monica.city == "Niterói"
    _shots(page, "import-5-report-pt-br")

    # The failed rows: UTF-8 with a BOM, the line, the column and the reason, the values as
    # they were in the file.
    with page.expect_download() as download:
        page.locator(f'a[href="/imports/{job.pk}/failed-rows.csv"]').click()
    body = open(download.value.path(), "rb").read()  # noqa: SIM115 - Playwright's temp file
    assert body.startswith(codecs.BOM_UTF8)
    rows = list(csv.reader(io.StringIO(body[3:].decode("utf-8"))))
    assert rows[1][0] == "5"
    assert rows[1][1] == "E-mail"
    assert rows[1][3:] == [
        "Cecília Gonçalves",
        "não-é-email",
        "(81) 3222-1100",
        "",
        "Recife",
        "01/01/1990",
        "ligar à tarde",
    ]

    # 6. Undo, after a confirmation that says what it does.
    page.locator('[data-open-dialog="undo-dialog"]').click()
    dialog = page.locator("#undo-dialog")
    expect(dialog).to_be_visible()
    # The dialog holds the focus: its safe choice first.
    expect(dialog.locator("[data-close-dialog]")).to_be_focused()
    _settle(page)
    screenshot(page, "import-6-undo-dialog-pt-br")
    page.set_viewport_size(PHONE)
    screenshot(page, "import-6-undo-dialog-pt-br-390")
    page.set_viewport_size(DESKTOP)
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    page.locator('[data-open-dialog="undo-dialog"]').click()
    dialog.locator("button[type=submit]").click()
    expect(page.locator(".alert-info")).to_be_visible()
    assert _contacts(crm) == ["monica@exemplo.com.br"]
    monica.refresh_from_db()
    assert monica.city == ""
    job.refresh_from_db()
    assert job.status == JobStatus.UNDONE
    _shots(page, "import-7-undone-pt-br")

    # The history lists it.
    page.goto(page.base_url + "/imports/")
    expect(page.locator("table.import-history tbody tr")).to_have_count(1)
    _shots(page, "import-0-history-pt-br")


@pytest.mark.django_db(transaction=True)
def test_import_pages_in_english_with_a_bad_file_and_a_bad_mapping(page, crm, uploads_on_disk):
    log_in(page, crm["user"].email, PASSWORD)
    _english(page)
    page.goto(page.base_url + "/imports/")
    expect(page.get_by_role("heading", name="No imports yet")).to_be_visible()
    _shots(page, "import-0-empty-en")

    page.get_by_role("link", name="Import contacts").first.click()
    # A file that is not a table: the reason sits by the file input.
    page.get_by_label("File").set_input_files(
        files=[
            {
                "name": "photo.csv",
                "mimeType": "text/csv",
                "buffer": b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4,
            }
        ]
    )
    page.get_by_role("button", name="Upload and continue").click()
    expect(page.locator("#id_file_error")).to_be_visible()
    expect(page.get_by_label("File")).to_have_attribute("aria-invalid", "true")
    _accept_422(page)
    _shots(page, "import-1-upload-error-en")

    page.get_by_label("File").set_input_files(
        files=[{"name": "clientes.csv", "mimeType": "text/csv", "buffer": FILE}]
    )
    page.get_by_role("button", name="Upload and continue").click()
    expect(page.get_by_role("heading", name="Which field does each column go to?")).to_be_visible()
    # The first row read as data, then as titles again: the button shows once the choice
    # differs from the columns on screen.
    reread = page.get_by_role("button", name="Read the columns again")
    expect(reread).to_be_hidden()
    page.get_by_label("The first row holds the column titles").uncheck()
    expect(reread).to_be_visible()
    reread.click()
    expect(page.locator("table.import-map tbody th").first).to_have_text("Column 1")
    expect(page.locator("table.import-map")).to_contain_text("Nome completo")
    page.get_by_label("The first row holds the column titles").check()
    page.get_by_role("button", name="Read the columns again").click()
    expect(page.locator("table.import-map tbody th").first).to_have_text("Nome completo")
    # Nothing that names a person: the mapping error is named, by the columns.
    for index in range(7):
        page.get_by_label(re.compile(r"Field for the column")).nth(index).select_option("")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#mapping-errors")).to_contain_text("Map at least one of these fields")
    _accept_422(page)
    _shots(page, "import-2-mapping-error-en")

    page.get_by_label("Field for the column “Nome completo”").select_option("full_name")
    page.get_by_label("Field for the column “E-mail”").select_option("email")
    page.get_by_label("Save this mapping as").fill("Planilha da feira")
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_role("heading", name=re.compile("Preview"))).to_be_visible()
    _shots(page, "import-3-preview-en")
    # Back to the mapping: the saved mapping is offered.
    page.get_by_role("link", name="Back to the mapping").click()
    expect(page.locator(".saved-mappings")).to_contain_text("Planilha da feira")
    _shots(page, "import-2-mapping-saved-en")
