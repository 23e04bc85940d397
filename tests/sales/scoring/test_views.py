"""The scoring pages: the rules page, the rule form with its condition rows (422 with the
message beside the row), the half-life, recompute with progress, train, and the lead's score
panel — with leak tests and query guards."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from vinculo.core.models import User
from vinculo.core.roles import Role
from vinculo.sales.common import sales_settings_for
from vinculo.sales.models import Lead, ScoringRule
from vinculo.sales.scoring import services

BRAZIL = {"all": [{"field": "country", "op": "eq", "value": "BR"}]}
PASSWORD = "correct horse battery"


@pytest.fixture
def browser_client(client: Client, admin: User) -> Client:
    admin.set_password(PASSWORD)
    admin.save()
    client.force_login(admin)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def _login(client: Client, user: User) -> Client:
    client.force_login(user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def test_rules_page_lists_both_kinds(browser_client, rule_factory):
    rule_factory(name="Country is Brazil", points=10, conditions=BRAZIL)
    rule_factory(
        name="Free webmail",
        points=-5,
        conditions={"all": [{"field": "email", "op": "contains", "value": "gmail"}]},
    )
    rule_factory(name="Form submitted", kind="engagement", event_type="webform.submitted", points=8)
    r = browser_client.get(reverse("sales:scoring_rules"))
    assert r.status_code == 200
    html = r.content.decode()
    assert "Country is Brazil" in html and "Form submitted" in html
    assert "Country is BR" in html  # the conditions, read out
    assert "−5" in html
    assert "A web form is submitted" in html  # the event's label
    assert "No predictions yet" in html
    assert "Recompute now" in html and "Train now" in html


def test_rules_page_empty_states(browser_client):
    html = browser_client.get(reverse("sales:scoring_rules")).content.decode()
    assert "No fit rules yet" in html and "No engagement rules yet" in html


def test_rules_page_does_not_leak_other_workspaces(browser_client, rule_factory, other_workspace):
    rule_factory(ws=other_workspace, name="Their secret rule", conditions=BRAZIL)
    assert (
        "Their secret rule"
        not in browser_client.get(reverse("sales:scoring_rules")).content.decode()
    )


def test_rules_page_queries_do_not_grow(
    browser_client, workspace, rule_factory, django_assert_max_num_queries
):
    sales_settings_for(workspace)
    for i in range(40):
        rule_factory(name=f"Fit {i}", conditions=BRAZIL)
        rule_factory(name=f"Eng {i}", kind="engagement", event_type="webform.submitted")
    with django_assert_max_num_queries(12):
        assert browser_client.get(reverse("sales:scoring_rules")).status_code == 200


def test_create_a_fit_rule_through_the_form(
    browser_client, lead_factory, django_capture_on_commit_callbacks
):
    lead = lead_factory(country="BR", company_size="201-1000")
    url = reverse("sales:scoring_rule_new") + "?kind=fit"
    assert b"Add a condition" in browser_client.get(url).content
    with django_capture_on_commit_callbacks(execute=True):
        r = browser_client.post(
            url,
            {
                "kind": "fit",
                "name": "Big Brazilian",
                "points": "12",
                "is_active": "on",
                "match": "all",
                "cond_field": ["country", "company_size", ""],
                "cond_op": ["eq", "in", "eq"],
                "cond_value": ["BR", "201–1,000 employees, 1001+", ""],
            },
        )
    assert r.status_code == 302
    rule = ScoringRule.objects.get()
    assert rule.conditions == {
        "all": [
            {"field": "country", "op": "eq", "value": "BR"},
            # A choice is taken by its label as well as by its code.
            {"field": "company_size", "op": "in", "value": ["201-1000", "1001+"]},
        ]
    }
    assert Lead.objects.get(pk=lead.pk).score == 12


def test_form_errors_come_back_beside_their_fields(browser_client):
    url = reverse("sales:scoring_rule_new") + "?kind=fit"
    r = browser_client.post(
        url,
        {
            "kind": "fit",
            "name": "",
            "points": "0",
            "match": "all",
            "cond_field": ["country", "company_size"],
            "cond_op": ["gt", "eq"],
            "cond_value": ["BR", "Huge"],
        },
    )
    assert r.status_code == 422
    html = r.content.decode()
    assert "Give the rule a name." in html
    assert "Enter a whole number of points other than zero." in html
    assert "This comparison does not apply to this field." in html
    assert "Choose among: 1–10 employees, 11–50 employees" in html
    # What was typed stays.
    assert 'value="Huge"' in html
    assert not ScoringRule.objects.exists()


def test_a_fit_rule_needs_a_condition(browser_client):
    r = browser_client.post(
        reverse("sales:scoring_rule_new"),
        {
            "kind": "fit",
            "name": "x",
            "points": "3",
            "match": "all",
            "cond_field": [""],
            "cond_op": ["eq"],
            "cond_value": [""],
        },
    )
    assert r.status_code == 422
    assert "Add at least one condition." in r.content.decode()


def test_add_row_without_script(browser_client):
    r = browser_client.post(
        reverse("sales:scoring_rule_new"),
        {
            "kind": "fit",
            "name": "x",
            "points": "3",
            "match": "any",
            "cond_field": ["country"],
            "cond_op": ["eq"],
            "cond_value": ["BR"],
            "add_row": "1",
        },
    )
    assert r.status_code == 200
    assert r.content.decode().count("data-condition-row>") == 3  # two rows + the template
    assert not ScoringRule.objects.exists()


def test_engagement_rule_through_the_form(browser_client):
    url = reverse("sales:scoring_rule_new") + "?kind=engagement"
    html = browser_client.get(url).content.decode()
    assert 'value="webform.submitted"' in html
    r = browser_client.post(
        url,
        {
            "kind": "engagement",
            "name": "Form submitted",
            "points": "8",
            "event_type": "",
            "is_active": "on",
            "match": "all",
        },
    )
    assert r.status_code == 422
    assert "Choose the event that earns the points." in r.content.decode()
    r = browser_client.post(
        url,
        {
            "kind": "engagement",
            "name": "Form submitted",
            "points": "8",
            "event_type": "webform.submitted",
            "is_active": "on",
            "match": "all",
        },
    )
    assert r.status_code == 302
    rule = ScoringRule.objects.get()
    assert (rule.kind, rule.event_type, rule.conditions) == ("engagement", "webform.submitted", {})


def test_edit_and_delete(browser_client, rule_factory):
    rule = rule_factory(name="BR", conditions=BRAZIL)
    url = reverse("sales:scoring_rule_edit", args=[rule.pk])
    html = browser_client.get(url).content.decode()
    assert 'value="BR"' in html
    r = browser_client.post(
        url,
        {
            "name": "Brasil",
            "points": "-3",
            "match": "all",
            "cond_field": ["country"],
            "cond_op": ["ne"],
            "cond_value": ["AR"],
        },
    )
    assert r.status_code == 302
    rule.refresh_from_db()
    assert (rule.name, rule.points, rule.is_active) == ("Brasil", -3, False)
    assert rule.conditions == {"all": [{"field": "country", "op": "ne", "value": "AR"}]}
    r = browser_client.post(reverse("sales:scoring_rule_delete", args=[rule.pk]))
    assert r.status_code == 302
    rule.refresh_from_db()
    assert rule.deleted_at is not None
    assert browser_client.get(url).status_code == 404


def test_nested_conditions_are_kept_when_editing(browser_client, rule_factory):
    nested = {"any": [BRAZIL, {"all": [{"field": "country", "op": "eq", "value": "PT"}]}]}
    rule = rule_factory(name="Lusophone", conditions=nested)
    url = reverse("sales:scoring_rule_edit", args=[rule.pk])
    assert "edit them there" in browser_client.get(url).content.decode()
    r = browser_client.post(url, {"name": "Lusophone", "points": "20", "is_active": "on"})
    assert r.status_code == 302
    rule.refresh_from_db()
    assert (rule.points, rule.conditions) == (20, nested)


def test_rules_of_another_workspace_answer_404(browser_client, rule_factory, other_workspace):
    theirs = rule_factory(ws=other_workspace, conditions=BRAZIL)
    assert (
        browser_client.get(reverse("sales:scoring_rule_edit", args=[theirs.pk])).status_code == 404
    )
    assert (
        browser_client.post(reverse("sales:scoring_rule_delete", args=[theirs.pk])).status_code
        == 404
    )
    assert ScoringRule.all_tenants.get(pk=theirs.pk).deleted_at is None


def test_sales_reps_see_the_rules_but_not_the_buttons(client, workspace, make_member, rule_factory):
    rule = rule_factory(name="BR", conditions=BRAZIL)
    _login(client, make_member("rep@acme.test", Role.SALES))
    html = client.get(reverse("sales:scoring_rules")).content.decode()
    assert "BR" in html and "Recompute now" not in html and "Add a fit rule" not in html
    assert client.get(reverse("sales:scoring_rule_new")).status_code == 403
    assert client.post(reverse("sales:scoring_rule_delete", args=[rule.pk])).status_code == 403
    assert client.post(reverse("sales:scoring_recompute")).status_code == 403


def test_half_life(browser_client, workspace):
    r = browser_client.post(reverse("sales:scoring_settings"), {"score_half_life_days": "abc"})
    assert r.status_code == 422
    assert "Enter a whole number of days between 1 and 3650." in r.content.decode()
    r = browser_client.post(reverse("sales:scoring_settings"), {"score_half_life_days": "45"})
    assert r.status_code == 302
    assert sales_settings_for(workspace).score_half_life_days == 45


def test_recompute_with_progress(browser_client, lead_factory, rule_factory):
    rule_factory(name="BR", points=7, conditions=BRAZIL)
    leads = [lead_factory(country="BR") for _ in range(3)]
    r = browser_client.post(reverse("sales:scoring_recompute"), HTTP_HX_REQUEST="true")
    assert r.status_code == 200
    html = r.content.decode()
    # The immediate backend of the tests has finished already.
    assert "Done: 3 leads rescored." in html
    assert 'hx-trigger="every 1s"' not in html
    assert {Lead.objects.get(pk=lead.pk).score for lead in leads} == {7}
    r = browser_client.post(reverse("sales:scoring_recompute"))
    assert r.status_code == 302 and "since=" in r["Location"]
    assert "Done: 3 leads rescored." in browser_client.get(r["Location"]).content.decode()


def test_progress_while_running(browser_client, lead_factory):
    import datetime as dt

    from django.utils import timezone
    from django.utils.http import urlencode

    lead_factory()
    since = timezone.now() + dt.timedelta(minutes=1)
    url = reverse("sales:scoring_progress") + "?" + urlencode({"since": since.isoformat()})
    html = browser_client.get(url).content.decode()
    assert "Recomputing scores: 0 of 1 leads" in html
    assert 'hx-trigger="every 1s"' in html
    assert (
        browser_client.get(reverse("sales:scoring_progress") + "?since=yesterday").status_code
        == 400
    )


def test_train_now(browser_client, lead_factory, close_lead):
    for _ in range(20):
        close_lead(lead_factory(source="Indicação"), "won")
        close_lead(lead_factory(source="Anúncio"), "lost")
    r = browser_client.post(reverse("sales:scoring_train"), follow=True)
    html = r.content.decode()
    assert "Training started." in html
    assert "Whole workspace" in html and "20 won and 20 lost leads" in html
    assert "100% right on" in html


# ---------------------------------------------------------------------------------------------
# The lead's score panel


@pytest.fixture
def scored_lead(workspace, lead_factory, rule_factory, close_lead):
    rule_factory(name="Country is Brazil", points=10, conditions=BRAZIL)
    form = rule_factory(
        name="Form submitted", kind="engagement", event_type="webform.submitted", points=8
    )
    for _ in range(20):
        close_lead(lead_factory(source="Indicação"), "won")
        close_lead(lead_factory(source="Anúncio"), "lost")
    lead = lead_factory(country="BR", source="Indicação")
    from vinculo.sales.models import LeadEngagement

    LeadEngagement.objects.create(workspace=workspace, lead=lead, rule=form, points=8)
    services.lead_scoring_retrain(workspace=workspace)
    return Lead.objects.get(pk=lead.pk)


def test_score_panel(browser_client, scored_lead):
    r = browser_client.get(
        reverse("sales:lead_score", args=[scored_lead.pk]), HTTP_HX_REQUEST="true"
    )
    assert r.status_code == 200
    html = r.content.decode()
    assert "<html" not in html  # the panel alone, for the lead page's slot
    assert ">18<" in html  # 10 + 8
    assert "Country is Brazil" in html and "+10" in html
    assert "Form submitted" in html and "(1×)" in html
    assert f">{scored_lead.predicted_score}%<" in html
    assert "Source: Indicação — raises the chance" in html
    assert "learnt from 20 won and 20 lost leads" in html
    # As a page of its own it has the app around it.
    assert (
        b"<html" in browser_client.get(reverse("sales:lead_score", args=[scored_lead.pk])).content
    )


def test_score_panel_without_prediction(browser_client, lead_factory):
    lead = lead_factory()
    html = browser_client.get(
        reverse("sales:lead_score", args=[lead.pk]), HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "No prediction yet" in html
    assert "at least 30 won and lost leads" in html
    assert "No scoring rule gives this lead points yet." in html


def test_score_panel_in_portuguese(browser_client, scored_lead):
    browser_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "pt-br"
    html = browser_client.get(
        reverse("sales:lead_score", args=[scored_lead.pk]), HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "Origem: Indicação" in html


def test_score_panel_leaks_nothing(
    browser_client, lead_factory, other_workspace, client, workspace, make_member, admin
):
    foreign = lead_factory(ws=other_workspace)
    assert browser_client.get(reverse("sales:lead_score", args=[foreign.pk])).status_code == 404
    theirs = lead_factory(owner=admin)
    rep_client = Client()
    _login(rep_client, make_member("rep@acme.test", Role.SALES))
    assert rep_client.get(reverse("sales:lead_score", args=[theirs.pk])).status_code == 404


def test_score_panel_queries(browser_client, scored_lead, django_assert_max_num_queries):
    # Session, user, membership (2), the lead, the models, the session's save (3).
    with django_assert_max_num_queries(9):
        r = browser_client.get(
            reverse("sales:lead_score", args=[scored_lead.pk]), HTTP_HX_REQUEST="true"
        )
    assert r.status_code == 200
