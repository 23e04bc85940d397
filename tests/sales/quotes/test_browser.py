"""Quotes in a real browser: the editor's live totals, the printable quote, the customer's page
on a desktop and a phone (accept and decline), the orders panel on a contact and the orders
list, in both languages, with axe-core on the customer's page and the editor."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import axe_violations, log_in, screenshot
from vinculo.contacts.services import account_create, contact_create
from vinculo.core.models import User
from vinculo.core.services import workspace_create
from vinculo.sales.models import Deal, Product, Quote, QuoteLine, QuoteStatus, Stage
from vinculo.sales.quotes import links, services

from .conftest import make_pipeline

pytestmark = pytest.mark.browser
PASSWORD = "correct horse battery staple"
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def crm(transactional_db):
    workspace = workspace_create(name="Acme Ltda", slug="acme", admin_email="ana@acme.example.com")
    user = User.objects.get(email="ana@acme.example.com")
    user.full_name = "Ana Lima"
    user.time_zone = "America/Sao_Paulo"
    user.set_password(PASSWORD)
    user.save()
    account = account_create(
        workspace=workspace,
        actor=user,
        data={"name": "Padaria Pão Doce", "city": "São Paulo", "state": "SP", "country": "BR"},
    )
    contact = contact_create(
        workspace=workspace,
        actor=user,
        data={
            "first_name": "José",
            "last_name": "Conceição",
            "email": "jose@paodoce.example.com",
            "account_id": account.pk,
        },
    )
    pipeline = make_pipeline(workspace)
    stage = Stage.objects.for_workspace(workspace).filter(pipeline=pipeline).order_by("position")[1]
    products = [
        Product.objects.for_workspace(workspace).create(
            workspace=workspace, name=name, code=code, unit_price=D(price), tax_rate=D(tax)
        )
        for name, code, price, tax in (
            ("Forno combinado 10 GN", "FC-10", "18900.00", "12"),
            ("Instalação e treinamento", "SRV-1", "1200.00", "5"),
            ("Contrato de manutenção anual", "MNT-12", "2400.00", "0"),
        )
    ]

    def quote(send: bool) -> Quote:
        deal = Deal.objects.for_workspace(workspace).create(
            workspace=workspace,
            name="Padaria Pão Doce: forno novo",
            pipeline=pipeline,
            stage=stage,
            owner=user,
            contact=contact,
            account=account,
        )
        made = services.quote_create(
            workspace=workspace,
            actor=user,
            deal_id=deal.pk,
            data={
                "terms": "Pagamento em 3 parcelas. Entrega em 20 dias úteis.",
                "lines": [
                    {"product_id": products[0].pk, "quantity": "2", "discount_percent": "5"},
                    {"product_id": products[1].pk},
                    {"product_id": products[2].pk},
                ],
            },
        )
        if send:
            made = services.quote_send(
                workspace=workspace, actor=user, quote_id=made.pk, base_url="http://testserver/"
            )
        return made

    return {"workspace": workspace, "user": user, "contact": contact, "quote": quote}


def _settle(tab) -> None:
    tab.evaluate("document.activeElement && document.activeElement.blur()")


@pytest.mark.parametrize("language", ["en", "pt-br"])
def test_editor_print_and_orders(page, crm, language):
    user = crm["user"]
    user.language = language
    user.save(update_fields=["language"])
    draft = crm["quote"](send=False)
    log_in(page, user.email, PASSWORD)
    page.goto(f"{page.base_url}/quotes/{draft.pk}/")
    total = page.locator("#total-total")
    before = total.inner_text()
    line = QuoteLine.all_tenants.filter(quote=draft).order_by("position").first()
    quantity = page.locator(f"#line-{line.pk}-quantity")
    quantity.fill("3")
    quantity.press("Tab")
    expect(total).not_to_have_text(before)
    draft.refresh_from_db()
    # 3 × 18,900.00 = 56,700.00 − 5% = 53,865.00 + 12% tax = 60,328.80; + 1,260.00; + 2,400.00
    assert draft.total == D("63988.80")
    expect(page.locator("#head-total")).to_have_text(total.inner_text())
    _settle(page)
    screenshot(page, f"quote-editor-{language}")
    assert axe_violations(page) == []

    page.goto(f"{page.base_url}/quotes/{draft.pk}/print")
    expect(page.locator(".quote-document")).to_be_visible()
    screenshot(page, f"quote-print-{language}")

    accepted = crm["quote"](send=True)
    services.quote_answer(
        workspace=crm["workspace"],
        quote_id=accepted.pk,
        public_key=accepted.public_key,
        accept=True,
        signer_name="José Conceição",
    )
    services.order_create(
        workspace=crm["workspace"],
        actor=user,
        data={
            "contact_id": crm["contact"].pk,
            "channel": "store",
            "ordered_at": "2025-08-14",
            "lines": [
                {
                    "description": "Fermento biológico 10 kg",
                    "quantity": "4",
                    "unit_price": "189.90",
                },
                {"description": "Formas de pão (caixa)", "unit_price": "320.00"},
            ],
        },
    )
    page.goto(f"{page.base_url}/contacts/{crm['contact'].pk}/")
    panel = page.locator("#record-orders .purchase-summary")
    expect(panel).to_be_visible()
    page.locator("#record-orders").scroll_into_view_if_needed()
    _settle(page)
    page.locator("#record-orders").screenshot(
        path=str(screenshot.__globals__["SCREENSHOTS"] / f"orders-panel-{language}.png")
    )
    screenshot(page, f"contact-with-orders-{language}")

    page.goto(f"{page.base_url}/orders/")
    expect(page.locator(".orders-table")).to_be_visible()
    screenshot(page, f"orders-list-{language}")
    page.goto(f"{page.base_url}/quotes/")
    screenshot(page, f"quotes-list-{language}")


@pytest.mark.parametrize(("language", "locale"), [("en", "en-US"), ("pt-br", "pt-BR")])
def test_the_customer_accepts_and_declines(browser, live_server, crm, language, locale):
    to_accept = crm["quote"](send=True)
    to_decline = crm["quote"](send=True)
    for viewport, name in (({"width": 1280, "height": 900}, "desktop"), (PHONE, "phone")):
        context = browser.new_context(viewport=viewport, locale=locale)
        visitor = context.new_page()
        visitor.goto(live_server.url + links.public_path(to_accept))
        expect(visitor.locator(".public-answer")).to_be_visible()
        screenshot(visitor, f"quote-public-{name}-{language}")
        if name == "desktop":
            assert axe_violations(visitor) == []
        context.close()

    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale=locale)
    visitor = context.new_page()
    visitor.goto(live_server.url + links.public_path(to_accept))
    visitor.locator(".answer-accept button[type=submit]").click()
    expect(visitor.locator("#signer-name-error")).to_be_visible()  # the name is required
    visitor.fill("#signer-name", "José Conceição")
    visitor.locator(".answer-accept button[type=submit]").click()
    expect(visitor.locator(".public-result.is-accepted")).to_be_visible()
    screenshot(visitor, f"quote-accepted-{language}")
    to_accept.refresh_from_db()
    assert to_accept.status == QuoteStatus.ACCEPTED

    visitor.goto(live_server.url + links.public_path(to_decline))
    visitor.fill("#decline-reason", "Vamos adiar a compra para o ano que vem.")
    visitor.once("dialog", lambda dialog: dialog.accept())
    visitor.locator(".answer-decline button[type=submit]").click()
    expect(visitor.locator(".public-result.is-declined")).to_be_visible()
    screenshot(visitor, f"quote-declined-{language}")
    to_decline.refresh_from_db()
    assert to_decline.status == QuoteStatus.DECLINED
    context.close()
