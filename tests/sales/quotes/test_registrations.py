"""What quotes and orders plug into: importing orders from a file (one row per order, upsert
by order number), merges moving orders and quotes to the survivor, the privacy export and
erasure, and the expiry job."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from decimal import Decimal as D

import pytest
from django.core.files.base import ContentFile

from vinculo.contacts.imports import services as imports
from vinculo.contacts.imports.importers import importer_for
from vinculo.contacts.models import ImportRowFailure
from vinculo.contacts.privacy.exporting import PersonContext, personal_data_zip
from vinculo.core.models import Event
from vinculo.core.periodic import registered_jobs
from vinculo.sales.models import Order, OrderChannel, Quote
from vinculo.sales.quotes import services

ORDERS_CSV = (
    "Número do pedido;Data;E-mail;Empresa;Total;Canal;Código do produto\r\n"
    "LOJA-1;03/05/2024;ana@souza.test;;1.234,50;loja;W-1\r\n"
    "LOJA-2;04/05/2024;;Souza Comércio;99,90;;\r\n"
    "LOJA-3;05/05/2024;nobody@example.test;;10,00;;\r\n"
    "LOJA-4;31/02/2024;ana@souza.test;;abc;;\r\n"
    ";06/05/2024;ana@souza.test;;5;;\r\n"
).encode()


def run_import(workspace, actor, content: bytes, on_match: str = "overwrite"):
    job = imports.import_upload(
        workspace=workspace,
        actor=actor,
        object_type="order",
        uploaded=ContentFile(content, name="pedidos.csv"),
        original_name="pedidos.csv",
    )
    imports.import_configure(
        workspace=workspace,
        actor=actor,
        job_id=job.pk,
        mapping=job.mapping,
        match_by=job.match_by,
        on_match=on_match,
    )
    imports.import_start(workspace=workspace, actor=actor, job_id=job.pk, in_background=False)
    return imports.import_run(job_id=job.pk), job


def test_orders_are_imported_one_row_per_order(workspace, admin, customer, widget):
    job, draft = run_import(workspace, admin, ORDERS_CSV)
    # Every column was recognised from its Portuguese title.
    assert set(draft.mapping.values()) == {
        "external_id",
        "ordered_at",
        "contact_email",
        "account_name",
        "total",
        "channel",
        "product_code",
    }
    assert (job.created_count, job.updated_count, job.failed_count) == (2, 0, 3)
    first = Order.objects.get(external_id="LOJA-1")
    assert first.contact == customer and first.account == customer.account
    assert first.total == D("1234.50") and first.channel == OrderChannel.STORE
    assert first.ordered_at.date() == dt.date(2024, 5, 3)
    [line] = first.lines.all()
    assert (line.product, line.description, line.quantity) == (widget, "Widget", D("1.000"))
    second = Order.objects.get(external_id="LOJA-2")
    assert second.account == customer.account and second.contact is None
    assert second.channel == OrderChannel.IMPORT
    failures = {
        f.line_number: {e["field"] for e in f.errors}
        for f in ImportRowFailure.objects.filter(job_id=job.pk)
    }
    assert failures == {4: {"contact_email"}, 5: {"ordered_at", "total"}, 6: {"external_id"}}
    placed = Event.all_tenants.filter(type="order.placed")
    assert placed.count() == 2 and {e.payload["source"] for e in placed} == {"import"}


def test_importing_the_same_file_again_updates_the_orders(workspace, admin, customer, widget):
    run_import(workspace, admin, ORDERS_CSV)
    changed = ORDERS_CSV.replace(b"99,90", b"120,00")
    job, _draft = run_import(workspace, admin, changed)
    assert (job.created_count, job.updated_count) == (0, 2)
    assert Order.objects.count() == 2
    assert Order.objects.get(external_id="LOJA-2").total == D("120.00")
    skipped, _draft = run_import(workspace, admin, ORDERS_CSV, on_match="skip")
    assert (skipped.created_count, skipped.skipped_count) == (0, 2)
    assert Order.objects.get(external_id="LOJA-2").total == D("120.00")


def test_the_order_importer_is_registered():
    importer = importer_for("order")
    assert importer.module == "deals"
    assert [f.name for f in importer.fields({})][:2] == ["external_id", "ordered_at"]


# ---------------------------------------------------------------------------------------------
# Merges


def test_orders_and_quotes_follow_a_merged_contact(
    workspace, admin, customer, contact_factory, draft
):
    from vinculo.contacts.dedupe.services import merge_relations

    twin = contact_factory(first_name="Ana", email="ana.souza@other.test")
    order = services.order_create(
        workspace=workspace,
        actor=admin,
        data={"contact_id": twin.pk, "lines": [{"description": "x", "unit_price": "1"}]},
    )
    Quote.objects.filter(pk=draft.pk).update(contact=twin)
    for relation in merge_relations("contact"):
        relation.apply(workspace, admin, twin.pk, customer.pk)
    assert Order.objects.get(pk=order.pk).contact == customer
    assert Quote.objects.get(pk=draft.pk).contact == customer


def test_orders_and_quotes_follow_a_merged_account(
    workspace, admin, customer, account_factory, draft
):
    from vinculo.contacts.dedupe.services import merge_relations

    twin = account_factory(name="Souza Comercio Ltda")
    order = services.order_create(
        workspace=workspace,
        actor=admin,
        data={"account_id": twin.pk, "lines": [{"description": "x", "unit_price": "1"}]},
    )
    Quote.objects.filter(pk=draft.pk).update(account=twin)
    labels = {r.label for r in merge_relations("account")}
    assert {"orders", "quotes"} <= labels
    for relation in merge_relations("account"):
        if relation.label in ("orders", "quotes"):
            relation.apply(workspace, admin, twin.pk, customer.account_id)
    assert Order.objects.get(pk=order.pk).account_id == customer.account_id
    assert Quote.objects.get(pk=draft.pk).account_id == customer.account_id


# ---------------------------------------------------------------------------------------------
# Privacy


def test_the_personal_data_export_holds_orders_and_quotes(workspace, admin, customer, sent):
    services.quote_answer(
        workspace=workspace,
        quote_id=sent.pk,
        public_key=sent.public_key,
        accept=True,
        signer_name="Ana Souza",
        ip="203.0.113.5",
    )
    person = PersonContext.build(workspace=workspace, actor=admin, contact=customer)
    data, names = personal_data_zip(person)
    assert "orders.json" in names and "quotes.json" in names
    archive = zipfile.ZipFile(io.BytesIO(data))
    orders = json.loads(archive.read("orders.json"))
    quotes = json.loads(archive.read("quotes.json"))
    assert [o["number"] for o in orders] == ["O-0001"]
    assert orders[0]["total"] == "348.20" and len(orders[0]["lines"]) == 2
    assert quotes[0]["number"] == "Q-0001" and quotes[0]["answered_by_name"] == "Ana Souza"
    assert "orders.json" in archive.read("README.txt").decode()


def test_erasure_blanks_what_the_person_left_on_quotes(workspace, admin, customer, sent):
    from vinculo.contacts.privacy.services import erasure_steps

    services.quote_answer(
        workspace=workspace,
        quote_id=sent.pk,
        public_key=sent.public_key,
        accept=False,
        reason="I am Ana and I say no",
        ip="203.0.113.5",
    )
    person = PersonContext.build(workspace=workspace, actor=admin, contact=customer)
    [step] = [s for s in erasure_steps() if s.__name__ == "quotes_erase_person"]
    assert step(person) == {"quotes": 1}
    sent.refresh_from_db()
    assert (sent.answered_by_name, sent.answered_ip, sent.decline_reason) == ("", None, "")


def test_the_expiry_job_is_registered():
    assert "sales.quotes_expire" in {job.name for job in registered_jobs()}


@pytest.mark.parametrize("kind", ["contact", "account"])
def test_merge_relations_are_registered(kind):
    from vinculo.contacts.dedupe.services import merge_relations

    assert {"orders", "quotes"} <= {r.label for r in merge_relations(kind)}
