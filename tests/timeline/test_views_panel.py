"""The timeline panel of a record page: entries, filters, paging, quick actions and their
errors, one-click task completion, access and tenancy."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from vinculo.contacts.services import contact_update
from vinculo.core.exceptions import FieldError, ValidationFailed
from vinculo.core.models import Event
from vinculo.core.roles import Role
from vinculo.timeline import services
from vinculo.timeline.forms import CallForm, timeline_filter
from vinculo.timeline.models import Interaction, Note, Task, TaskStatus

from .test_timeline import seed_timeline

HTMX = {"HTTP_HX_REQUEST": "true"}
# Session (read, then saved by the workspace middleware), user, workspace, membership (role),
# the record (twice: the panel's own check and the timeline's), one query per kind, and the
# names behind audit events (here: the owners).
PANEL_BUDGET = 14


def panel_url(kind: str, pk: int, **params: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"/records/{kind}/{pk}/timeline" + (f"?{query}" if query else "")


@pytest.fixture
def browser(client: Client, admin) -> Client:
    admin.language = "en"
    admin.save(update_fields=["language"])
    client.force_login(admin)
    return client


def as_member(client: Client, user) -> Client:
    user.language = "en"
    user.save(update_fields=["language"])
    client.force_login(user)
    return client


# ---------------------------------------------------------------------------------------------
# Reading


def test_standalone_page_shows_entries_with_who_when_and_escaped_body(
    browser, workspace, admin, contact
):
    services.interaction_create(
        workspace=workspace,
        actor=admin,
        channel="phone",
        contact_id=contact.id,
        occurred_at=timezone.now() - dt.timedelta(hours=2),
        body="First line\n<script>alert(1)</script>",
        outcome="Connected",
        duration_seconds=600,
    )
    services.note_create(
        workspace=workspace, actor=admin, body="A pinned fact", contact_id=contact.id
    )

    r = browser.get(panel_url("contact", contact.id))

    assert r.status_code == 200
    html = r.content.decode()
    assert "<html" in html and "Ana Souza" in html
    assert "First line<br>&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)" not in html
    assert "Connected" in html and "10 min" in html
    assert admin.display_name in html
    assert "A pinned fact" in html
    # Relative and absolute times, machine-readable too.
    assert "<time" in html and 'datetime="' in html and "2\xa0hours ago" in html


def test_htmx_request_answers_the_panel_alone(browser, contact):
    r = browser.get(panel_url("contact", contact.id), **HTMX)
    html = r.content.decode()
    assert r.status_code == 200
    assert "<html" not in html
    assert f'id="tl-contact-{contact.id}"' in html
    assert "Log a call" in html and "Create a task" in html


@pytest.mark.parametrize(
    ("chip", "shown", "hidden"),
    [
        ("phone", ["Call about pricing"], ["Sent the proposal", "Remember the dog", "Send quote"]),
        ("email", ["Sent the proposal"], ["Call about pricing", "Remember the dog"]),
        ("notes", ["Remember the dog"], ["Call about pricing", "Send quote"]),
        ("tasks", ["Send quote"], ["Call about pricing", "Remember the dog"]),
        ("all", ["Call about pricing", "Sent the proposal", "Remember the dog", "Send quote"], []),
    ],
)
def test_filter_chips(browser, workspace, admin, contact, chip, shown, hidden):
    services.interaction_create(
        workspace=workspace,
        actor=admin,
        channel="phone",
        contact_id=contact.id,
        subject="Call about pricing",
    )
    services.interaction_create(
        workspace=workspace,
        actor=admin,
        channel="email",
        contact_id=contact.id,
        subject="Sent the proposal",
    )
    services.note_create(
        workspace=workspace, actor=admin, body="Remember the dog", contact_id=contact.id
    )
    services.task_create(
        workspace=workspace, actor=admin, title="Send quote", contact_id=contact.id
    )

    r = browser.get(panel_url("contact", contact.id, part="feed", filter=chip), **HTMX)

    html = r.content.decode()
    assert r.status_code == 200
    assert "Log a call" not in html, "a filter swaps the entries, not the quick actions"
    for text in shown:
        assert text in html
    for text in hidden:
        assert text not in html
    assert f'filter={chip}" hx-target' in html.split('aria-current="true"')[0].rsplit("<a", 1)[-1]


def test_unknown_filter_shows_everything():
    assert timeline_filter("nonsense").key == "all"
    assert timeline_filter(None).key == "all"
    assert timeline_filter("sms").channels == frozenset({"sms"})


def test_audit_events_in_words_with_translated_field_names(browser, workspace, admin, contact):
    contact_update(
        workspace=workspace,
        actor=admin,
        contact_id=contact.id,
        data={"lifecycle_stage": "customer", "job_title": "CEO"},
    )
    contact_update(
        workspace=workspace, actor=admin, contact_id=contact.id, data={"lifecycle_stage": "churned"}
    )

    r = browser.get(panel_url("contact", contact.id, part="feed", filter="changes"), **HTMX)

    html = r.content.decode()
    who = admin.display_name
    assert f"{who} changed lifecycle stage:" in html
    assert '<span class="tl-old">Customer</span> → <span class="tl-new">Churned</span>' in html
    assert f"{who} updated the contact" in html
    assert '<span class="tl-field">Job title</span>: <span class="tl-old">—</span>' in html


def test_consent_and_privacy_events_in_words(browser, workspace, admin, contact):
    from vinculo.contacts.privacy.services import consent_record, contact_data_export

    for granted in (True, False):
        consent_record(
            workspace=workspace,
            actor=admin,
            contact_id=contact.id,
            purpose="email_marketing",
            granted=granted,
            wording="I want news by email.",
            source="staff",
        )
    contact_data_export(workspace=workspace, actor=admin, contact_id=contact.id)

    r = browser.get(panel_url("contact", contact.id, part="feed", filter="changes"), **HTMX)

    html = r.content.decode()
    who = admin.display_name
    assert f"{who} recorded consent to Email marketing" in html
    assert f"{who} recorded that consent to Email marketing was withdrawn" in html
    assert f"{who} exported this person’s personal data" in html
    assert "consent.granted" not in html


def test_audit_events_in_portuguese(client, workspace, admin, contact):
    admin.language = "pt-br"
    admin.save(update_fields=["language"])
    client.force_login(admin)
    contact_update(
        workspace=workspace,
        actor=admin,
        contact_id=contact.id,
        data={"lifecycle_stage": "customer"},
    )

    html = client.get(panel_url("contact", contact.id, filter="changes")).content.decode()

    assert "alterou estágio do ciclo de vida:" in html
    assert "Registrar ligação" in html


def test_owner_and_account_changes_show_names(
    browser, workspace, admin, contact, account, make_member
):
    bruno = make_member("bruno@acme.test", Role.SALES)
    bruno.full_name = "Bruno Lima"
    bruno.save()
    contact_update(
        workspace=workspace,
        actor=admin,
        contact_id=contact.id,
        data={"owner_id": bruno.id, "account_id": account.id},
    )

    html = browser.get(panel_url("contact", contact.id, filter="changes")).content.decode()

    assert "Bruno Lima" in html
    assert "Souza Comércio" in html


def test_account_timeline_names_the_contact_of_each_entry(
    browser, workspace, admin, account, contact_factory
):
    person = contact_factory(first_name="Carla", last_name="Dias", account=account)
    services.interaction_create(
        workspace=workspace, actor=admin, channel="meeting", contact_id=person.id, subject="Kickoff"
    )

    html = browser.get(panel_url("account", account.id)).content.decode()

    assert "Kickoff" in html and "Carla Dias" in html


def test_load_more_appends_the_next_entries(browser, workspace, admin, contact):
    seed_timeline(workspace, admin, contact, 40)

    first = browser.get(panel_url("contact", contact.id), **HTMX).content.decode()
    assert first.count('class="tl-entry ') == 30
    more = first.split('class="tl-more"')[1].split('hx-get="')[1].split('"')[0]
    more = more.replace("&amp;", "&")

    rest = browser.get(more, **HTMX)

    html = rest.content.decode()
    assert rest.status_code == 200
    assert html.count('class="tl-entry ') == 10
    assert "tl-more" not in html, "the last page offers no more"
    assert "Log a call" not in html and "<ol" not in html, "only entries, appended in place"


def test_a_cursor_edited_by_hand_is_a_bad_request(browser, contact):
    r = browser.get(panel_url("contact", contact.id, after="bm9wZQ"), **HTMX)
    assert r.status_code == 400


def test_empty_timeline_offers_the_next_action(browser, contact):
    html = browser.get(panel_url("contact", contact.id)).content.decode()
    assert "Nothing here yet" in html
    assert f"/records/contact/{contact.id}/timeline/call" in html


def test_panel_queries_do_not_grow_with_entries(
    browser, workspace, admin, contact, django_assert_max_num_queries
):
    seed_timeline(workspace, admin, contact, 80)
    for stage in ("customer", "churned", "lead"):
        contact_update(
            workspace=workspace,
            actor=admin,
            contact_id=contact.id,
            data={"lifecycle_stage": stage, "owner_id": admin.id},
        )
    browser.get(panel_url("contact", contact.id), **HTMX)
    with django_assert_max_num_queries(PANEL_BUDGET):
        r = browser.get(panel_url("contact", contact.id), **HTMX)
    assert r.content.decode().count('class="tl-entry ') == 30


def test_account_panel_queries_do_not_grow(
    browser, workspace, admin, account, contact_factory, django_assert_max_num_queries
):
    for i in range(25):
        person = contact_factory(account=account)
        services.interaction_create(
            workspace=workspace, actor=admin, channel="email", contact_id=person.id
        )
        services.task_create(
            workspace=workspace,
            actor=admin,
            title=f"T{i}",
            contact_id=person.id,
            assignee_id=admin.id,
        )
    browser.get(panel_url("account", account.id), **HTMX)
    with django_assert_max_num_queries(PANEL_BUDGET):
        r = browser.get(panel_url("account", account.id), **HTMX)
    assert r.content.decode().count('class="tl-entry ') == 30


# ---------------------------------------------------------------------------------------------
# Access and tenancy


def test_another_workspaces_record_is_not_found(browser, foreign_contact, foreign_account):
    assert browser.get(panel_url("contact", foreign_contact.id)).status_code == 404
    assert browser.get(panel_url("account", foreign_account.id), **HTMX).status_code == 404
    assert browser.get(panel_url("contact", foreign_contact.id) + "/call").status_code == 404


def test_unknown_kind_and_deleted_record_are_not_found(browser, workspace, contact):
    assert browser.get(panel_url("deal", contact.id)).status_code == 404
    assert browser.get(panel_url("contact", contact.id) + "/sing").status_code == 404
    contact.deleted_at = timezone.now()
    contact.save(update_fields=["deleted_at"])
    assert browser.get(panel_url("contact", contact.id)).status_code == 404


def test_a_record_outside_the_viewers_scope_is_not_found(
    client, workspace, make_member, contact_factory
):
    seller = make_member("seller@acme.test", Role.SALES)
    stranger = make_member("stranger@acme.test", Role.SALES)
    theirs = contact_factory(owner=stranger)
    as_member(client, seller)
    assert client.get(panel_url("contact", theirs.id)).status_code == 404


def test_logged_out_visitors_are_sent_to_log_in(client, contact):
    r = client.get(panel_url("contact", contact.id))
    assert r.status_code == 302 and "/accounts/login/" in r["Location"]


def test_read_only_members_see_no_quick_actions_and_cannot_log(
    client, workspace, make_member, contact
):
    reader = make_member("reader@acme.test", Role.READ_ONLY)
    as_member(client, reader)
    html = client.get(panel_url("contact", contact.id)).content.decode()
    assert "Log a call" not in html

    r = client.post(panel_url("contact", contact.id) + "/note", {"body": "sneaky"}, **HTMX)

    assert r.status_code == 403
    assert not Note.objects.for_workspace(workspace).exists()


# ---------------------------------------------------------------------------------------------
# Quick actions


def test_quick_action_form_opens_in_place(browser, contact):
    r = browser.get(panel_url("contact", contact.id) + "/call", **HTMX)
    html = r.content.decode()
    assert r.status_code == 200
    assert "<html" not in html and "<form" in html
    assert f'hx-post="/records/contact/{contact.id}/timeline/call"' in html
    assert 'type="datetime-local"' in html
    assert "Left a voicemail" in html, "outcome suggestions"


def test_quick_action_form_works_without_javascript(browser, contact):
    r = browser.get(panel_url("contact", contact.id) + "/meeting")
    assert r.status_code == 200 and "<html" in r.content.decode()


def test_logging_a_call_links_it_and_refreshes_the_panel(browser, workspace, admin, contact):
    r = browser.post(
        panel_url("contact", contact.id) + "/call",
        {
            "direction": "inbound",
            "occurred_at": "2025-03-10T14:30",
            "duration_minutes": "12",
            "outcome": "Connected",
            "body": "Asked for a discount",
        },
        **HTMX,
    )

    assert r.status_code == 200
    assert "Call logged." in r.content.decode()
    assert json.loads(r["HX-Trigger"]) == {"timeline-changed": {"record": f"contact-{contact.id}"}}
    call = Interaction.objects.for_workspace(workspace).get()
    assert (call.channel, call.direction, call.contact_id, call.author_id) == (
        "phone",
        "inbound",
        contact.id,
        admin.id,
    )
    assert call.duration_seconds == 12 * 60
    # 14:30 typed by a person in São Paulo (UTC−3).
    assert call.occurred_at == dt.datetime(2025, 3, 10, 17, 30, tzinfo=dt.UTC)
    feed = browser.get(panel_url("contact", contact.id, part="feed"), **HTMX).content.decode()
    assert "Asked for a discount" in feed


def test_each_quick_action_writes_its_kind(browser, workspace, admin, account):
    base = panel_url("account", account.id)
    when = "2025-03-10T09:00"
    assert (
        browser.post(base + "/meeting", {"subject": "QBR", "occurred_at": when}, **HTMX).status_code
        == 200
    )
    assert (
        browser.post(
            base + "/email",
            {"direction": "outbound", "subject": "Proposal", "occurred_at": when, "body": "Hi"},
            **HTMX,
        ).status_code
        == 200
    )
    assert (
        browser.post(base + "/note", {"body": "Likes coffee", "pinned": "on"}, **HTMX).status_code
        == 200
    )
    assert (
        browser.post(
            base + "/task",
            {
                "title": "Send quote",
                "due_at": "2025-03-12T10:00",
                "reminder": "60",
                "assignee": admin.id,
            },
            **HTMX,
        ).status_code
        == 200
    )

    interactions = Interaction.objects.for_workspace(workspace).order_by("id")
    assert [(i.channel, i.account_id) for i in interactions] == [
        ("meeting", account.id),
        ("email", account.id),
    ]
    note = Note.objects.for_workspace(workspace).get()
    assert note.pinned and note.account_id == account.id
    task = Task.objects.for_workspace(workspace).get()
    assert task.account_id == account.id and task.assignee_id == admin.id
    assert task.reminder_at == task.due_at - dt.timedelta(hours=1)


def test_errors_come_back_next_to_their_fields_with_422_and_nothing_is_written(
    browser, workspace, contact
):
    before = Event.objects.for_workspace(workspace).count()

    r = browser.post(
        panel_url("contact", contact.id) + "/call",
        {"direction": "sideways", "occurred_at": "yesterday-ish", "duration_minutes": "-5"},
        **HTMX,
    )

    assert r.status_code == 422
    html = r.content.decode()
    assert "<html" not in html and "<form" in html
    assert html.count('class="field has-error') == 3
    for name in ("direction", "occurred_at", "duration_minutes"):
        field = html.split(f'id="tl-contact-{contact.id}-form-call-{name}"')[0].rsplit(
            '<div class="field', 1
        )[-1]
        assert field.startswith(" has-error"), name
    assert not Interaction.objects.for_workspace(workspace).exists()
    assert Event.objects.for_workspace(workspace).count() == before


def test_note_and_task_errors(browser, workspace, contact):
    base = panel_url("contact", contact.id)
    r = browser.post(base + "/note", {"body": "   "}, **HTMX)
    assert r.status_code == 422 and "This field is required." in r.content.decode()

    r = browser.post(base + "/task", {"title": "", "reminder": "15"}, **HTMX)
    html = r.content.decode()
    assert r.status_code == 422
    assert "This field is required." in html
    assert "Set a due time to be reminded of it." in html
    assert not Note.objects.for_workspace(workspace).exists()
    assert not Task.objects.for_workspace(workspace).exists()


def test_task_assignee_must_be_a_member(browser, workspace, contact, other_admin):
    r = browser.post(
        panel_url("contact", contact.id) + "/task",
        {"title": "Sneak", "assignee": other_admin.id},
        **HTMX,
    )
    assert r.status_code == 422
    assert not Task.objects.for_workspace(workspace).exists()


def test_service_errors_are_translated_and_placed(workspace, admin):
    form = CallForm({}, workspace=workspace, viewer=admin)
    form.is_valid()
    form.add_service_errors(
        ValidationFailed(
            [
                FieldError("duration_seconds", "too-large", "At most …"),
                FieldError("contact_id", "link-required", "Link the interaction…"),
                FieldError("outcome", "brand-new-code", "Something specific."),
            ]
        )
    )
    assert "This number is too large." in form.errors["duration_minutes"]
    assert "Link it to a contact or an account." in form.non_field_errors()
    assert "Something specific." in form.errors["outcome"]


def test_quick_action_on_another_workspaces_record_writes_nothing(
    browser, workspace, foreign_contact
):
    r = browser.post(panel_url("contact", foreign_contact.id) + "/note", {"body": "leak?"}, **HTMX)
    assert r.status_code == 404
    assert not Note.all_tenants.exists()


def test_a_successful_post_without_htmx_goes_back_to_the_timeline(browser, contact):
    r = browser.post(panel_url("contact", contact.id) + "/note", {"body": "plain form"})
    assert r.status_code == 302 and r["Location"] == panel_url("contact", contact.id)


# ---------------------------------------------------------------------------------------------
# Completing a task in one click


def test_complete_and_reopen_a_task_from_the_timeline(browser, workspace, admin, contact):
    task = services.task_create(
        workspace=workspace, actor=admin, title="Call back", contact_id=contact.id
    )
    html = browser.get(panel_url("contact", contact.id)).content.decode()
    assert f'hx-post="/tasks/{task.id}/complete"' in html

    r = browser.post(f"/tasks/{task.id}/complete", {"as": "entry", "record": "contact"}, **HTMX)

    assert r.status_code == 200
    body = r.content.decode()
    assert body.strip().startswith('<li class="tl-entry tl-kind-task is-done')
    assert f'hx-post="/tasks/{task.id}/reopen"' in body
    assert "Task completed." in body
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE and task.completed_at is not None

    r = browser.post(f"/tasks/{task.id}/reopen", {"as": "entry", "record": "contact"}, **HTMX)
    task.refresh_from_db()
    assert r.status_code == 200 and task.status == TaskStatus.OPEN


def test_completing_another_workspaces_task_is_not_found(
    browser, other_workspace, other_admin, foreign_contact
):
    foreign = services.task_create(
        workspace=other_workspace, actor=other_admin, title="Theirs", contact_id=foreign_contact.id
    )
    r = browser.post(f"/tasks/{foreign.id}/complete", {"as": "entry"}, **HTMX)
    assert r.status_code == 404
    foreign.refresh_from_db()
    assert foreign.status == TaskStatus.OPEN


def test_task_status_changes_only_by_post(browser, workspace, admin):
    task = services.task_create(workspace=workspace, actor=admin, title="Solo")
    assert browser.get(f"/tasks/{task.id}/complete").status_code == 405


def test_datetime_parsing_of_the_form_is_in_the_viewers_zone(workspace, admin):
    form = CallForm(
        {"direction": "outbound", "occurred_at": "2025-07-01T08:00"},
        workspace=workspace,
        viewer=admin,
    )
    with timezone.override("Asia/Tokyo"):
        assert form.is_valid(), form.errors
    assert form.service_kwargs()["occurred_at"] == dt.datetime(2025, 6, 30, 23, 0, tzinfo=dt.UTC)
    with pytest.raises(ValidationError):
        form.fields["occurred_at"].clean("")


def test_an_untouched_when_means_now(browser, workspace, contact):
    opened = timezone.localtime(timezone.now() - dt.timedelta(minutes=3)).strftime("%Y-%m-%dT%H:%M")
    before = timezone.now()
    r = browser.post(
        panel_url("contact", contact.id) + "/email",
        {"direction": "outbound", "occurred_at": opened, "initial-occurred_at": opened},
        **HTMX,
    )
    assert r.status_code == 200
    email = Interaction.objects.for_workspace(workspace).get()
    assert email.occurred_at >= before, "the moment of saving, with seconds, not the minute shown"


def test_an_untouched_when_round_trips_as_unchanged(workspace, admin):
    shown = str(CallForm(workspace=workspace, viewer=admin)["occurred_at"])
    visible = shown.split('name="occurred_at" value="')[1].split('"')[0]
    hidden = shown.split('name="initial-occurred_at" value="')[1].split('"')[0]
    posted = CallForm(
        {"direction": "outbound", "occurred_at": visible, "initial-occurred_at": hidden},
        workspace=workspace,
        viewer=admin,
    )
    assert posted.is_valid(), posted.errors
    assert "occurred_at" not in posted.changed_data
