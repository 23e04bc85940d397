"""The exports API: queue an export (202 with the job), follow it, download its file; bad input
as problem+json naming the field; nothing of another person or workspace."""

from __future__ import annotations

import pytest

from tests.conftest import ApiClient
from tests.contacts.conftest import error_fields
from tests.contacts.exports.conftest import SalesTeam, body, read_csv, read_xlsx
from vinculo.contacts.exports.services import export_create
from vinculo.contacts.models import ExportJob, JobStatus
from vinculo.core.roles import Role


@pytest.fixture(autouse=True)
def in_english(api: ApiClient) -> None:
    # Files are written in the language of the request that asked for them.
    api.client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


@pytest.fixture
def people(contact_factory):
    contact_factory(first_name="Ana", lifecycle_stage="customer", city="Recife", tags=["vip"])
    contact_factory(first_name="Bia", lifecycle_stage="customer", city="Olinda")
    contact_factory(first_name="Caio", lifecycle_stage="lead", city="Natal")


def test_queue_follow_and_download_an_export(
    api: ApiClient, people, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            "/api/v1/exports",
            {
                "object_type": "contact",
                "format": "csv",
                "filters": {"lifecycle_stage": "customer", "sort": "-name"},
                "columns": ["city", "tags"],
            },
        )
    assert response.status_code == 202, response.content
    job = response.json()
    assert job["object_type"] == "contact" and job["format"] == "csv"
    assert job["filters"] == {"lifecycle_stage": "customer", "sort": "-name"}
    assert job["columns"] == ["name", "city", "tags"]
    detail = api.get(f"/api/v1/exports/{job['id']}").json()
    assert detail["status"] == "done" and detail["rows_done"] == 2 and detail["percent"] == 100
    assert detail["size_bytes"] > 0 and detail["expires_at"] and not detail["expired"]
    assert detail["download_url"] == f"/api/v1/exports/{job['id']}/download"
    download = api.get(detail["download_url"])
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith('attachment; filename="contacts-')
    assert read_csv(body(download)) == [
        ["Name", "City", "Tags"],
        ["Bia", "Olinda", ""],
        ["Ana", "Recife", "vip"],
    ]


def test_xlsx_of_accounts(api: ApiClient, account_factory, django_capture_on_commit_callbacks):
    account_factory(name="Acme", industry="Energy")
    with django_capture_on_commit_callbacks(execute=True):
        job = api.post(
            "/api/v1/exports",
            {"object_type": "accounts", "format": "xlsx", "columns": ["industry"]},
        ).json()
    download = api.get(f"/api/v1/exports/{job['id']}/download")
    assert read_xlsx(body(download)) == [["Name", "Industry"], ["Acme", "Energy"]]


def test_bad_input_is_a_problem_naming_the_field(api: ApiClient) -> None:
    cases = [
        ({"object_type": "deal"}, {"object_type"}),
        ({}, {"object_type"}),
        ({"object_type": "contact", "format": "pdf"}, {"format"}),
        (
            {"object_type": "contact", "filters": {"lifecycle_stage": "nope"}},
            {"filters.lifecycle_stage"},
        ),
        ({"object_type": "contact", "filters": {"colour": "red"}}, {"filters.colour"}),
        (
            {"object_type": "contact", "filters": {"created_after": "yesterday"}},
            {"filters.created_after"},
        ),
        (
            {"object_type": "contact", "filters": {"tag": ["a", "b"]}},
            {"filters.tag.str", "filters.tag.int", "filters.tag.float", "filters.tag.bool"},
        ),
        ({"object_type": "contact", "columns": ["shoe_size"]}, {"columns"}),
        ({"object_type": "contact", "ids": [0]}, {"ids"}),
        ({"object_type": "contact", "colour": "red"}, {"colour"}),
    ]
    for payload, expected in cases:
        response = api.post("/api/v1/exports", payload)
        assert error_fields(response) == expected, payload
        assert response.json()["type"].endswith("/validation-error")
    assert not ExportJob.objects.exists()


def test_not_ready_is_409_and_expired_is_410(
    workspace, admin, api: ApiClient, people, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        job = export_create(workspace=workspace, actor=admin, object_type="contact")
    response = api.get(f"/api/v1/exports/{job.pk}/download")
    assert response.status_code == 409
    assert response.json()["type"].endswith("/export-not-ready")
    assert api.get(f"/api/v1/exports/{job.pk}").json()["status"] == "queued"
    ExportJob.objects.filter(pk=job.pk).update(status=JobStatus.DONE)
    response = api.get(f"/api/v1/exports/{job.pk}/download")
    assert response.status_code == 410
    assert response.json()["type"].endswith("/export-expired")
    assert api.get(f"/api/v1/exports/{job.pk}").json()["expired"] is True


def test_a_sales_reps_export_holds_only_their_teams_records(
    api: ApiClient, sales_team: SalesTeam, key_for, django_capture_on_commit_callbacks
) -> None:
    key = key_for(sales_team.ana)
    with django_capture_on_commit_callbacks(execute=True):
        job = api.post("/api/v1/exports", {"object_type": "contact"}, key=key).json()
    rows = read_csv(body(api.get(f"/api/v1/exports/{job['id']}/download", key=key)))
    assert {r[0] for r in rows[1:]} == {"Ana's Client", "Bruno's Client", "Nobody's Client"}


def test_exports_of_others_are_not_found(
    workspace,
    api: ApiClient,
    make_member,
    key_for,
    other_key,
    people,
    django_capture_on_commit_callbacks,
) -> None:
    seller = make_member("seller@acme.test", Role.SALES)
    manager = make_member("manager@acme.test", Role.MANAGER)
    with django_capture_on_commit_callbacks(execute=True):
        job = api.post("/api/v1/exports", {"object_type": "contact"}, key=key_for(seller)).json()
    paths = [f"/api/v1/exports/{job['id']}", f"/api/v1/exports/{job['id']}/download"]
    for path in paths:
        assert api.get(path, key=key_for(seller)).status_code == 200
        assert api.get(path).status_code == 200  # the admin
        for key in (key_for(manager), other_key):
            response = api.get(path, key=key)
            assert response.status_code == 404, path
            assert response.json()["type"].endswith("/not-found")
    assert api.get("/api/v1/exports", key=key_for(manager)).json()["items"] == []
    assert api.get("/api/v1/exports", key=other_key).json()["items"] == []


def test_list_and_detail_queries_do_not_grow(
    workspace,
    admin,
    api: ApiClient,
    people,
    django_capture_on_commit_callbacks,
    django_assert_max_num_queries,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(8):
            export_create(workspace=workspace, actor=admin, object_type="contact")
    with django_assert_max_num_queries(4):
        page = api.get("/api/v1/exports", limit="5").json()
    assert len(page["items"]) == 5 and page["next_cursor"]
    with django_assert_max_num_queries(4):
        rest = api.get("/api/v1/exports", limit="5", cursor=page["next_cursor"]).json()
    assert len(rest["items"]) == 3
    with django_assert_max_num_queries(4):
        assert api.get(f"/api/v1/exports/{page['items'][0]['id']}").status_code == 200
