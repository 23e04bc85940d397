"""A person with data in every table privacy reaches, made through the services where they
exist (so the rows, events and search entries look like real ones), and a second person whose
data must never be touched or exported with the first."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.utils import timezone

from vinculo.contacts.models import (
    Contact,
    DuplicateCandidate,
    ImportChange,
    ImportJob,
    ImportRowFailure,
    JobStatus,
)
from vinculo.contacts.privacy.services import consent_record
from vinculo.contacts.services import contact_delete, contact_restore, contact_update
from vinculo.core.models import User, Workspace
from vinculo.timeline.services import (
    interaction_create,
    interaction_update,
    note_create,
    note_update,
    task_create,
    task_reminders_send,
    task_update,
)

# Every value of the person that must be gone after erasure (compared case-insensitively).
PERSON_VALUES = (
    "Mariazinha",
    "Silvestre",
    "mariazinha.silvestre@example.com",
    "mari.pessoal@exemplo.com.br",
    "5511987654321",
    "987654321",
    "98765-4321",
    "Analista de compras Zeta",
    "Diretora financeira",
    "Rua das Acácias",
    "Campinas",
    "13010-111",
    "CRM-77341",
    "1987-03-14",
    "Zizi Mar",
    "Mozilla/5.0 PC-da-Zizi",
    "203.0.113.7",
    "Prefere WhatsApp",
    "orçamento de queijos",
)


@dataclass
class Person:
    workspace: Workspace
    contact: Contact
    other: Contact
    job: ImportJob
    failures: list[ImportRowFailure] = field(default_factory=list)
    stranger_failure: ImportRowFailure | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _make_person(workspace: Workspace, admin: User, contact_factory, account_factory, custom_field):
    custom_field("apelido", "text")
    custom_field("score", "number")
    company = account_factory(name="Laticínios Serra Azul", city="Recife")
    contact = contact_factory(
        actor=admin,
        first_name="Mariazinha",
        last_name="Silvestre",
        emails=["mariazinha.silvestre@example.com", "mari.pessoal@exemplo.com.br"],
        phones=["+55 11 98765-4321"],
        job_title="Analista de compras Zeta",
        birthdate="1987-03-14",
        street="Rua das Acácias 42",
        city="Campinas",
        state="SP",
        postal_code="13010-111",
        country="BR",
        external_id="CRM-77341",
        custom_fields={"apelido": "Zizi Mar", "score": 42},
        account_id=company.pk,
        lifecycle_stage="customer",
        owner_id=admin.pk,
        tags=["vip"],
    )
    # Audit events with old → new values and names.
    contact_update(
        workspace=workspace,
        actor=admin,
        contact_id=contact.pk,
        data={"job_title": "Diretora financeira"},
    )
    contact_delete(workspace=workspace, actor=admin, contact_id=contact.pk)
    contact_restore(workspace=workspace, actor=admin, contact_id=contact.pk)
    other = contact_factory(
        actor=admin,
        first_name="Bento",
        last_name="Ferraz",
        emails=["bento@example.org"],
        phones=["+55 21 3333-4444"],
        account_id=company.pk,
    )

    call = interaction_create(
        workspace=workspace,
        actor=admin,
        channel="phone",
        contact_id=contact.pk,
        subject="Ligação com Mariazinha",
        body="Pediu orçamento de queijos; ligar no 11 98765-4321",
        outcome="Retornar",
    )
    interaction_update(
        workspace=workspace,
        actor=admin,
        interaction_id=call.pk,
        data={"subject": "Ligação com Mariazinha Silvestre"},
    )
    interaction_create(
        workspace=workspace,
        actor=admin,
        channel="email",
        contact_id=other.pk,
        subject="Proposta para Bento",
        body="Bento pediu a tabela",
    )
    task = task_create(
        workspace=workspace,
        actor=admin,
        title="Enviar proposta à Mariazinha",
        description="para mariazinha.silvestre@example.com",
        contact_id=contact.pk,
        assignee_id=admin.pk,
        reminder_at=timezone.now() - dt.timedelta(minutes=1),
    )
    task_reminders_send()
    task_update(
        workspace=workspace,
        actor=admin,
        task_id=task.pk,
        data={"description": "ligar para a Mariazinha antes"},
    )
    note = note_create(
        workspace=workspace, actor=admin, body="Prefere WhatsApp", contact_id=contact.pk
    )
    note_update(
        workspace=workspace,
        actor=admin,
        note_id=note.pk,
        data={"body": "Prefere WhatsApp; apelido Zizi Mar"},
    )
    note_create(workspace=workspace, actor=admin, body="Bento é do financeiro", contact_id=other.pk)

    consent_record(
        workspace=workspace,
        actor=None,
        contact_id=contact.pk,
        purpose="email_marketing",
        granted=True,
        wording="Quero receber ofertas por e-mail.",
        source="form",
        ip_address="203.0.113.7",
        user_agent="Mozilla/5.0 PC-da-Zizi",
    )
    consent_record(
        workspace=workspace,
        actor=admin,
        contact_id=other.pk,
        purpose="email_marketing",
        granted=True,
        wording="Sim, pode mandar.",
        source="staff",
        ip_address="198.51.100.9",
    )

    job = ImportJob.objects.for_workspace(workspace).create(
        workspace=workspace,
        object_type="contact",
        file="imports/clientes.csv",
        original_name="clientes.csv",
        status=JobStatus.DONE,
        headers=["Nome", "E-mail", "Telefone"],
    )
    failures = [
        # The email is broken, but the phone is hers, written the way people write it.
        ImportRowFailure.objects.for_workspace(workspace).create(
            workspace=workspace,
            job=job,
            line_number=7,
            values=["Mariazinha Silvestre", "mariazinha.silvestre@example", "(11) 98765-4321"],
            errors=[{"field": "email", "message": "mariazinha.silvestre@example is not valid"}],
        ),
        ImportRowFailure.objects.for_workspace(workspace).create(
            workspace=workspace,
            job=job,
            line_number=9,
            values=["M. Silvestre", "MARIAZINHA.SILVESTRE@EXAMPLE.COM", ""],
            errors=[{"field": "birthdate", "message": "31/02/1987 is not a date"}],
        ),
    ]
    stranger = ImportRowFailure.objects.for_workspace(workspace).create(
        workspace=workspace,
        job=job,
        line_number=8,
        values=["Carla Dias", "carla@", "(11) 91234-0000"],
        errors=[{"field": "email", "message": "carla@ is not valid"}],
    )
    ImportChange.objects.for_workspace(workspace).create(
        workspace=workspace,
        job=job,
        object_id=contact.pk,
        action=ImportChange.Action.UPDATED,
        line_number=3,
        before={
            "first_name": "Mariazinha",
            "emails": ["mariazinha.silvestre@example.com"],
            "phones": ["+5511987654321"],
            "city": "Campinas",
            "owner_id": admin.pk,
            "custom_fields": {"apelido": "Zizi Mar"},
        },
    )
    DuplicateCandidate.objects.for_workspace(workspace).create(
        workspace=workspace,
        object_type="contact",
        first_id=min(contact.pk, other.pk),
        second_id=max(contact.pk, other.pk),
        score=71.0,
        reasons=["same company", "name like Mariazinha Silvestre"],
    )
    contact.refresh_from_db()
    return Person(
        workspace=workspace,
        contact=contact,
        other=other,
        job=job,
        failures=failures,
        stranger_failure=stranger,
        extra={"task": task, "note": note, "call": call, "company": company},
    )


@pytest.fixture
def person(workspace, admin, contact_factory, account_factory, custom_field) -> Person:
    return _make_person(workspace, admin, contact_factory, account_factory, custom_field)
