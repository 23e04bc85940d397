"""Duplicates in a real browser: scan from the review queue, open a pair, pick a field on the
merge screen, merge, and find the other record's timeline on the survivor; the warning of the
create form when a typed email or phone already exists. Both languages, phones and axe-core."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import axe_violations, log_in, screenshot
from vinculo.contacts.models import Contact
from vinculo.contacts.services import account_create, contact_create
from vinculo.core.models import User
from vinculo.core.services import workspace_create
from vinculo.core.tenancy import workspace_scope
from vinculo.timeline.services import interaction_create, note_create

PASSWORD = "correct horse battery staple"


@pytest.fixture
def crm(transactional_db):
    workspace = workspace_create(name="Acme Ltda", slug="acme", admin_email="ana@acme.example.com")
    user = User.objects.get(email="ana@acme.example.com")
    user.full_name = "Ana Souza"
    user.set_password(PASSWORD)
    user.save()
    with workspace_scope(workspace):
        serra = account_create(
            workspace=workspace,
            actor=user,
            data={"name": "Laticínios Serra Azul", "domain": "serraazul.com.br", "city": "Recife"},
        )

        def person(**data):
            return contact_create(workspace=workspace, actor=user, data=data)

        helo = person(
            first_name="Heloísa",
            last_name="Viana",
            emails=["helo@serraazul.com.br"],
            phones=["+55 81 99876-5432"],
            account_id=serra.pk,
            city="Recife",
            job_title="Compras",
            tags=["vip"],
        )
        helo2 = person(
            first_name="Heloisa",
            last_name="Vianna",
            emails=["HELO@serraazul.com.br", "heloisa.viana@gmail.com"],
            city="Recife",
            job_title="Gerente de compras",
            tags=["feira"],
        )
        person(first_name="João", last_name="Pereira", phones=["(81) 3222-1100"], country="BR")
        person(first_name="Joao", last_name="Pereira Filho", phones=["+55 81 3222-1100"])
        person(
            first_name="Márcia", last_name="Lopes", city="Olinda", emails=["marcia@exemplo.com.br"]
        )
        person(first_name="marcia", last_name="lopes", city="olinda")
        interaction_create(
            workspace=workspace,
            actor=user,
            channel="meeting",
            contact_id=helo2.pk,
            subject="Reunião de proposta",
            occurred_at=dt.datetime(2026, 10, 5, 15, tzinfo=dt.UTC),
        )
        note_create(
            workspace=workspace,
            actor=user,
            body="Prefere contato por WhatsApp",
            contact_id=helo2.pk,
        )
    return {"workspace": workspace, "user": user, "helo": helo, "helo2": helo2, "serra": serra}


def _settle(page) -> None:
    expect(page.locator(".htmx-request, .htmx-added, .htmx-settling")).to_have_count(0)
    page.evaluate("document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0)")


def _english(page) -> None:
    page.context.add_cookies([{"name": "django_language", "value": "en", "url": page.base_url}])


def _no_serious_violations(page) -> None:
    violations = axe_violations(page)
    assert violations == [], violations


def _shots(page, name: str) -> None:
    """The page in Portuguese on a desktop and a phone, then in English."""
    _settle(page)
    screenshot(page, f"{name}-pt-br")
    _no_serious_violations(page)
    page.set_viewport_size({"width": 390, "height": 844})
    _settle(page)
    screenshot(page, f"{name}-390")
    _no_serious_violations(page)
    page.set_viewport_size({"width": 1280, "height": 860})
    _english(page)
    page.reload()
    _settle(page)
    screenshot(page, f"{name}-en")
    page.context.clear_cookies(name="django_language")
    page.reload()


@pytest.mark.django_db(transaction=True)
def test_scan_review_and_merge(page, crm):
    log_in(page, crm["user"].email, PASSWORD)
    page.goto(page.base_url + "/contacts/")
    page.locator('a[href="/duplicates/?object=contact"]').click()
    expect(page.locator("#scan-status")).to_be_visible()
    expect(page.locator(".empty")).to_be_visible()
    _shots(page, "dedupe-queue-empty")

    # Scan now: the progress bar polls until the scan is over, then the queue shows the pairs.
    page.locator("#scan-status button[type=submit]").click()
    expect(page.locator(".pair")).to_have_count(3)
    _shots(page, "dedupe-queue")

    # The shared email is the likeliest pair; open it.
    first = page.locator(".pair").first
    expect(first).to_contain_text("helo@serraazul.com.br")
    first.locator(".pair-actions a.btn-primary").click()
    expect(page.locator(".merge-form")).to_be_visible()
    _shots(page, "dedupe-merge")

    # Keep the other's last name (a click on its option), merge, confirm.
    option = page.locator('input[name="choice.last_name"][value="other"]')
    option.locator("xpath=..").click()
    expect(option).to_be_checked()
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator(".merge-form button[type=submit]").click()
    helo = crm["helo"]
    page.wait_for_url(page.base_url + f"/contacts/{helo.pk}/")
    expect(page.locator("h1")).to_have_text("Heloísa Vianna")
    # The other record's timeline now shows on the survivor.
    expect(page.locator("body")).to_contain_text("Reunião de proposta")
    expect(page.locator("body")).to_contain_text("Prefere contato por WhatsApp")
    _settle(page)
    screenshot(page, "dedupe-survivor-pt-br")
    with workspace_scope(crm["workspace"]):
        assert Contact.objects.get(pk=crm["helo2"].pk).deleted_at is not None

    # Back in the queue, two pairs remain; one is not a duplicate.
    page.goto(page.base_url + "/duplicates/?object=contact")
    expect(page.locator(".pair")).to_have_count(2)
    page.locator(".pair").first.locator(".pair-actions button[type=submit]").click()
    expect(page.locator(".pair-gone")).to_be_visible()
    page.reload()
    expect(page.locator(".pair")).to_have_count(1)


@pytest.mark.django_db(transaction=True)
def test_create_form_warns_about_an_existing_email_or_phone(page, crm):
    log_in(page, crm["user"].email, PASSWORD)
    page.goto(page.base_url + "/contacts/new")
    page.fill("#id_first_name", "Helô")
    page.fill("#id_emails_0", "Helo@SerraAzul.com.br")
    page.press("#id_emails_0", "Tab")
    warning = page.locator("#duplicate-warning")
    expect(warning).to_contain_text("helo@serraazul.com.br")
    link = warning.locator(f'a[href="/contacts/{crm["helo"].pk}/"]')
    expect(link).to_have_text("Heloísa Viana")
    page.fill("#id_phones_0", "(81) 99876-5432")
    page.press("#id_phones_0", "Tab")
    # Heloísa has both the address and the number, and is named once; Heloisa the address.
    expect(warning.locator("li")).to_have_count(2)
    expect(warning.locator(f'a[href="/contacts/{crm["helo"].pk}/"]')).to_have_count(1)
    _settle(page)
    screenshot(page, "dedupe-form-warning-pt-br")
    _no_serious_violations(page)
    page.set_viewport_size({"width": 390, "height": 844})
    _settle(page)
    screenshot(page, "dedupe-form-warning-390")
    page.set_viewport_size({"width": 1280, "height": 860})
    # A new address clears the warning; saving is allowed either way.
    page.fill("#id_emails_0", "helo.nova@exemplo.com.br")
    page.fill("#id_phones_0", "")
    page.press("#id_emails_0", "Tab")
    expect(warning.locator("li")).to_have_count(0)
    page.fill("#id_emails_0", "heloisa.viana@gmail.com")
    page.press("#id_emails_0", "Tab")
    expect(warning.locator("li")).to_have_count(1)  # a second address of Heloisa's
    page.locator("form.record-form button[type=submit]").click()
    page.wait_for_url("**/contacts/*/")
    with workspace_scope(crm["workspace"]):
        assert Contact.objects.filter(first_name="Helô").exists()

    # Accounts warn by domain.
    _english(page)
    page.goto(page.base_url + "/accounts/new")
    page.fill("#id_name", "Serra Azul")
    page.fill("#id_domain", "https://www.serraazul.com.br")
    page.press("#id_domain", "Tab")
    expect(page.locator("#duplicate-warning")).to_contain_text("already belongs to")
    _settle(page)
    screenshot(page, "dedupe-account-warning-en")
