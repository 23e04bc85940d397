"""API keys through /api/v1/api-keys: shown once, listed without secrets, revoked at once."""

from __future__ import annotations

import pytest

from vinculo.core.models import ApiKey, Event
from vinculo.core.roles import Role
from vinculo.core.services import apikey_create

URL = "/api/v1/api-keys"
LISTED_FIELDS = {
    "id",
    "name",
    "prefix",
    "user_email",
    "created_at",
    "last_used_at",
    "revoked_at",
}


@pytest.fixture
def sales(make_member):
    return make_member("sales@acme.test", Role.SALES)


@pytest.fixture
def sales_key(workspace, sales):
    return apikey_create(workspace=workspace, user=sales, name="laptop")[1]


def _ids(response) -> list[int]:
    return [k["id"] for k in response.json()["items"]]


def test_create_shows_the_raw_key_once_and_stores_only_its_hash(api, workspace, admin):
    r = api.post(URL, {"name": "Zapier"})
    assert r.status_code == 201
    body = r.json()
    raw = body["key"]
    assert set(body) == LISTED_FIELDS | {"key"}
    assert body["name"] == "Zapier"
    assert body["user_email"] == admin.email
    assert raw.startswith(f"vk_{body['prefix']}_")
    stored = ApiKey.objects.for_workspace(workspace).get(pk=body["id"])
    secret = raw.rsplit("_", 1)[-1]
    assert secret not in stored.secret_hash
    assert raw not in {stored.secret_hash, stored.prefix, stored.name}
    # The new key works, and no later answer repeats it.
    assert api.get("/api/v1/me", key=raw).json()["user"]["email"] == admin.email
    listed = api.get(URL)
    assert secret not in listed.content.decode()
    assert stored.secret_hash not in listed.content.decode()
    [event] = Event.objects.for_workspace(workspace).filter(type="api_key.created")
    assert event.payload == {"name": "Zapier", "prefix": body["prefix"]}
    assert secret not in str(event.payload)


def test_list_shows_only_the_callers_keys_without_secrets(api, workspace, admin, sales_key):
    r = api.get(URL)
    assert r.status_code == 200
    items = r.json()["items"]
    assert [k["user_email"] for k in items] == [admin.email]
    assert all(set(k) == LISTED_FIELDS for k in items)
    assert items[0]["last_used_at"] is not None  # this very request used it
    # The sales member sees theirs only.
    theirs = api.get(URL, key=sales_key).json()["items"]
    assert [(k["name"], k["user_email"]) for k in theirs] == [("laptop", "sales@acme.test")]


def test_list_is_newest_first_and_pages(api):
    for i in range(4):
        api.post(URL, {"name": f"k{i}"})
    first = api.get(URL, limit=3).json()
    second = api.get(URL, limit=3, cursor=first["next_cursor"]).json()
    names = [k["name"] for k in first["items"] + second["items"]]
    assert names == ["k3", "k2", "k1", "k0", "tests"]


def test_admins_may_list_everyones_keys_others_may_not(api, sales_key):
    assert len(api.get(URL, everyone="true").json()["items"]) == 2
    r = api.get(URL, everyone="true", key=sales_key)
    assert r.status_code == 403
    assert r.json()["type"].endswith("/forbidden")


def test_a_revoked_key_is_refused_at_once(api, workspace):
    created = api.post(URL, {"name": "short-lived"}).json()
    assert api.get("/api/v1/me", key=created["key"]).status_code == 200
    r = api.delete(f"{URL}/{created['id']}")
    assert r.status_code == 204
    refused = api.get("/api/v1/me", key=created["key"])
    assert refused.status_code == 401
    assert refused["content-type"] == "application/problem+json"
    assert refused["WWW-Authenticate"].startswith("Bearer")
    listed = {k["id"]: k for k in api.get(URL).json()["items"]}
    assert listed[created["id"]]["revoked_at"] is not None
    assert api.delete(f"{URL}/{created['id']}").status_code == 204  # twice is harmless
    events = Event.objects.for_workspace(workspace).filter(type="api_key.revoked")
    assert [e.subject_id for e in events] == [created["id"]]


def test_a_key_may_revoke_itself(api, sales_key):
    own_id = api.get(URL, key=sales_key).json()["items"][0]["id"]
    assert api.delete(f"{URL}/{own_id}", key=sales_key).status_code == 204
    assert api.get(URL, key=sales_key).status_code == 401


def test_members_cannot_revoke_someone_elses_key(api, workspace, admin, sales_key):
    admins_key = ApiKey.objects.for_workspace(workspace).get(user=admin)
    r = api.delete(f"{URL}/{admins_key.pk}", key=sales_key)
    assert r.status_code == 404
    admins_key.refresh_from_db()
    assert admins_key.revoked_at is None
    assert api.get("/api/v1/me").status_code == 200


def test_admins_may_revoke_any_key_in_the_workspace(api, workspace, sales, sales_key):
    key = ApiKey.objects.for_workspace(workspace).get(user=sales)
    assert api.delete(f"{URL}/{key.pk}").status_code == 204
    assert api.get("/api/v1/me", key=sales_key).status_code == 401


def test_another_workspaces_key_answers_exactly_as_a_missing_one(api, other_key, other_workspace):
    foreign = ApiKey.objects.for_workspace(other_workspace).get()
    theirs = api.delete(f"{URL}/{foreign.pk}")
    absent = api.delete(f"{URL}/{10**9}")
    assert theirs.status_code == absent.status_code == 404
    assert theirs.json()["detail"] == absent.json()["detail"]
    assert api.get("/api/v1/me", key=other_key).status_code == 200
    assert foreign.pk not in _ids(api.get(URL, everyone="true"))
    assert foreign.pk not in _ids(api.get(URL))


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"name": "x" * 101}, "name", "too-long"),
        ({"name": "tab\tok but bell \x07 not"}, "name", "invalid"),
        ({"name": 5}, "name", "string_type"),
        ({"secret": "mine"}, "secret", "extra_forbidden"),
    ],
)
def test_invalid_key_requests_name_the_field(api, workspace, body, field, code):
    r = api.post(URL, body)
    assert r.status_code == 422
    assert {e["field"]: e["code"] for e in r.json()["errors"]} == {field: code}
    assert ApiKey.objects.for_workspace(workspace).count() == 1


def test_list_queries_are_bounded(api, workspace, admin, django_assert_max_num_queries):
    for i in range(30):
        apikey_create(workspace=workspace, user=admin, name=f"k{i}")
    with django_assert_max_num_queries(4):
        assert len(api.get(URL, limit=25).json()["items"]) == 25
