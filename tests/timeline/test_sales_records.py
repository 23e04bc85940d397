"""The timeline of leads and deals: items linked to them, their merged timeline (own items and
events), the panel and its quick actions, the events in words, the API, record access through
the leads and deals module rights, tenancy and query counts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from vinculo.core.exceptions import NotFound, ValidationFailed
from vinculo.core.models import Event, Team
from vinculo.core.roles import Role
from vinculo.marketing.models import WebForm
from vinculo.sales.deals.services import deal_create, deal_move, pipeline_default
from vinculo.sales.leads import services as leads
from vinculo.sales.models import Deal, Lead, Stage
from vinculo.timeline import selectors, services
from vinculo.timeline.models import Interaction, Note, Task

HTMX = {"HTTP_HX_REQUEST": "true"}
# As the contact panel's budget (test_views_panel): session, user, workspace, membership, the
# record twice, one query per kind, and the names behind the events (users, teams, forms).
PANEL_BUDGET = 16


@pytest.fixture
def lead(workspace) -> Lead:
    return leads.lead_create(
        workspace=workspace,
        actor=None,
        data={"first_name": "Lia", "email": "lia@example.com", "company_name": "Lia Doces"},
        source_channel="webform",
    )


@pytest.fixture
def deal(workspace, admin) -> Deal:
    pipeline_default(workspace)
    return deal_create(
        workspace=workspace, actor=admin, data={"name": "Ovens", "owner_id": admin.pk}
    )


@pytest.fixture
def browser(client: Client, admin) -> Client:
    admin.language = "en"
    admin.save(update_fields=["language"])
    client.force_login(admin)
    return client


def login(client: Client, user) -> Client:
    user.language = "en"
    user.save(update_fields=["language"])
    client.force_login(user)
    return client


# --- items linked to leads and deals ----------------------------------------------------------


def test_items_link_to_a_lead_or_a_deal(workspace, admin, lead, deal):
    call = services.interaction_create(
        workspace=workspace, actor=admin, channel="phone", lead_id=lead.pk
    )
    task = services.task_create(workspace=workspace, actor=admin, title="Quote", deal_id=deal.pk)
    note = services.note_create(workspace=workspace, actor=admin, body="Hot", lead_id=lead.pk)

    assert (call.lead_id, task.deal_id, note.lead_id) == (lead.pk, deal.pk, lead.pk)
    logged = Event.objects.get(type="interaction.logged", subject_id=call.pk)
    assert logged.payload["lead_id"] == lead.pk and logged.payload["contact_id"] is None
    assert Event.objects.get(type="task.created", subject_id=task.pk).payload["deal_id"] == deal.pk


def test_an_item_needs_some_record_and_links_are_checked(workspace, admin, other_workspace, lead):
    with pytest.raises(ValidationFailed) as exc:
        services.note_create(workspace=workspace, actor=admin, body="x")
    assert {e.field: e.code for e in exc.value.errors} == {"contact_id": "link-required"}

    foreign = leads.lead_create(
        workspace=other_workspace, actor=None, data={"email": "f@f.com"}, source_channel="api"
    )
    with pytest.raises(ValidationFailed) as exc:
        services.interaction_create(
            workspace=workspace, actor=admin, channel="phone", lead_id=foreign.pk, deal_id=10**9
        )
    assert {e.field: e.code for e in exc.value.errors} == {
        "lead_id": "not-found",
        "deal_id": "not-found",
    }


def test_lists_filter_by_lead_and_deal(workspace, admin, lead, deal):
    services.interaction_create(workspace=workspace, actor=admin, channel="phone", lead_id=lead.pk)
    services.interaction_create(workspace=workspace, actor=admin, channel="email", deal_id=deal.pk)

    by_lead = selectors.interaction_list(
        workspace=workspace, viewer=admin, filters=selectors.InteractionFilters(lead_id=lead.pk)
    )
    by_deal = selectors.interaction_list(
        workspace=workspace, viewer=admin, filters=selectors.InteractionFilters(deal_id=deal.pk)
    )
    assert [i.channel for i in by_lead.items] == ["phone"]
    assert [i.channel for i in by_deal.items] == ["email"]


def test_activity_rollup_moves_the_leads_last_activity(
    workspace, admin, lead, deal, django_capture_on_commit_callbacks
):
    when = timezone.now() - dt.timedelta(hours=3)
    with django_capture_on_commit_callbacks(execute=True):
        services.interaction_create(
            workspace=workspace,
            actor=admin,
            channel="meeting",
            lead_id=lead.pk,
            deal_id=deal.pk,
            occurred_at=when,
        )
    assert Lead.objects.get(pk=lead.pk).last_activity_at == when


# --- record access ----------------------------------------------------------------------------


def test_items_follow_the_access_to_their_lead_or_deal(
    workspace, admin, make_member, lead_factory_for_access
):
    seller = make_member("s1@acme.test", Role.SALES)
    other = make_member("s2@acme.test", Role.SALES)
    service = make_member("svc@acme.test", Role.SERVICE)
    theirs = lead_factory_for_access(owner_id=other.pk)
    mine = lead_factory_for_access(owner_id=seller.pk)
    hidden = services.note_create(workspace=workspace, actor=admin, body="x", lead_id=theirs.pk)
    shown = services.note_create(workspace=workspace, actor=admin, body="y", lead_id=mine.pk)

    assert [n.pk for n in selectors.note_list(workspace=workspace, viewer=seller).items] == [
        shown.pk
    ]
    with pytest.raises(NotFound):
        selectors.note_get(workspace=workspace, viewer=seller, note_id=hidden.pk)
    # The service role has no right on leads at all.
    assert selectors.note_list(workspace=workspace, viewer=service).items == []
    with pytest.raises(NotFound):
        selectors.record_timeline(workspace=workspace, viewer=seller, lead=theirs.pk)


@pytest.fixture
def lead_factory_for_access(workspace):
    def make(**data):
        data.setdefault("email", f"p{Lead.objects.count()}@example.com")
        return leads.lead_create(workspace=workspace, actor=None, data=data, source_channel="api")

    return make


# --- the merged timeline ----------------------------------------------------------------------


def test_a_leads_timeline_holds_its_items_and_its_events(workspace, admin, lead):
    form = WebForm.objects.create(workspace=workspace, name="Contact us", public_key="abc")
    Event.objects.create(
        workspace=workspace,
        type="webform.submitted",
        subject_type="lead",
        subject_id=lead.pk,
        payload={"form_id": form.pk, "utm": {"utm_source": "google"}},
    )
    leads.lead_assign(workspace=workspace, actor=admin, lead_id=lead.pk, owner_id=admin.pk)
    services.note_create(workspace=workspace, actor=admin, body="Hot", lead_id=lead.pk)

    page = selectors.record_timeline(workspace=workspace, viewer=admin, lead=lead.pk)

    kinds = sorted((e.kind, getattr(e.obj, "type", "")) for e in page.items)
    assert kinds == [
        ("event", "lead.assigned"),
        ("event", "lead.created"),
        ("event", "webform.submitted"),
        ("note", ""),
    ]
    # The note's own event is not repeated: the note is there.
    assert not any(getattr(e.obj, "type", "") == "note.added" for e in page.items)


def test_a_deals_timeline_holds_its_items_and_its_events(workspace, admin, deal):
    services.task_create(workspace=workspace, actor=admin, title="Send quote", deal_id=deal.pk)
    page = selectors.record_timeline(workspace=workspace, viewer=admin, deal=deal)
    assert sorted(e.kind for e in page.items) == ["event", "task"]


# --- the events in words ----------------------------------------------------------------------


def test_lead_and_deal_events_in_words(workspace, admin, make_member, lead, deal):
    seller = make_member("ana@acme.test", Role.SALES)
    seller.full_name = "Ana Lima"
    seller.save(update_fields=["full_name"])
    team = Team.objects.create(workspace=workspace, name="South")
    leads.lead_assign(
        workspace=workspace,
        actor=admin,
        lead_id=lead.pk,
        owner_id=seller.pk,
        team_id=team.pk,
        reason="round robin",
    )
    leads.lead_set_status(
        workspace=workspace, actor=admin, lead_id=lead.pk, status="disqualified", reason="Spam"
    )
    stages = list(
        Stage.objects.filter(pipeline_id=deal.pipeline_id)
        .order_by("position")
        .values_list("pk", "name")
    )
    deal_move(workspace=workspace, actor=admin, deal_id=deal.pk, stage_id=stages[1][0])
    events = list(Event.objects.filter(subject_type__in=["lead", "deal"]))

    words = selectors.timeline_event_words(workspace=workspace, viewer=admin, events=events)

    by_type = {e.type: words[e.pk] for e in events}
    assigned = by_type["lead.assigned"]
    assert assigned.detail == "Ana Lima · South" and assigned.reason == "round robin"
    assert assigned.lines == []
    status = by_type["lead.status_changed"]
    assert (status.action, status.detail, status.reason) == (
        "status_changed",
        "Disqualified",
        "Spam",
    )
    created = by_type["lead.created"]
    assert created.detail == "from a web form"
    moved = by_type["deal.stage_changed"]
    assert (moved.detail_from, moved.detail) == (stages[0][1], stages[1][1])


def test_the_panel_of_a_lead_says_what_happened(browser, workspace, admin, lead):
    leads.lead_assign(workspace=workspace, actor=admin, lead_id=lead.pk, owner_id=admin.pk)
    leads.lead_set_status(workspace=workspace, actor=admin, lead_id=lead.pk, status="qualified")
    leads.lead_update(
        workspace=workspace, actor=admin, lead_id=lead.pk, data={"company_name": "Lia & Co"}
    )

    r = browser.get(f"/records/lead/{lead.pk}/timeline")

    assert r.status_code == 200
    page = r.content.decode()
    name = admin.display_name
    assert f"{name} assigned the lead to {name}" in page
    assert f"{name} moved the lead to Qualified" in page
    assert f"{name} changed company:" in page and "Lia &amp; Co" in page
    assert "System created the lead (from a web form)" in page
    assert f'href="/leads/{lead.pk}/"' in page


def test_the_panel_of_a_deal(browser, workspace, admin, deal):
    services.note_create(workspace=workspace, actor=admin, body="Budget approved", deal_id=deal.pk)
    r = browser.get(f"/records/deal/{deal.pk}/timeline")
    assert r.status_code == 200
    page = r.content.decode()
    assert "Budget approved" in page and f"{admin.display_name} created the deal" in page


def test_log_a_call_on_a_lead_from_its_panel(browser, workspace, lead):
    form = browser.get(f"/records/lead/{lead.pk}/timeline/call", **HTMX)
    assert form.status_code == 200
    r = browser.post(
        f"/records/lead/{lead.pk}/timeline/call",
        {"direction": "outbound", "occurred_at": "2025-03-10T10:00", "outcome": "Connected"},
        **HTMX,
    )
    assert r.status_code == 200, r.content
    call = Interaction.objects.get()
    assert (call.lead_id, call.contact_id, call.outcome) == (lead.pk, None, "Connected")
    for action in ("note", "task"):
        assert browser.get(f"/records/deal/999999/timeline/{action}", **HTMX).status_code == 404


def test_panel_queries_do_not_grow(browser, workspace, admin, lead, django_assert_max_num_queries):
    for i in range(12):
        services.note_create(workspace=workspace, actor=admin, body=f"n{i}", lead_id=lead.pk)
        services.task_create(workspace=workspace, actor=admin, title=f"t{i}", lead_id=lead.pk)
        leads.lead_update(
            workspace=workspace, actor=admin, lead_id=lead.pk, data={"job_title": f"J{i}"}
        )
    browser.get(f"/records/lead/{lead.pk}/timeline")
    with django_assert_max_num_queries(PANEL_BUDGET):
        r = browser.get(f"/records/lead/{lead.pk}/timeline")
    assert r.status_code == 200


# --- API and tenancy --------------------------------------------------------------------------


def test_timeline_api_of_leads_and_deals(api, workspace, admin, lead, deal):
    services.note_create(workspace=workspace, actor=admin, body="Hot", lead_id=lead.pk)
    r = api.post("/api/v1/tasks", {"title": "Call back", "deal_id": deal.pk})
    assert r.status_code == 201 and r.json()["deal"] == {"id": deal.pk, "name": "Ovens"}

    items = api.get(f"/api/v1/leads/{lead.pk}/timeline").json()["items"]
    assert {i["kind"] for i in items} == {"note", "event"}
    note = next(i for i in items if i["kind"] == "note")
    assert note["lead"] == {"id": lead.pk, "name": "Lia"}
    assert {i["kind"] for i in api.get(f"/api/v1/deals/{deal.pk}/timeline").json()["items"]} == {
        "task",
        "event",
    }
    assert len(api.get("/api/v1/notes", lead_id=str(lead.pk)).json()["items"]) == 1


def test_another_workspace_cannot_read_a_leads_or_deals_timeline(
    api, other_key, client, other_admin, workspace, admin, lead, deal
):
    note = services.note_create(workspace=workspace, actor=admin, body="secret", lead_id=lead.pk)
    assert api.get(f"/api/v1/leads/{lead.pk}/timeline", key=other_key).status_code == 404
    assert api.get(f"/api/v1/deals/{deal.pk}/timeline", key=other_key).status_code == 404
    assert api.get(f"/api/v1/notes/{note.pk}", key=other_key).status_code == 404
    r = api.post("/api/v1/notes", {"body": "x", "lead_id": lead.pk}, key=other_key)
    assert r.status_code == 422
    login(client, other_admin)
    assert client.get(f"/records/deal/{deal.pk}/timeline").status_code == 404
    assert not Note.objects.filter(body="x").exists()
    assert not Task.objects.exists()
