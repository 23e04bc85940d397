"""Lists, details and timelines cost a fixed number of queries, however many rows they show."""

from __future__ import annotations

import datetime as dt

import pytest

from vinculo.timeline import services

from .conftest import BASE_TIME
from .test_timeline import seed_timeline

# Authentication (key, membership), the role, then the page itself.
LIST_BUDGET = 6
DETAIL_BUDGET = 5
# As a list, plus the contact or account and one query per kind.
TIMELINE_BUDGET = 9


@pytest.fixture
def populated(workspace, admin, account, contact_factory):
    """60 items of each kind, each on its own contact of `account`, all with people attached."""
    last = {}
    for i in range(60):
        person = contact_factory(account=account)
        last["interactions"] = services.interaction_create(
            workspace=workspace,
            actor=admin,
            channel="email",
            contact_id=person.id,
            account_id=account.id,
        ).id
        last["tasks"] = services.task_create(
            workspace=workspace,
            actor=admin,
            title=f"Task {i}",
            contact_id=person.id,
            account_id=account.id,
            assignee_id=admin.id,
            due_at=BASE_TIME + dt.timedelta(days=i % 28),
        ).id
        last["notes"] = services.note_create(
            workspace=workspace, actor=admin, body=f"Note {i}", contact_id=person.id
        ).id
    return last


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/interactions",
        "/api/v1/interactions?channel=email",
        "/api/v1/tasks",
        "/api/v1/tasks?mine=true&status=open&order=due",
        "/api/v1/notes",
    ],
)
def test_lists(api, populated, django_assert_max_num_queries, path):
    api.get(path)  # the key's last-use stamp is written once; measure the steady state
    with django_assert_max_num_queries(LIST_BUDGET):
        r = api.get(path + ("&" if "?" in path else "?") + "limit=50")
    assert r.status_code == 200
    assert len(r.json()["items"]) == 50
    assert all(item.get("contact") for item in r.json()["items"])


@pytest.mark.parametrize("resource", ["interactions", "tasks", "notes"])
def test_details(api, populated, django_assert_max_num_queries, resource):
    api.get(f"/api/v1/{resource}/{populated[resource]}")
    with django_assert_max_num_queries(DETAIL_BUDGET):
        r = api.get(f"/api/v1/{resource}/{populated[resource]}")
    assert r.status_code == 200
    assert r.json()["contact"] is not None


def test_contact_timeline_with_many_mixed_entries(
    api, workspace, admin, contact, django_assert_max_num_queries
):
    seed_timeline(workspace, admin, contact, 65)
    path = f"/api/v1/contacts/{contact.id}/timeline"
    api.get(path)
    with django_assert_max_num_queries(TIMELINE_BUDGET):
        r = api.get(path, limit=100)
    assert len(r.json()["items"]) == 65
    assert {item["kind"] for item in r.json()["items"]} == {"interaction", "task", "note", "event"}


def test_account_timeline_with_many_contacts(
    api, account, populated, django_assert_max_num_queries
):
    path = f"/api/v1/accounts/{account.id}/timeline"
    api.get(path)
    with django_assert_max_num_queries(TIMELINE_BUDGET):
        r = api.get(path, limit=100)
    assert len(r.json()["items"]) == 100
    with django_assert_max_num_queries(TIMELINE_BUDGET):
        r = api.get(path, limit=100, cursor=r.json()["next_cursor"])
    assert len(r.json()["items"]) == 80
