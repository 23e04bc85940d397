"""Time the leads list (page and API) at 100,000 leads: default order, sorts by score and
predicted chance, filters, the search box (common words, rare words, an address) and the next
pages.

    .venv/bin/python bench/bench_leads.py [--leads 100000] [--rounds 30] [--postgres] [--keep]

A temporary data directory (or, with --postgres, a new database on the local server) is
migrated and filled with a workspace, six sales reps and `--leads` leads written in bulk with
their search columns as the services write them (not timed). Each request goes through Django's
in-process test client as the admin (scope: all), so the figure is the server's own time
without network; `DEBUG` is off. On PostgreSQL the tables are analysed after the load, as
autovacuum does shortly after. The issue sets no budget for these pages: `-`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import machine_context, median, note, percentile, report, run_cli, scratch_postgres

FIRST = ("Ana", "Bruno", "Carla", "Diego", "Elisa", "Fábio", "Gabriela", "Heitor", "Íris", "João")
LAST = ("Souza", "Lima", "Oliveira", "Pereira", "Costa", "Almeida", "Ribeiro", "Martins")
COMPANIES = ("Padaria", "Oficina", "Clínica", "Escola", "Mercado", "Farmácia", "Studio", "Loja")
SOURCES = ("Web form", "Fair", "Referral", "Ads", "Import")
CAMPAIGNS = ("spring", "autumn", "black-friday", "launch", "")


def fill(workspace_slug: str, count: int) -> None:
    from django.utils import timezone

    from vinculo.core.models import User
    from vinculo.core.roles import Role
    from vinculo.core.services import membership_add, workspace_create
    from vinculo.core.tenancy import workspace_scope
    from vinculo.sales.leads.search import derive_lead_columns
    from vinculo.sales.models import Lead, LeadStatus

    workspace = workspace_create(
        name="Bench", slug=workspace_slug, admin_email="admin@bench.example.com"
    )
    reps = []
    for i in range(6):
        user = User.objects.create_user(email=f"rep{i}@bench.example.com", password="x")
        membership_add(workspace=workspace, user=user, role=Role.SALES)
        reps.append(user)
    rng = random.Random(7)
    statuses = (
        [LeadStatus.NEW] * 5
        + [LeadStatus.WORKING] * 3
        + [
            LeadStatus.QUALIFIED,
            LeadStatus.DISQUALIFIED,
            LeadStatus.CONVERTED,
        ]
    )
    now = timezone.now()
    with workspace_scope(workspace):
        batch = []
        for n in range(count):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            company = f"{rng.choice(COMPANIES)} {rng.choice(LAST)} {n % 997}"
            lead = Lead(
                workspace=workspace,
                first_name=first,
                last_name=last,
                email=f"{first.lower()}.{last.lower()}{n}@example{n % 50}.com".replace("í", "i")
                .replace("á", "a")
                .replace("ã", "a"),
                phone=f"+55119{rng.randrange(10_000_000, 99_999_999)}",
                company_name=company,
                source=rng.choice(SOURCES),
                utm_campaign=rng.choice(CAMPAIGNS),
                country="BR",
                status=rng.choice(statuses),
                score=rng.randrange(0, 120),
                predicted_score=rng.randrange(0, 100) if rng.random() < 0.7 else None,
                owner=rng.choice(reps) if rng.random() < 0.8 else None,
                created_at=now - dt.timedelta(minutes=count - n),
                updated_at=now,
            )
            derive_lead_columns(lead)
            batch.append(lead)
            if len(batch) == 5000:
                Lead.objects.bulk_create(batch)
                batch = []
        Lead.objects.bulk_create(batch)
    from django.db import connection

    if connection.vendor == "postgresql":
        # What autovacuum does a minute after a load this size; without statistics the
        # planner reads the whole table for a page of 50.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def timed(client, url: str, rounds: int, **headers: str) -> list[float]:
    for _ in range(3):
        client.get(url, **headers)
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        response = client.get(url, **headers)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return times


def measure(workspace_slug: str, rounds: int) -> None:
    from django.test import Client

    from vinculo.core.models import User, Workspace
    from vinculo.core.services import apikey_create
    from vinculo.sales.models import Lead

    workspace = Workspace.objects.get(slug=workspace_slug)
    admin = User.objects.get(email="admin@bench.example.com")
    admin.language = "en"
    admin.save(update_fields=["language"])
    client = Client()
    client.force_login(admin)
    key = apikey_create(workspace=workspace, user=admin, name="bench")[1]
    api = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    sample = Lead.all_tenants.filter(workspace=workspace).order_by("?").first()
    assert sample is not None
    cases = [
        ("leads_page_default", "/leads/", {}),
        ("leads_page_by_score", "/leads/?sort=-score", {}),
        ("leads_page_by_predicted", "/leads/?sort=-predicted_score", {}),
        ("leads_page_open_by_name", "/leads/?status=open&sort=name", {}),
        ("leads_page_source_campaign", "/leads/?source=Fair&utm_campaign=spring", {}),
        ("leads_page_score_at_least_100", "/leads/?score_min=100&sort=-score", {}),
        ("leads_page_search_common_word", "/leads/?q=souza", {}),
        ("leads_page_search_two_words", "/leads/?q=ana+padaria", {}),
        ("leads_page_search_rare_word", f"/leads/?q={sample.phone[-8:]}", {}),
        ("leads_page_search_email", f"/leads/?q={sample.email}", {}),
        ("leads_page_search_nothing", "/leads/?q=zzzqqq", {}),
        ("leads_api_list", "/api/v1/leads?limit=50", api),
        ("leads_api_list_by_score", "/api/v1/leads?sort=-score&limit=50", api),
        ("leads_api_search", "/api/v1/leads?q=oliveira&limit=50", api),
        ("lead_page_detail", f"/leads/{sample.pk}/", {}),
    ]
    for name, url, headers in cases:
        times = timed(client, url, rounds, **headers)
        report(f"{name}_median", median(times), "ms")
        note(f"{name} p95 {percentile(times, 0.95):.1f} ms")
    # The next pages of the default list, followed by their cursors through the API.
    url = "/api/v1/leads?limit=50"
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        body = client.get(url, **api).json()
        times.append((time.perf_counter() - start) * 1000)
        url = f"/api/v1/leads?limit=50&cursor={body['next_cursor']}"
    report("leads_api_next_pages_median", median(times), "ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    note(machine_context())
    os.environ["DEBUG"] = "false"
    built = Path(tempfile.mkdtemp(prefix="vinculo-bench-leads-"))
    os.environ["VINCULO_DATA_DIR"] = str(built)
    try:
        if args.postgres:
            with scratch_postgres(keep=args.keep) as url:
                os.environ["DATABASE_URL"] = url
                run(args)
        else:
            run(args)
    finally:
        if not args.keep:
            shutil.rmtree(built, ignore_errors=True)


def run(args: argparse.Namespace) -> None:
    run_cli(["migrate"], dict(os.environ))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vinculo.settings")
    import django
    from django.conf import settings

    django.setup()
    settings.DEBUG = False
    settings.ALLOWED_HOSTS = ["testserver", *settings.ALLOWED_HOSTS]
    start = time.perf_counter()
    fill("bench", args.leads)
    note(f"{args.leads:,} leads written in {time.perf_counter() - start:.1f} s (not timed)")
    measure("bench", args.rounds)


if __name__ == "__main__":
    main()
