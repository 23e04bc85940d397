"""Logging in and out, failed-login limits, session expiry, password reset by email and TOTP
two-factor enrolment and challenge, all through allauth's pages in our templates."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core import mail
from django.core.cache import cache
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from vinculo.core.models import User

PASSWORD = "correct horse battery"
NEW_PASSWORD = "another long phrase 77"
LOGIN = "/accounts/login/"


@pytest.fixture(autouse=True)
def _fresh_cache():
    # Rate-limit counters and used TOTP codes live in the cache.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def member(make_member) -> User:
    return make_member("rep@acme.test")


def _log_in(client: Client, email: str, password: str, **extra: str):
    return client.post(LOGIN, {"login": email, "password": password, **extra})


def _totp_now(secret: str) -> str:
    import time

    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


# --- logging in and out ----------------------------------------------------------------------


def test_login_page_uses_our_layout(client, db):
    r = client.get(LOGIN)
    html = r.content.decode()
    assert r.status_code == 200
    assert 'class="entrance"' in html
    assert 'name="login"' in html and 'name="password"' in html


def test_a_wrong_password_is_refused_with_a_message_then_the_right_one_works(client, member):
    r = _log_in(client, member.email, "not the password")
    assert r.status_code == 200
    assert 'class="alert alert-error"' in r.content.decode()
    assert "_auth_user_id" not in client.session
    r = _log_in(client, member.email, PASSWORD)
    assert r.status_code == 302
    assert r.url == "/"
    assert client.session["_auth_user_id"] == str(member.pk)


def test_logging_out_ends_the_session(client, member):
    _log_in(client, member.email, PASSWORD)
    r = client.post(reverse("account_logout"))
    assert r.status_code == 302
    assert r.url == settings.ACCOUNT_LOGOUT_REDIRECT_URL
    assert client.get("/").status_code == 302


@override_settings(ACCOUNT_RATE_LIMITS={"login_failed": "10/m/ip,5/5m/key"})
def test_the_sixth_bad_password_in_a_row_is_refused_with_a_clear_message(client, member):
    for _ in range(5):
        r = _log_in(client, member.email, "guess")
        assert "Too many" not in r.content.decode() and "Muitas" not in r.content.decode()
    r = _log_in(client, member.email, "guess")
    html = r.content.decode()
    assert r.status_code == 200
    assert "Muitas tentativas de login falharam" in html
    # The limit holds even for the right password until it expires.
    r = _log_in(client, member.email, PASSWORD)
    assert "_auth_user_id" not in client.session


@override_settings(ACCOUNT_RATE_LIMITS={"login_failed": "10/m/ip,5/5m/key"})
def test_the_limit_is_per_account(client, member, make_member):
    other = make_member("other@acme.test")
    for _ in range(5):
        _log_in(client, member.email, "guess")
    r = _log_in(client, other.email, PASSWORD)
    assert r.status_code == 302


# --- sessions expire -------------------------------------------------------------------------


def test_remember_me_keeps_the_session_for_the_configured_age(client, member):
    _log_in(client, member.email, PASSWORD, remember="on")
    assert client.session.get_expiry_age() == settings.SESSION_COOKIE_AGE
    assert not client.session.get_expire_at_browser_close()
    assert settings.SESSION_COOKIE_AGE <= 60 * 60 * 24


def test_without_remember_me_the_session_ends_with_the_browser(client, member):
    _log_in(client, member.email, PASSWORD)
    assert client.session.get_expire_at_browser_close()


def test_an_expired_session_is_sent_back_to_log_in(client, member):
    _log_in(client, member.email, PASSWORD, remember="on")
    assert client.get("/").status_code == 200
    Session.objects.filter(session_key=client.session.session_key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    r = client.get("/")
    assert r.status_code == 302
    assert r.url.startswith(LOGIN)


# --- password reset by email -----------------------------------------------------------------


def test_password_reset_by_emailed_link(client, member):
    r = client.post(reverse("account_reset_password"), {"email": member.email})
    assert r.status_code == 302
    [message] = mail.outbox
    assert message.to == [member.email]
    assert message.subject.startswith("Vínculo · ")
    link = re.search(r"http://testserver(/accounts/password/reset/key/\S+/)", message.body)
    assert link
    r = client.get(link.group(1))
    # allauth moves the key out of the URL into the session before showing the form.
    assert r.status_code == 302
    form = client.get(r.url)
    html = form.content.decode()
    assert 'name="password1"' in html
    assert 'class="account-form' in html
    r = client.post(r.url, {"password1": "short", "password2": "short"})
    assert r.status_code == 200
    assert 'class="error"' in r.content.decode()
    r = client.post(
        form.request["PATH_INFO"], {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert r.status_code == 302
    member.refresh_from_db()
    assert member.check_password(NEW_PASSWORD)
    # The link is used up, and the new password logs in.
    reused = client.get(link.group(1), follow=True)
    assert reused.context["token_fail"]
    fresh = Client()
    assert _log_in(fresh, member.email, PASSWORD).status_code == 200
    assert _log_in(fresh, member.email, NEW_PASSWORD).status_code == 302


def test_reset_for_an_unknown_address_reveals_nothing(client, db):
    r = client.post(reverse("account_reset_password"), {"email": "nobody@example.test"})
    assert r.status_code == 302
    assert r.url == reverse("account_reset_password_done")


# --- TOTP two-factor authentication ----------------------------------------------------------


def _enrol(client: Client, user: User) -> str:
    """Activate TOTP for the logged-in `user` through the pages; returns the secret."""
    r = client.get(reverse("mfa_activate_totp"))
    if r.status_code == 302 and "reauthenticate" in r.url:
        client.post(r.url, {"password": PASSWORD})
        r = client.get(reverse("mfa_activate_totp"))
    html = r.content.decode()
    assert r.status_code == 200
    # The QR code is a data: URL image (allowed by img-src) next to the secret.
    assert 'src="data:image/svg+xml;base64,' in html
    secret = re.search(r'id="authenticator_secret"[^>]*value="([A-Z2-7]+)"', html)
    if secret is None:
        secret = re.search(r'value="([A-Z2-7]+)"[^>]*id="authenticator_secret"', html)
    secret_value = secret.group(1)
    bad = client.post(reverse("mfa_activate_totp"), {"code": "000000"})
    assert bad.status_code == 200
    assert 'class="error"' in bad.content.decode()
    ok = client.post(reverse("mfa_activate_totp"), {"code": _totp_now(secret_value)})
    assert ok.status_code == 302
    assert Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
    return secret_value


def test_totp_enrolment_then_every_login_asks_for_a_code(client, member):
    _log_in(client, member.email, PASSWORD)
    secret = _enrol(client, member)
    client.post(reverse("account_logout"))
    cache.clear()  # the code used to enrol may not be reused within its period

    r = _log_in(client, member.email, PASSWORD)
    assert r.status_code == 302
    assert r.url == reverse("mfa_authenticate")
    assert "_auth_user_id" not in client.session
    page = client.get(r.url).content.decode()
    assert 'name="code"' in page
    assert 'class="entrance"' in page
    wrong = client.post(reverse("mfa_authenticate"), {"code": "123456"})
    assert wrong.status_code == 200
    assert 'class="error"' in wrong.content.decode()
    assert "_auth_user_id" not in client.session
    r = client.post(reverse("mfa_authenticate"), {"code": _totp_now(secret)})
    assert r.status_code == 302
    assert client.session["_auth_user_id"] == str(member.pk)


def test_recovery_codes_are_offered_after_enrolment(client, member):
    _log_in(client, member.email, PASSWORD)
    _enrol(client, member)
    r = client.get(reverse("mfa_view_recovery_codes"))
    html = r.content.decode()
    assert r.status_code == 200
    assert len(re.findall(r"\b\d{8}\b", html)) >= 10


# --- every account page: our look, no inline script or style ---------------------------------

ACCOUNT_PAGES_ANONYMOUS = [
    "account_login",
    "account_reset_password",
    "account_reset_password_done",
]
ACCOUNT_PAGES_SIGNED_IN = [
    "account_change_password",
    "account_logout",
    "mfa_index",
    "account_reauthenticate",
]


def _assert_csp_clean(html: str) -> None:
    assert ' style="' not in html
    assert " onclick=" not in html and " onload=" not in html and "hx-on" not in html
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert 'nonce="' in tag or 'type="application/json"' in tag or "src=" in tag, tag


@pytest.mark.parametrize("name", ACCOUNT_PAGES_ANONYMOUS)
def test_anonymous_account_pages_look_like_the_product(client, db, name):
    r = client.get(reverse(name))
    assert r.status_code == 200
    html = r.content.decode()
    assert 'class="entrance"' in html
    assert "app.css" in html
    _assert_csp_clean(html)


@pytest.mark.parametrize("name", ACCOUNT_PAGES_SIGNED_IN)
def test_signed_in_account_pages_look_like_the_product(client, member, name):
    client.force_login(member)
    r = client.get(reverse(name))
    assert r.status_code == 200
    html = r.content.decode()
    assert 'class="sidebar"' in html or 'class="entrance"' in html
    assert "core/account.css" in html
    _assert_csp_clean(html)
    # Every input has its label.
    for input_id in re.findall(r'<input[^>]*type="(?:text|password|email)"[^>]*id="([^"]+)"', html):
        assert f'for="{input_id}"' in html, input_id


def test_the_two_factor_pages_are_csp_clean_too(client, member):
    _log_in(client, member.email, PASSWORD)
    _enrol(client, member)
    for name in ("mfa_index", "mfa_view_recovery_codes", "mfa_generate_recovery_codes"):
        r = client.get(reverse(name))
        assert r.status_code == 200, name
        _assert_csp_clean(r.content.decode())
