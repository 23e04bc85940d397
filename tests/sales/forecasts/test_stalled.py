"""Stalled deals: no activity for N days, or K × the stage's median in the stage; the list, the
`is_stalled` check the deal pages use, the weekly alerts to owners, the API and the page."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import cache

from vinculo.collab.models import Notification
from vinculo.core.models import Membership
from vinculo.core.periodic import registered_jobs
from vinculo.core.roles import Role
from vinculo.sales.common import sales_settings_for
from vinculo.sales.forecasts.periodic import notify_stalled_deals
from vinculo.sales.forecasts.selectors import (
    INACTIVE,
    SLOW_STAGE,
    StalledFilters,
    _medians_key,
    is_stalled,
    stage_median_days,
    stalled_checker,
    stalled_count,
    stalled_deals,
)
from vinculo.sales.forecasts.services import stalled_deals_notify

from .conftest import HTMX, at

NOW = at("2025-03-31")


@pytest.fixture
def deals(book, ana, bruno, their_book):
    """Settings: 14 days without activity, or 2 × the median in the stage. New's median is 4
    days (five past stays of 2 to 6 days); Qualified has too few stays for a median."""
    b = book
    for days in (2, 3, 4, 5, 6):
        past = b.deal(status="won", closed_at=at("2025-01-20"))
        b.path(past, (b.new, at("2025-01-01")), (b.won, at("2025-01-01") + dt.timedelta(days)))
    for _ in range(3):
        past = b.deal(status="won", closed_at=at("2025-01-20"))
        b.path(past, (b.qualified, at("2025-01-01")), (b.won, at("2025-01-02")))

    def open_deal(name, stage, entered, activity, owner=None, **fields):
        fields.setdefault("updated_at", at(entered))
        return b.deal(
            1000,
            name=name,
            stage=stage,
            stage_entered_at=at(entered),
            last_activity_at=at(activity) if activity else None,
            owner=owner,
            **fields,
        )

    made = {
        # 21 days without activity, in Qualified (no median there). Moving a deal is activity
        # too, so it entered the stage before its last activity.
        "quiet": open_deal("Quiet", b.qualified, "2025-03-01", "2025-03-10", ana),
        # Active two days ago, but 11 days in New.
        "slow": open_deal("Slow", b.new, "2025-03-20", "2025-03-29", bruno),
        # Never any activity: its last change (March 5th) counts. Both reasons.
        "both": open_deal("Both", b.new, "2025-03-01", None, ana, updated_at=at("2025-03-05")),
        "fresh": open_deal("Fresh", b.new, "2025-03-28", "2025-03-30"),
        # No activity and an old change, but it entered Qualified 6 days ago.
        "moved": open_deal(
            "Moved", b.qualified, "2025-03-25", None, ana, updated_at=at("2025-03-01")
        ),
        # Three months in Qualified, whose median is unknown: only activity counts there.
        "long": open_deal("Long", b.qualified, "2025-01-01", "2025-03-30", ana),
        "won": b.deal(
            1000, status="won", closed_at=at("2025-01-01"), last_activity_at=at("2025-01-01")
        ),
        "deleted": open_deal(
            "Deleted", b.new, "2025-01-01", "2025-01-01", ana, deleted_at=at("2025-02-01")
        ),
    }
    their_book.deal(
        5, name="Theirs", stage_entered_at=at("2025-01-01"), last_activity_at=at("2025-01-01")
    )
    return made


def names(page) -> list[str]:
    return [d.name for d in page.items]


def test_the_workspace_settings_hold_the_thresholds(workspace, book):
    settings = sales_settings_for(workspace)
    assert (settings.stalled_after_days, settings.stalled_stage_factor) == (14, 2)


def test_stage_medians_need_enough_stays(workspace, book, deals):
    medians = stage_median_days(workspace, now=NOW)
    assert medians == {book.new.pk: 4.0}


def test_stalled_deals_longest_silent_first(workspace, admin, deals):
    page = stalled_deals(workspace=workspace, viewer=admin, now=NOW)
    assert names(page) == ["Both", "Quiet", "Slow"]
    both, quiet, slow = page.items
    assert both.stalled.reasons == (INACTIVE, SLOW_STAGE)
    assert (both.stalled.last_activity_at, both.stalled.days_inactive) == (at("2025-03-05"), 26)
    assert (both.stalled.days_in_stage, both.stalled.stage_median_days) == (30, 4.0)
    assert quiet.stalled.reasons == (INACTIVE,)
    assert slow.stalled.reasons == (SLOW_STAGE,)
    assert slow.stalled.days_in_stage == 11


def test_is_stalled_agrees_with_the_list(workspace, deals):
    check = stalled_checker(workspace, now=NOW)
    stalled = {
        name for name, deal in deals.items() if is_stalled(deal, workspace=workspace, check=check)
    }
    assert stalled == {"quiet", "slow", "both"}
    assert check.reasons(deals["fresh"]) == ()


def test_stalled_filters(workspace, admin, ana, bruno, book, deals):
    def listed(**kw):
        return names(
            stalled_deals(workspace=workspace, viewer=admin, now=NOW, filters=StalledFilters(**kw))
        )

    assert listed(owner_id=ana.pk) == ["Both", "Quiet"]
    assert listed(reason=INACTIVE) == ["Both", "Quiet"]
    assert listed(reason=SLOW_STAGE) == ["Both", "Slow"]
    assert listed(pipeline_id=book.pipeline.pk, owner_id=bruno.pk) == ["Slow"]
    assert listed(pipeline_id=book.pipeline.pk + 1000) == []


def test_thresholds_follow_the_settings(workspace, admin, deals):
    settings = sales_settings_for(workspace)
    settings.stalled_after_days = 30
    settings.stalled_stage_factor = 0  # off
    settings.save()
    assert names(stalled_deals(workspace=workspace, viewer=admin, now=NOW)) == []
    settings.stalled_after_days = 20
    settings.save()
    assert names(stalled_deals(workspace=workspace, viewer=admin, now=NOW)) == ["Both", "Quiet"]


def test_stalled_list_pages_with_a_cursor(workspace, admin, deals):
    first = stalled_deals(workspace=workspace, viewer=admin, now=NOW, limit=2)
    second = stalled_deals(
        workspace=workspace, viewer=admin, now=NOW, limit=2, after=first.next_cursor
    )
    assert names(first) + names(second) == ["Both", "Quiet", "Slow"]
    assert second.next_cursor is None


def test_a_rep_sees_their_teams_stalled_deals(workspace, ana, deals):
    # Ana is on no team with Bruno: her own deals and the unowned pool.
    assert names(stalled_deals(workspace=workspace, viewer=ana, now=NOW)) == ["Both", "Quiet"]


def test_stalled_count_uses_the_present_and_caches_the_medians(workspace, admin, book, deals):
    cache.clear()
    # Today (well after March) every open deal of the fixture has been quiet for months.
    assert stalled_count(workspace=workspace, viewer=admin) == 6
    assert cache.get(_medians_key(workspace)) == {str(book.new.pk): 4.0}
    assert stage_median_days(workspace) == stage_median_days(workspace, refresh=True)


# ---------------------------------------------------------------------------------------------
# Alerts to owners


def notes_of(user) -> list[Notification]:
    return list(Notification.objects.filter(user=user).order_by("id"))


def test_owners_hear_about_their_stalled_deals_once_a_week(workspace, ana, bruno, deals):
    # Each owner reads the alert in their own language (the workspace's when they chose none).
    ana.language = "en"
    ana.save(update_fields=["language"])
    assert stalled_deals_notify(workspace=workspace, now=NOW) == 3
    assert [n.title for n in notes_of(ana)] == ["Quiet", "Both"]
    quiet = notes_of(ana)[0]
    assert quiet.kind == "deal.stalled"
    assert quiet.body == "No activity for 21 days."
    assert quiet.url.startswith("/") and str(deals["quiet"].pk) in quiet.url
    both = notes_of(ana)[1]
    assert both.body == (
        "No activity for 26 days. 30 days in New, where deals usually spend 4 days."
    )
    assert [n.title for n in notes_of(bruno)] == ["Slow"]
    assert "dias" in notes_of(bruno)[0].body
    deals["quiet"].refresh_from_db()
    assert deals["quiet"].stalled_notified_at == NOW

    # Again the same day, and six days later: nothing new.
    assert stalled_deals_notify(workspace=workspace, now=NOW) == 0
    assert stalled_deals_notify(workspace=workspace, now=NOW + dt.timedelta(days=6)) == 0
    # A week on, the deals still stalled are brought up again ("Fresh" has no owner to tell).
    assert stalled_deals_notify(workspace=workspace, now=NOW + dt.timedelta(days=7)) == 3
    assert len(notes_of(ana)) == 4


def test_an_owner_who_left_is_not_notified(workspace, ana, bruno, deals):
    Membership.objects.filter(user=bruno).update(is_active=False)
    assert stalled_deals_notify(workspace=workspace, now=NOW) == 2
    assert notes_of(bruno) == []
    deals["slow"].refresh_from_db()
    assert deals["slow"].stalled_notified_at == NOW, "claimed, so not retried every day"


def test_the_daily_job_is_registered(workspace, deals):
    job = next(j for j in registered_jobs() if j.name == "sales.stalled_deals")
    assert job.every == dt.timedelta(days=1)
    assert job.func is notify_stalled_deals
    # Run for real: today every open owned deal of the fixture is long stalled.
    assert notify_stalled_deals() == 5
    assert notify_stalled_deals() == 0


# ---------------------------------------------------------------------------------------------
# API and page


def test_stalled_api(api, deals, ana):
    r = api.get("/api/v1/deals/stalled", owner_id=ana.pk)
    assert r.status_code == 200, r.content
    items = r.json()["items"]
    # Today all of Ana's open deals are stalled; the least recently active first.
    assert [i["name"] for i in items] == ["Both", "Quiet", "Moved", "Long"]
    both = items[0]
    assert both["owner"] == {"id": ana.pk, "name": "Ana Souza"}
    assert both["stage"]["name"] == "New"
    assert both["reasons"] == ["inactive", "slow_stage"]
    assert both["last_activity_at"].startswith("2025-03-05T12:00:00")
    assert both["amount"] == "1000.00"
    assert api.get("/api/v1/deals/stalled", reason="sleepy").status_code == 422


def test_stalled_api_shows_only_the_callers_workspace(api, other_key, deals):
    theirs = api.get("/api/v1/deals/stalled", key=other_key).json()["items"]
    assert [i["name"] for i in theirs] == ["Theirs"]
    mine = api.get("/api/v1/deals/stalled").json()["items"]
    assert "Theirs" not in [i["name"] for i in mine]


def test_stalled_api_queries_do_not_grow(api, book, make_member, django_assert_max_num_queries):
    for i in range(60):
        owner = make_member(f"s{i}@acme.test")
        book.deal(
            1,
            stage_entered_at=at("2024-01-01"),
            last_activity_at=at("2024-01-01"),
            updated_at=at("2024-01-01"),
            owner=owner,
        )
    api.get("/api/v1/deals/stalled")
    # The key, its user and membership, the settings, the stage medians (cached), the page.
    with django_assert_max_num_queries(6):
        body = api.get("/api/v1/deals/stalled", limit=50).json()
    assert len(body["items"]) == 50 and body["next_cursor"]


def test_stalled_page(admin_client_ui, deals):
    r = admin_client_ui.get("/deals/stalled/")
    assert r.status_code == 200
    html = r.content.decode()
    assert "Quiet" in html and "Theirs" not in html
    assert "No recent activity" in html and "Too long in its stage" in html
    assert "no activity for 14 days, or in their stage longer than 2 ×" in html.lower()


def test_stalled_page_filters_over_htmx(admin_client_ui, deals, bruno):
    r = admin_client_ui.get("/deals/stalled/", {"owner": bruno.pk}, **HTMX)
    html = r.content.decode()
    assert html.lstrip().startswith('<div id="stalled-list"')
    assert "Slow" in html and "Quiet" not in html


def test_stalled_page_for_a_read_only_role(client, make_member, deals):
    client.force_login(make_member("ro@acme.test", Role.READ_ONLY))
    assert client.get("/deals/stalled/").status_code == 200


def test_stalled_page_queries_do_not_grow(
    admin_client_ui, book, make_member, django_assert_max_num_queries
):
    for i in range(30):
        owner = make_member(f"t{i}@acme.test")
        book.deal(
            1,
            stage_entered_at=at("2024-01-01"),
            last_activity_at=at("2024-01-01"),
            updated_at=at("2024-01-01"),
            owner=owner,
        )
    admin_client_ui.get("/deals/stalled/")
    with django_assert_max_num_queries(14):
        html = admin_client_ui.get("/deals/stalled/").content.decode()
    assert html.count('<tr id="deal-') == 30


def test_the_template_tags_for_deal_pages(workspace, deals, django_assert_max_num_queries):
    from django.template import Context, Template

    cache.clear()
    sales_settings_for(workspace)
    shown = [deals[name] for name in ("quiet", "slow", "both", "fresh", "won")]
    page = Template(
        "{% load sales_forecasts %}{% for d in deals %}{{ d.name }}:{% stalled_badge d %}"
        "{% deal_is_stalled d as stalled %}{{ stalled }};{% endfor %}"
    )
    # The settings and the stage medians, once for the whole page.
    with django_assert_max_num_queries(2):
        html = page.render(Context({"deals": shown, "workspace": workspace}))
    parts = dict(part.split(":", 1) for part in html.split(";") if part)
    # Today, long after March 2025, every open deal of the fixture has gone quiet.
    assert parts["Quiet"].endswith("True")
    assert 'title="No recent activity"' in parts["Quiet"]
    assert ">Stalled</span>" in parts["Slow"]
    assert 'title="No recent activity · Too long in its stage"' in parts["Both"]
    assert parts[deals["won"].name] == "False"
