"""Quotes: drafting from a deal, prices, lines and totals, validation naming the field, sending
(numbering, the link, the email), cancelling and expiry."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from django.core import mail
from django.utils import timezone

from vinculo.core.exceptions import NotFound, PermissionDenied, ValidationFailed
from vinculo.core.models import Event
from vinculo.core.roles import Role
from vinculo.sales.common import sales_settings_for
from vinculo.sales.models import Quote, QuoteLine, QuoteStatus
from vinculo.sales.quotes import links, services
from vinculo.sales.quotes.services import QuoteNotOpen

from .conftest import BASE_URL, add_deal_line


def fields(exc: ValidationFailed) -> dict[str, str]:
    return {e.field: e.code for e in exc.errors}


def events(type_: str) -> list[Event]:
    return list(Event.all_tenants.filter(type=type_).order_by("id"))


# ---------------------------------------------------------------------------------------------
# Drafting


def test_a_quote_copies_the_deals_products(workspace, admin, deal, widget):
    add_deal_line(deal, widget, quantity=D(2), unit_price=D("45.00"), discount_percent=D(5))
    add_deal_line(deal, None, description="Set-up", unit_price=D("300.00"), position=1)
    quote = services.quote_create(workspace=workspace, actor=admin, deal_id=deal.pk)
    lines = list(quote.lines.order_by("position"))
    assert [
        (x.description, x.quantity, x.unit_price, x.discount_percent, x.tax_rate) for x in lines
    ] == [
        ("Widget", D("2.000"), D("45.00"), D("5.00"), D("10.00")),
        ("Set-up", D("1.000"), D("300.00"), D("0.00"), D("0.00")),
    ]
    # 2 × 45 = 90.00, 5% off = 4.50 → 85.50, 10% tax = 8.55; + 300.00
    assert (quote.subtotal, quote.discount_total, quote.tax_total, quote.total) == (
        D("390.00"),
        D("4.50"),
        D("8.55"),
        D("394.05"),
    )
    assert [x.line_total for x in lines] == [D("85.50"), D("300.00")]
    assert quote.status == QuoteStatus.DRAFT and quote.number == ""
    assert quote.contact == deal.contact and quote.account == deal.account
    assert quote.title == deal.name
    [event] = events("quote.created")
    assert event.subject_id == quote.pk and event.payload["total"] == "394.05"


def test_validity_and_currency_defaults(workspace, admin, deal):
    settings = sales_settings_for(workspace)
    settings.quote_validity_days = 15
    settings.save()
    quote = services.quote_create(workspace=workspace, actor=admin, deal_id=deal.pk)
    today = timezone.now().astimezone(dt.timezone(dt.timedelta(hours=-3))).date()
    assert quote.valid_until in (today + dt.timedelta(days=15), today + dt.timedelta(days=16))
    assert quote.currency == "BRL"
    deal.currency = "USD"
    deal.save()
    assert (
        services.quote_create(workspace=workspace, actor=admin, deal_id=deal.pk).currency == "USD"
    )


def test_given_lines_take_prices_from_the_price_list_then_the_product(
    workspace, admin, deal, widget, gadget, price_list
):
    quote = services.quote_create(
        workspace=workspace,
        actor=admin,
        deal_id=deal.pk,
        data={
            "price_list_id": price_list.pk,
            "lines": [
                {"product_id": widget.pk, "quantity": "2"},
                {"product_id": gadget.pk},
                {"product_id": widget.pk, "unit_price": "10.00"},
                {"description": "Consulting", "quantity": "1,5", "unit_price": "1.200,00"},
            ],
        },
    )
    prices = [x.unit_price for x in quote.lines.order_by("position")]
    # Widget is 39.90 on the price list (49.90 itself); Gadget is not on it.
    assert prices == [D("39.90"), D("200.00"), D("10.00"), D("1200.00")]
    assert quote.price_list == price_list and quote.currency == "BRL"
    # 79.80 + 7.98 tax + 200 + 10.00 + 1.00 tax + 1800.00
    assert quote.total == D("2098.78")


def test_the_default_price_list_applies(workspace, admin, deal, widget, price_list):
    price_list.is_default = True
    price_list.save()
    quote = services.quote_create(
        workspace=workspace,
        actor=admin,
        deal_id=deal.pk,
        data={"lines": [{"product_id": widget.pk}]},
    )
    assert quote.lines.get().unit_price == D("39.90")


def test_bad_input_names_every_field(workspace, admin, deal, other_workspace, product_factory):
    foreign = product_factory(ws=other_workspace)
    with pytest.raises(ValidationFailed) as caught:
        services.quote_create(
            workspace=workspace,
            actor=admin,
            deal_id=deal.pk,
            data={
                "valid_until": "2001-01-01",
                "currency": "reais",
                "colour": "blue",
                "lines": [
                    {"product_id": foreign.pk},
                    {"description": "x", "quantity": "0", "unit_price": "abc"},
                    {"description": "y", "unit_price": "1.005", "discount_percent": "120"},
                    {"quantity": 1.5},
                ],
            },
        )
    assert fields(caught.value) == {
        "valid_until": "in-the-past",
        "currency": "invalid",
        "colour": "unknown-field",
        "lines.0.product_id": "not-found",
        "lines.1.quantity": "not-positive",
        "lines.1.unit_price": "invalid",
        "lines.2.unit_price": "too-precise",
        "lines.2.discount_percent": "too-large",
        "lines.3.quantity": "invalid",
        "lines.3.description": "required",
        "lines.3.unit_price": "required",
    }
    assert Quote.objects.count() == 0


def test_a_deal_of_another_workspace_is_not_found(workspace, admin, other_workspace, deal_factory):
    theirs = deal_factory(ws=other_workspace)
    with pytest.raises(ValidationFailed) as caught:
        services.quote_create(workspace=workspace, actor=admin, deal_id=theirs.pk)
    assert fields(caught.value) == {"deal_id": "not-found"}


def test_read_only_members_cannot_draft(workspace, make_member, deal):
    reader = make_member("reader@acme.test", Role.READ_ONLY)
    with pytest.raises(PermissionDenied):
        services.quote_create(workspace=workspace, actor=reader, deal_id=deal.pk)


def test_sales_people_quote_only_deals_they_see(workspace, make_member, deal):
    seller = make_member("seller@acme.test", Role.SALES)
    with pytest.raises(ValidationFailed) as caught:
        services.quote_create(workspace=workspace, actor=seller, deal_id=deal.pk)
    assert fields(caught.value) == {"deal_id": "not-found"}
    deal.owner = seller
    deal.save()
    assert services.quote_create(workspace=workspace, actor=seller, deal_id=deal.pk).pk


# ---------------------------------------------------------------------------------------------
# Lines


def test_line_changes_recompute_the_totals(workspace, admin, draft, widget, gadget):
    assert draft.total == D("348.20")
    widget_line, gadget_line = draft.lines.order_by("position")
    services.quote_line_update(
        workspace=workspace,
        actor=admin,
        quote_id=draft.pk,
        line_id=gadget_line.pk,
        data={"quantity": "2", "tax_rate": "5"},
    )
    draft.refresh_from_db()
    # Gadget 400.00 + 5% = 20.00 tax; Widget as before 134.73 + 13.47
    assert (draft.subtotal, draft.discount_total, draft.tax_total, draft.total) == (
        D("549.70"),
        D("14.97"),
        D("33.47"),
        D("568.20"),
    )
    line = services.quote_line_add(
        workspace=workspace,
        actor=admin,
        quote_id=draft.pk,
        data={
            "description": "Training",
            "quantity": "4",
            "unit_price": "150",
            "discount_percent": "25",
        },
    )
    assert line.position == 2 and line.line_total == D("450.00")
    draft.refresh_from_db()
    assert draft.total == D("1018.20")
    services.quote_line_remove(
        workspace=workspace, actor=admin, quote_id=draft.pk, line_id=widget_line.pk
    )
    draft.refresh_from_db()
    assert draft.total == D("870.00")
    assert draft.lines.count() == 2


def test_picking_another_product_takes_its_name_price_and_tax(
    workspace, admin, draft, widget, gadget
):
    gadget_line = draft.lines.get(product=gadget)
    line = services.quote_line_update(
        workspace=workspace,
        actor=admin,
        quote_id=draft.pk,
        line_id=gadget_line.pk,
        data={"product_id": widget.pk},
    )
    assert (line.description, line.unit_price, line.tax_rate) == ("Widget", D("49.90"), D("10.00"))


def test_reorder_lines(workspace, admin, draft):
    first, second = draft.lines.order_by("position")
    services.quote_lines_reorder(
        workspace=workspace, actor=admin, quote_id=draft.pk, line_ids=[second.pk, first.pk]
    )
    assert list(draft.lines.order_by("position").values_list("pk", flat=True)) == [
        second.pk,
        first.pk,
    ]
    with pytest.raises(ValidationFailed) as caught:
        services.quote_lines_reorder(
            workspace=workspace, actor=admin, quote_id=draft.pk, line_ids=[second.pk]
        )
    assert fields(caught.value) == {"line_ids": "mismatch"}


def test_line_errors_name_the_field(workspace, admin, draft):
    line = draft.lines.first()
    with pytest.raises(ValidationFailed) as caught:
        services.quote_line_update(
            workspace=workspace,
            actor=admin,
            quote_id=draft.pk,
            line_id=line.pk,
            data={"quantity": "-1", "description": "", "tax_rate": ""},
        )
    assert fields(caught.value) == {
        "quantity": "not-positive",
        "description": "required",
        "tax_rate": "required",
    }
    with pytest.raises(ValidationFailed) as caught:
        services.quote_line_add(workspace=workspace, actor=admin, quote_id=draft.pk, data={})
    assert fields(caught.value) == {"description": "required", "unit_price": "required"}


def test_a_line_of_another_quote_is_not_found(workspace, admin, draft, deal):
    other = services.quote_create(
        workspace=workspace,
        actor=admin,
        deal_id=deal.pk,
        data={"lines": [{"description": "a", "unit_price": "1"}]},
    )
    with pytest.raises(NotFound):
        services.quote_line_remove(
            workspace=workspace, actor=admin, quote_id=draft.pk, line_id=other.lines.get().pk
        )


def test_only_drafts_change(workspace, admin, sent):
    line = sent.lines.first()
    for call in (
        lambda: services.quote_update(
            workspace=workspace, actor=admin, quote_id=sent.pk, data={"title": "x"}
        ),
        lambda: services.quote_line_add(
            workspace=workspace,
            actor=admin,
            quote_id=sent.pk,
            data={"description": "a", "unit_price": "1"},
        ),
        lambda: services.quote_line_update(
            workspace=workspace,
            actor=admin,
            quote_id=sent.pk,
            line_id=line.pk,
            data={"quantity": "9"},
        ),
        lambda: services.quote_line_remove(
            workspace=workspace, actor=admin, quote_id=sent.pk, line_id=line.pk
        ),
    ):
        with pytest.raises(QuoteNotOpen) as caught:
            call()
        assert caught.value.code == "quote-not-draft"


def test_header_update_records_the_changes(workspace, admin, draft, contact_factory, customer):
    other = contact_factory(first_name="Bruno", account=customer.account)
    future = (timezone.now() + dt.timedelta(days=60)).date()
    services.quote_update(
        workspace=workspace,
        actor=admin,
        quote_id=draft.pk,
        data={
            "title": "Proposal",
            "contact_id": other.pk,
            "valid_until": future.isoformat(),
            "terms": "Net 30",
        },
    )
    draft.refresh_from_db()
    assert (draft.title, draft.contact, draft.valid_until, draft.terms) == (
        "Proposal",
        other,
        future,
        "Net 30",
    )
    [event] = events("quote.updated")
    assert event.payload["changes"]["contact_id"] == [customer.pk, other.pk]
    assert event.payload["changes"]["valid_until"][1] == future.isoformat()


# ---------------------------------------------------------------------------------------------
# Sending


def test_first_send_numbers_the_quote_and_emails_the_contact(
    workspace, admin, draft, django_capture_on_commit_callbacks
):
    settings = sales_settings_for(workspace)
    settings.quote_prefix = "PR-"
    settings.next_quote_number = 41
    settings.save()
    with django_capture_on_commit_callbacks(execute=True):
        quote = services.quote_send(
            workspace=workspace, actor=admin, quote_id=draft.pk, base_url=BASE_URL
        )
    assert quote.number == "PR-0041" and quote.status == QuoteStatus.SENT
    assert len(quote.public_key) == 32 and quote.sent_by == admin and quote.sent_at
    settings.refresh_from_db()
    assert settings.next_quote_number == 42
    [message] = mail.outbox
    assert message.to == ["ana@souza.test"]
    assert message.reply_to == [admin.email]
    assert "PR-0041" in message.subject and "Acme Ltda" in message.subject
    link = BASE_URL.rstrip("/") + links.public_path(quote)
    assert link in message.body
    assert link in message.alternatives[0][0]
    [event] = events("quote.sent")
    assert event.payload["number"] == "PR-0041" and event.payload["first"] is True


def test_sending_again_keeps_the_number_and_revokes_the_old_link(
    workspace, admin, sent, django_capture_on_commit_callbacks
):
    old_token = links.public_token(sent)
    with django_capture_on_commit_callbacks(execute=True):
        again = services.quote_send(
            workspace=workspace, actor=admin, quote_id=sent.pk, base_url=BASE_URL
        )
    assert again.number == sent.number == "Q-0001"
    assert again.public_key != sent.public_key
    assert links.read_token(old_token).public_key != again.public_key
    assert sales_settings_for(workspace).next_quote_number == 2


def test_numbers_follow_each_other_without_gaps(workspace, admin, deal):
    quotes = [
        services.quote_create(
            workspace=workspace,
            actor=admin,
            deal_id=deal.pk,
            data={"lines": [{"description": "a", "unit_price": "1"}]},
        )
        for _ in range(3)
    ]
    # A send that fails validation takes no number.
    empty = services.quote_create(
        workspace=workspace, actor=admin, deal_id=deal.pk, data={"lines": []}
    )
    with pytest.raises(ValidationFailed):
        services.quote_send(workspace=workspace, actor=admin, quote_id=empty.pk, base_url=BASE_URL)
    numbers = [
        services.quote_send(
            workspace=workspace, actor=admin, quote_id=q.pk, base_url=BASE_URL
        ).number
        for q in quotes
    ]
    assert numbers == ["Q-0001", "Q-0002", "Q-0003"]


def test_a_counter_set_back_skips_numbers_already_given(workspace, admin, deal, sent):
    settings = sales_settings_for(workspace)
    settings.next_quote_number = 1
    settings.save()
    other = services.quote_create(
        workspace=workspace,
        actor=admin,
        deal_id=deal.pk,
        data={"lines": [{"description": "a", "unit_price": "1"}]},
    )
    assert (
        services.quote_send(
            workspace=workspace, actor=admin, quote_id=other.pk, base_url=BASE_URL
        ).number
        == "Q-0002"
    )


def test_what_stops_a_send_is_named(workspace, admin, deal, contact_factory):
    nobody = services.quote_create(
        workspace=workspace, actor=admin, deal_id=deal.pk, data={"lines": []}
    )
    Quote.objects.filter(pk=nobody.pk).update(contact=None, valid_until=dt.date(2020, 1, 1))
    with pytest.raises(ValidationFailed) as caught:
        services.quote_send(workspace=workspace, actor=admin, quote_id=nobody.pk, base_url=BASE_URL)
    assert fields(caught.value) == {
        "lines": "empty",
        "contact_id": "required",
        "valid_until": "in-the-past",
    }
    no_email = contact_factory(email="")
    Quote.objects.filter(pk=nobody.pk).update(contact=no_email)
    with pytest.raises(ValidationFailed) as caught:
        services.quote_send(workspace=workspace, actor=admin, quote_id=nobody.pk, base_url=BASE_URL)
    assert fields(caught.value)["contact_id"] == "no-email"
    assert Quote.objects.get(pk=nobody.pk).status == QuoteStatus.DRAFT
    assert not mail.outbox


def test_a_refusing_mail_server_does_not_undo_the_send(
    workspace, admin, draft, settings, django_capture_on_commit_callbacks
):
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": 9, "timeout": 2},
        }
    }
    with django_capture_on_commit_callbacks(execute=True):
        quote = services.quote_send(
            workspace=workspace, actor=admin, quote_id=draft.pk, base_url=BASE_URL
        )
    assert Quote.objects.get(pk=quote.pk).status == QuoteStatus.SENT


# ---------------------------------------------------------------------------------------------
# Cancelling and expiry


def test_cancel(workspace, admin, sent):
    quote = services.quote_cancel(workspace=workspace, actor=admin, quote_id=sent.pk)
    assert quote.status == QuoteStatus.CANCELLED
    # Twice is a no-op; a cancelled quote cannot be sent.
    services.quote_cancel(workspace=workspace, actor=admin, quote_id=sent.pk)
    assert len(events("quote.cancelled")) == 1
    with pytest.raises(QuoteNotOpen) as caught:
        services.quote_send(workspace=workspace, actor=admin, quote_id=sent.pk, base_url=BASE_URL)
    assert caught.value.code == "quote-cancelled"


def test_expiry_marks_sent_quotes_past_their_validity(workspace, admin, deal, sent):
    draft = services.quote_create(workspace=workspace, actor=admin, deal_id=deal.pk)
    still_valid = services.quote_create(
        workspace=workspace,
        actor=admin,
        deal_id=deal.pk,
        data={"lines": [{"description": "a", "unit_price": "1"}]},
    )
    services.quote_send(
        workspace=workspace, actor=admin, quote_id=still_valid.pk, base_url=BASE_URL
    )
    yesterday = timezone.now().date() - dt.timedelta(days=2)
    Quote.objects.filter(pk=sent.pk).update(valid_until=yesterday)
    Quote.objects.filter(pk=draft.pk).update(valid_until=yesterday)
    assert services.quotes_expire() == 1
    assert Quote.objects.get(pk=sent.pk).status == QuoteStatus.EXPIRED
    assert Quote.objects.get(pk=still_valid.pk).status == QuoteStatus.SENT
    assert Quote.objects.get(pk=draft.pk).status == QuoteStatus.DRAFT  # drafts do not expire
    assert services.quotes_expire() == 0  # idempotent
    [event] = events("quote.expired")
    assert event.subject_id == sent.pk and event.actor is None


def test_expiry_judges_the_day_in_the_workspaces_time_zone(workspace, sent):
    # 02:00 UTC on the 10th is still the 9th in São Paulo: a quote valid until the 9th lives.
    Quote.objects.filter(pk=sent.pk).update(valid_until=dt.date(2031, 5, 9))
    assert services.quotes_expire(now=dt.datetime(2031, 5, 10, 2, 0, tzinfo=dt.UTC)) == 0
    assert services.quotes_expire(now=dt.datetime(2031, 5, 10, 4, 0, tzinfo=dt.UTC)) == 1


def test_quotes_of_another_workspace_are_not_found(
    workspace, admin, other_workspace, other_admin, sent
):
    for call in (
        lambda: services.quote_cancel(
            workspace=other_workspace, actor=other_admin, quote_id=sent.pk
        ),
        lambda: services.quote_send(
            workspace=other_workspace, actor=other_admin, quote_id=sent.pk, base_url=BASE_URL
        ),
        lambda: services.quote_update(
            workspace=other_workspace, actor=other_admin, quote_id=sent.pk, data={}
        ),
    ):
        with pytest.raises(NotFound):
            call()
    assert QuoteLine.objects.filter(quote=sent).count() == 2


def test_the_email_goes_out_over_smtp(
    workspace, admin, draft, customer, settings, django_capture_on_commit_callbacks
):
    from .smtp_sink import SmtpSink

    customer.language = "en"  # the email speaks the contact's language
    customer.save(update_fields=["language"])

    with SmtpSink() as sink:
        settings.MAILERS = {
            "default": {
                "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "OPTIONS": {"host": "127.0.0.1", "port": sink.port, "timeout": 5},
            }
        }
        with django_capture_on_commit_callbacks(execute=True):
            quote = services.quote_send(
                workspace=workspace, actor=admin, quote_id=draft.pk, base_url=BASE_URL
            )
    [(_sender, recipients, message)] = sink.messages
    assert recipients == ["ana@souza.test"]
    assert message["Subject"] == "Quote Q-0001 from Acme Ltda"
    assert message["Reply-To"] == admin.email
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    link = BASE_URL.rstrip("/") + links.public_path(quote)
    assert link in text and link in html
    assert "R$\xa0348.20" in text
