"""The data-subject export: a ZIP of JSON files with everything held about one person and
nothing about anyone else; recorded as an event without values; the section registry."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pytest

from vinculo.contacts.privacy import exporting
from vinculo.contacts.privacy.services import contact_data_export, contact_erase
from vinculo.core.exceptions import NotFound, PermissionDenied
from vinculo.core.models import Event
from vinculo.core.roles import Role

FILES = {
    "README.txt",
    "contact.json",
    "account.json",
    "interactions.json",
    "tasks.json",
    "notes.json",
    "consents.json",
    "events.json",
    "import_rows.json",
    # Sections the sales module adds through register_export_section.
    "leads.json",
    "quotes.json",
    "orders.json",
}


def unzip(data: bytes) -> dict[str, Any]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        return {
            name: archive.read(name).decode()
            if name.endswith(".txt")
            else json.loads(archive.read(name))
            for name in archive.namelist()
        }


def test_every_section_holds_the_persons_data(workspace, admin, person) -> None:
    files = unzip(
        contact_data_export(workspace=workspace, actor=admin, contact_id=person.contact.pk)
    )
    assert set(files) == FILES

    contact = files["contact.json"]
    assert contact["id"] == person.contact.pk
    assert contact["first_name"] == "Mariazinha"
    assert contact["last_name"] == "Silvestre"
    assert contact["emails"] == ["mariazinha.silvestre@example.com", "mari.pessoal@exemplo.com.br"]
    assert contact["phones"] == ["+5511987654321"]
    assert contact["birthdate"] == "1987-03-14"
    assert contact["job_title"] == "Diretora financeira"
    assert contact["street"] == "Rua das Acácias 42"
    assert contact["external_id"] == "CRM-77341"
    assert contact["custom_fields"] == [
        {"key": "apelido", "label": "Apelido", "value": "Zizi Mar"},
        {"key": "score", "label": "Score", "value": 42},
    ]
    assert contact["tags"] == ["vip"]
    assert contact["owner"] == admin.display_name
    assert contact["account"] == {"id": person.extra["company"].pk, "name": "Laticínios Serra Azul"}
    assert contact["erased_at"] is None

    assert files["account.json"]["name"] == "Laticínios Serra Azul"
    assert files["account.json"]["city"] == "Recife"

    (call,) = files["interactions.json"]
    assert call["subject"] == "Ligação com Mariazinha Silvestre"
    assert call["channel"] == "phone"
    assert "98765-4321" in call["body"]
    (task,) = files["tasks.json"]
    assert task["title"] == "Enviar proposta à Mariazinha"
    (note,) = files["notes.json"]
    assert note["body"] == "Prefere WhatsApp; apelido Zizi Mar"

    (consent,) = files["consents.json"]
    assert consent["purpose"] == "email_marketing"
    assert consent["granted"] is True
    assert consent["wording"] == "Quero receber ofertas por e-mail."
    assert consent["ip_address"] == "203.0.113.7"
    assert consent["user_agent"] == "Mozilla/5.0 PC-da-Zizi"

    types = [e["type"] for e in files["events.json"]]
    assert types[:4] == [
        "contact.created",
        "contact.updated",
        "contact.deleted",
        "contact.restored",
    ]
    assert {"interaction.logged", "interaction.updated", "task.created", "note.added"} <= set(types)
    assert "consent.granted" in types
    updated = next(e for e in files["events.json"] if e["type"] == "contact.updated")
    assert updated["payload"]["changes"]["job_title"] == [
        "Analista de compras Zeta",
        "Diretora financeira",
    ]

    rows = files["import_rows.json"]
    assert sorted(f["line"] for f in rows["failures"]) == [7, 9]
    seven = next(f for f in rows["failures"] if f["line"] == 7)
    assert seven["import"] == "clientes.csv"
    assert seven["columns"]["Telefone"] == "(11) 98765-4321"
    (change,) = rows["changes"]
    assert change["values_before"]["first_name"] == "Mariazinha"

    readme = files["README.txt"]
    assert "Mariazinha Silvestre" in readme
    for name in FILES - {"README.txt"}:
        assert name in readme


def test_nothing_about_anyone_else(workspace, admin, person) -> None:
    data = contact_data_export(workspace=workspace, actor=admin, contact_id=person.contact.pk)
    text = " ".join(str(v) for v in unzip(data).values())
    for other in ("Bento", "bento@example.org", "33334444", "Carla Dias", "91234-0000"):
        assert other not in text
    # Events of the other person are not in it either.
    other_events = Event.objects.for_workspace(workspace).filter(
        subject_type="contact", subject_id=person.other.pk
    )
    ids = {e["id"] for e in unzip(data)["events.json"]}
    assert ids.isdisjoint(other_events.values_list("pk", flat=True))


def test_the_export_is_recorded_without_values(workspace, admin, person) -> None:
    contact_data_export(workspace=workspace, actor=admin, contact_id=person.contact.pk)
    event = Event.objects.for_workspace(workspace).get(type="contact.data_exported")
    assert (event.subject_id, event.actor_id) == (person.contact.pk, admin.pk)
    # In the order of the registry: the README first; every file once.
    files = event.payload["files"]
    assert files[0] == "README.txt"
    assert len(files) == len(set(files))
    assert set(files) == FILES
    assert event.payload.keys() == {"files"}


def test_rights_and_reach(workspace, other_workspace, make_member, person, contact_factory) -> None:
    seller = make_member("seller@acme.test", Role.SALES)
    manager = make_member("manager@acme.test", Role.MANAGER)
    with pytest.raises(PermissionDenied):
        contact_data_export(workspace=workspace, actor=seller, contact_id=person.contact.pk)
    assert contact_data_export(workspace=workspace, actor=manager, contact_id=person.contact.pk)
    with pytest.raises(NotFound):
        contact_data_export(workspace=other_workspace, actor=None, contact_id=person.contact.pk)
    assert not Event.objects.for_workspace(workspace).filter(
        type="contact.data_exported", actor=seller
    )


def test_a_person_with_nothing_else_and_an_erased_one(workspace, admin, contact_factory) -> None:
    lone = contact_factory(first_name="Só")
    files = unzip(contact_data_export(workspace=workspace, actor=admin, contact_id=lone.pk))
    assert files["account.json"] is None
    assert files["interactions.json"] == [] and files["consents.json"] == []
    assert files["import_rows.json"] == {"failures": [], "changes": []}
    contact_erase(workspace=workspace, actor=admin, contact_id=lone.pk, reason="Pedido")
    files = unzip(contact_data_export(workspace=workspace, actor=admin, contact_id=lone.pk))
    assert files["contact.json"]["first_name"] == ""
    assert files["contact.json"]["display_name"] == "Erased person"
    assert files["contact.json"]["erased_at"] is not None


def test_a_module_adds_its_own_section(workspace, admin, person) -> None:
    @exporting.register_export_section("deals.json", description="Deals.", order=90)
    def deals(p: exporting.PersonContext) -> list[dict[str, Any]]:
        return [{"contact": p.contact.pk, "value": "1200.00"}]

    try:
        files = unzip(
            contact_data_export(workspace=workspace, actor=admin, contact_id=person.contact.pk)
        )
    finally:
        exporting._sections.pop("deals.json")
    assert files["deals.json"] == [{"contact": person.contact.pk, "value": "1200.00"}]
    assert "deals.json: Deals." in files["README.txt"]
