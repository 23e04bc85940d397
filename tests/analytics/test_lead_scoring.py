"""The predictive lead score: naive Bayes arithmetic checked by hand, the features, the
metrics, the history it learns from, and that a clearly separable history scores the right
leads high."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest

from tests.sales.scoring import conftest as scoring_fixtures
from vinculo.analytics import lead_scoring
from vinculo.analytics.lead_scoring import (
    NaiveBayes,
    accuracy,
    auc,
    email_kind,
    engagement_bucket,
    lead_features,
    seniority,
)
from vinculo.analytics.models import LeadScoringModel
from vinculo.core.models import Team
from vinculo.sales.models import LeadEngagement, ScoringRule

# The scoring tests' fixtures: leads, and closing them as won, lost or disqualified.
lead_factory = scoring_fixtures.lead_factory
pipeline = scoring_fixtures.pipeline
close_lead = scoring_fixtures.close_lead

# ---------------------------------------------------------------------------------------------
# The arithmetic, on a history small enough to compute by hand:
#   won:  (A, yes) (A, yes) (B, no)              → n(won) = 3
#   lost: (B, no) (B, yes) (C, no) (B, no)       → n(lost) = 4
# source has 3 values seen → 4 slots; phone 2 values → 3 slots; α = 1.

ROWS = [
    {"source": "A", "phone": "yes"},
    {"source": "A", "phone": "yes"},
    {"source": "B", "phone": "no"},
    {"source": "B", "phone": "no"},
    {"source": "B", "phone": "yes"},
    {"source": "C", "phone": "no"},
    {"source": "B", "phone": "no"},
]
OUTCOMES = [True, True, True, False, False, False, False]


@pytest.fixture
def tiny() -> NaiveBayes:
    return NaiveBayes.fit(ROWS, OUTCOMES)


def test_counts_and_priors(tiny: NaiveBayes):
    assert (tiny.won, tiny.lost) == (3, 4)
    assert tiny.counts["source"] == {"A": [2, 0], "B": [1, 3], "C": [0, 1]}
    assert tiny.counts["phone"] == {"yes": [2, 1], "no": [1, 3]}
    assert tiny.prior_log_odds == pytest.approx(math.log(3 / 4))


def test_laplace_smoothed_likelihoods(tiny: NaiveBayes):
    # P(A | won) = (2 + 1) / (3 + 1·4); P(A | lost) = (0 + 1) / (4 + 4)
    assert tiny.likelihood("source", "A", won=True) == pytest.approx(3 / 7)
    assert tiny.likelihood("source", "A", won=False) == pytest.approx(1 / 8)
    # P(yes | won) = (2 + 1) / (3 + 3); P(yes | lost) = (1 + 1) / (4 + 3)
    assert tiny.likelihood("phone", "yes", won=True) == pytest.approx(1 / 2)
    assert tiny.likelihood("phone", "yes", won=False) == pytest.approx(2 / 7)
    # A value never seen gets the spare slot: α / (n(c) + α·slots).
    assert tiny.likelihood("source", "D", won=True) == pytest.approx(1 / 7)
    assert tiny.likelihood("source", "D", won=False) == pytest.approx(1 / 8)


def test_posterior_by_hand(tiny: NaiveBayes):
    # odds = 3/4 · (3/7)/(1/8) · (1/2)/(2/7) = 3/4 · 24/7 · 7/4 = 9/2 → P = 9/11
    odds = Fraction(3, 4) * (Fraction(3, 7) / Fraction(1, 8)) * (Fraction(1, 2) / Fraction(2, 7))
    assert odds == Fraction(9, 2)
    lead = {"source": "A", "phone": "yes"}
    assert tiny.probability(lead) == pytest.approx(9 / 11)
    assert tiny.log_odds(lead) == pytest.approx(math.log(4.5))
    contributions = tiny.contributions(lead)
    assert contributions["source"] == pytest.approx(math.log(24 / 7))
    assert contributions["phone"] == pytest.approx(math.log(7 / 4))


def test_unseen_values_and_unknown_features(tiny: NaiveBayes):
    # D: (1/7)/(1/8) = 8/7; no: (1/3)/(4/7) = 7/12 → odds 3/4 · 8/7 · 7/12 = 1/2 → P = 1/3
    lead = {"source": "D", "phone": "no", "colour": "blue"}
    assert tiny.probability(lead) == pytest.approx(1 / 3)
    assert set(tiny.contributions(lead)) == {"source", "phone"}


def test_parameters_round_trip(tiny: NaiveBayes):
    again = NaiveBayes.from_parameters(tiny.to_parameters())
    lead = {"source": "B", "phone": "yes"}
    assert again.probability(lead) == pytest.approx(tiny.probability(lead))


def test_auc_and_accuracy_by_hand():
    # Pairs (won, lost): (0.9,0.3) (0.9,0.6) (0.5,0.3) (0.5,0.6) → 3 of 4 ranked right.
    assert auc([0.9, 0.5, 0.3, 0.6], [True, True, False, False]) == pytest.approx(0.75)
    # A tie between a won and a lost lead counts half.
    assert auc([0.5, 0.5], [True, False]) == pytest.approx(0.5)
    assert auc([0.1, 0.2], [True, True]) is None
    assert accuracy([0.9, 0.5, 0.3, 0.6], [True, True, False, False]) == pytest.approx(0.75)


# ---------------------------------------------------------------------------------------------
# Features


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("CEO", "executive"),
        ("Sócio-fundador", "executive"),
        ("Proprietária", "executive"),
        ("Diretora Comercial", "director"),
        ("VP of Sales", "director"),
        ("Vice-presidente", "director"),
        ("Head of Growth", "director"),
        ("Gerente de TI", "manager"),
        ("Sales Manager", "manager"),
        ("Coordenadora de marketing", "manager"),
        ("Analista", "other"),
        ("", "none"),
    ],
)
def test_seniority_keywords(title: str, expected: str):
    assert seniority(title) == expected


def test_email_kind_and_buckets():
    assert email_kind("ana@gmail.com") == "free"
    assert email_kind("ana@UOL.com.br") == "free"
    assert email_kind("ana@souza.com.br") == "corporate"
    assert email_kind("") == "none"
    assert [engagement_bucket(n) for n in (0, 1, 2, 4, 5, 40)] == [
        "0",
        "1",
        "2-4",
        "2-4",
        "5+",
        "5+",
    ]


def test_lead_features_ignore_case_accents_and_spacing():
    a = lead_features({"source": " Indicação ", "country": "br", "phone": "+55 11 9999"}, 3)
    b = lead_features({"source": "indicacao", "country": "BR", "phone": ""}, 0)
    assert a["source"] == b["source"] == "indicacao"
    assert a["country"] == b["country"] == "BR"
    assert (a["has_phone"], b["has_phone"]) == ("yes", "no")
    assert (a["engagement"], b["engagement"]) == ("2-4", "0")
    assert set(a) == set(lead_scoring.FEATURES)


# ---------------------------------------------------------------------------------------------
# History and training through the database


def test_history_outcomes(workspace, lead_factory, close_lead):
    won = lead_factory(source="Indicação")
    won_via_deal = lead_factory()
    lost = lead_factory()
    disqualified = lead_factory()
    lead_factory()  # open: not history
    still_open = lead_factory()
    close_lead(won, "won")
    close_lead(won_via_deal, "won", via="deal")
    close_lead(lost, "lost")
    close_lead(disqualified, "disqualified")
    deleted = lead_factory()
    close_lead(deleted, "won")
    deleted.deleted_at = deleted.created_at
    deleted.save(update_fields=["deleted_at"])
    # A converted lead whose deal is still open has no outcome yet.
    close_lead(still_open, "won")
    still_open.converted_deal.status = "open"
    still_open.converted_deal.save(update_fields=["status"])

    history = lead_scoring.closed_history(workspace=workspace)
    outcome = dict(zip(history.ids, history.outcomes, strict=True))
    assert outcome == {won.pk: True, won_via_deal.pk: True, lost.pk: False, disqualified.pk: False}
    assert history.rows[history.ids.index(won.pk)]["source"] == "indicacao"


def _separable_history(workspace, lead_factory, close_lead, *, team=None, n=40):
    """Referrals from large companies with a director are won; paid ads from tiny companies
    with a free mailbox are lost."""
    for i in range(n):
        good = lead_factory(
            source="Indicação",
            company_size="201-1000",
            job_title="Diretor Comercial",
            email=f"d{i}@empresa{i}.com.br",
            phone="+5511999990000",
            team=team,
        )
        close_lead(good, "won")
        bad = lead_factory(
            source="Google Ads",
            company_size="1-10",
            job_title="Estagiário",
            email=f"x{i}@gmail.com",
            phone="",
            team=team,
        )
        close_lead(bad, "lost" if i % 2 else "disqualified")


def test_separable_history_scores_the_right_leads_high(workspace, lead_factory, close_lead):
    _separable_history(workspace, lead_factory, close_lead)
    trained = lead_scoring.lead_scoring_train(workspace=workspace)
    assert len(trained) == 1
    stored = LeadScoringModel.objects.get(is_current=True)
    assert stored.team_id is None
    assert (stored.won_count, stored.lost_count) == (40, 40)
    assert stored.metrics["auc"] == pytest.approx(1.0)
    assert stored.metrics["accuracy"] == pytest.approx(1.0)
    assert stored.metrics["train_size"] + stored.metrics["test_size"] == 80
    assert 0 < stored.metrics["test_size"] < 80

    models = lead_scoring.current_models(workspace=workspace)
    promising = lead_factory(
        source="indicacao", company_size="201-1000", job_title="Diretora", phone="+5511"
    )
    weak = lead_factory(
        source="Google Ads", company_size="1-10", job_title="", email="a@gmail.com", phone=""
    )
    good = models.predict(lead_scoring.lead_row(promising))
    poor = models.predict(lead_scoring.lead_row(weak))
    assert good is not None and poor is not None
    assert good.score >= 95
    assert poor.score <= 5
    # The reasons name what made the difference, biggest first.
    assert 3 <= len(good.factors) <= 5
    assert {f["feature"] for f in good.factors} >= {"source", "company_size", "seniority"}
    assert all(f["weight"] > 0 for f in good.factors)
    assert all(f["weight"] < 0 for f in poor.factors)
    weights = [abs(f["weight"]) for f in good.factors]
    assert weights == sorted(weights, reverse=True)
    source = next(f for f in good.factors if f["feature"] == "source")
    assert source["value"] == "indicacao"
    assert lead_scoring.factor_text(source) == "Source: indicacao — raises the chance"
    size = next(f for f in good.factors if f["feature"] == "company_size")
    assert lead_scoring.factor_text(size) == "Company size: 201–1,000 employees — raises the chance"


def test_too_little_history_trains_nothing(workspace, lead_factory, close_lead):
    _separable_history(workspace, lead_factory, close_lead, n=10)  # 20 closed < 30
    assert lead_scoring.lead_scoring_train(workspace=workspace) == []
    assert not lead_scoring.current_models(workspace=workspace)
    assert lead_scoring.current_models(workspace=workspace).predict({"team_id": None}) is None


def test_a_team_with_enough_history_gets_its_own_model(workspace, lead_factory, close_lead):
    north = Team.objects.create(workspace=workspace, name="Norte")
    south = Team.objects.create(workspace=workspace, name="Sul")
    _separable_history(workspace, lead_factory, close_lead, team=north, n=20)
    _separable_history(workspace, lead_factory, close_lead, team=south, n=5)  # 10 < 30
    trained = lead_scoring.lead_scoring_train(workspace=workspace)
    assert sorted((m.team_id or 0) for m in trained) == [0, north.pk]
    models = lead_scoring.current_models(workspace=workspace)
    assert models.model_for(north.pk)[0] == next(m.pk for m in trained if m.team_id == north.pk)
    # Sul has too little history: its leads use the workspace's model.
    assert models.model_for(south.pk)[0] == next(m.pk for m in trained if m.team_id is None)


def test_retraining_replaces_the_current_model(workspace, lead_factory, close_lead):
    _separable_history(workspace, lead_factory, close_lead, n=20)
    first = lead_scoring.lead_scoring_train(workspace=workspace)[0]
    second = lead_scoring.lead_scoring_train(workspace=workspace)[0]
    current = list(LeadScoringModel.objects.filter(is_current=True).values_list("id", flat=True))
    assert current == [second.pk]
    assert LeadScoringModel.objects.filter(pk=first.pk, is_current=False).exists()


def test_engagement_counts_feed_the_model(workspace, lead_factory, close_lead):
    rule = ScoringRule.objects.create(
        workspace=workspace,
        name="Form",
        kind="engagement",
        event_type="webform.submitted",
        points=5,
    )
    for _ in range(20):
        good = lead_factory(source="Same")
        for _n in range(3):
            LeadEngagement.objects.create(workspace=workspace, lead=good, rule=rule, points=5)
        close_lead(good, "won")
        close_lead(lead_factory(source="Same"), "lost")
    lead_scoring.lead_scoring_train(workspace=workspace)
    models = lead_scoring.current_models(workspace=workspace)
    engaged = models.predict({"team_id": None, "source": "Same"}, engagement_count=2)
    silent = models.predict({"team_id": None, "source": "Same"}, engagement_count=0)
    assert engaged.score > 90 > 10 > silent.score
    assert engaged.factors[0]["feature"] == "engagement"
    assert lead_scoring.factor_text(engaged.factors[0]) == (
        "Engagement: 2–4 engagements — raises the chance"
    )


def test_other_workspaces_history_is_not_learnt(
    workspace, other_workspace, lead_factory, close_lead
):
    _separable_history(workspace, lead_factory, close_lead, n=20)
    assert lead_scoring.lead_scoring_train(workspace=other_workspace) == []
    assert LeadScoringModel.all_tenants.filter(workspace=other_workspace).count() == 0
