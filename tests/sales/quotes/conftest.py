"""Fixtures of the quotes and orders tests. Deals, products and contacts are made with the ORM
directly, so these tests depend on the sales models, not on the other areas' services."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

import pytest

from vinculo.contacts.models import Account, Contact
from vinculo.core.models import User, Workspace
from vinculo.sales.models import (
    Deal,
    DealLine,
    Pipeline,
    PriceList,
    PriceListItem,
    Product,
    Stage,
    StageKind,
)
from vinculo.sales.quotes import services

_seq = itertools.count(1)
BASE_URL = "http://testserver/"
HTMX = {"HTTP_HX_REQUEST": "true"}


def problem_fields(response: Any) -> dict[str, str]:
    """{field: code} of a 422 problem response."""
    return {e["field"]: e["code"] for e in response.json()["errors"]}


def make_pipeline(ws: Workspace) -> Pipeline:
    pipeline = Pipeline.objects.for_workspace(ws).create(
        workspace=ws, name="Sales", is_default=True
    )
    for position, (name, probability, kind) in enumerate(
        [
            ("New", 10, StageKind.OPEN),
            ("Proposal", 50, StageKind.OPEN),
            ("Won", 100, StageKind.WON),
            ("Lost", 0, StageKind.LOST),
        ]
    ):
        Stage.objects.for_workspace(ws).create(
            workspace=ws,
            pipeline=pipeline,
            name=name,
            position=position,
            probability=probability,
            kind=kind,
        )
    return pipeline


@pytest.fixture
def contact_factory(workspace: Workspace):
    def make(ws: Workspace | None = None, **fields: Any) -> Contact:
        ws = ws or workspace
        n = next(_seq)
        fields.setdefault("first_name", f"Person{n}")
        fields.setdefault("email", f"person{n}@example.test")
        return Contact.objects.for_workspace(ws).create(workspace=ws, **fields)

    return make


@pytest.fixture
def account_factory(workspace: Workspace):
    def make(ws: Workspace | None = None, **fields: Any) -> Account:
        ws = ws or workspace
        fields.setdefault("name", f"Company {next(_seq)}")
        return Account.objects.for_workspace(ws).create(workspace=ws, **fields)

    return make


@pytest.fixture
def deal_factory(workspace: Workspace, admin: User):
    pipelines: dict[int, Pipeline] = {}

    def make(ws: Workspace | None = None, **fields: Any) -> Deal:
        ws = ws or workspace
        if ws.pk not in pipelines:
            pipelines[ws.pk] = make_pipeline(ws)
        pipeline = pipelines[ws.pk]
        stage = Stage.objects.for_workspace(ws).filter(pipeline=pipeline).order_by("position")[1]
        fields.setdefault("name", f"Deal {next(_seq)}")
        fields.setdefault("owner", admin if ws == workspace else None)
        return Deal.objects.for_workspace(ws).create(
            workspace=ws, pipeline=pipeline, stage=stage, **fields
        )

    return make


@pytest.fixture
def product_factory(workspace: Workspace):
    def make(ws: Workspace | None = None, **fields: Any) -> Product:
        ws = ws or workspace
        fields.setdefault("name", f"Product {next(_seq)}")
        fields.setdefault("unit_price", Decimal("100.00"))
        return Product.objects.for_workspace(ws).create(workspace=ws, **fields)

    return make


@pytest.fixture
def customer(contact_factory, account_factory) -> Contact:
    company = account_factory(name="Souza Comércio")
    return contact_factory(
        first_name="Ana", last_name="Souza", email="ana@souza.test", account=company
    )


@pytest.fixture
def deal(deal_factory, customer) -> Deal:
    return deal_factory(name="Souza: 20 licences", contact=customer, account=customer.account)


@pytest.fixture
def widget(product_factory) -> Product:
    return product_factory(
        name="Widget", code="W-1", unit_price=Decimal("49.90"), tax_rate=Decimal("10")
    )


@pytest.fixture
def gadget(product_factory) -> Product:
    return product_factory(name="Gadget", unit_price=Decimal("200.00"), tax_rate=Decimal("0"))


@pytest.fixture
def price_list(workspace, widget) -> PriceList:
    prices = PriceList.objects.for_workspace(workspace).create(
        workspace=workspace, name="Partners", currency="BRL"
    )
    PriceListItem.objects.for_workspace(workspace).create(
        workspace=workspace, price_list=prices, product=widget, unit_price=Decimal("39.90")
    )
    return prices


def add_deal_line(deal: Deal, product: Product | None, **fields: Any) -> DealLine:
    fields.setdefault("description", product.name if product else "Service")
    fields.setdefault("unit_price", product.unit_price if product else Decimal("10"))
    return DealLine.objects.for_workspace(deal.workspace).create(
        workspace=deal.workspace, deal=deal, product=product, **fields
    )


@pytest.fixture
def draft(workspace, admin, deal, widget, gadget):
    """A draft quote with two lines: 3 × Widget (49.90, 10% off, 10% tax) and 1 × Gadget."""
    return services.quote_create(
        workspace=workspace,
        actor=admin,
        deal_id=deal.pk,
        data={
            "lines": [
                {"product_id": widget.pk, "quantity": "3", "discount_percent": "10"},
                {"product_id": gadget.pk},
            ]
        },
    )


@pytest.fixture
def sent(workspace, admin, draft):
    return services.quote_send(
        workspace=workspace, actor=admin, quote_id=draft.pk, base_url=BASE_URL
    )
