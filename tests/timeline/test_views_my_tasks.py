"""'My tasks': buckets in the viewer's time zone, filters, keyset paging, one-click completion
with undo, creating a task, access and tenancy."""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo

import pytest
from django.test import Client
from django.utils import timezone

from vinculo.core.exceptions import ValidationFailed
from vinculo.core.roles import Role
from vinculo.timeline import services
from vinculo.timeline.models import Task, TaskStatus
from vinculo.timeline.selectors import my_tasks_page, task_assignees

HTMX = {"HTTP_HX_REQUEST": "true"}
SAO_PAULO = zoneinfo.ZoneInfo("America/Sao_Paulo")
# Session (read, then saved in a savepoint), user, workspace, membership, the shell's workspace
# list, the page of tasks with their links, the rest of the list when the dated tasks run out,
# and the counts per bucket.
TASKS_BUDGET = 11


@pytest.fixture
def browser(client: Client, admin) -> Client:
    admin.language = "en"
    admin.time_zone = "America/Sao_Paulo"
    admin.save(update_fields=["language", "time_zone"])
    client.force_login(admin)
    return client


def make_task(workspace, actor, title, *, due=None, assignee=None, **links):
    return services.task_create(
        workspace=workspace,
        actor=actor,
        title=title,
        due_at=due,
        assignee_id=(assignee or actor).id,
        **links,
    )


def titles(html: str) -> list[str]:
    return [part.split("</p>")[0] for part in html.split('<p class="task-title">')[1:]]


def headings(html: str) -> list[str]:
    return [part.split("</h2>")[0].strip() for part in html.split('<li class="tasks-bucket')[1:]]


# ---------------------------------------------------------------------------------------------
# The selector: buckets and paging


def test_buckets_follow_the_viewers_day(workspace, admin):
    # 01:30 UTC on 10 March is still 9 March, 22:30, in São Paulo.
    now = dt.datetime(2025, 3, 10, 1, 30, tzinfo=dt.UTC)
    due = {
        "yesterday": dt.datetime(2025, 3, 8, 12, 0, tzinfo=SAO_PAULO),
        "earlier today": dt.datetime(2025, 3, 9, 8, 0, tzinfo=SAO_PAULO),
        "tonight": dt.datetime(2025, 3, 9, 23, 59, tzinfo=SAO_PAULO),
        "tomorrow": dt.datetime(2025, 3, 10, 0, 0, tzinfo=SAO_PAULO),
    }
    for title, at in due.items():
        make_task(workspace, admin, title, due=at)
    make_task(workspace, admin, "someday")

    page = my_tasks_page(workspace=workspace, viewer=admin, zone=SAO_PAULO, now=now)

    assert [(r.task.title, r.bucket) for r in page.rows] == [
        ("yesterday", "overdue"),
        ("earlier today", "today"),
        ("tonight", "today"),
        ("tomorrow", "upcoming"),
        ("someday", "none"),
    ]
    assert page.counts == {"overdue": 1, "today": 2, "upcoming": 1, "none": 1}
    # The same tasks seen from UTC, where it is already 10 March.
    utc = my_tasks_page(workspace=workspace, viewer=admin, zone=dt.UTC, now=now)
    assert [r.bucket for r in utc.rows] == ["overdue", "overdue", "today", "today", "none"]


def read_pages(workspace, viewer, **kwargs) -> tuple[list[str], list[int]]:
    seen: list[str] = []
    sizes: list[int] = []
    after = None
    while True:
        page = my_tasks_page(workspace=workspace, viewer=viewer, after=after, limit=20, **kwargs)
        seen += [r.task.title for r in page.rows]
        sizes.append(len(page.rows))
        if page.next_cursor is None:
            return seen, sizes
        after = page.next_cursor


@pytest.mark.parametrize(("dated", "undated"), [(45, 7), (40, 5), (0, 25), (20, 0)])
def test_pages_cover_dated_then_undated_tasks_once(workspace, admin, dated, undated):
    start = dt.datetime(2025, 1, 1, 9, 0, tzinfo=dt.UTC)
    for i in range(dated):
        make_task(workspace, admin, f"d{i:02}", due=start + dt.timedelta(hours=i // 2))
    for i in range(undated):
        make_task(workspace, admin, f"u{i:02}")

    seen, sizes = read_pages(workspace, admin)

    expected_dated = sorted((f"d{i:02}" for i in range(dated)), key=lambda t: (int(t[1:]) // 2, t))
    assert seen == expected_dated + [f"u{i:02}" for i in reversed(range(undated))]
    assert all(size == 20 for size in sizes[:-1])
    assert sizes[-1] > 0 or sizes == [0]


def test_done_tasks_latest_due_first(workspace, admin):
    start = dt.datetime(2025, 1, 1, 9, 0, tzinfo=dt.UTC)
    for i in range(3):
        task = make_task(workspace, admin, f"t{i}", due=start + dt.timedelta(days=i))
        services.task_complete(workspace=workspace, actor=admin, task_id=task.id)
    make_task(workspace, admin, "still open", due=start)

    page = my_tasks_page(workspace=workspace, viewer=admin, status="done")

    assert [(r.task.title, r.bucket) for r in page.rows] == [
        ("t2", "done"),
        ("t1", "done"),
        ("t0", "done"),
    ]
    assert page.counts is None


@pytest.mark.parametrize("cursor", ["x.abc", "d", "u.not-base64!", "d.WzFd"])
def test_hand_edited_cursors_are_refused(workspace, admin, cursor):
    make_task(workspace, admin, "one")
    with pytest.raises(ValidationFailed):
        my_tasks_page(workspace=workspace, viewer=admin, after=cursor)


def test_everyone_is_for_admins_and_managers(workspace, admin, make_member):
    seller = make_member("seller@acme.test", Role.SALES)
    manager = make_member("boss@acme.test", Role.MANAGER)
    make_task(workspace, admin, "admin task")
    make_task(workspace, seller, "seller task")

    def seen(viewer):
        page = my_tasks_page(workspace=workspace, viewer=viewer, everyone=True)
        return sorted(r.task.title for r in page.rows), page.can_see_everyone

    assert seen(manager) == (["admin task", "seller task"], True)
    assert seen(seller) == (["seller task"], False)


def test_assignees_are_active_members_by_name(workspace, admin, make_member):
    zoe = make_member("zoe@acme.test")
    zoe.full_name = "Zoe"
    zoe.save()
    gone = make_member("gone@acme.test")
    gone.is_active = False
    gone.save()
    assert [u.email for u in task_assignees(workspace=workspace)] == [
        "admin@acme.test",
        "zoe@acme.test",
    ]


# ---------------------------------------------------------------------------------------------
# The page


def test_page_groups_tasks_and_links_their_records(
    browser, workspace, admin, contact, account, make_member
):
    now = timezone.now()
    make_task(workspace, admin, "Late one", due=now - dt.timedelta(days=3), contact_id=contact.id)
    make_task(workspace, admin, "Later one", due=now + dt.timedelta(days=3), account_id=account.id)
    make_task(workspace, admin, "Whenever")
    other = make_member("other@acme.test")
    make_task(workspace, admin, "Not mine", assignee=other)

    r = browser.get("/tasks/")

    assert r.status_code == 200
    html = r.content.decode()
    assert titles(html) == ["Late one", "Later one", "Whenever"]
    assert headings(html) == [
        'bucket-overdue"><h2>Overdue',
        'bucket-upcoming"><h2>Upcoming',
        'bucket-none"><h2>No due date',
    ]
    # Record pages may not exist yet: the link falls back to the record's timeline.
    assert f'href="/records/contact/{contact.id}/timeline"' in html or (
        f'href="/contacts/{contact.id}/"' in html
    )
    assert "Souza Comércio" in html
    assert "is-late" in html


def test_page_has_an_empty_state_with_the_next_action(browser):
    html = browser.get("/tasks/").content.decode()
    assert "You are all caught up" in html
    assert 'hx-get="/tasks/new"' in html
    assert "tasks-summary" not in html


def test_filters_status_and_assignee(browser, workspace, admin, make_member):
    seller = make_member("seller@acme.test")
    done = make_task(workspace, admin, "Finished")
    services.task_complete(workspace=workspace, actor=admin, task_id=done.id)
    make_task(workspace, admin, "Open one")
    make_task(workspace, admin, "Seller task", assignee=seller)

    assert titles(browser.get("/tasks/?status=done").content.decode()) == ["Finished"]
    everyone = browser.get("/tasks/?assignee=anyone", **HTMX).content.decode()
    assert sorted(titles(everyone)) == ["Open one", "Seller task"]
    assert "<html" not in everyone


def test_sellers_cannot_list_everyones_tasks(client, workspace, admin, make_member):
    seller = make_member("seller@acme.test")
    client.force_login(seller)
    make_task(workspace, admin, "Admin's secret")
    html = client.get("/tasks/?assignee=anyone").content.decode()
    assert "Admin's secret" not in html
    assert 'name="assignee"' not in html


def test_load_more_continues_under_the_same_heading(browser, workspace, admin):
    start = timezone.now() + dt.timedelta(days=2)
    for i in range(55):
        make_task(workspace, admin, f"t{i:02}", due=start + dt.timedelta(minutes=i))

    first = browser.get("/tasks/").content.decode()
    assert len(titles(first)) == 50
    more = first.split('class="tasks-more"')[1].split('hx-get="')[1].split('"')[0]

    rest = browser.get(more.replace("&amp;", "&"), **HTMX).content.decode()

    assert titles(rest) == [f"t{i:02}" for i in range(50, 55)]
    assert headings(rest) == [], "the upcoming heading is not repeated"
    assert "tasks-more" not in rest


def test_bad_cursor_is_a_bad_request(browser):
    assert browser.get("/tasks/?after=zz.top", **HTMX).status_code == 400


def test_page_queries_do_not_grow(
    browser, workspace, admin, contact_factory, account, django_assert_max_num_queries
):
    start = timezone.now() - dt.timedelta(days=5)
    for i in range(45):
        person = contact_factory(account=account)
        make_task(
            workspace,
            admin,
            f"t{i}",
            due=start + dt.timedelta(hours=i * 5),
            contact_id=person.id,
            account_id=account.id,
        )
    for i in range(10):
        make_task(workspace, admin, f"undated {i}")
    browser.get("/tasks/")
    with django_assert_max_num_queries(TASKS_BUDGET):
        r = browser.get("/tasks/")
    assert len(titles(r.content.decode())) == 50


def test_logged_out_visitors_are_sent_to_log_in(client):
    r = client.get("/tasks/")
    assert r.status_code == 302 and "/accounts/login/" in r["Location"]


# ---------------------------------------------------------------------------------------------
# One click, and undo


def test_complete_in_one_click_then_undo(browser, workspace, admin):
    task = make_task(workspace, admin, "Call Ana", due=timezone.now() + dt.timedelta(hours=1))

    r = browser.post(f"/tasks/{task.id}/complete", {"as": "row"}, **HTMX)

    html = r.content.decode()
    assert r.status_code == 200
    assert html.strip().startswith(
        f'<li class="task-row bucket-done is-done is-changed" id="task-{task.id}"'
    )
    assert "Task completed." in html and "Undo" in html
    assert json.loads(r["HX-Trigger"]) == {"task-changed": {"task": task.id, "status": "done"}}
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE

    r = browser.post(f"/tasks/{task.id}/reopen", {"as": "row"}, **HTMX)

    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN and task.completed_at is None
    assert "Task reopened." in r.content.decode()
    assert f'hx-post="/tasks/{task.id}/complete"' in r.content.decode()


def test_completion_without_htmx_goes_back(browser, workspace, admin):
    task = make_task(workspace, admin, "Plain")
    r = browser.post(f"/tasks/{task.id}/complete", {"next": "https://evil.test/"})
    assert r.status_code == 302 and r["Location"] == "/tasks/"


def test_other_workspaces_task_cannot_be_completed(browser, other_workspace, other_admin):
    foreign = make_task(other_workspace, other_admin, "Theirs")
    assert browser.post(f"/tasks/{foreign.id}/complete", **HTMX).status_code == 404
    assert browser.post(f"/tasks/{foreign.id}/reopen", **HTMX).status_code == 404
    foreign.refresh_from_db()
    assert foreign.status == TaskStatus.OPEN


def test_read_only_members_cannot_complete(client, workspace, admin, make_member):
    reader = make_member("reader@acme.test", Role.READ_ONLY)
    task = make_task(workspace, admin, "Assigned to the reader", assignee=reader)
    client.force_login(reader)
    assert client.post(f"/tasks/{task.id}/complete", **HTMX).status_code == 403
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN


# ---------------------------------------------------------------------------------------------
# Creating a task


def test_create_a_task_assigned_to_me(browser, workspace, admin):
    form = browser.get("/tasks/new", **HTMX)
    assert form.status_code == 200 and "<form" in form.content.decode()
    assert f'<option value="{admin.id}" selected>' in form.content.decode()

    r = browser.post(
        "/tasks/new",
        {
            "title": "Prepare the QBR",
            "due_at": "2025-03-14T17:00",
            "reminder": "1440",
            "assignee": admin.id,
        },
        **HTMX,
    )

    assert r.status_code == 200
    assert "Prepare the QBR" in r.content.decode()
    task = Task.objects.for_workspace(workspace).get()
    assert json.loads(r["HX-Trigger"]) == {"tasks-changed": {"task": task.id}}
    assert task.assignee_id == admin.id and task.created_by_id == admin.id
    assert task.due_at == dt.datetime(2025, 3, 14, 20, 0, tzinfo=dt.UTC)
    assert task.reminder_at == dt.datetime(2025, 3, 13, 20, 0, tzinfo=dt.UTC)


def test_create_task_errors_are_422_and_write_nothing(browser, workspace):
    r = browser.post("/tasks/new", {"title": " ", "due_at": "soon", "assignee": "999999"}, **HTMX)
    html = r.content.decode()
    assert r.status_code == 422
    assert html.count('class="field has-error') == 3
    assert not Task.objects.for_workspace(workspace).exists()


def test_create_task_without_htmx_redirects_to_the_list(browser, workspace):
    r = browser.post("/tasks/new", {"title": "Plain form"})
    assert r.status_code == 302 and r["Location"] == "/tasks/"
    assert browser.get("/tasks/new").status_code == 200
