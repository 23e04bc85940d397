"""The import pages through the test client: upload (and its bad files), the mapping with its
errors, the preview that writes nothing, the start, the progress poll, the report, the failed
rows as CSV, undo, saved mappings, who may import, and what another workspace's ids reach."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.utils import timezone

from vinculo.contacts.models import Contact, ImportJob, ImportMapping, JobStatus
from vinculo.core.models import User, Workspace
from vinculo.core.roles import Role
from vinculo.core.tenancy import workspace_scope

# A file as Excel in Brazil saves it: ";"-separated, Windows-1252, dd/mm/yyyy dates. Line 4 has
# an email that is not one.
BRAZIL_CSV = (
    "Nome;Sobrenome;E-mail;Telefone;Cidade;Data de nascimento\r\n"
    "José;Açaí;jose@exemplo.com.br;(11) 98765-4321;São Paulo;31/12/1980\r\n"
    "Mônica;Ribeiro;monica@exemplo.com.br;(21) 99876-5432;Niterói;05/02/1975\r\n"
    "Araújo;Cecília;não-é-email;;Maceió;01/01/1990\r\n"
).encode("cp1252")


@pytest.fixture(autouse=True)
def file_storage(settings: Any, tmp_path: Any) -> None:
    """Uploads on disk, as in production (the reader streams from a path)."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path)},
        },
    }


@pytest.fixture
def log_in(client: Client) -> Callable[[User], Client]:
    """A logged-in client that reads the pages in English."""

    def make(user: User) -> Client:
        client.force_login(user)
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        return client

    return make


@pytest.fixture
def admin_client(log_in, admin: User) -> Client:
    return log_in(admin)


def upload(
    client: Client, content: bytes = BRAZIL_CSV, name: str = "clientes.csv", kind: str = "contact"
) -> Any:
    return client.post(
        "/imports/new",
        {"object_type": kind, "file": SimpleUploadedFile(name, content, "text/csv")},
    )


@pytest.fixture
def draft(admin_client: Client, workspace: Workspace) -> ImportJob:
    response = upload(admin_client)
    assert response.status_code == 302, response.content.decode()
    return ImportJob.objects.for_workspace(workspace).get()


def mapping_post(job: ImportJob, **overrides: Any) -> dict[str, Any]:
    """The mapping form as the page sends it: the job's guessed mapping, match by email, skip."""
    data: dict[str, Any] = {f"col_{i}": "" for i in range(len(job.headers))}
    data.update({f"col_{i}": name for i, name in job.mapping.items()})
    data.update({"has_header": "on", "match_by": ["email"], "on_match": "skip"})
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def run_import(client: Client, job: ImportJob, capture: Any) -> ImportJob:
    assert client.post(f"/imports/{job.pk}/mapping", mapping_post(job)).status_code == 302
    with capture(execute=True):
        response = client.post(f"/imports/{job.pk}/start")
    assert response.status_code == 302
    job.refresh_from_db()
    return job


def contacts(workspace: Workspace) -> list[str]:
    return sorted(
        Contact.objects.for_workspace(workspace)
        .filter(deleted_at__isnull=True)
        .values_list("email", flat=True)
    )


# --- the history --------------------------------------------------------------------------------


def test_empty_history_says_what_to_do_next(admin_client: Client) -> None:
    html = admin_client.get("/imports/").content.decode()
    assert "No imports yet" in html
    assert 'href="/imports/new?object=contact"' in html
    assert 'href="/imports/new?object=account"' in html


def test_history_lists_imports_with_their_counts(
    admin_client: Client, draft: ImportJob, django_capture_on_commit_callbacks: Any
) -> None:
    run_import(admin_client, draft, django_capture_on_commit_callbacks)
    html = admin_client.get("/imports/").content.decode()
    assert f'href="/imports/{draft.pk}/"' in html
    assert "clientes.csv" in html
    assert ">Done<" in html
    assert "admin@acme.test" in html or "Admin" in html
    # Created, updated, skipped, failed.
    cells = re.findall(r'class="num[^"]*">(\d+)<', html)
    assert cells[:4] == ["2", "0", "0", "1"]


# --- the upload ---------------------------------------------------------------------------------


def test_new_import_page_offers_both_kinds_and_states_the_size_limit(admin_client: Client) -> None:
    response = admin_client.get("/imports/new?object=account")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'value="account" id="id_object_type_1" checked' in html or re.search(
        r'value="account"[^>]*checked', html
    )
    assert "CSV or Excel (XLSX), up to" in html
    assert 'type="file"' in html and 'accept=".csv' in html
    assert '<label for="id_file">File</label>' in html


@pytest.mark.parametrize(
    ("content", "name", "reason"),
    [
        (b"", "empty.csv", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10" * 20, "photo.csv", ""),
        (b"email\r\n", "header-only.csv", ""),
    ],
)
def test_a_file_that_cannot_be_read_comes_back_with_the_reason_next_to_it(
    admin_client: Client, workspace: Workspace, content: bytes, name: str, reason: str
) -> None:
    response = upload(admin_client, content, name)
    assert response.status_code == 422
    html = response.content.decode()
    error = re.search(r'<p class="error" id="id_file_error">([^<]+)</p>', html)
    assert error, html
    assert reason in error.group(1).lower()
    assert 'aria-invalid="true"' in html
    assert not ImportJob.objects.for_workspace(workspace).exists()


def test_a_file_over_the_size_limit_is_refused(
    admin_client: Client, workspace: Workspace, settings: Any
) -> None:
    from vinculo.contacts.imports import reading

    limit = reading.MAX_IMPORT_BYTES
    try:
        reading.MAX_IMPORT_BYTES = 100
        settings.VINCULO_IMPORT_MAX_BYTES = 100
        response = upload(admin_client, BRAZIL_CSV * 3)
    finally:
        reading.MAX_IMPORT_BYTES = limit
    assert response.status_code == 422
    assert 'id="id_file_error"' in response.content.decode()
    assert not ImportJob.objects.for_workspace(workspace).exists()


def test_no_file_is_a_field_error(admin_client: Client) -> None:
    response = admin_client.post("/imports/new", {"object_type": "contact"})
    assert response.status_code == 422
    assert 'id="id_file_error"' in response.content.decode()


# --- the mapping --------------------------------------------------------------------------------


def test_upload_leads_to_the_mapping_with_guesses_samples_and_what_was_detected(
    admin_client: Client, draft: ImportJob
) -> None:
    assert draft.status == JobStatus.DRAFT
    assert draft.encoding == "cp1252" and draft.delimiter == ";"
    response = admin_client.get(f"/imports/{draft.pk}/")
    html = response.content.decode()
    assert response.status_code == 200
    # One row per column, its title and a few values, as the file has them (accents kept).
    for header in ("Nome", "Sobrenome", "E-mail", "Telefone", "Cidade", "Data de nascimento"):
        assert f'<th scope="row" class="col-name">{header}</th>' in html
    assert "<li>São Paulo</li>" in html and "<li>Niterói</li>" in html
    # The guesses are preselected.
    email_col = draft.headers.index("E-mail")
    assert draft.mapping[str(email_col)] == "email"
    select = re.search(rf'<select name="col_{email_col}"[^>]*>(.*?)</select>', html, re.S)
    assert select and re.search(r'<option value="email" selected>', select.group(1))
    assert "Do not import" in select.group(1)
    # What was detected, and the header toggle.
    assert "Windows-1252" in html and "semicolon (;)" in html
    assert re.search(r'<input type="checkbox" name="has_header"[^>]*checked', html)
    # Every select has a label.
    for i in range(len(draft.headers)):
        assert f'<label class="sr-only" for="id_col_{i}">' in html
    assert 'name="match_by" value="email"' in html
    assert 'name="on_match" value="fill"' in html


def test_a_field_mapped_twice_is_named_and_nothing_is_saved(
    admin_client: Client, draft: ImportJob
) -> None:
    email_col = draft.headers.index("E-mail")
    city_col = draft.headers.index("Cidade")
    before = dict(draft.mapping)
    response = admin_client.post(
        f"/imports/{draft.pk}/mapping", mapping_post(draft, **{f"col_{city_col}": "email"})
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert 'role="alert"' in html
    # Both columns are marked, each with the reason, and the summary links to them.
    for col in (email_col, city_col):
        assert re.search(rf'<select name="col_{col}"[^>]*aria-invalid="true"', html)
        error = re.search(rf'<p class="error" id="id_col_{col}_error">([^<]+)</p>', html)
        assert error and "Two columns go to the field “Email”" in error.group(1)
        assert f'<a href="#id_col_{col}">' in html
    draft.refresh_from_db()
    assert draft.mapping == before


def test_no_identifying_field_is_a_mapping_error(admin_client: Client, draft: ImportJob) -> None:
    data = {f"col_{i}": "" for i in range(len(draft.headers))}
    data.update({"has_header": "on", "match_by": ["email"], "on_match": "skip"})
    response = admin_client.post(f"/imports/{draft.pk}/mapping", data)
    assert response.status_code == 422
    html = response.content.decode()
    assert "The mapping needs your attention" in html
    assert "Map at least one of these fields" in html


def test_a_bad_option_is_a_field_error(admin_client: Client, draft: ImportJob) -> None:
    response = admin_client.post(
        f"/imports/{draft.pk}/mapping", mapping_post(draft, on_match="explode")
    )
    assert response.status_code == 422
    assert 'id="id_on_match"' in response.content.decode()


def test_turning_the_header_off_reads_the_first_row_as_data(
    admin_client: Client, draft: ImportJob
) -> None:
    data = mapping_post(draft, has_header=None)
    data.pop("has_header", None)
    data["refresh"] = "1"
    response = admin_client.post(f"/imports/{draft.pk}/mapping", data)
    assert response.status_code == 302
    assert response["Location"] == f"/imports/{draft.pk}/"
    draft.refresh_from_db()
    assert draft.has_header is False
    html = admin_client.get(f"/imports/{draft.pk}/").content.decode()
    assert '<th scope="row" class="col-name">Column 1</th>' in html
    assert "<li>Nome</li>" in html


# --- the preview --------------------------------------------------------------------------------


def test_preview_shows_cleaned_values_the_bad_cell_and_what_would_happen(
    admin_client: Client, draft: ImportJob, workspace: Workspace
) -> None:
    response = admin_client.post(f"/imports/{draft.pk}/mapping", mapping_post(draft))
    assert response.status_code == 302
    assert response["Location"] == f"/imports/{draft.pk}/?step=preview"
    response = admin_client.get(response["Location"])
    html = response.content.decode()
    assert response.status_code == 200
    assert "nothing has been written yet" in html
    rows = re.findall(r'<tr class="action-(\w+)">', html)
    assert rows == ["create", "create", "fail"]
    # The bad email is highlighted in its cell with the reason.
    bad = re.search(r'<td data-label="Email" class="has-error">(.*?)</td>', html, re.S)
    assert bad and "não-é-email" in bad.group(1) and 'class="cell-error"' in bad.group(1)
    # Values as read: the date day first (shown in the reader's format), accents kept.
    assert "12/31/1980" in html
    assert "São Paulo" in html and "(11) 98765-4321" in html
    assert "2 to create" in html and "1 with errors" in html
    assert contacts(workspace) == []
    assert f'action="/imports/{draft.pk}/start"' in html


# --- start, progress, report --------------------------------------------------------------------


def test_start_imports_and_the_page_becomes_the_report(
    admin_client: Client,
    draft: ImportJob,
    workspace: Workspace,
    django_capture_on_commit_callbacks: Any,
) -> None:
    job = run_import(admin_client, draft, django_capture_on_commit_callbacks)
    assert job.status == JobStatus.DONE
    assert (job.created_count, job.updated_count, job.skipped_count, job.failed_count) == (
        2,
        0,
        0,
        1,
    )
    assert contacts(workspace) == ["jose@exemplo.com.br", "monica@exemplo.com.br"]
    html = admin_client.get(f"/imports/{job.pk}/").content.decode()
    assert "Import finished" in html
    assert f'href="/imports/{job.pk}/failed-rows.csv"' in html
    assert "Download failed rows (CSV)" in html
    assert 'href="/contacts/?created_after=' in html
    assert 'data-open-dialog="undo-dialog"' in html
    assert '<dialog id="undo-dialog"' in html
    # Starting again changes nothing.
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(f"/imports/{job.pk}/start")
    assert contacts(workspace) == ["jose@exemplo.com.br", "monica@exemplo.com.br"]


def test_the_poll_answers_the_bar_and_reloads_the_page_when_the_import_is_over(
    admin_client: Client, draft: ImportJob, workspace: Workspace
) -> None:
    ImportJob.objects.for_workspace(workspace).filter(pk=draft.pk).update(
        status=JobStatus.RUNNING, total_rows=3, rows_done=1, started_at=timezone.now()
    )
    response = admin_client.get(f"/imports/{draft.pk}/progress", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert "HX-Refresh" not in response
    assert '<progress max="100" value="33"' in html
    assert f'hx-get="/imports/{draft.pk}/progress"' in html
    assert 'aria-label="Import progress"' in html
    # The page of a running import shows the same bar.
    page = admin_client.get(f"/imports/{draft.pk}/").content.decode()
    assert '<progress max="100" value="33"' in page and 'aria-current="step"' in page
    ImportJob.objects.for_workspace(workspace).filter(pk=draft.pk).update(
        status=JobStatus.DONE, rows_done=3, finished_at=timezone.now()
    )
    response = admin_client.get(f"/imports/{draft.pk}/progress", HTTP_HX_REQUEST="true")
    assert response["HX-Refresh"] == "true"
    assert "hx-get" not in response.content.decode()


def test_failed_rows_download_as_csv_with_a_bom_and_the_reason(
    admin_client: Client, draft: ImportJob, django_capture_on_commit_callbacks: Any
) -> None:
    job = run_import(admin_client, draft, django_capture_on_commit_callbacks)
    response = admin_client.get(f"/imports/{job.pk}/failed-rows.csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="clientes-failed-rows.csv"' in response["Content-Disposition"]
    body = b"".join(response.streaming_content)
    assert body.startswith(codecs.BOM_UTF8)
    rows = list(csv.reader(io.StringIO(body[len(codecs.BOM_UTF8) :].decode("utf-8"))))
    assert rows[0][:3] == ["line", "field", "reason"]
    assert rows[0][3:] == job.headers
    assert len(rows) == 2
    assert rows[1][0] == "4"
    assert rows[1][1] == "E-mail"
    assert "e-mail" in rows[1][2].lower()  # the workspace speaks pt-BR
    assert rows[1][3:] == ["Araújo", "Cecília", "não-é-email", "", "Maceió", "01/01/1990"]


# --- undo ---------------------------------------------------------------------------------------


def test_undo_removes_what_the_import_created(
    admin_client: Client,
    draft: ImportJob,
    workspace: Workspace,
    django_capture_on_commit_callbacks: Any,
) -> None:
    job = run_import(admin_client, draft, django_capture_on_commit_callbacks)
    page = admin_client.get(f"/imports/{job.pk}/?confirm=undo").content.decode()
    # Without JavaScript the confirmation is the page itself, with the dialog open.
    assert (
        '<dialog id="undo-dialog" class="confirm-dialog" aria-labelledby="undo-dialog-title" open>'
        in page
    )
    assert "7 days" in admin_client.get(f"/imports/{job.pk}/").content.decode() or "Until" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(f"/imports/{job.pk}/undo", follow=True)
    html = response.content.decode()
    assert "This import was undone on" in html
    assert 'data-open-dialog="undo-dialog"' not in html
    assert contacts(workspace) == []
    job.refresh_from_db()
    assert job.status == JobStatus.UNDONE


def test_undo_after_seven_days_is_refused_with_a_reason(
    admin_client: Client,
    draft: ImportJob,
    workspace: Workspace,
    django_capture_on_commit_callbacks: Any,
) -> None:
    job = run_import(admin_client, draft, django_capture_on_commit_callbacks)
    old = timezone.now() - dt.timedelta(days=8)
    ImportJob.objects.for_workspace(workspace).filter(pk=job.pk).update(
        created_at=old, started_at=old, finished_at=old
    )
    page = admin_client.get(f"/imports/{job.pk}/").content.decode()
    assert 'data-open-dialog="undo-dialog"' not in page
    assert "can no longer be" in page
    response = admin_client.post(f"/imports/{job.pk}/undo", follow=True)
    assert response.status_code == 200
    assert 'class="alert alert-error"' in response.content.decode()
    job.refresh_from_db()
    assert job.status == JobStatus.DONE
    assert len(contacts(workspace)) == 2


# --- the three kinds of file of the issue, through the pages ------------------------------------


def _xlsx(rows: list[list[Any]]) -> bytes:
    import xlsxwriter

    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    sheet = book.add_worksheet("Clientes")
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if isinstance(value, dt.date):
                sheet.write_datetime(r, c, dt.datetime.combine(value, dt.time()))
            else:
                sheet.write(r, c, value)
    book.close()
    return out.getvalue()


ROWS = [
    ["Nome completo", "E-mail", "Cidade", "Data de nascimento"],
    ["José Açaí", "jose@exemplo.com.br", "São Paulo", "31/12/1980"],
    ["Mônica Ribeiro", "monica@exemplo.com.br", "Niterói", "05/02/1975"],
    ["Cecília Gonçalves", "não-é-email", "Maceió", "01/01/1990"],
]


def _csv(rows: list[list[Any]], delimiter: str) -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return out.getvalue()


@pytest.mark.parametrize(
    ("name", "content", "encoding"),
    [
        ("excel-brasil.csv", _csv(ROWS, ";").encode("cp1252"), "cp1252"),
        ("utf8-bom.csv", codecs.BOM_UTF8 + _csv(ROWS, ",").encode("utf-8"), "utf-8-sig"),
        (
            "planilha.xlsx",
            _xlsx([*ROWS[:1], *[[*r[:3], dt.date(1980, 12, 31)] for r in ROWS[1:]]]),
            "",
        ),
    ],
)
def test_each_kind_of_file_imports_through_the_pages_with_its_failed_row(
    admin_client: Client,
    workspace: Workspace,
    django_capture_on_commit_callbacks: Any,
    name: str,
    content: bytes,
    encoding: str,
) -> None:
    response = upload(admin_client, content, name)
    assert response.status_code == 302, response.content.decode()
    job = ImportJob.objects.for_workspace(workspace).get()
    assert job.encoding == encoding
    page = admin_client.get(f"/imports/{job.pk}/").content.decode()
    assert "<li>São Paulo</li>" in page
    job = run_import(admin_client, job, django_capture_on_commit_callbacks)
    assert (job.created_count, job.failed_count) == (2, 1)
    cities = Contact.objects.for_workspace(workspace).values_list("city", flat=True)
    assert sorted(cities) == ["Niterói", "São Paulo"]
    body = b"".join(admin_client.get(f"/imports/{job.pk}/failed-rows.csv").streaming_content)
    assert "Cecília Gonçalves" in body.decode("utf-8-sig")


# --- saved mappings -----------------------------------------------------------------------------


def test_a_mapping_saved_with_one_import_is_offered_applied_and_deleted(
    admin_client: Client, draft: ImportJob, workspace: Workspace
) -> None:
    city_col = draft.headers.index("Cidade")
    response = admin_client.post(
        f"/imports/{draft.pk}/mapping",
        mapping_post(draft, **{f"col_{city_col}": "", "save_mapping_as": "Planilha da feira"}),
    )
    assert response.status_code == 302
    saved = ImportMapping.objects.for_workspace(workspace).get(name="Planilha da feira")
    second = upload(admin_client, name="feira-2.csv")
    job = ImportJob.objects.for_workspace(workspace).get(pk=int(second["Location"].split("/")[2]))
    html = admin_client.get(f"/imports/{job.pk}/").content.decode()
    assert "Planilha da feira" in html
    assert f'href="?mapping={saved.pk}"' in html
    applied = admin_client.get(f"/imports/{job.pk}/?mapping={saved.pk}").content.decode()
    select = re.search(rf'<select name="col_{city_col}"[^>]*>(.*?)</select>', applied, re.S)
    assert select and not re.search(r"<option value=\"[^\"]+\" selected>", select.group(1))
    assert admin_client.get(f"/imports/{job.pk}/?mapping=999999").status_code == 404
    response = admin_client.post(
        f"/imports/mappings/{saved.pk}/delete", {"job": str(job.pk)}, follow=True
    )
    assert response.status_code == 200
    assert not ImportMapping.objects.for_workspace(workspace).filter(pk=saved.pk).exists()


# --- who may import -----------------------------------------------------------------------------


def test_a_read_only_member_cannot_import(
    log_in, make_member, workspace: Workspace, admin_client: Client, draft: ImportJob
) -> None:
    reader = make_member("reader@acme.test", Role.READ_ONLY)
    client = log_in(reader)
    assert client.get("/imports/new").status_code == 403
    assert upload(client).status_code == 403
    html = client.get("/imports/").content.decode()
    assert "/imports/new" not in html
    assert ImportJob.objects.for_workspace(workspace).count() == 1


def test_a_service_member_may_import_contacts_but_not_accounts(
    log_in, make_member, workspace: Workspace
) -> None:
    client = log_in(make_member("help@acme.test", Role.SERVICE))
    html = client.get("/imports/new?object=account").content.decode()
    assert 'value="contact"' in html and 'value="account"' not in html
    response = upload(client, kind="account")
    assert response.status_code == 422
    assert not ImportJob.objects.for_workspace(workspace).exists()


# --- other workspaces ---------------------------------------------------------------------------


def test_another_workspaces_import_answers_404_everywhere(
    admin_client: Client,
    other_workspace: Workspace,
    other_admin: User,
    client: Client,
) -> None:
    with workspace_scope(other_workspace):
        from vinculo.contacts.imports import services

        theirs = services.import_upload(
            workspace=other_workspace,
            actor=other_admin,
            object_type="contact",
            uploaded=SimpleUploadedFile("deles.csv", BRAZIL_CSV),
            original_name="deles.csv",
        )
        their_mapping = ImportMapping.objects.for_workspace(other_workspace).create(
            workspace=other_workspace, object_type="contact", name="Deles", mapping={}
        )
    base = f"/imports/{theirs.pk}"
    for path in (
        f"{base}/",
        f"{base}/?step=preview",
        f"{base}/progress",
        f"{base}/failed-rows.csv",
    ):
        assert admin_client.get(path).status_code == 404, path
    for path in (f"{base}/mapping", f"{base}/start", f"{base}/undo"):
        assert admin_client.post(path, {"on_match": "skip"}).status_code == 404, path
    assert admin_client.post(f"/imports/mappings/{their_mapping.pk}/delete").status_code == 404
    assert "deles.csv" not in admin_client.get("/imports/").content.decode()
    with workspace_scope(other_workspace):
        assert (
            ImportMapping.objects.for_workspace(other_workspace)
            .filter(pk=their_mapping.pk)
            .exists()
        )


# --- query budgets ------------------------------------------------------------------------------


def test_history_queries_do_not_grow_with_imports(
    admin_client: Client,
    workspace: Workspace,
    admin: User,
    make_member,
    django_assert_max_num_queries: Any,
) -> None:
    people = [admin, *(make_member(f"p{i}@acme.test", Role.MANAGER) for i in range(3))]
    ImportJob.objects.for_workspace(workspace).bulk_create(
        [
            ImportJob(
                workspace=workspace,
                created_by=people[i % 4],
                object_type="contact" if i % 2 else "account",
                original_name=f"file-{i}.csv",
                status=JobStatus.DONE,
                created_count=i,
            )
            for i in range(30)
        ]
    )
    admin_client.get("/")  # the first page after logging in also saves the session
    # Session, user, membership twice, the page of jobs with their authors, the shell's menu.
    with django_assert_max_num_queries(7):
        response = admin_client.get("/imports/")
    assert response.content.decode().count('class="record-link"') == 30


# Session, user, membership (twice: the workspace and the role), the job; then per step: custom
# fields and saved mappings (mapping); custom fields, members, and the rolled-back write of the
# rows, which goes in batches (preview); nothing more (report, progress); the shell's menu.
# PostgreSQL reserves the ids of each batch's new rows first (records, events, changes): three
# queries per batch, not per row.
DETAIL_BUDGETS = {
    "mapping": 9,
    "preview": 23 + (3 if connection.vendor == "postgresql" else 0),
    "report": 7,
    "progress": 6,
}


@pytest.mark.parametrize("step", list(DETAIL_BUDGETS))
def test_detail_queries_do_not_grow_with_rows_or_fields(
    admin_client: Client,
    workspace: Workspace,
    step: str,
    custom_field: Any,
    contact_factory: Any,
    django_capture_on_commit_callbacks: Any,
    django_assert_max_num_queries: Any,
) -> None:
    for key in ("segment", "size", "origin"):
        custom_field(key, "text")
    # 40 rows, a third of them already in the base (updates), one bad row.
    rows = ["Nome;E-mail;Cidade;segment"]
    for i in range(40):
        rows.append(f"Pessoa {i};p{i}@exemplo.com.br;Recife;s{i % 3}")
        if i % 3 == 0:
            contact_factory(first_name=f"Pessoa {i}", email=f"p{i}@exemplo.com.br")
    rows.append("Sem email;não-é-email;Recife;")
    assert upload(admin_client, "\r\n".join(rows).encode("cp1252")).status_code == 302
    job = ImportJob.objects.for_workspace(workspace).get()
    data = mapping_post(job, on_match="fill")
    url = f"/imports/{job.pk}/"
    if step == "preview":
        assert admin_client.post(f"/imports/{job.pk}/mapping", data).status_code == 302
        url += "?step=preview"
    elif step == "report":
        run_import(admin_client, job, django_capture_on_commit_callbacks)
    elif step == "progress":
        url += "progress"
    with django_assert_max_num_queries(DETAIL_BUDGETS[step]):
        response = admin_client.get(url)
    assert response.status_code == 200
    if step == "preview":
        html = response.content.decode()
        assert html.count('<tr class="action-') == 20
        assert 'class="action-update"' in html
