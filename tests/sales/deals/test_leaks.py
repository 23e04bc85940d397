"""No endpoint or page lets one workspace read or change another's pipelines, deals, products or
price lists: details answer 404 exactly like a record that does not exist, and lists never
show them."""

from __future__ import annotations

import pytest

from vinculo.sales.deals import services
from vinculo.sales.models import Deal, Stage


@pytest.fixture
def ours(workspace, admin, pipeline, deal_factory, product_factory, contact, account):
    deal = deal_factory(name="Segredo nosso", contact_id=contact.pk, account_id=account.pk)
    product = product_factory(name="Produto nosso")
    line = services.deal_line_add(
        workspace=workspace, actor=admin, deal_id=deal.pk, data={"product_id": product.pk}
    )
    price_list = services.price_list_create(workspace=workspace, actor=admin, data={"name": "PL"})
    services.price_list_item_set(
        workspace=workspace,
        actor=admin,
        price_list_id=price_list.pk,
        product_id=product.pk,
        unit_price="1",
    )
    reason = services.lost_reason_create(workspace=workspace, actor=admin, name="Nosso motivo")
    return {
        "deal": deal,
        "product": product,
        "line": line,
        "price_list": price_list,
        "pipeline": pipeline,
        "stage": Stage.objects.for_workspace(workspace).filter(pipeline=pipeline).first(),
        "reason": reason,
        "contact": contact,
        "account": account,
    }


def _not_found(response) -> None:
    assert response.status_code == 404, response.content
    assert response.json()["type"].endswith("/not-found")


def test_api_details_answer_404_to_another_workspace(api, other_key, ours):
    deal, product, price_list = ours["deal"], ours["product"], ours["price_list"]
    gets = [
        f"/api/v1/deals/{deal.pk}",
        f"/api/v1/deals/{deal.pk}/stage-history",
        f"/api/v1/deals/{deal.pk}/lines",
        f"/api/v1/products/{product.pk}",
        f"/api/v1/price-lists/{price_list.pk}",
        f"/api/v1/pipelines/{ours['pipeline'].pk}",
    ]
    for path in gets:
        _not_found(api.get(path, key=other_key))
    _not_found(api.patch(f"/api/v1/deals/{deal.pk}", {"name": "Hacked"}, key=other_key))
    _not_found(api.delete(f"/api/v1/deals/{deal.pk}", key=other_key))
    _not_found(api.post(f"/api/v1/deals/{deal.pk}/restore", key=other_key))
    _not_found(api.post(f"/api/v1/deals/{deal.pk}/close", {"won": True}, key=other_key))
    _not_found(
        api.post(
            f"/api/v1/deals/{deal.pk}/lines", {"description": "x", "unit_price": "1"}, key=other_key
        )
    )
    _not_found(api.delete(f"/api/v1/deals/{deal.pk}/lines/{ours['line'].pk}", key=other_key))
    _not_found(api.patch(f"/api/v1/products/{product.pk}", {"name": "x"}, key=other_key))
    _not_found(api.delete(f"/api/v1/price-lists/{price_list.pk}", key=other_key))
    _not_found(api.patch(f"/api/v1/pipelines/{ours['pipeline'].pk}", {"name": "x"}, key=other_key))
    _not_found(api.patch(f"/api/v1/stages/{ours['stage'].pk}", {"name": "x"}, key=other_key))
    _not_found(api.patch(f"/api/v1/lost-reasons/{ours['reason'].pk}", {"name": "x"}, key=other_key))
    # Moving our deal from their side: the deal is not found; their stage for our deal neither.
    their_stage = api.get("/api/v1/pipelines", key=other_key).json()["items"][0]["stages"][1]
    _not_found(
        api.post(f"/api/v1/deals/{deal.pk}/move", {"stage_id": their_stage["id"]}, key=other_key)
    )
    r = api.post(f"/api/v1/deals/{deal.pk}/move", {"stage_id": their_stage["id"]})
    assert r.status_code == 422
    assert Deal.objects.get(pk=deal.pk).name == "Segredo nosso"


def test_api_lists_never_show_another_workspace(api, other_key, ours):
    for path in (
        "/api/v1/deals",
        "/api/v1/products",
        "/api/v1/price-lists",
        "/api/v1/lost-reasons",
    ):
        assert api.get(path, key=other_key).json()["items"] == [], path
    assert api.get("/api/v1/deals", key=other_key, q="segredo").json()["items"] == []
    pipelines = api.get("/api/v1/pipelines", key=other_key).json()["items"]
    assert ours["pipeline"].pk not in [p["id"] for p in pipelines]


def test_links_to_another_workspace_records_are_refused(api, other_key, ours, other_workspace):
    r = api.post(
        "/api/v1/deals",
        {"name": "x", "contact_id": ours["contact"].pk, "account_id": ours["account"].pk},
        key=other_key,
    )
    assert r.status_code == 422
    assert {e["field"] for e in r.json()["errors"]} == {"contact_id", "account_id"}
    r = api.post("/api/v1/deals", {"name": "x", "stage_id": ours["stage"].pk}, key=other_key)
    assert {e["field"] for e in r.json()["errors"]} == {"stage_id"}
    assert not Deal.objects.for_workspace(other_workspace).exists()


def test_pages_answer_404_to_another_workspace(client, other_admin, ours):
    client.force_login(other_admin)
    deal = ours["deal"]
    for url in (
        f"/deals/{deal.pk}/",
        f"/deals/{deal.pk}/edit",
        f"/deals/{deal.pk}/move",
        f"/deals/{deal.pk}/fields/name",
        f"/deals/board/stages/{ours['stage'].pk}/",
        f"/deals/pipelines/{ours['pipeline'].pk}/",
        f"/deals/?pipeline={ours['pipeline'].pk}",
        f"/products/{ours['product'].pk}/edit",
        f"/price-lists/{ours['price_list'].pk}/",
    ):
        assert client.get(url).status_code == 404, url
    for url in (
        f"/deals/{deal.pk}/move",
        f"/deals/{deal.pk}/close",
        f"/deals/{deal.pk}/delete",
        f"/deals/{deal.pk}/lines",
        f"/products/{ours['product'].pk}/active",
        f"/price-lists/{ours['price_list'].pk}/items",
    ):
        assert client.post(url, {"stage": ours["stage"].pk, "won": "1"}).status_code in (
            404,
            422,
        ), url
    assert Deal.objects.get(pk=deal.pk).status == "open"
    html = client.get("/deals/list/?q=segredo").content.decode()
    assert "Segredo nosso" not in html
    html = client.get(f"/records/contact/{ours['contact'].pk}/deals").content.decode()
    assert "Segredo nosso" not in html
    assert "Produto nosso" not in client.get("/products/").content.decode()
    suggestions = client.get("/deals/contacts/suggest?q=ana").json()["items"]
    assert suggestions == []
