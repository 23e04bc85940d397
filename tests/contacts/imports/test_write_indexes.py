"""What the import's cheaper writes must keep: the same search documents, the trash queries
still served by the (now partial) trash index, imports whose batches share a commit
(VINCULO_IMPORT_COMMIT_ROWS) resuming from the last commit, and large batches indexed for
search in one statement leaving the full-text index and its trigger as they would be."""

from __future__ import annotations

import json

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from tests.contacts.imports.test_engine import run_import, upload
from vinculo.contacts.imports import services, writer
from vinculo.contacts.imports.importers import json_text
from vinculo.contacts.models import Contact, ImportJob, JobStatus
from vinculo.contacts.search import _TOKEN_RE, contact_search_document, search_filter
from vinculo.contacts.services import contact_create
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
        {
            "first_name": "ANA_maria",
            "last_name": "O'Brien-Smith\t2nd",
            "emails": ["a.b_c+d@x-y.com", "A.B_C+D@X-Y.COM"],
            "phones": ["+5511987654321"],
            "company": "A&B (SP) Ltda. ~|^`{}",
        },
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


@pytest.mark.parametrize(
    "value",
    [
        "",
        'José "Zé" d\'Ávila\n\t\u0001\u2028 😀',
        [],
        ["ana@example.com", "joão@exemplo.com.br"],
        {},
        {"first_name": "Ana", "emails": ["a@b.co"], "birthdate": "1990-02-01", "n": 3},
        {"custom_fields.size": 12.5, "flag": True, "none": None, "nested": {"k": [1, "x"]}},
        ["mixed", 1, None],
        {1: "a"},
        7,
        -0.0,
    ],
)
def test_json_text_is_exactly_what_json_dumps_writes(value):
    assert json_text(value) == json.dumps(value)


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


def _insert_trigger() -> str | None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = %s",
            ["contacts_contact_fts_ai"],
        )
        found = cursor.fetchone()
    return found[0] if found else None


def test_large_batches_are_searchable_and_keep_the_insert_trigger(
    workspace, admin, settings, monkeypatch
):
    monkeypatch.setattr(writer, "FTS_ONE_STATEMENT_FROM", 5)
    settings.VINCULO_IMPORT_BATCH_SIZE = 10
    trigger = _insert_trigger() if connection.vendor == "sqlite" else None
    content = "Nome;E-mail;Telefone;Empresa\n" + "".join(
        f"Pessoa{i} Sobrenome{i};p{i}@exemplo.com;(11) 98765-{i:04d};Empresa{i % 3}\n"
        for i in range(23)
    )
    job = run_import(workspace, admin, content.encode())
    assert job.status == JobStatus.DONE and job.created_count == 23
    contacts = Contact.objects.for_workspace(workspace)
    for i in (0, 9, 10, 22):
        found = search_filter(contacts, f"pessoa{i}").values_list("email", flat=True)
        assert list(found) == [f"p{i}@exemplo.com"]
        assert search_filter(contacts, f"98765{i:04d}").count() == 1
    assert search_filter(contacts, "empresa1").count() == 8
    if connection.vendor == "sqlite":
        assert _insert_trigger() == trigger
        with connection.cursor() as cursor:  # raises if the index disagrees with the table
            cursor.execute(
                "INSERT INTO contacts_contact_fts(contacts_contact_fts, rank) "
                "VALUES ('integrity-check', 1)"
            )
    # A record created afterwards, one at a time, is indexed by the trigger again.
    contact_create(workspace=workspace, actor=admin, data={"first_name": "Zuleica"})
    assert search_filter(contacts, "zuleica").count() == 1


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's full-text triggers")
def test_a_batch_that_fails_while_indexing_in_one_statement_brings_the_trigger_back(db):
    trigger = _insert_trigger()
    assert trigger is not None
    with (
        pytest.raises(DatabaseError),
        transaction.atomic(),
        writer._indexed_in_one_statement("contacts_contact", 1, 10),
    ):
        assert _insert_trigger() is None
        raise DatabaseError("refused half-way")
    assert _insert_trigger() == trigger


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's statement journal")
def test_only_tables_whose_checks_are_json_validity_are_written_without_them(db):
    from vinculo.sales.models import Lead

    for model in (Contact, Event, writer.Account, writer.ImportChange):
        assert writer._only_json_checks(model._meta.db_table), model
    # Leads also check that counters are not negative: those checks stay on.
    assert not writer._only_json_checks(Lead._meta.db_table)


def _checks_ignored() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA ignore_check_constraints")
        return bool(cursor.fetchone()[0])


def test_a_row_the_database_refuses_fails_alone_and_checks_are_back_on(workspace, admin):
    from vinculo.contacts.imports.importers import (
        PreparedRow,
        importer_for,
        row_context,
        validate_create,
    )

    importer = importer_for("contact")
    ctx = row_context(workspace=workspace, actor=admin, object_type="contact")
    rows = []
    for index, name in enumerate(["Ana", "Bia", "Caio", "Duda"]):
        row = PreparedRow(index=index, line=index + 2, cells=[name], data={"first_name": name})
        validate_create(importer, workspace, admin, row, ctx.lookups)
        rows.append(row)
    # Bia's row reaches the database with no first name at all: NOT NULL refuses it.
    stored = list(rows[1].stored or ())
    stored[importer.stored_columns.index("first_name")] = None
    rows[1].stored = tuple(stored)
    record = writer.RecordWriter(
        importer=importer, workspace=workspace, actor=admin, match_by=[], on_match="skip"
    )
    outcomes = writer.write_rows_atomically(record, rows, lookups=ctx.lookups)

    assert [o.status for o in outcomes] == ["created", "failed", "created", "created"]
    assert outcomes[1].errors[0].code == "database-refused"
    contacts = Contact.objects.for_workspace(workspace)
    assert sorted(contacts.values_list("first_name", flat=True)) == ["Ana", "Caio", "Duda"]
    created = Event.objects.for_workspace(workspace).filter(type="contact.created")
    assert sorted(created.values_list("subject_id", flat=True)) == sorted(
        contacts.values_list("id", flat=True)
    )
    if connection.vendor == "sqlite":
        assert not _checks_ignored()


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's CHECK constraints")
def test_checks_other_than_json_validity_are_still_enforced(workspace):
    from django.db import IntegrityError

    from vinculo.sales.models import Lead

    Lead.objects.create(workspace=workspace, first_name="Ana", email="ana@example.com")
    columns = [f.attname for f in Lead._meta.concrete_fields if not f.primary_key]
    row = list(Lead.objects.filter(email="ana@example.com").values_list(*columns).get())
    row[columns.index("reassigned_count")] = -1
    row = [json.dumps(v) if isinstance(v, dict | list) else v for v in row]
    with pytest.raises(IntegrityError), transaction.atomic():
        writer._insert(Lead._meta.db_table, columns, [row])
    assert not _checks_ignored()
