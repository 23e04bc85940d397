"""What the import's cheaper writes must keep: the same search documents, and the trash
queries still served by the (now partial) trash index, and imports whose batches share a
commit (VINCULO_IMPORT_COMMIT_ROWS) resuming from the last commit."""

from __future__ import annotations

import pytest
from django.db import connection
from django.utils import timezone

from tests.contacts.imports.test_engine import upload
from vinculo.contacts.imports import services
from vinculo.contacts.models import Contact, ImportJob, JobStatus
from vinculo.contacts.search import _TOKEN_RE, contact_search_document
from vinculo.core.models import Event
from vinculo.core.search import build_search_document


@pytest.mark.parametrize(
    "parts",
    [
        {"first_name": "José", "last_name": "Núñez da Silva", "company": "Ação Ltda."},
        {"first_name": "ANA", "last_name": "O'Brien", "emails": ["Ana.OBrien@Example.COM"]},
        {"first_name": "Ångström", "emails": ["joão@exemplo.com.br", "x_y@a-b.io"]},
        {"last_name": "  Maria   Clara  ", "phones": ["+5511987654321"], "company": "ß Co"},
        {"first_name": "ﬁnn", "last_name": "Ⅻ", "company": "Café—Bar"},
    ],
)
def test_search_document_holds_the_words_of_the_shared_normalisation(parts):
    emails, phones = parts.get("emails", []), parts.get("phones", [])
    document = contact_search_document(**parts)
    expected = _TOKEN_RE.findall(
        build_search_document(
            parts.get("first_name", ""),
            parts.get("last_name", ""),
            *emails,
            *[word for p in phones for word in contact_search_document(phones=[p]).split()],
            parts.get("company", ""),
        )
    )
    assert document.split() == list(dict.fromkeys(expected))


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's own planner rules")
def test_trash_and_purge_queries_use_the_partial_trash_index(workspace, contact_factory):
    contact_factory(first_name="Kept")
    qs = Contact.objects.for_workspace(workspace)
    for query in (
        qs.filter(deleted_at__isnull=False).values("id"),
        qs.filter(deleted_at__lt=timezone.now()).values("id"),
    ):
        sql, params = query.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            plan = " ".join(str(row[-1]) for row in cursor.fetchall())
        assert "INDEX contact_deleted (" in plan, plan


class _Killed(BaseException):
    """Stands for the worker dying after a commit (not an Exception: nothing catches it)."""


def test_batches_sharing_a_commit_resume_from_the_last_commit(workspace, admin, settings):
    settings.VINCULO_IMPORT_BATCH_SIZE = 10
    settings.VINCULO_IMPORT_COMMIT_ROWS = 25  # three batches a commit
    content = "Nome;E-mail\n" + "".join(f"P{i};p{i}@exemplo.com\n" for i in range(45))
    job = upload(workspace, admin, content.encode())
    services.import_configure(
        workspace=workspace,
        actor=admin,
        job_id=job.pk,
        mapping=job.mapping,
        match_by=["email"],
        on_match="skip",
    )
    services.import_start(workspace=workspace, actor=admin, job_id=job.pk, in_background=False)
    seen: list[int] = []

    def die_after_first_commit(state: ImportJob) -> None:
        seen.append(state.rows_done)
        raise _Killed

    with pytest.raises(_Killed):
        services.import_run(job_id=job.pk, progress=die_after_first_commit)
    job.refresh_from_db()
    assert seen == [30] and job.rows_done == 30
    assert Contact.objects.for_workspace(workspace).count() == 30

    ImportJob.objects.for_workspace(workspace).filter(pk=job.pk).update(status=JobStatus.QUEUED)
    job = services.import_run(job_id=job.pk)
    assert job.status == JobStatus.DONE and job.created_count == 45
    emails = list(Contact.objects.for_workspace(workspace).values_list("email", flat=True))
    assert len(emails) == len(set(emails)) == 45
    assert Event.objects.for_workspace(workspace).filter(type="contact.created").count() == 45
