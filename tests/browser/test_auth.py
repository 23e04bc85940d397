"""Account flows in a real browser: logging in (wrong password first), the password reset by
the emailed link, two-factor enrolment with a QR code and logging in with a code, and the
account pages in both languages and on a phone."""

from __future__ import annotations

import re
import time

import pytest
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.core import mail
from django.core.cache import cache
from playwright.sync_api import expect

from tests.browser.conftest import axe_violations, log_in, screenshot
from vinculo.core.models import User
from vinculo.core.services import workspace_create

PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "a brand new pass phrase 31"


@pytest.fixture
def ana(transactional_db):
    workspace_create(name="Acme Ltda", slug="acme", admin_email="ana@acme.example.com")
    user = User.objects.get(email="ana@acme.example.com")
    user.full_name = "Ana Souza"
    user.set_password(PASSWORD)
    user.save()
    cache.clear()
    return user


def _code(secret: str) -> str:
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


def _expected_4xx(page) -> None:
    """Refused forms answer 4xx on purpose; Chromium logs each as a console error."""
    page.problems[:] = [p for p in page.problems if "Failed to load resource" not in p]


def _phone(browser, live_server):
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="pt-BR")
    page = context.new_page()
    page.base_url = live_server.url
    return context, page


@pytest.mark.django_db(transaction=True)
def test_a_wrong_password_shows_the_error_then_the_right_one_logs_in(page, ana):
    page.goto(page.base_url + "/accounts/login/")
    expect(page.get_by_role("heading", name="Entrar")).to_be_visible()
    assert axe_violations(page) == []
    screenshot(page, "auth-login-pt-br")
    page.get_by_label("E-mail").fill(ana.email)
    page.get_by_label("Senha").fill("not my password")
    page.get_by_role("button", name="Entrar").click()
    expect(page.get_by_role("alert")).to_contain_text("incorretos")
    expect(page.get_by_label("E-mail")).to_have_value(ana.email)
    screenshot(page, "auth-login-error-pt-br")
    page.get_by_label("Senha").fill(PASSWORD)
    page.get_by_role("button", name="Entrar").click()
    page.wait_for_url(page.base_url + "/")
    expect(page.get_by_role("heading", name="Olá, Ana Souza")).to_be_visible()


@pytest.mark.django_db(transaction=True)
def test_password_reset_through_the_emailed_link(page, ana):
    page.goto(page.base_url + "/accounts/login/")
    page.get_by_role("link", name="Esqueceu a senha?").click()
    expect(page.get_by_role("heading", name="Redefinição de senha")).to_be_visible()
    assert axe_violations(page) == []
    screenshot(page, "auth-reset-pt-br")
    page.get_by_label("E-mail").fill(ana.email)
    page.get_by_role("button", name="Redefinir minha senha").click()
    expect(page.locator(".entrance")).to_contain_text("Enviamos um e-mail")
    screenshot(page, "auth-reset-sent-pt-br")

    [message] = mail.outbox
    link = re.search(r"https?://\S+/accounts/password/reset/key/\S+/", message.body).group(0)
    page.goto(page.base_url + "/" + link.split("/", 3)[3])
    expect(page.get_by_role("heading", name="Alterar senha")).to_be_visible()
    assert axe_violations(page) == []
    page.get_by_label("Nova senha", exact=True).fill("short")
    page.get_by_label("Nova senha (novamente)").fill("short")
    page.get_by_role("button", name="Alterar senha").click()
    expect(page.locator(".field.has-error .error").first).to_be_visible()
    screenshot(page, "auth-reset-new-password-error-pt-br")
    page.get_by_label("Nova senha", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Nova senha (novamente)").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Alterar senha").click()
    expect(page.locator(".entrance")).to_contain_text("Sua senha foi alterada")
    screenshot(page, "auth-reset-done-pt-br")

    log_in(page, ana.email, NEW_PASSWORD)
    expect(page.get_by_role("heading", name="Olá, Ana Souza")).to_be_visible()


WORDS = {
    "pt-BR": {
        "mfa": "Autenticação de dois fatores",
        "activate": "Ativar",
        "reauth": "Confirmar acesso",
        "password": "Senha",
        "confirm": "Confirmar",
        "activate_heading": "Ativar aplicativo autenticador",
        "code_label": "Código do autenticador",
        "recovery": "Códigos de recuperação",
        "deactivate": "Desativar aplicativo autenticador",
        "log_out": "Sair",
        "email": "E-mail",
        "log_in": "Entrar",
        "code": "Código",
        "sign_in": "Entrar",
        "hello": "Olá, Ana Souza",
    },
    "en": {
        "mfa": "Two-Factor Authentication",
        "activate": "Activate",
        "reauth": "Confirm Access",
        "password": "Password",
        "confirm": "Confirm",
        "activate_heading": "Activate Authenticator App",
        "code_label": "Authenticator code",
        "recovery": "Recovery Codes",
        "deactivate": "Deactivate Authenticator App",
        "log_out": "Log out",
        "email": "Email",
        "log_in": "Log in",
        "code": "Code",
        "sign_in": "Sign In",
        "hello": "Hello, Ana Souza",
    },
}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("locale", "width"), [("pt-BR", 1280), ("en", 390)])
def test_enrol_totp_then_log_in_with_a_code(browser, live_server, ana, locale, width):
    w = WORDS[locale]
    suffix = f"{locale.lower()}" if width > 500 else f"{locale.lower()}-390"
    context = browser.new_context(viewport={"width": width, "height": 860}, locale=locale)
    page = context.new_page()
    page.base_url = live_server.url
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    log_in(page, ana.email, PASSWORD)
    page.locator("details.menu summary").last.click()
    page.locator("details.menu a[href='/accounts/2fa/']").click()
    expect(page.get_by_role("heading", name=w["mfa"])).to_be_visible()
    assert axe_violations(page) == []
    screenshot(page, f"auth-mfa-index-{suffix}")
    page.get_by_role("link", name=w["activate"]).click()

    # Enrolling asks for the password again first.
    expect(page.get_by_role("heading", name=w["reauth"])).to_be_visible()
    screenshot(page, f"auth-reauthenticate-{suffix}")
    page.get_by_label(w["password"]).fill(PASSWORD)
    page.get_by_role("button", name=w["confirm"]).click()

    expect(page.get_by_role("heading", name=w["activate_heading"])).to_be_visible()
    qr = page.locator("img.qr-code")
    expect(qr).to_be_visible()
    assert qr.get_attribute("src").startswith("data:image/svg+xml;base64,")
    assert page.evaluate("document.querySelector('img.qr-code').naturalWidth") > 0
    assert axe_violations(page) == []
    screenshot(page, f"auth-totp-activate-{suffix}")
    secret = page.locator("#authenticator_secret").input_value()
    # The secret can be copied, for an authenticator app on the same phone.
    page.locator("button[data-copy='authenticator_secret']").click()
    expect(page.locator("[data-copy-status]")).not_to_be_empty()
    page.get_by_label(w["code_label"]).fill("000000")
    page.get_by_role("button", name=w["activate"]).click()
    expect(page.locator(".field.has-error .error")).to_be_visible()
    page.get_by_label(w["code_label"]).fill(_code(secret))
    page.get_by_role("button", name=w["activate"]).click()
    expect(page.get_by_role("heading", name=w["recovery"])).to_be_visible()
    screenshot(page, f"auth-recovery-codes-{suffix}")
    page.goto(page.base_url + "/accounts/2fa/")
    screenshot(page, f"auth-mfa-index-active-{suffix}")
    page.goto(page.base_url + "/accounts/2fa/recovery-codes/generate/")
    screenshot(page, f"auth-recovery-codes-generate-{suffix}")
    page.goto(page.base_url + "/accounts/2fa/totp/deactivate/")
    expect(page.get_by_role("heading", name=w["deactivate"])).to_be_visible()
    assert axe_violations(page) == []
    screenshot(page, f"auth-totp-deactivate-{suffix}")

    page.locator("details.menu summary").last.click()
    page.get_by_role("button", name=w["log_out"]).click()
    page.wait_for_url(re.compile(r"/accounts/login/"))
    cache.clear()  # the enrolment code may not be used twice in its 30 seconds

    page.get_by_label(w["email"]).fill(ana.email)
    page.get_by_label(w["password"]).fill(PASSWORD)
    page.get_by_role("button", name=w["log_in"]).click()
    expect(page.get_by_role("heading", name=w["mfa"])).to_be_visible()
    assert axe_violations(page) == []
    screenshot(page, f"auth-mfa-challenge-{suffix}")
    page.get_by_label(w["code"], exact=True).fill("123456")
    page.get_by_role("button", name=w["sign_in"]).click()
    expect(page.locator(".field.has-error .error")).to_be_visible()
    page.get_by_label(w["code"], exact=True).fill(_code(secret))
    page.get_by_role("button", name=w["sign_in"]).click()
    page.wait_for_url(page.base_url + "/")
    expect(page.get_by_role("heading", name=w["hello"])).to_be_visible()
    context.close()
    assert problems == []


@pytest.mark.django_db(transaction=True)
def test_account_pages_in_english_and_back(page, ana):
    log_in(page, ana.email, PASSWORD)
    page.goto(page.base_url + "/accounts/2fa/")
    menu = page.locator("details.menu", has=page.locator("#pref-language"))
    menu.locator("summary").click()
    with page.expect_navigation():
        page.locator("#pref-language").select_option("en")
    expect(page.get_by_role("heading", name="Two-Factor Authentication")).to_be_visible()
    screenshot(page, "auth-mfa-index-en")
    page.goto(page.base_url + "/accounts/password/change/")
    expect(page.get_by_role("heading", name="Change Password")).to_be_visible()
    assert axe_violations(page) == []
    screenshot(page, "auth-password-change-en")
    page.goto(page.base_url + "/accounts/logout/")
    screenshot(page, "auth-logout-en")
    page.get_by_role("button", name="Sign Out").click()
    page.wait_for_url(re.compile(r"/accounts/login/"))
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    screenshot(page, "auth-login-en")
    page.goto(page.base_url + "/accounts/password/reset/")
    screenshot(page, "auth-reset-en")
    # The entrance pages offer the other language too.
    page.get_by_role("button", name="Português (Brasil)").click()
    expect(page.get_by_role("heading", name="Redefinição de senha")).to_be_visible()


@pytest.mark.django_db(transaction=True)
def test_account_pages_on_a_phone(browser, live_server, ana):
    context, page = _phone(browser, live_server)
    page.goto(page.base_url + "/accounts/login/")
    screenshot(page, "auth-login-390")
    page.goto(page.base_url + "/accounts/password/reset/")
    screenshot(page, "auth-reset-390")
    log_in(page, ana.email, PASSWORD)
    page.goto(page.base_url + "/accounts/2fa/")
    screenshot(page, "auth-mfa-index-390")
    page.goto(page.base_url + "/accounts/password/change/")
    screenshot(page, "auth-password-change-390")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    context.close()


@pytest.mark.django_db(transaction=True)
def test_failed_logins_are_limited_with_a_clear_message(page, ana, settings):
    settings.ACCOUNT_RATE_LIMITS = {"login_failed": "10/m/ip,5/5m/key"}
    page.goto(page.base_url + "/accounts/login/")
    for _ in range(6):
        page.get_by_label("E-mail").fill(ana.email)
        page.get_by_label("Senha").fill("guessing")
        page.get_by_role("button", name="Entrar").click()
        page.wait_for_load_state()
    expect(page.get_by_role("alert")).to_contain_text("Muitas tentativas de login falharam")
    screenshot(page, "auth-login-limited-pt-br")
    _expected_4xx(page)
