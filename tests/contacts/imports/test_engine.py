"""The import engine through its services: files of every shape become the records a person
would have typed, failed rows are reported with line, column and reason, a second import of
the same file creates nothing, undo restores the base exactly, and every bad input leaves the
base as it was."""

from __future__ import annotations

import datetime as dt
import io
import random
from typing import Any

import phonenumbers
import pytest
import xlsxwriter  # type: ignore[import-untyped]
from django.core.files.base import ContentFile
from django.db import connection
from django.utils import translation
from email_validator import EmailNotValidError, validate_email

from vinculo.contacts.imports import selectors, services
from vinculo.contacts.imports.reading import ImportFileError
from vinculo.contacts.models import (
    Account,
    AccountTag,
    Contact,
    ContactTag,
    ImportChange,
    ImportJob,
    ImportRowFailure,
    JobStatus,
)
from vinculo.contacts.search import search_filter
from vinculo.contacts.validation import _brazilian_e164, normalize_email
from vinculo.core.exceptions import NotFound, PermissionDenied, ValidationFailed
from vinculo.core.models import CustomFieldType, Event, Tag, User, Workspace
from vinculo.core.roles import Role


@pytest.fixture(autouse=True)
def english():
    """Messages in English (the workspace's pt-br catalogue is compiled separately)."""
    with translation.override("en"):
        yield


BRAZIL_CSV = (
    "Nome completo;E-mail;Telefone;Empresa;Cidade;Data de nascimento;Etiquetas\r\n"
    "José da Conceição;jose@exemplo.com.br;(11) 98765-4321;Açaí & Cia;São Paulo;31/12/1980;"
    "vip, sp\r\n"
    "Mônica Ribeiro;monica@exemplo.com.br;+55 21 3456-7890;açaí & cia;Niterói;05/02/1975;\r\n"
    "Araújo;não-é-email;;;Maceió;32/13/1990;\r\n"
    "Cecília Prado;cecilia@exemplo.com.br;;Nova Empresa;Curitiba;;novo\r\n"
)


# --- helpers (imported by the other test modules of the engine) ---------------------------------


def upload(
    workspace: Workspace,
    actor: User | None,
    content: bytes,
    name: str = "contatos.csv",
    object_type: str = "contact",
) -> ImportJob:
    return services.import_upload(
        workspace=workspace,
        actor=actor,
        object_type=object_type,
        uploaded=ContentFile(content, name=name),
        original_name=name,
    )


def run_import(
    workspace: Workspace,
    actor: User | None,
    content: bytes,
    name: str = "contatos.csv",
    *,
    object_type: str = "contact",
    mapping: dict[str, str] | None = None,
    match_by: list[str] | None = None,
    on_match: str = "skip",
) -> ImportJob:
    job = upload(workspace, actor, content, name, object_type)
    services.import_configure(
        workspace=workspace,
        actor=actor,
        job_id=job.pk,
        mapping=mapping if mapping is not None else job.mapping,
        match_by=match_by if match_by is not None else job.match_by,
        on_match=on_match,
    )
    services.import_start(workspace=workspace, actor=actor, job_id=job.pk, in_background=False)
    return services.import_run(job_id=job.pk)


def counts(job: ImportJob) -> tuple[int, int, int, int]:
    return job.created_count, job.updated_count, job.skipped_count, job.failed_count


def snapshot(workspace: Workspace) -> dict[str, list[Any]]:
    """Every row and column of the customer tables of a workspace."""
    return {
        "contacts": list(Contact.objects.for_workspace(workspace).order_by("id").values()),
        "accounts": list(Account.objects.for_workspace(workspace).order_by("id").values()),
        "contact_tags": sorted(
            ContactTag.objects.for_workspace(workspace).values_list("contact_id", "tag_id")
        ),
        "account_tags": sorted(
            AccountTag.objects.for_workspace(workspace).values_list("account_id", "tag_id")
        ),
        "tags": list(Tag.objects.for_workspace(workspace).order_by("id").values()),
    }


def xlsx_bytes(rows: list[list[Any]]) -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet("Clientes")
    dates = book.add_format({"num_format": "dd/mm/yyyy"})
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if isinstance(value, dt.date):
                sheet.write_datetime(r, c, dt.datetime.combine(value, dt.time()), dates)
            else:
                sheet.write(r, c, value)
    book.close()
    return buffer.getvalue()


# --- the fast paths of validation agree with the libraries ----------------------------------------


def test_plain_email_path_gives_the_libraries_answer():
    rng = random.Random(4)
    locals_ = ["ana", "ana.souza", "a_b", "x+tag", "j%k", "-ab", "a..b", ".a", "a.", "ANA.Souza"]
    domains = [
        "gmail.com",
        "exemplo.com.br",
        "localhost",
        "a.b",
        "x.test",
        "example.com",
        "ex-ample.co",
        "ex--ample.com",
        "xn--bcher-kva.com",
        "my.local",
        "123.com",
        "a.123",
        "invalid",
        "EXAMPLE.COM",
        "a-.com",
        "sub.domínio.com",
    ]
    addresses = [f"{loc}@{dom}" for loc in locals_ for dom in domains]
    addresses += [f"{'x' * rng.randint(60, 70)}@example.com" for _ in range(20)]
    for address in addresses:
        try:
            expected: str | None = validate_email(
                address, check_deliverability=False
            ).normalized.lower()
        except EmailNotValidError:
            expected = None
        normalize_email.cache_clear()
        try:
            got: str | None = normalize_email(address)
        except EmailNotValidError:
            got = None
        assert got == expected, address


def test_brazilian_phone_path_gives_the_libraries_answer():
    rng = random.Random(7)
    checked = 0
    for _ in range(20_000):
        digits = "".join(rng.choice("0123456789") for _ in range(rng.choice([9, 10, 11, 12])))
        shape = rng.randrange(4)
        if shape == 0:
            raw = digits
        elif shape == 1:
            raw = f"({digits[:2]}) {digits[2:-4]}-{digits[-4:]}"
        elif shape == 2:
            raw = f"+55 {digits}"
        else:
            raw = f"+55{digits}"
        fast = _brazilian_e164(raw)
        if fast is None:
            continue
        number = phonenumbers.parse(raw, "BR")
        assert phonenumbers.is_possible_number(number), raw
        assert fast == phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        checked += 1
    assert checked > 2000


def test_created_event_fields_are_what_the_services_record(workspace, custom_field):
    import json
    from types import SimpleNamespace

    from vinculo.contacts.imports.importers import importer_for
    from vinculo.contacts.services import CONTACT_TRACKED, _non_empty, _snapshot
    from vinculo.contacts.validation import contact_validate

    custom_field("nps", CustomFieldType.NUMBER)
    importer = importer_for("contact")
    for data in (
        {"first_name": "Ana", "emails": ["a@b.com", "c@d.com"], "birthdate": "1980-02-03"},
        {"last_name": "Lima", "custom_fields": {"nps": 0}, "phone": "+5511987654321"},
        {"email": "x@y.com", "tags": ["b", "A"], "lifecycle_stage": "customer"},
    ):
        cleaned = contact_validate(workspace=workspace, actor=None, data=data, instance=None)
        values = importer.new_values(cleaned, company="")
        tags = cleaned.tags or []
        expected = _non_empty(_snapshot(SimpleNamespace(**values), CONTACT_TRACKED, tags))
        assert json.loads(importer.event_fields(values, tags)) == expected


# --- files that import --------------------------------------------------------------------------


def test_windows_1252_semicolons_from_excel_import_with_accents(workspace, admin):
    job = run_import(workspace, admin, BRAZIL_CSV.encode("cp1252"))

    assert (job.status, job.encoding, job.delimiter) == (JobStatus.DONE, "cp1252", ";")
    assert counts(job) == (3, 0, 0, 1)
    jose = Contact.objects.for_workspace(workspace).get(email="jose@exemplo.com.br")
    assert (jose.first_name, jose.last_name, jose.city) == ("José", "da Conceição", "São Paulo")
    assert jose.birthdate == dt.date(1980, 12, 31)
    assert jose.phones == ["+5511987654321"]
    assert sorted(jose.tags.values_list("name", flat=True)) == ["sp", "vip"]
    assert jose.owner_id == admin.pk and jose.created_by_id == admin.pk
    monica = Contact.objects.for_workspace(workspace).get(email="monica@exemplo.com.br")
    # One account for both spellings of the company, created once.
    assert monica.account_id == jose.account_id
    assert Account.objects.for_workspace(workspace).get(pk=jose.account_id).name == "Açaí & Cia"
    # The search index knows the new rows (SQLite's triggers, PostgreSQL's trigram index).
    found = search_filter(Contact.objects.for_workspace(workspace), "conceicao acai")
    assert list(found.values_list("pk", flat=True)) == [jose.pk]


def test_an_existing_account_is_found_by_name_whatever_the_case_and_accents(
    workspace, admin, account_factory
):
    acme = account_factory(name="Açaí & Cia")
    run_import(workspace, admin, BRAZIL_CSV.encode("cp1252"))

    linked = Contact.objects.for_workspace(workspace).filter(account=acme)
    assert linked.count() == 2
    assert Account.objects.for_workspace(workspace).filter(name__iexact="açaí & cia").count() == 1


def test_utf8_file_with_byte_order_mark(workspace, admin):
    content = "\ufeffFirst name,Last name,Email,Phone\nZoë,Åberg,zoe@example.com,(11) 3456-7890\n"
    job = run_import(workspace, admin, content.encode("utf-8"), "export.csv")

    assert (job.encoding, job.headers[0]) == ("utf-8-sig", "First name")
    assert counts(job) == (1, 0, 0, 0)
    zoe = Contact.objects.for_workspace(workspace).get()
    assert (zoe.first_name, zoe.last_name, zoe.phone) == ("Zoë", "Åberg", "+551134567890")


def test_xlsx_with_dates_and_numbers(workspace, admin, custom_field):
    custom_field("nps", CustomFieldType.NUMBER)
    content = xlsx_bytes(
        [
            ["Nome", "Sobrenome", "E-mail", "Data de nascimento", "Nps", "Cidade"],
            ["Thiago", "Lima", "thiago@exemplo.com", dt.date(1990, 4, 5), 9, "Belém"],
            ["Ana", "Souza", "ana@exemplo.com", dt.date(1985, 12, 1), 7.5, "Recife"],
        ]
    )
    job = run_import(
        workspace,
        admin,
        content,
        "clientes.xlsx",
        mapping={
            "0": "first_name",
            "1": "last_name",
            "2": "email",
            "3": "birthdate",
            "4": "cf:nps",
            "5": "city",
        },
    )

    assert (job.file_format, counts(job)) == ("xlsx", (2, 0, 0, 0))
    thiago = Contact.objects.for_workspace(workspace).get(email="thiago@exemplo.com")
    assert thiago.birthdate == dt.date(1990, 4, 5)
    assert thiago.custom_fields == {"nps": 9}
    assert Contact.objects.for_workspace(workspace).get(first_name="Ana").custom_fields == {
        "nps": 7.5
    }


def test_custom_fields_are_read_by_their_type(workspace, admin, custom_field):
    custom_field("since", CustomFieldType.DATE)
    custom_field("revenue", CustomFieldType.MONEY)
    custom_field("newsletter", CustomFieldType.BOOLEAN)
    custom_field(
        "segment",
        CustomFieldType.CHOICE,
        choices=[{"value": "retail", "label": "Varejo"}, {"value": "b2b", "label": "Empresas"}],
    )
    custom_field("channels", CustomFieldType.MULTI_CHOICE, choices=["email", "phone", "whatsapp"])
    content = (
        "Nome;E-mail;Desde;Receita;Newsletter;Segmento;Canais\n"
        "Ana;ana@exemplo.com;05/03/2020;R$ 1.234,50;sim;varejo;Email, WhatsApp\n"
        "Bia;bia@exemplo.com;2021-01-31;12,3;não;b2b;phone\n"
        "Caio;caio@exemplo.com;ontem;abc;talvez;atacado;fax\n"
    )
    job = run_import(
        workspace,
        admin,
        content.encode(),
        mapping={
            "0": "first_name",
            "1": "email",
            "2": "cf:since",
            "3": "cf:revenue",
            "4": "cf:newsletter",
            "5": "cf:segment",
            "6": "cf:channels",
        },
    )

    assert counts(job) == (2, 0, 0, 1)
    ana = Contact.objects.for_workspace(workspace).get(first_name="Ana")
    assert ana.custom_fields == {
        "since": "2020-03-05",
        "revenue": "1234.50",
        "newsletter": True,
        "segment": "retail",
        "channels": ["email", "whatsapp"],
    }
    failure = ImportRowFailure.objects.for_workspace(workspace).get(job=job)
    assert failure.line_number == 4
    assert {e["field"] for e in failure.errors} == {
        "cf:since",
        "cf:revenue",
        "cf:newsletter",
        "cf:segment",
        "cf:channels",
    }
    assert {e["column"] for e in failure.errors} == {
        "Desde",
        "Receita",
        "Newsletter",
        "Segmento",
        "Canais",
    }


def test_owner_and_lifecycle_stage_by_what_people_write(workspace, admin, make_member):
    rep = make_member("rafa@acme.test", Role.SALES)
    rep.full_name = "Rafael Lima"
    rep.save()
    content = (
        "Nome;E-mail;Responsável;Estágio;País\n"
        "Ana;ana@exemplo.com;rafa@acme.test;Cliente;Brasil\n"
        "Bia;bia@exemplo.com;Rafael Lima;opportunity;BR\n"
        "Caio;caio@exemplo.com;ninguem@acme.test;lead;Atlântida\n"
    )
    job = run_import(
        workspace,
        admin,
        content.encode(),
        mapping={
            "0": "first_name",
            "1": "email",
            "2": "owner",
            "3": "lifecycle_stage",
            "4": "country",
        },
    )

    assert counts(job) == (2, 0, 0, 1)
    contacts = Contact.objects.for_workspace(workspace)
    assert contacts.get(first_name="Ana").owner_id == rep.pk
    assert contacts.get(first_name="Ana").lifecycle_stage == "customer"
    assert contacts.get(first_name="Ana").country == "BR"
    assert contacts.get(first_name="Bia").lifecycle_stage == "opportunity"
    failure = ImportRowFailure.objects.for_workspace(workspace).get(job=job)
    assert {e["field"] for e in failure.errors} == {"owner", "country"}


def test_accounts_import_with_size_from_a_head_count(workspace, admin):
    content = (
        "Empresa;Domínio;Porte;Setor;Telefone\n"
        "Açaí & Cia;https://www.acai.com.br/contato;35;Alimentos;(11) 3456-7890\n"
        "Globex;globex.com;1001+;Indústria;\n"
        ";semnome.com;;;\n"
    )
    job = run_import(workspace, admin, content.encode(), object_type="account")

    assert counts(job) == (2, 0, 0, 1)
    acai = Account.objects.for_workspace(workspace).get(name="Açaí & Cia")
    assert (acai.domain, acai.size, acai.phone) == ("acai.com.br", "11-50", "+551134567890")
    failure = ImportRowFailure.objects.for_workspace(workspace).get(job=job)
    assert [e["field"] for e in failure.errors] == ["name"]
    # A second file matches on the domain.
    again = run_import(
        workspace,
        admin,
        b"Empresa;Site\nACAI Alimentos;acai.com.br\n",
        object_type="account",
        match_by=["domain"],
        mapping={"0": "name", "1": "domain"},
        on_match="overwrite",
    )
    assert counts(again) == (0, 1, 0, 0)
    acai.refresh_from_db()
    assert acai.name == "ACAI Alimentos"


# --- failed rows --------------------------------------------------------------------------------


def test_failed_rows_are_reported_with_line_column_and_reason(workspace, admin):
    job = run_import(workspace, admin, BRAZIL_CSV.encode("cp1252"))

    rows = list(selectors.import_failures_rows(workspace=workspace, viewer=admin, job_id=job.pk))
    assert rows[0] == ["line", "field", "reason", *BRAZIL_CSV.splitlines()[0].split(";")]
    assert len(rows) == 2
    line, columns, reason, *values = rows[1]
    assert line == "4"
    assert columns == "E-mail, Data de nascimento"
    assert "E-mail: " in reason and "32/13/1990" in reason
    assert values == ["Araújo", "não-é-email", "", "", "Maceió", "32/13/1990", ""]
    assert not Contact.objects.for_workspace(workspace).filter(city="Maceió").exists()


def test_a_row_is_written_whole_or_not_at_all(workspace, admin):
    content = "Nome;E-mail;Etiquetas;Empresa\nAna;ana@exemplo.com;" + "x" * 61 + ";Nova Ltda\n"
    before = snapshot(workspace)
    job = run_import(workspace, admin, content.encode())

    assert counts(job) == (0, 0, 0, 1)
    assert snapshot(workspace) == before


# --- matching -----------------------------------------------------------------------------------


def test_same_file_twice_creates_nothing_new(workspace, admin):
    first = run_import(workspace, admin, BRAZIL_CSV.encode("cp1252"))
    after_first = snapshot(workspace)
    second = run_import(workspace, admin, BRAZIL_CSV.encode("cp1252"))

    assert counts(first) == (3, 0, 0, 1)
    assert counts(second) == (0, 0, 3, 1)
    assert snapshot(workspace) == after_first
    third = run_import(workspace, admin, BRAZIL_CSV.encode("cp1252"), on_match="overwrite")
    assert counts(third) == (0, 0, 3, 1)  # nothing to change: skipped, not updated
    assert Contact.objects.for_workspace(workspace).count() == 3


def test_matching_within_the_file(workspace, admin):
    content = (
        "Nome;Sobrenome;E-mail;Cidade\n"
        "Ana;;ana@exemplo.com;\n"
        "Ana;Souza;ANA@Exemplo.com;Recife\n"
        "Bia;;bia@exemplo.com;Natal\n"
    )
    job = run_import(workspace, admin, content.encode(), on_match="fill")

    assert counts(job) == (2, 1, 0, 0)
    ana = Contact.objects.for_workspace(workspace).get(email="ana@exemplo.com")
    assert (ana.last_name, ana.city) == ("Souza", "Recife")
    skipped = run_import(workspace, admin, content.encode(), on_match="skip")
    assert counts(skipped) == (0, 0, 3, 0)


def test_on_match_skip_fill_and_overwrite(workspace, admin, contact_factory):
    ana = contact_factory(first_name="Ana", email="ana@exemplo.com", city="Recife", tags=["old"])
    content = b"Nome;E-mail;Cidade;Cargo;Etiquetas\nAna Maria;ana@exemplo.com;Natal;CEO;new\n"
    mapping = {"0": "first_name", "1": "email", "2": "city", "3": "job_title", "4": "tags"}

    skipped = run_import(workspace, admin, content, mapping=mapping, on_match="skip")
    ana.refresh_from_db()
    assert counts(skipped) == (0, 0, 1, 0) and ana.city == "Recife"

    filled = run_import(workspace, admin, content, mapping=mapping, on_match="fill")
    ana.refresh_from_db()
    assert counts(filled) == (0, 1, 0, 0)
    assert (ana.first_name, ana.city, ana.job_title) == ("Ana", "Recife", "CEO")
    assert sorted(ana.tags.values_list("name", flat=True)) == ["new", "old"]

    overwritten = run_import(workspace, admin, content, mapping=mapping, on_match="overwrite")
    ana.refresh_from_db()
    assert counts(overwritten) == (0, 1, 0, 0)
    assert (ana.first_name, ana.city) == ("Ana Maria", "Natal")
    event = (
        Event.objects.for_workspace(workspace)
        .filter(subject_type="contact", subject_id=ana.pk)
        .latest("id")
    )
    assert event.type == "contact.updated"
    assert event.payload["source"] == "import"
    assert event.payload["import_id"] == overwritten.pk
    assert event.payload["changes"]["city"] == ["Recife", "Natal"]


def test_match_by_phone_and_external_id(workspace, admin, contact_factory):
    by_phone = contact_factory(first_name="Ana", phone="+5511987654321")
    by_id = contact_factory(first_name="Bia", external_id="CRM-2")
    content = b"Nome;Telefone;Codigo\nAna P;11 98765-4321;\nBia E;;CRM-2\nCaio;;CRM-3\n"
    job = run_import(
        workspace,
        admin,
        content,
        mapping={"0": "first_name", "1": "phone", "2": "external_id"},
        match_by=["phone", "external_id"],
        on_match="overwrite",
    )

    assert counts(job) == (1, 2, 0, 0)
    by_phone.refresh_from_db()
    by_id.refresh_from_db()
    assert (by_phone.first_name, by_id.first_name) == ("Ana P", "Bia E")


def test_records_the_importer_cannot_see_are_not_touched(workspace, admin, make_member):
    rep = make_member("rep@acme.test", Role.SALES)
    other = make_member("other@acme.test", Role.SALES)
    theirs = services_contact(workspace, other, "ana@exemplo.com")
    job = run_import(
        workspace, rep, b"Nome;E-mail\nAna Nova;ana@exemplo.com\n", on_match="overwrite"
    )

    assert counts(job) == (0, 0, 0, 1)
    theirs.refresh_from_db()
    assert theirs.first_name == "Ana"
    failure = ImportRowFailure.objects.for_workspace(workspace).get(job=job)
    assert failure.errors[0]["code"] == "match-not-visible"


def services_contact(workspace: Workspace, owner: User, email: str) -> Contact:
    from vinculo.contacts.services import contact_create

    return contact_create(
        workspace=workspace, actor=owner, data={"first_name": "Ana", "email": email}
    )


# --- events and the change log ------------------------------------------------------------------


def test_every_record_gets_its_event_and_the_job_its_completion(workspace, admin):
    job = run_import(workspace, admin, BRAZIL_CSV.encode("cp1252"))

    created = Event.objects.for_workspace(workspace).filter(type="contact.created")
    assert created.count() == 3
    event = created.get(
        subject_id=Contact.objects.for_workspace(workspace).get(email="jose@exemplo.com.br").pk
    )
    assert event.actor_id == admin.pk
    assert event.payload["source"] == "import" and event.payload["import_id"] == job.pk
    fields = event.payload["fields"]
    assert fields["first_name"] == "José" and fields["birthdate"] == "1980-12-31"
    assert fields["account_id"] and fields["tags"] == ["sp", "vip"]
    accounts = Event.objects.for_workspace(workspace).filter(type="account.created")
    assert accounts.count() == 2
    completed = Event.objects.for_workspace(workspace).get(type="import.completed")
    assert completed.subject_id == job.pk
    assert completed.payload["created"] == 3 and completed.payload["failed"] == 1
    assert ImportChange.objects.for_workspace(workspace).filter(job=job).count() == 3 + 2 + 3


# --- preview ------------------------------------------------------------------------------------


def test_preview_shows_what_each_row_would_do_and_writes_nothing(workspace, admin, contact_factory):
    contact_factory(first_name="Mônica", email="monica@exemplo.com.br")
    job = upload(workspace, admin, BRAZIL_CSV.encode("cp1252"))
    before = snapshot(workspace)
    events = Event.objects.for_workspace(workspace).count()

    rows = services.import_preview(workspace=workspace, actor=admin, job_id=job.pk)

    assert [r.action for r in rows] == ["create", "skip", "fail", "create"]
    assert [r.line for r in rows] == [2, 3, 4, 5]
    assert rows[0].values["full_name"] == "José da Conceição"
    assert rows[0].values["birthdate"] == dt.date(1980, 12, 31)
    assert {e["field"] for e in rows[2].errors} == {"email", "birthdate"}
    assert snapshot(workspace) == before
    assert Event.objects.for_workspace(workspace).count() == events
    job.refresh_from_db()
    assert job.status == JobStatus.DRAFT and job.rows_done == 0


# --- undo ---------------------------------------------------------------------------------------


def test_undo_restores_the_base_exactly(workspace, admin, contact_factory, account_factory):
    account_factory(name="Açaí & Cia")
    contact_factory(first_name="Mônica", email="monica@exemplo.com.br", city="Rio", tags=["x"])
    before = snapshot(workspace)
    job = run_import(workspace, admin, BRAZIL_CSV.encode("cp1252"), on_match="overwrite")
    assert counts(job) == (2, 1, 0, 1)
    assert snapshot(workspace) != before

    undone = services.import_undo(workspace=workspace, actor=admin, job_id=job.pk)

    assert undone.status == JobStatus.UNDONE and undone.undone_at is not None
    assert snapshot(workspace) == before
    assert not search_filter(Contact.objects.for_workspace(workspace), "conceicao").exists()
    event = Event.objects.for_workspace(workspace).get(type="import.undone")
    assert event.payload["removed"] == 2 and event.payload["restored"] == 1
    with pytest.raises(services.ImportNotDone):
        services.import_undo(workspace=workspace, actor=admin, job_id=job.pk)


def test_undo_keeps_what_was_changed_since(workspace, admin):
    from vinculo.contacts.services import contact_update

    job = run_import(workspace, admin, BRAZIL_CSV.encode("cp1252"))
    jose = Contact.objects.for_workspace(workspace).get(email="jose@exemplo.com.br")
    contact_update(workspace=workspace, actor=admin, contact_id=jose.pk, data={"city": "Santos"})

    services.import_undo(workspace=workspace, actor=admin, job_id=job.pk)

    left = Contact.objects.for_workspace(workspace)
    assert list(left.values_list("email", flat=True)) == ["jose@exemplo.com.br"]
    assert Event.objects.for_workspace(workspace).get(type="import.undone").payload["kept"] == 1
    # Its account stays too: a kept contact still points to it.
    assert Account.objects.for_workspace(workspace).filter(pk=jose.account_id).exists()


def test_undo_only_within_seven_days(workspace, admin):
    job = run_import(workspace, admin, BRAZIL_CSV.encode("cp1252"))
    assert job.finished_at is not None
    ImportJob.objects.for_workspace(workspace).filter(pk=job.pk).update(
        finished_at=job.finished_at - dt.timedelta(days=8)
    )
    with pytest.raises(services.ImportUndoExpired):
        services.import_undo(workspace=workspace, actor=admin, job_id=job.pk)
    assert Contact.objects.for_workspace(workspace).count() == 3


# --- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("vazio.csv", b"", "empty"),
        ("foto.csv", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "PNG"),
        ("dados.csv", bytes(range(256)) * 8, "not a table"),
        ("titulos.csv", b"Nome;E-mail;Nome\nAna;a@b.com;Ana\n", "Nome"),
        ("aspas.csv", b'Nome;E-mail\n"Ana;a@b.com\nBia;b@b.com\nCaio;c@b.com\n', "line 2"),
        ("so-cabecalho.csv", b"Nome;E-mail\n", "no"),
    ],
)
def test_files_that_cannot_be_imported_leave_nothing(workspace, admin, name, content, words):
    before = snapshot(workspace)
    with pytest.raises(ImportFileError) as caught:
        upload(workspace, admin, content, name)

    assert words.lower() in caught.value.detail.lower()
    assert caught.value.errors[0].field == "file"
    assert not ImportJob.objects.for_workspace(workspace).exists()
    assert snapshot(workspace) == before


def test_a_file_over_the_size_limit(workspace, admin, settings):
    settings.VINCULO_IMPORT_MAX_BYTES = 1000
    with pytest.raises(ImportFileError) as caught:
        upload(workspace, admin, b"Nome;E-mail\n" + b"Ana;ana@exemplo.com\n" * 100)
    assert "1000" in caught.value.detail.replace(".", "").replace(",", "") or "KB" in (
        caught.value.detail
    )
    assert not ImportJob.objects.for_workspace(workspace).exists()


def test_a_file_over_the_row_limit_gets_a_clear_message(workspace, admin, settings):
    settings.VINCULO_IMPORT_MAX_ROWS = 100
    content = "Nome;E-mail\n" + "".join(f"P{i};p{i}@exemplo.com\n" for i in range(101))
    with pytest.raises(ImportFileError) as caught:
        upload(workspace, admin, content.encode())
    assert "101 rows" in caught.value.detail and "100" in caught.value.detail
    assert not ImportJob.objects.for_workspace(workspace).exists()
    assert not Contact.objects.for_workspace(workspace).exists()


def test_ragged_and_mixed_encoding_rows_fail_alone(workspace, admin):
    content = (
        b"Nome;E-mail;Cidade\n"
        + "Ana;ana@exemplo.com;São Paulo\n".encode()
        + b"Bia;bia@exemplo.com\n"
        + b"Caio;caio@exemplo.com;Bel\xe9m\n"
        + "Davi;davi@exemplo.com;Goiânia;extra\n".encode()
        + "Eva;eva@exemplo.com;Maceió\n".encode()
    )
    before = snapshot(workspace)
    job = run_import(workspace, admin, content)

    assert counts(job) == (2, 0, 0, 3)
    assert set(Contact.objects.for_workspace(workspace).values_list("first_name", flat=True)) == {
        "Ana",
        "Eva",
    }
    failed = ImportRowFailure.objects.for_workspace(workspace).filter(job=job)
    assert sorted(failed.values_list("line_number", flat=True)) == [3, 4, 5]
    assert all(f.errors[0]["message"] for f in failed)
    services.import_undo(workspace=workspace, actor=admin, job_id=job.pk)
    assert snapshot(workspace) == before


def test_mapping_mistakes_are_named(workspace, admin):
    job = upload(workspace, admin, BRAZIL_CSV.encode("cp1252"))

    def configure(mapping: dict[str, str], **kwargs: Any) -> set[str]:
        with pytest.raises(ValidationFailed) as caught:
            services.import_configure(
                workspace=workspace,
                actor=admin,
                job_id=job.pk,
                mapping=mapping,
                match_by=kwargs.get("match_by", []),
                on_match=kwargs.get("on_match", "skip"),
            )
        return {e.code for e in caught.value.errors}

    assert configure({"0": "full_name", "1": "shoe_size"}) == {"unknown-field"}
    assert configure({"0": "full_name", "1": "email", "2": "email"}) == {"mapped-twice"}
    assert configure({"4": "city"}) == {"nothing-identifying"}
    assert configure({"9": "email"}) == {"unknown-column"}
    assert configure({"0": "full_name"}, match_by=["email"]) == {"not-mapped"}
    assert configure({"0": "full_name"}, match_by=["shoe"]) == {"invalid-choice"}
    assert configure({"0": "full_name"}, on_match="merge") == {"invalid-choice"}
    # Unknown columns are left out: only what is mapped is read.
    services.import_configure(
        workspace=workspace,
        actor=admin,
        job_id=job.pk,
        mapping={"1": "email"},
        match_by=["email"],
        on_match="skip",
    )
    services.import_start(workspace=workspace, actor=admin, job_id=job.pk, in_background=False)
    done = services.import_run(job_id=job.pk)
    assert counts(done) == (3, 0, 0, 1)
    assert set(Contact.objects.for_workspace(workspace).values_list("city", flat=True)) == {""}


# --- rights, saved mappings, selectors ----------------------------------------------------------


def test_who_may_import(workspace, admin, make_member):
    reader = make_member("reader@acme.test", Role.READ_ONLY)
    service = make_member("service@acme.test", Role.SERVICE)
    with pytest.raises(PermissionDenied):
        upload(workspace, reader, BRAZIL_CSV.encode("cp1252"))
    # Service may create contacts but not accounts: rows naming a new company fail, with
    # the reason; the others go in.
    job = run_import(workspace, service, BRAZIL_CSV.encode("cp1252"))
    assert counts(job) == (0, 0, 0, 4)
    reasons = ImportRowFailure.objects.for_workspace(workspace).filter(job=job)
    assert {e["code"] for f in reasons for e in f.errors} >= {"cannot-create-account"}
    job = run_import(
        workspace,
        service,
        BRAZIL_CSV.encode("cp1252"),
        mapping={"0": "full_name", "1": "email"},
    )
    assert counts(job) == (3, 0, 0, 1)


def test_a_saved_mapping_is_used_for_the_next_file_of_that_shape(workspace, admin):
    content = b"Cliente;Correio;Fone\nAna;ana@exemplo.com;\n"
    job = upload(workspace, admin, content)
    services.import_configure(
        workspace=workspace,
        actor=admin,
        job_id=job.pk,
        mapping={"0": "first_name", "1": "email", "2": "phone"},
        match_by=["email"],
        on_match="skip",
        save_mapping_as="Planilha do Zé",
    )
    again = upload(workspace, admin, b"cliente;CORREIO;fone\nBia;bia@exemplo.com;\n")
    assert again.mapping == {"0": "first_name", "1": "email", "2": "phone"}
    saved = selectors.mapping_list(workspace=workspace, viewer=admin, object_type="contact")
    assert [m.name for m in saved] == ["Planilha do Zé"]
    services.mapping_delete(workspace=workspace, actor=admin, mapping_id=saved[0].pk)
    assert not selectors.mapping_list(workspace=workspace, viewer=admin, object_type="contact")


def test_imports_of_another_workspace_are_not_found(
    workspace, admin, other_workspace, other_admin, make_member
):
    job = run_import(workspace, admin, BRAZIL_CSV.encode("cp1252"))
    rep = make_member("rep@acme.test", Role.SALES)
    for viewer, ws in ((other_admin, other_workspace), (rep, workspace)):
        with pytest.raises(NotFound):
            selectors.import_get(workspace=ws, viewer=viewer, job_id=job.pk)
        with pytest.raises(NotFound):
            list(selectors.import_failures_rows(workspace=ws, viewer=viewer, job_id=job.pk))
        with pytest.raises(NotFound):
            services.import_undo(workspace=ws, actor=viewer, job_id=job.pk)
        assert selectors.import_list(workspace=ws, viewer=viewer) == []
    assert [j.pk for j in selectors.import_list(workspace=workspace, viewer=admin)] == [job.pk]


def test_history_and_failure_report_queries_do_not_grow(
    workspace, admin, django_assert_max_num_queries
):
    for _ in range(3):
        job = run_import(workspace, admin, BRAZIL_CSV.encode("cp1252"))
    with django_assert_max_num_queries(3):
        jobs = selectors.import_list(workspace=workspace, viewer=admin)
        assert [j.created_by and j.created_by.email for j in jobs] == [admin.email] * 3
    with django_assert_max_num_queries(4):
        assert (
            len(
                list(
                    selectors.import_failures_rows(workspace=workspace, viewer=admin, job_id=job.pk)
                )
            )
            == 2
        )


# --- resuming and the periodic hand-back ---------------------------------------------------------


class _Killed(BaseException):
    """Stands for the worker dying between two batches (not an Exception: nothing catches it)."""


def test_a_run_cut_short_resumes_from_its_cursor_without_duplicates(workspace, admin, settings):
    settings.VINCULO_IMPORT_BATCH_SIZE = 10
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

    def die_after_two(state: ImportJob) -> None:
        if state.rows_done >= 20:
            raise _Killed

    with pytest.raises(_Killed):
        services.import_run(job_id=job.pk, progress=die_after_two)
    job.refresh_from_db()
    assert (job.status, job.rows_done) == (JobStatus.RUNNING, 20)
    assert Contact.objects.for_workspace(workspace).count() == 20

    # Another worker does not take a job whose heartbeat is fresh...
    assert services.import_run(job_id=job.pk).rows_done == 20
    assert services.imports_resume_stalled() == []
    # ...but hands it back once the heartbeat is old, and the next run finishes it.
    assert job.heartbeat_at is not None
    later = job.heartbeat_at + services.stale_after() + dt.timedelta(seconds=1)
    assert services.imports_resume_stalled(now=later) == [job.pk]
    job = services.import_run(job_id=job.pk)

    assert job.status == JobStatus.DONE and counts(job) == (45, 0, 0, 0)
    emails = list(Contact.objects.for_workspace(workspace).values_list("email", flat=True))
    assert len(emails) == len(set(emails)) == 45
    assert ImportChange.objects.for_workspace(workspace).filter(job=job).count() == 45
    assert Event.objects.for_workspace(workspace).filter(type="contact.created").count() == 45


def test_resume_job_is_registered_every_minute():
    from vinculo.core.periodic import registered_jobs

    jobs = {j.name: j for j in registered_jobs()}
    assert jobs["imports.resume_stalled"].every == dt.timedelta(minutes=1)


@pytest.mark.slow
def test_helper_process_prepares_rows_like_this_one(workspace, admin, settings):
    content = (
        "Nome;E-mail;Telefone;Empresa\n"
        + "".join(
            f"P{i};p{i}@exemplo.com;(11) 9{i:04d}-{i:04d};Empresa {i % 7}\n" for i in range(3000)
        )
        + "Bad;not-an-email;;\n"
    )
    settings.VINCULO_IMPORT_BATCH_SIZE = 500
    inline = run_import(workspace, admin, content.encode())
    inline_rows = list(
        Contact.objects.for_workspace(workspace)
        .order_by("id")
        .values("first_name", "email", "phones", "account__name", "search_document", "sort_name")
    )
    Contact.objects.for_workspace(workspace).all().delete()

    settings.VINCULO_IMPORT_PARALLEL_FROM = 0
    parallel = run_import(workspace, admin, content.encode())

    assert counts(inline) == counts(parallel) == (3000, 0, 0, 1)
    assert (
        list(
            Contact.objects.for_workspace(workspace)
            .order_by("id")
            .values(
                "first_name", "email", "phones", "account__name", "search_document", "sort_name"
            )
        )
        == inline_rows
    )


def test_database_refusing_a_row_fails_that_row_alone(workspace, admin):
    """PostgreSQL refuses a NUL character in text; SQLite stores it. Either way the other
    rows of the batch are written."""
    from vinculo.contacts.imports.importers import PreparedRow, importer_for, row_context
    from vinculo.contacts.imports.writer import RecordWriter, write_rows_atomically

    importer = importer_for("contact")
    ctx = row_context(workspace=workspace, actor=admin, object_type="contact")
    rows = []
    for index, name in enumerate(["Ana", "B\x00ia", "Caio"]):
        row = PreparedRow(index=index, line=index + 2, cells=[name], data={"first_name": name})
        from vinculo.contacts.imports.importers import validate_create

        validate_create(importer, workspace, admin, row, ctx.lookups)
        rows.append(row)
    writer = RecordWriter(
        importer=importer,
        workspace=workspace,
        actor=admin,
        match_by=[],
        on_match="skip",
        ctx=ctx,
    )
    outcomes = write_rows_atomically(writer, rows, lookups=ctx.lookups)

    statuses = [o.status for o in outcomes]
    names = set(Contact.objects.for_workspace(workspace).values_list("first_name", flat=True))
    if connection.vendor == "postgresql":
        assert statuses == ["created", "failed", "created"]
        assert outcomes[1].errors[0].code == "database-refused"
        assert names == {"Ana", "Caio"}
    else:
        assert statuses == ["created"] * 3
