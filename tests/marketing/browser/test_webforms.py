"""Web forms in a real browser (Chromium through Playwright): building a form with its live
preview, the hosted form on a desktop and a phone in both languages, its 422 and 429 answers
and the thank-you page, and the snippet embedding it in another site's page (auto height, UTM
from that page, framing refused to sites the form does not list). Screenshots go to
test-artifacts/screenshots/webform-*.png."""

from __future__ import annotations

import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import axe_violations, log_in, screenshot
from tests.marketing.test_submit import _fresh_window
from vinculo.contacts.models import ConsentEntry
from vinculo.core.models import User
from vinculo.core.ratelimit import rate_limit_hit
from vinculo.marketing.models import WebForm, WebFormSubmission
from vinculo.marketing.services import SUBMISSIONS_PER_MINUTE, client_key, webform_create
from vinculo.sales.models import Lead

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple"
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def ana(transactional_db):
    from vinculo.core.services import workspace_create

    workspace = workspace_create(name="Acme Ltda", slug="acme", admin_email="ana@acme.example.com")
    ana = User.objects.get(email="ana@acme.example.com")
    ana.full_name = "Ana Souza"
    ana.set_password(PASSWORD)
    ana.save()
    ana.workspace = workspace  # type: ignore[attr-defined]
    return ana


def _form(ana, **data) -> WebForm:
    data.setdefault("name", "Site — fale com vendas")
    data.setdefault("title", "Fale com um especialista")
    data.setdefault(
        "introduction", "Conte um pouco sobre a sua empresa e respondemos em até um dia útil."
    )
    data.setdefault(
        "fields",
        [
            {"name": "first_name", "label": "Nome", "required": True},
            {"name": "email", "label": "E-mail de trabalho", "required": True},
            {"name": "company_name", "label": "Empresa", "required": True},
            {"name": "company_size", "label": "", "required": False},
            {"name": "state", "label": "Estado", "required": False},
            {"name": "message", "label": "Como podemos ajudar?", "required": False},
        ],
    )
    data.setdefault("submit_label", "Quero conversar")
    data.setdefault("consent_purpose", "email_marketing")
    data.setdefault(
        "consent_wording",
        "Aceito receber e-mails com conteúdos e ofertas. Posso cancelar quando quiser.",
    )
    data.setdefault("thank_you_message", "Um especialista vai falar com você em até um dia útil.")
    data.setdefault("lead_source", "Site")
    return webform_create(workspace=ana.workspace, actor=ana, data=data)


def _expected_status(page, status: int) -> None:
    """A form answered 422 or 429 on purpose; Chromium logs each 4xx as a console error."""
    page.problems[:] = [p for p in page.problems if f"status of {status}" not in p]


def _new_page(browser, live_server, *, locale: str, viewport: dict | None = None):
    context = browser.new_context(
        viewport=viewport or {"width": 1280, "height": 860}, locale=locale
    )
    new = context.new_page()
    new.set_default_timeout(10_000)
    new.base_url = live_server.url
    return context, new


def test_build_a_form_with_its_live_preview(page, ana):
    log_in(page, ana.email, PASSWORD)
    page.goto(page.base_url + "/forms/")
    expect(page.get_by_role("heading", name="Nenhum formulário web ainda")).to_be_visible()
    screenshot(page, "webform-list-empty-pt-br")
    page.get_by_role("link", name="Criar o primeiro formulário web").click()
    expect(page).to_have_url(re.compile(r"/forms/new$"))

    page.get_by_label("Nome do formulário").fill("Landing page de março")
    page.get_by_label("Título exibido no formulário").fill("Peça uma demonstração")
    preview = page.locator("#wf-preview")
    expect(preview).to_contain_text("Peça uma demonstração")
    # Ask the company size too, with a label of our own, and move it up above the message.
    page.locator("#include-company_size").check()
    page.locator("#label-company_size").fill("Quantas pessoas trabalham aí?")
    expect(preview).to_contain_text("Quantas pessoas trabalham aí?")
    for _ in range(3):
        page.get_by_role("button", name="Mover Porte da empresa para cima").click()
    expect(page.locator("[data-move-status]")).to_contain_text("Porte da empresa agora é o número")
    labels = page.locator("#wf-preview .wf-field > label")
    expect(labels.nth(4)).to_have_text("Quantas pessoas trabalham aí?")
    expect(labels.nth(5)).to_have_text("Mensagem")
    page.locator("#id_consent_wording").fill("Aceito receber e-mails sobre produtos e eventos.")
    expect(preview).to_contain_text("Aceito receber e-mails sobre produtos e eventos.")
    assert axe_violations(page) == []
    screenshot(page, "webform-builder-pt-br")

    page.get_by_role("button", name="Criar formulário web").click()
    expect(page.locator(".messages")).to_contain_text("Landing page de março")
    form = WebForm.all_tenants.get(name="Landing page de março")
    assert [f["name"] for f in form.fields].index("company_size") < [
        f["name"] for f in form.fields
    ].index("message")
    expect(page.locator("#embed-snippet")).to_have_value(re.compile(form.public_key))
    assert axe_violations(page) == []
    screenshot(page, "webform-share-pt-br")


def test_builder_errors_and_english(page, ana):
    ana.language = "en"
    ana.save(update_fields=["language"])
    form = _form(ana)
    log_in(page, ana.email, PASSWORD)
    page.goto(f"{page.base_url}/forms/{form.pk}/")
    expect(page.get_by_role("heading", name="Edit web form")).to_be_visible()
    screenshot(page, "webform-builder-en")
    page.get_by_label("Form name").fill("")
    page.get_by_label("Sites allowed to embed it").fill("not a site")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator("#builder-errors")).to_be_visible()
    expect(page.locator(".field.has-error")).to_have_count(2)
    expect(page.get_by_text("Give the form a name.")).to_be_visible()
    screenshot(page, "webform-builder-422-en")
    _expected_status(page, 422)
    page.goto(f"{page.base_url}/forms/")
    expect(page.get_by_role("switch")).to_have_attribute("aria-checked", "true")
    screenshot(page, "webform-list-en")


@pytest.mark.parametrize(("locale", "lang"), [("pt-BR", "pt-br"), ("en-US", "en")])
def test_the_hosted_form_on_desktop_and_phone(browser, live_server, ana, locale, lang):
    form = _form(ana)
    url = f"{live_server.url}/f/{form.public_key}?utm_source=newsletter&utm_campaign=marco"
    for name, viewport in (("desktop", None), ("phone", PHONE)):
        context, page = _new_page(browser, live_server, locale=locale, viewport=viewport)
        page.goto(url)
        expect(page.locator("html")).to_have_attribute("lang", lang)
        expect(page.get_by_role("heading", name="Fale com um especialista")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= (viewport or {}).get(
            "width", 1280
        )
        assert axe_violations(page) == []
        screenshot(page, f"webform-hosted-{name}-{lang}")
        context.close()

    context, page = _new_page(browser, live_server, locale=locale, viewport=PHONE)
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.goto(url)
    page.locator("#wf-first_name").fill("Ana")
    page.locator("#wf-company_name").fill("Padaria Pão Quente")
    page.locator("button.wf-submit").click()
    summary = page.locator("#wf-errors")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text(
        "E-mail de trabalho é obrigatório."
        if lang == "pt-br"
        else "E-mail de trabalho is required."
    )
    expect(page.locator("#wf-email")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#wf-company_name")).to_have_value("Padaria Pão Quente")
    screenshot(page, f"webform-hosted-422-{lang}")
    assert Lead.all_tenants.count() == 0

    page.locator("#wf-email").fill("ana.souza@padaria.example")
    page.locator("#wf-company_size").select_option("11-50")
    page.locator("#wf-consent").check()
    page.locator("button.wf-submit").click()
    expect(
        page.get_by_role("heading", name="Obrigado!" if lang == "pt-br" else "Thank you!")
    ).to_be_visible()
    expect(page.locator(".wf-done")).to_contain_text("Um especialista vai falar com você")
    screenshot(page, f"webform-thanks-{lang}")
    lead = Lead.all_tenants.get()
    assert (lead.email, lead.company_size, lead.utm_source, lead.utm_campaign) == (
        "ana.souza@padaria.example",
        "11-50",
        "newsletter",
        "marco",
    )
    assert ConsentEntry.all_tenants.get(lead=lead).wording.startswith("Aceito receber e-mails")
    assert not problems
    context.close()


@pytest.mark.parametrize(("locale", "lang"), [("pt-BR", "pt-br"), ("en-US", "en")])
def test_too_many_posts_get_a_clear_answer(browser, live_server, ana, locale, lang):
    form = _form(ana)
    _fresh_window()
    # This address has used its posts for the minute already.
    for _ in range(SUBMISSIONS_PER_MINUTE):
        rate_limit_hit(client_key(form, "127.0.0.1"), limit=SUBMISSIONS_PER_MINUTE)
    context, page = _new_page(browser, live_server, locale=locale)
    page.goto(f"{live_server.url}/f/{form.public_key}")
    page.locator("#wf-first_name").fill("Robô")
    page.locator("#wf-email").fill("robo@spam.example")
    page.locator("#wf-company_name").fill("Spam")
    page.locator("button.wf-submit").click()
    heading = "Envios demais" if lang == "pt-br" else "Too many submissions"
    expect(page.get_by_role("heading", name=heading)).to_be_visible()
    screenshot(page, f"webform-429-{lang}")
    assert Lead.all_tenants.count() == 0
    context.close()


PARTNER_PAGE = """<!doctype html><html lang="pt-br"><head><meta charset="utf-8">
<title>Padaria Pão Quente</title></head>
<body style="font-family: sans-serif; background: #fdf6ec; margin: 0">
<header style="background:#8a4b1f;color:#fff;padding:1rem 2rem">
<strong>Padaria Pão Quente</strong></header>
<main style="max-width:44rem;margin:2rem auto;padding:0 1rem">
<h1>Encomendas para empresas</h1>
<p>Cafés da manhã para equipes de 10 a 500 pessoas. Deixe seu contato:</p>
{snippet}
<p>Rua das Flores, 123 — São Paulo</p>
</main></body></html>"""


@pytest.fixture
def partner_site():
    """Another site (its own origin, on 127.0.0.1 while the app is on localhost) whose page
    holds whatever snippet the test sets."""
    pages: dict[str, str] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            body = pages.get(path, "").encode()
            # The browser asks for a favicon too; an empty one keeps its console quiet.
            self.send_response(200 if body or path == "/favicon.ico" else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    site = SimpleNamespace(origin=f"http://127.0.0.1:{server.server_address[1]}", pages=pages)
    yield site
    server.shutdown()
    server.server_close()


def _embed(site, live_server, form: WebForm, path: str) -> None:
    snippet = (
        f'<div data-vinculo-form="{form.public_key}" data-title="Fale com um especialista"></div>'
        f'<script src="{live_server.url}/static/marketing/embed.js" async></script>'
    )
    site.pages[path] = PARTNER_PAGE.format(snippet=snippet)


def test_the_snippet_embeds_the_form_in_another_site(page, live_server, ana, partner_site):
    form = _form(ana, allowed_origins=[partner_site.origin])
    _embed(partner_site, live_server, form, "/encomendas")
    page.goto(f"{partner_site.origin}/encomendas?utm_source=instagram&utm_campaign=verao")
    frame_element = page.locator("iframe[title='Fale com um especialista']")
    expect(frame_element).to_be_visible()
    frame = page.frame_locator("iframe[title='Fale com um especialista']")
    expect(frame.get_by_role("heading", name="Fale com um especialista")).to_be_visible()
    # The frame took the form's height (no inner scroll bar), not its initial 520 px.
    page.wait_for_function("document.querySelector('iframe').getBoundingClientRect().height > 600")
    inner = frame.locator("body").evaluate("b => b.getBoundingClientRect().height")
    outer = frame_element.evaluate("f => f.getBoundingClientRect().height")
    assert abs(inner - outer) <= 2
    screenshot(page, "webform-embedded-pt-br")

    frame.locator("#wf-first_name").fill("Bruno")
    frame.locator("#wf-email").fill("bruno@cafe.example")
    frame.locator("#wf-company_name").fill("Café Central")
    frame.locator("button.wf-submit").click()
    expect(frame.get_by_role("heading", name="Obrigado!")).to_be_visible()
    screenshot(page, "webform-embedded-thanks-pt-br")
    lead = Lead.all_tenants.get()
    assert (lead.utm_source, lead.utm_campaign) == ("instagram", "verao")
    submission = WebFormSubmission.all_tenants.get(form=form)
    assert submission.page_url.startswith(f"{partner_site.origin}/encomendas")


def test_a_site_the_form_does_not_list_cannot_frame_it(page, live_server, ana, partner_site):
    form = _form(ana, allowed_origins=["https://www.padaria.example"])
    _embed(partner_site, live_server, form, "/copia")
    page.goto(f"{partner_site.origin}/copia")
    expect(page.locator("iframe")).to_have_count(1)
    page.wait_for_timeout(1000)
    frame = page.frames[-1]
    # Chromium refuses to show it: the frame holds an error page, not the form.
    assert frame.locator("form.wf-form").count() == 0
    page.problems[:] = [p for p in page.problems if "frame-ancestors" not in p]


def test_the_builder_pages_work_on_a_phone(browser, live_server, ana):
    form = _form(ana)
    context, page = _new_page(browser, live_server, locale="pt-BR", viewport=PHONE)
    log_in(page, ana.email, PASSWORD)
    for path, name in (
        ("/forms/", "list"),
        (f"/forms/{form.pk}/", "builder"),
        (f"/forms/{form.pk}/share", "share"),
        (f"/forms/{form.pk}/submissions", "submissions"),
    ):
        page.goto(page.base_url + path)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], path
        screenshot(page, f"webform-{name}-phone-pt-br")
    context.close()
