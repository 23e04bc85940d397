"""The privacy endpoints: consent log and state, personal-data ZIP, erasure. Problems name the
fields; other workspaces see nothing; query counts stay flat; rights apply."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile

import pytest
from django.utils import timezone

from tests.contacts.conftest import error_fields
from vinculo.contacts.models import ConsentEntry, Contact
from vinculo.contacts.privacy.services import consent_record
from vinculo.core.models import Event
from vinculo.core.roles import Role


def url(contact_id: int, tail: str) -> str:
    return f"/api/v1/contacts/{contact_id}/{tail}"


@pytest.fixture
def livia(contact_factory) -> Contact:
    return contact_factory(first_name="Lívia", emails=["livia@example.com"])


def grant(workspace, contact, purpose: str = "email_marketing", **extra) -> ConsentEntry:
    values = {"granted": True, "wording": "Sim.", "source": "form", **extra}
    return consent_record(
        workspace=workspace, actor=None, contact_id=contact.pk, purpose=purpose, **values
    )


# --- consents -----------------------------------------------------------------------------------


def test_record_and_read_consent(api, admin, livia) -> None:
    r = api.post(
        url(livia.pk, "consents"),
        {
            "purpose": "email_marketing",
            "granted": True,
            "wording": "Quero receber novidades por e-mail.",
            "ip_address": "203.0.113.5",
            "user_agent": "Mozilla/5.0",
        },
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["purpose"] == "email_marketing"
    assert body["purpose_label"] == "Email marketing"
    assert body["source"] == "api"
    assert body["ip_address"] == "203.0.113.5"
    assert body["recorded_by"]["id"] == admin.pk
    withdrawn = api.post(
        url(livia.pk, "consents"),
        {
            "purpose": "email_marketing",
            "granted": False,
            "wording": "Descadastro",
            "source": "form",
        },
    )
    assert withdrawn.status_code == 201

    log = api.get(url(livia.pk, "consents")).json()
    assert [(e["granted"], e["wording"]) for e in log["items"]] == [
        (False, "Descadastro"),
        (True, "Quero receber novidades por e-mail."),
    ]
    assert log["next_cursor"] is None
    (state,) = api.get(url(livia.pk, "consent-state")).json()["items"]
    assert state == {
        "purpose": "email_marketing",
        "purpose_label": "Email marketing",
        "granted": False,
        "since": withdrawn.json()["recorded_at"],
        "source": "form",
        "wording": "Descadastro",
        "entry_id": withdrawn.json()["id"],
    }


def test_consent_problems_name_the_fields(api, workspace, livia) -> None:
    r = api.post(
        url(livia.pk, "consents"),
        {"purpose": "Não!", "wording": "", "source": "fax", "ip_address": "1.2.3"},
    )
    assert error_fields(r) == {"purpose", "granted", "wording", "source", "ip_address"}
    assert r.json()["type"].endswith("/validation-error")
    # Types the schema cannot read, and unknown fields, are named too.
    r = api.post(url(livia.pk, "consents"), {"granted": "perhaps", "colour": "red"})
    assert error_fields(r) == {"granted", "colour"}
    r = api.post(url(livia.pk, "consents"), {"recorded_at": "yesterday"})
    assert "recorded_at" in error_fields(r)
    assert not ConsentEntry.objects.for_workspace(workspace).exists()


def test_consent_log_pages(api, workspace, livia) -> None:
    base = timezone.now() - dt.timedelta(days=1)
    for minute in range(5):
        grant(workspace, livia, recorded_at=base + dt.timedelta(minutes=minute))
    first = api.get(url(livia.pk, "consents"), limit="2").json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    rest = api.get(url(livia.pk, "consents"), limit="10", cursor=first["next_cursor"]).json()
    assert len(rest["items"]) == 3
    assert api.get(url(livia.pk, "consents"), cursor="nonsense").status_code == 422
    assert api.get(url(livia.pk, "consents"), limit="0").status_code == 422


def test_consent_rights(api, workspace, key_for, make_member, livia, contact_factory) -> None:
    reader = key_for(make_member("reader@acme.test", Role.READ_ONLY))
    body = {"purpose": "whatsapp", "granted": True, "wording": "Pode."}
    assert api.post(url(livia.pk, "consents"), body, key=reader).status_code == 403
    assert api.get(url(livia.pk, "consents"), key=reader).status_code == 200
    seller = make_member("seller@acme.test", Role.SALES)
    theirs = contact_factory(owner_id=seller.pk)
    seller_key = key_for(seller)
    assert api.post(url(theirs.pk, "consents"), body, key=seller_key).status_code == 201
    hidden = contact_factory(owner_id=make_member("x@acme.test", Role.SALES).pk)
    assert api.post(url(hidden.pk, "consents"), body, key=seller_key).status_code == 404
    assert api.get(url(hidden.pk, "consent-state"), key=seller_key).status_code == 404


# --- personal data and erasure ------------------------------------------------------------------


def test_personal_data_is_a_zip(api, workspace, livia) -> None:
    grant(workspace, livia)
    r = api.get(url(livia.pk, "personal-data"))
    assert r.status_code == 200
    assert r["Content-Type"] == "application/zip"
    assert f"personal-data-{livia.pk}-" in r["Content-Disposition"]
    with zipfile.ZipFile(io.BytesIO(r.content)) as archive:
        contact = json.loads(archive.read("contact.json"))
        consents = json.loads(archive.read("consents.json"))
    assert contact["emails"] == ["livia@example.com"]
    assert [c["purpose"] for c in consents] == ["email_marketing"]
    assert Event.objects.for_workspace(workspace).filter(type="contact.data_exported").count() == 1


def test_erase(api, workspace, livia) -> None:
    grant(workspace, livia, ip_address="203.0.113.5")
    r = api.post(url(livia.pk, "erase"), {})
    assert error_fields(r) == {"reason"}
    r = api.post(url(livia.pk, "erase"), {"reason": "Pedido do titular", "extra": 1})
    assert error_fields(r) == {"extra"}
    r = api.post(url(livia.pk, "erase"), {"reason": "Pedido do titular"})
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["contact_id"] == livia.pk
    assert body["erased_at"]
    assert body["counts"]["contact"] == 1 and body["counts"]["consents"] == 1
    detail = api.get(f"/api/v1/contacts/{livia.pk}").json()
    assert detail["display_name"] == "Erased person"
    assert detail["emails"] == []
    again = api.post(url(livia.pk, "erase"), {"reason": "De novo"})
    assert again.status_code == 409
    assert again.json()["type"].endswith("/contact-erased")
    r = api.post(
        url(livia.pk, "consents"), {"purpose": "whatsapp", "granted": True, "wording": "x"}
    )
    assert r.status_code == 409


def test_sales_cannot_export_or_erase(api, key_for, make_member, contact_factory) -> None:
    seller = make_member("seller@acme.test", Role.SALES)
    theirs = contact_factory(owner_id=seller.pk)
    key = key_for(seller)
    assert api.get(url(theirs.pk, "personal-data"), key=key).status_code == 403
    r = api.post(url(theirs.pk, "erase"), {"reason": "Pedido"}, key=key)
    assert r.status_code == 403
    assert r["Content-Type"] == "application/problem+json"
    manager = key_for(make_member("manager@acme.test", Role.MANAGER))
    assert api.get(url(theirs.pk, "personal-data"), key=manager).status_code == 200


# --- other workspaces ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "tail", "body"),
    [
        ("get", "consents", None),
        ("get", "consent-state", None),
        ("get", "personal-data", None),
        ("post", "consents", {"purpose": "whatsapp", "granted": True, "wording": "x"}),
        ("post", "erase", {"reason": "Pedido"}),
    ],
)
def test_other_workspaces_see_nothing(api, workspace, other_key, livia, method, tail, body) -> None:
    grant(workspace, livia)
    if method == "get":
        r = api.get(url(livia.pk, tail), key=other_key)
    else:
        r = api.post(url(livia.pk, tail), body, key=other_key)
    assert r.status_code == 404
    assert r.json()["type"].endswith("/not-found")
    assert "Lívia" not in r.content.decode()
    assert Contact.objects.for_workspace(workspace).get(pk=livia.pk).erased_at is None
    assert ConsentEntry.objects.for_workspace(workspace).count() == 1


def test_unknown_and_huge_ids_are_not_found_or_refused(api) -> None:
    assert api.get(url(999_999, "consents")).status_code == 404
    assert api.get(url(2**64, "consent-state")).status_code == 422


# --- query counts -------------------------------------------------------------------------------

# The key (with its user and membership), the contact, the entries; one spare for the key's
# last-used stamp, written at most once a minute.
LIST_BUDGET = 4
# The key, the contact, a fixed number per section whatever the history's length (owner,
# company, custom-field labels, tags, company again, interactions, tasks, notes, consents,
# events, a batch of import failures, import changes, and the sales module's leads, quotes and
# orders), the event with its savepoint.
EXPORT_BUDGET = 20


def test_consent_reads_stay_flat(api, workspace, livia, django_assert_max_num_queries) -> None:
    for n in range(3):
        grant(workspace, livia, purpose=f"purpose_{n}")
    api.get(url(livia.pk, "consents"))  # warm up the key's last-used stamp
    with django_assert_max_num_queries(LIST_BUDGET):
        small = api.get(url(livia.pk, "consents"))
    with django_assert_max_num_queries(LIST_BUDGET):
        api.get(url(livia.pk, "consent-state"))
    for n in range(40):
        grant(workspace, livia, purpose=f"more_{n}", granted=n % 2 == 0)
    with django_assert_max_num_queries(LIST_BUDGET):
        big = api.get(url(livia.pk, "consents"), limit="50")
    with django_assert_max_num_queries(LIST_BUDGET):
        state = api.get(url(livia.pk, "consent-state"))
    assert len(small.json()["items"]) == 3
    assert len(big.json()["items"]) == 43
    assert len(state.json()["items"]) == 43


def test_the_export_costs_the_same_for_a_long_history(
    api, workspace, admin, person, django_assert_max_num_queries
) -> None:
    from vinculo.timeline.services import interaction_create

    api.get(url(person.contact.pk, "consent-state"))  # warm up the key's last-used stamp
    with django_assert_max_num_queries(EXPORT_BUDGET):
        assert api.get(url(person.contact.pk, "personal-data")).status_code == 200
    for n in range(30):
        interaction_create(
            workspace=workspace,
            actor=admin,
            channel="email",
            contact_id=person.contact.pk,
            subject=f"E-mail {n}",
        )
        grant(workspace, person.contact, purpose=f"purpose_{n}")
    with django_assert_max_num_queries(EXPORT_BUDGET):
        assert api.get(url(person.contact.pk, "personal-data")).status_code == 200
