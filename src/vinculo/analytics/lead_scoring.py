"""Predictive lead scoring: how likely an open lead is to end in a won deal, learnt from the
workspace's own won and lost history with a categorical naive Bayes model, and why.

History (closed leads)
- won: the lead was converted into a deal that was won (the lead's converted deal, or a deal
  that points at the lead);
- lost: the lead was disqualified, or its deal was lost.
Open leads, leads whose deal is still open, and deleted or erased leads are not history.

Features (each one a category; an empty value is a category of its own, since "no phone
given" says something too)
- `source`, `utm_source`, `utm_medium`, `industry`, `country`, `state`: the lead's own text,
  compared with case, accents and spacing ignored;
- `company_size`: the size band;
- `email_kind`: free webmail (gmail.com, hotmail.com, uol.com.br, …), corporate, or none;
- `has_phone`: whether a phone number was given;
- `seniority`: executive (CEO, founder, sócio, owner, president…), director (director/diretor,
  head, VP…), manager (manager/gerente, coordinator, supervisor…), other title, or none — by
  keywords of the job title in English and Portuguese;
- `engagement`: how many scored engagements the lead has (0, 1, 2–4, 5 or more);
- `web_form`: the web form the lead came through, or none.

Model. P(won | x) ∝ P(won) · Π_f P(x_f | won), and the same for lost. The likelihoods are
smoothed with Laplace's rule over the values seen in training plus one slot for values never
seen: P(v | c) = (n(f = v, c) + α) / (n(c) + α · (K_f + 1)), α = 1, K_f = distinct values of f.
Each feature's contribution to a lead is its log-likelihood ratio
    LLR_f = log P(x_f | won) − log P(x_f | lost),
and the log-odds of winning are log(n(won) / n(lost)) + Σ_f LLR_f, so P(won) = 1 / (1 + e^−odds).
The largest contributions by size are the factors shown on the lead ("Source: Referral —
raises the chance").

One model per team with enough history (MIN_HISTORY closed leads, MIN_PER_OUTCOME of each
outcome), and one for the whole workspace: a team's open leads use their team's model, every
other lead the workspace's. Without enough history there is no model and no prediction.

Metrics: a model fitted on 80% of the history is measured on the other 20% (AUC and accuracy
at 50%); the split is fixed by lead id, so runs on the same data agree. The stored model is
then fitted on all of it.

Plain Python on purpose: training is counting, 100,000 leads take a few seconds, and every
prediction must be explained feature by feature; scikit-learn's CategoricalNB would bring
numpy and scipy for no gain at this size.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from vinculo.analytics.models import LeadScoringModel
from vinculo.contacts.dedupe.scoring import FREE_MAIL_DOMAINS
from vinculo.contacts.models import CompanySize
from vinculo.core.search import normalize_text
from vinculo.sales.models import Deal, DealStatus, Lead, LeadEngagement, LeadStatus

if TYPE_CHECKING:
    from vinculo.core.models import Workspace

ALPHA = 1.0
MIN_HISTORY = 30
MIN_PER_OUTCOME = 5
TEST_SHARE_PERCENT = 20
MAX_FACTORS = 5
# A feature that moves the odds by less than about 5% is not a reason worth showing.
MIN_FACTOR_WEIGHT = 0.05
# Superseded models are kept this long (to compare runs), then removed.
KEEP_OLD_MODELS = timedelta(days=60)
PARAMETERS_VERSION = 1

FEATURES: tuple[str, ...] = (
    "source",
    "utm_source",
    "utm_medium",
    "industry",
    "company_size",
    "country",
    "state",
    "email_kind",
    "has_phone",
    "seniority",
    "engagement",
    "web_form",
)

FEATURE_LABELS: dict[str, Any] = {
    "source": _("Source"),
    "utm_source": "UTM source",
    "utm_medium": "UTM medium",
    "industry": _("Industry"),
    "company_size": _("Company size"),
    "country": _("Country"),
    "state": _("State"),
    "email_kind": _("Email"),
    "has_phone": _("Phone"),
    "seniority": _("Job title"),
    "engagement": _("Engagement"),
    "web_form": _("Web form"),
}

# Features whose values are codes of ours: shown through these words, in the reader's language.
CODED_VALUES: dict[str, dict[str, Any]] = {
    "company_size": {value: label for value, label in CompanySize.choices},
    "email_kind": {
        "free": _("free webmail"),
        "corporate": _("corporate address"),
        "none": pgettext_lazy("email kind", "none"),
    },
    "has_phone": {
        "yes": pgettext_lazy("lead detail", "given"),
        "no": pgettext_lazy("lead detail", "not given"),
    },
    "seniority": {
        "executive": pgettext_lazy("seniority", "executive or owner"),
        "director": pgettext_lazy("seniority", "director"),
        "manager": pgettext_lazy("seniority", "manager"),
        "other": pgettext_lazy("seniority", "other title"),
        "none": pgettext_lazy("lead detail", "not given"),
    },
    "engagement": {
        "0": _("no engagement"),
        "1": _("1 engagement"),
        "2-4": _("2–4 engagements"),
        "5+": _("5 or more engagements"),
    },
}
NONE_VALUE = ""

# The columns of a lead the features are computed from.
LEAD_COLUMNS: tuple[str, ...] = (
    "id",
    "team_id",
    "source",
    "utm_source",
    "utm_medium",
    "industry",
    "company_size",
    "country",
    "state",
    "email",
    "phone",
    "job_title",
    "web_form_id",
)
# Lead fields whose change can change the prediction.
FEATURE_FIELDS = frozenset(
    {
        "source",
        "utm_source",
        "utm_medium",
        "industry",
        "company_size",
        "country",
        "state",
        "email",
        "phone",
        "job_title",
        "web_form",
        "web_form_id",
        "team",
        "team_id",
    }
)

# ---------------------------------------------------------------------------------------------
# Features

_WORD = re.compile(r"[a-z0-9]+")
_EXECUTIVE = frozenset(
    {
        "ceo",
        "cfo",
        "cto",
        "coo",
        "cmo",
        "cio",
        "cro",
        "chief",
        "founder",
        "cofounder",
        "fundador",
        "fundadora",
        "cofundador",
        "cofundadora",
        "socio",
        "socia",
        "owner",
        "proprietario",
        "proprietaria",
        "dono",
        "dona",
        "president",
        "presidente",
        "partner",
        "empresario",
        "empresaria",
    }
)
_DIRECTOR = frozenset(
    {
        "director",
        "diretor",
        "diretora",
        "directora",
        "head",
        "vp",
        "vice",
        "superintendente",
        "superintendent",
    }
)
_MANAGER = frozenset(
    {
        "manager",
        "gerente",
        "coordenador",
        "coordenadora",
        "coordinator",
        "supervisor",
        "supervisora",
        "lider",
        "lead",
        "chefe",
    }
)


def seniority(job_title: str | None) -> str:
    """executive / director / manager / other / none, from keywords of the title. A vice
    president is a director here: the title says "president" but the level is below it."""
    words = set(_WORD.findall(normalize_text(job_title)))
    if not words:
        return "none"
    if words & _DIRECTOR:
        return "director"
    if words & _EXECUTIVE:
        return "executive"
    if words & _MANAGER:
        return "manager"
    return "other"


def email_kind(email: str | None) -> str:
    address = (email or "").strip().lower()
    if "@" not in address:
        return "none"
    return "free" if address.rsplit("@", 1)[1] in FREE_MAIL_DOMAINS else "corporate"


def engagement_bucket(count: int) -> str:
    if count <= 0:
        return "0"
    if count == 1:
        return "1"
    return "2-4" if count <= 4 else "5+"


def lead_features(row: Mapping[str, Any], engagement_count: int = 0) -> dict[str, str]:
    """The categorical features of a lead, from its LEAD_COLUMNS (a dict or a model's values)."""
    web_form_id = row.get("web_form_id")
    return {
        "source": normalize_text(row.get("source")),
        "utm_source": normalize_text(row.get("utm_source")),
        "utm_medium": normalize_text(row.get("utm_medium")),
        "industry": normalize_text(row.get("industry")),
        "company_size": row.get("company_size") or NONE_VALUE,
        "country": (row.get("country") or "").strip().upper(),
        "state": normalize_text(row.get("state")),
        "email_kind": email_kind(row.get("email")),
        "has_phone": "yes" if (row.get("phone") or "").strip() else "no",
        "seniority": seniority(row.get("job_title")),
        "engagement": engagement_bucket(engagement_count),
        "web_form": str(web_form_id) if web_form_id else NONE_VALUE,
    }


def lead_row(lead: Any) -> dict[str, Any]:
    """The LEAD_COLUMNS of a lead (a model instance or any object with those attributes)."""
    return {name: getattr(lead, name) for name in LEAD_COLUMNS}


# ---------------------------------------------------------------------------------------------
# The model


@dataclass
class NaiveBayes:
    """Categorical naive Bayes of won vs lost with Laplace smoothing (see the module text).

    `counts[feature][value] = [n_won, n_lost]`.
    """

    won: int = 0
    lost: int = 0
    alpha: float = ALPHA
    counts: dict[str, dict[str, list[int]]] = field(default_factory=dict)
    _tables: dict[str, tuple[dict[str, float], float]] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    @classmethod
    def fit(
        cls, rows: Iterable[Mapping[str, str]], outcomes: Iterable[bool], alpha: float = ALPHA
    ) -> NaiveBayes:
        counts: dict[str, dict[str, list[int]]] = {}
        won = lost = 0
        for row, outcome in zip(rows, outcomes, strict=True):
            slot = 0 if outcome else 1
            if outcome:
                won += 1
            else:
                lost += 1
            for name, value in row.items():
                per_value = counts.get(name)
                if per_value is None:
                    per_value = counts[name] = {}
                pair = per_value.get(value)
                if pair is None:
                    pair = per_value[value] = [0, 0]
                pair[slot] += 1
        return cls(won=won, lost=lost, alpha=alpha, counts=counts)

    # -- parameters as stored ----------------------------------------------------------------

    def to_parameters(self) -> dict[str, Any]:
        return {
            "version": PARAMETERS_VERSION,
            "alpha": self.alpha,
            "won": self.won,
            "lost": self.lost,
            "features": self.counts,
        }

    @classmethod
    def from_parameters(cls, parameters: Mapping[str, Any]) -> NaiveBayes:
        return cls(
            won=int(parameters["won"]),
            lost=int(parameters["lost"]),
            alpha=float(parameters.get("alpha", ALPHA)),
            counts={
                name: {value: [int(pair[0]), int(pair[1])] for value, pair in values.items()}
                for name, values in parameters.get("features", {}).items()
            },
        )

    # -- the arithmetic ----------------------------------------------------------------------

    @property
    def prior_log_odds(self) -> float:
        return math.log(self.won / self.lost)

    def likelihood(self, feature: str, value: str, *, won: bool) -> float:
        """P(feature = value | outcome), smoothed."""
        values = self.counts.get(feature, {})
        slots = len(values) + 1
        count = values.get(value, [0, 0])[0 if won else 1]
        total = self.won if won else self.lost
        return (count + self.alpha) / (total + self.alpha * slots)

    def _llr_tables(self) -> dict[str, tuple[dict[str, float], float]]:
        """Per feature: LLR of each value seen, and the LLR of a value never seen."""
        if self._tables is None:
            tables = {}
            a = self.alpha
            for name, values in self.counts.items():
                slots = len(values) + 1
                won_total = math.log(self.won + a * slots)
                lost_total = math.log(self.lost + a * slots)
                table = {
                    value: (math.log(pair[0] + a) - won_total)
                    - (math.log(pair[1] + a) - lost_total)
                    for value, pair in values.items()
                }
                tables[name] = (table, lost_total - won_total)
            self._tables = tables
        return self._tables

    def contributions(self, features: Mapping[str, str]) -> dict[str, float]:
        """LLR of each feature of `features` the model knows."""
        tables = self._llr_tables()
        out = {}
        for name, value in features.items():
            entry = tables.get(name)
            if entry is not None:
                out[name] = entry[0].get(value, entry[1])
        return out

    def log_odds(self, features: Mapping[str, str]) -> float:
        return self.prior_log_odds + sum(self.contributions(features).values())

    def probability(self, features: Mapping[str, str]) -> float:
        return _sigmoid(self.log_odds(features))


def _sigmoid(x: float) -> float:
    x = max(-50.0, min(50.0, x))
    return 1.0 / (1.0 + math.exp(-x))


# ---------------------------------------------------------------------------------------------
# Measuring


def auc(scores: Sequence[float], outcomes: Sequence[bool]) -> float | None:
    """Area under the ROC curve: the chance that a won lead scores above a lost one (ties
    count half), by the Mann–Whitney rank sum. None without both outcomes."""
    positives = sum(1 for o in outcomes if o)
    negatives = len(outcomes) - positives
    if not positives or not negatives:
        return None
    order = sorted(range(len(scores)), key=scores.__getitem__)
    rank_sum = 0.0
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and scores[order[j + 1]] == scores[order[i]]:
            j += 1
        average_rank = (i + j) / 2 + 1
        rank_sum += average_rank * sum(1 for k in range(i, j + 1) if outcomes[order[k]])
        i = j + 1
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def accuracy(scores: Sequence[float], outcomes: Sequence[bool]) -> float | None:
    if not scores:
        return None
    right = sum(1 for s, o in zip(scores, outcomes, strict=True) if (s >= 0.5) == o)
    return right / len(scores)


def held_out(lead_id: int) -> bool:
    """Whether a lead of the history belongs to the 20% the model is measured on (Knuth's
    multiplicative hash spreads consecutive ids evenly)."""
    return (lead_id * 2654435761) % 4294967296 % 100 < TEST_SHARE_PERCENT


def evaluate(
    rows: Sequence[Mapping[str, str]], outcomes: Sequence[bool], ids: Sequence[int]
) -> dict[str, Any]:
    """Fit on the training share, score the held-out share: AUC, accuracy and the sizes."""
    train_rows, train_outcomes, test_rows, test_outcomes = [], [], [], []
    for row, outcome, lead_id in zip(rows, outcomes, ids, strict=True):
        if held_out(lead_id):
            test_rows.append(row)
            test_outcomes.append(outcome)
        else:
            train_rows.append(row)
            train_outcomes.append(outcome)
    metrics: dict[str, Any] = {
        "train_size": len(train_rows),
        "test_size": len(test_rows),
        "auc": None,
        "accuracy": None,
    }
    if not any(train_outcomes) or all(train_outcomes) or not test_rows:
        return metrics
    model = NaiveBayes.fit(train_rows, train_outcomes)
    scores = [model.probability(row) for row in test_rows]
    area = auc(scores, test_outcomes)
    share = accuracy(scores, test_outcomes)
    metrics["auc"] = round(area, 4) if area is not None else None
    metrics["accuracy"] = round(share, 4) if share is not None else None
    return metrics


# ---------------------------------------------------------------------------------------------
# History and training


@dataclass(frozen=True)
class History:
    ids: list[int]
    teams: list[int | None]
    rows: list[dict[str, str]]
    outcomes: list[bool]


def engagement_counts(*, workspace: Workspace, lead_ids: Iterable[int] | None = None) -> Counter:
    qs = LeadEngagement.objects.for_workspace(workspace)
    if lead_ids is not None:
        qs = qs.filter(lead_id__in=list(lead_ids))
    return Counter(
        dict(qs.values("lead_id").annotate(n=Count("id")).values_list("lead_id", "n").order_by())
    )


def closed_history(*, workspace: Workspace) -> History:
    """Every closed lead of the workspace with its features and whether it was won."""
    deal_outcomes: dict[int, str] = {}
    by_lead = (
        Deal.objects.for_workspace(workspace)
        .filter(lead__isnull=False, status__in=[DealStatus.WON, DealStatus.LOST])
        .values_list("lead_id", "status")
        .order_by()
    )
    for lead_id, status in by_lead:
        if deal_outcomes.get(lead_id) != DealStatus.WON:
            deal_outcomes[lead_id] = status
    closed = Q(status=LeadStatus.DISQUALIFIED) | Q(
        converted_deal__status__in=[DealStatus.WON, DealStatus.LOST]
    )
    if deal_outcomes:
        closed |= Q(
            id__in=Deal.objects.for_workspace(workspace)
            .filter(lead__isnull=False, status__in=[DealStatus.WON, DealStatus.LOST])
            .values("lead_id")
        )
    columns = (*LEAD_COLUMNS, "status", "converted_deal__status")
    leads = (
        Lead.objects.for_workspace(workspace)
        .filter(closed, deleted_at__isnull=True, erased_at__isnull=True)
        .values_list(*columns)
        .order_by("id")
    )
    counts = engagement_counts(workspace=workspace)
    ids: list[int] = []
    teams: list[int | None] = []
    rows: list[dict[str, str]] = []
    outcomes: list[bool] = []
    for values in leads.iterator(chunk_size=5000):
        record = dict(zip(columns, values, strict=True))
        lead_id = record["id"]
        deal_status = record["converted_deal__status"] or deal_outcomes.get(lead_id)
        won = deal_status == DealStatus.WON or deal_outcomes.get(lead_id) == DealStatus.WON
        ids.append(lead_id)
        teams.append(record["team_id"])
        rows.append(lead_features(record, counts.get(lead_id, 0)))
        outcomes.append(won)
    return History(ids=ids, teams=teams, rows=rows, outcomes=outcomes)


def _enough(outcomes: Sequence[bool]) -> bool:
    won = sum(1 for o in outcomes if o)
    lost = len(outcomes) - won
    return len(outcomes) >= MIN_HISTORY and won >= MIN_PER_OUTCOME and lost >= MIN_PER_OUTCOME


def _fit_and_measure(
    rows: Sequence[dict[str, str]], outcomes: Sequence[bool], ids: Sequence[int]
) -> tuple[NaiveBayes, dict[str, Any]]:
    metrics = evaluate(rows, outcomes, ids)
    model = NaiveBayes.fit(rows, outcomes)
    metrics.update({"won": model.won, "lost": model.lost, "features": list(FEATURES)})
    return model, metrics


def lead_scoring_train(*, workspace: Workspace) -> list[LeadScoringModel]:
    """Train the workspace's models from its closed leads: one per team with enough history
    and one for the whole workspace. Stores them as the current models (the previous ones
    stop being current; superseded models older than KEEP_OLD_MODELS are removed) and returns
    them; an empty list when the history is too short, and then no model is current."""
    history = closed_history(workspace=workspace)
    trained: list[LeadScoringModel] = []
    now = timezone.now()
    if _enough(history.outcomes):
        model, metrics = _fit_and_measure(history.rows, history.outcomes, history.ids)
        trained.append(_model_row(workspace, None, model, metrics, now))
        per_team: dict[int, list[int]] = defaultdict(list)
        for index, team_id in enumerate(history.teams):
            if team_id is not None:
                per_team[team_id].append(index)
        for team_id, indexes in sorted(per_team.items()):
            outcomes = [history.outcomes[i] for i in indexes]
            if not _enough(outcomes):
                continue
            model, metrics = _fit_and_measure(
                [history.rows[i] for i in indexes], outcomes, [history.ids[i] for i in indexes]
            )
            trained.append(_model_row(workspace, team_id, model, metrics, now))
    with transaction.atomic():
        models = LeadScoringModel.objects.for_workspace(workspace)
        models.filter(is_current=True).update(is_current=False)
        models.filter(is_current=False, trained_at__lt=now - KEEP_OLD_MODELS).delete()
        LeadScoringModel.objects.bulk_create(trained)
    return trained


def _model_row(
    workspace: Workspace,
    team_id: int | None,
    model: NaiveBayes,
    metrics: dict[str, Any],
    now: Any,
) -> LeadScoringModel:
    return LeadScoringModel(
        workspace=workspace,
        team_id=team_id,
        trained_at=now,
        won_count=model.won,
        lost_count=model.lost,
        parameters=model.to_parameters(),
        metrics=metrics,
        is_current=True,
    )


# ---------------------------------------------------------------------------------------------
# Predicting

# Stored models never change (a retrain writes new rows), so a parsed model can be kept for
# as long as the process lives; the key carries the training time as well as the id, because
# ids come back after a rolled-back transaction. The cache only bounds memory.
_PARSED: dict[tuple[int, str], NaiveBayes] = {}
_PARSED_MAX = 64


@dataclass(frozen=True)
class Prediction:
    score: int
    factors: list[dict[str, Any]]
    model_id: int


@dataclass
class CurrentModels:
    """The workspace's current models: per team, and the workspace-wide fallback."""

    by_team: dict[int, tuple[int, NaiveBayes]]
    fallback: tuple[int, NaiveBayes] | None

    def __bool__(self) -> bool:
        return self.fallback is not None or bool(self.by_team)

    def model_for(self, team_id: int | None) -> tuple[int, NaiveBayes] | None:
        if team_id is not None and team_id in self.by_team:
            return self.by_team[team_id]
        return self.fallback

    def predict(
        self,
        row: Mapping[str, Any],
        engagement_count: int = 0,
        *,
        web_form_names: Mapping[int, str] | None = None,
    ) -> Prediction | None:
        chosen = self.model_for(row.get("team_id"))
        if chosen is None:
            return None
        model_id, model = chosen
        features = lead_features(row, engagement_count)
        contributions = model.contributions(features)
        odds = model.prior_log_odds + sum(contributions.values())
        # A model of a few hundred leads is never certain: 0% and 100% would overclaim.
        score = min(99, max(1, round(_sigmoid(odds) * 100)))
        factors = explain(row, features, contributions, web_form_names=web_form_names or {})
        return Prediction(score=score, factors=factors, model_id=model_id)


def current_models(*, workspace: Workspace) -> CurrentModels:
    """The current models, parsed once per process and model."""
    rows = [
        (model_id, team_id, (model_id, trained_at.isoformat()))
        for model_id, team_id, trained_at in LeadScoringModel.objects.for_workspace(workspace)
        .filter(is_current=True)
        .values_list("id", "team_id", "trained_at")
        .order_by("id")
    ]
    missing = {key[0]: key for _id, _team, key in rows if key not in _PARSED}
    if missing:
        if len(_PARSED) + len(missing) > _PARSED_MAX:
            _PARSED.clear()
        stored = LeadScoringModel.objects.for_workspace(workspace).filter(id__in=list(missing))
        for model_id, parameters in stored.values_list("id", "parameters"):
            _PARSED[missing[model_id]] = NaiveBayes.from_parameters(parameters)
    by_team: dict[int, tuple[int, NaiveBayes]] = {}
    fallback = None
    for model_id, team_id, key in rows:
        parsed = _PARSED.get(key)
        if parsed is None:
            continue
        if team_id is None:
            fallback = (model_id, parsed)
        else:
            by_team[team_id] = (model_id, parsed)
    return CurrentModels(by_team=by_team, fallback=fallback)


@dataclass(frozen=True)
class Words:
    """The features' names and coded values in one language, translated once: scoring
    100,000 leads would otherwise look each word up half a million times."""

    labels: dict[str, str]
    coded: dict[str, dict[str, str]]
    not_given: str


_WORDS: dict[str, Words] = {}


def words() -> Words:
    language = translation.get_language() or ""
    found = _WORDS.get(language)
    if found is None:
        found = _WORDS[language] = Words(
            labels={name: str(label) for name, label in FEATURE_LABELS.items()},
            coded={
                name: {code: str(text) for code, text in values.items()}
                for name, values in CODED_VALUES.items()
            },
            not_given=str(pgettext_lazy("lead detail", "not given")),
        )
    return found


def value_display(
    feature: str, code: str, raw: Any = None, *, vocabulary: Words | None = None
) -> str:
    """How a feature's value reads on the page, in the active language."""
    vocabulary = vocabulary or words()
    coded = vocabulary.coded.get(feature)
    if coded is not None and code in coded:
        return coded[code]
    if raw not in (None, ""):
        return str(raw).strip()
    return vocabulary.not_given if code == NONE_VALUE else code


def explain(
    row: Mapping[str, Any],
    features: Mapping[str, str],
    contributions: Mapping[str, float],
    *,
    web_form_names: Mapping[int, str],
) -> list[dict[str, Any]]:
    """The largest contributions, biggest first: [{"feature", "code", "value", "weight",
    "label"}]. `value` is the lead's own text (or the web form's name); `label` reads
    "Source: Referral" in the language active when scoring, for readers of the raw JSON."""
    ranked = sorted(contributions.items(), key=lambda item: (-abs(item[1]), item[0]))
    vocabulary = words()
    factors = []
    for name, weight in ranked[:MAX_FACTORS]:
        if abs(weight) < MIN_FACTOR_WEIGHT:
            break
        code = features[name]
        if name == "web_form":
            raw: Any = web_form_names.get(row.get("web_form_id") or 0, "")
        elif name in CODED_VALUES:
            raw = None
        else:
            raw = row.get(name)
        value = value_display(name, code, raw, vocabulary=vocabulary)
        factors.append(
            {
                "feature": name,
                "code": code,
                "value": value,
                "weight": round(weight, 3),
                "label": f"{vocabulary.labels[name]}: {value}",
            }
        )
    return factors


def factor_text(factor: Mapping[str, Any]) -> str:
    """A factor as the lead page reads it, in the active language: "Source: Referral — raises
    the chance"."""
    name = factor.get("feature", "")
    label = FEATURE_LABELS.get(name)
    code = str(factor.get("code", ""))
    value = factor.get("value", "")
    if name in CODED_VALUES and code in CODED_VALUES[name]:
        value = CODED_VALUES[name][code]
    head = f"{label}: {value}" if label is not None else str(factor.get("label", ""))
    effect = _("raises the chance") if factor.get("weight", 0) > 0 else _("lowers the chance")
    return f"{head} — {effect}"


def web_form_names(*, workspace: Workspace) -> dict[int, str]:
    from vinculo.marketing.models import WebForm

    return dict(WebForm.objects.for_workspace(workspace).values_list("id", "name").order_by())
