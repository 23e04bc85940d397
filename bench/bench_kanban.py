"""The deals kanban board and moving a deal, on a pipeline with 10,000 open deals (budgets:
board server time median ≤ 300 ms; a move, with automation rules running, median ≤ 50 ms).

    .venv/bin/python bench/bench_kanban.py [--deals 10000] [--closed 20000] [--rounds 30]
    .venv/bin/python bench/bench_kanban.py --postgres      # a scratch PostgreSQL database

It builds its own data in a fresh temporary data directory (SQLite) or a scratch PostgreSQL
database (`VINCULO_BENCH_POSTGRES_URL`, default postgres://postgres@127.0.0.1:5432/postgres),
removed afterwards unless --keep: a workspace with 8 sales reps in 2 teams, 2,000 accounts and
contacts, the default pipeline holding `--deals` open deals spread over its four open stages and
`--closed` won and lost deals of the last two years (a few hundred closed in the last 30 days,
which the won and lost columns show), each with its stage stay, all through bulk inserts; and
four automation rules on deal.stage_changed, deal.won and deal.lost.

Timed, through Django's in-process test client as the logged-in admin (so the figure is the
server's own work: middleware, queries, templates) with DEBUG off:

- `kanban_board_median`: GET /deals/ (every column's figures and first 20 cards). Budget 300 ms.
- `kanban_board_owner_median`, `kanban_board_search_median`: the board filtered by one rep, and
  by a word.
- `kanban_column_more_median`: "Show more" of the fullest column (its second page).
- `deal_move_median`: POST /deals/{id}/move as the board's drag and drop sends it (a stage and
  the cards above and below, JSON answer with the two columns' new figures). Tasks run inline
  (Django's ImmediateBackend), so the event dispatch and the automation rules it starts are part
  of the figure. Budget 50 ms.
- `deal_move_service_median`: `deal_move` alone (the same with no HTTP around it, rules
  still running inline).
- `deal_move_queued_median`: the POST again with the settings' own task backend (the database
  queue of the embedded default): the dispatch and the rules wait for a worker, as deployed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from _common import machine_context, median, note, percentile, report, scratch_postgres

BOARD_BUDGET_MS = 300
MOVE_BUDGET_MS = 50
REPS = 8


def _timed(fn: Callable[[], object], rounds: int, warmup: int = 3) -> list[float]:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def _report(name: str, samples: list[float], budget: float | str = "-") -> None:
    report(name, median(samples), "ms", budget)
    report(f"{name}_p95", percentile(samples, 0.95), "ms")


def build(*, deals: int, closed: int, seed: int) -> dict[str, object]:
    """The workspace and its data, through bulk inserts. Returns what the timings need."""
    from faker import Faker

    from vinculo.contacts.models import Account, Contact
    from vinculo.core.models import Team, TeamMember, User
    from vinculo.core.roles import Role
    from vinculo.core.search import normalize_text
    from vinculo.core.services import membership_add, workspace_create
    from vinculo.core.tenancy import workspace_scope
    from vinculo.sales.deals import services
    from vinculo.sales.models import (
        Deal,
        DealStageHistory,
        DealStatus,
        ForecastCategory,
        Stage,
        StageKind,
    )

    rng = random.Random(seed)
    faker = Faker("pt_BR")
    faker.seed_instance(seed)
    workspace = workspace_create(name="Bench", slug="bench", admin_email="admin@bench.test")
    admin = User.objects.get(email="admin@bench.test")
    admin.set_password("bench")
    admin.save()
    with workspace_scope(workspace):
        reps = []
        teams = [
            Team.objects.for_workspace(workspace).create(workspace=workspace, name=n)
            for n in ("Sul", "Sudeste")
        ]
        for i in range(REPS):
            user = User.objects.create_user(
                email=f"rep{i}@bench.test", password="bench", full_name=faker.name()
            )
            membership_add(workspace=workspace, user=user, role=Role.SALES)
            TeamMember.objects.for_workspace(workspace).create(
                workspace=workspace, team=teams[i % 2], user=user
            )
            reps.append(user)
        accounts = Account.objects.for_workspace(workspace).bulk_create(
            [
                Account(workspace=workspace, name=name, sort_name=normalize_text(name))
                for name in (faker.unique.company() for _ in range(2000))
            ],
            batch_size=1000,
        )
        contacts = Contact.objects.for_workspace(workspace).bulk_create(
            [
                Contact(
                    workspace=workspace,
                    first_name=faker.first_name(),
                    last_name=faker.last_name(),
                    account=account,
                )
                for account in accounts
            ],
            batch_size=1000,
        )
        for contact in contacts:
            contact.sort_name = normalize_text(f"{contact.first_name} {contact.last_name}")
        Contact.objects.for_workspace(workspace).bulk_update(contacts, ["sort_name"], 1000)
        pipeline = services.pipeline_default(workspace)
        stages = list(
            Stage.objects.for_workspace(workspace).filter(pipeline=pipeline).order_by("position")
        )
        open_stages = [s for s in stages if s.kind == StageKind.OPEN]
        won = next(s for s in stages if s.kind == StageKind.WON)
        lost = next(s for s in stages if s.kind == StageKind.LOST)
        products = ("ERP", "Licenças", "Consultoria", "Suporte anual", "Implantação", "Treinamento")
        reasons = ("Preço", "Concorrente", "Sem orçamento", "Prazo", "Sem resposta")
        now = dt.datetime.now(dt.UTC)
        today = now.date()
        rows: list[Deal] = []
        positions: dict[int, float] = {}
        for i in range(deals + closed):
            account = accounts[int(rng.random() * len(accounts))]
            owner = reps[int(rng.random() * len(reps))]
            # Amounts of B2B deals: most small, a long tail of large ones.
            amount = Decimal(min(2_000_000, round(rng.lognormvariate(9.5, 1.1), -1))).quantize(
                Decimal("0.01")
            )
            name = f"{products[i % len(products)]} — {account.name}"
            created = now - dt.timedelta(days=rng.uniform(1, 730))
            if i < deals:
                stage = open_stages[min(3, int(rng.random() ** 1.6 * 4))]
                status = DealStatus.OPEN
                closed_at = None
                entered = created + (now - created) * rng.random()
                close_date = today + dt.timedelta(days=int(rng.uniform(-20, 120)))
                category = ForecastCategory.PIPELINE
            else:
                stage = won if rng.random() < 0.3 else lost
                status = DealStatus.WON if stage is won else DealStatus.LOST
                # About 2 % closed in the last 30 days: what the closed columns show.
                age = rng.uniform(0, 29) if rng.random() < 0.02 else rng.uniform(31, 700)
                closed_at = now - dt.timedelta(days=age)
                created = min(created, closed_at - dt.timedelta(days=1))
                entered = closed_at
                close_date = closed_at.date()
                category = (
                    ForecastCategory.CLOSED
                    if status == DealStatus.WON
                    else ForecastCategory.OMITTED
                )
            positions[stage.pk] = positions.get(stage.pk, 0.0) + services.POSITION_STEP
            rows.append(
                Deal(
                    workspace=workspace,
                    name=name[:200],
                    sort_name=normalize_text(name)[:300],
                    pipeline=pipeline,
                    stage=stage,
                    status=status,
                    amount=amount,
                    currency="BRL",
                    expected_close_date=close_date,
                    forecast_category=category,
                    owner=owner,
                    team=teams[reps.index(owner) % 2],
                    account=account,
                    contact=contacts[accounts.index(account)] if rng.random() < 0.8 else None,
                    lost_reason=rng.choice(reasons) if status == DealStatus.LOST else "",
                    position=positions[stage.pk],
                    stage_entered_at=entered,
                    closed_at=closed_at,
                    created_at=created,
                    updated_at=entered,
                )
            )
        created_deals = Deal.objects.for_workspace(workspace).bulk_create(rows, batch_size=2000)
        DealStageHistory.objects.for_workspace(workspace).bulk_create(
            [
                DealStageHistory(
                    workspace=workspace,
                    deal=d,
                    stage_id=d.stage_id,
                    entered_at=d.stage_entered_at,
                    entered_by=d.owner,
                )
                for d in created_deals
            ],
            batch_size=2000,
        )
        for reason in reasons:
            services.lost_reason_create(workspace=workspace, actor=None, name=reason)
        rules = _rules(workspace)
    return {
        "workspace": workspace,
        "admin": admin,
        "reps": reps,
        "pipeline": pipeline,
        "open_stages": open_stages,
        "lost": lost,
        "rules": rules,
    }


def _rules(workspace: object) -> int:
    """Automation rules a sales team would have on deals; some match most moves."""
    try:
        from vinculo.automation.services import rule_create
    except ImportError:
        return 0
    rules = [
        {
            "name": "Big deals are commit",
            "trigger": "deal.stage_changed",
            "conditions": {"all": [{"field": "amount", "op": "gte", "value": "50000"}]},
            "actions": [{"type": "set_field", "field": "forecast_category", "value": "commit"}],
        },
        {
            "name": "Tell the owner about a proposal",
            "trigger": "deal.stage_changed",
            "conditions": {"all": [{"field": "stage", "op": "changed"}]},
            "actions": [{"type": "notify", "to": "owner", "title": "A deal moved"}],
        },
        {
            "name": "Celebrate",
            "trigger": "deal.won",
            "conditions": {},
            "actions": [{"type": "notify", "to": "owner", "title": "Won!"}],
        },
        {
            "name": "Lost to a competitor",
            "trigger": "deal.lost",
            "conditions": {"all": [{"field": "lost_reason", "op": "eq", "value": "Concorrente"}]},
            "actions": [{"type": "notify", "to": "owner", "title": "Lost to a competitor"}],
        },
    ]
    made = 0
    for data in rules:
        try:
            rule_create(workspace=workspace, actor=None, data=data)  # type: ignore[arg-type]
            made += 1
        except Exception as exc:  # a rule the engine refuses is reported, not fatal
            note(f"rule {data['name']!r} not created: {exc}")
    return made


def measure(data: dict[str, object], rounds: int, seed: int) -> None:
    import json

    from django.db import connection
    from django.test import Client
    from django.test.utils import override_settings

    from vinculo.core.tenancy import workspace_scope
    from vinculo.sales.deals import services
    from vinculo.sales.models import Deal, DealStatus

    try:
        from vinculo.automation.models import RuleRun
    except ImportError:  # pragma: no cover - the engine is part of the app
        RuleRun = None  # type: ignore[assignment,misc]

    workspace = data["workspace"]
    pipeline = data["pipeline"]
    open_stages = data["open_stages"]
    rng = random.Random(seed)
    client = Client()
    client.force_login(data["admin"])  # type: ignore[arg-type]
    board = f"/deals/?pipeline={pipeline.pk}"  # type: ignore[attr-defined]

    def get(url: str) -> Callable[[], object]:
        def call() -> object:
            response = client.get(url)
            if response.status_code != 200:
                raise SystemExit(f"GET {url} answered {response.status_code}")
            return response

        return call

    html = get(board)().content.decode()  # type: ignore[attr-defined]
    cards = html.count("data-deal=")
    note(f"board: {cards} cards on the first page of {len(open_stages) + 2} columns")  # type: ignore[arg-type]
    _report("kanban_board_median", _timed(get(board), rounds), BOARD_BUDGET_MS)
    rep = data["reps"][0]  # type: ignore[index]
    _report("kanban_board_owner_median", _timed(get(f"{board}&owner={rep.pk}"), rounds))
    _report("kanban_board_search_median", _timed(get(f"{board}&q=erp"), rounds))
    import re

    more = re.search(r'hx-get="(/deals/board/stages/\d+/\?cursor=[^"]+)"', html)
    if more:
        _report(
            "kanban_column_more_median", _timed(get(more.group(1).replace("&amp;", "&")), rounds)
        )

    with (
        workspace_scope(workspace),
        override_settings(
            TASKS={"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
        ),
    ):
        runs_before = RuleRun.objects.count() if RuleRun else 0

        def column(stage_id: int) -> list[int]:
            return list(
                Deal.objects.for_workspace(workspace)
                .filter(stage_id=stage_id, deleted_at__isnull=True)
                .order_by("position", "id")
                .values_list("id", flat=True)[:20]
            )

        def pick() -> tuple[int, int, int | None, int | None]:
            source, target = rng.sample(open_stages, 2)  # type: ignore[arg-type]
            deal_id = rng.choice(column(source.pk))
            shown = column(target.pk)
            at = rng.randrange(len(shown) + 1)
            before = shown[at - 1] if at > 0 else None
            after = shown[at] if at < len(shown) else None
            return deal_id, target.pk, before, after

        def move_http() -> None:
            deal_id, stage_id, before, after = pick()
            body = {"stage": stage_id}
            if before:
                body["before"] = before
            if after:
                body["after"] = after
            start = time.perf_counter()
            response = client.post(f"/deals/{deal_id}/move", body, HTTP_ACCEPT="application/json")
            samples_http.append((time.perf_counter() - start) * 1000)
            if response.status_code != 200 or not json.loads(response.content)["ok"]:
                raise SystemExit(f"move answered {response.status_code}: {response.content!r}")

        def move_service() -> None:
            deal_id, stage_id, before, after = pick()
            start = time.perf_counter()
            services.deal_move(
                workspace=workspace,  # type: ignore[arg-type]
                actor=data["admin"],  # type: ignore[arg-type]
                deal_id=deal_id,
                stage_id=stage_id,
                before_id=before,
                after_id=after,
            )
            samples_service.append((time.perf_counter() - start) * 1000)

        samples_http: list[float] = []
        samples_service: list[float] = []
        for _ in range(5):
            move_http()
        samples_http.clear()
        for _ in range(rounds * 4):
            move_http()
        for _ in range(rounds * 4):
            move_service()
        runs = (RuleRun.objects.count() if RuleRun else 0) - runs_before
        note(
            f"moves: {len(samples_http) + len(samples_service) + 5} stage changes started "
            f"{runs} rule runs ({data['rules']} rules on deal events)"
        )
        _report("deal_move_median", samples_http, MOVE_BUDGET_MS)
        _report("deal_move_service_median", samples_service)

    # The same drag, with the event dispatch queued for a worker as a deployment runs it (the
    # embedded default's database task queue): what the person dragging waits for.
    with workspace_scope(workspace):
        samples_http = []
        for _ in range(rounds * 4):
            move_http()
        _report("deal_move_queued_median", samples_http)
        open_left = Deal.objects.for_workspace(workspace).filter(status=DealStatus.OPEN).count()
        note(f"{open_left} open deals; database: {connection.vendor}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deals", type=int, default=10_000)
    parser.add_argument("--closed", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    note(machine_context())
    with ExitStack() as stack:
        data_dir = tempfile.mkdtemp(prefix="vinculo-bench-kanban-")
        if not args.keep:
            stack.callback(shutil.rmtree, data_dir, ignore_errors=True)
        os.environ["VINCULO_DATA_DIR"] = data_dir
        if args.postgres:
            os.environ["DATABASE_URL"] = stack.enter_context(scratch_postgres(keep=args.keep))
        else:
            os.environ.pop("DATABASE_URL", None)
        os.environ["DJANGO_SETTINGS_MODULE"] = "vinculo.settings"
        # Query logging (DEBUG) would add its own cost to every request.
        os.environ["DEBUG"] = "false"
        os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost")

        import django

        django.setup()
        # Each inline task logs its start and end; not what is measured here.
        logging.getLogger("django.tasks").setLevel(logging.WARNING)
        from django.core.management import call_command
        from django.db import connection

        call_command("migrate", verbosity=0)
        note(f"database: {connection.vendor} ({'kept: ' + data_dir if args.keep else 'scratch'})")
        start = time.perf_counter()
        data = build(deals=args.deals, closed=args.closed, seed=args.seed)
        note(
            f"built {args.deals} open and {args.closed} closed deals in "
            f"{time.perf_counter() - start:.1f} s (not timed)"
        )
        measure(data, args.rounds, args.seed)
        connection.close()


if __name__ == "__main__":
    main()
