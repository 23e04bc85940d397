"""The privacy panel of a contact's page in a real browser: record a consent and withdraw it
(first with a mistake), read the history, download the personal data, erase it with its
confirmation; both languages, a phone, and axe-core."""

from __future__ import annotations

import json
import zipfile

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import axe_violations, log_in, screenshot
from vinculo.contacts.models import ConsentEntry, Contact
from vinculo.contacts.privacy.services import consent_record
from vinculo.contacts.services import account_create, contact_create
from vinculo.core.models import User
from vinculo.core.services import workspace_create
from vinculo.core.tenancy import workspace_scope

PASSWORD = "correct horse battery staple"


@pytest.fixture
def crm(transactional_db):
    workspace = workspace_create(name="Acme Ltda", slug="acme", admin_email="ana@acme.example.com")
    user = User.objects.get(email="ana@acme.example.com")
    user.full_name = "Ana Souza"
    user.set_password(PASSWORD)
    user.save()
    with workspace_scope(workspace):
        company = account_create(
            workspace=workspace, actor=user, data={"name": "Laticínios Serra Azul"}
        )
        contact = contact_create(
            workspace=workspace,
            actor=user,
            data={
                "first_name": "Heloísa",
                "last_name": "Viana",
                "emails": ["helo@serraazul.com.br"],
                "phones": ["+55 81 99876-5432"],
                "job_title": "Compras",
                "account_id": company.pk,
                "lifecycle_stage": "customer",
            },
        )
        consent_record(
            workspace=workspace,
            actor=None,
            contact_id=contact.pk,
            purpose="whatsapp",
            granted=True,
            wording="Aceito receber mensagens no WhatsApp.",
            source="form",
            ip_address="203.0.113.7",
        )
    return {"workspace": workspace, "user": user, "contact": contact}


def _english(page) -> None:
    page.context.add_cookies([{"name": "django_language", "value": "en", "url": page.base_url}])


def _settle(page) -> None:
    expect(page.locator(".htmx-request, .htmx-added, .htmx-settling")).to_have_count(0)
    page.evaluate("document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0)")


def _accept_422(page) -> None:
    page.problems[:] = [p for p in page.problems if "status of 422" not in p]


def _no_serious_violations(page) -> None:
    violations = axe_violations(page)
    assert violations == [], violations


def _open(page, crm) -> None:
    page.goto(f"{page.base_url}/contacts/{crm['contact'].pk}/")
    expect(page.locator("#privacy-panel .consent-list")).to_be_visible()


@pytest.mark.django_db(transaction=True)
def test_record_withdraw_download_and_erase(page, crm, tmp_path):
    contact = crm["contact"]
    log_in(page, crm["user"].email, PASSWORD)
    _english(page)
    _open(page, crm)
    panel = page.locator("#privacy-panel")
    expect(panel.get_by_role("heading", name="Privacy")).to_be_visible()
    whatsapp = panel.locator('[data-purpose="whatsapp"]')
    expect(whatsapp).to_contain_text("Given")
    expect(whatsapp).to_contain_text("Web form")

    # Record consent for email, first forgetting the wording.
    panel.get_by_role("link", name="Record consent — Email marketing").click()
    wording = panel.get_by_label("Exact wording shown or said")
    expect(wording).to_be_focused()
    panel.get_by_role("button", name="Record", exact=True).click()
    expect(panel.locator("#consent-wording_error")).to_have_text(
        "Write the exact wording the person was shown or said."
    )
    expect(panel.get_by_label("Exact wording shown or said")).to_be_focused()
    _accept_422(page)
    panel.get_by_label("Exact wording shown or said").fill(
        "Concordo em receber ofertas por e-mail (ligação de 03/03)."
    )
    panel.get_by_role("button", name="Record", exact=True).click()
    expect(panel.locator(".privacy-notice")).to_have_text("Consent for “Email marketing” recorded.")
    expect(panel.locator('[data-purpose="email_marketing"]')).to_contain_text("Given")

    # Withdraw it from its row.
    panel.get_by_role("link", name="Withdraw — Email marketing").click()
    expect(panel.get_by_label("Consent withdrawn")).to_be_checked()
    panel.get_by_label("Exact wording shown or said").fill("Pediu por telefone para parar.")
    panel.get_by_role("button", name="Record", exact=True).click()
    expect(panel.locator(".privacy-notice")).to_have_text(
        "Withdrawal for “Email marketing” recorded."
    )
    expect(panel.locator('[data-purpose="email_marketing"]')).to_contain_text("Withdrawn")
    entries = ConsentEntry.objects.for_workspace(crm["workspace"]).filter(purpose="email_marketing")
    assert [(e.granted, e.source, e.actor_id) for e in entries.order_by("id")] == [
        (True, "staff", crm["user"].pk),
        (False, "staff", crm["user"].pk),
    ]

    # The history, newest first.
    panel.get_by_text("Consent history (3 entries)").click()
    expect(panel.locator(".consent-log li")).to_have_count(3)
    expect(panel.locator(".consent-log li").first).to_contain_text("Pediu por telefone")
    _settle(page)
    _no_serious_violations(page)
    screenshot(page, "privacy-panel-en")

    # Download everything held about her.
    with page.expect_download() as download:
        panel.get_by_role("button", name="Download personal data (ZIP)").click()
    path = tmp_path / "data.zip"
    download.value.save_as(path)
    assert download.value.suggested_filename.startswith(f"personal-data-{contact.pk}-")
    with zipfile.ZipFile(path) as archive:
        assert json.loads(archive.read("contact.json"))["emails"] == ["helo@serraazul.com.br"]
        assert len(json.loads(archive.read("consents.json"))) == 3

    # Erase: a reason and the name (or ERASE) are required.
    panel.locator("#erase-box > summary").click()
    panel.get_by_label("Reason").fill("Pediu a exclusão por e-mail em 03/03.")
    panel.get_by_label("Confirmation").fill("Heloisa")
    panel.get_by_role("button", name="Erase personal data", exact=True).click()
    expect(panel.locator("#erase-confirm_error")).to_contain_text("to confirm")
    _accept_422(page)
    assert Contact.objects.for_workspace(crm["workspace"]).get(pk=contact.pk).erased_at is None
    _settle(page)
    page.locator("#erase-box").scroll_into_view_if_needed()
    screenshot(page, "privacy-erase-confirm-en")
    panel.get_by_label("Confirmation").fill("Heloísa Viana")
    panel.get_by_role("button", name="Erase personal data", exact=True).click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Erased person")
    expect(page.locator(".messages")).to_contain_text("The person's personal data was erased.")
    expect(page.locator("#privacy-panel .privacy-erased")).to_contain_text(
        "Pediu a exclusão por e-mail em 03/03."
    )
    expect(page.locator(".record-header")).not_to_contain_text("helo@serraazul.com.br")
    expect(page.get_by_role("link", name="Edit all")).to_have_count(0)
    expect(page.locator("#privacy-panel #erase-box")).to_have_count(0)
    erased = Contact.objects.for_workspace(crm["workspace"]).get(pk=contact.pk)
    assert erased.erased_at is not None and erased.first_name == "" and erased.emails == []
    _settle(page)
    _no_serious_violations(page)
    screenshot(page, "privacy-erased-en")


@pytest.mark.django_db(transaction=True)
def test_the_panel_in_portuguese_and_on_a_phone(page, crm):
    log_in(page, crm["user"].email, PASSWORD)
    _open(page, crm)
    page.locator('#privacy-panel [data-purpose="email_marketing"] .consent-action').click()
    expect(page.locator("#consent-box")).to_have_attribute("open", "")
    page.locator("#privacy-panel .privacy-log > summary").click()
    page.locator("#erase-box > summary").click()
    _settle(page)
    _no_serious_violations(page)
    screenshot(page, "privacy-panel-pt-br")

    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    expect(page.locator("#privacy-panel .consent-list")).to_be_visible()
    page.locator('#privacy-panel [data-purpose="whatsapp"] .consent-action').click()
    expect(page.locator("#consent-box")).to_have_attribute("open", "")
    page.locator("#erase-box > summary").click()
    _settle(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    _no_serious_violations(page)
    full = screenshot(page, "privacy-page-390")
    # The panel alone too (on a phone it sits below the facts, far down the page), in a
    # viewport tall enough to hold it, so that the sticky top bar is not stitched over it.
    page.set_viewport_size({"width": 390, "height": 2400})
    _settle(page)
    page.locator("#privacy-panel").screenshot(
        path=str(full.with_name("privacy-panel-390.png")), caret="initial"
    )
