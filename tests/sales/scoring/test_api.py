"""The scoring API: rules CRUD, a lead's score, the models, the half-life, and starting a
recompute or a training run. Every list and detail has a leak test and a query guard."""

from __future__ import annotations

import pytest
from django.utils import translation

from tests.conftest import ApiClient
from vinculo.analytics.models import LeadScoringModel
from vinculo.core.roles import Role
from vinculo.core.services import apikey_create
from vinculo.sales.models import Lead, ScoringRule
from vinculo.sales.scoring import services

from .conftest import problem_fields

BRAZIL = {"all": [{"field": "country", "op": "eq", "value": "BR"}]}


@pytest.fixture
def rep_key(workspace, make_member) -> str:
    rep = make_member("rep@acme.test", Role.SALES)
    return apikey_create(workspace=workspace, user=rep, name="rep")[1]


def test_create_read_update_delete(api: ApiClient, django_capture_on_commit_callbacks):
    body = {"name": "Country is Brazil", "kind": "fit", "points": 10, "conditions": BRAZIL}
    r = api.post("/api/v1/scoring/rules", body)
    assert r.status_code == 201, r.content
    rule = r.json()
    assert {k: rule[k] for k in ("name", "kind", "points", "event_type", "is_active")} == {
        "name": "Country is Brazil",
        "kind": "fit",
        "points": 10,
        "event_type": "",
        "is_active": True,
    }
    assert rule["conditions"] == BRAZIL
    url = f"/api/v1/scoring/rules/{rule['id']}"
    assert api.get(url).json()["name"] == "Country is Brazil"
    r = api.patch(url, {"points": -4, "is_active": False})
    assert r.status_code == 200 and (r.json()["points"], r.json()["is_active"]) == (-4, False)
    assert api.delete(url).status_code == 204
    assert api.get(url).status_code == 404
    assert ScoringRule.objects.get(pk=rule["id"]).deleted_at is not None


def test_engagement_rule(api: ApiClient):
    r = api.post(
        "/api/v1/scoring/rules",
        {
            "name": "Form submitted",
            "kind": "engagement",
            "event_type": "webform.submitted",
            "points": 8,
        },
    )
    assert r.status_code == 201
    assert (r.json()["event_type"], r.json()["conditions"]) == ("webform.submitted", {})


def test_bad_input_names_each_field(api: ApiClient):
    r = api.post(
        "/api/v1/scoring/rules",
        {"kind": "engagement", "points": 0, "conditions": {"all": [{"field": "nope", "op": "eq"}]}},
    )
    assert r.status_code == 422
    assert r["Content-Type"].startswith("application/problem+json")
    assert problem_fields(r) == {
        "name": "required",
        "points": "invalid",
        "event_type": "required",
        "conditions.all[0].field": "unknown-field",
    }
    r = api.patch("/api/v1/scoring/rules/999999", {"points": 3})
    assert r.status_code == 404
    assert not ScoringRule.objects.exists()


def test_list_filters_orders_and_pages(api: ApiClient, rule_factory):
    small = rule_factory(points=2, conditions=BRAZIL)
    big = rule_factory(points=30, conditions=BRAZIL)
    form = rule_factory(kind="engagement", event_type="webform.submitted", points=8)
    rule_factory(points=5, conditions=BRAZIL, deleted_at="2026-01-01T00:00:00Z")
    r = api.get("/api/v1/scoring/rules")
    assert [i["id"] for i in r.json()["items"]] == [small.pk, big.pk, form.pk]
    r = api.get("/api/v1/scoring/rules", kind="fit", order="points")
    assert [i["id"] for i in r.json()["items"]] == [big.pk, small.pk]
    first = api.get("/api/v1/scoring/rules", limit=2).json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    second = api.get("/api/v1/scoring/rules", limit=2, cursor=first["next_cursor"]).json()
    assert [i["id"] for i in second["items"]] == [form.pk] and second["next_cursor"] is None
    assert api.get("/api/v1/scoring/rules", kind="magic").status_code == 422


def test_rules_of_another_workspace_do_not_leak(
    api: ApiClient, rule_factory, other_workspace, other_key
):
    mine = rule_factory(conditions=BRAZIL)
    theirs = rule_factory(ws=other_workspace, conditions=BRAZIL)
    assert [i["id"] for i in api.get("/api/v1/scoring/rules").json()["items"]] == [mine.pk]
    for method in ("get", "delete"):
        r = getattr(api, method)(f"/api/v1/scoring/rules/{theirs.pk}")
        assert r.status_code == 404
        assert r.json()["type"].endswith("/not-found")
    assert api.patch(f"/api/v1/scoring/rules/{theirs.pk}", {"points": 1}).status_code == 404
    assert ScoringRule.all_tenants.get(pk=theirs.pk).deleted_at is None
    assert [i["id"] for i in api.get("/api/v1/scoring/rules", key=other_key).json()["items"]] == [
        theirs.pk
    ]


def test_rule_list_queries_do_not_grow(api: ApiClient, rule_factory, django_assert_max_num_queries):
    for i in range(60):
        rule_factory(name=f"R{i}", points=i + 1, conditions=BRAZIL)
    with django_assert_max_num_queries(4):
        assert len(api.get("/api/v1/scoring/rules", limit=50).json()["items"]) == 50


def test_rule_detail_queries(api: ApiClient, rule_factory, django_assert_max_num_queries):
    rule = rule_factory(conditions=BRAZIL)
    with django_assert_max_num_queries(4):
        assert api.get(f"/api/v1/scoring/rules/{rule.pk}").status_code == 200


def test_sales_reps_read_rules_but_cannot_write(api: ApiClient, rep_key, rule_factory):
    rule = rule_factory(conditions=BRAZIL)
    assert api.get("/api/v1/scoring/rules", key=rep_key).json()["items"][0]["id"] == rule.pk
    r = api.post(
        "/api/v1/scoring/rules",
        {"name": "x", "kind": "fit", "points": 1, "conditions": BRAZIL},
        key=rep_key,
    )
    assert r.status_code == 403
    assert api.post("/api/v1/scoring/train", key=rep_key).status_code == 403
    assert api.post("/api/v1/scoring/recompute", key=rep_key).status_code == 403
    assert (
        api.patch("/api/v1/scoring/settings", {"score_half_life_days": 3}, key=rep_key).status_code
        == 403
    )


# ---------------------------------------------------------------------------------------------
# A lead's score


@pytest.fixture
def scored_lead(workspace, lead_factory, rule_factory, close_lead):
    rule_factory(name="Country is Brazil", points=10, conditions=BRAZIL)
    for _ in range(20):
        close_lead(lead_factory(source="Indicação"), "won")
        close_lead(lead_factory(source="Anúncio"), "lost")
    lead = lead_factory(country="BR", source="Indicação")
    services.lead_scoring_retrain(workspace=workspace)
    return Lead.objects.get(pk=lead.pk)


def test_lead_score(api: ApiClient, scored_lead):
    r = api.get(f"/api/v1/leads/{scored_lead.pk}/score")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["lead_id"] == scored_lead.pk
    assert body["score"] == 10
    assert body["reasons"] == [
        {
            "kind": "fit",
            "rule_id": body["reasons"][0]["rule_id"],
            "label": "Country is Brazil",
            "points": 10,
            "count": None,
            "text": "Country is Brazil +10",
        }
    ]
    assert body["predicted"] >= 90
    assert body["factors"][0]["feature"] == "source"
    assert body["factors"][0]["effect"] == "raises"
    assert body["factors"][0]["text"] == "Source: Indicação — raises the chance"
    model = LeadScoringModel.objects.get(is_current=True)
    assert body["model"]["id"] == model.pk
    assert (body["model"]["won_count"], body["model"]["lost_count"]) == (20, 20)


def test_lead_score_in_portuguese(api: ApiClient, scored_lead, client):
    with translation.override("pt-br"):
        if translation.gettext("raises the chance") == "raises the chance":
            pytest.skip("the pt-BR strings of scoring are not in the sales catalogue yet")
    r = client.get(
        f"/api/v1/leads/{scored_lead.pk}/score",
        HTTP_AUTHORIZATION=f"Bearer {api.key}",
        HTTP_ACCEPT_LANGUAGE="pt-br",
    )
    assert r.json()["factors"][0]["text"] == "Origem: Indicação — aumenta a chance"


def test_lead_score_of_another_workspace_is_not_found(
    api: ApiClient, other_workspace, lead_factory
):
    foreign = lead_factory(ws=other_workspace)
    r = api.get(f"/api/v1/leads/{foreign.pk}/score")
    assert r.status_code == 404
    assert r.json()["type"].endswith("/not-found")


def test_lead_score_follows_lead_visibility(api: ApiClient, rep_key, lead_factory, admin):
    others = lead_factory(owner=admin)
    unowned = lead_factory()
    assert api.get(f"/api/v1/leads/{others.pk}/score", key=rep_key).status_code == 404
    assert api.get(f"/api/v1/leads/{unowned.pk}/score", key=rep_key).status_code == 200


def test_lead_score_queries(api: ApiClient, scored_lead, django_assert_max_num_queries):
    with django_assert_max_num_queries(4):
        assert api.get(f"/api/v1/leads/{scored_lead.pk}/score").status_code == 200


def test_models_settings_train_and_recompute(
    api: ApiClient, scored_lead, django_capture_on_commit_callbacks
):
    r = api.get("/api/v1/scoring/models")
    assert [m["team_id"] for m in r.json()["items"]] == [None]
    assert r.json()["items"][0]["auc"] == pytest.approx(1.0)
    assert api.get("/api/v1/scoring/settings").json() == {"score_half_life_days": 30}
    r = api.patch("/api/v1/scoring/settings", {"score_half_life_days": 0})
    assert r.status_code == 422 and problem_fields(r) == {"score_half_life_days": "out-of-range"}
    assert api.patch("/api/v1/scoring/settings", {"score_half_life_days": 7}).json() == {
        "score_half_life_days": 7
    }
    before = LeadScoringModel.objects.get(is_current=True).pk
    r = api.post("/api/v1/scoring/train")
    assert r.status_code == 202 and r.json()["status"] == "queued"
    # The immediate backend of the tests has run it already: a new current model.
    assert LeadScoringModel.objects.get(is_current=True).pk != before
    Lead.objects.filter(pk=scored_lead.pk).update(score=0)
    r = api.post("/api/v1/scoring/recompute")
    assert r.status_code == 202 and r.json()["total"] == Lead.objects.count()
    assert Lead.objects.get(pk=scored_lead.pk).score == 10


def test_models_of_another_workspace_do_not_leak(api: ApiClient, other_key, scored_lead):
    assert api.get("/api/v1/scoring/models", key=other_key).json()["items"] == []
    assert api.get("/api/v1/scoring/models").json()["items"]


def test_model_list_queries(api: ApiClient, scored_lead, django_assert_max_num_queries):
    with django_assert_max_num_queries(4):
        assert len(api.get("/api/v1/scoring/models").json()["items"]) == 1
