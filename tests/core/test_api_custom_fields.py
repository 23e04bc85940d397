"""Custom-field definitions through /api/v1/custom-fields."""

from __future__ import annotations

import itertools

import pytest

from vinculo.core.models import CustomFieldDefinition, Event
from vinculo.core.roles import Role
from vinculo.core.services import apikey_create

URL = "/api/v1/custom-fields"
_emails = itertools.count()


@pytest.fixture
def key_for(workspace, make_member):
    def make(role: str) -> str:
        user = make_member(f"{role}-{next(_emails)}@acme.test", role)
        return apikey_create(workspace=workspace, user=user)[1]

    return make


def _field(**overrides):
    body = {"object_type": "contact", "key": "shoe_size", "label": "Shoe size"}
    return {"field_type": "number", **body, **overrides}


@pytest.fixture
def size(api):
    body = _field(key="size", label="Size", field_type="choice", choices=["S", "M", "L"])
    r = api.post(URL, body)
    assert r.status_code == 201
    return r.json()


def _fields(response) -> dict[str, str]:
    return {e["field"]: e["code"] for e in response.json().get("errors", [])}


def _events(workspace, type_: str) -> list[Event]:
    return list(Event.objects.for_workspace(workspace).filter(type=type_).order_by("id"))


# --- create ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field_type", "choices"),
    [
        ("text", []),
        ("number", []),
        ("money", []),
        ("date", []),
        ("boolean", []),
        ("choice", ["Gold", "Silver"]),
        ("multi_choice", ["Email", "Phone", "WhatsApp"]),
    ],
)
def test_create_each_field_type(api, workspace, admin, field_type, choices):
    r = api.post(URL, _field(key=f"f_{field_type}", field_type=field_type, choices=choices))
    assert r.status_code == 201
    body = r.json()
    assert (body["field_type"], body["choices"], body["required"]) == (field_type, choices, False)
    stored = CustomFieldDefinition.objects.for_workspace(workspace).get(pk=body["id"])
    assert stored.key == f"f_{field_type}"
    [event] = _events(workspace, "custom_field.created")
    assert event.subject_id == stored.pk
    assert event.actor == admin
    assert event.payload["key"] == f"f_{field_type}"


def test_positions_follow_creation_per_object(api):
    first = api.post(URL, _field(key="a")).json()
    second = api.post(URL, _field(key="b")).json()
    on_accounts = api.post(URL, _field(key="a", object_type="account")).json()
    explicit = api.post(URL, _field(key="c", position=10)).json()
    assert [first["position"], second["position"]] == [0, 1]
    assert on_accounts["position"] == 0
    assert explicit["position"] == 10


def test_choices_are_trimmed(api):
    r = api.post(URL, _field(field_type="choice", choices=["  Gold ", "Silver  plated"]))
    assert r.json()["choices"] == ["Gold", "Silver plated"]


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"object_type": "deal"}, "object_type", "invalid"),
        ({"key": ""}, "key", "required"),
        ({"key": "Shoe Size"}, "key", "invalid"),
        ({"key": "1st"}, "key", "invalid"),
        ({"key": "shoe-size"}, "key", "invalid"),
        ({"key": "a" * 61}, "key", "too-long"),
        ({"label": " "}, "label", "required"),
        ({"label": "x" * 121}, "label", "too-long"),
        ({"field_type": "colour"}, "field_type", "invalid"),
        ({"field_type": "choice"}, "choices", "required"),
        ({"field_type": "multi_choice", "choices": []}, "choices", "required"),
        ({"field_type": "choice", "choices": ["A", " "]}, "choices.1", "required"),
        ({"field_type": "choice", "choices": ["Gold", "gold"]}, "choices.1", "duplicate"),
        ({"field_type": "choice", "choices": ["x" * 101]}, "choices.0", "too-long"),
        ({"field_type": "text", "choices": ["A"]}, "choices", "not-allowed"),
        ({"position": -1}, "position", "invalid"),
        ({"choices": "A,B"}, "choices", "list_type"),
        ({"required": "maybe"}, "required", "bool_parsing"),
        ({"default": 1}, "default", "extra_forbidden"),
    ],
)
def test_invalid_definition_is_refused_naming_the_field(api, workspace, overrides, field, code):
    r = api.post(URL, _field(**overrides))
    assert r.status_code == 422
    assert r["content-type"] == "application/problem+json"
    assert _fields(r)[field] == code
    assert not CustomFieldDefinition.objects.for_workspace(workspace).exists()


def test_every_error_of_a_definition_comes_at_once(api):
    r = api.post(
        URL, {"object_type": "contact", "key": "Bad Key", "label": "", "field_type": "choice"}
    )
    assert _fields(r) == {"key": "invalid", "label": "required", "choices": "required"}


def test_keys_are_unique_per_object_not_across_objects(api, size):
    r = api.post(URL, _field(key="size"))
    assert r.status_code == 422
    assert _fields(r) == {"key": "taken"}
    assert api.post(URL, _field(key="size", object_type="account")).status_code == 201


def test_a_deleted_fields_key_stays_taken_and_says_restore(api, size):
    api.delete(f"{URL}/{size['id']}")
    r = api.post(URL, _field(key="size"))
    assert _fields(r) == {"key": "taken"}
    assert "restore" in r.json()["errors"][0]["message"]


# --- read ------------------------------------------------------------------------------------


def test_get_and_list_filtered_by_object(api, size):
    account_field = api.post(URL, _field(object_type="account", key="tier")).json()
    assert api.get(f"{URL}/{size['id']}").json() == size
    assert [f["key"] for f in api.get(URL).json()["items"]] == ["tier", "size"]
    assert [f["key"] for f in api.get(URL, object_type="contact").json()["items"]] == ["size"]
    only_accounts = api.get(URL, object_type="account").json()["items"]
    assert only_accounts == [account_field]
    unknown = api.get(URL, object_type="deal")
    assert unknown.status_code == 422
    assert _fields(unknown) == {"object_type": "literal_error"}


def test_list_pages_in_form_order(api):
    for i in range(7):
        api.post(URL, _field(key=f"f{i}", position=7 - i))
    first = api.get(URL, limit=4).json()
    second = api.get(URL, limit=4, cursor=first["next_cursor"]).json()
    keys = [f["key"] for f in first["items"] + second["items"]]
    assert keys == [f"f{i}" for i in reversed(range(7))]
    assert second["next_cursor"] is None


# --- update ----------------------------------------------------------------------------------


def test_patch_label_choices_required_and_position(api, workspace, size):
    r = api.patch(
        f"{URL}/{size['id']}",
        {"label": "T-shirt size", "choices": ["S", "M", "L", "XL"], "required": True},
    )
    assert r.status_code == 200
    body = r.json()
    assert (body["label"], body["choices"], body["required"]) == (
        "T-shirt size",
        ["S", "M", "L", "XL"],
        True,
    )
    [event] = _events(workspace, "custom_field.updated")
    assert event.payload["changes"]["choices"] == [["S", "M", "L"], ["S", "M", "L", "XL"]]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"field_type": "multi_choice"}, "field_type"),
        ({"key": "tshirt"}, "key"),
        ({"object_type": "account"}, "object_type"),
    ],
)
def test_type_key_and_object_cannot_change(api, workspace, size, change, field):
    r = api.patch(f"{URL}/{size['id']}", change)
    assert r.status_code == 422
    assert _fields(r) == {field: "immutable"}
    assert "cannot change once created" in r.json()["errors"][0]["message"]
    stored = CustomFieldDefinition.objects.for_workspace(workspace).get(pk=size["id"])
    assert (stored.field_type, stored.key, stored.object_type) == ("choice", "size", "contact")


def test_sending_back_the_unchanged_type_and_key_is_fine(api, workspace, size):
    r = api.patch(
        f"{URL}/{size['id']}",
        {"field_type": "choice", "key": "size", "object_type": "contact", "label": "Size"},
    )
    assert r.status_code == 200
    assert _events(workspace, "custom_field.updated") == []


def test_patch_validates_choices_against_the_fields_type(api, size):
    assert _fields(api.patch(f"{URL}/{size['id']}", {"choices": []})) == {"choices": "required"}
    text = api.post(URL, _field(key="nickname", field_type="text")).json()
    r = api.patch(f"{URL}/{text['id']}", {"choices": ["A"]})
    assert _fields(r) == {"choices": "not-allowed"}


def test_patch_refuses_null(api, size):
    assert _fields(api.patch(f"{URL}/{size['id']}", {"label": None})) == {
        "label": "null_not_allowed"
    }


# --- delete and restore ----------------------------------------------------------------------


def test_delete_and_restore(api, workspace, size):
    url = f"{URL}/{size['id']}"
    assert api.delete(url).status_code == 204
    assert api.get(URL).json()["items"] == []
    assert [f["id"] for f in api.get(URL, deleted="true").json()["items"]] == [size["id"]]
    assert api.patch(url, {"label": "x"}).status_code == 409
    assert api.delete(url).status_code == 204
    assert len(_events(workspace, "custom_field.deleted")) == 1
    restored = api.post(f"{url}/restore")
    assert restored.status_code == 200
    assert restored.json()["deleted_at"] is None
    assert len(_events(workspace, "custom_field.restored")) == 1


# --- rights ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "role", [Role.MANAGER, Role.SALES, Role.MARKETING, Role.SERVICE, Role.READ_ONLY]
)
def test_only_admins_manage_definitions_but_members_read_them(api, size, key_for, role):
    key = key_for(role)
    assert [f["id"] for f in api.get(URL, key=key).json()["items"]] == [size["id"]]
    assert api.get(f"{URL}/{size['id']}", key=key).status_code == 200
    for r in (
        api.post(URL, _field(key="mine"), key=key),
        api.patch(f"{URL}/{size['id']}", {"label": "x"}, key=key),
        api.delete(f"{URL}/{size['id']}", key=key),
        api.post(f"{URL}/{size['id']}/restore", key=key),
    ):
        assert r.status_code == 403
    assert api.get(f"{URL}/{size['id']}").json() == size


# --- other workspaces ------------------------------------------------------------------------


def test_another_workspaces_field_answers_exactly_as_a_missing_one(api, size, other_key):
    def stable(response):
        body = response.json()
        return response.status_code, body["type"], body["detail"]

    for method, suffix, body in [
        ("get", "", None),
        ("patch", "", {"label": "Stolen"}),
        ("delete", "", None),
        ("post", "/restore", None),
    ]:
        call = getattr(api, method)
        args = (body,) if body is not None else ()
        theirs = call(f"{URL}/{size['id']}{suffix}", *args, key=other_key)
        absent = call(f"{URL}/{10**9}{suffix}", *args, key=other_key)
        assert theirs.status_code == 404
        assert stable(theirs) == stable(absent)
    assert api.get(f"{URL}/{size['id']}").json() == size


def test_another_workspaces_fields_never_appear_in_the_list(api, size, other_key):
    assert api.post(URL, _field(key="size"), key=other_key).status_code == 201
    theirs = api.get(URL, key=other_key).json()["items"]
    assert size["id"] not in {f["id"] for f in theirs}
    for params in ({"object_type": "contact"}, {"deleted": "true"}):
        assert size["id"] not in {
            f["id"] for f in api.get(URL, key=other_key, **params).json()["items"]
        }


# --- queries ---------------------------------------------------------------------------------


def test_list_and_detail_queries_are_bounded(api, workspace, django_assert_max_num_queries):
    CustomFieldDefinition.objects.for_workspace(workspace).bulk_create(
        [
            CustomFieldDefinition(
                workspace=workspace,
                object_type="contact",
                key=f"f{i}",
                label=f"F{i}",
                field_type="text",
                position=i,
            )
            for i in range(60)
        ]
    )
    with django_assert_max_num_queries(5):
        assert len(api.get(URL, limit=50).json()["items"]) == 50
    first = CustomFieldDefinition.objects.for_workspace(workspace).first()
    with django_assert_max_num_queries(4):
        assert api.get(f"{URL}/{first.pk}").status_code == 200
