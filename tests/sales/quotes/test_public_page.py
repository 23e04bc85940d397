"""The customer's page at /q/<token>: no login, the signed token as the key (tampered or
replaced → 404), accept with a name / decline with a reason, refusals with a clear page, CSRF
and rate limiting."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core import signing
from django.test import Client
from django.utils import timezone

from vinculo.sales.models import DealStatus, Order, Quote, QuoteStatus
from vinculo.sales.quotes import links, services
from vinculo.sales.quotes.links import SALT

from .conftest import BASE_URL


def text(response) -> str:
    return re.sub(r"[ \t\r\n]+", " ", response.content.decode())


@pytest.fixture
def visitor(db) -> Client:
    return Client(HTTP_ACCEPT_LANGUAGE="en")


@pytest.fixture
def url(sent) -> str:
    return links.public_path(sent)


def test_the_customer_reads_the_quote_without_logging_in(visitor, url, sent):
    r = visitor.get(url)
    assert r.status_code == 200
    page = text(r)
    assert "Quote Q-0001" in page and "Acme Ltda" in page and "Widget" in page
    assert "R$\xa0348.20" in page
    assert "Accept the quote" in page and "Decline the quote" in page
    assert 'name="csrfmiddlewaretoken"' in page


def test_accepting(visitor, url, sent, deal):
    r = visitor.post(url, {"action": "accept", "name": "Ana Souza"}, REMOTE_ADDR="198.51.100.7")
    assert r.status_code == 302 and r["Location"] == url + "?answered=1"
    page = text(visitor.get(r["Location"]))
    assert "Thank you, Ana Souza!" in page
    assert "Accept the quote" not in page
    sent.refresh_from_db()
    assert sent.status == QuoteStatus.ACCEPTED and sent.answered_ip == "198.51.100.7"
    deal.refresh_from_db()
    assert deal.status == DealStatus.WON
    assert Order.objects.filter(quote=sent).count() == 1


def test_accepting_without_a_name_is_422(visitor, url, sent):
    r = visitor.post(url, {"action": "accept", "name": " "})
    assert r.status_code == 422
    assert 'id="signer-name-error">This field is required.' in text(r)
    assert Quote.objects.get(pk=sent.pk).status == QuoteStatus.SENT


def test_declining(visitor, url, sent, deal):
    r = visitor.post(url, {"action": "decline", "reason": "We chose another supplier"})
    assert r.status_code == 302
    page = text(visitor.get(r["Location"]))
    assert "Thank you for letting us know" in page
    sent.refresh_from_db()
    assert (
        sent.status == QuoteStatus.DECLINED and sent.decline_reason == "We chose another supplier"
    )
    deal.refresh_from_db()
    assert deal.status == DealStatus.LOST and deal.lost_reason == "Quote declined"


def test_answering_twice_is_refused_with_a_clear_page(visitor, url, sent):
    visitor.post(url, {"action": "accept", "name": "Ana"})
    r = visitor.post(url, {"action": "decline", "reason": "changed my mind"})
    assert r.status_code == 409
    page = text(r)
    assert "already been answered" in page and "Ana accepted this quote" in page
    assert Quote.objects.get(pk=sent.pk).status == QuoteStatus.ACCEPTED


def test_an_expired_quote_cannot_be_answered(visitor, url, sent):
    Quote.objects.filter(pk=sent.pk).update(
        valid_until=timezone.now().date() - dt.timedelta(days=3)
    )
    page = text(visitor.get(url))
    assert (
        "This quote has expired" in page and "Accept the quote" not in page.split("</section>")[-1]
    )
    r = visitor.post(url, {"action": "accept", "name": "Ana"})
    assert r.status_code == 410 and "This quote has expired" in text(r)
    assert Quote.objects.get(pk=sent.pk).status == QuoteStatus.SENT


def test_a_cancelled_quote_cannot_be_answered(visitor, url, workspace, admin, sent):
    services.quote_cancel(workspace=workspace, actor=admin, quote_id=sent.pk)
    assert "This quote was withdrawn" in text(visitor.get(url))
    r = visitor.post(url, {"action": "accept", "name": "Ana"})
    assert r.status_code == 410
    assert not Order.objects.exists()


def test_a_tampered_token_is_404(visitor, url, sent):
    token = url.rsplit("/", 1)[1]
    tampered = token[:-3] + ("abc" if not token.endswith("abc") else "xyz")
    r = visitor.get(f"/q/{tampered}")
    assert r.status_code == 404 and "This link does not work" in text(r)
    # A validly signed value for another quote id needs the secret: a guessed one fails too.
    forged = signing.Signer(salt="other").sign_object([sent.workspace_id, sent.pk, sent.public_key])
    assert visitor.get(f"/q/{forged}").status_code == 404
    assert visitor.post(f"/q/{tampered}", {"action": "accept", "name": "A"}).status_code == 404


def test_an_old_link_stops_working_when_the_quote_is_sent_again(
    visitor, url, workspace, admin, sent
):
    services.quote_send(workspace=workspace, actor=admin, quote_id=sent.pk, base_url=BASE_URL)
    assert visitor.get(url).status_code == 404
    assert visitor.post(url, {"action": "accept", "name": "Ana"}).status_code == 404
    sent.refresh_from_db()
    assert visitor.get(links.public_path(sent)).status_code == 200
    assert sent.status == QuoteStatus.SENT


def test_a_token_pointing_at_another_workspace_is_404(visitor, sent, other_workspace):
    forged = signing.Signer(salt=SALT).sign_object([other_workspace.pk, sent.pk, sent.public_key])
    assert visitor.get(f"/q/{forged}").status_code == 404


def test_answers_need_the_csrf_token(url, sent):
    strict = Client(enforce_csrf_checks=True)
    assert strict.post(url, {"action": "accept", "name": "Ana"}).status_code == 403
    page = strict.get(url)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)
    r = strict.post(url, {"action": "accept", "name": "Ana", "csrfmiddlewaretoken": token})
    assert r.status_code == 302


def test_answers_are_rate_limited(visitor, url, sent):
    codes = [
        visitor.post(url, {"action": "accept", "name": ""}, REMOTE_ADDR="192.0.2.1").status_code
        for _ in range(12)
    ]
    assert codes[:10] == [422] * 10 and codes[10:] == [429, 429]
    assert "Too many attempts" in text(
        visitor.post(url, {"action": "accept", "name": "Ana"}, REMOTE_ADDR="192.0.2.1")
    )
    assert Quote.objects.get(pk=sent.pk).status == QuoteStatus.SENT
    # Another address is not held back.
    assert (
        visitor.post(url, {"action": "accept", "name": "Ana"}, REMOTE_ADDR="192.0.2.2").status_code
        == 302
    )


def test_the_public_page_speaks_portuguese(url, sent):
    page = text(Client(HTTP_ACCEPT_LANGUAGE="pt-br").get(url))
    assert "R$\xa0348,20" in page


def test_an_unknown_action_is_422(visitor, url):
    assert visitor.post(url, {"action": "maybe"}).status_code == 422
