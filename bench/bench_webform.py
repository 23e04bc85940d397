"""Time web-form submissions end to end on a demo-sized database (issue 5: lead created,
assigned by the rules and scored, median at most 100 ms).

    VINCULO_DATA_DIR=/path/of/a/demo .venv/bin/python bench/bench_webform.py [--workspace demo]
    .venv/bin/python bench/bench_webform.py [--contacts N] [--submissions 200] [--keep]
    .venv/bin/python bench/bench_webform.py --postgres [--contacts N] [--keep]

With VINCULO_DATA_DIR (or DATABASE_URL) it runs on that database; without, `vinculo demo
--contacts N` (default 100,000, with the sales history the demo adds; not timed) first fills a
temporary data directory (with --postgres: a new database on the local server), removed
afterwards unless --keep. Migrations run first (not timed).

Each submission is a POST of the hosted form (`/f/<key>`) through Django's in-process test
client, so the figure is the server's own time without network: the rate limit, validation,
the lead, its consent, the stored submission and the events, committed. The events are then
handed to their subscribers in this process exactly as the worker's dispatch task does it
(automation rules assign the lead to a team and a person, scoring computes its score and
reasons, the timeline and the rest): `webform_submit_median` is the request plus that
dispatch. Every post comes from its own client address (the limit is 10 a minute per address
and form) and names a state, so the demo's routing rules by region have work to do.

The form is the demo's own active form (created with the fields of the demo's if there is
none). The leads made stay in the database: run it on a scratch copy.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    machine_context,
    median,
    note,
    percentile,
    report,
    run_cli,
    scratch_postgres,
)

BUDGET_MS = 100
ANCHOR = "2026-11-01"
STATES = ("SP", "RJ", "MG", "PR", "RS", "SC", "BA", "PE", "CE", "AM", "GO", "DF")
FIRST = ("Ana", "Bruno", "Carla", "Diego", "Elisa", "Fábio", "Gabriela", "Heitor", "Íris", "João")
LAST = ("Souza", "Lima", "Oliveira", "Pereira", "Costa", "Almeida", "Ribeiro", "Martins")
SIZES = ("1-10", "11-50", "51-200", "201-1000", "1001+")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", default="demo")
    parser.add_argument("--contacts", type=int, default=100_000, help="demo size to build")
    parser.add_argument("--submissions", type=int, default=200, help="posts to time")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument(
        "--postgres", action="store_true", help="build the demo in a new PostgreSQL database"
    )
    parser.add_argument("--keep", action="store_true", help="keep the data directory built")
    args = parser.parse_args()

    note(machine_context())
    if args.postgres:
        with scratch_postgres(keep=args.keep) as url:
            os.environ["DATABASE_URL"] = url
            env = {**os.environ, "VINCULO_DEMO_ANCHOR": ANCHOR}
            run_cli(["migrate", "-v", "0"], env)
            started = time.perf_counter()
            demo = ["demo", "--workspace", args.workspace, "--contacts", str(args.contacts)]
            run_cli(demo, env)
            note(
                f"demo of {args.contacts:,} contacts built in {time.perf_counter() - started:.0f} s"
            )
            run(args)
            if args.keep:
                note(f"postgres database kept: {url}")
        return
    built: Path | None = None
    if not os.environ.get("VINCULO_DATA_DIR") and not os.environ.get("DATABASE_URL"):
        built = Path(tempfile.mkdtemp(prefix="vinculo-bench-webform-"))
        os.environ["VINCULO_DATA_DIR"] = str(built)
        env = {**os.environ, "VINCULO_DEMO_ANCHOR": ANCHOR}
        run_cli(["migrate", "-v", "0"], env)
        started = time.perf_counter()
        demo = ["demo", "--workspace", args.workspace, "--contacts", str(args.contacts)]
        run_cli(demo, env)
        note(f"demo of {args.contacts:,} contacts built in {time.perf_counter() - started:.0f} s")
    else:
        run_cli(["migrate", "-v", "0"], dict(os.environ))
    try:
        run(args)
    finally:
        if built is not None and not args.keep:
            shutil.rmtree(built, ignore_errors=True)
        elif built is not None:
            note(f"data kept in {built}")


def _form(workspace):  # type: ignore[no-untyped-def]
    from vinculo.marketing.models import WebForm
    from vinculo.marketing.services import webform_create

    form = (
        WebForm.objects.for_workspace(workspace)
        .filter(deleted_at__isnull=True, is_active=True)
        .order_by("id")
        .first()
    )
    if form is not None:
        return form
    return webform_create(
        workspace=workspace,
        actor=None,
        data={
            "name": "Benchmark form",
            "fields": [
                {"name": "first_name", "label": "Nome", "required": True},
                {"name": "last_name", "label": "Sobrenome"},
                {"name": "email", "label": "E-mail", "required": True},
                {"name": "phone", "label": "Telefone"},
                {"name": "company_name", "label": "Empresa", "required": True},
                {"name": "company_size", "label": "Tamanho da empresa"},
                {"name": "state", "label": "Estado"},
                {"name": "message", "label": "Mensagem"},
            ],
            "consent_purpose": "email_marketing",
            "consent_wording": "Aceito receber e-mails com conteúdos e ofertas.",
            "lead_source": "Site",
        },
    )


def _post_data(form, i: int, run_tag: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    first, last = FIRST[i % len(FIRST)], LAST[(i // len(FIRST)) % len(LAST)]
    values = {
        "first_name": first,
        "last_name": last,
        "email": f"bench.{run_tag}.{i}@empresa{i % 97}.com.br",
        "phone": f"(11) 9{8000 + i % 2000:04d}-{i % 10000:04d}",
        "company_name": f"Empresa {i % 97} Ltda",
        "company_size": SIZES[i % len(SIZES)],
        "state": STATES[i % len(STATES)],
        "country": "BR",
        "job_title": "Gerente de vendas",
        "message": "Gostaria de uma demonstração do Vínculo para o meu time.",
        "industry": "Varejo",
        "city": "São Paulo",
        "website": f"https://empresa{i % 97}.com.br",
    }
    asked = {str(f.get("name")) for f in form.fields}
    data = {k: v for k, v in values.items() if k in asked}
    data |= {
        "consent": "on",
        "utm_source": "google",
        "utm_medium": "cpc",
        "utm_campaign": "crm-para-pmes",
        "page_url": "https://www.example.com.br/contato?utm_source=google",
        "referrer": "https://www.google.com/",
    }
    return data


def _time_subscribers() -> dict[str, list[float]]:
    """Wrap every event subscriber so the dispatch time can be told apart by who spends it
    (context for the figures; the work done is unchanged)."""
    from dataclasses import replace

    from vinculo.core import events

    spent: dict[str, list[float]] = {}
    for name, sub in list(events._subscribers.items()):
        spent[name] = []

        def timed(event, _handler=sub.handler, _name=name):  # type: ignore[no-untyped-def]
            started = time.perf_counter()
            try:
                return _handler(event)
            finally:
                spent[_name].append((time.perf_counter() - started) * 1000)

        events._subscribers[name] = replace(sub, handler=timed)
    return spent


def run(args: argparse.Namespace) -> None:
    # Query logging (DEBUG) would be measured as if it were the server's work.
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vinculo.settings")
    # WhiteNoise warns that the static root was never collected: the forms need none of it.
    warnings.filterwarnings("ignore", message="No directory at")
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from vinculo.automation.models import Rule
    from vinculo.core.events import dispatch_events
    from vinculo.core.models import Event, Workspace
    from vinculo.core.tenancy import workspace_scope
    from vinculo.sales.models import Lead

    workspace = Workspace.objects.filter(slug=args.workspace).first()
    if workspace is None:
        raise SystemExit(f"no workspace '{args.workspace}': load one with `vinculo demo` first")
    with workspace_scope(workspace):
        form = _form(workspace)
        leads_before = Lead.objects.for_workspace(workspace).count()
        rules = Rule.objects.for_workspace(workspace).count()
    note(
        f"{connection.vendor}, workspace {workspace.slug}: {leads_before:,} leads, "
        f"{rules} automation rules, form {form.pk} ({len(form.fields)} fields)"
    )

    per_subscriber = _time_subscribers()
    client = Client(HTTP_USER_AGENT="Mozilla/5.0 (bench)", HTTP_ACCEPT_LANGUAGE="pt-br")
    url = f"/f/{form.public_key}"
    run_tag = f"{int(time.time())}"
    request_ms: list[float] = []
    dispatch_ms: list[float] = []
    total_ms: list[float] = []
    queries: list[int] = []
    total = args.warmup + args.submissions
    for i in range(total):
        data = _post_data(form, i, run_tag)
        ip = f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"
        last_event = Event.all_tenants.order_by("-id").values_list("id", flat=True).first() or 0
        if i < args.warmup:
            # Queries are counted on the warm-up posts only: capturing them costs time too.
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                response = client.post(url, data, REMOTE_ADDR=ip)
                posted = time.perf_counter()
            if i > 0:
                queries.append(len(captured.captured_queries))
        else:
            started = time.perf_counter()
            response = client.post(url, data, REMOTE_ADDR=ip)
            posted = time.perf_counter()
        if response.status_code != 303:
            raise SystemExit(
                f"POST {url} answered {response.status_code}: {response.content[:500]!r}"
            )
        event_ids = list(
            Event.all_tenants.filter(id__gt=last_event, workspace_id=workspace.pk)
            .order_by("id")
            .values_list("id", flat=True)
        )
        dispatched_at = time.perf_counter()
        # The rules' own changes (lead.assigned, …) are events too: hand those on as well,
        # as the worker would right after.
        for _round in range(5):
            if not event_ids:
                break
            dispatch_events(event_ids)
            event_ids = list(
                Event.all_tenants.filter(
                    id__gt=event_ids[-1], workspace_id=workspace.pk, dispatched_at__isnull=True
                )
                .order_by("id")
                .values_list("id", flat=True)
            )
        done = time.perf_counter()
        if i < args.warmup:
            continue
        request_ms.append((posted - started) * 1000)
        dispatch_ms.append((done - dispatched_at) * 1000)
        total_ms.append((posted - started + done - dispatched_at) * 1000)

    with workspace_scope(workspace):
        made = Lead.objects.for_workspace(workspace).filter(email__startswith=f"bench.{run_tag}.")
        assigned = made.filter(owner__isnull=False).count()
        scored = made.filter(scored_at__isnull=False).count()
    note(
        f"{total} leads made: {assigned} assigned to a person, {scored} scored "
        f"(the first {args.warmup} were warm-up)"
    )
    runs = max(1, args.warmup + args.submissions)
    spent = sorted(per_subscriber.items(), key=lambda kv: -sum(kv[1]))
    note(
        "dispatch per submission, by subscriber (mean ms): "
        + ", ".join(f"{name} {sum(values) / runs:.1f}" for name, values in spent if values)
    )
    report("webform_submit_median", median(total_ms), "ms", BUDGET_MS)
    report("webform_submit_p95", percentile(total_ms, 0.95), "ms")
    report("webform_submit_request_median", median(request_ms), "ms")
    report("webform_submit_dispatch_median", median(dispatch_ms), "ms")
    if queries:
        report("webform_submit_request_queries", median(queries), "queries")


if __name__ == "__main__":
    main()
