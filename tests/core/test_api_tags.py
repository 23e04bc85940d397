"""Tags through /api/v1/tags: the whole life of a tag, who may do what, and no leaks."""

from __future__ import annotations

import base64
import itertools
import json

import pytest

from vinculo.core.models import Event, Tag
from vinculo.core.roles import Role
from vinculo.core.services import apikey_create

_emails = itertools.count()


@pytest.fixture
def key_for(workspace, make_member):
    def make(role: str) -> str:
        user = make_member(f"{role}-{next(_emails)}@acme.test", role)
        return apikey_create(workspace=workspace, user=user)[1]

    return make


@pytest.fixture
def tag(api):
    return api.post("/api/v1/tags", {"name": "VIP", "color": "red"}).json()


def _events(workspace, type_: str) -> list[Event]:
    return list(Event.objects.for_workspace(workspace).filter(type=type_).order_by("id"))


def _fields(response) -> dict[str, str]:
    body = response.json()
    return {e["field"]: e["code"] for e in body.get("errors", [])}


# --- create and read -------------------------------------------------------------------------


def test_create_tag_returns_it_and_records_the_event(api, workspace, admin):
    r = api.post("/api/v1/tags", {"name": "  Key   account ", "color": "blue"})
    assert r.status_code == 201
    body = r.json()
    assert body["name"] == "Key account"
    assert body["color"] == "blue"
    assert body["deleted_at"] is None
    stored = Tag.objects.for_workspace(workspace).get(pk=body["id"])
    assert stored.name == "Key account"
    [event] = _events(workspace, "tag.created")
    assert (event.subject_type, event.subject_id) == ("tag", stored.pk)
    assert event.actor == admin
    assert event.payload == {"name": "Key account", "color": "blue"}


def test_color_defaults_to_gray(api):
    assert api.post("/api/v1/tags", {"name": "Plain"}).json()["color"] == "gray"


def test_get_tag(api, tag):
    r = api.get(f"/api/v1/tags/{tag['id']}")
    assert r.status_code == 200
    assert r.json() == tag


def test_list_sorts_by_name_ignoring_case_and_filters_by_q(api):
    for name in ("beta", "Alpha", "gamma", "Alphabet soup"):
        api.post("/api/v1/tags", {"name": name})
    names = [t["name"] for t in api.get("/api/v1/tags").json()["items"]]
    assert names == ["Alpha", "Alphabet soup", "beta", "gamma"]
    found = [t["name"] for t in api.get("/api/v1/tags", q="ALPHA").json()["items"]]
    assert found == ["Alpha", "Alphabet soup"]
    assert api.get("/api/v1/tags", q="bet s").json()["items"][0]["name"] == "Alphabet soup"
    assert api.get("/api/v1/tags", q="zzz").json() == {"items": [], "next_cursor": None}


def test_list_pages_with_a_cursor_without_overlap_or_gaps(api, workspace):
    Tag.objects.for_workspace(workspace).bulk_create(
        [Tag(workspace=workspace, name=f"tag {i:02d}") for i in range(25)]
    )
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 10, **({"cursor": cursor} if cursor else {})}
        body = api.get("/api/v1/tags", **params).json()
        seen += [t["name"] for t in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == [f"tag {i:02d}" for i in range(25)]


@pytest.mark.parametrize("limit", [0, -1, 201, "many"])
def test_list_rejects_a_bad_limit_naming_it(api, limit):
    r = api.get("/api/v1/tags", limit=limit)
    assert r.status_code == 422
    assert "limit" in _fields(r)


def _cursor(values: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage!",
        _cursor(["a"]),  # wrong length
        _cursor(["a", "x"]),  # text where the id goes
        _cursor(["a", 2**70]),  # beyond 64 bits
        _cursor([[], 1]),  # an array
        _cursor(["a\u0000", 1]),  # NUL, which PostgreSQL cannot hold
        _cursor([{"$dt": 1}, 1]),  # a broken date marker
    ],
)
def test_list_rejects_a_tampered_cursor_naming_it(api, cursor):
    r = api.get("/api/v1/tags", cursor=cursor)
    assert r.status_code == 422
    assert _fields(r) == {"cursor": "invalid"}


# --- validation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"name": ""}, "name", "required"),
        ({"name": "   "}, "name", "required"),
        ({"name": "x" * 61}, "name", "too-long"),
        ({"name": "bad\x00name"}, "name", "invalid"),
        ({"name": "ok", "color": "mauve"}, "color", "invalid"),
        ({"name": 12}, "name", "string_type"),
        ({}, "name", "missing"),
        ({"name": "ok", "colour": "red"}, "colour", "extra_forbidden"),
    ],
)
def test_invalid_tag_is_refused_naming_the_field(api, workspace, body, field, code):
    r = api.post("/api/v1/tags", body)
    assert r.status_code == 422
    assert r["content-type"] == "application/problem+json"
    assert _fields(r)[field] == code
    assert field in r.json()["detail"]
    assert not Tag.objects.for_workspace(workspace).exists()


def test_every_field_error_comes_at_once(api):
    r = api.post("/api/v1/tags", {"name": "", "color": "mauve"})
    assert _fields(r) == {"name": "required", "color": "invalid"}


@pytest.mark.parametrize("name", ["vip", "VIP", "Vip", " vip "])
def test_names_are_unique_ignoring_case(api, tag, name):
    r = api.post("/api/v1/tags", {"name": name})
    assert r.status_code == 422
    assert _fields(r) == {"name": "taken"}
    assert "VIP" in r.json()["errors"][0]["message"]


def test_names_are_unique_ignoring_case_beyond_ascii(api):
    assert api.post("/api/v1/tags", {"name": "Édition"}).status_code == 201
    r = api.post("/api/v1/tags", {"name": "éDITION"})
    assert r.status_code == 422
    assert _fields(r) == {"name": "taken"}


def test_the_same_name_is_fine_in_another_workspace(api, tag, other_key):
    assert api.post("/api/v1/tags", {"name": "VIP"}, key=other_key).status_code == 201


# --- update ----------------------------------------------------------------------------------


def test_patch_changes_only_what_is_sent_and_records_the_change(api, workspace, tag):
    r = api.patch(f"/api/v1/tags/{tag['id']}", {"color": "green"})
    assert r.status_code == 200
    assert r.json()["name"] == "VIP"
    assert r.json()["color"] == "green"
    [event] = _events(workspace, "tag.updated")
    assert event.payload == {"changes": {"color": ["red", "green"]}}


def test_patch_with_nothing_new_records_no_event(api, workspace, tag):
    assert api.patch(f"/api/v1/tags/{tag['id']}", {"name": "VIP"}).status_code == 200
    assert api.patch(f"/api/v1/tags/{tag['id']}", {}).status_code == 200
    assert _events(workspace, "tag.updated") == []


def test_a_tag_may_change_the_case_of_its_own_name(api, tag):
    r = api.patch(f"/api/v1/tags/{tag['id']}", {"name": "vip"})
    assert r.status_code == 200
    assert r.json()["name"] == "vip"


def test_renaming_onto_another_tags_name_is_refused(api, tag, workspace):
    other = api.post("/api/v1/tags", {"name": "Partner"}).json()
    r = api.patch(f"/api/v1/tags/{other['id']}", {"name": "vip"})
    assert r.status_code == 422
    assert _fields(r) == {"name": "taken"}
    assert Tag.objects.for_workspace(workspace).get(pk=other["id"]).name == "Partner"


@pytest.mark.parametrize("body", [{"name": None}, {"color": None}])
def test_patch_refuses_null_naming_the_field(api, tag, body):
    r = api.patch(f"/api/v1/tags/{tag['id']}", body)
    assert r.status_code == 422
    assert _fields(r) == {next(iter(body)): "null_not_allowed"}


# --- delete and restore ----------------------------------------------------------------------


def test_delete_moves_the_tag_to_the_bin_and_restore_brings_it_back(api, workspace, tag):
    url = f"/api/v1/tags/{tag['id']}"
    r = api.delete(url)
    assert r.status_code == 204
    assert r.content == b""
    assert api.get("/api/v1/tags").json()["items"] == []
    binned = api.get("/api/v1/tags", deleted="true").json()["items"]
    assert [t["id"] for t in binned] == [tag["id"]]
    assert api.get(url).json()["deleted_at"] is not None

    assert api.delete(url).status_code == 204  # deleting twice changes nothing
    assert len(_events(workspace, "tag.deleted")) == 1

    r = api.post(f"{url}/restore")
    assert r.status_code == 200
    assert r.json()["deleted_at"] is None
    assert [t["id"] for t in api.get("/api/v1/tags").json()["items"]] == [tag["id"]]
    assert len(_events(workspace, "tag.restored")) == 1


def test_a_deleted_tag_must_be_restored_before_changing(api, tag):
    api.delete(f"/api/v1/tags/{tag['id']}")
    r = api.patch(f"/api/v1/tags/{tag['id']}", {"color": "green"})
    assert r.status_code == 409
    assert r.json()["type"].endswith("/deleted")


def test_a_deleted_tags_name_stays_taken_and_says_restore(api, tag):
    api.delete(f"/api/v1/tags/{tag['id']}")
    r = api.post("/api/v1/tags", {"name": "vip"})
    assert r.status_code == 422
    assert "restore" in r.json()["errors"][0]["message"]


# --- rights ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.SALES, Role.MARKETING, Role.SERVICE, Role.READ_ONLY])
def test_members_who_see_contacts_read_tags_but_cannot_manage_them(api, tag, key_for, role):
    key = key_for(role)
    assert api.get("/api/v1/tags", key=key).json()["items"][0]["id"] == tag["id"]
    assert api.get(f"/api/v1/tags/{tag['id']}", key=key).status_code == 200
    for r in (
        api.post("/api/v1/tags", {"name": "Mine"}, key=key),
        api.patch(f"/api/v1/tags/{tag['id']}", {"color": "green"}, key=key),
        api.delete(f"/api/v1/tags/{tag['id']}", key=key),
        api.post(f"/api/v1/tags/{tag['id']}/restore", key=key),
    ):
        assert r.status_code == 403
        assert r.json()["type"].endswith("/forbidden")
    assert api.get(f"/api/v1/tags/{tag['id']}").json() == tag


def test_managers_manage_tags(api, key_for, workspace):
    key = key_for(Role.MANAGER)
    created = api.post("/api/v1/tags", {"name": "Churn risk", "color": "orange"}, key=key)
    assert created.status_code == 201
    tag_id = created.json()["id"]
    assert api.patch(f"/api/v1/tags/{tag_id}", {"color": "red"}, key=key).status_code == 200
    assert api.delete(f"/api/v1/tags/{tag_id}", key=key).status_code == 204
    assert api.post(f"/api/v1/tags/{tag_id}/restore", key=key).status_code == 200


# --- other workspaces ------------------------------------------------------------------------


def test_another_workspaces_tag_answers_exactly_as_a_missing_one(api, tag, other_key, workspace):
    def stable(response):
        body = response.json()
        return response.status_code, body["type"], body["title"], body["detail"]

    missing = 10**9
    for method, suffix, body in [
        ("get", "", None),
        ("patch", "", {"color": "green"}),
        ("delete", "", None),
        ("post", "/restore", None),
    ]:
        call = getattr(api, method)
        args = (body,) if body is not None else ()
        theirs = call(f"/api/v1/tags/{tag['id']}{suffix}", *args, key=other_key)
        absent = call(f"/api/v1/tags/{missing}{suffix}", *args, key=other_key)
        assert theirs.status_code == 404
        assert stable(theirs) == stable(absent)
    stored = Tag.objects.for_workspace(workspace).get(pk=tag["id"])
    assert (stored.color, stored.deleted_at) == ("red", None)


def test_another_workspaces_tags_never_appear_in_the_list(api, tag, other_key):
    api.post("/api/v1/tags", {"name": "Globex only"}, key=other_key)
    assert [t["name"] for t in api.get("/api/v1/tags").json()["items"]] == ["VIP"]
    for params in ({}, {"q": "VIP"}, {"deleted": "true"}):
        names = [
            t["name"] for t in api.get("/api/v1/tags", key=other_key, **params).json()["items"]
        ]
        assert "VIP" not in names
    assert api.get("/api/v1/tags", key=other_key).json()["items"][0]["name"] == "Globex only"


# --- queries ---------------------------------------------------------------------------------


def test_list_queries_do_not_grow_with_the_page(api, workspace, django_assert_max_num_queries):
    Tag.objects.for_workspace(workspace).bulk_create(
        [Tag(workspace=workspace, name=f"tag {i:02d}") for i in range(60)]
    )
    # key lookup, membership, last-used stamp, role, the page
    with django_assert_max_num_queries(5):
        body = api.get("/api/v1/tags", limit=50).json()
    assert len(body["items"]) == 50
    with django_assert_max_num_queries(5):
        assert len(api.get("/api/v1/tags", cursor=body["next_cursor"]).json()["items"]) == 10


def test_detail_queries_are_bounded(api, tag, django_assert_max_num_queries):
    with django_assert_max_num_queries(4):
        assert api.get(f"/api/v1/tags/{tag['id']}").status_code == 200
