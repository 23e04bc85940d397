"""The forecast: categories, weighted pipeline, closed, quotas and attainment per owner and team,
worked out by hand for March 2025 in São Paulo; its API and page, access and tenancy."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from vinculo.analytics.sales_metrics import Period
from vinculo.core.exceptions import PermissionDenied, ValidationFailed
from vinculo.core.roles import Role
from vinculo.sales.forecasts.selectors import forecast, period_choices, workspace_period
from vinculo.sales.forecasts.views import _drilldown

from .conftest import HTMX, SP, at, make_team

MARCH = Period.month(2025, 3, time_zone=SP)
D = Decimal


@pytest.fixture
def teams(workspace, ana, bruno):
    return {
        "norte": make_team(workspace, "Norte", ana),
        "sul": make_team(workspace, "Sul", bruno),
    }


@pytest.fixture
def march(book, ana, bruno, teams, their_book, other_admin):
    b = book
    norte, sul = teams["norte"], teams["sul"]
    mine = {"owner": ana, "team": norte}
    close = dt.date.fromisoformat
    b.deal(10_000, expected_close_date=close("2025-03-10"), **mine)
    b.deal(
        20_000,
        stage=b.proposal,
        forecast_category="best_case",
        expected_close_date=close("2025-03-31"),
        **mine,
    )
    b.deal(
        8_000,
        stage=b.qualified,
        forecast_category="commit",
        expected_close_date=close("2025-03-15"),
        **mine,
    )
    # Omitted from the forecast, due in April, in dollars, deleted: none counts.
    b.deal(
        5_000,
        stage=b.proposal,
        forecast_category="omitted",
        expected_close_date=close("2025-03-20"),
        **mine,
    )
    b.deal(7_000, expected_close_date=close("2025-04-01"), **mine)
    b.deal(1_000, currency="USD", expected_close_date=close("2025-03-12"), **mine)
    b.deal(9_000, expected_close_date=close("2025-03-12"), deleted_at=at("2025-03-13"), **mine)
    # Won on March 5th, and at 23:00 on March 31st local time (April 1st in UTC).
    b.deal(12_000, status="won", closed_at=at("2025-03-05"), **mine)
    b.deal(3_000, status="won", closed_at=at("2025-04-01", 2), **mine)
    # Won on February 28th at 23:00 local time, and a loss: not closed won in March.
    b.deal(50_000, status="won", closed_at=at("2025-03-01", 2), **mine)
    b.deal(40_000, status="lost", closed_at=at("2025-03-10"), **mine)

    b.deal(
        4_000,
        stage=b.proposal,
        forecast_category="commit",
        expected_close_date=close("2025-03-05"),
        owner=bruno,
        team=sul,
    )
    b.deal("6000.50", status="won", closed_at=at("2025-03-28"), owner=bruno, team=sul)
    b.deal(1_000, expected_close_date=close("2025-03-25"))

    b.quota(30_000, "2025-03-01", "2025-03-31", user=ana)
    b.quota(99_000, "2025-02-01", "2025-02-28", user=ana)
    # A quarter's target: March holds 31 of its 90 days.
    b.quota(27_000, "2025-01-01", "2025-03-31", user=bruno)
    b.quota(40_000, "2025-03-01", "2025-03-31", team=norte)
    # Another workspace's deals and quotas.
    their_book.deal(
        77_000, status="won", closed_at=at("2025-03-10"), expected_close_date=close("2025-03-10")
    )
    their_book.quota(1, "2025-03-01", "2025-03-31", user=other_admin)


def _line(result, name):
    return next(r for r in result.rows if r.name == name)


def test_forecast_per_owner(workspace, admin, march):
    result = forecast(workspace=workspace, viewer=admin, period=MARCH, group="owner")
    assert [r.name for r in result.rows] == ["Ana Souza", "Bruno Lima", "No owner"]
    ana = _line(result, "Ana Souza")
    assert (ana.pipeline, ana.best_case, ana.commit) == (D("10000"), D("20000"), D("8000"))
    # 10 000 × 10 % + 20 000 × 50 % + 8 000 × 25 %.
    assert ana.weighted == D("13000.00")
    assert ana.closed == D("15000.00")
    assert (ana.open_deals, ana.won_deals) == (3, 2)
    assert ana.quota == D("30000.00")
    assert ana.attainment == 0.5
    assert ana.attainment_percent == 50

    bruno = _line(result, "Bruno Lima")
    assert (bruno.pipeline, bruno.commit, bruno.weighted) == (D(0), D("4000"), D("2000.00"))
    assert bruno.closed == D("6000.50")
    # 27 000 × 31 / 90.
    assert bruno.quota == D("9300.00")
    assert bruno.attainment == pytest.approx(6000.50 / 9300)
    assert bruno.attainment_percent == 65

    nobody = _line(result, "No owner")
    assert (nobody.key, nobody.pipeline, nobody.weighted, nobody.quota) == (
        None,
        D("1000"),
        D("100.00"),
        None,
    )
    assert nobody.attainment is None

    totals = result.totals
    assert (totals.pipeline, totals.best_case, totals.commit) == (
        D("11000"),
        D("20000"),
        D("12000"),
    )
    assert (totals.weighted, totals.closed, totals.quota) == (
        D("15100.00"),
        D("21000.50"),
        D("39300.00"),
    )
    assert totals.attainment == pytest.approx(21000.50 / 39300)
    assert totals.committed == D("33000.50")
    assert result.other_currency_deals == 1
    assert result.currency == "BRL"


def test_forecast_per_team(workspace, admin, march, teams):
    result = forecast(workspace=workspace, viewer=admin, period=MARCH, group="team")
    assert [r.name for r in result.rows] == ["Norte", "Sul", "No team"]
    norte, sul, none = result.rows
    assert norte.key == teams["norte"].pk
    assert (norte.weighted, norte.closed, norte.quota) == (
        D("13000.00"),
        D("15000.00"),
        D("40000.00"),
    )
    assert norte.attainment == 0.375
    # Personal quotas do not count for a team.
    assert (sul.closed, sul.quota, sul.attainment) == (D("6000.50"), None, None)
    assert (none.pipeline, none.quota) == (D("1000"), None)
    assert result.totals.quota == D("40000.00")


def test_a_rep_forecasts_their_team_only(workspace, ana, march):
    result = forecast(workspace=workspace, viewer=ana, period=MARCH)
    # Ana's team (herself) and the unowned pool; Bruno's deals and quota are not hers to see.
    assert [r.name for r in result.rows] == ["Ana Souza", "No owner"]
    assert result.totals.closed == D("15000.00")
    assert result.totals.quota == D("30000.00")


def test_quota_without_deals_still_shows(workspace, admin, book, bruno):
    book.quota(5_000, "2025-03-01", "2025-03-31", user=bruno)
    result = forecast(workspace=workspace, viewer=admin, period=MARCH)
    [line] = result.rows
    assert (line.name, line.closed, line.quota, line.attainment) == (
        "Bruno Lima",
        D(0),
        D("5000.00"),
        0.0,
    )


def test_an_empty_period(workspace, admin, book):
    result = forecast(workspace=workspace, viewer=admin, period=MARCH)
    assert result.rows == []
    assert (result.totals.closed, result.totals.quota, result.totals.attainment) == (
        D(0),
        None,
        None,
    )


def test_forecast_needs_the_forecasts_module(workspace, make_member, book):
    marketer = make_member("mkt@acme.test", Role.MARKETING)
    with pytest.raises(PermissionDenied):
        forecast(workspace=workspace, viewer=marketer, period=MARCH)


def test_forecast_refuses_an_unknown_grouping(workspace, admin, book):
    with pytest.raises(ValidationFailed) as exc:
        forecast(workspace=workspace, viewer=admin, period=MARCH, group="region")
    assert exc.value.errors[0].field == "group"


# ---------------------------------------------------------------------------------------------
# Periods as requests name them


def test_periods_are_read_in_the_workspace_time_zone(workspace, book):
    assert workspace_period(workspace, "2025-Q1").start_at == at("2025-01-01", 3)
    now = at("2025-04-01", 2)  # still March in São Paulo
    assert workspace_period(workspace, "", now=now).key == "2025-03"
    assert workspace_period(workspace, " ", default="quarter", now=now).key == "2025-Q1"
    with pytest.raises(ValidationFailed) as exc:
        workspace_period(workspace, "March")
    assert exc.value.errors[0].field == "period"


def test_period_choices_offer_this_next_and_last_month_and_quarter(workspace, book):
    choices = period_choices(workspace, now=at("2025-03-15"))
    assert [(c.key, c.name) for c in choices] == [
        ("2025-03", "This month"),
        ("2025-04", "Next month"),
        ("2025-02", "Last month"),
        ("2025-Q1", "This quarter"),
        ("2025-Q2", "Next quarter"),
        ("2024-Q4", "Last quarter"),
    ]
    assert choices[3].start == dt.date(2025, 1, 1)
    assert choices[3].end == dt.date(2025, 3, 31)


# ---------------------------------------------------------------------------------------------
# API


def test_forecast_api(api, march):
    r = api.get("/api/v1/forecast", period="2025-03", group="owner")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["period"] == {
        "key": "2025-03",
        "kind": "month",
        "start": "2025-03-01",
        "end": "2025-03-31",
        "time_zone": SP,
    }
    assert body["currency"] == "BRL"
    ana = body["rows"][0]
    assert (ana["name"], ana["closed"], ana["weighted"], ana["quota"], ana["attainment"]) == (
        "Ana Souza",
        "15000.00",
        "13000.00",
        "30000.00",
        0.5,
    )
    assert body["rows"][2]["id"] is None
    assert body["totals"]["closed"] == "21000.50"
    assert body["other_currency_deals"] == 1


def test_forecast_api_refuses_bad_input(api, book):
    r = api.get("/api/v1/forecast", period="2025-13")
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "period"
    r = api.get("/api/v1/forecast", group="region")
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "group"


def test_forecast_api_shows_only_the_callers_workspace(api, other_key, march):
    theirs = api.get("/api/v1/forecast", period="2025-03", key=other_key).json()
    assert theirs["totals"]["closed"] == "77000.00"
    assert [r["name"] for r in theirs["rows"]] == ["admin", "No owner"]
    mine = api.get("/api/v1/forecast", period="2025-03").json()
    assert "77000.00" not in str(mine)


def test_forecast_api_queries_do_not_grow(api, book, make_member, django_assert_max_num_queries):
    for i in range(30):
        owner = make_member(f"rep{i}@acme.test")
        book.deal(1000, expected_close_date=dt.date(2025, 3, 10), owner=owner)
        book.deal(500, status="won", closed_at=at("2025-03-11"), owner=owner)
        book.quota(2000, "2025-03-01", "2025-03-31", user=owner)
    api.get("/api/v1/forecast", period="2025-03")
    # The key, its user and membership, then the deals and the quotas.
    with django_assert_max_num_queries(5):
        body = api.get("/api/v1/forecast", period="2025-03").json()
    assert len(body["rows"]) == 30
    assert body["totals"]["attainment"] == 0.25


# ---------------------------------------------------------------------------------------------
# Page


def test_forecast_page(admin_client_ui, march, ana):
    r = admin_client_ui.get("/forecast/", {"period": "2025-03", "group": "owner"})
    assert r.status_code == 200
    html = r.content.decode()
    assert "Forecast for March 2025" in html
    assert "Ana Souza" in html and "Bruno Lima" in html
    assert "R$&nbsp;15,000" in html  # Ana's closed, whole reais in English
    assert 'value="50"' in html  # her attainment bar
    assert "1 deal in another currency is left out" in html
    assert 'value="2025-03" selected' in html
    # Each figure opens the deals it adds up.
    assert f'href="/deals/list/?owner={ana.pk}&amp;status=won&amp;closed_after=2025-03-01' in html


def test_forecast_page_in_portuguese(client, admin, march):
    admin.language = "pt-br"
    admin.save(update_fields=["language"])
    client.force_login(admin)
    html = client.get("/forecast/", {"period": "2025-03"}).content.decode()
    assert "R$&nbsp;15.000" in html


def test_forecast_page_answers_htmx_with_the_report_only(admin_client_ui, march):
    r = admin_client_ui.get("/forecast/", {"period": "2025-Q1", "group": "team"}, **HTMX)
    html = r.content.decode()
    assert html.lstrip().startswith('<section id="forecast-report"')
    assert "Norte" in html and "<nav" not in html


def test_forecast_page_with_a_bad_period_shows_this_month(admin_client_ui, book):
    r = admin_client_ui.get("/forecast/", {"period": "someday", "group": "nonsense"})
    assert r.status_code == 200
    html = r.content.decode()
    assert "Use a month (2025-03)" in html
    assert "Nothing to forecast for this period" in html


def test_forecast_page_needs_the_forecasts_module(client, make_member, book):
    client.force_login(make_member("svc@acme.test", Role.SERVICE))
    assert client.get("/forecast/").status_code == 403


def test_forecast_page_queries_do_not_grow(
    admin_client_ui, book, make_member, django_assert_max_num_queries
):
    for i in range(20):
        owner = make_member(f"rep{i}@acme.test")
        book.deal(1000, expected_close_date=dt.date(2025, 3, 10), owner=owner)
    admin_client_ui.get("/forecast/", {"period": "2025-03"})
    with django_assert_max_num_queries(12):
        r = admin_client_ui.get("/forecast/", {"period": "2025-03"})
    assert r.content.decode().count('class="forecast-who"') == 20


def test_drilldown_links_name_the_deal_list_filters(book):
    from vinculo.sales.forecasts.selectors import ForecastLine

    line = ForecastLine(key=7, name="Ana")
    url = _drilldown(
        "/deals/list/", "owner", line, MARCH, status="open", forecast_category="commit"
    )
    assert url == (
        "/deals/list/?owner=7&status=open&forecast_category=commit"
        "&close_after=2025-03-01&close_before=2025-03-31"
    )
    nobody = ForecastLine(key=None, name="No team")
    assert _drilldown("/d/", "team", nobody, MARCH, status="won") == (
        "/d/?team=none&status=won&closed_after=2025-03-01&closed_before=2025-03-31"
    )
    assert _drilldown("", "owner", line, MARCH, status="won") == ""


def test_forecast_page_shows_nothing_of_another_workspace(admin_client_ui, march):
    html = admin_client_ui.get("/forecast/", {"period": "2025-03"}).content.decode()
    assert "77,000" not in html and "globex" not in html.lower()
