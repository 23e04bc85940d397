"""Every way a request can go wrong answers RFC 9457 problem+json, never an HTML page or a 500.
The tags endpoint is the target throughout."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from vinculo.core import selectors
from vinculo.core.models import Membership, Tag

TAGS = "/api/v1/tags"
PROBLEM = "application/problem+json"


def assert_problem(response, status: int, code: str | None = None) -> dict:
    """The response is a problem document of `status`, with every member RFC 9457 names."""
    assert response.status_code == status, response.content
    assert response["content-type"] == PROBLEM
    body = json.loads(response.content)
    assert {"type", "title", "status", "detail"} <= set(body)
    assert body["status"] == status
    assert body["title"]
    assert body["detail"]
    if code is not None:
        assert body["type"].endswith(f"/{code}"), body["type"]
    return body


# --- bodies ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("{not json", "Expecting property name"),
        ('{"name": "VIP"', "Expecting ',' delimiter"),
        ("name=VIP", "Expecting value"),
        ('{"name": "VIP"} trailing', "Extra data"),
        (b"\xff\xfe\x00garbage", "not valid JSON"),
    ],
)
def test_a_body_that_is_not_json_is_400_naming_the_reason(api, workspace, raw, reason):
    body = assert_problem(api.post(TAGS, raw=raw), 400, "invalid-json")
    assert "not valid JSON" in body["detail"]
    assert reason in body["detail"]
    assert not Tag.objects.for_workspace(workspace).exists()


def test_a_body_over_one_mebibyte_is_413(api, workspace):
    raw = json.dumps({"name": "x" * (1024 * 1024)})
    body = assert_problem(api.post(TAGS, raw=raw), 413, "body-too-large")
    assert "1024 KiB" in body["detail"]
    assert not Tag.objects.for_workspace(workspace).exists()


def test_a_body_of_exactly_the_limit_is_read(api, workspace):
    padding = 1024 * 1024 - len(json.dumps({"name": "VIP", "color": ""}))
    raw = json.dumps({"name": "VIP", "color": "x" * padding})
    assert len(raw.encode()) == 1024 * 1024
    body = assert_problem(api.post(TAGS, raw=raw), 422, "validation-error")
    assert body["errors"][0]["field"] == "color"


@pytest.mark.parametrize(
    "raw",
    [
        "[" * 10_000 + "]" * 10_000,
        '{"a":' * 10_000 + "1" + "}" * 10_000,
        '{"name": ' + "[" * 10_000 + "]" * 10_000 + "}",
        "[" * 10_000,  # deep and unterminated
        "[" * 33 + "]" * 33,  # just past the limit, parsed fine but refused
    ],
    ids=["arrays", "objects", "inside-a-field", "unterminated", "limit-plus-one"],
)
def test_a_deeply_nested_body_is_400_never_500(api, workspace, raw):
    body = assert_problem(api.post(TAGS, raw=raw), 400)
    assert body["type"].rsplit("/", 1)[-1] in {"body-too-deep", "invalid-json"}
    assert not Tag.objects.for_workspace(workspace).exists()


@pytest.mark.parametrize("raw", ["[]", '[{"name": "VIP"}]', '"VIP"', "42", "null"])
def test_json_that_is_not_an_object_is_422(api, workspace, raw):
    body = assert_problem(api.post(TAGS, raw=raw), 422, "validation-error")
    assert body["errors"][0]["field"] == "body"
    assert not Tag.objects.for_workspace(workspace).exists()


def test_an_empty_body_is_422_naming_what_is_missing(api):
    r = api.client.post(TAGS, b"", content_type="application/json", **api._headers(None))
    body = assert_problem(r, 422, "validation-error")
    assert body["errors"]


# --- authentication --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Bearer garbage",
        "Bearer vk_",
        "Bearer vk_abc_def",
        "Basic YWRtaW46YWRtaW4=",
        "Token vk_abc_def",
    ],
)
def test_a_missing_or_garbage_key_is_401_with_www_authenticate(db, authorization):
    headers = {} if authorization is None else {"HTTP_AUTHORIZATION": authorization}
    r = Client().get(TAGS, **headers)
    assert_problem(r, 401, "unauthenticated")
    assert r["WWW-Authenticate"].startswith("Bearer")


def test_a_key_with_a_wrong_secret_is_401(api, api_key):
    prefix = api_key.rsplit("_", 1)[0]
    r = api.get(TAGS, key=f"{prefix}_{'A' * 43}")
    assert_problem(r, 401, "unauthenticated")
    assert r["WWW-Authenticate"].startswith("Bearer")


def test_a_revoked_key_is_401_at_once(api):
    created = api.post("/api/v1/api-keys", {"name": "temp"}).json()
    assert api.get(TAGS, key=created["key"]).status_code == 200
    assert api.delete(f"/api/v1/api-keys/{created['id']}").status_code == 204
    r = api.get(TAGS, key=created["key"])
    assert_problem(r, 401, "unauthenticated")
    assert r["WWW-Authenticate"].startswith("Bearer")


def test_a_key_of_someone_who_left_the_workspace_is_401(api, workspace, admin):
    Membership.objects.for_workspace(workspace).filter(user=admin).update(is_active=False)
    assert_problem(api.get(TAGS), 401, "unauthenticated")


def test_a_key_of_a_deactivated_user_is_401(api, admin):
    admin.is_active = False
    admin.save(update_fields=["is_active"])
    assert_problem(api.get(TAGS), 401, "unauthenticated")


# --- routes and methods ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/api/v1/nowhere", "/api/v1/tags/1/nowhere", "/api/v2/tags", "/api/v1/tags/"]
)
def test_an_unknown_route_is_a_404_problem(api, path):
    body = assert_problem(api.get(path), 404, "not-found")
    assert body["instance"] == path


def test_a_missing_record_is_a_404_problem(api):
    for path in (f"{TAGS}/999999", f"{TAGS}/{2**64}"):
        assert_problem(api.get(path), 404, "not-found")


def test_a_method_the_route_lacks_is_a_405_problem_with_allow(api):
    r = api.put(TAGS, {"name": "VIP"})
    body = assert_problem(r, 405, "method-not-allowed")
    assert {m.strip() for m in r["Allow"].split(",")} == {"GET", "POST"}
    assert "PUT" in body["detail"]


def test_a_path_parameter_of_the_wrong_type_is_422_naming_it(api):
    body = assert_problem(api.get(f"{TAGS}/abc"), 422, "validation-error")
    assert body["errors"][0]["field"] == "tag_id"


def test_an_unexpected_failure_is_a_500_problem_that_reveals_nothing(api, monkeypatch):
    def explode(**kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(selectors, "tag_list", explode)
    body = assert_problem(api.get(TAGS), 500, "server-error")
    assert "secret internals" not in json.dumps(body)


def test_validation_problems_list_each_field_with_code_and_message(api):
    body = assert_problem(api.post(TAGS, {"name": "", "color": "mauve"}), 422, "validation-error")
    assert body["errors"] == [
        {"field": "name", "code": "required", "message": "The tag needs a name."},
        {
            "field": "color",
            "code": "invalid",
            "message": body["errors"][1]["message"],
        },
    ]
    assert "name:" in body["detail"]
    assert "color:" in body["detail"]
    assert body["instance"] == TAGS
