"""Task reminders become notifications exactly once; a moved reminder fires again."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from vinculo.collab.models import Notification
from vinculo.core.models import Membership, PeriodicRun
from vinculo.core.periodic import registered_jobs, run_due_jobs
from vinculo.timeline import services
from vinculo.timeline.models import Task
from vinculo.timeline.periodic import send_task_reminders


def remind(workspace, actor, title="Call Ana back", *, minutes_ago=5, **fields):
    now = timezone.now()
    fields.setdefault("due_at", now + dt.timedelta(hours=1))
    fields.setdefault("reminder_at", now - dt.timedelta(minutes=minutes_ago))
    fields.setdefault("assignee_id", actor.id)
    return services.task_create(workspace=workspace, actor=actor, title=title, **fields)


def notes_for(user) -> list[Notification]:
    return list(Notification.all_tenants.filter(user=user).order_by("id"))


def test_the_job_is_registered_every_minute():
    job = next(j for j in registered_jobs() if j.name == "timeline.task_reminders")
    assert job.every == dt.timedelta(minutes=1)
    assert job.func is send_task_reminders


def test_a_due_reminder_notifies_the_assignee_once(workspace, admin):
    task = remind(workspace, admin, description="Ask about the renewal")

    assert send_task_reminders() == 1
    assert send_task_reminders() == 0

    [note] = notes_for(admin)
    assert (note.kind, note.title, note.body) == (
        "task.reminder",
        "Call Ana back",
        "Ask about the renewal",
    )
    assert note.workspace_id == workspace.id
    assert note.url == f"/tasks/#task-{task.id}"
    assert note.read_at is None
    task.refresh_from_db()
    assert task.reminded_at is not None


def test_run_by_the_workers_housekeeping(workspace, admin):
    remind(workspace, admin)
    PeriodicRun.objects.filter(name="timeline.task_reminders").delete()
    assert "timeline.task_reminders" in run_due_jobs()
    assert len(notes_for(admin)) == 1
    assert "timeline.task_reminders" not in run_due_jobs(), "once per minute"


def test_only_open_live_tasks_whose_time_has_come(workspace, admin):
    remind(workspace, admin, "future", minutes_ago=-10)
    done = remind(workspace, admin, "done")
    services.task_complete(workspace=workspace, actor=admin, task_id=done.id)
    gone = remind(workspace, admin, "deleted")
    services.task_delete(workspace=workspace, actor=admin, task_id=gone.id)
    services.task_create(workspace=workspace, actor=admin, title="no reminder")

    assert send_task_reminders() == 0
    assert notes_for(admin) == []


def test_a_rescheduled_reminder_fires_again(workspace, admin):
    task = remind(workspace, admin)
    send_task_reminders()
    services.task_update(
        workspace=workspace,
        actor=admin,
        task_id=task.id,
        data={"reminder_at": timezone.now() - dt.timedelta(minutes=1)},
    )

    assert send_task_reminders() == 1
    assert send_task_reminders() == 0
    assert len(notes_for(admin)) == 2


def test_an_unchanged_reminder_is_not_rearmed_by_other_edits(workspace, admin):
    task = remind(workspace, admin)
    send_task_reminders()
    services.task_update(
        workspace=workspace, actor=admin, task_id=task.id, data={"title": "Call Ana back soon"}
    )
    assert send_task_reminders() == 0


def test_a_reopened_task_whose_reminder_already_fired_stays_quiet(workspace, admin):
    task = remind(workspace, admin)
    send_task_reminders()
    services.task_complete(workspace=workspace, actor=admin, task_id=task.id)
    services.task_reopen(workspace=workspace, actor=admin, task_id=task.id)
    assert send_task_reminders() == 0


def test_unassigned_tasks_remind_their_creator_on_the_record(workspace, admin, contact):
    task = remind(workspace, admin, assignee_id=None, contact_id=contact.id)

    send_task_reminders()

    [note] = notes_for(admin)
    # The record page once it exists, its timeline until then.
    assert note.url in (f"/contacts/{contact.id}/", f"/records/contact/{contact.id}/timeline")
    assert task.assignee_id is None


def test_someone_who_left_is_not_notified_and_the_task_is_not_retried(
    workspace, admin, make_member
):
    leaver = make_member("leaver@acme.test")
    task = remind(workspace, admin, assignee_id=leaver.id)
    Membership.objects.for_workspace(workspace).filter(user=leaver).update(is_active=False)

    assert send_task_reminders() == 0

    assert notes_for(leaver) == []
    task.refresh_from_db()
    assert task.reminded_at is not None


def test_each_workspace_gets_its_own(workspace, admin, other_workspace, other_admin):
    remind(workspace, admin, "ours")
    remind(other_workspace, other_admin, "theirs")

    assert send_task_reminders() == 2

    assert [(n.workspace_id, n.title) for n in notes_for(admin)] == [(workspace.id, "ours")]
    assert [(n.workspace_id, n.title) for n in notes_for(other_admin)] == [
        (other_workspace.id, "theirs")
    ]


def test_many_reminders_in_batches(workspace, admin):
    for i in range(7):
        remind(workspace, admin, f"t{i}", minutes_ago=10 - i)
    assert services.task_reminders_send(batch=3) == 7
    assert [n.title for n in notes_for(admin)] == [f"t{i}" for i in range(7)]


def test_a_task_claimed_by_another_worker_is_not_sent_twice(workspace, admin, monkeypatch):
    task = remind(workspace, admin)
    real_filter = Task.all_tenants.filter

    def racing_filter(*args, **kwargs):
        # Another worker claims the task between this run's read and its claim.
        if "pk" in kwargs and kwargs.get("reminded_at__isnull"):
            Task.all_tenants.filter(pk=task.pk).update(reminded_at=timezone.now())
        return real_filter(*args, **kwargs)

    monkeypatch.setattr(Task.all_tenants, "filter", racing_filter)
    assert services.task_reminders_send() == 0
    assert notes_for(admin) == []


@pytest.mark.parametrize("minutes_ago", [0, 60 * 24 * 3])
def test_a_reminder_just_due_or_late_is_sent(workspace, admin, minutes_ago):
    remind(workspace, admin, minutes_ago=minutes_ago, due_at=None)
    assert send_task_reminders() == 1
