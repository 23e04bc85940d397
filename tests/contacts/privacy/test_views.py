"""The privacy panel of a contact's page: consent state and log, recording and withdrawing, the
ZIP download, erasure with its confirmation, and what each role sees."""

from __future__ import annotations

import io
import re
import zipfile
from html import unescape

import pytest
from django.conf import settings
from django.test import Client

from vinculo.contacts.models import ConsentEntry, Contact
from vinculo.contacts.privacy.services import consent_record, contact_erase
from vinculo.core.models import Event, User
from vinculo.core.roles import Role

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def log_in(client: Client):
    def as_user(user: User) -> Client:
        client.force_login(user)
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        return client

    return as_user


@pytest.fixture
def livia(contact_factory, admin) -> Contact:
    return contact_factory(
        first_name="Lívia",
        last_name="Prado",
        emails=["livia@example.com"],
        phones=["+55 11 99876-1234"],
        owner_id=admin.pk,
    )


def panel_url(contact: Contact) -> str:
    return f"/contacts/{contact.pk}/privacy/"


def error(html: str, input_id: str) -> str:
    found = re.search(rf'id="{re.escape(input_id)}_error">([^<]*)<', html)
    return unescape(found.group(1)) if found else ""


def grant(workspace, contact, purpose="email_marketing", granted=True, **extra):
    return consent_record(
        workspace=workspace,
        actor=None,
        contact_id=contact.pk,
        purpose=purpose,
        granted=granted,
        wording=extra.pop("wording", "Sim, quero."),
        source=extra.pop("source", "form"),
        **extra,
    )


# --- the record page and the panel --------------------------------------------------------------


def test_the_contact_page_loads_the_panel(log_in, admin, livia, account_factory) -> None:
    page = log_in(admin).get(f"/contacts/{livia.pk}/").content.decode()
    assert f'hx-get="{panel_url(livia)}"' in page
    account = account_factory(name="Acme")
    assert "privacy" not in log_in(admin).get(f"/accounts/{account.pk}/").content.decode()


def test_panel_shows_every_purpose_and_the_log(log_in, workspace, admin, livia) -> None:
    grant(workspace, livia, ip_address="203.0.113.9")
    grant(workspace, livia, purpose="whatsapp", granted=False, wording="Não quero WhatsApp.")
    html = log_in(admin).get(panel_url(livia), **HTMX).content.decode()
    rows = re.findall(r'data-purpose="([a-z_]+)"', html)
    assert rows == [
        "email_marketing",
        "sms_marketing",
        "whatsapp",
        "phone_calls",
        "profiling",
        "data_sharing",
    ]
    email_row = html.split('data-purpose="email_marketing"')[1].split("</li>")[0]
    assert "Given" in email_row and "Web form" in email_row and "Withdraw" in email_row
    whatsapp_row = html.split('data-purpose="whatsapp"')[1].split("</li>")[0]
    assert "Withdrawn" in whatsapp_row and "Record consent" in whatsapp_row
    assert "Not recorded" in html.split('data-purpose="sms_marketing"')[1].split("</li>")[0]
    assert "Consent history (2 entries)" in html
    assert "Não quero WhatsApp." in html and "IP 203.0.113.9" in html
    assert "Download personal data (ZIP)" in html
    assert "Erase personal data" in html


def test_each_role_sees_what_it_may_do(log_in, make_member, livia) -> None:
    seen = {}
    for role in (Role.MANAGER, Role.MARKETING, Role.READ_ONLY):
        client = log_in(make_member(f"{role}.member@acme.test", role))
        html = client.get(panel_url(livia), **HTMX).content.decode()
        seen[role] = (
            "Record consent or withdrawal" in html,
            "Download personal data" in html,
            "Erase personal data" in html,
        )
    assert seen == {
        Role.MANAGER: (True, True, True),
        Role.MARKETING: (True, False, False),
        Role.READ_ONLY: (False, False, False),
    }


def test_a_row_opens_the_form_for_its_purpose(log_in, workspace, admin, livia) -> None:
    grant(workspace, livia)
    html = (
        log_in(admin)
        .get(panel_url(livia), {"purpose": "email_marketing", "decision": "withdraw"}, **HTMX)
        .content.decode()
    )
    assert re.search(r'<details class="privacy-box" id="consent-box" open>', html)
    assert re.search(r'<option value="email_marketing" selected>', html)
    assert re.search(r'value="withdraw"[^>]*checked', html)
    assert re.search(r"<textarea[^>]*autofocus", html)


# --- recording consent --------------------------------------------------------------------------


def test_record_a_consent_then_withdraw_it(log_in, workspace, admin, livia) -> None:
    client = log_in(admin)
    r = client.post(
        f"/contacts/{livia.pk}/privacy/consent",
        {
            "purpose": "sms_marketing",
            "decision": "grant",
            "wording": "Aceito SMS com ofertas.",
            "source": "staff",
        },
        **HTMX,
    )
    assert r.status_code == 200
    assert r["HX-Trigger"] == "timeline-changed"
    html = r.content.decode()
    assert "Consent for “SMS marketing” recorded." in html
    assert "Given" in html.split('data-purpose="sms_marketing"')[1].split("</li>")[0]
    r = client.post(
        f"/contacts/{livia.pk}/privacy/consent",
        {
            "purpose": "sms_marketing",
            "decision": "withdraw",
            "wording": "Pediu para parar.",
            "source": "staff",
        },
        **HTMX,
    )
    assert "Withdrawal for “SMS marketing” recorded." in r.content.decode()
    entries = ConsentEntry.objects.for_workspace(workspace).order_by("id")
    assert [(e.purpose, e.granted, e.actor_id, e.source) for e in entries] == [
        ("sms_marketing", True, admin.pk, "staff"),
        ("sms_marketing", False, admin.pk, "staff"),
    ]


def test_another_purpose_of_ones_own(log_in, workspace, admin, livia) -> None:
    r = log_in(admin).post(
        f"/contacts/{livia.pk}/privacy/consent",
        {"other_purpose": "feira_2025", "decision": "grant", "wording": "Sim", "source": "form"},
        **HTMX,
    )
    assert r.status_code == 200
    assert ConsentEntry.objects.for_workspace(workspace).get().purpose == "feira_2025"
    assert 'data-purpose="feira_2025"' in r.content.decode()


def test_mistakes_come_back_next_to_their_inputs(log_in, workspace, admin, livia) -> None:
    r = log_in(admin).post(
        f"/contacts/{livia.pk}/privacy/consent",
        {"purpose": "", "decision": "", "wording": " ", "source": "fax"},
        **HTMX,
    )
    assert r.status_code == 422
    html = r.content.decode()
    assert error(html, "consent-purpose") == "Choose what the consent is for."
    assert error(html, "consent-decision").startswith("Say whether consent was given")
    assert error(html, "consent-wording") == "Write the exact wording the person was shown or said."
    assert error(html, "consent-source").startswith("Choose one of")
    assert re.search(r'<details class="privacy-box" id="consent-box" open>', html)
    assert 'aria-describedby="consent-wording_error consent-wording_helptext"' in html
    assert not ConsentEntry.objects.for_workspace(workspace).exists()
    r = log_in(admin).post(
        f"/contacts/{livia.pk}/privacy/consent",
        {"other_purpose": "Não Pode", "decision": "grant", "wording": "x", "source": "form"},
        **HTMX,
    )
    assert error(r.content.decode(), "consent-other_purpose").startswith("Use one of the known")


def test_without_javascript_the_page_says_what_happened(log_in, admin, livia) -> None:
    client = log_in(admin)
    r = client.post(
        f"/contacts/{livia.pk}/privacy/consent",
        {"purpose": "whatsapp", "decision": "grant", "wording": "Pode", "source": "staff"},
    )
    assert r.status_code == 302 and r["Location"] == f"/contacts/{livia.pk}/"
    page = client.get(r["Location"]).content.decode()
    assert "Consent for “WhatsApp messages” recorded." in page
    r = client.post(f"/contacts/{livia.pk}/privacy/consent", {"purpose": "whatsapp"})
    assert "Write the exact wording" in client.get(r["Location"]).content.decode()


# --- download -----------------------------------------------------------------------------------


def test_download_the_zip(log_in, workspace, admin, livia) -> None:
    grant(workspace, livia)
    client = log_in(admin)
    assert client.get(f"/contacts/{livia.pk}/privacy/export.zip").status_code == 405
    r = client.post(f"/contacts/{livia.pk}/privacy/export.zip")
    assert r.status_code == 200
    assert r["Content-Type"] == "application/zip"
    assert r["Content-Disposition"].startswith(f'attachment; filename="personal-data-{livia.pk}-')
    with zipfile.ZipFile(io.BytesIO(r.content)) as archive:
        assert "contact.json" in archive.namelist()
        assert b"livia@example.com" in archive.read("contact.json")


def test_sales_cannot_download_or_erase(log_in, make_member, contact_factory) -> None:
    seller = make_member("seller@acme.test", Role.SALES)
    theirs = contact_factory(first_name="Tiago", owner_id=seller.pk)
    client = log_in(seller)
    assert client.post(f"/contacts/{theirs.pk}/privacy/export.zip").status_code == 403
    r = client.post(
        f"/contacts/{theirs.pk}/privacy/erase",
        {"reason": "Pedido", "confirm": "ERASE"},
        **HTMX,
    )
    assert r.status_code == 403
    assert Contact.objects.get(pk=theirs.pk).erased_at is None


# --- erasure ------------------------------------------------------------------------------------


def test_erasure_asks_for_a_reason_and_a_confirmation(log_in, workspace, admin, livia) -> None:
    client = log_in(admin)
    r = client.post(f"/contacts/{livia.pk}/privacy/erase", {"reason": "", "confirm": "no"}, **HTMX)
    assert r.status_code == 422
    html = r.content.decode()
    assert error(html, "erase-reason").startswith("Say why the data is erased")
    assert error(html, "erase-confirm") == "Type the person's name or the word ERASE to confirm."
    assert re.search(r'id="erase-box" open', html)
    r = client.post(
        f"/contacts/{livia.pk}/privacy/erase", {"reason": "Pedido", "confirm": "Livia"}, **HTMX
    )
    assert r.status_code == 422
    assert Contact.objects.get(pk=livia.pk).erased_at is None
    assert not Event.objects.for_workspace(workspace).filter(type="contact.erased").exists()


@pytest.mark.parametrize("typed", ["ERASE", "erase", "Lívia Prado", "livia prado"])
def test_erase_then_the_page_shows_the_erased_person(log_in, admin, livia, typed) -> None:
    client = log_in(admin)
    r = client.post(
        f"/contacts/{livia.pk}/privacy/erase",
        {"reason": "Pedido por e-mail em 03/03", "confirm": typed},
        **HTMX,
    )
    assert r.status_code == 200
    assert r["HX-Redirect"] == f"/contacts/{livia.pk}/"
    page = client.get(f"/contacts/{livia.pk}/").content.decode()
    assert "The person&#x27;s personal data was erased." in page
    assert "<h1>Erased person</h1>" in page
    assert "livia@example.com" not in page and "Lívia" not in page
    # Read-only: no fact editing and no "Edit all".
    assert "inline-edit" not in page and "Edit all" not in page
    panel = client.get(panel_url(livia), **HTMX).content.decode()
    assert "Personal data erased" in panel
    assert "Reason: Pedido por e-mail em 03/03" in panel
    assert "Erase personal data…" not in panel
    assert "Record consent or withdrawal" not in panel
    assert "Download personal data (ZIP)" in panel
    listing = client.get("/contacts/").content.decode()
    assert "Erased person" in listing


def test_a_second_erasure_says_so(log_in, workspace, admin, livia) -> None:
    client = log_in(admin)
    form = {"reason": "Pedido", "confirm": "ERASE"}
    client.post(f"/contacts/{livia.pk}/privacy/erase", form, **HTMX)
    r = client.post(f"/contacts/{livia.pk}/privacy/erase", form, **HTMX)
    assert r.status_code == 422
    assert "already erased" in r.content.decode()


# --- other workspaces and record access ---------------------------------------------------------


def test_other_workspaces_and_hidden_contacts_are_not_found(
    log_in, workspace, other_admin, make_member, livia
) -> None:
    client = log_in(other_admin)
    assert client.get(panel_url(livia), **HTMX).status_code == 404
    assert client.post(f"/contacts/{livia.pk}/privacy/export.zip").status_code == 404
    r = client.post(f"/contacts/{livia.pk}/privacy/erase", {"reason": "x", "confirm": "ERASE"})
    assert r.status_code == 404
    r = client.post(
        f"/contacts/{livia.pk}/privacy/consent",
        {"purpose": "whatsapp", "decision": "grant", "wording": "x", "source": "staff"},
    )
    assert r.status_code == 404
    seller = log_in(make_member("seller@acme.test", Role.SALES))
    assert seller.get(panel_url(livia), **HTMX).status_code == 404
    assert not ConsentEntry.objects.for_workspace(workspace).exists()
    assert Contact.objects.get(pk=livia.pk).erased_at is None


# Session and user, workspace, membership, the contact, its log.
PANEL_BUDGET = 7


def test_the_panel_costs_the_same_for_a_long_log(
    log_in, workspace, admin, livia, django_assert_max_num_queries
) -> None:
    client = log_in(admin)
    client.get(panel_url(livia), **HTMX)
    with django_assert_max_num_queries(PANEL_BUDGET):
        client.get(panel_url(livia), **HTMX)
    for n in range(40):
        grant(workspace, livia, purpose=f"purpose_{n}", granted=n % 3 != 0)
    with django_assert_max_num_queries(PANEL_BUDGET):
        html = client.get(panel_url(livia), **HTMX).content.decode()
    assert "Consent history (40 entries)" in html
    contact_erase(workspace=workspace, actor=admin, contact_id=livia.pk, reason="Pedido")
    with django_assert_max_num_queries(PANEL_BUDGET + 1):
        assert "Personal data erased" in client.get(panel_url(livia), **HTMX).content.decode()
