"""The export pages: the list's Export menu (a file at once, or a background export with its
page), the Exports page, downloads for their maker or an admin only, deletion."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from tests.contacts.exports.conftest import SalesTeam, body, read_csv, read_xlsx
from vinculo.contacts.exports.services import export_create
from vinculo.contacts.models import ExportJob, JobStatus
from vinculo.core.roles import Role
from vinculo.core.tenancy import workspace_scope

START = "/exports/new"


def start(client, **data):
    data.setdefault("object_type", "contact")
    return client.post(START, data)


@pytest.fixture
def three(contact_factory, account_factory):
    acme = account_factory(name="Acme")
    return [
        contact_factory(first_name="Ana", lifecycle_stage="customer", account_id=acme.pk),
        contact_factory(first_name="Bia", lifecycle_stage="customer"),
        contact_factory(first_name="Caio", lifecycle_stage="lead"),
    ]


def test_the_list_page_offers_csv_and_xlsx_of_the_view(log_in, admin, three) -> None:
    client = log_in(admin)
    page = client.get("/contacts/?lifecycle_stage=customer&sort=-name").content.decode()
    assert f'action="{START}"' in page
    assert 'name="query" value="lifecycle_stage=customer&amp;sort=-name"' in page
    assert 'name="format" value="csv"' in page and 'name="format" value="xlsx"' in page
    assert '<input type="hidden" name="columns" value="account">' in page
    assert 'href="/exports/"' in page
    assert 'data-export-selection="xlsx"' in page


def test_a_small_list_downloads_at_once_with_its_filters_and_columns(log_in, admin, three) -> None:
    client = log_in(admin)
    query = urlencode({"lifecycle_stage": "customer", "sort": "-name", "cursor": "x"})
    response = start(client, format="csv", query=query, columns=["account", "lifecycle_stage"])
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="contacts-')
    assert read_csv(body(response)) == [
        ["Name", "Company", "Stage"],
        ["Bia", "", "Customer"],
        ["Ana", "Acme", "Customer"],
    ]
    response = start(client, format="xlsx", query=query, columns=["account"])
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert response["Content-Disposition"].endswith('.xlsx"')
    assert read_xlsx(body(response)) == [["Name", "Company"], ["Bia", ""], ["Ana", "Acme"]]
    assert not ExportJob.objects.exists()


def test_selected_rows_at_once(log_in, admin, three) -> None:
    client = log_in(admin)
    response = start(client, format="csv", ids=[three[2].pk, three[0].pk])
    assert [r[0] for r in read_csv(body(response))[1:]] == ["Ana", "Caio"]
    # The bulk bar's links (GET) give the same, in either format.
    response = client.get(f"/contacts/export.csv?format=xlsx&ids={three[2].pk}")
    assert read_xlsx(body(response))[1][0] == "Caio"


def test_a_large_list_becomes_a_background_export(
    log_in, admin, three, contact_factory, small_limit, django_capture_on_commit_callbacks
) -> None:
    contact_factory(first_name="Davi", lifecycle_stage="customer")
    contact_factory(first_name="Eva", lifecycle_stage="customer")
    client = log_in(admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = start(
            client,
            format="xlsx",
            query="lifecycle_stage=customer",
            columns=["lifecycle_stage"],
        )
    job = ExportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/exports/{job.pk}/"
    assert job.status == JobStatus.DONE and job.rows_done == 4
    page = client.get(response["Location"])
    html = page.content.decode()
    assert "Your file is ready" in html
    assert f'href="/exports/{job.pk}/download"' in html
    download = client.get(f"/exports/{job.pk}/download")
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith('attachment; filename="contacts-')
    rows = read_xlsx(body(download))
    assert rows[0] == ["Name", "Stage"]
    assert [r[0] for r in rows[1:]] == ["Ana", "Bia", "Davi", "Eva"]


def test_a_running_export_shows_its_progress_and_the_poll_reloads_when_done(
    workspace, log_in, admin, three, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        job = export_create(workspace=workspace, actor=admin, object_type="contact")
    ExportJob.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING, rows_done=1, started_at=timezone.now()
    )
    client = log_in(admin)
    html = client.get(f"/exports/{job.pk}/").content.decode()
    assert "Preparing the file" in html
    assert f'hx-get="/exports/{job.pk}/progress"' in html
    poll = client.get(f"/exports/{job.pk}/progress")
    assert poll.status_code == 200 and "HX-Refresh" not in poll
    assert "<progress" in poll.content.decode()
    # Not downloadable yet.
    assert client.get(f"/exports/{job.pk}/download").status_code == 404
    ExportJob.objects.filter(pk=job.pk).update(status=JobStatus.DONE)
    assert client.get(f"/exports/{job.pk}/progress")["HX-Refresh"] == "true"


def test_bad_input_answers_422_naming_the_field(log_in, admin) -> None:
    client = log_in(admin)
    response = start(client, format="pdf", columns=["shoe_size"])
    assert response.status_code == 422
    html = response.content.decode()
    assert "format" in html and "columns" in html and "shoe_size" in html
    assert start(client, object_type="deal").status_code == 422
    assert client.get(START).status_code == 405


def test_a_sales_reps_export_holds_only_their_teams_records(log_in, sales_team: SalesTeam) -> None:
    client = log_in(sales_team.ana)
    names = {r[0] for r in read_csv(body(start(client, format="csv")))[1:]}
    assert names == {"Ana's Client", "Bruno's Client", "Nobody's Client"}
    response = start(client, format="csv", ids=[sales_team.carla_contact.pk])
    assert read_csv(body(response))[1:] == []


@pytest.fixture
def finished(workspace, admin, three, django_capture_on_commit_callbacks) -> ExportJob:
    with django_capture_on_commit_callbacks(execute=True):
        job = export_create(workspace=workspace, actor=admin, object_type="contact")
    job.refresh_from_db()
    assert job.status == JobStatus.DONE
    return job


def test_the_exports_page_lists_ones_own_exports(
    workspace, log_in, admin, finished, make_member, django_capture_on_commit_callbacks
) -> None:
    manager = make_member("manager@acme.test", Role.MANAGER)
    with django_capture_on_commit_callbacks(execute=True):
        theirs = export_create(workspace=workspace, actor=manager, object_type="account")
    client = log_in(admin)
    html = client.get("/exports/").content.decode()
    assert finished.file_name in html
    assert f'href="/exports/{finished.pk}/download"' in html
    assert f"/exports/{theirs.pk}/" not in html
    assert "Done" in html and "3" in html
    empty = log_in(make_member("new@acme.test", Role.SALES)).get("/exports/").content.decode()
    assert "No exports yet" in empty


def test_expired_exports_show_as_such(log_in, admin, finished) -> None:
    ExportJob.objects.filter(pk=finished.pk).update(file="")
    client = log_in(admin)
    assert "Expired" in client.get("/exports/").content.decode()
    assert "This file was deleted" in client.get(f"/exports/{finished.pk}/").content.decode()
    assert client.get(f"/exports/{finished.pk}/download").status_code == 404


def test_downloads_only_for_the_maker_or_an_admin(
    workspace, log_in, admin, make_member, other_admin, django_capture_on_commit_callbacks
) -> None:
    seller = make_member("seller@acme.test", Role.SALES)
    manager = make_member("manager@acme.test", Role.MANAGER)
    with django_capture_on_commit_callbacks(execute=True):
        job = export_create(workspace=workspace, actor=seller, object_type="contact")
    urls = [f"/exports/{job.pk}/", f"/exports/{job.pk}/download", f"/exports/{job.pk}/progress"]
    for url in urls:
        assert log_in(seller).get(url).status_code == 200, url
        assert log_in(admin).get(url).status_code == 200, url
        assert log_in(manager).get(url).status_code == 404, url
        # An admin of another workspace, in theirs, finds nothing.
        assert log_in(other_admin).get(url).status_code == 404, url
    assert log_in(manager).post(f"/exports/{job.pk}/delete").status_code == 404
    assert ExportJob.objects.filter(pk=job.pk).exists()


def test_another_workspaces_export_is_not_found(
    other_workspace, log_in, admin, other_admin, django_capture_on_commit_callbacks
) -> None:
    with workspace_scope(other_workspace), django_capture_on_commit_callbacks(execute=True):
        job = export_create(workspace=other_workspace, actor=other_admin, object_type="contact")
    client = log_in(admin)
    for url in (f"/exports/{job.pk}/", f"/exports/{job.pk}/download"):
        assert client.get(url).status_code == 404
    html = client.get("/exports/").content.decode()
    assert f"/exports/{job.pk}/" not in html and "No exports yet" in html


def test_deleting_an_export_removes_its_file(
    log_in, admin, finished, django_capture_on_commit_callbacks
) -> None:
    name = finished.file.name
    assert default_storage.exists(name)
    client = log_in(admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/exports/{finished.pk}/delete")
    assert response.status_code == 302 and response["Location"] == "/exports/"
    assert not ExportJob.objects.filter(pk=finished.pk).exists()
    assert not default_storage.exists(name)


def test_the_exports_page_queries_do_not_grow(
    workspace,
    log_in,
    admin,
    three,
    django_capture_on_commit_callbacks,
    django_assert_max_num_queries,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(12):
            export_create(workspace=workspace, actor=admin, object_type="contact")
    ExportJob.objects.filter(pk__in=ExportJob.objects.values("pk")[:3]).update(
        finished_at=timezone.now() - dt.timedelta(days=1)
    )
    client = log_in(admin)
    client.get("/exports/")
    with django_assert_max_num_queries(6):
        html = client.get("/exports/").content.decode()
    assert html.count("/download") == 12
    job = ExportJob.objects.first()
    assert job is not None
    with django_assert_max_num_queries(6):
        assert client.get(f"/exports/{job.pk}/").status_code == 200


def test_a_large_workbook_is_not_written_at_once(
    log_in, admin, three, contact_factory, small_limit
) -> None:
    client = log_in(admin)
    assert client.get("/contacts/export.csv?format=xlsx").status_code == 200
    contact_factory(first_name="Davi")
    response = client.get("/contacts/export.csv?format=xlsx")
    assert response.status_code == 422
    assert "Export menu" in response.content.decode()
    # A selection and a CSV still come at once.
    chosen = client.get(f"/contacts/export.csv?format=xlsx&ids={three[0].pk}&ids={three[1].pk}")
    assert len(read_xlsx(body(chosen))) == 3
    assert len(read_csv(body(client.get("/contacts/export.csv")))) == 5
