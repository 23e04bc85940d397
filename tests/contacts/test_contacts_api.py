"""The contacts API end to end: create, read, change, list, delete and restore."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from tests.contacts.conftest import error_fields, item_ids
from vinculo.contacts.models import Contact
from vinculo.core.models import Event, Tag

URL = "/api/v1/contacts"


def test_contact_full_lifecycle_through_the_api(api, workspace, admin):
    r = api.post(
        URL,
        {
            "first_name": "  José ",
            "last_name": "Silva",
            "emails": ["Jose.Silva@Example.COM", "jose.silva@example.com", "js@exemplo.com.br"],
            "phones": ["(11) 98765-4321", "+1 650 253 0000"],
            "lifecycle_stage": "customer",
            "country": "br",
            "city": "São Paulo",
            "birthdate": "1980-05-17",
            "tags": ["VIP", "vip", "Newsletter"],
        },
    )
    assert r.status_code == 201, r.content
    body = r.json()
    cid = body["id"]
    assert body["first_name"] == "José"
    assert body["display_name"] == "José Silva"
    # Lower-cased, de-duplicated, primary first.
    assert body["emails"] == ["jose.silva@example.com", "js@exemplo.com.br"]
    assert body["email"] == "jose.silva@example.com"
    assert body["phones"] == ["+5511987654321", "+16502530000"]
    assert body["phone"] == "+5511987654321"
    assert body["country"] == "BR"
    assert body["birthdate"] == "1980-05-17"
    assert body["owner"]["id"] == admin.pk  # the creator owns it by default
    assert sorted(t["name"] for t in body["tags"]) == ["Newsletter", "VIP"]

    r = api.get(f"{URL}/{cid}")
    assert r.status_code == 200
    assert r.json()["lifecycle_stage"] == "customer"

    r = api.patch(f"{URL}/{cid}", {"last_name": "Souza", "tags": ["VIP"], "city": None})
    assert r.status_code == 200, r.content
    assert r.json()["last_name"] == "Souza"
    assert r.json()["city"] == ""
    assert [t["name"] for t in r.json()["tags"]] == ["VIP"]
    assert r.json()["emails"] == ["jose.silva@example.com", "js@exemplo.com.br"]  # untouched

    assert cid in item_ids(api.get(URL))

    r = api.delete(f"{URL}/{cid}")
    assert r.status_code == 204
    assert api.get(f"{URL}/{cid}").status_code == 404
    assert api.patch(f"{URL}/{cid}", {"first_name": "X"}).status_code == 404
    assert cid not in item_ids(api.get(URL))
    assert item_ids(api.get(URL, deleted="true")) == [cid]

    r = api.post(f"{URL}/{cid}/restore")
    assert r.status_code == 200
    assert r.json()["deleted_at"] is None
    assert api.get(f"{URL}/{cid}").json()["last_name"] == "Souza"
    assert cid in item_ids(api.get(URL))


def test_primary_email_and_phone_slots(api):
    cid = api.post(URL, {"email": "a@example.com", "phone": "+55 11 3333-4444"}).json()["id"]
    r = api.patch(f"{URL}/{cid}", {"email": "b@example.com"})
    assert r.json()["emails"] == ["b@example.com", "a@example.com"]
    r = api.patch(f"{URL}/{cid}", {"email": "A@example.com"})
    assert r.json()["emails"] == ["a@example.com", "b@example.com"]
    r = api.patch(f"{URL}/{cid}", {"email": None})
    assert r.json()["emails"] == ["b@example.com"]
    assert r.json()["email"] == "b@example.com"
    r = api.patch(f"{URL}/{cid}", {"phones": []})
    assert r.json()["phones"] == [] and r.json()["phone"] == ""


def test_one_422_lists_every_bad_field_and_writes_nothing(api, workspace, custom_field):
    custom_field("score", "number")
    before_events = Event.objects.for_workspace(workspace).count()
    r = api.post(
        URL,
        {
            "first_name": "Ana",
            "emails": ["not-an-email"],
            "phones": ["call me maybe"],
            "tags": ["brand-new-tag"],
            "custom_fields": {"nope": 1, "score": "lots"},
        },
    )
    assert error_fields(r) == {"emails.0", "phones.0", "custom_fields.nope", "custom_fields.score"}
    problem = r.json()
    assert problem["type"].endswith("/validation-error")
    assert problem["status"] == 422
    assert all(e["message"] for e in problem["errors"])
    assert Contact.objects.for_workspace(workspace).count() == 0
    assert not Tag.objects.for_workspace(workspace).filter(name="brand-new-tag").exists()
    assert Event.objects.for_workspace(workspace).count() == before_events


def test_failed_update_leaves_the_contact_as_it_was(api, workspace, custom_field):
    custom_field("score", "number")
    cid = api.post(URL, {"first_name": "Ana", "emails": ["ana@example.com"]}).json()["id"]
    r = api.patch(
        f"{URL}/{cid}",
        {
            "first_name": "Changed",
            "emails": ["bad@"],
            "phones": ["12"],
            "tags": ["x"],
            "custom_fields": {"score": True},
        },
    )
    assert error_fields(r) == {"emails.0", "phones.0", "custom_fields.score"}
    contact = Contact.objects.for_workspace(workspace).get(pk=cid)
    assert contact.first_name == "Ana"
    assert contact.emails == ["ana@example.com"]
    assert not Event.objects.for_workspace(workspace).filter(type="contact.updated").exists()


def test_unknown_body_field_is_refused_by_name(api, workspace):
    r = api.post(URL, {"first_name": "Ana", "favourite_colour": "blue"})
    assert error_fields(r) == {"favourite_colour"}
    assert Contact.objects.for_workspace(workspace).count() == 0


def test_contact_needs_a_name_or_an_email(api):
    assert error_fields(api.post(URL, {})) == {"first_name"}
    assert error_fields(api.post(URL, {"job_title": "CEO"})) == {"first_name"}
    assert api.post(URL, {"emails": ["only@example.com"]}).status_code == 201
    cid = api.post(URL, {"last_name": "Only"}).json()["id"]
    assert error_fields(api.patch(f"{URL}/{cid}", {"last_name": ""})) == {"last_name"}


def test_field_rules(api, workspace, other_workspace, account_factory, make_member):
    inactive = make_member("gone@acme.test")
    inactive.is_active = False
    inactive.save()
    foreign_account = account_factory(ws=other_workspace)
    tomorrow = (timezone.localdate() + dt.timedelta(days=2)).isoformat()
    r = api.post(
        URL,
        {
            "first_name": "x" * 101,
            "lifecycle_stage": "vip",
            "country": "XX",
            "birthdate": tomorrow,
            "owner_id": inactive.pk,
            "account_id": foreign_account.pk,
            "language": "not a language",
        },
    )
    assert error_fields(r) == {
        "first_name",
        "lifecycle_stage",
        "country",
        "birthdate",
        "owner_id",
        "account_id",
        "language",
    }
    assert error_fields(api.post(URL, {"first_name": "A", "birthdate": "17/05/1980"})) == {
        "birthdate"
    }


def test_phone_region_comes_from_country_then_workspace_locale(api, workspace):
    r = api.post(URL, {"first_name": "A", "phones": ["(650) 253-0000"], "country": "US"})
    assert r.json()["phones"] == ["+16502530000"]
    r = api.post(URL, {"first_name": "B", "phones": ["(11) 3333-4444"]})
    assert r.json()["phones"] == ["+551133334444"]  # workspace locale pt-br
    workspace.locale = "xx"
    workspace.save()
    r = api.post(URL, {"first_name": "C", "phones": ["3333-4444"]})
    assert error_fields(r) == {"phones.0"}
    assert "+" in r.json()["errors"][0]["message"]


def test_owner_and_account_can_be_set_and_cleared(api, workspace, make_member, account_factory):
    seller = make_member("seller@acme.test")
    account = account_factory(name="Padaria Pão Quente")
    r = api.post(URL, {"first_name": "A", "owner_id": seller.pk, "account_id": account.pk})
    body = r.json()
    assert body["owner"]["id"] == seller.pk
    assert body["account"] == {"id": account.pk, "name": "Padaria Pão Quente"}
    r = api.patch(f"{URL}/{body['id']}", {"owner_id": None, "account_id": None})
    assert r.json()["owner"] is None and r.json()["account"] is None
    r = api.post(URL, {"first_name": "B", "owner_id": None})
    assert r.json()["owner"] is None


@pytest.fixture
def listed(workspace, contact_factory, account_factory, make_member, admin):
    seller = make_member("seller@acme.test")
    acme = account_factory(name="Acme")
    people = {
        "ana": contact_factory(
            first_name="Ana",
            lifecycle_stage="customer",
            owner_id=seller.pk,
            account_id=acme.pk,
            tags=["VIP"],
            source="web",
            city="Recife",
            state="PE",
            country="BR",
        ),
        "bruno": contact_factory(
            first_name="Bruno", lifecycle_stage="lead", owner_id=admin.pk, city="Natal"
        ),
        "carla": contact_factory(first_name="Carla", tags=["vip", "2024"], country="PT"),
    }
    return people, seller, acme


def test_list_filters(api, listed, admin):
    people, seller, acme = listed
    ana, bruno, carla = people["ana"].pk, people["bruno"].pk, people["carla"].pk
    assert item_ids(api.get(URL)) == [ana, bruno, carla]  # by name
    assert item_ids(api.get(URL, lifecycle_stage="customer")) == [ana]
    assert item_ids(api.get(URL, owner=str(seller.pk))) == [ana]
    assert item_ids(api.get(URL, owner="me")) == [bruno]
    assert item_ids(api.get(URL, owner="none")) == [carla]
    assert item_ids(api.get(URL, account=str(acme.pk))) == [ana]
    assert item_ids(api.get(URL, tag="vip")) == [ana, carla]
    assert item_ids(api.get(URL, tag="2024")) == [carla]
    tag_id = Tag.objects.get(name="VIP").pk
    assert item_ids(api.get(URL, tag=str(tag_id))) == [ana, carla]
    assert item_ids(api.get(URL, source="web")) == [ana]
    assert item_ids(api.get(URL, city="Natal")) == [bruno]
    assert item_ids(api.get(URL, state="PE")) == [ana]
    assert item_ids(api.get(URL, country="pt")) == [carla]
    assert item_ids(api.get(URL, lifecycle_stage="customer", city="Natal")) == []


def test_list_date_ranges(api, workspace, listed):
    people, _, _ = listed
    old = timezone.now() - dt.timedelta(days=10)
    Contact.objects.for_workspace(workspace).filter(pk=people["ana"].pk).update(
        created_at=old, updated_at=old
    )
    since = (timezone.now() - dt.timedelta(days=1)).isoformat()
    assert people["ana"].pk not in item_ids(api.get(URL, created_after=since))
    assert item_ids(api.get(URL, created_before=since)) == [people["ana"].pk]
    assert item_ids(api.get(URL, updated_before=(old + dt.timedelta(seconds=1)).isoformat())) == [
        people["ana"].pk
    ]
    day = timezone.localtime(old, ZoneInfo(workspace.time_zone)).date().isoformat()
    assert people["ana"].pk in item_ids(api.get(URL, created_after=day, created_before=day))
    assert error_fields(api.get(URL, created_after="last tuesday")) == {"created_after"}


def test_bad_list_parameters_are_named(api):
    r = api.get(URL, lifecycle_stage="vip", sort="age", owner="someone", deleted="maybe")
    assert error_fields(r) == {"lifecycle_stage", "sort", "owner", "deleted"}
    assert error_fields(api.get(URL, limit="0")) == {"limit"}
    assert error_fields(api.get(URL, limit="201")) == {"limit"}
    assert error_fields(api.get(URL, cursor="!!not a cursor")) == {"cursor"}


@pytest.mark.parametrize("sort", ["name", "-name", "created_at", "-created_at", "-updated_at"])
def test_cursor_walks_every_row_once_in_order(api, workspace, contact_factory, sort):
    base = timezone.now() - dt.timedelta(days=1)
    names = ["Zé", "ana", "Álvaro", "bia", "Caio", "caio", "Duda"]
    for i, name in enumerate(names):
        c = contact_factory(first_name=name)
        # Two rows share a timestamp: the id must break the tie.
        moment = base + dt.timedelta(minutes=i // 2)
        Contact.objects.for_workspace(workspace).filter(pk=c.pk).update(
            created_at=moment, updated_at=moment
        )
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": "3", "sort": sort}
        if cursor:
            params["cursor"] = cursor
        r = api.get(URL, **params)
        seen += item_ids(r)
        cursor = r.json()["next_cursor"]
        pages += 1
        if not cursor:
            break
    assert pages == 3
    assert len(seen) == len(set(seen)) == len(names)
    rows = {c.pk: c for c in Contact.objects.for_workspace(workspace)}
    field = sort.lstrip("-").replace("name", "sort_name")
    keys = [(getattr(rows[pk], field), pk) for pk in seen]
    assert keys == sorted(keys, reverse=sort.startswith("-"))


def test_cursor_of_another_sort_is_refused(api, contact_factory):
    for name in "abc":
        contact_factory(first_name=name)
    cursor = api.get(URL, limit="1", sort="name").json()["next_cursor"]
    assert error_fields(api.get(URL, cursor=cursor, sort="-created_at")) == {"cursor"}


def test_huge_ids_are_bad_input_not_server_errors(api):
    assert api.get(f"{URL}/{2**70}").status_code == 422
    assert error_fields(api.post(URL, {"first_name": "A", "account_id": 2**63})) == {"account_id"}
    assert error_fields(api.get(URL, account=str(2**70))) == {"account"}
    assert api.get(URL, tag=str(2**70)).status_code == 200


def test_sending_back_unchanged_stale_links_is_accepted(
    api, workspace, make_member, account_factory, contact_factory
):
    seller = make_member("leaving@acme.test")
    account = account_factory(name="Closing Co")
    contact = contact_factory(owner_id=seller.pk, account_id=account.pk)
    seller.is_active = False
    seller.save()
    api.delete(f"/api/v1/accounts/{account.pk}")
    body = {"owner_id": seller.pk, "account_id": account.pk, "city": "Olinda"}
    r = api.patch(f"{URL}/{contact.pk}", body)
    assert r.status_code == 200, r.content
    assert r.json()["city"] == "Olinda"
    # Choosing them anew is still checked.
    other = contact_factory()
    assert error_fields(api.patch(f"{URL}/{other.pk}", body)) == {"owner_id", "account_id"}
