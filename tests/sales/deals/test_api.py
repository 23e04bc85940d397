"""The deals API: pipelines with stages, deals (filters, sorts, keyset pages, moves, closing,
history, lines), products and price lists, and the problems bad input gets."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest

from tests.sales.deals.conftest import column_ids, error_fields
from vinculo.core.roles import Role
from vinculo.sales.deals import services
from vinculo.sales.models import Deal, Stage


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["items"]]


# --- pipelines ------------------------------------------------------------------------------------


def test_pipelines_list_makes_the_default_one(api):
    r = api.get("/api/v1/pipelines")
    assert r.status_code == 200
    (pipeline,) = r.json()["items"]
    assert pipeline["is_default"] is True
    assert [(s["kind"], s["probability"]) for s in pipeline["stages"]] == [
        ("open", 10),
        ("open", 25),
        ("open", 50),
        ("open", 75),
        ("won", 100),
        ("lost", 0),
    ]


def test_pipeline_create_update_and_stage_rules(api, pipeline):
    r = api.post(
        "/api/v1/pipelines",
        {
            "name": "Renewals",
            "stages": [
                {"name": "Due", "probability": 60},
                {"name": "Renewed", "kind": "won"},
                {"name": "Churned", "kind": "lost"},
            ],
        },
    )
    assert r.status_code == 201, r.content
    made = r.json()
    assert [s["name"] for s in made["stages"]] == ["Due", "Renewed", "Churned"]
    assert made["is_default"] is False
    r = api.patch(f"/api/v1/pipelines/{made['id']}", {"is_default": True, "name": "Renovações"})
    assert r.status_code == 200
    assert (r.json()["name"], r.json()["is_default"]) == ("Renovações", True)
    assert error_fields(
        api.post("/api/v1/pipelines", {"name": "", "stages": [{"name": "A", "kind": "maybe"}]})
    ) == {"name", "stages.0.kind", "stages"}
    won = made["stages"][1]["id"]
    r = api.delete(f"/api/v1/stages/{won}")
    assert error_fields(r) == {"stage"}
    r = api.patch(f"/api/v1/stages/{made['stages'][0]['id']}", {"probability": 150})
    assert error_fields(r) == {"probability"}
    r = api.post(f"/api/v1/pipelines/{made['id']}/stages", {"name": "Talking", "probability": 30})
    assert r.status_code == 201, r.content
    assert r.json()["position"] == 1


def test_deleting_a_pipeline_with_open_deals_is_a_conflict(api, pipeline, deal_factory):
    services.pipeline_create(workspace=pipeline.workspace, actor=None, data={"name": "B"})
    deal_factory()
    r = api.delete(f"/api/v1/pipelines/{pipeline.pk}")
    assert r.status_code == 409
    body = r.json()
    assert body["type"].endswith("/pipeline-has-open-deals")
    assert "open deal" in body["detail"]


def test_stage_order(api, pipeline, stages):
    order = [s.pk for s in stages.values()]
    order[0], order[1] = order[1], order[0]
    r = api.post(f"/api/v1/pipelines/{pipeline.pk}/stages/order", {"stage_ids": order})
    assert [s["id"] for s in r.json()["stages"]] == order
    r = api.post(f"/api/v1/pipelines/{pipeline.pk}/stages/order", {"stage_ids": order[:2]})
    assert error_fields(r) == {"stage_ids"}


def test_lost_reasons(api):
    r = api.post("/api/v1/lost-reasons", {"name": "Price"})
    assert r.status_code == 201
    assert error_fields(api.post("/api/v1/lost-reasons", {"name": "price"})) == {"name"}
    api.post("/api/v1/lost-reasons", {"name": "Timing"})
    assert [i["name"] for i in api.get("/api/v1/lost-reasons").json()["items"]] == [
        "Price",
        "Timing",
    ]


# --- deals ----------------------------------------------------------------------------------------


def test_create_get_patch_and_delete_a_deal(api, stages, contact, account, admin):
    r = api.post(
        "/api/v1/deals",
        {
            "name": "Fleet renewal",
            "amount": "12500.00",
            "expected_close_date": "2026-03-31",
            "contact_id": contact.pk,
            "account_id": account.pk,
        },
    )
    assert r.status_code == 201, r.content
    deal = r.json()
    assert deal["stage"]["id"] == stages["new"].pk
    assert deal["currency"] == "BRL"
    assert deal["amount"] == "12500.00"
    assert deal["owner"]["id"] == admin.pk
    assert deal["contact"] == {"id": contact.pk, "display_name": "Ana Souza"}
    assert deal["account"]["name"] == "Acme Comércio"
    r = api.patch(f"/api/v1/deals/{deal['id']}", {"forecast_category": "commit", "owner_id": None})
    assert r.status_code == 200
    assert (r.json()["forecast_category"], r.json()["owner"]) == ("commit", None)
    assert api.delete(f"/api/v1/deals/{deal['id']}").status_code == 204
    assert api.get(f"/api/v1/deals/{deal['id']}").status_code == 404
    assert api.post(f"/api/v1/deals/{deal['id']}/restore").status_code == 200


def test_bad_deal_input_names_each_field(api, pipeline):
    r = api.post(
        "/api/v1/deals",
        {"name": "", "amount": "lots", "currency": "R$", "expected_close_date": "amanhã"},
    )
    assert error_fields(r) == {"name", "amount", "currency", "expected_close_date"}
    assert error_fields(api.post("/api/v1/deals", {"name": "x", "colour": "red"})) == {"colour"}
    assert not Deal.objects.for_workspace(pipeline.workspace).exists()


def test_move_between_cards_and_lost_needs_a_reason(api, workspace, stages, deal_factory):
    a, b, c = deal_factory(), deal_factory(), deal_factory()
    target = stages["proposal"]
    for deal in (a, b):
        api.post(f"/api/v1/deals/{deal.pk}/move", {"stage_id": target.pk})
    r = api.post(
        f"/api/v1/deals/{c.pk}/move",
        {"stage_id": target.pk, "before_id": b.pk, "after_id": a.pk},
    )
    assert r.status_code == 200, r.content
    assert r.json()["stage"]["id"] == target.pk
    assert column_ids(workspace, target) == [b.pk, c.pk, a.pk]
    r = api.post(f"/api/v1/deals/{a.pk}/move", {"stage_id": stages["lost"].pk})
    assert error_fields(r) == {"lost_reason"}
    assert "lost" in r.json()["detail"]
    r = api.post(
        f"/api/v1/deals/{a.pk}/move", {"stage_id": stages["lost"].pk, "lost_reason": "Price"}
    )
    assert (r.json()["status"], r.json()["lost_reason"]) == ("lost", "Price")
    assert r.json()["closed_at"] is not None
    history = api.get(f"/api/v1/deals/{a.pk}/stage-history").json()["items"]
    assert [h["stage"]["id"] for h in history] == [
        stages["new"].pk,
        target.pk,
        stages["lost"].pk,
    ]
    assert history[0]["left_at"] is not None and history[-1]["left_at"] is None
    assert error_fields(api.post(f"/api/v1/deals/{a.pk}/move", {"stage_id": 10**12})) == {
        "stage_id"
    }


def test_close_won(api, stages, deal_factory):
    deal = deal_factory()
    r = api.post(f"/api/v1/deals/{deal.pk}/close", {"won": True})
    assert (r.json()["status"], r.json()["stage"]["id"]) == ("won", stages["won"].pk)


def test_list_filters_sorts_and_pages(api, workspace, make_member, stages, deal_factory):
    rep = make_member("rep@acme.test", Role.SALES)
    a = deal_factory(name="Alfa", amount="300", expected_close_date="2026-01-10")
    b = deal_factory(name="Bravo", amount="100", owner_id=rep.pk, expected_close_date="2026-02-10")
    c = deal_factory(name="Charlie", amount="200")
    services.deal_close(workspace=workspace, actor=None, deal_id=c.pk, won=True)
    assert ids(api.get("/api/v1/deals", sort="name")) == [a.pk, b.pk, c.pk]
    assert ids(api.get("/api/v1/deals", sort="-amount")) == [a.pk, c.pk, b.pk]
    assert ids(api.get("/api/v1/deals", sort="expected_close_date")) == [a.pk, b.pk, c.pk]
    assert ids(api.get("/api/v1/deals", status="won")) == [c.pk]
    assert ids(api.get("/api/v1/deals", owner=str(rep.pk))) == [b.pk]
    assert ids(api.get("/api/v1/deals", stage=str(stages["new"].pk), sort="name")) == [a.pk, b.pk]
    assert ids(api.get("/api/v1/deals", q="brav")) == [b.pk]
    assert ids(api.get("/api/v1/deals", close_after="2026-02-01", close_before="2026-02-28")) == [
        b.pk
    ]
    first = api.get("/api/v1/deals", sort="name", limit="2").json()
    assert [i["id"] for i in first["items"]] == [a.pk, b.pk]
    rest = api.get("/api/v1/deals", sort="name", limit="2", cursor=first["next_cursor"]).json()
    assert [i["id"] for i in rest["items"]] == [c.pk]
    assert rest["next_cursor"] is None
    # A cursor of another sort is refused, not compared with the wrong column.
    assert error_fields(api.get("/api/v1/deals", sort="-amount", cursor=first["next_cursor"])) == {
        "cursor"
    }
    assert error_fields(api.get("/api/v1/deals", status="maybe", sort="size")) == {
        "status",
        "sort",
    }


def test_forecast_category_and_close_day_filters(api, workspace, deal_factory):
    """The filters behind the forecast's drill-down links: a category, and the days a deal was
    won or lost on (read in the workspace's time zone)."""
    zone = zoneinfo.ZoneInfo(workspace.time_zone)
    commit = deal_factory(name="Commit", forecast_category="commit")
    deal_factory(name="Pipeline")
    march = deal_factory(name="Won in March")
    april = deal_factory(name="Won on 1 April, local time")
    for deal, when in (
        (march, dt.datetime(2026, 3, 31, 23, 30, tzinfo=zone)),
        (april, dt.datetime(2026, 4, 1, 0, 30, tzinfo=zone)),
    ):
        services.deal_close(workspace=workspace, actor=None, deal_id=deal.pk, won=True)
        Deal.objects.for_workspace(workspace).filter(pk=deal.pk).update(closed_at=when)
    assert ids(api.get("/api/v1/deals", forecast_category="commit")) == [commit.pk]
    in_march = api.get("/api/v1/deals", closed_after="2026-03-01", closed_before="2026-03-31")
    assert ids(in_march) == [march.pk]
    assert ids(api.get("/api/v1/deals", closed_after="2026-04-01")) == [april.pk]
    assert error_fields(
        api.get(
            "/api/v1/deals",
            forecast_category="maybe",
            closed_after="2026-04-02",
            closed_before="2026-04-01",
        )
    ) == {"forecast_category", "closed_before"}


def test_search_ignores_accents_and_finds_the_account(api, deal_factory, account):
    deal = deal_factory(name="Expansão", account_id=account.pk)
    deal_factory(name="Other")
    assert ids(api.get("/api/v1/deals", q="expansao")) == [deal.pk]
    assert ids(api.get("/api/v1/deals", q="acme comer")) == [deal.pk]


def test_lines(api, deal_factory, product_factory):
    deal = deal_factory()
    product = product_factory(unit_price="50")
    r = api.post(f"/api/v1/deals/{deal.pk}/lines", {"product_id": product.pk, "quantity": "4"})
    assert r.status_code == 201, r.content
    line = r.json()
    assert api.get(f"/api/v1/deals/{deal.pk}").json()["amount"] == "200.00"
    r = api.patch(f"/api/v1/deals/{deal.pk}/lines/{line['id']}", {"discount_percent": "50"})
    assert r.status_code == 200
    assert api.get(f"/api/v1/deals/{deal.pk}").json()["amount"] == "100.00"
    assert [i["id"] for i in api.get(f"/api/v1/deals/{deal.pk}/lines").json()["items"]] == [
        line["id"]
    ]
    assert error_fields(
        api.post(f"/api/v1/deals/{deal.pk}/lines", {"quantity": "-1", "unit_price": "x"})
    ) == {"quantity", "unit_price", "description"}
    assert api.delete(f"/api/v1/deals/{deal.pk}/lines/{line['id']}").status_code == 204


# --- products and price lists ---------------------------------------------------------------------


def test_products_and_price_lists(api):
    r = api.post(
        "/api/v1/products",
        {"name": "Plano Pro", "code": "PRO", "unit_price": "99.90", "tax_rate": "5"},
    )
    assert r.status_code == 201, r.content
    product = r.json()
    assert product["currency"] == "BRL"
    assert error_fields(api.post("/api/v1/products", {"name": "Dup", "code": "pro"})) == {"code"}
    api.post("/api/v1/products", {"name": "Básico", "is_active": False})
    assert [p["name"] for p in api.get("/api/v1/products").json()["items"]] == [
        "Básico",
        "Plano Pro",
    ]
    assert [p["name"] for p in api.get("/api/v1/products", active="true").json()["items"]] == [
        "Plano Pro"
    ]
    assert [p["name"] for p in api.get("/api/v1/products", q="pro").json()["items"]] == [
        "Plano Pro"
    ]
    r = api.post("/api/v1/price-lists", {"name": "Parceiros", "is_default": True})
    assert r.status_code == 201
    price_list = r.json()
    r = api.put(
        f"/api/v1/price-lists/{price_list['id']}/items/{product['id']}", {"unit_price": "79.90"}
    )
    assert r.status_code == 200, r.content
    detail = api.get(f"/api/v1/price-lists/{price_list['id']}").json()
    assert detail["items"] == [
        {"product": {"id": product["id"], "name": "Plano Pro"}, "unit_price": "79.90"}
    ]
    assert (
        api.delete(f"/api/v1/price-lists/{price_list['id']}/items/{product['id']}").status_code
        == 204
    )
    assert api.get(f"/api/v1/price-lists/{price_list['id']}").json()["items"] == []
    assert api.delete(f"/api/v1/products/{product['id']}").status_code == 204
    assert api.get(f"/api/v1/products/{product['id']}").status_code == 404


@pytest.mark.parametrize(
    ("role", "status"), [(Role.SALES, 403), (Role.READ_ONLY, 403), (Role.MANAGER, 201)]
)
def test_who_may_configure_pipelines(api, make_member, key_for, pipeline, role, status):
    user = make_member(f"{role}@acme.test", role)
    r = api.post("/api/v1/pipelines", {"name": "X"}, key=key_for(user))
    assert r.status_code == status, r.content


def test_a_rep_sees_own_team_and_unowned_deals_only(
    api, workspace, make_member, key_for, deal_factory
):
    rep = make_member("rep@acme.test", Role.SALES)
    boss = make_member("boss@acme.test", Role.MANAGER)
    mine = deal_factory(owner_id=rep.pk)
    pool = deal_factory()
    theirs = deal_factory(owner_id=boss.pk)
    key = key_for(rep)
    assert sorted(ids(api.get("/api/v1/deals", key=key))) == sorted([mine.pk, pool.pk])
    assert api.get(f"/api/v1/deals/{theirs.pk}", key=key).status_code == 404
    assert (
        api.post(
            f"/api/v1/deals/{theirs.pk}/move",
            {"stage_id": Stage.objects.for_workspace(workspace).first().pk},
            key=key,
        ).status_code
        == 404
    )
