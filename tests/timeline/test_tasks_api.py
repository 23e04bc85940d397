"""Tasks through the API: lifecycle, validation, the "my tasks" list and its filters."""

from __future__ import annotations

import datetime as dt

from vinculo.core.models import Event, User
from vinculo.core.services import apikey_create
from vinculo.timeline.models import Task

from .conftest import problem_fields


def _types() -> list[str]:
    return list(
        Event.objects.filter(type__startswith="task.").order_by("id").values_list("type", flat=True)
    )


def test_task_lifecycle(api, admin, make_member, contact):
    rep = make_member("rep@acme.test")
    r = api.post(
        "/api/v1/tasks",
        {
            "title": "Send the proposal",
            "due_at": "2025-03-14T17:00:00Z",
            "reminder_at": "2025-03-14T09:00:00Z",
            "assignee_id": rep.id,
            "contact_id": contact.id,
        },
    )
    assert r.status_code == 201, r.content
    task = r.json()
    assert task["status"] == "open"
    assert task["assignee"]["email"] == "rep@acme.test"
    assert task["created_by"]["email"] == admin.email
    assert task["completed_at"] is None
    created = Event.objects.get(type="task.created")
    assert created.payload["contact_id"] == contact.id
    assert created.payload["assignee_id"] == rep.id

    r = api.post(f"/api/v1/tasks/{task['id']}/complete")
    assert r.status_code == 200
    assert r.json()["status"] == "done"
    assert r.json()["completed_at"] is not None
    # Completing twice is a no-op: no second event.
    assert api.post(f"/api/v1/tasks/{task['id']}/complete").status_code == 200
    completed = Event.objects.get(type="task.completed")
    assert completed.payload["changes"]["status"] == ["open", "done"]

    r = api.post(f"/api/v1/tasks/{task['id']}/reopen")
    assert r.json()["status"] == "open"
    assert r.json()["completed_at"] is None

    r = api.patch(f"/api/v1/tasks/{task['id']}", {"title": "Send the revised proposal"})
    assert r.status_code == 200
    assert r.json()["title"] == "Send the revised proposal"
    updated = Event.objects.get(type="task.updated")
    assert updated.payload["changes"] == {
        "title": ["Send the proposal", "Send the revised proposal"]
    }

    assert api.delete(f"/api/v1/tasks/{task['id']}").status_code == 204
    assert api.get(f"/api/v1/tasks/{task['id']}").status_code == 404
    assert api.post(f"/api/v1/tasks/{task['id']}/complete").status_code == 404
    assert api.post(f"/api/v1/tasks/{task['id']}/restore").status_code == 200
    assert api.get(f"/api/v1/tasks/{task['id']}").status_code == 200

    assert _types() == [
        "task.created",
        "task.completed",
        "task.reopened",
        "task.updated",
        "task.deleted",
        "task.restored",
    ]


def test_status_done_through_patch_completes(api):
    task = api.post("/api/v1/tasks", {"title": "Call back"}).json()
    r = api.patch(f"/api/v1/tasks/{task['id']}", {"status": "done"})
    assert r.json()["completed_at"] is not None
    assert _types() == ["task.created", "task.completed"]


def test_task_validation_reports_every_field(api, other_admin, contact):
    r = api.post(
        "/api/v1/tasks",
        {
            "title": "   ",
            "due_at": "2025-03-14T09:00:00Z",
            "reminder_at": "2025-03-14T10:00:00Z",
            # A user of another workspace is no member here.
            "assignee_id": other_admin.id,
            "account_id": 424242,
        },
    )
    assert r.status_code == 422
    assert problem_fields(r) == {
        "title": "required",
        "reminder_at": "after-due",
        "assignee_id": "not-a-member",
        "account_id": "not-found",
    }
    assert not Task.objects.exists()


def test_an_inactive_member_cannot_be_assigned(api, make_member):
    rep = make_member("gone@acme.test")
    User.objects.filter(pk=rep.pk).update(is_active=False)
    r = api.post("/api/v1/tasks", {"title": "x", "assignee_id": rep.id})
    assert problem_fields(r) == {"assignee_id": "not-a-member"}


def test_moving_the_due_date_before_the_reminder_is_refused(api):
    task = api.post(
        "/api/v1/tasks",
        {
            "title": "x",
            "due_at": "2025-03-14T17:00:00Z",
            "reminder_at": "2025-03-14T16:00:00Z",
        },
    ).json()
    r = api.patch(f"/api/v1/tasks/{task['id']}", {"due_at": "2025-03-14T15:00:00Z"})
    assert r.status_code == 422
    assert problem_fields(r) == {"reminder_at": "after-due"}


def test_a_moved_reminder_fires_again(api):
    task = api.post("/api/v1/tasks", {"title": "x", "reminder_at": "2025-03-14T16:00:00Z"}).json()
    Task.objects.filter(pk=task["id"]).update(reminded_at=dt.datetime(2025, 3, 14, tzinfo=dt.UTC))
    api.patch(f"/api/v1/tasks/{task['id']}", {"reminder_at": "2025-03-15T16:00:00Z"})
    assert Task.objects.get(pk=task["id"]).reminded_at is None


def test_my_tasks_and_filters(api, client, workspace, admin, make_member, contact):
    rep = make_member("rep@acme.test")
    rep_key = apikey_create(workspace=workspace, user=rep)[1]

    def make(title, **body):
        return api.post("/api/v1/tasks", {"title": title, **body}).json()["id"]

    mine_soon = make("rep soon", assignee_id=rep.id, due_at="2025-03-11T10:00:00Z")
    mine_late = make("rep late", assignee_id=rep.id, due_at="2025-03-20T10:00:00Z")
    mine_undated = make("rep undated", assignee_id=rep.id, contact_id=contact.id)
    admins = make("admin's", assignee_id=admin.id, due_at="2025-03-12T10:00:00Z")
    api.post(f"/api/v1/tasks/{mine_late}/complete")

    def listed(key=None, **params):
        r = api.get("/api/v1/tasks", key=key, **params)
        assert r.status_code == 200, r.content
        return [t["id"] for t in r.json()["items"]]

    assert set(listed(key=rep_key, mine="true")) == {mine_soon, mine_late, mine_undated}
    assert set(listed(assignee_id=admin.id)) == {admins}
    assert set(listed(status="done")) == {mine_late}
    assert set(listed(status="open", mine="true", key=rep_key)) == {mine_soon, mine_undated}
    assert set(listed(due_before="2025-03-12T10:00:00Z")) == {mine_soon}
    assert set(listed(due_after="2025-03-12T10:00:00Z")) == {admins, mine_late}
    assert set(listed(contact_id=contact.id)) == {mine_undated}
    # The to-do order: soonest due first, tasks without a due date left out.
    assert listed(order="due") == [mine_soon, admins, mine_late]
    # Newest first by default.
    assert listed() == [admins, mine_undated, mine_late, mine_soon]
    r = api.get("/api/v1/tasks", status="waiting")
    assert problem_fields(r) == {"status": "invalid-choice"}


def test_a_standalone_task_is_visible_to_its_assignee_only_in_own_scope(
    api, workspace, make_member, contact
):
    from vinculo.core.models import Team, TeamMember

    rep = make_member("rep@acme.test")
    other_rep = make_member("other@acme.test")
    # Sales roles see their team's records; put them in different teams.
    for user, name in ((rep, "North"), (other_rep, "South")):
        team = Team.objects.for_workspace(workspace).create(workspace=workspace, name=name)
        TeamMember.objects.for_workspace(workspace).create(
            workspace=workspace, team=team, user=user
        )
    task = api.post("/api/v1/tasks", {"title": "Prepare demo", "assignee_id": rep.id}).json()

    rep_key = apikey_create(workspace=workspace, user=rep)[1]
    other_key = apikey_create(workspace=workspace, user=other_rep)[1]
    assert api.get(f"/api/v1/tasks/{task['id']}", key=rep_key).status_code == 200
    assert api.get(f"/api/v1/tasks/{task['id']}", key=other_key).status_code == 404
    assert api.get("/api/v1/tasks", key=other_key).json()["items"] == []
