"""Reads of imports: the history, one job, its failed rows (for the report file), the saved
mappings and the first rows of a stored file."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice

from django.utils.translation import gettext as _

from vinculo.contacts.imports.importers import importer_for, registered_importers
from vinculo.contacts.imports.reading import iter_rows
from vinculo.contacts.imports.services import _job_visible_to, _table_info, stored_file_path
from vinculo.contacts.models import ImportJob, ImportMapping, ImportRowFailure
from vinculo.core.access import can
from vinculo.core.exceptions import NotFound
from vinculo.core.models import User, Workspace
from vinculo.core.roles import Right

LIST_LIMIT = 200
FAILURES_CHUNK = 2000


def _viewable_types(workspace: Workspace, viewer: User | None) -> list[str]:
    return [
        i.object_type
        for i in registered_importers()
        if viewer is None
        or can(workspace=workspace, user=viewer, module=i.module, right=Right.VIEW)
    ]


def import_list(
    *, workspace: Workspace, viewer: User | None, object_type: str | None = None
) -> list[ImportJob]:
    """Imports newest first (at most LIST_LIMIT): the viewer's own, or everyone's for those
    who hold the workspace's settings; only kinds of record the viewer may see."""
    jobs = _job_visible_to(workspace, viewer).filter(
        object_type__in=_viewable_types(workspace, viewer)
    )
    if object_type:
        jobs = jobs.filter(object_type=object_type)
    return list(jobs.select_related("created_by").order_by("-created_at", "-id")[:LIST_LIMIT])


def import_get(*, workspace: Workspace, viewer: User | None, job_id: int) -> ImportJob:
    """One import the viewer may see; NotFound otherwise (also across workspaces)."""
    job = (
        _job_visible_to(workspace, viewer)
        .filter(
            pk=job_id if 0 < job_id < 2**63 else 0,
            object_type__in=_viewable_types(workspace, viewer),
        )
        .select_related("created_by")
        .first()
    )
    if job is None:
        raise NotFound(_("There is no such import."))
    return job


def import_failures_rows(
    *, workspace: Workspace, viewer: User | None, job_id: int
) -> Iterator[list[str]]:
    """The report of failed rows as table rows: a header ("line", "field", "reason", then the
    file's own column titles) and one row per failed line, in file order: the columns at
    fault, what was wrong, and the line's original values (so the file can be fixed and
    imported again). Raises NotFound."""
    job = import_get(workspace=workspace, viewer=viewer, job_id=job_id)
    return _failure_rows(job)


def _failure_rows(job: ImportJob) -> Iterator[list[str]]:
    yield [_("line"), _("field"), _("reason"), *[str(h) for h in job.headers or []]]
    failures = (
        ImportRowFailure.objects.for_workspace(job.workspace)
        .filter(job=job)
        .order_by("line_number", "id")
        .values_list("line_number", "values", "errors")
    )
    for line, values, errors in failures.iterator(chunk_size=FAILURES_CHUNK):
        columns = [str(e.get("column") or e.get("field") or "") for e in errors]
        if len(errors) == 1:
            reason = str(errors[0].get("message", ""))
        else:
            reason = "; ".join(
                f"{column}: {e.get('message', '')}" if column else str(e.get("message", ""))
                for column, e in zip(columns, errors, strict=True)
            )
        shown = ", ".join(dict.fromkeys(c for c in columns if c))
        yield [str(line), shown, reason, *[str(v) for v in values]]


def mapping_list(
    *, workspace: Workspace, viewer: User | None, object_type: str
) -> list[ImportMapping]:
    """The saved mappings of a kind of record, newest first, for those who may import it."""
    importer = importer_for(object_type)
    if viewer is not None and not can(
        workspace=workspace, user=viewer, module=importer.module, right=Right.CREATE
    ):
        return []
    return list(
        ImportMapping.objects.for_workspace(workspace)
        .filter(object_type=object_type)
        .order_by("-created_at", "-id")
    )


def import_samples(*, workspace: Workspace, job: ImportJob, limit: int = 3) -> list[list[str]]:
    """The first `limit` data rows of an import's file, as text cells (for the mapping page)."""
    if job.workspace_id != workspace.pk:
        raise NotFound(_("There is no such import."))
    with stored_file_path(str(job.file.name)) as path:
        return [row.cells for row in islice(iter_rows(path, _table_info(job)), max(0, limit))]
