"""Quote and order numbers stay unique and gap-free when sends and answers run at once, each
on its own database connection (SQLite serialises the writers; PostgreSQL's row lock on the
sales settings does)."""

from __future__ import annotations

import threading

import pytest
from django.db import connections

from vinculo.sales.common import sales_settings_for
from vinculo.sales.models import Order, Quote
from vinculo.sales.quotes import services

from .conftest import BASE_URL

PARALLEL = 6


def run_at_once(calls):
    barrier = threading.Barrier(len(calls))
    errors: list[BaseException] = []

    def worker(call) -> None:
        try:
            barrier.wait()
            call()
        except BaseException as exc:  # a thread's exception is otherwise lost
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors


@pytest.mark.django_db(transaction=True)
def test_concurrent_sends_get_consecutive_numbers(workspace, admin, deal):
    quotes = [
        services.quote_create(
            workspace=workspace,
            actor=admin,
            deal_id=deal.pk,
            data={"lines": [{"description": f"Item {i}", "unit_price": "10"}]},
        )
        for i in range(PARALLEL)
    ]
    sales_settings_for(workspace)
    run_at_once(
        [
            (
                lambda q=q: services.quote_send(
                    workspace=workspace, actor=admin, quote_id=q.pk, base_url=BASE_URL
                )
            )
            for q in quotes
        ]
    )
    numbers = sorted(Quote.objects.for_workspace(workspace).values_list("number", flat=True))
    assert numbers == [f"Q-{n:04d}" for n in range(1, PARALLEL + 1)]
    assert sales_settings_for(workspace).next_quote_number == PARALLEL + 1


@pytest.mark.django_db(transaction=True)
def test_two_answers_at_once_make_one_order(workspace, admin, deal):
    quote = services.quote_create(
        workspace=workspace,
        actor=admin,
        deal_id=deal.pk,
        data={"lines": [{"description": "Item", "unit_price": "10"}]},
    )
    quote = services.quote_send(
        workspace=workspace, actor=admin, quote_id=quote.pk, base_url=BASE_URL
    )
    outcomes: list[str] = []

    def accept() -> None:
        try:
            services.quote_answer(
                workspace=workspace,
                quote_id=quote.pk,
                public_key=quote.public_key,
                accept=True,
                signer_name="Ana",
            )
            outcomes.append("accepted")
        except services.QuoteNotOpen as exc:
            outcomes.append(exc.code)

    run_at_once([accept, accept])
    assert sorted(outcomes) == ["accepted", "quote-answered"]
    assert Order.objects.for_workspace(workspace).count() == 1
    assert sales_settings_for(workspace).next_order_number == 2
