"""/api/v1/me: who is calling, in which workspace, with which role; by key and by session."""

from __future__ import annotations

from django.test import Client

from vinculo.core.roles import Role
from vinculo.core.services import apikey_create


def test_me_describes_the_caller_the_workspace_and_the_role(api, admin, workspace):
    r = api.get("/api/v1/me")
    assert r.status_code == 200
    body = r.json()
    assert body["user"]["email"] == "admin@acme.test"
    assert body["user"]["id"] == admin.pk
    assert body["workspace"] == {
        "id": workspace.pk,
        "name": "Acme Ltda",
        "slug": "acme",
        "time_zone": "America/Sao_Paulo",
        "currency": "BRL",
        "locale": "pt-br",
    }
    assert body["role"] == "admin"
    assert body["rights"]["settings"] == ["view", "create", "edit", "delete"]


def test_me_reports_a_members_own_role_and_rights(api, workspace, make_member):
    user = make_member("rita@acme.test", Role.READ_ONLY)
    key = apikey_create(workspace=workspace, user=user)[1]
    body = api.get("/api/v1/me", key=key).json()
    assert (body["user"]["email"], body["role"]) == ("rita@acme.test", "read_only")
    assert body["rights"]["contacts"] == ["view"]
    assert body["rights"]["settings"] == []


def test_a_key_acts_in_its_own_workspace_only(api, other_key, other_workspace):
    body = api.get("/api/v1/me", key=other_key).json()
    assert body["workspace"]["slug"] == "globex"
    assert body["user"]["email"] == "admin@globex.test"


def test_me_queries_are_bounded(api, django_assert_max_num_queries):
    with django_assert_max_num_queries(4):
        assert api.get("/api/v1/me").status_code == 200


def test_the_browser_session_works_and_still_needs_csrf_to_write(db, workspace, admin):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(admin)
    r = browser.get("/api/v1/me")
    assert r.status_code == 200
    assert r.json()["workspace"]["slug"] == "acme"
    refused = browser.post("/api/v1/tags", {"name": "VIP"}, content_type="application/json")
    assert refused.status_code == 403
    assert refused["content-type"] == "application/problem+json"
    assert refused.json()["status"] == 403
