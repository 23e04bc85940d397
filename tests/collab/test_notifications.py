"""Notifications: the services and selectors, the bell (count and dropdown), the page, and that
each user sees only their own."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from vinculo.collab.models import Notification
from vinculo.collab.selectors import (
    UNREAD_COUNT_CAP,
    notification_latest,
    notification_list,
    notification_unread_count,
)
from vinculo.collab.services import (
    notification_create,
    notification_mark_all_read,
    notification_mark_read,
)
from vinculo.core.exceptions import NotFound, ValidationFailed

HTMX = {"HTTP_HX_REQUEST": "true"}
# Session (read, then saved in a savepoint), user, workspace, membership, and the list itself.
MENU_BUDGET = 7


# ---------------------------------------------------------------------------------------------
# Services and selectors


def test_create_keeps_the_subjects_words_and_refuses_outside_links(workspace, admin):
    made = notification_create(
        workspace=workspace,
        actor=None,
        user=admin,
        kind="task.reminder",
        title="  Call   Ana\nback ",
        url="/tasks/#task-1",
    )
    assert (made.title, made.url, made.read_at) == ("Call Ana back", "/tasks/#task-1", None)

    for url in ("https://evil.test/", "//evil.test/x", "javascript:alert(1)", "/\\evil.test"):
        with pytest.raises(ValidationFailed) as caught:
            notification_create(
                workspace=workspace,
                actor=None,
                user=admin,
                kind="task.reminder",
                title="x",
                url=url,
            )
        assert [e.field for e in caught.value.errors] == ["url"]
    with pytest.raises(ValidationFailed) as caught:
        notification_create(workspace=workspace, actor=None, user=admin, kind="nope", title=" ")
    assert sorted(e.field for e in caught.value.errors) == ["kind", "title"]


def test_a_long_title_is_shortened_not_refused(workspace, admin):
    made = notification_create(
        workspace=workspace, actor=None, user=admin, kind="task.reminder", title="x" * 500
    )
    assert len(made.title) == 300 and made.title.endswith("…")


def test_unread_count_latest_and_mark_read(workspace, admin, make_member, notify):
    other = make_member("other@acme.test")
    mine = [notify(admin, f"n{i}") for i in range(3)]
    notify(other, "not mine")

    assert notification_unread_count(workspace=workspace, viewer=admin) == 3
    assert [n.title for n in notification_latest(workspace=workspace, viewer=admin)] == [
        "n2",
        "n1",
        "n0",
    ]
    notification_mark_read(workspace=workspace, actor=admin, notification_id=mine[0].id)
    notification_mark_read(workspace=workspace, actor=admin, notification_id=mine[0].id)
    assert notification_unread_count(workspace=workspace, viewer=admin) == 2
    assert notification_mark_all_read(workspace=workspace, actor=admin) == 2
    assert notification_unread_count(workspace=workspace, viewer=admin) == 0
    assert notification_unread_count(workspace=workspace, viewer=other) == 1


def test_nobody_marks_someone_elses_notification(
    workspace, admin, make_member, other_workspace, other_admin, notify
):
    other = make_member("other@acme.test")
    theirs = notify(other)
    foreign = notify(other_admin, ws=other_workspace)
    for notification_id in (theirs.id, foreign.id):
        with pytest.raises(NotFound):
            notification_mark_read(
                workspace=workspace, actor=admin, notification_id=notification_id
            )
    assert Notification.all_tenants.filter(read_at__isnull=False).count() == 0


def test_unread_count_stops_at_the_cap(workspace, admin, notify):
    for _ in range(UNREAD_COUNT_CAP + 3):
        notify(admin)
    assert notification_unread_count(workspace=workspace, viewer=admin) == UNREAD_COUNT_CAP + 1


def test_list_pages_cover_everything_once(workspace, admin, notify):
    made = [notify(admin).id for _ in range(25)]
    seen: list[int] = []
    after = None
    while True:
        page = notification_list(workspace=workspace, viewer=admin, after=after, limit=10)
        seen += [n.id for n in page.items]
        after = page.next_cursor
        if after is None:
            break
    assert seen == list(reversed(made))


# ---------------------------------------------------------------------------------------------
# The bell


def test_every_app_page_carries_the_bell(browser):
    html = browser.get("/").content.decode()
    assert 'hx-get="/notifications/count"' in html
    assert 'hx-get="/notifications/menu"' in html


def test_count_shows_the_unread_number(browser, admin, notify):
    assert browser.get("/notifications/count", **HTMX).content.decode().strip() == ""
    notify(admin)
    notify(admin)
    html = browser.get("/notifications/count", **HTMX).content.decode()
    assert '<span class="notif-badge" aria-hidden="true">2</span>' in html
    assert "2 unread" in html


def test_count_beyond_the_cap(browser, admin, notify):
    for _ in range(UNREAD_COUNT_CAP + 1):
        notify(admin)
    assert ">99+<" in browser.get("/notifications/count", **HTMX).content.decode()


def test_count_stops_polling_once_logged_out(client):
    r = client.get("/notifications/count", **HTMX)
    assert r.status_code == 286 and r.content == b""


def test_menu_lists_the_latest_with_links(browser, admin, make_member, notify):
    other = make_member("other@acme.test")
    first = notify(admin, "Call Ana back")
    notify(other, "Someone else's")

    r = browser.get("/notifications/menu", **HTMX)

    html = r.content.decode()
    assert r.status_code == 200
    assert "Call Ana back" in html and "Someone else" not in html
    assert f'href="/notifications/{first.id}/open"' in html
    assert "Mark all as read" in html
    assert "Task reminder" in html and "is-unread" in html


def test_menu_when_there_is_nothing(browser):
    html = browser.get("/notifications/menu", **HTMX).content.decode()
    assert "No notifications yet" in html and "Mark all as read" not in html


def test_menu_queries_do_not_grow(browser, admin, notify, django_assert_max_num_queries):
    for _ in range(20):
        notify(admin)
    browser.get("/notifications/menu", **HTMX)
    with django_assert_max_num_queries(MENU_BUDGET):
        assert browser.get("/notifications/menu", **HTMX).status_code == 200
    with django_assert_max_num_queries(MENU_BUDGET):
        assert browser.get("/notifications/count", **HTMX).status_code == 200


def test_opening_marks_read_and_follows_the_link(browser, admin, notify):
    notification = notify(admin, url="/tasks/#task-7")

    r = browser.get(f"/notifications/{notification.id}/open")

    assert r.status_code == 302 and r["Location"] == "/tasks/#task-7"
    notification.refresh_from_db()
    assert notification.read_at is not None


def test_a_notification_without_link_opens_the_list(browser, admin, notify):
    r = browser.get(f"/notifications/{notify(admin).id}/open")
    assert r["Location"] == "/notifications/"


def test_others_notifications_are_not_found(
    browser, make_member, other_workspace, other_admin, notify
):
    theirs = notify(make_member("other@acme.test"))
    foreign = notify(other_admin, ws=other_workspace)
    for notification in (theirs, foreign):
        assert browser.get(f"/notifications/{notification.id}/open").status_code == 404
        notification.refresh_from_db()
        assert notification.read_at is None


def test_mark_all_read_refreshes_the_bell(browser, workspace, admin, notify):
    notify(admin)
    r = browser.post("/notifications/read-all", **HTMX)
    assert r.status_code == 204
    assert json.loads(r["HX-Trigger"]) == {"notifications-changed": True}
    assert notification_unread_count(workspace=workspace, viewer=admin) == 0
    assert browser.get("/notifications/read-all").status_code == 405
    assert browser.post("/notifications/read-all")["Location"] == "/notifications/"


# ---------------------------------------------------------------------------------------------
# The page


def test_page_lists_and_pages(browser, admin, notify, django_assert_max_num_queries):
    for i in range(35):
        notify(admin, f"Reminder number {i}")

    browser.get("/notifications/")
    # A whole page adds the shell: the workspace switcher and the role for the sidebar.
    with django_assert_max_num_queries(MENU_BUDGET + 2):
        r = browser.get("/notifications/")

    html = r.content.decode()
    assert html.count('class="notif-item') == 30
    more = html.split('class="notif-more"')[1].split('hx-get="')[1].split('"')[0]
    rest = browser.get(more, **HTMX).content.decode()
    assert rest.count('class="notif-item') == 5 and "notif-more" not in rest
    assert "Reminder number 0" in rest


def test_page_empty_state(browser):
    html = browser.get("/notifications/").content.decode()
    assert "No notifications yet" in html and 'href="/tasks/"' in html


def test_page_bad_cursor(browser):
    assert browser.get("/notifications/?after=%%%", **HTMX).status_code == 400


def test_pages_need_a_login(client: Client):
    for path in ("/notifications/", "/notifications/menu", "/notifications/1/open"):
        r = client.get(path)
        assert r.status_code == 302 and "/accounts/login/" in r["Location"], path
