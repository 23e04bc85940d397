"""The customer's answer (accept → deal won + order; decline → deal lost unless other quotes are
open), refusals, and orders from the API and imports (upsert by external id), cancelling."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from django.utils import timezone

from vinculo.core.exceptions import Conflict, NotFound, ValidationFailed
from vinculo.core.models import Event
from vinculo.core.roles import Role
from vinculo.sales.common import sales_settings_for
from vinculo.sales.models import (
    Deal,
    DealStatus,
    Order,
    OrderChannel,
    OrderLine,
    OrderStatus,
    Quote,
    QuoteStatus,
    StageKind,
)
from vinculo.sales.quotes import services
from vinculo.sales.quotes.services import QuoteNotOpen

from .conftest import BASE_URL


def answer(quote: Quote, *, accept: bool = True, **kwargs):
    kwargs.setdefault("signer_name", "Ana Souza" if accept else "")
    return services.quote_answer(
        workspace=quote.workspace,
        quote_id=quote.pk,
        public_key=quote.public_key,
        accept=accept,
        **kwargs,
    )


def types() -> list[str]:
    return list(Event.all_tenants.order_by("id").values_list("type", flat=True))


def test_accepting_wins_the_deal_and_places_the_order(workspace, sent, deal, customer):
    quote = answer(sent, signer_name="  Ana Souza ", ip="203.0.113.9")
    assert quote.status == QuoteStatus.ACCEPTED
    assert quote.answered_by_name == "Ana Souza" and quote.answered_ip == "203.0.113.9"
    deal.refresh_from_db()
    assert deal.status == DealStatus.WON and deal.stage.kind == StageKind.WON
    order = Order.objects.get(quote=sent)
    assert order.number == "O-0001" and order.channel == OrderChannel.QUOTE
    assert (order.contact, order.account, order.deal, order.owner) == (
        customer,
        customer.account,
        deal,
        deal.owner,
    )
    assert (order.subtotal, order.discount_total, order.tax_total, order.total) == (
        D("349.70"),
        D("14.97"),
        D("13.47"),
        D("348.20"),
    )
    lines = list(OrderLine.objects.filter(order=order).order_by("position"))
    assert [(x.description, x.quantity, x.line_total) for x in lines] == [
        ("Widget", D("3.000"), D("134.73")),
        ("Gadget", D("1.000"), D("200.00")),
    ]
    assert sales_settings_for(workspace).next_order_number == 2
    happened = types()
    assert (
        happened.index("quote.accepted")
        < happened.index("deal.won")
        < happened.index("order.placed")
    )
    placed = Event.all_tenants.get(type="order.placed")
    assert placed.payload["quote_id"] == sent.pk and placed.payload["total"] == "348.20"


def test_accepting_needs_the_signers_name(sent):
    with pytest.raises(ValidationFailed) as caught:
        answer(sent, signer_name="   ")
    assert [e.field for e in caught.value.errors] == ["name"]
    sent.refresh_from_db()
    assert sent.status == QuoteStatus.SENT
    assert not Order.objects.exists()


def test_declining_loses_the_deal(workspace, sent, deal):
    quote = answer(sent, accept=False, reason="Too expensive")
    assert quote.status == QuoteStatus.DECLINED and quote.decline_reason == "Too expensive"
    deal.refresh_from_db()
    assert deal.status == DealStatus.LOST and deal.lost_reason == "Quote declined"
    assert not Order.objects.exists()
    declined = Event.all_tenants.get(type="quote.declined")
    assert declined.payload["reason"] == "Too expensive"


def test_declining_keeps_the_deal_open_while_another_quote_is_open(workspace, admin, sent, deal):
    services.quote_create(workspace=workspace, actor=admin, deal_id=deal.pk)
    answer(sent, accept=False)
    deal.refresh_from_db()
    assert deal.status == DealStatus.OPEN


def test_answering_twice_is_refused(sent):
    answer(sent)
    sent.refresh_from_db()
    for accept in (True, False):
        with pytest.raises(QuoteNotOpen) as caught:
            answer(sent, accept=accept)
        assert caught.value.code == "quote-answered"
    assert Order.objects.count() == 1


def test_expired_and_cancelled_quotes_cannot_be_answered(workspace, admin, sent, deal):
    Quote.objects.filter(pk=sent.pk).update(
        valid_until=timezone.now().date() - dt.timedelta(days=3)
    )
    sent.refresh_from_db()
    with pytest.raises(QuoteNotOpen) as caught:
        answer(sent)
    assert caught.value.code == "quote-expired"
    other = services.quote_create(
        workspace=workspace,
        actor=admin,
        deal_id=deal.pk,
        data={"lines": [{"description": "Support", "unit_price": "10"}]},
    )
    other = services.quote_send(
        workspace=workspace, actor=admin, quote_id=other.pk, base_url=BASE_URL
    )
    services.quote_cancel(workspace=workspace, actor=admin, quote_id=other.pk)
    other.refresh_from_db()
    with pytest.raises(QuoteNotOpen) as caught:
        answer(other)
    assert caught.value.code == "quote-cancelled"
    draft = services.quote_create(workspace=workspace, actor=admin, deal_id=deal.pk)
    Quote.objects.filter(pk=draft.pk).update(public_key="k" * 32)
    draft.refresh_from_db()
    with pytest.raises(QuoteNotOpen) as caught:
        answer(draft)
    assert caught.value.code == "quote-not-sent"
    deal.refresh_from_db()
    assert deal.status == DealStatus.OPEN


def test_a_replaced_key_is_not_found(workspace, admin, sent):
    old_key = sent.public_key
    services.quote_send(workspace=workspace, actor=admin, quote_id=sent.pk, base_url=BASE_URL)
    with pytest.raises(NotFound):
        services.quote_answer(
            workspace=workspace, quote_id=sent.pk, public_key=old_key, accept=True, signer_name="A"
        )


def test_a_quote_of_another_workspace_is_not_found(other_workspace, sent):
    with pytest.raises(NotFound):
        services.quote_answer(
            workspace=other_workspace,
            quote_id=sent.pk,
            public_key=sent.public_key,
            accept=True,
            signer_name="A",
        )


def test_a_failing_deal_close_rolls_the_answer_back(workspace, sent, deal):
    # A pipeline without a won stage: the deal cannot be won, so nothing of the answer stays.
    deal.pipeline.stages.filter(kind=StageKind.WON).update(kind=StageKind.OPEN)
    with pytest.raises(ValidationFailed):
        answer(sent)
    sent.refresh_from_db()
    assert sent.status == QuoteStatus.SENT
    assert not Order.objects.exists()
    assert "quote.accepted" not in types()


# ---------------------------------------------------------------------------------------------
# Orders from the API and imports


def order_data(contact, **extra):
    return {
        "contact_id": contact.pk,
        "lines": [
            {
                "description": "Coffee beans 1 kg",
                "quantity": "2",
                "unit_price": "59.90",
                "tax_rate": "12",
            },
            {"description": "Grinder", "unit_price": "349.00", "discount_percent": "10"},
        ],
        **extra,
    }


def test_an_order_is_numbered_and_totalled(workspace, admin, customer):
    result = services.order_upsert(
        workspace=workspace,
        actor=admin,
        data=order_data(customer, channel="store", ordered_at="2024-05-03", external_id="SHOP-1"),
    )
    order = result.order
    assert result.created and order.number == "O-0001" and order.channel == "store"
    # 119.80 + 14.38 tax (14.376) ; 349.00 − 34.90
    assert (order.subtotal, order.discount_total, order.tax_total, order.total) == (
        D("468.80"),
        D("34.90"),
        D("14.38"),
        D("448.28"),
    )
    assert order.account == customer.account  # the contact's company
    assert order.owner == admin and order.currency == "BRL"
    assert order.ordered_at == dt.datetime(2024, 5, 3, 3, 0, tzinfo=dt.UTC)  # São Paulo midnight
    assert Event.all_tenants.get(type="order.placed").payload["source"] == "api"


def test_the_same_external_id_updates_the_order(workspace, admin, customer):
    first = services.order_upsert(
        workspace=workspace, actor=admin, data=order_data(customer, external_id="SHOP-7")
    )
    again = services.order_upsert(
        workspace=workspace,
        actor=admin,
        data={
            "contact_id": customer.pk,
            "external_id": "SHOP-7",
            "lines": [{"description": "Mug", "unit_price": "30"}],
        },
    )
    assert not again.created and again.order.pk == first.order.pk
    assert again.order.number == "O-0001" and again.order.total == D("30.00")
    assert list(
        OrderLine.objects.filter(order=first.order).values_list("description", flat=True)
    ) == ["Mug"]
    assert Order.objects.count() == 1
    updated = Event.all_tenants.get(type="order.updated")
    assert updated.payload["changes"]["total"] == ["448.28", "30.00"]


def test_order_input_errors_name_the_field(workspace, admin):
    with pytest.raises(ValidationFailed) as caught:
        services.order_upsert(
            workspace=workspace,
            actor=admin,
            data={"channel": "quote", "ordered_at": "yesterday", "lines": [], "owner_id": 99999},
        )
    assert {e.field: e.code for e in caught.value.errors} == {
        "channel": "invalid-choice",
        "ordered_at": "invalid",
        "contact_id": "required",
        "owner_id": "not-a-member",
        "lines": "required",
    }


def test_cancelling_an_order(workspace, admin, customer):
    order = services.order_create(workspace=workspace, actor=admin, data=order_data(customer))
    services.order_cancel(workspace=workspace, actor=admin, order_id=order.pk)
    services.order_cancel(workspace=workspace, actor=admin, order_id=order.pk)
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert types().count("order.cancelled") == 1


def test_another_sellers_order_is_not_overwritten(workspace, admin, make_member, customer):
    services.order_upsert(
        workspace=workspace, actor=admin, data=order_data(customer, external_id="X1")
    )
    seller = make_member("seller@acme.test", Role.SALES)
    customer.owner = seller
    customer.save()
    with pytest.raises(Conflict):
        services.order_upsert(
            workspace=workspace, actor=seller, data=order_data(customer, external_id="X1")
        )
    assert Order.objects.get().owner == admin


def test_deals_stay_untouched_by_outside_orders(workspace, admin, customer, deal):
    services.order_create(workspace=workspace, actor=admin, data=order_data(customer))
    assert Deal.objects.get(pk=deal.pk).status == DealStatus.OPEN
