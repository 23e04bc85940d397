"""The deals pages: the board (paged columns, filters, moves by drag and drop and by the Move
menu, the lost reason), the list, a deal's page (facts in place, stage bar, history, products,
won and lost), the new-deal form, a contact's or account's deals, pipeline settings, products
and price lists."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest
from django.test import Client

from tests.sales.deals.conftest import HTMX, column_ids
from vinculo.core.roles import Role
from vinculo.sales.deals import services
from vinculo.sales.models import Deal, DealStatus, Pipeline, PriceList, Product, Stage


def htmx(target: str) -> dict[str, str]:
    return {**HTMX, "HTTP_HX_TARGET": target}


def card_ids(html: str, stage: Stage) -> list[int]:
    """The cards of one board column, in order."""
    column = html.split(f'data-stage-id="{stage.pk}"', 1)[1].split("</ul>", 1)[0]
    return [int(i) for i in re.findall(r'data-deal="(\d+)"', column)]


# --- the board ------------------------------------------------------------------------------------


def test_board_shows_a_column_per_stage_with_counts_amounts_and_cards(
    admin_client: Client, deal_factory, stages, account
):
    deal_factory(name="Frota", amount="1000", account_id=account.pk)
    deal_factory(name="Sistema", amount="500")
    proposal = deal_factory(name="Consultoria", amount="2000")
    services.deal_move(
        workspace=stages["new"].workspace,
        actor=None,
        deal_id=proposal.pk,
        stage_id=stages["proposal"].pk,
    )
    response = admin_client.get("/deals/")
    assert response.status_code == 200
    html = response.content.decode()
    for stage in stages.values():
        assert f'id="column-{stage.pk}"' in html
    assert card_ids(html, stages["new"]) == [
        d.pk for d in Deal.objects.filter(stage=stages["new"]).order_by("position")
    ]
    assert card_ids(html, stages["proposal"]) == [proposal.pk]
    assert "2 deals" in html and "1 deal" in html
    assert "R$ 1,500.00" in html  # the New column's amount
    assert "R$ 1,000.00" in html  # Proposal weighted at 50 %
    assert "Acme Comércio" in html
    # Every card can be moved without dragging: a Move menu with the stages.
    assert html.count("data-move-form") == 3
    assert "sortable" not in html  # the library comes with the board's module, not inline


def test_columns_are_paged_and_show_more_loads_the_next_cards(
    admin_client: Client, deal_factory, stages
):
    deals = [deal_factory(name=f"D{i:02}") for i in range(25)]
    html = admin_client.get("/deals/").content.decode()
    first = card_ids(html, stages["new"])
    assert len(first) == 20
    assert first == [d.pk for d in reversed(deals)][:20]
    more = re.search(r'hx-get="(/deals/board/stages/\d+/\?cursor=[^"]+)"', html).group(1)
    response = admin_client.get(more.replace("&amp;", "&"), **HTMX)
    assert response.status_code == 200
    rest = [int(i) for i in re.findall(r'data-deal="(\d+)"', response.content.decode())]
    assert rest == [d.pk for d in reversed(deals)][20:]
    assert "Show more" not in response.content.decode()


def test_board_filters_by_owner_and_words(admin_client, deal_factory, stages, make_member):
    rep = make_member("rep@acme.test", Role.SALES)
    mine = deal_factory(name="Renovação frota", owner_id=rep.pk)
    deal_factory(name="Outro")
    html = admin_client.get(f"/deals/?owner={rep.pk}").content.decode()
    assert card_ids(html, stages["new"]) == [mine.pk]
    response = admin_client.get("/deals/?q=renovacao", **htmx("board"))
    assert card_ids(response.content.decode(), stages["new"]) == [mine.pk]
    assert response["HX-Push-Url"].startswith("/deals/?pipeline=")
    # A bad filter is said, and the board still shows.
    response = admin_client.get("/deals/?owner=someone")
    assert response.status_code == 422
    assert "Enter a numeric id." in response.content.decode()


def test_board_queries_do_not_grow_with_deals(
    admin_client, workspace, deal_factory, stages, make_member, django_assert_max_num_queries
):
    reps = [make_member(f"rep{i}@acme.test") for i in range(3)]
    for i in range(30):
        deal_factory(owner_id=reps[i % 3].pk, amount=str(i))
    for stage in ("qualified", "proposal", "won"):
        for deal in Deal.objects.filter(stage=stages["new"])[:5]:
            services.deal_move(
                workspace=workspace,
                actor=None,
                deal_id=deal.pk,
                stage_id=stages[stage].pk,
            )
    admin_client.get("/deals/")
    # Session, user, membership, default pipeline, pipelines + stages, two totals, a query per
    # column with cards, lost reasons, members, teams.
    with django_assert_max_num_queries(17):
        response = admin_client.get("/deals/")
    assert response.status_code == 200


def test_moving_by_drag_and_drop_answers_the_columns_figures(
    admin_client, workspace, deal_factory, stages
):
    a, b, c = deal_factory(amount="100"), deal_factory(amount="200"), deal_factory(amount="300")
    target = stages["qualified"]
    services.deal_move(workspace=workspace, actor=None, deal_id=a.pk, stage_id=target.pk)
    services.deal_move(workspace=workspace, actor=None, deal_id=b.pk, stage_id=target.pk)
    response = admin_client.post(
        f"/deals/{c.pk}/move",
        {"stage": target.pk, "before": b.pk, "after": a.pk},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["ok"] and body["stage"] == target.pk
    figures = {c["stage"]: c for c in body["columns"]}
    assert figures[stages["new"].pk]["count"] == 0
    assert figures[target.pk]["count"] == 3
    assert figures[target.pk]["amount"] == "R$ 600.00"
    assert figures[target.pk]["weighted"] == "R$ 150.00"
    assert column_ids(workspace, target) == [b.pk, c.pk, a.pk]


def test_dropping_on_a_lost_column_needs_a_reason(admin_client, workspace, deal_factory, stages):
    deal = deal_factory()
    response = admin_client.post(
        f"/deals/{deal.pk}/move", {"stage": stages["lost"].pk}, HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 422
    assert response.json()["errors"] == {"lost_reason": ["Say why the deal was lost."]}
    assert Deal.objects.get(pk=deal.pk).status == DealStatus.OPEN
    response = admin_client.post(
        f"/deals/{deal.pk}/move",
        {"stage": stages["lost"].pk, "lost_reason": "No budget"},
        HTTP_ACCEPT="application/json",
    )
    assert response.json()["status"] == "lost"
    assert Deal.objects.get(pk=deal.pk).lost_reason == "No budget"


def test_the_move_menu_works_without_javascript(admin_client, workspace, deal_factory, stages):
    deal = deal_factory()
    response = admin_client.post(
        f"/deals/{deal.pk}/move", {"stage": stages["proposal"].pk, "next": "/deals/"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/deals/"
    assert Deal.objects.get(pk=deal.pk).stage_id == stages["proposal"].pk
    # A lost stage without a reason: the page asks for it, naming the field.
    response = admin_client.post(f"/deals/{deal.pk}/move", {"stage": stages["lost"].pk})
    assert response.status_code == 422
    html = response.content.decode()
    assert "Say why the deal was lost." in html
    assert 'name="lost_reason"' in html
    page = admin_client.get(f"/deals/{deal.pk}/move?stage={stages['lost'].pk}")
    assert page.status_code == 200
    assert "A lost deal needs a reason." in page.content.decode()


def test_read_only_sees_the_board_without_moves(browser_client, make_member, deal_factory):
    viewer = make_member("viewer@acme.test", Role.READ_ONLY)
    deal_factory()
    html = browser_client(viewer).get("/deals/").content.decode()
    assert "data-move-form" not in html
    assert "data-can-move" not in html
    assert "New deal" not in html


# --- the list -------------------------------------------------------------------------------------


def test_list_filters_sorts_and_loads_more(admin_client, deal_factory, stages):
    for i in range(55):
        deal_factory(name=f"Deal {i:02}", amount=str(i))
    response = admin_client.get("/deals/list/?sort=name")
    html = response.content.decode()
    names = re.findall(r'class="record-link" href="[^"]+">([^<]+)</a>', html)
    assert names[:3] == ["Deal 00", "Deal 01", "Deal 02"] and len(names) == 50
    more = re.search(r'hx-get="(/deals/list/\?[^"]+cursor=[^"]+)"', html).group(1)
    rest = admin_client.get(more.replace("&amp;", "&"), **htmx("more-row")).content.decode()
    assert re.findall(r'class="record-link" href="[^"]+">([^<]+)</a>', rest) == [
        f"Deal {i}" for i in range(50, 55)
    ]
    html = admin_client.get("/deals/list/?q=deal 07").content.decode()
    assert re.findall(r'class="record-link" href="[^"]+">([^<]+)</a>', html) == ["Deal 07"]
    response = admin_client.get("/deals/list/?close_after=soon")
    assert response.status_code == 422
    assert "Enter a date as YYYY-MM-DD." in response.content.decode()


def test_list_empty_state(admin_client, pipeline):
    html = admin_client.get("/deals/list/").content.decode()
    assert "Create your first deal" in html


# --- a deal's page --------------------------------------------------------------------------------


def test_deal_page_shows_stage_bar_history_and_products(
    admin_client, workspace, deal_factory, stages, product_factory, contact
):
    deal = deal_factory(name="Big one", contact_id=contact.pk)
    services.deal_move(
        workspace=workspace, actor=None, deal_id=deal.pk, stage_id=stages["proposal"].pk
    )
    product = product_factory(name="Licença", unit_price="250")
    services.deal_line_add(
        workspace=workspace,
        actor=None,
        deal_id=deal.pk,
        data={"product_id": product.pk, "quantity": 2},
    )
    response = admin_client.get(f"/deals/{deal.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'aria-current="step"' in html
    assert html.count('class="stage-step"') == 6
    assert "Stage history" in html
    history = html.split('id="deal-history"', 1)[1]
    assert history.index(stages["new"].name) < history.index(stages["proposal"].name)
    assert "Licença" in html and "R$ 500.00" in html
    assert f'href="/contacts/{contact.pk}/"' in html
    # The slots other areas fill.
    assert f'hx-get="/records/deal/{deal.pk}/timeline"' in html


def test_a_fact_is_edited_in_place(admin_client, deal_factory):
    deal = deal_factory(name="Old name")
    form = admin_client.get(f"/deals/{deal.pk}/fields/name", **HTMX)
    assert 'name="name"' in form.content.decode()
    response = admin_client.post(f"/deals/{deal.pk}/fields/name", {"name": "New name"}, **HTMX)
    assert response.status_code == 200
    assert "New name" in response.content.decode()
    assert json.loads(response["HX-Trigger"]) == {"record-changed": True, "timeline-changed": True}
    response = admin_client.post(f"/deals/{deal.pk}/fields/amount", {"amount": "-5"}, **HTMX)
    assert response.status_code == 422
    assert "greater than or equal to 0" in response.content.decode()
    response = admin_client.post(
        f"/deals/{deal.pk}/fields/expected_close_date",
        {"expected_close_date": "2026-05-01"},
        **HTMX,
    )
    assert response.status_code == 200
    assert str(Deal.objects.get(pk=deal.pk).expected_close_date) == "2026-05-01"


def test_won_and_lost_from_the_deal_page(admin_client, deal_factory, stages):
    deal = deal_factory()
    response = admin_client.post(f"/deals/{deal.pk}/close", {"won": "1"})
    assert response.status_code == 302
    assert Deal.objects.get(pk=deal.pk).status == DealStatus.WON
    other = deal_factory()
    response = admin_client.post(f"/deals/{other.pk}/close", {"lost_reason": ""})
    assert response.status_code == 422
    assert "This field is required." in response.content.decode()
    admin_client.post(f"/deals/{other.pk}/close", {"lost_reason": "Timing"})
    assert Deal.objects.get(pk=other.pk).lost_reason == "Timing"


def test_lines_are_added_and_removed_in_place(admin_client, deal_factory, product_factory):
    deal = deal_factory()
    product = product_factory(name="Plano", unit_price="99.90")
    response = admin_client.post(
        f"/deals/{deal.pk}/lines", {"product": product.pk, "quantity": "3"}, **HTMX
    )
    assert response.status_code == 200
    assert "R$ 299.70" in response.content.decode()
    assert Deal.objects.get(pk=deal.pk).amount == Decimal("299.70")
    response = admin_client.post(f"/deals/{deal.pk}/lines", {"quantity": "1"}, **HTMX)
    assert response.status_code == 422
    assert "Describe the line or choose a product." in response.content.decode()
    line = deal.lines.get()
    response = admin_client.post(f"/deals/{deal.pk}/lines/{line.pk}/remove", **HTMX)
    assert response.status_code == 200
    assert not deal.lines.exists()


def test_deleted_deal_shows_restore(admin_client, deal_factory):
    deal = deal_factory()
    admin_client.post(f"/deals/{deal.pk}/delete")
    html = admin_client.get(f"/deals/{deal.pk}/").content.decode()
    assert "This deal was deleted on" in html
    admin_client.post(f"/deals/{deal.pk}/restore")
    assert Deal.objects.get(pk=deal.pk).deleted_at is None


# --- the new-deal form ----------------------------------------------------------------------------


def test_new_deal_form_prefilled_from_a_contact(admin_client, contact, account, stages):
    contact.account = account
    contact.save()
    response = admin_client.get(f"/deals/new?contact={contact.pk}&account={account.pk}")
    html = response.content.decode()
    assert 'value="Ana Souza"' in html and 'value="Acme Comércio"' in html
    response = admin_client.post(
        "/deals/new",
        {
            "name": "Contrato anual",
            "stage": stages["qualified"].pk,
            "amount": "12000",
            "currency": "BRL",
            "forecast_category": "commit",
            "contact": contact.pk,
            "account": account.pk,
        },
    )
    assert response.status_code == 302
    deal = Deal.objects.get(name="Contrato anual")
    assert response["Location"] == f"/deals/{deal.pk}/"
    assert (deal.contact_id, deal.account_id, deal.stage_id) == (
        contact.pk,
        account.pk,
        stages["qualified"].pk,
    )


def test_new_deal_errors_name_their_fields(admin_client, stages):
    response = admin_client.post(
        "/deals/new",
        {
            "name": "",
            "stage": stages["lost"].pk,
            "currency": "BRL",
            "forecast_category": "pipeline",
            "contact": "999999",
        },
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert 'id="deal-name_error"' in html
    assert "There is no such contact." not in html or "has-error" in html
    assert not Deal.objects.exists()
    response = admin_client.post(
        "/deals/new",
        {
            "name": "x",
            "stage": stages["lost"].pk,
            "currency": "BRL",
            "forecast_category": "pipeline",
        },
    )
    assert response.status_code == 422
    assert "Say why the deal was lost." in response.content.decode()


# --- a contact's or an account's deals ------------------------------------------------------------


def test_record_deals_lists_open_first_with_a_prefilled_new_deal(
    admin_client, workspace, deal_factory, contact
):
    won = deal_factory(name="Earlier", contact_id=contact.pk, amount="10")
    services.deal_close(workspace=workspace, actor=None, deal_id=won.pk, won=True)
    deal_factory(name="Current", contact_id=contact.pk, amount="20")
    deal_factory(name="Not theirs")
    response = admin_client.get(f"/records/contact/{contact.pk}/deals", **HTMX)
    html = response.content.decode()
    assert html.strip().startswith(
        '<section class="card related-card record-deals" id="record-deals"'
    )
    assert re.findall(r'class="record-deal-name" href="[^"]+">([^<]+)</a>', html) == [
        "Current",
        "Earlier",
    ]
    assert f"/deals/new?contact={contact.pk}" in html
    assert admin_client.get(f"/records/lead/{contact.pk}/deals").status_code == 404


# --- settings -------------------------------------------------------------------------------------


def test_pipeline_settings(admin_client, workspace, pipeline, stages, deal_factory):
    html = admin_client.get("/deals/pipelines/").content.decode()
    assert pipeline.name in html
    response = admin_client.post("/deals/pipelines/", {"name": "Parcerias"})
    made = Pipeline.objects.get(name="Parcerias")
    assert response["Location"] == f"/deals/pipelines/{made.pk}/"
    assert admin_client.post("/deals/pipelines/", {"name": ""}).status_code == 422
    response = admin_client.post(
        f"/deals/stages/{stages['new'].pk}",
        {
            f"s{stages['new'].pk}-name": "Entrada",
            f"s{stages['new'].pk}-probability": "150",
            f"s{stages['new'].pk}-kind": "open",
        },
    )
    assert response.status_code == 422
    assert "Ensure this value is less than or equal to 100." in response.content.decode()
    admin_client.post(
        f"/deals/stages/{stages['new'].pk}",
        {
            f"s{stages['new'].pk}-name": "Entrada",
            f"s{stages['new'].pk}-probability": "5",
            f"s{stages['new'].pk}-kind": "open",
        },
    )
    assert Stage.objects.get(pk=stages["new"].pk).name == "Entrada"
    admin_client.post(f"/deals/stages/{stages['qualified'].pk}", {"move": "up"})
    assert Stage.objects.get(pk=stages["qualified"].pk).position == 0
    deal_factory()
    response = admin_client.post(f"/deals/pipelines/{pipeline.pk}/delete", follow=True)
    assert "open deal" in response.content.decode()
    assert Pipeline.objects.get(pk=pipeline.pk).deleted_at is None
    response = admin_client.post(f"/deals/stages/{stages['won'].pk}/delete")
    assert response.status_code == 422
    assert "at least one open, one won and one lost stage" in response.content.decode()


def test_a_sales_rep_cannot_change_pipelines(browser_client, make_member, pipeline):
    rep = make_member("rep@acme.test", Role.SALES)
    client = browser_client(rep)
    assert client.get("/deals/pipelines/").status_code == 200
    assert client.post("/deals/pipelines/", {"name": "x"}).status_code == 403


def test_lost_reasons_page(admin_client, workspace):
    admin_client.post("/deals/lost-reasons/", {"name": "Preço"})
    admin_client.post("/deals/lost-reasons/", {"name": "Prazo"})
    response = admin_client.post("/deals/lost-reasons/", {"name": "preço"})
    assert response.status_code == 422
    assert "This reason is already in the list." in response.content.decode()
    html = admin_client.get("/deals/lost-reasons/").content.decode()
    assert html.index("Preço") < html.index("Prazo")


# --- products and price lists ---------------------------------------------------------------------


def test_products_pages(admin_client, workspace, product_factory):
    product_factory(name="Consultoria", code="CONS", unit_price="150")
    response = admin_client.post(
        "/products/new",
        {
            "name": "Licença",
            "code": "cons",
            "unit_price": "99",
            "currency": "BRL",
            "is_active": "on",
        },
    )
    assert response.status_code == 422
    assert "Another product has this code." in response.content.decode()
    admin_client.post(
        "/products/new",
        {
            "name": "Licença",
            "code": "LIC",
            "unit_price": "99",
            "currency": "BRL",
            "is_active": "on",
        },
    )
    html = admin_client.get("/products/?q=lic").content.decode()
    assert "Licença" in html and "Consultoria" not in html
    licence = Product.objects.get(code="LIC")
    response = admin_client.post(f"/products/{licence.pk}/active", {"active": "0"}, **HTMX)
    assert 'aria-checked="false"' in response.content.decode()
    assert Product.objects.get(pk=licence.pk).is_active is False
    html = admin_client.get("/products/?active=1").content.decode()
    assert "Licença" not in html


def test_price_list_pages(admin_client, workspace, product_factory):
    product = product_factory(name="Plano", unit_price="100")
    response = admin_client.post(
        "/price-lists/", {"name": "Parceiros", "currency": "BRL", "is_default": "on"}
    )
    price_list = PriceList.objects.get()
    assert response["Location"] == f"/price-lists/{price_list.pk}/"
    response = admin_client.post(
        f"/price-lists/{price_list.pk}/items", {"product": product.pk, "unit_price": "80"}
    )
    assert response.status_code == 302
    html = admin_client.get(f"/price-lists/{price_list.pk}/").content.decode()
    assert "R$ 80.00" in html and "R$ 100.00" in html
    response = admin_client.post(
        f"/price-lists/{price_list.pk}/",
        {
            "name": "Parceiros",
            "currency": "BRL",
            "valid_from": "2026-02-01",
            "valid_until": "2026-01-01",
        },
    )
    assert response.status_code == 422
    assert "The end comes before the start." in response.content.decode()


@pytest.mark.parametrize(
    "url",
    [
        "/deals/",
        "/deals/list/",
        "/deals/new",
        "/deals/pipelines/",
        "/deals/lost-reasons/",
        "/products/",
        "/products/new",
        "/price-lists/",
    ],
)
def test_pages_answer(admin_client, pipeline, url):
    assert admin_client.get(url).status_code == 200
