"""Scoring services: rules with their validation, a lead's score and reasons, the bulk
recompute, engagements from events (once per event), decay, retraining and the nightly run."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from vinculo.analytics.models import LeadScoringModel
from vinculo.core.events import deliver_event, record_event
from vinculo.core.exceptions import NotFound, PermissionDenied, ValidationFailed
from vinculo.core.models import Event, PeriodicRun
from vinculo.core.roles import Role
from vinculo.sales.common import sales_settings_for
from vinculo.sales.models import Lead, LeadEngagement, ScoringRule
from vinculo.sales.scoring import services

BRAZIL = {"all": [{"field": "country", "op": "eq", "value": "BR"}]}
RETAIL = {"all": [{"field": "industry", "op": "eq", "value": "Varejo"}]}


def _fields(exc: pytest.ExceptionInfo[ValidationFailed]) -> dict[str, str]:
    return {e.field: e.code for e in exc.value.errors}


def _lead(lead_id: int) -> Lead:
    return Lead.objects.get(pk=lead_id)


@pytest.fixture
def dispatch(django_capture_on_commit_callbacks):
    def run(fn, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(**kwargs)

    return run


# ---------------------------------------------------------------------------------------------
# Rules


def test_create_a_fit_rule_records_an_event(workspace, admin):
    rule = services.scoring_rule_create(
        workspace=workspace,
        actor=admin,
        data={"name": "Country is Brazil", "kind": "fit", "points": 10, "conditions": BRAZIL},
    )
    assert (rule.kind, rule.points, rule.event_type) == ("fit", 10, "")
    event = Event.objects.get(type="scoring_rule.created")
    assert event.subject_id == rule.pk
    assert event.payload["fields"]["conditions"] == BRAZIL


def test_every_bad_field_is_named_at_once(workspace, admin):
    with pytest.raises(ValidationFailed) as exc:
        services.scoring_rule_create(
            workspace=workspace,
            actor=admin,
            data={"name": " ", "kind": "engagement", "points": "lots", "event_type": "Form!"},
        )
    assert _fields(exc) == {"name": "required", "points": "invalid", "event_type": "invalid"}
    with pytest.raises(ValidationFailed) as exc:
        services.scoring_rule_create(
            workspace=workspace,
            actor=admin,
            data={"name": "x", "kind": "fit", "points": 5000, "conditions": {}},
        )
    assert _fields(exc) == {"points": "out-of-range", "conditions": "required"}
    with pytest.raises(ValidationFailed) as exc:
        services.scoring_rule_create(
            workspace=workspace,
            actor=admin,
            data={
                "name": "x",
                "kind": "fit",
                "points": 5,
                "conditions": {"all": [{"field": "shoe_size", "op": "eq", "value": 1}]},
            },
        )
    assert _fields(exc) == {"conditions.all[0].field": "unknown-field"}
    with pytest.raises(ValidationFailed) as exc:
        services.scoring_rule_create(
            workspace=workspace, actor=admin, data={"name": "x", "kind": "magic", "points": 1}
        )
    assert _fields(exc) == {"kind": "invalid-choice"}
    assert not ScoringRule.objects.exists()


def test_fit_rules_cannot_use_changed(workspace, admin):
    with pytest.raises(ValidationFailed) as exc:
        services.scoring_rule_create(
            workspace=workspace,
            actor=admin,
            data={
                "name": "x",
                "kind": "fit",
                "points": 5,
                "conditions": {"all": [{"field": "country", "op": "changed"}]},
            },
        )
    assert _fields(exc) == {"conditions": "invalid"}


def test_update_and_delete(workspace, admin, rule_factory):
    rule = rule_factory(conditions=BRAZIL)
    services.scoring_rule_update(
        workspace=workspace, actor=admin, rule_id=rule.pk, data={"points": 15, "name": "BR"}
    )
    rule.refresh_from_db()
    assert (rule.points, rule.name) == (15, "BR")
    changes = Event.objects.get(type="scoring_rule.updated").payload["changes"]
    assert changes["points"] == [10, 15]
    assert changes["name"][1] == "BR"
    services.scoring_rule_delete(workspace=workspace, actor=admin, rule_id=rule.pk)
    rule.refresh_from_db()
    assert rule.deleted_at is not None and not rule.is_active
    with pytest.raises(NotFound):
        services.scoring_rule_update(
            workspace=workspace, actor=admin, rule_id=rule.pk, data={"points": 1}
        )


def test_a_rule_of_another_workspace_is_not_found(workspace, other_workspace, admin, rule_factory):
    foreign = rule_factory(ws=other_workspace, conditions=BRAZIL)
    with pytest.raises(NotFound):
        services.scoring_rule_update(
            workspace=workspace, actor=admin, rule_id=foreign.pk, data={"points": 1}
        )
    with pytest.raises(NotFound):
        services.scoring_rule_delete(workspace=workspace, actor=admin, rule_id=foreign.pk)


def test_sales_reps_read_rules_but_do_not_write_them(workspace, make_member):
    rep = make_member("rep@acme.test", Role.SALES)
    marketer = make_member("mkt@acme.test", Role.MARKETING)
    data = {"name": "BR", "kind": "fit", "points": 5, "conditions": BRAZIL}
    with pytest.raises(PermissionDenied):
        services.scoring_rule_create(workspace=workspace, actor=rep, data=data)
    rule = services.scoring_rule_create(workspace=workspace, actor=marketer, data=data)
    # Marketing works the rules but deleting is for managers and admins.
    with pytest.raises(PermissionDenied):
        services.scoring_rule_delete(workspace=workspace, actor=marketer, rule_id=rule.pk)


def test_rule_changes_rescore_every_lead_after_commit(workspace, admin, lead_factory, dispatch):
    brazilian = lead_factory(country="BR")
    other = lead_factory(country="AR")
    rule = dispatch(
        services.scoring_rule_create,
        workspace=workspace,
        actor=admin,
        data={"name": "Country is Brazil", "kind": "fit", "points": 10, "conditions": BRAZIL},
    )
    assert (_lead(brazilian.pk).score, _lead(other.pk).score) == (10, 0)
    assert _lead(brazilian.pk).score_reasons == [
        {"kind": "fit", "rule_id": rule.pk, "label": "Country is Brazil", "points": 10}
    ]
    dispatch(
        services.scoring_rule_update,
        workspace=workspace,
        actor=admin,
        rule_id=rule.pk,
        data={"points": 25},
    )
    assert _lead(brazilian.pk).score == 25
    dispatch(services.scoring_rule_delete, workspace=workspace, actor=admin, rule_id=rule.pk)
    assert _lead(brazilian.pk).score == 0
    assert _lead(brazilian.pk).score_reasons == []


def test_half_life_setting(workspace, admin, make_member):
    settings = services.scoring_settings_update(
        workspace=workspace, actor=admin, data={"score_half_life_days": "14"}
    )
    assert settings.score_half_life_days == 14 == sales_settings_for(workspace).score_half_life_days
    for bad in (0, -3, 5000, "soon", True, None):
        with pytest.raises(ValidationFailed) as exc:
            services.scoring_settings_update(
                workspace=workspace, actor=admin, data={"score_half_life_days": bad}
            )
        assert _fields(exc) == {"score_half_life_days": "out-of-range"}
    rep = make_member("rep@acme.test", Role.SALES)
    with pytest.raises(PermissionDenied):
        services.scoring_settings_update(
            workspace=workspace, actor=rep, data={"score_half_life_days": 7}
        )


# ---------------------------------------------------------------------------------------------
# Scores


def test_refresh_combines_fit_and_decayed_engagement(workspace, lead_factory, rule_factory):
    sales_settings_for(workspace)  # half-life 30 days
    brazil = rule_factory(name="Country is Brazil", points=10, conditions=BRAZIL)
    rule_factory(name="Retail", points=7, conditions=RETAIL)
    form = rule_factory(
        name="Form submitted", kind="engagement", event_type="webform.submitted", points=8
    )
    lead = lead_factory(country="br", industry="Serviços")
    now = timezone.now()
    for days in (0, 30, 60):
        LeadEngagement.objects.create(
            workspace=workspace,
            lead=lead,
            rule=form,
            points=8,
            occurred_at=now - dt.timedelta(days=days),
        )
    refreshed = services.lead_score_refresh(workspace=workspace, lead_id=lead.pk)
    stored = _lead(lead.pk)
    # 10 (fit) + 8 + 4 + 2 (decayed)
    assert refreshed.score == stored.score == 24
    assert [(r["label"], r["points"], r.get("count")) for r in stored.score_reasons] == [
        ("Form submitted", 14, 3),
        ("Country is Brazil", 10, None),
    ]
    assert stored.scored_at is not None
    assert stored.predicted_score is None and stored.predicted_factors == []
    assert brazil.pk in {r["rule_id"] for r in stored.score_reasons}


def test_inactive_rules_do_not_count(workspace, lead_factory, rule_factory):
    rule_factory(points=10, conditions=BRAZIL, is_active=False)
    lead = lead_factory(country="BR")
    assert services.lead_score_refresh(workspace=workspace, lead_id=lead.pk).score == 0


def test_refresh_of_a_missing_or_foreign_lead(workspace, other_workspace, lead_factory):
    foreign = lead_factory(ws=other_workspace)
    with pytest.raises(NotFound):
        services.lead_score_refresh(workspace=workspace, lead_id=foreign.pk)
    with pytest.raises(NotFound):
        services.lead_score_refresh(workspace=workspace, lead_id=10**9)


def test_bulk_recompute_matches_one_by_one(workspace, lead_factory, rule_factory, other_workspace):
    rule_factory(name="Country is Brazil", points=10, conditions=BRAZIL)
    rule_factory(name="Retail", points=-3, conditions=RETAIL)
    form = rule_factory(
        name="Form submitted", kind="engagement", event_type="webform.submitted", points=5
    )
    leads = [
        lead_factory(country=country, industry=industry)
        for country in ("BR", "AR", "")
        for industry in ("Varejo", "Serviços")
    ]
    for lead in leads[::2]:
        LeadEngagement.objects.create(workspace=workspace, lead=lead, rule=form, points=5)
    outsider = lead_factory(ws=other_workspace, country="BR")
    assert services.scores_recompute(workspace=workspace, chunk=4) == len(leads)
    bulk = {lead.pk: (_lead(lead.pk).score, _lead(lead.pk).score_reasons) for lead in leads}
    assert [score for score, _reasons in bulk.values()] == [12, 10, 2, 0, -3 + 5, 0]
    for lead in leads:
        services.lead_score_refresh(workspace=workspace, lead_id=lead.pk)
        assert (_lead(lead.pk).score, _lead(lead.pk).score_reasons) == bulk[lead.pk]
    assert Lead.all_tenants.get(pk=outsider.pk).scored_at is None
    # Only the given leads.
    assert services.scores_recompute(workspace=workspace, lead_ids=[leads[0].pk]) == 1


def test_recompute_leaves_deleted_leads_alone(workspace, lead_factory, rule_factory):
    rule_factory(points=10, conditions=BRAZIL)
    gone = lead_factory(country="BR", deleted_at=timezone.now())
    assert services.scores_recompute(workspace=workspace) == 0
    assert _lead(gone.pk).scored_at is None


# ---------------------------------------------------------------------------------------------
# Engagements from events


def _event(workspace, lead, type_: str, payload=None, subject=None) -> Event:
    return record_event(
        workspace=workspace, actor=None, type=type_, subject=subject or lead, payload=payload or {}
    )


def test_an_engagement_event_earns_points_once(workspace, lead_factory, rule_factory):
    form = rule_factory(
        name="Form submitted", kind="engagement", event_type="webform.submitted", points=8
    )
    lead = lead_factory()
    event = _event(workspace, lead, "webform.submitted", {"form_id": 1})
    assert deliver_event(event) >= 1
    engagement = LeadEngagement.objects.get()
    assert (engagement.lead_id, engagement.rule_id, engagement.event_id) == (
        lead.pk,
        form.pk,
        event.pk,
    )
    assert engagement.occurred_at == event.occurred_at
    assert _lead(lead.pk).score == 8
    # A second delivery (a retry, a racing worker) adds nothing.
    services.lead_engagement_record(workspace=workspace, event=event)
    assert LeadEngagement.objects.count() == 1
    assert _lead(lead.pk).score == 8
    # A second submission is a second engagement.
    deliver_event(_event(workspace, lead, "webform.submitted"))
    assert _lead(lead.pk).score == 16
    assert _lead(lead.pk).score_reasons[0]["count"] == 2


def test_events_naming_a_lead_in_their_payload_count(
    workspace, lead_factory, rule_factory, contact_like
):
    rule_factory(name="Call logged", kind="engagement", event_type="interaction.logged", points=3)
    lead = lead_factory()
    deliver_event(
        _event(workspace, lead, "interaction.logged", {"lead_id": lead.pk}, subject=contact_like)
    )
    assert _lead(lead.pk).score == 3


def test_engagement_conditions_filter_the_lead(workspace, lead_factory, rule_factory):
    rule_factory(
        name="Brazilian form",
        kind="engagement",
        event_type="webform.submitted",
        points=8,
        conditions=BRAZIL,
    )
    brazilian, argentinian = lead_factory(country="BR"), lead_factory(country="AR")
    for lead in (brazilian, argentinian):
        deliver_event(_event(workspace, lead, "webform.submitted"))
    assert (_lead(brazilian.pk).score, _lead(argentinian.pk).score) == (8, 0)


def test_lead_created_and_relevant_updates_refresh(workspace, lead_factory, rule_factory):
    rule_factory(name="Country is Brazil", points=10, conditions=BRAZIL)
    lead = lead_factory(country="BR")
    deliver_event(_event(workspace, lead, "lead.created"))
    assert _lead(lead.pk).score == 10
    Lead.objects.filter(pk=lead.pk).update(country="AR")
    # A change the score does not read leaves the stored score as it was.
    deliver_event(_event(workspace, lead, "lead.updated", {"changes": {"first_name": ["A", "B"]}}))
    assert _lead(lead.pk).score == 10
    deliver_event(_event(workspace, lead, "lead.updated", {"changes": {"country": ["BR", "AR"]}}))
    assert _lead(lead.pk).score == 0


def test_events_of_other_subjects_cost_nothing(workspace, django_assert_num_queries, contact_like):
    event = _event(workspace, None, "contact.updated", {"changes": {}}, subject=contact_like)
    from vinculo.sales.scoring.wiring import score_lead_events

    with django_assert_num_queries(0):
        score_lead_events(event)


def test_a_lead_of_another_workspace_named_in_a_payload_is_ignored(
    workspace, other_workspace, lead_factory, rule_factory, contact_like
):
    rule_factory(name="Call", kind="engagement", event_type="interaction.logged", points=3)
    foreign = lead_factory(ws=other_workspace)
    event = _event(
        workspace, None, "interaction.logged", {"lead_id": foreign.pk}, subject=contact_like
    )
    assert services.lead_engagement_record(workspace=workspace, event=event) is None
    assert not LeadEngagement.all_tenants.exists()


@pytest.fixture
def contact_like(workspace):
    from vinculo.contacts.models import Contact

    return Contact.objects.create(workspace=workspace, first_name="Ana")


# ---------------------------------------------------------------------------------------------
# Prediction on the lead, retraining and the nightly run


def _history(workspace, lead_factory, close_lead, n=20):
    for _ in range(n):
        close_lead(lead_factory(source="Indicação", job_title="CEO"), "won")
        close_lead(lead_factory(source="Google Ads", job_title=""), "lost")


def test_retrain_scores_open_leads_with_factors(workspace, lead_factory, close_lead):
    _history(workspace, lead_factory, close_lead)
    hot = lead_factory(source="Indicação", job_title="Sócia")
    cold = lead_factory(source="Google Ads")
    models = services.lead_scoring_retrain(workspace=workspace)
    assert len(models) == 1
    hot, cold = _lead(hot.pk), _lead(cold.pk)
    assert hot.predicted_score >= 90 and cold.predicted_score <= 10
    assert hot.predicted_factors[0]["feature"] in {"source", "seniority"}
    assert all(f["weight"] > 0 for f in hot.predicted_factors)
    # Closed leads keep the prediction they had: only open leads are rescored.
    closed = Lead.objects.filter(status__in=["converted", "disqualified"])
    assert not closed.filter(predicted_score__isnull=False).exists()
    # A lead refreshed later uses the stored model.
    Lead.objects.filter(pk=cold.pk).update(source="Indicação", job_title="CEO")
    assert services.lead_score_refresh(workspace=workspace, lead_id=cold.pk).predicted_score >= 90


def test_nightly_runs_once_a_night_in_the_workspace_time_zone(
    workspace, lead_factory, close_lead, other_workspace
):
    _history(workspace, lead_factory, close_lead)
    lead_factory(ws=other_workspace)
    other_workspace.time_zone = "Asia/Tokyo"
    other_workspace.save()
    # 05:30 UTC is 02:30 in São Paulo and 14:30 in Tokyo.
    night = dt.datetime(2026, 3, 10, 5, 30, tzinfo=dt.UTC)
    assert services.scoring_nightly_enqueue(now=night) == [workspace.pk]
    assert LeadScoringModel.objects.filter(is_current=True).count() == 1
    assert PeriodicRun.objects.filter(name=f"sales.scoring.nightly:{workspace.pk}").exists()
    # Later that night (another worker, the next hourly call): already done.
    assert services.scoring_nightly_enqueue(now=night + dt.timedelta(hours=1)) == []
    # During the day nothing runs.
    PeriodicRun.objects.all().delete()
    assert services.scoring_nightly_enqueue(now=night + dt.timedelta(hours=10)) == []


def test_the_nightly_job_and_subscriber_are_registered():
    from vinculo.core.events import registered_subscribers
    from vinculo.core.periodic import registered_jobs

    assert "sales.scoring.engagement" in {s.name for s in registered_subscribers()}
    assert "sales.scoring.nightly" in {j.name for j in registered_jobs()}


def test_rules_reading_custom_fields_score_in_bulk_too(workspace, lead_factory, rule_factory):
    rule_factory(
        name="Government",
        points=9,
        conditions={"all": [{"field": "custom_fields.segment", "op": "eq", "value": "gov"}]},
    )
    public = lead_factory(custom_fields={"segment": "gov"})
    private = lead_factory(custom_fields={"segment": "retail"})
    assert services.scores_recompute(workspace=workspace) == 2
    assert (_lead(public.pk).score, _lead(private.pk).score) == (9, 0)
    assert services.lead_score_refresh(workspace=workspace, lead_id=public.pk).score == 9


def test_a_rule_whose_field_disappeared_scores_nothing(workspace, lead_factory, rule_factory):
    # Written before a field was removed from the registry: it no longer matches anything,
    # and the other rules still count.
    rule_factory(
        name="Gone",
        points=50,
        conditions={"all": [{"field": "shoe_size", "op": "eq", "value": 42}]},
    )
    rule_factory(name="Country is Brazil", points=10, conditions=BRAZIL)
    lead = lead_factory(country="BR")
    assert services.scores_recompute(workspace=workspace) == 1
    assert _lead(lead.pk).score == 10


def test_erasure_drops_the_predicted_factors_of_erased_leads(workspace, lead_factory):
    from vinculo.contacts.privacy.services import erasure_steps

    factors = [
        {"feature": "state", "code": "sp", "value": "SP", "weight": 0.4, "label": "State: SP"}
    ]
    erased = lead_factory(predicted_score=70, predicted_factors=factors, erased_at=timezone.now())
    kept = lead_factory(predicted_score=70, predicted_factors=factors)
    assert services.erased_lead_predictions_clear(workspace=workspace) == 1
    assert (_lead(erased.pk).predicted_score, _lead(erased.pk).predicted_factors) == (None, [])
    assert _lead(kept.pk).predicted_factors == factors
    names = [f"{step.__module__}.{step.__qualname__}" for step in erasure_steps()]
    assert "vinculo.sales.scoring.wiring._erase_predictions" in names


def test_through_the_leads_services(workspace, admin, rule_factory, dispatch):
    """The events the leads area records move the score: a new lead is scored, a change of a
    field a fit rule reads rescores it."""
    from vinculo.sales.leads.services import lead_create, lead_update

    rule_factory(name="Country is Brazil", points=10, conditions=BRAZIL)
    lead = dispatch(
        lead_create,
        workspace=workspace,
        actor=admin,
        data={"first_name": "Ana", "email": "ana@souza.com.br", "country": "BR"},
    )
    assert _lead(lead.pk).score == 10
    assert _lead(lead.pk).score_reasons[0]["label"] == "Country is Brazil"
    dispatch(lead_update, workspace=workspace, actor=admin, lead_id=lead.pk, data={"country": "AR"})
    assert _lead(lead.pk).score == 0


def test_a_second_recompute_writes_only_what_moved(workspace, lead_factory, rule_factory):
    rule = rule_factory(name="Country is Brazil", points=10, conditions=BRAZIL)
    brazilian, other = lead_factory(country="BR"), lead_factory(country="AR")
    services.scores_recompute(workspace=workspace)
    first = {lead.pk: _lead(lead.pk).scored_at for lead in (brazilian, other)}
    services.scores_recompute(workspace=workspace)
    # Nothing moved: the scores stay, the time of scoring advances (the progress reads it).
    assert (_lead(brazilian.pk).score, _lead(other.pk).score) == (10, 0)
    assert all(_lead(pk).scored_at > at for pk, at in first.items())
    ScoringRule.objects.filter(pk=rule.pk).update(points=12)
    services.scores_recompute(workspace=workspace)
    assert _lead(brazilian.pk).score == 12
    assert _lead(brazilian.pk).score_reasons[0]["points"] == 12


def test_rules_on_computed_lead_fields_score_in_bulk(workspace, lead_factory, rule_factory):
    from vinculo.automation.subjects import subject_type

    if subject_type("lead").get_field("email_domain") is None:
        pytest.skip("the lead subject offers no email domain")
    rule_factory(
        name="Free webmail",
        points=-5,
        conditions={"all": [{"field": "email_domain", "op": "in", "value": ["gmail.com"]}]},
    )
    free, corporate = lead_factory(email="ana@gmail.com"), lead_factory(email="ana@souza.com.br")
    assert services.scores_recompute(workspace=workspace) == 2
    assert (_lead(free.pk).score, _lead(corporate.pk).score) == (-5, 0)
