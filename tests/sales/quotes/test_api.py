"""The quotes and orders API: create/get/patch, lines, send and cancel, orders with filters and
upsert, problem responses naming the field, cross-workspace leaks and query counts."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from django.core import mail

from vinculo.core.roles import Role
from vinculo.core.services import apikey_create
from vinculo.sales.models import Order, QuoteLine, QuoteStatus
from vinculo.sales.quotes import services

from .conftest import problem_fields

LIST_BUDGET = 6
DETAIL_BUDGET = 6


def test_create_a_quote_from_a_deal_and_edit_its_lines(api, deal, widget, gadget):
    r = api.post(
        "/api/v1/quotes",
        {
            "deal_id": deal.pk,
            "title": "Licences 2025",
            "lines": [{"product_id": widget.pk, "quantity": "3", "discount_percent": "10"}],
        },
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["status"] == "draft" and body["number"] == "" and body["title"] == "Licences 2025"
    assert body["deal"] == {"id": deal.pk, "name": deal.name}
    assert body["contact"]["email"] == "ana@souza.test"
    assert body["total"] == "148.20" and body["public_path"] is None
    quote_id = body["id"]
    line = api.post(f"/api/v1/quotes/{quote_id}/lines", {"product_id": gadget.pk, "quantity": 2})
    assert line.status_code == 201 and line.json()["line_total"] == "400.00"
    first = body["lines"][0]["id"]
    changed = api.patch(f"/api/v1/quotes/{quote_id}/lines/{first}", {"quantity": "1"})
    assert changed.status_code == 200 and changed.json()["line_total"] == "44.91"
    order = api.post(
        f"/api/v1/quotes/{quote_id}/lines/reorder", {"line_ids": [line.json()["id"], first]}
    )
    assert [x["description"] for x in order.json()["lines"]] == ["Gadget", "Widget"]
    # 400 + 44.91 + 4.49 tax
    assert order.json()["total"] == "449.40"
    assert api.delete(f"/api/v1/quotes/{quote_id}/lines/{first}").status_code == 204
    assert api.get(f"/api/v1/quotes/{quote_id}").json()["total"] == "400.00"


def test_patch_send_and_cancel(api, draft, django_capture_on_commit_callbacks):
    r = api.patch(f"/api/v1/quotes/{draft.pk}", {"terms": "Net 30", "currency": "usd"})
    assert r.status_code == 200 and (r.json()["terms"], r.json()["currency"]) == ("Net 30", "USD")
    with django_capture_on_commit_callbacks(execute=True):
        sent = api.post(f"/api/v1/quotes/{draft.pk}/send")
    assert sent.status_code == 200, sent.content
    assert sent.json()["number"] == "Q-0001" and sent.json()["status"] == "sent"
    assert sent.json()["public_path"].startswith("/q/")
    assert len(mail.outbox) == 1 and sent.json()["public_path"] in mail.outbox[0].body
    # A sent quote is no longer a draft: the problem says so.
    refused = api.patch(f"/api/v1/quotes/{draft.pk}", {"title": "x"})
    assert refused.status_code == 409 and refused.json()["type"].endswith("/quote-not-draft")
    cancelled = api.post(f"/api/v1/quotes/{draft.pk}/cancel")
    assert cancelled.json()["status"] == "cancelled" and cancelled.json()["public_path"] is None


def test_problems_name_the_fields(api, deal):
    r = api.post(
        "/api/v1/quotes",
        {"deal_id": deal.pk, "valid_until": "someday", "lines": [{"quantity": "many"}]},
    )
    assert r.status_code == 422
    assert r.headers["Content-Type"] == "application/problem+json"
    assert problem_fields(r) == {
        "valid_until": "invalid",
        "lines.0.quantity": "invalid",
        "lines.0.description": "required",
        "lines.0.unit_price": "required",
    }
    unknown = api.post("/api/v1/quotes", {"deal_id": deal.pk, "colour": "red"})
    assert unknown.status_code == 422 and "colour" in problem_fields(unknown)
    no_contact = api.post("/api/v1/quotes", {"deal_id": deal.pk, "contact_id": None, "lines": []})
    send = api.post(f"/api/v1/quotes/{no_contact.json()['id']}/send")
    assert send.status_code == 422
    assert problem_fields(send) == {"lines": "empty", "contact_id": "required"}


def test_list_filters_by_status_and_deal(api, workspace, admin, draft, deal_factory, customer):
    other_deal = deal_factory(contact=customer)
    other = services.quote_create(workspace=workspace, actor=admin, deal_id=other_deal.pk)
    services.quote_cancel(workspace=workspace, actor=admin, quote_id=other.pk)
    assert [q["id"] for q in api.get("/api/v1/quotes").json()["items"]] == [other.pk, draft.pk]
    assert [q["id"] for q in api.get("/api/v1/quotes", status="draft").json()["items"]] == [
        draft.pk
    ]
    assert [q["id"] for q in api.get("/api/v1/quotes", deal=other_deal.pk).json()["items"]] == [
        other.pk
    ]
    bad = api.get("/api/v1/quotes", status="lost")
    assert bad.status_code == 422 and problem_fields(bad) == {"status": "invalid-choice"}


def test_the_answer_is_not_in_the_api(api, sent):
    for path in (f"/api/v1/quotes/{sent.pk}/accept", f"/api/v1/quotes/{sent.pk}/answer"):
        assert api.post(path, {"name": "x"}).status_code in (404, 405)
    sent.refresh_from_db()
    assert sent.status == QuoteStatus.SENT


# ---------------------------------------------------------------------------------------------
# Orders


def test_orders_are_created_then_upserted_by_external_id(api, customer):
    body = {
        "external_id": "SHOP-1001",
        "channel": "store",
        "ordered_at": "2025-02-14T10:30:00-03:00",
        "contact_id": customer.pk,
        "lines": [{"description": "Coffee", "quantity": "2", "unit_price": "59.90"}],
    }
    r = api.post("/api/v1/orders", body)
    assert r.status_code == 201, r.content
    created = r.json()
    assert created["number"] == "O-0001" and created["total"] == "119.80"
    assert created["account"]["id"] == customer.account_id
    body["lines"].append({"description": "Mug", "unit_price": "30"})
    again = api.post("/api/v1/orders", body)
    assert again.status_code == 200 and again.json()["id"] == created["id"]
    assert again.json()["total"] == "149.80" and len(again.json()["lines"]) == 2
    assert Order.objects.count() == 1
    cancel = api.post(f"/api/v1/orders/{created['id']}/cancel")
    assert cancel.json()["status"] == "cancelled"


def test_order_problems(api):
    r = api.post("/api/v1/orders", {"channel": "quote", "lines": [{"unit_price": 5}]})
    assert r.status_code == 422
    assert problem_fields(r) == {
        "channel": "invalid-choice",
        "contact_id": "required",
        "lines.0.description": "required",
    }


def test_order_filters(api, workspace, admin, customer, contact_factory):
    colleague = contact_factory(account=customer.account)
    stranger = contact_factory()
    for contact, day in (
        (customer, "2025-01-10"),
        (colleague, "2025-02-10"),
        (stranger, "2025-03-10"),
    ):
        services.order_create(
            workspace=workspace,
            actor=admin,
            data={
                "contact_id": contact.pk,
                "ordered_at": day,
                "lines": [{"description": "x", "unit_price": "1"}],
            },
        )

    def numbers(**params):
        r = api.get("/api/v1/orders", **params)
        assert r.status_code == 200, r.content
        return [o["number"] for o in r.json()["items"]]

    assert numbers() == ["O-0003", "O-0002", "O-0001"]
    assert numbers(contact=customer.pk) == ["O-0001"]
    assert numbers(account=customer.account_id) == ["O-0002", "O-0001"]
    assert numbers(ordered_after="2025-02-10") == ["O-0003", "O-0002"]
    assert numbers(ordered_before="2025-02-10") == ["O-0002", "O-0001"]
    bad = api.get("/api/v1/orders", ordered_after="10/02/2025", contact="me")
    assert bad.status_code == 422 and problem_fields(bad) == {
        "ordered_after": "invalid",
        "contact": "invalid",
    }


def test_read_only_keys_cannot_write(client, workspace, make_member, deal):
    from tests.conftest import ApiClient

    reader = make_member("reader@acme.test", Role.READ_ONLY)
    key = apikey_create(workspace=workspace, user=reader, name="r")[1]
    api = ApiClient(client=client, key=key)
    r = api.post("/api/v1/quotes", {"deal_id": deal.pk})
    assert r.status_code == 403 and r.json()["type"].endswith("/forbidden")
    assert api.get("/api/v1/quotes").status_code == 200


# ---------------------------------------------------------------------------------------------
# Leaks and query counts


@pytest.fixture
def theirs(other_workspace, other_admin, deal_factory, contact_factory):
    contact = contact_factory(ws=other_workspace)
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
    line = QuoteLine.all_tenants.get(quote=quote)
    return {"quote": quote, "order": order, "line": line, "contact": contact}


def _not_found(r):
    assert r.status_code == 404, r.content
    assert r.json()["type"].endswith("/not-found")


def test_nothing_of_another_workspace_is_readable_or_writable(api, draft, theirs):
    quote, order, line = theirs["quote"], theirs["order"], theirs["line"]
    assert [q["id"] for q in api.get("/api/v1/quotes").json()["items"]] == [draft.pk]
    assert api.get("/api/v1/orders").json()["items"] == []
    assert api.get("/api/v1/orders", contact=theirs["contact"].pk).json()["items"] == []
    _not_found(api.get(f"/api/v1/quotes/{quote.pk}"))
    _not_found(api.patch(f"/api/v1/quotes/{quote.pk}", {"title": "mine"}))
    _not_found(api.post(f"/api/v1/quotes/{quote.pk}/send"))
    _not_found(api.post(f"/api/v1/quotes/{quote.pk}/cancel"))
    _not_found(api.post(f"/api/v1/quotes/{quote.pk}/lines", {"description": "a", "unit_price": 1}))
    _not_found(api.patch(f"/api/v1/quotes/{quote.pk}/lines/{line.pk}", {"quantity": 2}))
    _not_found(api.delete(f"/api/v1/quotes/{quote.pk}/lines/{line.pk}"))
    _not_found(api.get(f"/api/v1/orders/{order.pk}"))
    _not_found(api.post(f"/api/v1/orders/{order.pk}/cancel"))
    # Exactly as for ids that never existed; and a foreign line on our quote is not found.
    _not_found(api.get("/api/v1/quotes/987654"))
    _not_found(api.patch(f"/api/v1/quotes/{draft.pk}/lines/{line.pk}", {"quantity": 2}))
    # Linking another workspace's records is refused by field.
    r = api.post("/api/v1/quotes", {"deal_id": quote.deal_id})
    assert r.status_code == 422 and problem_fields(r) == {"deal_id": "not-found"}
    r = api.post(
        "/api/v1/orders",
        {"contact_id": theirs["contact"].pk, "lines": [{"description": "a", "unit_price": 1}]},
    )
    assert r.status_code == 422 and problem_fields(r) == {"contact_id": "not-found"}
    quote.refresh_from_db()
    assert quote.title != "mine" and quote.status == QuoteStatus.DRAFT


@pytest.fixture
def many(workspace, admin, deal_factory, contact_factory, widget, gadget):
    """60 quotes on 60 deals and 60 orders of 60 contacts, each with lines."""
    last = {}
    for i in range(60):
        person = contact_factory()
        deal = deal_factory(contact=person)
        last["quote"] = services.quote_create(
            workspace=workspace,
            actor=admin,
            deal_id=deal.pk,
            data={"lines": [{"product_id": widget.pk}, {"product_id": gadget.pk}]},
        )
        last["order"] = services.order_create(
            workspace=workspace,
            actor=admin,
            data={
                "contact_id": person.pk,
                "lines": [
                    {"description": f"Item {i}", "unit_price": "3"},
                    {"product_id": widget.pk},
                ],
            },
        )
    return last


@pytest.mark.parametrize(
    "path", ["/api/v1/quotes", "/api/v1/quotes?status=draft", "/api/v1/orders"]
)
def test_lists_cost_a_fixed_number_of_queries(api, many, django_assert_max_num_queries, path):
    api.get(path)
    with django_assert_max_num_queries(LIST_BUDGET):
        r = api.get(path + ("&" if "?" in path else "?") + "limit=50")
    assert r.status_code == 200 and len(r.json()["items"]) == 50
    assert r.json()["next_cursor"]


@pytest.mark.parametrize("kind", ["quote", "order"])
def test_details_cost_a_fixed_number_of_queries(api, many, django_assert_max_num_queries, kind):
    path = f"/api/v1/{kind}s/{many[kind].pk}"
    api.get(path)
    with django_assert_max_num_queries(DETAIL_BUDGET):
        r = api.get(path)
    assert r.status_code == 200 and len(r.json()["lines"]) == 2
    assert D(r.json()["total"]) > 0
