"""The web forms API: create, read, change and delete forms, list their submissions, with
problem+json errors naming the field, keyset pages, query-count guards and no way into another
workspace's forms."""

from __future__ import annotations

import pytest

from tests.marketing.conftest import FIELDS, WORDING, post_form
from vinculo.core.roles import Role
from vinculo.core.services import apikey_create
from vinculo.marketing.models import WebForm

BODY = {
    "name": "API form",
    "title": "Fale conosco",
    "fields": FIELDS,
    "consent_purpose": "email_marketing",
    "consent_wording": WORDING,
    "allowed_origins": ["https://WWW.Padaria.example/", "http://localhost:8080"],
    "lead_source": "API",
}


def errors_of(response) -> dict[str, str]:
    assert response["Content-Type"] == "application/problem+json", response.content
    return {e["field"]: e["message"] for e in response.json()["errors"]}


def test_create_read_update_delete(api, workspace):
    r = api.post("/api/v1/webforms", BODY)
    assert r.status_code == 201, r.content
    created = r.json()
    assert created["name"] == "API form"
    assert created["allowed_origins"] == ["https://www.padaria.example", "http://localhost:8080"]
    assert created["public_path"] == f"/f/{created['public_key']}"
    assert created["fields"][1] == {"name": "email", "label": "Work email", "required": True}
    assert created["is_active"] is True and created["submission_count"] == 0
    url = f"/api/v1/webforms/{created['id']}"
    assert api.get(url).json() == created
    r = api.patch(url, {"is_active": False, "title": "Novo título"})
    assert r.status_code == 200
    assert (r.json()["is_active"], r.json()["title"]) == (False, "Novo título")
    assert api.delete(url).status_code == 204
    assert api.get(url).status_code == 404
    assert api.get("/api/v1/webforms").json()["items"] == []
    assert WebForm.objects.for_workspace(workspace).get().deleted_at is not None


def test_bad_input_names_each_field(api, workspace):
    r = api.post(
        "/api/v1/webforms",
        {
            **BODY,
            "name": " ",
            "fields": [
                {"name": "first_name"},
                {"name": "password"},
                {"name": "first_name", "required": True},
            ],
            "consent_wording": "",
            "redirect_url": "ftp://files.example/",
            "allowed_origins": ["https://ok.example", "https://example.com/path"],
        },
    )
    assert r.status_code == 422
    errors = errors_of(r)
    assert set(errors) == {
        "name",
        "fields.1.name",
        "fields.2.name",
        "consent_wording",
        "redirect_url",
        "allowed_origins",
    }
    assert "password" in errors["fields.1.name"]
    assert "already asks" in errors["fields.2.name"]
    assert not WebForm.objects.for_workspace(workspace).exists()


def test_a_form_must_ask_for_the_email(api):
    r = api.post("/api/v1/webforms", {**BODY, "fields": [{"name": "first_name"}]})
    assert r.status_code == 422
    assert "email" in errors_of(r)["fields"]


def test_the_email_is_always_required(api):
    body = {**BODY, "fields": [{"name": "email", "required": False}]}
    assert api.post("/api/v1/webforms", body).json()["fields"] == [
        {"name": "email", "label": "", "required": True}
    ]


def test_unknown_keys_and_null_are_refused(api, webform):
    r = api.post("/api/v1/webforms", {**BODY, "colour": "blue"})
    assert r.status_code == 422
    r = api.patch(f"/api/v1/webforms/{webform.pk}", {"title": None})
    assert r.status_code == 422


def test_the_list_pages_newest_first(api, webform_factory, django_assert_max_num_queries):
    made = [webform_factory() for _ in range(60)]
    with django_assert_max_num_queries(6):
        first = api.get("/api/v1/webforms", limit=50).json()
    assert [f["id"] for f in first["items"]] == [f.pk for f in reversed(made)][:50]
    second = api.get("/api/v1/webforms", limit=50, cursor=first["next_cursor"]).json()
    assert len(second["items"]) == 10 and second["next_cursor"] is None


def test_submissions_of_a_form(api, visitor, webform, django_assert_max_num_queries):
    for i in range(55):
        post_form(
            visitor,
            webform,
            {"first_name": f"P{i}", "email": f"p{i}@example.com", "utm_campaign": "launch"},
            REMOTE_ADDR=f"10.1.{i // 10}.{i}",
        )
    with django_assert_max_num_queries(7):
        r = api.get(f"/api/v1/webforms/{webform.pk}/submissions", limit=50)
    page = r.json()
    assert len(page["items"]) == 50 and page["next_cursor"]
    newest = page["items"][0]
    assert newest["data"]["email"] == "p54@example.com"
    assert newest["utm"] == {"utm_campaign": "launch"}
    assert newest["lead_id"] is not None and newest["form_id"] == webform.pk
    rest = api.get(f"/api/v1/webforms/{webform.pk}/submissions", cursor=page["next_cursor"]).json()
    assert len(rest["items"]) == 5


def _not_found(response) -> None:
    assert response.status_code == 404, response.content
    assert response.json()["type"].endswith("/not-found")


@pytest.mark.parametrize("suffix", ["", "/submissions"])
def test_another_workspace_gets_404(api, other_key, webform, suffix):
    for pk in (webform.pk, webform.pk + 10_000):
        _not_found(api.get(f"/api/v1/webforms/{pk}{suffix}", key=other_key))


def test_another_workspace_cannot_list_change_or_delete(api, other_key, webform):
    assert api.get("/api/v1/webforms", key=other_key).json()["items"] == []
    _not_found(api.patch(f"/api/v1/webforms/{webform.pk}", {"name": "Hacked"}, key=other_key))
    _not_found(api.delete(f"/api/v1/webforms/{webform.pk}", key=other_key))
    webform.refresh_from_db()
    assert webform.name != "Hacked" and webform.deleted_at is None


def test_roles_without_web_forms_see_nothing_and_cannot_create(
    api, workspace, make_member, webform
):
    seller = make_member("seller@acme.test", Role.SALES)
    key = apikey_create(workspace=workspace, user=seller, name="t")[1]
    assert api.get("/api/v1/webforms", key=key).json()["items"] == []
    _not_found(api.get(f"/api/v1/webforms/{webform.pk}", key=key))
    _not_found(api.get(f"/api/v1/webforms/{webform.pk}/submissions", key=key))
    assert api.post("/api/v1/webforms", BODY, key=key).status_code == 403


def test_the_detail_stays_within_its_query_budget(api, webform, django_assert_max_num_queries):
    with django_assert_max_num_queries(4):
        r = api.get(f"/api/v1/webforms/{webform.pk}")
    assert r.json()["id"] == webform.pk


@pytest.mark.parametrize(
    ("text", "origin"),
    [
        ("https://WWW.Example.com/", "https://www.example.com"),
        ("www.example.com", "https://www.example.com"),
        ("http://localhost:8080", "http://localhost:8080"),
        ("https://example.com:443", "https://example.com"),
        ("https://example.com/contact", None),
        ("https://example.com?x=1", None),
        ("ftp://example.com", None),
        ("https://a.example; script-src *", None),
        ("https://a.example 'unsafe-inline'", None),
        ("https://*.example.com", None),
        ("https://user@example.com", None),
        ("https://", None),
    ],
)
def test_sites_allowed_to_embed_are_plain_origins(text, origin):
    """They go into the page's Content-Security-Policy: nothing but an origin gets through."""
    from vinculo.marketing.services import clean_origin

    assert clean_origin(text) == origin
