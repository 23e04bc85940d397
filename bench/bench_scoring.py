"""Time lead scoring (issue 5: scoring 100,000 leads in at most 30 s; training the predictive
model on 100,000 closed leads in at most 60 s).

    .venv/bin/python bench/bench_scoring.py [--leads 100000] [--closed 100000] [--postgres] [--keep]

Builds its own data in a fresh temporary data directory on the embedded SQLite (or, with
--postgres, in a new database on the local server): a workspace with eight fit rules and three
engagement rules, `--leads` open leads with two engagements each on average spread over the
last 180 days, then `--closed` closed leads (won or lost through deals, or disqualified) whose
outcome depends on their source, company size, job title and email, as real history does.
Loading is not timed. Then it times, in this process, what the worker runs:

- `score_<N>_leads_rules_only`: `scores_recompute` of the N open leads before there is any
  history (rules, decay, reasons; no prediction).
- `train_<N>_closed_leads`: `lead_scoring_train` on the N closed leads (history query, features,
  the held-out evaluation, fitting, storing). Budget 60 s.
- `score_<N>_leads`: `scores_recompute` of the N open leads with the trained model: rules,
  decay, reasons, prediction and its factors, all written. Budget 30 s. The nightly job is
  the training followed by this.
- `rescore_<N>_leads_unchanged`: the same again at once: nothing moved, only `scored_at` is
  written.
- `lead_score_refresh_median`: one lead refreshed after an event, as a web-form submission does.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import machine_context, median, note, report, run_cli, scratch_postgres

SCORE_BUDGET = 30
TRAIN_BUDGET = 60
SOURCES = ["Indicação", "Google Ads", "Site", "Evento", "LinkedIn", "Parceiro", "E-mail"]
INDUSTRIES = ["Varejo", "Serviços", "Indústria", "Tecnologia", "Saúde", "Educação", "Agro"]
SIZES = ["1-10", "11-50", "51-200", "201-1000", "1001+"]
STATES = ["SP", "RJ", "MG", "PR", "RS", "SC", "BA", "PE", "CE", "GO", "DF"]
TITLES = ["CEO", "Sócio", "Diretor Comercial", "Gerente de TI", "Analista", "Coordenadora", ""]
MEDIUMS = ["cpc", "email", "social", "organic", ""]
FREE = ["gmail.com", "hotmail.com", "yahoo.com.br", "uol.com.br"]


def _lead_fields(rng: random.Random, n: int) -> dict[str, Any]:
    corporate = rng.random() < 0.6
    return {
        "first_name": f"Lead{n}",
        "email": f"lead{n}@{f'empresa{n % 5000}.com.br' if corporate else rng.choice(FREE)}",
        "phone": "+5511999990000" if rng.random() < 0.55 else "",
        "job_title": rng.choice(TITLES),
        "company_size": rng.choice(SIZES),
        "industry": rng.choice(INDUSTRIES),
        "country": "BR" if rng.random() < 0.85 else rng.choice(["AR", "PT", "US", "CL"]),
        "state": rng.choice(STATES),
        "source": rng.choice(SOURCES),
        "utm_source": rng.choice(["google", "facebook", "linkedin", "newsletter", ""]),
        "utm_medium": rng.choice(MEDIUMS),
    }


def _win_chance(fields: dict[str, Any]) -> float:
    chance = 0.25
    chance += {"Indicação": 0.3, "Parceiro": 0.2, "Evento": 0.1, "Google Ads": -0.1}.get(
        fields["source"], 0.0
    )
    chance += {"201-1000": 0.1, "1001+": 0.15, "1-10": -0.1}.get(fields["company_size"], 0.0)
    chance += 0.1 if fields["job_title"] in ("CEO", "Sócio", "Diretor Comercial") else 0.0
    chance -= 0.1 if "empresa" not in fields["email"] else 0.0
    return min(0.95, max(0.02, chance))


def build(workspace: Any, leads: int, seed: int) -> list[int]:
    """Rules, open leads and their engagements; returns the open leads' ids."""
    from django.db import transaction
    from django.utils import timezone

    from vinculo.sales.models import Lead, LeadEngagement, ScoringRule

    rng = random.Random(seed)
    fit = [
        ("Country is Brazil", 10, [{"field": "country", "op": "eq", "value": "BR"}]),
        (
            "Large company",
            15,
            [{"field": "company_size", "op": "in", "value": ["201-1000", "1001+"]}],
        ),
        (
            "Retail or services",
            5,
            [{"field": "industry", "op": "in", "value": ["Varejo", "Serviços"]}],
        ),
        ("Decision maker", 12, [{"field": "job_title", "op": "contains", "value": "dire"}]),
        ("Southeast", 4, [{"field": "state", "op": "in", "value": ["SP", "RJ", "MG", "ES"]}]),
        ("Referral", 8, [{"field": "source", "op": "eq", "value": "Indicação"}]),
        ("No phone", -5, [{"field": "phone", "op": "is_empty"}]),
        ("Paid click", 3, [{"field": "utm_medium", "op": "eq", "value": "cpc"}]),
    ]
    engagement = [
        ("Form submitted", "webform.submitted", 8),
        ("Email clicked", "email.clicked", 3),
        ("Page visited", "page.visited", 1),
    ]
    now = timezone.now()
    with transaction.atomic():
        for name, points, leaves in fit:
            ScoringRule.objects.create(
                workspace=workspace,
                name=name,
                kind="fit",
                points=points,
                conditions={"all": leaves},
            )
        rules = [
            ScoringRule.objects.create(
                workspace=workspace, name=name, kind="engagement", event_type=event, points=points
            )
            for name, event, points in engagement
        ]
    ids: list[int] = []
    for start in range(0, leads, 5000):
        batch = [
            Lead(workspace=workspace, **_lead_fields(rng, n))
            for n in range(start, min(leads, start + 5000))
        ]
        with transaction.atomic():
            created = Lead.objects.bulk_create(batch)
            ids.extend(lead.pk for lead in created)
            rows = []
            for lead in created:
                for _ in range(rng.choice((0, 1, 2, 2, 3, 4))):
                    rule = rng.choice(rules)
                    rows.append(
                        LeadEngagement(
                            workspace=workspace,
                            lead=lead,
                            rule=rule,
                            points=rule.points,
                            occurred_at=now - timedelta(days=rng.random() * 180),
                        )
                    )
            LeadEngagement.objects.bulk_create(rows)
    return ids


def build_history(workspace: Any, closed: int, seed: int) -> None:
    """Closed leads: won or lost through their converted deal, or disqualified."""
    from django.db import transaction

    from vinculo.sales.models import Deal, Lead, Pipeline, Stage

    rng = random.Random(seed + 1)
    pipeline = Pipeline.objects.create(workspace=workspace, name="Sales", is_default=True)
    won_stage = Stage.objects.create(workspace=workspace, pipeline=pipeline, name="Won", kind="won")
    lost_stage = Stage.objects.create(
        workspace=workspace, pipeline=pipeline, name="Lost", kind="lost"
    )
    for start in range(0, closed, 5000):
        fields = [
            _lead_fields(rng, 10_000_000 + n) for n in range(start, min(closed, start + 5000))
        ]
        outcomes = [rng.random() < _win_chance(f) for f in fields]
        disqualified = [not won and rng.random() < 0.4 for won in outcomes]
        with transaction.atomic():
            deals = Deal.objects.bulk_create(
                [
                    Deal(
                        workspace=workspace,
                        name=f"Deal {start + i}",
                        pipeline=pipeline,
                        stage=won_stage if won else lost_stage,
                        status="won" if won else "lost",
                    )
                    for i, (won, dq) in enumerate(zip(outcomes, disqualified, strict=True))
                    if not dq
                ]
            )
            deal_iter = iter(deals)
            leads = []
            for f, dq in zip(fields, disqualified, strict=True):
                if dq:
                    leads.append(Lead(workspace=workspace, status="disqualified", **f))
                else:
                    leads.append(
                        Lead(
                            workspace=workspace,
                            status="converted",
                            converted_deal=next(deal_iter),
                            **f,
                        )
                    )
            Lead.objects.bulk_create(leads)


def _timed(work: Any) -> tuple[float, float]:
    """Wall-clock and processor seconds of `work()`."""
    started, cpu = time.perf_counter(), time.process_time()
    work()
    return time.perf_counter() - started, time.process_time() - cpu


def run(args: argparse.Namespace) -> None:
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vinculo.settings")
    import django

    django.setup()
    from django.db import connection

    from vinculo.analytics.lead_scoring import lead_scoring_train
    from vinculo.analytics.models import LeadScoringModel
    from vinculo.core.services import workspace_create
    from vinculo.core.tenancy import workspace_scope
    from vinculo.sales.models import Lead, LeadEngagement
    from vinculo.sales.scoring.services import lead_score_refresh, scores_recompute

    workspace = workspace_create(name="Bench", slug=f"bench-{os.getpid()}", admin_email="b@x.test")
    with workspace_scope(workspace):
        started = time.perf_counter()
        open_ids = build(workspace, args.leads, args.seed)
        engagements = LeadEngagement.objects.for_workspace(workspace).count()
        note(
            f"{connection.vendor}: {len(open_ids):,} open leads and {engagements:,} engagements "
            f"built in {time.perf_counter() - started:.0f} s (not timed)"
        )

        k = f"{args.leads // 1000}k"
        seconds, cpu = _timed(lambda: scores_recompute(workspace=workspace))
        report(f"score_{k}_leads_rules_only", seconds, "s")
        note(f"before any history: rules and decay, no prediction; processor time {cpu:.1f} s")

        started = time.perf_counter()
        build_history(workspace, args.closed, args.seed)
        built = time.perf_counter() - started
        note(f"{args.closed:,} closed leads built in {built:.0f} s (not timed)")

        trained: list[Any] = []
        seconds, cpu = _timed(lambda: trained.extend(lead_scoring_train(workspace=workspace)))
        report(f"train_{args.closed // 1000}k_closed_leads", seconds, "s", TRAIN_BUDGET)
        note(f"processor time of this process: {cpu:.1f} s")
        model = LeadScoringModel.objects.for_workspace(workspace).get(pk=trained[0].pk)
        note(
            f"model: {model.won_count:,} won, {model.lost_count:,} lost; AUC "
            f"{model.metrics['auc']}, accuracy {model.metrics['accuracy']} on "
            f"{model.metrics['test_size']:,} held-out leads"
        )

        seconds, cpu = _timed(lambda: scores_recompute(workspace=workspace, only_open=True))
        report(f"score_{k}_leads", seconds, "s", SCORE_BUDGET)
        note(f"rules, decay and prediction with reasons; processor time {cpu:.1f} s")
        report("score_leads_per_second", args.leads / seconds, "leads/s")
        sample = Lead.objects.for_workspace(workspace).order_by("-score").first()
        note(f"highest score {sample.score}: {[r['label'] for r in sample.score_reasons]}")

        seconds, cpu = _timed(lambda: scores_recompute(workspace=workspace, only_open=True))
        report(f"rescore_{k}_leads_unchanged", seconds, "s")
        note(f"the same again: only scored_at is written; processor time {cpu:.1f} s")

        rng = random.Random(args.seed)
        times = []
        for lead_id in rng.sample(open_ids, 60):
            started = time.perf_counter()
            lead_score_refresh(workspace=workspace, lead_id=lead_id)
            times.append(time.perf_counter() - started)
        report("lead_score_refresh_median", median(times[10:]) * 1000, "ms")
        best = (
            Lead.objects.for_workspace(workspace)
            .filter(status="new")
            .order_by("-predicted_score")
            .first()
        )
        labels = [f["label"] for f in best.predicted_factors]
        note(f"best open lead {best.predicted_score}%: {labels}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--closed", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the data directory / database")
    args = parser.parse_args()
    note(machine_context())
    data_dir = Path(tempfile.mkdtemp(prefix="vinculo-bench-scoring-"))
    os.environ["VINCULO_DATA_DIR"] = str(data_dir)
    try:
        if args.postgres:
            with scratch_postgres(keep=args.keep) as url:
                os.environ["DATABASE_URL"] = url
                run_cli(["migrate", "-v", "0"], dict(os.environ))
                run(args)
        else:
            run_cli(["migrate", "-v", "0"], dict(os.environ))
            run(args)
    finally:
        if args.keep:
            note(f"data kept in {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
