"""Privacy (LGPD/GDPR) on a large workspace: recording consent, the privacy panel, the
personal-data export and erasure (issue 4 sets no budget; the figures are for the notes).

Not part of the test suite. Run it against a scratch database filled by the demo generator —
it ERASES the contacts it measures:

    export VINCULO_DATA_DIR=/tmp/bench-privacy        # or DATABASE_URL for PostgreSQL
    vinculo migrate && vinculo demo --contacts 1000000
    .venv/bin/python bench/bench_privacy.py [--workspace demo] [--rounds 10] [--failures 100000]

Each measured contact first gets a history (interactions, tasks, notes, consent entries), and
the workspace gets `--failures` failed import rows, so that erasure and export scan a
realistic import backlog (failed rows are matched by their text: no index can find a phone
written as "(11) 98765-4321"). On SQLite it also times FTS5 `optimize`, the one way to drop
an erased person's words from the full-text index's pages (see the notes in README.md).
Each line reads `name value unit budget`.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vinculo.settings")
os.environ["DEBUG"] = "false"

import django

django.setup()

from _common import machine_context, median, note, report  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402

from vinculo.contacts.models import (  # noqa: E402
    Contact,
    ImportJob,
    ImportRowFailure,
    JobStatus,
)
from vinculo.contacts.privacy.services import (  # noqa: E402
    consent_record,
    contact_data_export,
    contact_erase,
)
from vinculo.core.models import Membership, User, Workspace  # noqa: E402
from vinculo.core.roles import Role  # noqa: E402
from vinculo.core.tenancy import workspace_scope  # noqa: E402
from vinculo.timeline.models import Interaction, Note, Task  # noqa: E402

HISTORY = 50  # interactions per measured contact, plus a tenth as many tasks and notes


def ms_since(start: float) -> float:
    return (time.perf_counter() - start) * 1000


def give_history(workspace: Workspace, admin: User, contact: Contact) -> None:
    Interaction.objects.bulk_create(
        Interaction(
            workspace=workspace,
            contact=contact,
            channel="email",
            subject=f"Proposta {i} para {contact.first_name}",
            body=f"Conversa com {contact.first_name} {contact.last_name} sobre o pedido {i}.",
            author=admin,
        )
        for i in range(HISTORY)
    )
    Task.objects.bulk_create(
        Task(workspace=workspace, contact=contact, title=f"Ligar para {contact.first_name}")
        for _ in range(HISTORY // 10)
    )
    Note.objects.bulk_create(
        Note(workspace=workspace, contact=contact, body=f"{contact.first_name} prefere e-mail")
        for _ in range(HISTORY // 10)
    )


def add_failures(workspace: Workspace, count: int) -> None:
    have = ImportRowFailure.objects.for_workspace(workspace).count()
    if have >= count:
        return
    job = ImportJob.objects.for_workspace(workspace).create(
        workspace=workspace,
        object_type="contact",
        file="imports/bench.csv",
        original_name="bench.csv",
        status=JobStatus.DONE,
        headers=["Nome", "E-mail", "Telefone", "Cidade"],
    )
    rows = (
        ImportRowFailure(
            workspace=workspace,
            job=job,
            line_number=i + 2,
            values=[
                f"Pessoa {i}",
                f"pessoa{i}@",
                f"(11) 9{i % 10000:04d}-{i % 9973:04d}",
                "Recife",
            ],
            errors=[{"field": "email", "message": f"pessoa{i}@ is not a valid email"}],
        )
        for i in range(count - have)
    )
    ImportRowFailure.objects.bulk_create(rows, batch_size=5000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workspace", default="demo")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--failures", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    note(machine_context())
    workspace = Workspace.objects.get(slug=args.workspace)
    rng = random.Random(args.seed)
    with workspace_scope(workspace):
        admin = User.objects.get(
            pk=Membership.objects.for_workspace(workspace)
            .filter(role=Role.ADMIN, is_active=True)
            .order_by("id")
            .values_list("user_id", flat=True)[0]
        )
        live = Contact.objects.for_workspace(workspace).filter(
            erased_at__isnull=True, deleted_at__isnull=True
        )
        total = Contact.objects.for_workspace(workspace).count()
        last = live.order_by("-id").values_list("id", flat=True)[0]
        picked: list[Contact] = []
        while len(picked) < args.rounds + 2:
            found = live.filter(pk__gte=rng.randint(1, last)).exclude(email="").first()
            if found is not None and found not in picked:
                picked.append(found)
        add_failures(workspace, args.failures)
        for contact in picked:
            give_history(workspace, admin, contact)
        note(
            f"workspace {workspace.slug}: {total:,} contacts, {args.failures:,} failed import "
            f"rows; each measured contact has {HISTORY} interactions, {HISTORY // 10} tasks and "
            f"{HISTORY // 10} notes; database {connection.vendor}"
        )

        consent_ms = []
        for i, contact in enumerate(picked):
            start = time.perf_counter()
            consent_record(
                workspace=workspace,
                actor=admin,
                contact_id=contact.pk,
                purpose="email_marketing",
                granted=i % 2 == 0,
                wording="Quero receber ofertas por e-mail.",
                source="form",
                ip_address="203.0.113.7",
            )
            consent_ms.append(ms_since(start))
        report("privacy_consent_record_median", median(consent_ms[2:]), "ms")

        client = Client()
        client.force_login(admin)
        panel_ms = []
        for contact in picked:
            url = reverse("contacts:privacy_panel", args=[contact.pk])
            start = time.perf_counter()
            response = client.get(url, headers={"HX-Request": "true"})
            panel_ms.append(ms_since(start))
            assert response.status_code == 200, response.status_code
        report("privacy_panel_median", median(panel_ms[2:]), "ms")

        export_ms, sizes = [], []
        for contact in picked:
            start = time.perf_counter()
            data = contact_data_export(workspace=workspace, actor=admin, contact_id=contact.pk)
            export_ms.append(ms_since(start))
            sizes.append(len(data))
        report("privacy_export_zip_median", median(export_ms[2:]), "ms")
        note(f"export ZIP size median {median(sizes) / 1024:.1f} KiB")

        erase_ms = []
        for contact in picked:
            start = time.perf_counter()
            contact_erase(
                workspace=workspace, actor=admin, contact_id=contact.pk, reason="Benchmark"
            )
            erase_ms.append(ms_since(start))
        report("privacy_erase_median", median(erase_ms[2:]), "ms")
        report("privacy_erase_max", max(erase_ms[2:]), "ms")

        if connection.vendor == "sqlite":
            start = time.perf_counter()
            with connection.cursor() as cursor:
                cursor.execute(
                    "INSERT INTO contacts_contact_fts(contacts_contact_fts) VALUES ('optimize')"
                )
            report("sqlite_fts_optimize", ms_since(start) / 1000, "s")


if __name__ == "__main__":
    main()
