"""The forecast, quotas, pipeline analytics and stalled-deal pages in a real browser, in English
and Portuguese, on a desktop and a phone: the sidebar link, the period and grouping pickers,
a quota refused for overlapping and then added, axe-core, and screenshots to look at."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser.conftest import axe_violations, log_in, screenshot
from vinculo.analytics.sales_metrics import Period
from vinculo.core.models import User
from vinculo.core.roles import Role
from vinculo.core.services import membership_add, workspace_create
from vinculo.sales.models import Quota, Stage

from .conftest import SP, Book, make_team

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple"
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def crm(transactional_db):
    workspace = workspace_create(name="Acme Ltda", slug="acme", admin_email="marina@acme.example")
    boss = User.objects.get(email="marina@acme.example")
    boss.full_name = "Marina Alves"
    boss.time_zone = SP
    boss.set_password(PASSWORD)
    boss.save()
    people = {}
    for email, name in (
        ("ana@acme.example", "Ana Souza"),
        ("bruno@acme.example", "Bruno Lima"),
        ("carla@acme.example", "Carla Dias"),
    ):
        user = User.objects.create_user(email=email, password=PASSWORD, full_name=name)
        membership_add(workspace=workspace, user=user, role=Role.SALES)
        people[name.split()[0].lower()] = user
    norte = make_team(workspace, "Norte", people["ana"], people["bruno"])
    sul = make_team(workspace, "Sul", people["carla"])
    book = Book(workspace, name="Sales")
    for stage, name in (
        (book.new, "Novo"),
        (book.qualified, "Qualificado"),
        (book.proposal, "Proposta"),
    ):
        Stage.objects.for_workspace(workspace).filter(pk=stage.pk).update(name=name)
    negotiation = book.stage("Negociação", 2, 75)

    now = timezone.now()
    today = now.astimezone(zoneinfo.ZoneInfo(SP)).date()
    month = Period.containing(today, "month", time_zone=SP)
    quarter = Period.containing(today, "quarter", time_zone=SP)
    due = month.end - dt.timedelta(days=3)
    day = dt.timedelta(days=1)

    def open_deal(owner, team, amount, stage, category, **fields):
        return book.deal(
            amount,
            owner=owner,
            team=team,
            stage=stage,
            forecast_category=category,
            expected_close_date=due,
            **fields,
        )

    plan = [
        (people["ana"], norte, 48_000, book.proposal, "commit", 32_000, 60_000),
        (people["bruno"], norte, 25_000, book.qualified, "best_case", 12_500, 40_000),
        (people["carla"], sul, 70_000, negotiation, "pipeline", 51_000, 45_000),
    ]
    for i, (owner, team, amount, stage, category, won, target) in enumerate(plan):
        open_deal(owner, team, amount, stage, category, name=f"Renovação {owner.full_name}")
        open_deal(owner, team, amount // 2, book.new, "pipeline", name=f"Expansão {i}")
        deal = book.deal(
            won,
            status="won",
            owner=owner,
            team=team,
            closed_at=now - day,
            created_at=now - dt.timedelta(days=20 + 9 * i),
        )
        book.path(
            deal,
            (book.new, now - dt.timedelta(days=20 + 9 * i)),
            (book.qualified, now - dt.timedelta(days=16 + 6 * i)),
            (book.proposal, now - dt.timedelta(days=9 + 2 * i)),
            (book.won, now - day),
        )
        book.quota(target, month.start.isoformat(), month.end.isoformat(), user=owner)
    book.quota(90_000, quarter.start.isoformat(), quarter.end.isoformat(), team=norte)
    book.quota(120_000, quarter.start.isoformat(), quarter.end.isoformat(), team=sul)
    for i in range(6):
        lost = book.deal(
            8_000,
            status="lost",
            owner=people["ana"],
            closed_at=now - 2 * day,
            created_at=now - dt.timedelta(days=30),
        )
        book.path(
            lost,
            (book.new, now - dt.timedelta(days=30)),
            (book.qualified, now - dt.timedelta(days=25 - i)),
            (book.lost, now - 2 * day),
        )
    # Two deals nobody touched for weeks.
    for name, owner in (("Padaria Pão Doce", people["bruno"]), ("Clínica Sorriso", None)):
        stale = now - dt.timedelta(days=40)
        quiet = {"stage_entered_at": stale, "last_activity_at": stale, "updated_at": stale}
        book.deal(15_000, name=name, owner=owner, stage=book.qualified, **quiet)
    return {"workspace": workspace, "boss": boss, "people": people, "month": month}


def _settle(page) -> None:
    expect(page.locator(".htmx-request, .htmx-added, .htmx-settling")).to_have_count(0)
    page.evaluate("document.activeElement && document.activeElement.blur()")


def _sign_in(page, crm, language: str) -> None:
    crm["boss"].language = language
    crm["boss"].save(update_fields=["language"])
    log_in(page, crm["boss"].email, PASSWORD)


@pytest.mark.parametrize("language", ["en", "pt-br"])
def test_forecast_page(page, crm, language):
    _sign_in(page, crm, language)
    page.locator('#sidebar a[href="/forecast/"]').click()
    expect(page.locator("h1")).to_have_count(1)
    rows = page.locator(".forecast-table tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.first.locator("th")).to_have_text("Ana Souza")
    expect(rows.first.locator("meter")).to_have_attribute("value", "53")
    assert axe_violations(page) == []
    _settle(page)
    screenshot(page, f"forecast-{language}")

    page.locator("#forecast-group").select_option("team")
    expect(page.locator(".forecast-table tbody tr th")).to_have_text(["Norte", "Sul"])
    expect(page).to_have_url(re.compile("group=team"))
    page.locator("#forecast-period").select_option(crm["month"].shift(1).key)
    expect(page).to_have_url(re.compile(f"period={crm['month'].shift(1).key}"))
    expect(page.locator(".forecast-report .empty, .forecast-table")).to_have_count(1)

    page.set_viewport_size(PHONE)
    page.goto(page.base_url + "/forecast/")
    expect(page.locator(".forecast-table tbody tr")).to_have_count(3)
    _settle(page)
    screenshot(page, f"forecast-{language}-phone")


@pytest.mark.parametrize("language", ["en", "pt-br"])
def test_quotas_page(page, crm, language):
    _sign_in(page, crm, language)
    page.goto(page.base_url + "/forecast/quotas/")
    expect(page.locator(".quota-table tbody tr")).to_have_count(5)
    page.locator(".quota-form-card summary").click()
    form = page.locator("form.quota-form")
    form.locator("#id_user_id").select_option(str(crm["people"]["ana"].pk))
    form.locator("[data-fill-period]").first.click()  # this month: Ana already has a quota
    expect(form.locator("#id_amount")).to_be_focused()
    form.locator("#id_amount").fill("55.000,00")
    form.locator("button[type=submit]").click()
    error = page.locator("#id_period_start_error")
    expect(error).to_be_visible()
    assert Quota.all_tenants.filter(user=crm["people"]["ana"]).count() == 1
    _settle(page)
    screenshot(page, f"quotas-{language}-error")

    page.locator("form.quota-form [data-fill-period]").nth(1).click()  # next month
    page.locator("form.quota-form button[type=submit]").click()
    expect(page.locator("#quotas .alert")).to_be_visible()
    expect(page.locator(".quota-table tbody tr")).to_have_count(6)
    added = Quota.all_tenants.get(
        user=crm["people"]["ana"], period_start=crm["month"].shift(1).start
    )
    assert added.amount == Decimal("55000.00")
    assert axe_violations(page) == []
    _settle(page)
    screenshot(page, f"quotas-{language}")

    page.set_viewport_size(PHONE)
    page.goto(page.base_url + "/forecast/quotas/?edit=" + str(added.pk))
    expect(page.locator("#id_amount")).to_have_value("55000.00")
    _settle(page)
    screenshot(page, f"quotas-{language}-phone")


@pytest.mark.parametrize("language", ["en", "pt-br"])
def test_analytics_and_stalled_pages(page, crm, language):
    _sign_in(page, crm, language)
    page.goto(page.base_url + "/deals/analytics/")
    expect(page.locator(".bars").first.locator(".bar-row")).to_have_count(4)
    expect(page.locator(".bar-fill").first).to_be_attached()
    assert axe_violations(page) == []
    _settle(page)
    screenshot(page, f"pipeline-analytics-{language}")

    page.locator(".forecast-summary a.stat").click()
    expect(page.locator(".stalled-table tbody tr")).to_have_count(2)
    assert axe_violations(page) == []
    _settle(page)
    screenshot(page, f"stalled-deals-{language}")

    page.set_viewport_size(PHONE)
    page.goto(page.base_url + "/deals/analytics/")
    expect(page.locator(".bar-row").first).to_be_visible()
    _settle(page)
    screenshot(page, f"pipeline-analytics-{language}-phone")
