"""Pipeline analytics through the API and the page: the DESIGN §5 figures of one pipeline and
period, narrowed to what the viewer may see; tenancy and query counts."""

from __future__ import annotations

import pytest

from vinculo.analytics.sales_metrics import Period
from vinculo.core.roles import Role
from vinculo.sales.forecasts.selectors import pipeline_analytics
from vinculo.sales.models import Lead

from .conftest import HTMX, SP, at

MARCH = Period.month(2025, 3, time_zone=SP)


@pytest.fixture
def march(book, ana, bruno):
    """Four deals through New → Qualified → …, in March: two won (10 and 20 days), one lost,
    one still in Qualified; and four leads, one of them won."""
    b = book
    won_fast = b.deal(
        1000, status="won", owner=ana, created_at=at("2025-03-01"), closed_at=at("2025-03-11")
    )
    b.path(
        won_fast,
        (b.new, at("2025-03-01")),
        (b.qualified, at("2025-03-03")),
        (b.won, at("2025-03-11")),
    )
    won_slow = b.deal(
        1000, status="won", owner=bruno, created_at=at("2025-03-02"), closed_at=at("2025-03-22")
    )
    b.path(
        won_slow,
        (b.new, at("2025-03-02")),
        (b.qualified, at("2025-03-06")),
        (b.proposal, at("2025-03-10")),
        (b.won, at("2025-03-22")),
    )
    lost = b.deal(
        1000, status="lost", owner=bruno, created_at=at("2025-03-03"), closed_at=at("2025-03-09")
    )
    b.path(lost, (b.new, at("2025-03-03")), (b.lost, at("2025-03-09")))
    open_ = b.deal(1000, stage=b.qualified, owner=ana, created_at=at("2025-03-04"))
    b.path(open_, (b.new, at("2025-03-04")), (b.qualified, at("2025-03-10")))
    for deal in (won_fast, None, None, lost):
        Lead.objects.create(
            workspace=b.ws,
            email="l@x.test",
            created_at=at("2025-03-05"),
            converted_deal=deal,
            owner=ana,
        )


def test_the_figures_of_a_pipeline_and_period(workspace, admin, book, march):
    data = pipeline_analytics(
        workspace=workspace, viewer=admin, period=MARCH, pipeline_id=book.pipeline.pk
    )
    assert (data.cycle.won, data.cycle.median_days, data.cycle.mean_days) == (2, 15.0, 15.0)
    assert (data.close.won, data.close.lost, data.close.rate) == (2, 1, pytest.approx(2 / 3))
    assert (data.leads.created, data.leads.won, data.leads.rate) == (4, 1, 0.25)
    new, qualified, proposal = data.stage_conversion
    assert (new.entered, new.advanced, new.won) == (4, 3, 2)
    assert (qualified.entered, qualified.advanced, qualified.won) == (3, 2, 2)
    assert (proposal.entered, proposal.advanced, proposal.won) == (1, 1, 1)
    durations = {s.name: s for s in data.stage_durations}
    # New: 2, 4, 6 and 6 days.
    assert (durations["New"].stays, durations["New"].median_days) == (4, 5.0)
    assert data.most_entered == 4


def test_the_default_pipeline_is_used_when_none_is_named(workspace, admin, book, march):
    data = pipeline_analytics(workspace=workspace, viewer=admin, period=MARCH)
    assert data.pipeline == book.pipeline


def test_a_rep_sees_the_figures_of_their_deals(workspace, ana, book, march):
    data = pipeline_analytics(workspace=workspace, viewer=ana, period=MARCH)
    # Ana's team is herself: her won deal and her open one.
    assert (data.cycle.won, data.cycle.median_days) == (1, 10.0)
    assert (data.close.won, data.close.lost) == (1, 0)
    assert data.stage_conversion[0].entered == 2
    assert data.leads.created == 4


def test_analytics_api(api, book, march):
    r = api.get("/api/v1/analytics/pipeline", pipeline=book.pipeline.pk, period="2025-03")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["pipeline"] == {"id": book.pipeline.pk, "name": "Sales"}
    assert body["period"]["key"] == "2025-03"
    assert body["sales_cycle"] == {"won": 2, "median_days": 15.0, "mean_days": 15.0}
    assert body["close_rate"]["won"] == 2 and body["close_rate"]["lost"] == 1
    assert body["lead_conversion"] == {"created": 4, "won": 1, "rate": 0.25}
    assert [s["name"] for s in body["stage_durations"]] == ["New", "Qualified", "Proposal"]
    new = body["stage_conversion"][0]
    assert (new["entered"], new["advanced"], new["advance_rate"]) == (4, 3, 0.75)


def test_analytics_api_defaults_to_this_quarter(api, book):
    body = api.get("/api/v1/analytics/pipeline").json()
    assert body["period"]["kind"] == "quarter"
    assert body["pipeline"]["id"] == book.pipeline.pk


def test_analytics_api_refuses_a_bad_period(api, book):
    r = api.get("/api/v1/analytics/pipeline", period="Q1")
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "period"


def test_analytics_api_of_another_workspaces_pipeline_is_not_found(api, other_key, book, march):
    r = api.get("/api/v1/analytics/pipeline", pipeline=book.pipeline.pk, key=other_key)
    assert r.status_code == 404
    assert r.json()["type"].endswith("/not-found")
    theirs = api.get("/api/v1/analytics/pipeline", period="2025-03", key=other_key).json()
    assert theirs["pipeline"] is None
    assert theirs["lead_conversion"]["created"] == 0


def test_analytics_api_queries_do_not_grow(api, book, django_assert_max_num_queries):
    for _ in range(40):
        deal = book.deal(1, status="won", created_at=at("2025-03-01"), closed_at=at("2025-03-20"))
        book.path(deal, (book.new, at("2025-03-01")), (book.won, at("2025-03-20")))
    api.get("/api/v1/analytics/pipeline", period="2025-03")
    # The key, its user and membership; the pipeline, lead conversion, its stages and their
    # durations, its stages and their conversion, cycle length, close rate.
    with django_assert_max_num_queries(11):
        body = api.get("/api/v1/analytics/pipeline", period="2025-03").json()
    assert body["sales_cycle"]["won"] == 40


def test_analytics_needs_the_forecasts_module(client, make_member, book):
    client.force_login(make_member("mkt@acme.test", Role.MARKETING))
    assert client.get("/deals/analytics/").status_code == 403


def test_analytics_page(admin_client_ui, book, march):
    r = admin_client_ui.get("/deals/analytics/", {"period": "2025-03"})
    assert r.status_code == 200
    html = r.content.decode()
    assert "Median days in each stage" in html and "Stage-to-stage conversion" in html
    assert "15 days" in html  # the sales cycle
    assert "67%" in html  # 2 won of 3 closed
    assert "25%" in html  # lead conversion
    assert "75% moved on · 50% won" in html  # New: 3 and 2 of 4
    assert 'class="bar-fill"' in html
    assert "style=" not in html.split("<main", 1)[1]


def test_analytics_page_over_htmx_and_without_data(admin_client_ui, book):
    r = admin_client_ui.get("/deals/analytics/", {"period": "2024", "pipeline": "999999"}, **HTMX)
    html = r.content.decode()
    assert html.lstrip().startswith('<section id="analytics-report"')
    assert "No deal entered a stage of this pipeline in the period." in html


def test_analytics_page_queries_do_not_grow(admin_client_ui, book, django_assert_max_num_queries):
    for _ in range(30):
        deal = book.deal(1, status="won", created_at=at("2025-03-01"), closed_at=at("2025-03-20"))
        book.path(deal, (book.new, at("2025-03-01")), (book.won, at("2025-03-20")))
    admin_client_ui.get("/deals/analytics/", {"period": "2025-03"})
    with django_assert_max_num_queries(20):
        assert admin_client_ui.get("/deals/analytics/", {"period": "2025-03"}).status_code == 200


def test_analytics_page_ignores_another_workspaces_pipeline(
    admin_client_ui, book, their_book, march
):
    their_book.pipeline.name = "Globex pipeline"
    their_book.pipeline.save()
    r = admin_client_ui.get(
        "/deals/analytics/", {"period": "2025-03", "pipeline": their_book.pipeline.pk}
    )
    html = r.content.decode()
    assert r.status_code == 200
    assert "Globex pipeline" not in html
    assert "Sales · March 2025" in html
