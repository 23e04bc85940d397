"""What leads plug into the rest of Vínculo: the importer (CLI, undo), the person's data
export and erasure, global search, the automation subject, and the first contact noted when an
interaction is logged."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.utils import translation

from vinculo.automation.subjects import registered_triggers, subject_type
from vinculo.cli import main
from vinculo.contacts.imports import services as imports
from vinculo.contacts.models import ConsentEntry, ImportJob
from vinculo.contacts.privacy.services import contact_data_export, contact_erase
from vinculo.contacts.services import contact_create
from vinculo.core.events import deliver_event
from vinculo.core.models import Event, Team
from vinculo.marketing.models import WebForm, WebFormSubmission
from vinculo.sales.leads import services
from vinculo.sales.models import Lead, LeadStatus
from vinculo.timeline.services import interaction_create
from vinculo.web.search import global_search

LEADS_CSV = (
    "Nome,E-mail,Telefone,Empresa,Cargo,utm_source,utm_campaign,Origem,País\n"
    "Maria Silva,maria@padaria.com.br,(11) 98765-4321,Padaria Pão Quente,Dona,google,spring,"
    "Site,Brasil\n"
    "João Souza,joao@oficina.com.br,,Oficina do João,,,,Feira,BR\n"
    "Sem Email,not-an-email,,,,,,,\n"
)


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


# --- the importer -----------------------------------------------------------------------------


def test_vinculo_import_lead_maps_by_titles_and_reports_failures(
    workspace, admin, tmp_path, capsys
):
    path = tmp_path / "leads.csv"
    path.write_text(LEADS_CSV, encoding="utf-8")

    status = main(["import", "lead", str(path), "--workspace", "acme", "--user", admin.email])

    out, err = capsys.readouterr()
    assert status == 0, err
    assert "created 2, updated 0, skipped 0, failed 1" in out
    maria = Lead.objects.get(email="maria@padaria.com.br")
    assert (maria.first_name, maria.last_name, maria.phone) == ("Maria", "Silva", "+5511987654321")
    assert (maria.company_name, maria.job_title, maria.country) == (
        "Padaria Pão Quente",
        "Dona",
        "BR",
    )
    assert (maria.utm_source, maria.utm_campaign, maria.source) == ("google", "spring", "Site")
    assert maria.sort_name == "maria silva" and "padaria" in maria.search_document
    # Imported leads wait for the assignment rules.
    assert maria.owner_id is None and maria.status == LeadStatus.NEW
    created = Event.objects.get(type="lead.created", subject_id=maria.pk)
    assert created.payload["source"] == "import"
    assert created.payload["fields"]["utm_campaign"] == "spring"


def test_importing_again_matches_by_email_and_undo_restores(workspace, admin, tmp_path, capsys):
    path = tmp_path / "leads.csv"
    path.write_text(LEADS_CSV, encoding="utf-8")
    assert main(["import", "leads", str(path), "--workspace", "acme"]) == 0
    changed = tmp_path / "again.csv"
    changed.write_text(LEADS_CSV.replace("Dona", "Sócia"), encoding="utf-8")

    assert (
        main(["import", "leads", str(changed), "--workspace", "acme", "--on-match", "overwrite"])
        == 0
    )

    out, _err = capsys.readouterr()
    assert "created 0, updated 1, skipped 1, failed 1" in out
    assert Lead.objects.count() == 2
    assert Lead.objects.get(email="maria@padaria.com.br").job_title == "Sócia"
    job = ImportJob.objects.order_by("-pk").first()
    assert job is not None and job.object_type == "lead"
    imports.import_undo(workspace=workspace, actor=admin, job_id=job.pk)
    assert Lead.objects.get(email="maria@padaria.com.br").job_title == "Dona"


def test_the_import_pages_offer_leads(workspace, admin, client):
    admin.language = "en"
    admin.save(update_fields=["language"])
    client.force_login(admin)
    page = client.get("/imports/new?object=lead")
    assert page.status_code == 200
    assert 'value="lead"' in page.content.decode()
    fields = {f.name for f in imports.import_fields(workspace=workspace, object_type="lead")}
    assert {"email", "company_name", "utm_campaign", "owner", "full_name"} <= fields


# --- privacy ----------------------------------------------------------------------------------


@pytest.fixture
def person_with_leads(workspace, admin, lead):
    form = WebForm.objects.create(workspace=workspace, name="Contact us", public_key="k1")
    WebFormSubmission.objects.create(
        workspace=workspace,
        form=form,
        lead=lead,
        data={"first_name": "Maria", "email": "maria@padaria.com.br"},
        utm={"utm_source": "google"},
        page_url="https://site/?utm_source=google",
        referrer="https://google.com",
        ip_address="203.0.113.7",
        user_agent="Firefox",
    )
    ConsentEntry.objects.create(
        workspace=workspace,
        lead=lead,
        purpose="email_marketing",
        granted=True,
        wording="ok",
        source="form",
        ip_address="203.0.113.7",
        user_agent="Firefox",
    )
    return contact_create(
        workspace=workspace,
        actor=admin,
        data={"first_name": "Maria", "email": "maria@padaria.com.br"},
    )


def test_the_persons_export_holds_their_leads(workspace, admin, lead, person_with_leads):
    data = contact_data_export(workspace=workspace, actor=admin, contact_id=person_with_leads.pk)

    archive = zipfile.ZipFile(io.BytesIO(data))
    leads = json.loads(archive.read("leads.json"))
    assert [item["id"] for item in leads] == [lead.pk]
    assert leads[0]["utm"]["campaign"] == "spring"
    assert leads[0]["web_form_submissions"][0]["ip_address"] == "203.0.113.7"
    assert leads[0]["consent"][0]["purpose"] == "email_marketing"
    assert "leads.json" in archive.read("README.txt").decode()


def test_erasure_anonymises_the_persons_leads_and_submissions(
    workspace, admin, lead, lead_factory, person_with_leads
):
    stranger = lead_factory(email="someone@else.com")

    report = contact_erase(
        workspace=workspace, actor=admin, contact_id=person_with_leads.pk, reason="Asked to"
    )

    assert report.counts["leads"] == 1 and report.counts["webform_submissions"] == 1
    lead.refresh_from_db()
    assert (lead.first_name, lead.email, lead.phone, lead.search_document) == ("", "", "", "")
    assert lead.erased_at is not None and lead.display_name == "Erased person"
    # What the lead says about the business stays.
    assert (lead.company_name, lead.utm_campaign, lead.source) == (
        "Padaria Pão Quente",
        "spring",
        "Web form",
    )
    sub = WebFormSubmission.objects.get()
    assert (sub.data, sub.utm, sub.page_url, sub.ip_address, sub.user_agent) == (
        {},
        {},
        "",
        None,
        "",
    )
    entry = ConsentEntry.objects.get(lead=lead)
    assert entry.ip_address is None and entry.purpose == "email_marketing"
    created = Event.objects.get(type="lead.created", subject_id=lead.pk)
    assert "maria@padaria.com.br" not in json.dumps(created.payload)
    assert Lead.objects.get(pk=stranger.pk).email == "someone@else.com"


# --- global search ----------------------------------------------------------------------------


def test_global_search_finds_leads_the_viewer_may_see(
    workspace, admin, seller, other_seller, lead_factory
):
    lead_factory(first_name="Ricardo", company_name="Ricardo's", owner_id=other_seller.pk)
    mine = lead_factory(first_name="Ricarda", owner_id=seller.pk)

    groups = {g.key: g for g in global_search(workspace=workspace, viewer=admin, query="ricard")}
    assert len(groups["leads"].hits) == 2
    assert groups["leads"].list_url == "/leads/?q=ricard"

    groups = {g.key: g for g in global_search(workspace=workspace, viewer=seller, query="ricard")}
    assert [h.url for h in groups["leads"].hits] == [f"/leads/{mine.pk}/"]


# --- automation -------------------------------------------------------------------------------


def test_leads_are_an_automation_subject(workspace, admin, seller, lead):
    spec = subject_type("lead")
    assert spec.module == "leads" and spec.task_link == "lead"
    names = {f.name for f in spec.fields}
    assert {"country", "state", "source", "utm_campaign", "company_size", "status"} <= names
    assert {"score", "owner", "team", "job_title", "industry", "email"} <= names
    assert not spec.get_field("status").settable
    assert spec.email_of(lead) == "maria@padaria.com.br"
    assert spec.url(lead) == f"/leads/{lead.pk}/"

    spec.update(workspace=workspace, actor=None, obj=lead, data={"industry": "Food"})
    assert Lead.objects.get(pk=lead.pk).industry == "Food"
    team = Team.objects.create(workspace=workspace, name="South")
    spec.assign(workspace=workspace, actor=None, obj=lead, owner=seller, team=team, reason="rr")
    lead.refresh_from_db()
    assert (lead.owner_id, lead.team_id) == (seller.pk, team.pk)
    assert spec.open_counts(workspace=workspace, user_ids=[seller.pk, admin.pk]) == {
        seller.pk: 1,
        admin.pk: 0,
    }
    triggers = {t.event_type: t.subject_type for t in registered_triggers()}
    for event_type in (
        "lead.created",
        "lead.updated",
        "lead.assigned",
        "lead.status_changed",
        "lead.converted",
        "webform.submitted",
    ):
        assert triggers[event_type] == "lead", event_type


# --- the first contact ------------------------------------------------------------------------


def test_an_interaction_on_a_lead_is_its_first_contact(
    workspace, admin, lead, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        call = interaction_create(
            workspace=workspace, actor=admin, channel="phone", lead_id=lead.pk
        )

    lead.refresh_from_db()
    assert lead.status == LeadStatus.WORKING
    assert lead.first_contacted_at is not None
    assert lead.last_activity_at == call.occurred_at
    # Delivered again (a retry), nothing more happens.
    event = Event.objects.get(type="interaction.logged", subject_id=call.pk)
    Event.objects.filter(pk=event.pk).update(dispatched_at=None)
    deliver_event(Event.objects.get(pk=event.pk))
    assert Event.objects.filter(type="lead.status_changed", subject_id=lead.pk).count() == 1


def test_an_interaction_on_a_contact_leaves_leads_alone(
    workspace, admin, lead, django_capture_on_commit_callbacks
):
    contact = contact_create(workspace=workspace, actor=admin, data={"first_name": "X"})
    with django_capture_on_commit_callbacks(execute=True):
        interaction_create(workspace=workspace, actor=admin, channel="phone", contact_id=contact.pk)
    lead.refresh_from_db()
    assert lead.status == LeadStatus.NEW and lead.first_contacted_at is None


def test_mark_contacted_on_status_working_is_the_same_moment(workspace, admin, lead):
    services.lead_set_status(workspace=workspace, actor=admin, lead_id=lead.pk, status="working")
    lead.refresh_from_db()
    assert lead.first_contacted_at is not None


def test_rows_match_by_external_id_when_the_file_has_one(workspace, tmp_path, capsys):
    first = tmp_path / "crm.csv"
    first.write_text("External id,Name,Email\nX-1,Ana Lima,ana@old.com.br\n", encoding="utf-8")
    assert main(["import", "lead", str(first), "--workspace", "acme"]) == 0
    moved = tmp_path / "crm2.csv"
    moved.write_text("External id,Name,Email\nX-1,Ana Lima,ana@new.com.br\n", encoding="utf-8")

    assert (
        main(["import", "lead", str(moved), "--workspace", "acme", "--on-match", "overwrite"]) == 0
    )

    assert "created 0, updated 1" in capsys.readouterr().out
    lead = Lead.objects.get(external_id="X-1")
    assert lead.email == "ana@new.com.br" and Lead.objects.count() == 1
