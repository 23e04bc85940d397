"""Settings: API keys, shown once, listed without secrets, revoked at once."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from vinculo.core.models import ApiKey, Event, User
from vinculo.core.roles import Role
from vinculo.core.services import apikey_create, apikey_issue

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def rep(make_member) -> User:
    return make_member("rep@acme.test", Role.SALES)


@pytest.fixture
def rep_client(client: Client, rep: User) -> Client:
    client.force_login(rep)
    return client


def _new_key(html: str) -> str:
    match = re.search(r'id="new-api-key"[^>]*value="([^"]+)"', html)
    return match.group(1) if match else ""


def test_any_member_creates_a_key_and_sees_it_exactly_once(rep_client, workspace, rep):
    r = rep_client.post(reverse("settings:api_key_new"), {"name": "Laptop"}, **HTMX)
    assert r.status_code == 200
    assert "no-store" in r["Cache-Control"]
    raw = _new_key(r.content.decode())
    assert raw.startswith("vk_")
    assert 'data-copy="new-api-key"' in r.content.decode()
    key = ApiKey.objects.for_workspace(workspace).get()
    assert (key.user_id, key.name) == (rep.pk, "Laptop")
    assert raw.rsplit("_", 1)[-1] not in key.secret_hash
    # The key works against the API, and no later page repeats it.
    api = Client()
    assert api.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200
    again = rep_client.get(reverse("settings:api_keys")).content.decode()
    assert raw not in again
    assert f"vk_{key.prefix}_" in again
    assert Event.objects.for_workspace(workspace).filter(type="api_key.created").count() == 1


def test_a_plain_post_also_shows_the_key_without_redirecting(rep_client, workspace):
    r = rep_client.post(reverse("settings:api_key_new"), {"name": ""})
    assert r.status_code == 200
    assert _new_key(r.content.decode())
    assert "<html" in r.content.decode()


def test_a_too_long_name_is_refused_and_nothing_is_created(rep_client, workspace):
    r = rep_client.post(reverse("settings:api_key_new"), {"name": "x" * 101}, **HTMX)
    assert r.status_code == 422
    assert 'id="id_name_error"' in r.content.decode()
    assert not _new_key(r.content.decode())
    assert not ApiKey.objects.for_workspace(workspace).exists()


def test_a_member_revokes_their_key_and_it_stops_working(rep_client, workspace, rep):
    key, raw = apikey_issue(workspace=workspace, actor=rep, name="Old")
    r = rep_client.post(reverse("settings:api_key_revoke", args=[key.pk]), **HTMX)
    assert r.status_code == 200
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401
    assert "api_key.revoked" in Event.objects.for_workspace(workspace).values_list(
        "type", flat=True
    )


def test_members_see_and_revoke_only_their_own_keys(rep_client, workspace, admin):
    theirs, _ = apikey_issue(workspace=workspace, actor=admin, name="Admin's")
    html = rep_client.get(reverse("settings:api_keys")).content.decode()
    assert "Admin&#x27;s" not in html and "Admin's" not in html
    r = rep_client.post(reverse("settings:api_key_revoke", args=[theirs.pk]), **HTMX)
    assert r.status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None


def test_admins_see_and_revoke_everyones_keys(client, workspace, admin, rep):
    key, _ = apikey_issue(workspace=workspace, actor=rep, name="Rep laptop")
    client.force_login(admin)
    html = client.get(reverse("settings:api_keys")).content.decode()
    assert "Rep laptop" in html
    assert rep.display_name in html
    assert client.post(reverse("settings:api_key_revoke", args=[key.pk]), **HTMX).status_code == 200
    key.refresh_from_db()
    assert key.revoked_at is not None


def test_another_workspaces_key_answers_404(client, admin, other_workspace, other_admin):
    foreign, _ = apikey_create(workspace=other_workspace, user=other_admin, name="Theirs")
    client.force_login(admin)
    r = client.post(reverse("settings:api_key_revoke", args=[foreign.pk]), **HTMX)
    assert r.status_code == 404
    foreign.refresh_from_db()
    assert foreign.revoked_at is None


def test_api_key_list_queries_do_not_grow(
    client, workspace, admin, make_member, django_assert_max_num_queries
):
    for i in range(10):
        member = make_member(f"k{i}@acme.test", Role.SALES)
        for j in range(3):
            apikey_issue(workspace=workspace, actor=member, name=f"key {i}.{j}")
    client.force_login(admin)
    with django_assert_max_num_queries(11):
        r = client.get(reverse("settings:api_keys"))
    assert r.content.decode().count('id="key-') == 30


def test_last_used_is_shown_in_the_users_time_zone(client, workspace, rep):
    from datetime import UTC, datetime

    key, _ = apikey_issue(workspace=workspace, actor=rep, name="Tz")
    ApiKey.objects.for_workspace(workspace).filter(pk=key.pk).update(
        created_at=datetime(2026, 3, 1, 2, 30, tzinfo=UTC),
        last_used_at=datetime(2026, 3, 1, 2, 30, tzinfo=UTC),
    )
    rep.time_zone = "America/Sao_Paulo"
    rep.language = "pt-br"
    rep.save()
    client.force_login(rep)
    html = client.get(reverse("settings:api_keys")).content.decode()
    # 02:30 UTC is 23:30 of the day before in São Paulo, written the Brazilian way.
    assert "28/02/2026 23:30" in html
