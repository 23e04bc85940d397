"""Background work of exports: writing a large export's file."""

from __future__ import annotations

from django.tasks import task

from vinculo.contacts.exports.services import export_run
from vinculo.contacts.models import ExportJob
from vinculo.core.tenancy import workspace_scope


@task()
def export_run_task(job_id: int) -> int:
    """Write export `job_id`'s file (from scratch when run again); returns the rows written,
    0 when the job is gone or another worker is writing it."""
    job = ExportJob.all_tenants.select_related("workspace").filter(pk=job_id).first()
    if job is None:
        return 0
    with workspace_scope(job.workspace):
        done = export_run(workspace=job.workspace, job_id=job_id)
    return done.rows_done if done is not None else 0
