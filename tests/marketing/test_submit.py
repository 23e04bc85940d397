"""A visitor fills in a web form: the hosted page, what a submission creates (lead, consent,
stored submission, count, event) and every way it is refused without creating anything
(missing or bad email, required fields, consent, honeypot, 100 posts a minute, closed form,
an error half-way)."""

from __future__ import annotations

import logging
import time
from urllib.parse import quote

import pytest
from django.utils import timezone

from tests.marketing.conftest import WORDING, post_form
from vinculo.contacts.models import ConsentEntry
from vinculo.core.models import Event
from vinculo.marketing.models import WebForm, WebFormSubmission
from vinculo.marketing.services import webform_delete, webform_set_active
from vinculo.sales.models import Lead

GOOD = {
    "first_name": "Ana",
    "email": "ana.souza@example.com",
    "company_name": "Padaria Pão Quente",
    "message": "Quero uma demonstração",
    "consent": "on",
}


def counts(workspace) -> dict[str, int]:
    return {
        "leads": Lead.objects.for_workspace(workspace).count(),
        "submissions": WebFormSubmission.objects.for_workspace(workspace).count(),
        "consents": ConsentEntry.objects.for_workspace(workspace).count(),
        "events": Event.objects.for_workspace(workspace).filter(type="webform.submitted").count(),
        "submission_count": sum(
            WebForm.objects.for_workspace(workspace).values_list("submission_count", flat=True)
        ),
    }


NOTHING = {"leads": 0, "submissions": 0, "consents": 0, "events": 0, "submission_count": 0}


# --- the hosted page -------------------------------------------------------------------------


def test_the_hosted_page_shows_the_form_with_utm_from_its_address(visitor, webform):
    r = visitor.get(
        f"/f/{webform.public_key}?utm_source=newsletter&utm_campaign=launch&utm_medium=email",
        HTTP_REFERER="https://search.example/?q=crm",
    )
    assert r.status_code == 200
    html = r.content.decode()
    assert "Talk to sales" in html
    assert 'name="first_name"' in html and "Your name" in html
    assert 'name="email"' in html and "Work email" in html
    assert WORDING in html
    assert 'name="utm_source" value="newsletter"' in html
    assert 'name="utm_campaign" value="launch"' in html
    assert 'name="referrer" value="https://search.example/?q=crm"' in html
    # No login, no cookies: the page is public and posted from other sites.
    assert "csrfmiddlewaretoken" not in html
    assert not r.cookies


def test_the_page_may_be_framed_only_by_the_form_sites(visitor, webform_factory, staff):
    form = webform_factory(allowed_origins=["https://www.padaria.example", "http://localhost:8080"])
    r = visitor.get(f"/f/{form.public_key}?embed=1")
    csp = r["Content-Security-Policy"]
    assert "frame-ancestors 'self' https://www.padaria.example http://localhost:8080" in csp
    assert "X-Frame-Options" not in r
    # Any other page of the app still refuses every frame.
    app = staff.get("/forms/")
    assert "frame-ancestors 'none'" in app["Content-Security-Policy"]
    assert app["X-Frame-Options"] == "DENY"


def test_a_form_without_sites_may_be_framed_anywhere(visitor, webform):
    r = visitor.get(f"/f/{webform.public_key}")
    assert "frame-ancestors 'self' *" in r["Content-Security-Policy"]


def test_embedded_the_utm_come_from_the_site_page(visitor, webform):
    page = "https://www.padaria.example/contato?utm_source=instagram&utm_content=story"
    r = visitor.get(
        f"/f/{webform.public_key}?embed=1&page={quote(page)}&ref={quote('https://l.instagram.com/')}"
    )
    html = r.content.decode()
    assert 'name="utm_source" value="instagram"' in html
    assert 'name="utm_content" value="story"' in html
    assert 'name="referrer" value="https://l.instagram.com/"' in html
    assert f'action="/f/{webform.public_key}?embed=1"' in html
    assert 'data-embed="1"' in html


def test_unknown_closed_and_deleted_forms(visitor, workspace, webform_factory):
    assert visitor.get("/f/no-such-key").status_code == 404
    closed = webform_factory()
    webform_set_active(workspace=workspace, actor=None, form_id=closed.pk, active=False)
    r = visitor.get(f"/f/{closed.public_key}")
    assert r.status_code == 410
    assert "no longer accepts answers" in r.content.decode()
    assert post_form(visitor, closed, GOOD).status_code == 410
    gone = webform_factory()
    webform_delete(workspace=workspace, actor=None, form_id=gone.pk)
    assert visitor.get(f"/f/{gone.public_key}").status_code == 404
    assert counts(workspace) == NOTHING


# --- a good submission -----------------------------------------------------------------------


def test_a_submission_makes_a_lead_with_consent_utm_and_the_event(visitor, workspace, webform):
    r = post_form(
        visitor,
        webform,
        {
            **GOOD,
            "utm_source": "newsletter",
            "utm_medium": "email",
            "utm_campaign": "launch",
            "page_url": "https://www.padaria.example/contato",
            "referrer": "https://mail.example/",
        },
        REMOTE_ADDR="203.0.113.7",
    )
    assert r.status_code == 303
    assert r["Location"] == f"/f/{webform.public_key}/thanks"
    lead = Lead.objects.for_workspace(workspace).get()
    assert (lead.first_name, lead.email, lead.company_name) == (
        "Ana",
        "ana.souza@example.com",
        "Padaria Pão Quente",
    )
    assert lead.message == "Quero uma demonstração"
    assert (lead.utm_source, lead.utm_medium, lead.utm_campaign) == (
        "newsletter",
        "email",
        "launch",
    )
    assert lead.source == "Website"
    assert lead.web_form_id == webform.pk
    consent = ConsentEntry.objects.for_workspace(workspace).get()
    assert consent.lead_id == lead.pk and consent.contact_id is None
    assert consent.granted is True
    assert consent.purpose == "email_marketing"
    assert consent.wording == WORDING
    assert consent.source == "form"
    assert consent.ip_address == "203.0.113.7"
    assert consent.user_agent == "Mozilla/5.0 (test visitor)"
    submission = WebFormSubmission.objects.for_workspace(workspace).get()
    assert submission.lead_id == lead.pk
    assert submission.data["email"] == "ana.souza@example.com"
    assert submission.data["consent"] is True
    assert submission.utm == {
        "utm_source": "newsletter",
        "utm_medium": "email",
        "utm_campaign": "launch",
    }
    assert submission.page_url == "https://www.padaria.example/contato"
    assert submission.referrer == "https://mail.example/"
    assert submission.ip_address == "203.0.113.7"
    webform.refresh_from_db()
    assert webform.submission_count == 1
    event = Event.objects.for_workspace(workspace).get(type="webform.submitted")
    assert (event.subject_type, event.subject_id) == ("lead", lead.pk)
    assert event.payload == {"form_id": webform.pk, "utm": submission.utm}
    assert (
        Event.objects.for_workspace(workspace)
        .filter(type="lead.created", subject_id=lead.pk)
        .exists()
    )


def test_the_thank_you_page(visitor, webform_factory):
    form = webform_factory(thank_you_message="Obrigado! Falamos em até um dia útil.")
    r = visitor.get(f"/f/{form.public_key}/thanks")
    assert r.status_code == 200
    assert "Obrigado! Falamos em até um dia útil." in r.content.decode()
    default = webform_factory()
    assert (
        "We received your message"
        in visitor.get(f"/f/{default.public_key}/thanks").content.decode()
    )


def test_unticked_optional_consent_records_no_consent(visitor, workspace, webform):
    r = post_form(visitor, webform, {**GOOD, "consent": ""})
    assert r.status_code == 303
    assert Lead.objects.for_workspace(workspace).count() == 1
    assert ConsentEntry.objects.for_workspace(workspace).count() == 0
    assert WebFormSubmission.objects.for_workspace(workspace).get().data["consent"] is False


def test_a_form_with_a_redirect_sends_the_visitor_there(visitor, webform_factory):
    form = webform_factory(redirect_url="https://www.padaria.example/obrigado")
    page = visitor.get(f"/f/{form.public_key}")
    # Browsers hold a redirect after a post to the page's form-action.
    assert "form-action 'self' https://www.padaria.example" in page["Content-Security-Policy"]
    r = post_form(visitor, form, GOOD)
    assert r.status_code == 303
    assert r["Location"] == "https://www.padaria.example/obrigado"
    # Framed, the snippet takes the site's window there instead of the frame.
    framed = post_form(visitor, form, {**GOOD, "email": "b@example.com"}, query="?embed=1")
    assert framed["Location"] == f"/f/{form.public_key}/thanks?embed=1"
    thanks = visitor.get(framed["Location"]).content.decode()
    assert 'data-redirect="https://www.padaria.example/obrigado"' in thanks
    assert 'target="_top"' in thanks


# --- refused, and nothing created --------------------------------------------------------------


def test_a_missing_email_answers_422_naming_the_field(visitor, workspace, webform):
    r = post_form(visitor, webform, {**GOOD, "email": ""})
    assert r.status_code == 422
    html = r.content.decode()
    assert "Work email is required." in html
    assert 'aria-invalid="true"' in html
    # What was typed is kept.
    assert 'value="Padaria Pão Quente"' in html
    assert counts(workspace) == NOTHING


def test_an_invalid_email_answers_422(visitor, workspace, webform):
    r = post_form(visitor, webform, {**GOOD, "email": "ana.souza@"})
    assert r.status_code == 422
    assert "Enter a valid email address" in r.content.decode()
    assert counts(workspace) == NOTHING


def test_every_problem_is_named_at_once(visitor, workspace, webform_factory):
    form = webform_factory(consent_required=True)
    r = post_form(visitor, form, {"email": "not-an-email", "message": "Oi"})
    assert r.status_code == 422
    html = r.content.decode()
    assert "Your name is required." in html
    assert "Enter a valid email address" in html
    assert "Tick the box to agree" in html
    assert "3 fields need your attention" in html
    assert counts(workspace) == NOTHING


def test_a_choice_outside_the_list_is_refused(visitor, workspace, webform_factory):
    form = webform_factory(
        fields=[
            {"name": "email", "label": "", "required": True},
            {"name": "company_size", "label": "", "required": False},
            {"name": "country", "label": "", "required": False},
        ]
    )
    r = post_form(
        visitor, form, {"email": "a@example.com", "company_size": "huge", "country": "XX"}
    )
    assert r.status_code == 422
    html = r.content.decode()
    assert "2 fields need your attention" in html
    # Each error in the summary at the top and next to its field.
    assert html.count("Choose one of the options.") == 4
    assert counts(workspace) == NOTHING
    ok = post_form(
        visitor, form, {"email": "a@example.com", "company_size": "11-50", "country": "BR"}
    )
    assert ok.status_code == 303
    lead = Lead.objects.for_workspace(workspace).get()
    assert (lead.company_size, lead.country) == ("11-50", "BR")


def test_a_filled_honeypot_looks_like_success_but_creates_nothing(
    visitor, workspace, webform, caplog
):
    with caplog.at_level(logging.DEBUG):
        r = post_form(
            visitor,
            webform,
            {**GOOD, "homepage": "http://spam.example"},
            REMOTE_ADDR="198.51.100.9",
        )
    assert r.status_code == 303
    assert r["Location"] == f"/f/{webform.public_key}/thanks"
    assert counts(workspace) == NOTHING
    logged = " ".join(record.getMessage() for record in caplog.records)
    for personal in ("ana.souza", "Ana", "198.51.100.9", "spam.example"):
        assert personal not in logged


def _fresh_window(seconds_needed: float = 20) -> None:
    """Start at the beginning of a rate-limit window when the current one is nearly over, so
    the 100 posts all fall into one window (windows are whole minutes of the clock)."""
    now = timezone.now()
    left = 60 - (now.second + now.microsecond / 1e6)
    if left < seconds_needed:
        time.sleep(left + 0.05)


def test_100_posts_a_minute_create_at_most_the_allowed_number(visitor, workspace, webform):
    _fresh_window()
    started = timezone.now()
    answers = [
        post_form(
            visitor, webform, {**GOOD, "email": f"bot{i}@example.com"}, REMOTE_ADDR="192.0.2.1"
        )
        for i in range(100)
    ]
    assert (timezone.now() - started).total_seconds() < 40
    statuses = [r.status_code for r in answers]
    assert statuses.count(303) == 10
    assert statuses.count(429) == 90
    assert Lead.objects.for_workspace(workspace).count() == 10
    refused = answers[-1]
    assert "Too many submissions" in refused.content.decode()
    assert 1 <= int(refused["Retry-After"]) <= 60
    # Another visitor is not held back by the first one's flood.
    other = post_form(
        visitor, webform, {**GOOD, "email": "human@example.com"}, REMOTE_ADDR="192.0.2.2"
    )
    assert other.status_code == 303
    webform.refresh_from_db()
    assert webform.submission_count == 11


def test_bad_posts_count_against_the_limit_too(visitor, workspace, webform):
    _fresh_window(10)
    for _ in range(10):
        assert (
            post_form(visitor, webform, {"email": ""}, REMOTE_ADDR="192.0.2.3").status_code == 422
        )
    assert post_form(visitor, webform, GOOD, REMOTE_ADDR="192.0.2.3").status_code == 429
    assert counts(workspace) == NOTHING


def test_an_error_half_way_leaves_nothing_half_written(visitor, workspace, webform, monkeypatch):
    import vinculo.marketing.services as services

    def broken(**kwargs):
        if kwargs.get("type") == "webform.submitted":
            raise RuntimeError("the disk is full")
        return original(**kwargs)

    original = services.record_event
    monkeypatch.setattr(services, "record_event", broken)
    visitor.raise_request_exception = True
    with pytest.raises(RuntimeError):
        post_form(visitor, webform, GOOD)
    assert counts(workspace) == NOTHING


def test_a_submission_stays_within_its_query_budget(
    visitor, webform, django_assert_max_num_queries
):
    post_form(visitor, webform, {**GOOD, "email": "warm@example.com"})
    # Form, rate limit, the lead (its checks, row and events), consent, submission, count,
    # event; savepoints included.
    with django_assert_max_num_queries(16):
        r = post_form(visitor, webform, GOOD)
    assert r.status_code == 303


def test_the_hosted_page_stays_within_its_query_budget(
    visitor, webform, django_assert_max_num_queries
):
    with django_assert_max_num_queries(2):
        assert visitor.get(f"/f/{webform.public_key}").status_code == 200


def test_the_lead_is_routed_by_the_assignment_rules_and_scored(
    visitor, workspace, webform_factory, make_member, django_capture_on_commit_callbacks
):
    from vinculo.automation.services import rule_create
    from vinculo.core.models import Team, TeamMember

    south = Team.objects.for_workspace(workspace).create(workspace=workspace, name="Sul")
    sellers = [make_member(f"seller{i}@acme.test") for i in range(2)]
    for seller in sellers:
        TeamMember.objects.for_workspace(workspace).create(
            workspace=workspace, team=south, user=seller
        )
    rule_create(
        workspace=workspace,
        actor=None,
        data={
            "name": "Leads do Sul",
            "trigger": "lead.created",
            "conditions": {"all": [{"field": "state", "op": "in", "value": ["SP", "PR"]}]},
            "actions": [{"type": "assign", "team_id": south.pk, "strategy": "round_robin"}],
        },
    )
    form = webform_factory(
        fields=[
            {"name": "first_name", "label": "", "required": True},
            {"name": "email", "label": "", "required": True},
            {"name": "state", "label": "", "required": False},
        ]
    )
    with django_capture_on_commit_callbacks(execute=True):
        r = post_form(
            visitor,
            form,
            {"first_name": "Ana", "email": "ana@example.com", "state": "SP", "utm_source": "ads"},
        )
    assert r.status_code == 303
    lead = Lead.objects.for_workspace(workspace).get()
    assert lead.team_id == south.pk
    assert lead.owner_id in {s.pk for s in sellers}
    assert lead.scored_at is not None


def test_custom_fields_of_leads_can_be_asked(visitor, staff, workspace, webform_factory):
    from vinculo.core.models import CustomFieldDefinition

    def define(key: str, field_type: str, **extra):
        return CustomFieldDefinition.objects.for_workspace(workspace).create(
            workspace=workspace,
            object_type="lead",
            key=key,
            label=key.replace("_", " ").capitalize(),
            field_type=field_type,
            **extra,
        )

    define("segment", "choice", choices=["Varejo", "Indústria"])
    define("employees", "number")
    define("wants_demo", "boolean")
    # The builder offers them beside the lead's own fields.
    assert 'name="include_cf:segment"' in staff.get("/forms/new").content.decode()
    form = webform_factory(
        fields=[
            {"name": "email", "label": "", "required": True},
            {"name": "cf:segment", "label": "Segmento", "required": True},
            {"name": "cf:employees", "label": "", "required": False},
            {"name": "cf:wants_demo", "label": "Quero uma demonstração", "required": False},
        ]
    )
    page = visitor.get(f"/f/{form.public_key}").content.decode()
    assert 'name="cf:segment"' in page and ">Indústria</option>" in page
    assert 'type="number" id="wf-cf-employees"' in page
    assert 'type="checkbox" id="wf-cf-wants_demo"' in page
    r = post_form(visitor, form, {"email": "a@example.com", "cf:segment": "Serviços"})
    assert r.status_code == 422
    assert "Choose one of the options." in r.content.decode()
    r = post_form(visitor, form, {"email": "a@example.com", "cf:employees": "muitos"})
    assert r.status_code == 422
    html = r.content.decode()
    assert "Segmento is required." in html and "Enter a number." in html
    assert counts(workspace) == NOTHING
    r = post_form(
        visitor,
        form,
        {
            "email": "a@example.com",
            "cf:segment": "Indústria",
            "cf:employees": "120",
            "cf:wants_demo": "on",
        },
    )
    assert r.status_code == 303
    lead = Lead.objects.for_workspace(workspace).get()
    assert lead.custom_fields == {"segment": "Indústria", "employees": 120, "wants_demo": True}
