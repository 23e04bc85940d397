"""The whole sales flow in a real browser, as a visitor, a seller and a customer live it: the
hosted web form (with UTM parameters) → a lead assigned by the routing rules and scored with
its reasons → converted → its deal on the kanban board, dragged to the next stage → a quote
sent and accepted through the customer's link → the order in the person's purchase history →
the forecast, the stage durations and the win rate moved accordingly."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser.conftest import log_in, screenshot
from tests.sales.deals.test_browser import _card, _column, _drag
from vinculo.analytics.sales_metrics import Period, close_rate, stage_durations
from vinculo.automation.services import rule_create
from vinculo.contacts.models import ConsentEntry
from vinculo.core.models import User
from vinculo.core.services import membership_add, team_create, workspace_create
from vinculo.core.tenancy import workspace_scope
from vinculo.marketing.services import webform_create
from vinculo.sales.deals.services import pipeline_default, product_create
from vinculo.sales.forecasts.selectors import forecast
from vinculo.sales.models import (
    DealStageHistory,
    DealStatus,
    Lead,
    LeadStatus,
    Order,
    Quote,
    QuoteStatus,
    Stage,
)
from vinculo.sales.quotes import links
from vinculo.sales.quotes.services import quote_create
from vinculo.sales.scoring.services import scoring_rule_create

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery staple"


@pytest.fixture
def shop(transactional_db):
    workspace = workspace_create(name="Acme Ltda", slug="acme", admin_email="ana@acme.example.com")
    ana = User.objects.get(email="ana@acme.example.com")
    ana.full_name = "Ana Souza"
    ana.set_password(PASSWORD)
    ana.save()
    reps = []
    for email, name in (
        ("bruno@acme.example.com", "Bruno Lima"),
        ("carla@acme.example.com", "Carla Dias"),
    ):
        rep = User.objects.create_user(email=email, full_name=name)
        membership_add(workspace=workspace, user=rep, role="sales")
        reps.append(rep)
    with workspace_scope(workspace):
        team = team_create(
            workspace=workspace, actor=ana, name="Vendas Sudeste", member_ids=[r.pk for r in reps]
        )
        rule_create(
            workspace=workspace,
            actor=ana,
            data={
                "name": "Sudeste para a equipe Sudeste",
                "trigger": "lead.created",
                "group": "lead_assignment",
                "stop_after_match": True,
                "conditions": {"all": [{"field": "state", "op": "in", "value": ["SP", "RJ"]}]},
                "actions": [{"type": "assign", "team_id": team.pk, "strategy": "round_robin"}],
            },
        )
        scoring_rule_create(
            workspace=workspace,
            actor=ana,
            data={
                "name": "Veio do Google Ads",
                "kind": "fit",
                "conditions": {"all": [{"field": "utm_source", "op": "eq", "value": "google"}]},
                "points": 20,
            },
        )
        scoring_rule_create(
            workspace=workspace,
            actor=ana,
            data={
                "name": "Preencheu um formulário",
                "kind": "engagement",
                "event_type": "webform.submitted",
                "points": 10,
            },
        )
        form = webform_create(
            workspace=workspace,
            actor=ana,
            data={
                "name": "Fale com vendas",
                "title": "Fale com um especialista",
                "fields": [
                    {"name": "first_name", "label": "Nome", "required": True},
                    {"name": "last_name", "label": "Sobrenome", "required": False},
                    {"name": "email", "label": "E-mail", "required": True},
                    {"name": "company_name", "label": "Empresa", "required": True},
                    {"name": "state", "label": "Estado", "required": False},
                ],
                "consent_enabled": True,
                "consent_purpose": "email_marketing",
                "consent_wording": "Aceito receber e-mails com ofertas.",
                "thank_you_message": "Obrigado! Falaremos com você em breve.",
                "lead_source": "Site",
            },
        )
        pipeline = pipeline_default(workspace)
        product = product_create(
            workspace=workspace,
            actor=ana,
            data={"name": "Plano Profissional (anual)", "unit_price": "12000.00"},
        )
    stages = list(Stage.all_tenants.filter(pipeline=pipeline).order_by("position"))
    return {
        "workspace": workspace,
        "ana": ana,
        "reps": reps,
        "form": form,
        "stages": stages,
        "product": product,
    }


def test_from_the_web_form_to_the_order_and_the_figures(browser, live_server, page, shop):
    workspace = shop["workspace"]
    period = Period.containing(timezone.localdate(), time_zone=workspace.time_zone)

    # A visitor arrives from an ad and fills in the hosted form.
    visitor_context = browser.new_context(locale="pt-BR")
    visitor = visitor_context.new_page()
    visitor.goto(
        f"{live_server.url}/f/{shop['form'].public_key}"
        "?utm_source=google&utm_medium=cpc&utm_campaign=black-friday"
    )
    visitor.fill("#wf-first_name", "Helena")
    visitor.fill("#wf-last_name", "Prado")
    visitor.fill("#wf-email", "helena@padariaprado.com.br")
    visitor.fill("#wf-company_name", "Padaria Prado")
    visitor.fill("#wf-state", "SP")
    visitor.check("#wf-consent")
    visitor.locator(".wf-form button[type=submit]").click()
    expect(visitor.get_by_text("Obrigado! Falaremos com você em breve.")).to_be_visible()
    visitor_context.close()

    # The lead is there, assigned by the rule to someone of the team, scored with reasons.
    lead = Lead.all_tenants.get(workspace=workspace, email="helena@padariaprado.com.br")
    assert (lead.utm_source, lead.utm_medium, lead.utm_campaign) == (
        "google",
        "cpc",
        "black-friday",
    )
    assert lead.owner_id in {r.pk for r in shop["reps"]}
    assert lead.score == 30
    assert ConsentEntry.all_tenants.filter(
        lead=lead, purpose="email_marketing", granted=True
    ).exists()

    page.set_viewport_size({"width": 1920, "height": 1000})
    page.context.add_cookies([{"name": "django_language", "value": "en", "url": page.base_url}])
    log_in(page, shop["ana"].email, PASSWORD)
    page.goto(page.base_url + "/leads/")
    expect(page.locator("table.leads-table tbody tr", has_text="Helena Prado")).to_be_visible()
    page.goto(f"{page.base_url}/leads/{lead.pk}/")
    expect(page.get_by_role("heading", name="Helena Prado", level=1)).to_be_visible()
    expect(page.get_by_text("Veio do Google Ads")).to_be_visible()
    owner = User.objects.get(pk=lead.owner_id)
    expect(page.locator("main")).to_contain_text(owner.full_name)
    screenshot(page, "flow-lead-en")

    # Converted: a contact, an account and a deal.
    page.locator(f'a[href="/leads/{lead.pk}/convert"]').click()
    page.locator("#convert-amount").fill("12000")
    page.locator(".convert-form button[type=submit]").click()
    expect(page.locator(".lead-converted")).to_be_visible()
    lead.refresh_from_db()
    assert lead.status == LeadStatus.CONVERTED
    deal = lead.converted_deal
    assert deal is not None and deal.contact_id == lead.converted_contact_id
    first, second = shop["stages"][0], shop["stages"][1]
    assert deal.stage_id == first.pk

    # On the board, dragged to the next stage.
    page.goto(page.base_url + "/deals/")
    card = _card(page, deal.name)
    expect(card).to_be_visible()
    with page.expect_response(lambda r: "/move" in r.url and r.status == 200):
        _drag(page, card, _column(page, second))
    expect(_column(page, second).locator(".deal-card", has_text=deal.name)).to_be_visible()
    deal.refresh_from_db()
    assert deal.stage_id == second.pk
    stays = list(DealStageHistory.all_tenants.filter(deal=deal).order_by("entered_at", "id"))
    assert [s.stage_id for s in stays] == [first.pk, second.pk]
    assert stays[0].left_at is not None and stays[1].left_at is None
    screenshot(page, "flow-board-en")

    before_rate = close_rate(workspace, period)
    before_forecast = forecast(workspace=workspace, viewer=None, period=period)

    # A quote for the deal, sent from its page.
    with workspace_scope(workspace):
        quote = quote_create(
            workspace=workspace,
            actor=shop["ana"],
            deal_id=deal.pk,
            data={"lines": [{"product_id": shop["product"].pk, "quantity": "1"}]},
        )
    page.goto(f"{page.base_url}/quotes/{quote.pk}/")
    page.locator(f'form[action="/quotes/{quote.pk}/send"] button[type=submit]').click()
    expect(page.locator("main")).to_contain_text("Q-")
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.SENT

    # The customer accepts through the signed link.
    customer_context = browser.new_context(locale="pt-BR")
    customer = customer_context.new_page()
    customer.goto(live_server.url + links.public_path(quote))
    customer.fill("#signer-name", "Helena Prado")
    customer.locator(".answer-accept button[type=submit]").click()
    expect(customer.locator(".public-result.is-accepted")).to_be_visible()
    customer_context.close()

    quote.refresh_from_db()
    deal.refresh_from_db()
    assert quote.status == QuoteStatus.ACCEPTED
    assert deal.status == DealStatus.WON
    order = Order.all_tenants.get(quote=quote)
    assert order.contact_id == lead.converted_contact_id
    assert order.total == quote.total == Decimal("12000.00")

    # What they bought, on the person's page.
    page.goto(f"{page.base_url}/contacts/{order.contact_id}/")
    expect(page.locator("#record-orders")).to_contain_text(order.number)
    screenshot(page, "flow-contact-orders-en")

    # The figures moved: one more deal won in the period, its amount closed in the forecast,
    # and the stages it went through have durations.
    after_rate = close_rate(workspace, period)
    assert (after_rate.won, after_rate.lost) == (before_rate.won + 1, before_rate.lost)
    after_forecast = forecast(workspace=workspace, viewer=None, period=period)
    assert after_forecast.totals.closed == before_forecast.totals.closed + Decimal("12000.00")
    durations = {d.stage_id: d for d in stage_durations(workspace, first.pipeline_id)}
    assert durations[first.pk].stays == 1 and durations[second.pk].stays == 1

    page.goto(page.base_url + "/deals/analytics/")
    expect(page.locator("main")).to_contain_text("100%")
    screenshot(page, "flow-analytics-en")
    page.goto(page.base_url + "/forecast/")
    expect(page.locator("main")).to_contain_text("12,000")
    screenshot(page, "flow-forecast-en")
    assert Quote.all_tenants.filter(deal=deal).count() == 1
