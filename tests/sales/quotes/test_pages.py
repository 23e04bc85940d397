"""The staff pages: quotes list, the editor (live totals through htmx, 422 with field
messages), sending, the printable quote and PDF, the deal slot, orders list and detail, and a
record's "What they bought"; each with a leak test and a query-count guard."""

from __future__ import annotations

import re
from decimal import Decimal as D

import pytest
from django.core import mail
from django.test import Client

from vinculo.core.roles import Role
from vinculo.sales.models import Order, Quote, QuoteStatus
from vinculo.sales.quotes import pdf, services

from .conftest import HTMX

LIST_BUDGET = 14
PAGE_BUDGET = 16


@pytest.fixture
def browser(client: Client, admin) -> Client:
    admin.language = "en"
    admin.save(update_fields=["language"])
    client.force_login(admin)
    return client


def text(response) -> str:
    return re.sub(r"[ \t\r\n]+", " ", response.content.decode())


# ---------------------------------------------------------------------------------------------
# The list


def test_the_list_shows_quotes_and_filters_by_status(browser, workspace, admin, draft, sent_other):
    r = browser.get("/quotes/")
    assert r.status_code == 200
    page = text(r)
    assert "Q-0001" in page and f"#{draft.pk}" in page
    assert "R$\xa0348.20" in page
    assert 'href="/quotes/"' in page  # the sidebar links the list
    r = browser.get("/quotes/?status=sent", **HTMX)
    assert "Q-0001" in text(r) and f"#{draft.pk}" not in text(r)
    assert "<html" not in r.content.decode()  # an htmx request gets the results only


def test_the_empty_list_says_how_to_start(browser):
    assert "No quotes yet" in text(browser.get("/quotes/"))


def test_the_list_pages_with_a_cursor(browser, workspace, admin, deal):
    for _ in range(55):
        services.quote_create(workspace=workspace, actor=admin, deal_id=deal.pk)
    first = text(browser.get("/quotes/"))
    assert first.count('class="record-link"') == 50
    more = re.search(r'hx-get="(/quotes/\?after=[^"]+)"', first).group(1)
    rest = text(browser.get(more.replace("&amp;", "&"), **HTMX))
    assert rest.count('class="record-link"') == 5


@pytest.fixture
def sent_other(workspace, admin, deal_factory, customer):
    deal = deal_factory(contact=customer)
    quote = services.quote_create(
        workspace=workspace,
        actor=admin,
        deal_id=deal.pk,
        data={"lines": [{"description": "Support", "quantity": "1", "unit_price": "348.20"}]},
    )
    return services.quote_send(
        workspace=workspace, actor=admin, quote_id=quote.pk, base_url="http://testserver/"
    )


# ---------------------------------------------------------------------------------------------
# The editor


def test_the_editor_shows_lines_and_totals(browser, draft):
    page = text(browser.get(f"/quotes/{draft.pk}/"))
    assert 'name="quantity" value="3"' in page
    assert 'name="unit_price" value="49.90"' in page
    assert 'id="total-total">R$\xa0348.20' in page
    assert "Send to the customer" in page and "Add line" in page


def test_the_editor_speaks_portuguese(client, admin, draft):
    admin.language = "pt-br"
    admin.save(update_fields=["language"])
    client.force_login(admin)
    page = text(client.get(f"/quotes/{draft.pk}/"))
    assert 'name="unit_price" value="49,90"' in page
    assert "R$\xa0348,20" in page


def test_changing_a_line_answers_the_lines_with_new_totals(browser, draft, gadget):
    line = draft.lines.get(product=gadget)
    r = browser.post(
        f"/quotes/{draft.pk}/lines/{line.pk}",
        {
            "description": "Gadget",
            "quantity": "2",
            "unit_price": "200,00",
            "discount_percent": "0",
            "tax_rate": "0",
        },
        **HTMX,
    )
    assert r.status_code == 200
    page = text(r)
    assert 'id="total-total">R$\xa0548.20' in page
    assert 'id="head-total" hx-swap-oob="true"' in page
    assert Quote.objects.get(pk=draft.pk).total == D("548.20")


def test_a_bad_line_value_comes_back_next_to_its_field(browser, draft):
    line = draft.lines.first()
    r = browser.post(
        f"/quotes/{draft.pk}/lines/{line.pk}",
        {"description": "Widget", "quantity": "lots", "unit_price": "49.90"},
        **HTMX,
    )
    assert r.status_code == 422
    page = text(r)
    assert f'id="line-{line.pk}-quantity-error">Must be a number.' in page
    assert 'value="lots"' in page  # what was typed is kept
    assert Quote.objects.get(pk=draft.pk).total == D("348.20")


def test_adding_and_removing_lines(browser, draft, widget):
    r = browser.post(
        f"/quotes/{draft.pk}/lines/add", {"product_id": str(widget.pk), "quantity": "1"}, **HTMX
    )
    assert r.status_code == 200 and draft.lines.count() == 3
    bad = browser.post(f"/quotes/{draft.pk}/lines/add", {"product_id": "", "quantity": "1"}, **HTMX)
    assert bad.status_code == 422
    assert 'id="new-description-error">Give a description, or pick a product.' in text(bad)
    last = draft.lines.order_by("-position").first()
    browser.post(f"/quotes/{draft.pk}/lines/{last.pk}/move", {"direction": "up"}, **HTMX)
    assert list(draft.lines.order_by("position").values_list("pk", flat=True))[1] == last.pk
    assert browser.post(f"/quotes/{draft.pk}/lines/{last.pk}/remove", **HTMX).status_code == 200
    assert draft.lines.count() == 2


def test_header_errors_are_422_with_messages(browser, draft):
    r = browser.post(
        f"/quotes/{draft.pk}/header",
        {"title": "New title", "valid_until": "2001-01-01", "currency": "BRL", "terms": ""},
        **HTMX,
    )
    assert r.status_code == 422
    assert 'id="quote-valid-until-error">The validity cannot end in the past.' in text(r)
    ok = browser.post(
        f"/quotes/{draft.pk}/header",
        {"title": "New title", "currency": "BRL", "terms": "Net 30", "price_list_id": ""},
        **HTMX,
    )
    assert ok.status_code == 200 and "Saved." in text(ok)
    assert Quote.objects.get(pk=draft.pk).terms == "Net 30"


def test_sending_from_the_page(browser, draft, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        r = browser.post(f"/quotes/{draft.pk}/send")
    assert r.status_code == 302 and r["Location"].endswith("?sent=1")
    page = text(browser.get(r["Location"]))
    assert "The quote was emailed to ana@souza.test." in page
    assert "Customer link" in page and "/q/" in page
    assert len(mail.outbox) == 1


def test_a_send_that_cannot_happen_says_why(browser, workspace, admin, deal):
    empty = services.quote_create(workspace=workspace, actor=admin, deal_id=deal.pk)
    r = browser.post(f"/quotes/{empty.pk}/send")
    assert r.status_code == 422
    assert "Add at least one line before sending the quote." in text(r)


def test_new_quote_from_a_deal_and_the_deal_slot(browser, deal, widget):
    from .conftest import add_deal_line

    add_deal_line(deal, widget)
    r = browser.post("/quotes/new", {"deal": str(deal.pk)})
    quote = Quote.objects.get(deal=deal)
    assert r.status_code == 302 and r["Location"] == f"/quotes/{quote.pk}/"
    slot = text(browser.get(f"/deals/{deal.pk}/quotes", **HTMX))
    assert f'href="/quotes/{quote.pk}/"' in slot and "New quote" in slot


def test_readers_see_quotes_but_cannot_change_them(client, make_member, draft):
    reader = make_member("reader@acme.test", Role.READ_ONLY)
    client.force_login(reader)
    page = text(client.get(f"/quotes/{draft.pk}/"))
    assert "Add line" not in page and "Send to the customer" not in page
    assert client.post(f"/quotes/{draft.pk}/send").status_code == 403
    assert "New quote" not in text(client.get(f"/deals/{draft.deal_id}/quotes"))


def test_cancel_from_the_page(browser, sent):
    r = browser.post(f"/quotes/{sent.pk}/cancel")
    assert r.status_code == 302
    assert Quote.objects.get(pk=sent.pk).status == QuoteStatus.CANCELLED


# ---------------------------------------------------------------------------------------------
# Printable quote and PDF


def test_the_printable_quote(browser, sent):
    page = text(browser.get(f"/quotes/{sent.pk}/print"))
    assert "Quote Q-0001" in page and "Acme Ltda" in page
    assert "Souza Comércio" in page and "Ana Souza" in page
    assert "Widget" in page and "R$\xa0348.20" in page
    assert "sales/quotes.print.css" in page


def test_without_weasyprint_there_is_no_pdf(browser, sent, monkeypatch):
    monkeypatch.setattr(pdf, "_weasyprint", lambda: None)
    page = text(browser.get(f"/quotes/{sent.pk}/print"))
    assert "Print or save as PDF" in page and "Download PDF" not in page
    assert "Download PDF" not in text(browser.get(f"/quotes/{sent.pk}/"))
    assert browser.get(f"/quotes/{sent.pk}/pdf").status_code == 404


def test_the_pdf(browser, sent):
    pytest.importorskip("weasyprint")
    if not pdf.pdf_available():
        pytest.skip("WeasyPrint's system libraries are missing")
    r = browser.get(f"/quotes/{sent.pk}/pdf")
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
    assert r.content.startswith(b"%PDF") and len(r.content) > 2000
    assert 'filename="Q-0001.pdf"' in r["Content-Disposition"]
    assert "Download PDF" in text(browser.get(f"/quotes/{sent.pk}/print"))


# ---------------------------------------------------------------------------------------------
# Orders


@pytest.fixture
def orders(workspace, admin, customer, contact_factory):
    colleague = contact_factory(first_name="Bia", account=customer.account)
    made = []
    for contact, day, price in (
        (customer, "2025-01-10", "100"),
        (colleague, "2025-02-10", "50.50"),
        (customer, "2025-03-10", "20"),
    ):
        made.append(
            services.order_create(
                workspace=workspace,
                actor=admin,
                data={
                    "contact_id": contact.pk,
                    "ordered_at": day,
                    "channel": "store",
                    "lines": [
                        {"description": "Coffee", "quantity": "2", "unit_price": price},
                        {"description": "Filter", "unit_price": "5"},
                    ],
                },
            )
        )
    return made


def test_what_a_contact_bought(browser, customer, orders):
    services.order_cancel(
        workspace=customer.workspace, actor=None, order_id=orders[2].pk
    )  # cancelled orders do not count
    r = browser.get(f"/records/contact/{customer.pk}/orders", **HTMX)
    page = text(r)
    assert r.status_code == 200 and "What they bought" in page
    assert "O-0001" in page and "O-0003" not in page and "O-0002" not in page
    assert "R$\xa0205.00" in page  # 2 × 100 + 5
    assert "2 × Coffee, 1 × Filter" in page
    assert "Online store" in page


def test_an_accounts_history_includes_its_people(browser, customer, orders):
    page = text(browser.get(f"/records/account/{customer.account_id}/orders", **HTMX))
    assert page.index("O-0003") < page.index("O-0002") < page.index("O-0001")  # newest first
    # 205 + 106 + 45
    assert "R$\xa0356.00" in page and "<strong>3</strong>" in page
    assert "Bia" in page


def test_no_purchases_yet(browser, customer):
    assert "No purchases yet" in text(browser.get(f"/records/contact/{customer.pk}/orders"))


def test_orders_list_and_detail(browser, orders):
    page = text(browser.get("/orders/"))
    assert page.index("O-0003") < page.index("O-0001")
    filtered = text(browser.get("/orders/?channel=phone", **HTMX))
    assert "No orders match" in filtered
    detail = text(browser.get(f"/orders/{orders[0].pk}/"))
    assert "O-0001" in detail and "R$\xa0205.00" in detail and "Cancel order" in detail
    assert browser.post(f"/orders/{orders[0].pk}/cancel").status_code == 302
    assert Order.objects.get(pk=orders[0].pk).status == "cancelled"


# ---------------------------------------------------------------------------------------------
# Leaks and query counts


@pytest.fixture
def theirs(other_workspace, other_admin, deal_factory, contact_factory, account_factory):
    company = account_factory(ws=other_workspace)
    contact = contact_factory(ws=other_workspace, account=company)
    deal = deal_factory(ws=other_workspace, contact=contact)
    quote = services.quote_create(
        workspace=other_workspace,
        actor=other_admin,
        deal_id=deal.pk,
        data={"lines": [{"description": "Theirs", "unit_price": "5"}]},
    )
    order = services.order_create(
        workspace=other_workspace,
        actor=other_admin,
        data={"contact_id": contact.pk, "lines": [{"description": "Theirs", "unit_price": "5"}]},
    )
    return {"quote": quote, "order": order, "deal": deal, "contact": contact, "account": company}


def test_pages_of_another_workspace_answer_404(browser, draft, theirs):
    quote, order = theirs["quote"], theirs["order"]
    line = quote.lines.model.all_tenants.get(quote=quote)
    for url in (
        f"/quotes/{quote.pk}/",
        f"/quotes/{quote.pk}/print",
        f"/deals/{theirs['deal'].pk}/quotes",
        f"/orders/{order.pk}/",
        f"/records/contact/{theirs['contact'].pk}/orders",
        f"/records/account/{theirs['account'].pk}/orders",
    ):
        assert browser.get(url).status_code == 404, url
    for url in (
        f"/quotes/{quote.pk}/send",
        f"/quotes/{quote.pk}/cancel",
        f"/quotes/{quote.pk}/header",
        f"/quotes/{quote.pk}/lines/add",
        f"/quotes/{quote.pk}/lines/{line.pk}",
        f"/quotes/{quote.pk}/lines/{line.pk}/remove",
        f"/orders/{order.pk}/cancel",
    ):
        assert browser.post(url, {"description": "x", "unit_price": "1"}).status_code == 404, url
    assert "Theirs" not in text(browser.get("/quotes/")) and "Theirs" not in text(
        browser.get("/orders/")
    )
    r = browser.post("/quotes/new", {"deal": str(theirs["deal"].pk)})
    assert r.status_code == 404
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.DRAFT


@pytest.fixture
def many(workspace, admin, deal_factory, customer, widget, gadget):
    for i in range(60):
        deal = deal_factory(contact=customer, account=customer.account)
        services.quote_create(
            workspace=workspace,
            actor=admin,
            deal_id=deal.pk,
            data={"lines": [{"product_id": widget.pk}, {"product_id": gadget.pk}]},
        )
        services.order_create(
            workspace=workspace,
            actor=admin,
            data={
                "contact_id": customer.pk,
                "lines": [
                    {"description": f"Item {i}", "unit_price": "3"},
                    {"product_id": widget.pk},
                ],
            },
        )
    return deal


@pytest.mark.parametrize("url", ["/quotes/", "/quotes/?status=draft", "/orders/"])
def test_lists_cost_a_fixed_number_of_queries(browser, many, django_assert_max_num_queries, url):
    browser.get(url)
    with django_assert_max_num_queries(LIST_BUDGET):
        r = browser.get(url)
    assert r.status_code == 200 and text(r).count('class="record-link"') == 50


def test_pages_cost_a_fixed_number_of_queries(
    browser, many, customer, django_assert_max_num_queries
):
    quote = Quote.objects.filter(deal=many).get()
    order = Order.objects.order_by("-id").first()
    for url in (
        f"/quotes/{quote.pk}/",
        f"/quotes/{quote.pk}/print",
        f"/deals/{many.pk}/quotes",
        f"/orders/{order.pk}/",
        f"/records/contact/{customer.pk}/orders",
        f"/records/account/{customer.account_id}/orders",
    ):
        browser.get(url)
        with django_assert_max_num_queries(PAGE_BUDGET):
            assert browser.get(url).status_code == 200, url
