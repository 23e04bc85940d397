"""Background exports: queued with the list's filters and columns, written by the worker as the
person who asked, written again from scratch when run again, resumed when their worker died,
and their files deleted after seven days by a periodic job."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from tests.contacts.exports.conftest import SalesTeam, read_csv, read_xlsx
from vinculo.contacts.exports.services import (
    export_create,
    export_run,
    exports_purge_expired,
    exports_resume_stale,
)
from vinculo.contacts.models import ExportJob, JobStatus
from vinculo.core.exceptions import ValidationFailed
from vinculo.core.models import Event
from vinculo.core.periodic import run_due_jobs


def content(job: ExportJob) -> bytes:
    with job.file.open("rb") as handle:
        return handle.read()


@pytest.fixture
def queued(workspace, admin, contact_factory, django_capture_on_commit_callbacks):
    """An export queued but not yet run (its task not started)."""
    contact_factory(first_name="Ana", lifecycle_stage="customer", city="Recife")
    contact_factory(first_name="Bia", lifecycle_stage="lead", city="Olinda")
    with django_capture_on_commit_callbacks(execute=False):
        job = export_create(
            workspace=workspace,
            actor=admin,
            object_type="contact",
            file_format="csv",
            params={"lifecycle_stage": "customer"},
            columns=["city"],
        )
    return job


def test_an_export_is_queued_then_written_by_its_task(
    workspace, admin, contact_factory, django_capture_on_commit_callbacks
) -> None:
    contact_factory(first_name="Ana", lifecycle_stage="customer", city="Recife")
    contact_factory(first_name="Bia", lifecycle_stage="lead", city="Olinda")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        job = export_create(
            workspace=workspace,
            actor=admin,
            object_type="contact",
            file_format="xlsx",
            params={"lifecycle_stage": "customer"},
            columns=["city"],
        )
    assert callbacks, "the task starts after commit"
    job.refresh_from_db()
    assert job.status == JobStatus.DONE
    assert (job.total_rows, job.rows_done) == (1, 1)
    assert job.file_name.startswith("contacts-") and job.file_name.endswith(".xlsx")
    assert read_xlsx(content(job)) == [["Name", "City"], ["Ana", "Recife"]]
    assert job.params["filters"] == {"lifecycle_stage": "customer"}
    assert job.started_at is not None and job.finished_at is not None
    event = Event.objects.for_workspace(workspace).get(type="export.created")
    assert event.actor == admin and event.subject_id == job.pk
    assert event.payload["rows"] == 1 and event.payload["format"] == "xlsx"


def test_a_rerun_writes_the_file_again_from_scratch(workspace, queued, contact_factory) -> None:
    first = export_run(workspace=workspace, job_id=queued.pk)
    assert first is not None and first.status == JobStatus.DONE
    assert read_csv(content(first)) == [["Name", "City"], ["Ana", "Recife"]]
    old_name = first.file.name
    contact_factory(first_name="Caio", lifecycle_stage="customer", city="Natal")
    again = export_run(workspace=workspace, job_id=queued.pk)
    assert again is not None and again.status == JobStatus.DONE
    assert read_csv(content(again)) == [
        ["Name", "City"],
        ["Ana", "Recife"],
        ["Caio", "Natal"],
    ]
    assert again.rows_done == again.total_rows == 2
    # One file per export: the first one's is gone.
    assert old_name == again.file.name or not default_storage.exists(old_name)


def test_a_job_another_worker_holds_is_left_alone(workspace, queued) -> None:
    ExportJob.objects.for_workspace(workspace).filter(pk=queued.pk).update(
        status=JobStatus.RUNNING, heartbeat_at=timezone.now()
    )
    assert export_run(workspace=workspace, job_id=queued.pk) is None
    queued.refresh_from_db()
    assert queued.status == JobStatus.RUNNING and not queued.file


def test_a_stale_job_is_resumed(workspace, queued) -> None:
    ExportJob.objects.for_workspace(workspace).filter(pk=queued.pk).update(
        status=JobStatus.RUNNING, heartbeat_at=timezone.now() - dt.timedelta(minutes=10)
    )
    assert exports_resume_stale() == [queued.pk]
    queued.refresh_from_db()
    assert queued.status == JobStatus.DONE
    assert read_csv(content(queued))[1:] == [["Ana", "Recife"]]


def test_a_queued_job_whose_task_was_lost_is_started_again(workspace, queued) -> None:
    assert exports_resume_stale() == []  # just queued: its task may still come
    ExportJob.objects.for_workspace(workspace).filter(pk=queued.pk).update(
        created_at=timezone.now() - dt.timedelta(minutes=10)
    )
    assert exports_resume_stale() == [queued.pk]
    queued.refresh_from_db()
    assert queued.status == JobStatus.DONE
    assert exports_resume_stale() == []


def test_the_worker_reads_as_the_person_who_asked(
    workspace, sales_team: SalesTeam, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        job = export_create(workspace=workspace, actor=sales_team.carla, object_type="contacts")
    job.refresh_from_db()
    assert {r[0] for r in read_csv(content(job))[1:]} == {"Carla's Client", "Nobody's Client"}


def test_an_export_whose_maker_is_gone_fails_instead_of_exporting_all(
    workspace, queued, admin
) -> None:
    ExportJob.objects.for_workspace(workspace).filter(pk=queued.pk).update(created_by=None)
    job = export_run(workspace=workspace, job_id=queued.pk)
    assert job is not None and job.status == JobStatus.FAILED
    assert "no longer exists" in job.error and not job.file


def test_an_xlsx_larger_than_a_sheet_is_refused(
    workspace, admin, contact_factory, monkeypatch
) -> None:
    from vinculo.contacts.exports import services

    contact_factory(first_name="Ana")
    contact_factory(first_name="Bia")
    # A sheet of one row stands for Excel's 1,048,575.
    monkeypatch.setattr(services, "XLSX_MAX_ROWS", 1)
    with pytest.raises(ValidationFailed) as exc:
        export_create(workspace=workspace, actor=admin, object_type="contact", file_format="xlsx")
    assert [e.field for e in exc.value.errors] == ["format"]
    assert "CSV" in exc.value.errors[0].message
    assert not ExportJob.objects.for_workspace(workspace).exists()


def test_files_older_than_seven_days_are_deleted_by_the_periodic_job(
    workspace, other_workspace, queued, admin, other_admin, django_capture_on_commit_callbacks
) -> None:
    old = export_run(workspace=workspace, job_id=queued.pk)
    assert old is not None
    with django_capture_on_commit_callbacks(execute=True):
        recent = export_create(workspace=workspace, actor=admin, object_type="contact")
        elsewhere = export_create(
            workspace=other_workspace, actor=other_admin, object_type="contact"
        )
    eight_days_ago = timezone.now() - dt.timedelta(days=8)
    ExportJob.all_tenants.filter(pk__in=[old.pk, elsewhere.pk]).update(finished_at=eight_days_ago)
    old_file = old.file.name
    assert "exports.purge_expired" in run_due_jobs()
    kept = {j.pk: j for j in ExportJob.all_tenants.all()}
    assert not kept[old.pk].file and not kept[elsewhere.pk].file
    assert not default_storage.exists(old_file)
    assert kept[recent.pk].file and default_storage.exists(kept[recent.pk].file.name)
    # The exports stay listed, expired; running again deletes nothing more.
    assert kept[old.pk].status == JobStatus.DONE
    assert exports_purge_expired() == 0
