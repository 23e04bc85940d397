"""Server time of the main web pages on a large workspace (issue 3, Performance).

Not part of the test suite. Run it against a database filled by the demo generator:

    export VINCULO_DATA_DIR=/tmp/bench-data          # and DATABASE_URL for PostgreSQL
    vinculo migrate && vinculo demo --contacts 1000000
    .venv/bin/python bench/bench_pages.py [--workspace demo] [--rounds 15]

Requests go through Django's in-process test client as a logged-in admin (force_login), so
the figure is the server's time — middleware, queries, templates — without the network. Each
line reads `name value unit budget`. The contact list and record pages are measured once
their URLs exist (contacts:list, contacts:detail, timeline:panel).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vinculo.settings")
# Query logging (DEBUG) would add its own cost to every request.
os.environ["DEBUG"] = "false"

import django

django.setup()

from django.db.models import Count  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import NoReverseMatch, reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from vinculo.contacts.models import Contact  # noqa: E402
from vinculo.core.models import Membership, User, Workspace  # noqa: E402
from vinculo.core.roles import Role  # noqa: E402
from vinculo.core.tenancy import workspace_scope  # noqa: E402
from vinculo.timeline.models import Channel, Interaction  # noqa: E402

# What people type into the search box, one request per keystroke from the second character:
# common first names and surnames, a name with its surname, an email fragment, phone digits and
# a company word.
QUERIES = ["maria", "silva", "jose", "ana souza", "joao pe", "gmail", "98765", "comercio"]
TIMELINE_ENTRIES = 500


def report(name: str, samples_ms: list[float], budget_ms: float | None) -> None:
    median = statistics.median(samples_ms)
    p95 = sorted(samples_ms)[max(0, int(len(samples_ms) * 0.95) - 1)]
    budget = f"{budget_ms:g}" if budget_ms is not None else "-"
    print(f"{name} {median:.1f} ms {budget}", flush=True)
    print(f"{name}_p95 {p95:.1f} ms -", flush=True)


def timed(client: Client, url: str, *, htmx: bool = False) -> float:
    start = time.perf_counter()
    response = client.get(url, headers={"HX-Request": "true"} if htmx else None)
    elapsed = (time.perf_counter() - start) * 1000
    if response.status_code != 200:
        raise SystemExit(f"GET {url} answered {response.status_code}")
    return elapsed


def measure(fn: Callable[[], float], rounds: int, warmup: int = 2) -> list[float]:
    for _ in range(warmup):
        fn()
    return [fn() for _ in range(rounds)]


def url_or_none(name: str, **kwargs: object) -> str | None:
    try:
        return reverse(name, kwargs=kwargs or None)
    except NoReverseMatch:
        return None


def busiest_contact(workspace: Workspace) -> Contact:
    """The contact with the most interactions, topped up to TIMELINE_ENTRIES of them."""
    row = (
        Interaction.objects.for_workspace(workspace)
        .filter(contact__isnull=False, deleted_at__isnull=True)
        .values("contact_id")
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()
    )
    contact = (
        Contact.objects.for_workspace(workspace).get(pk=row["contact_id"])
        if row
        else Contact.objects.for_workspace(workspace).filter(deleted_at__isnull=True).first()
    )
    assert contact is not None, "the workspace has no contacts; run `vinculo demo` first"
    missing = TIMELINE_ENTRIES - (row["n"] if row else 0)
    if missing > 0:
        now = timezone.now()
        channels = list(Channel.values)
        Interaction.objects.bulk_create(
            Interaction(
                workspace=workspace,
                contact=contact,
                account_id=contact.account_id,
                channel=channels[i % len(channels)],
                occurred_at=now - dt.timedelta(hours=7 * i),
                subject=f"Benchmark touch {i}",
                body="Conversation notes kept for the timeline benchmark.",
            )
            for i in range(missing)
        )
    return contact


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workspace", default="demo")
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()

    workspace = Workspace.objects.get(slug=args.workspace)
    with workspace_scope(workspace):
        admin_membership = (
            Membership.objects.for_workspace(workspace)
            .filter(role=Role.ADMIN, is_active=True)
            .order_by("id")
            .first()
        )
        assert admin_membership is not None, "the workspace has no admin"
        admin = User.objects.get(pk=admin_membership.user_id)
        contacts = Contact.objects.for_workspace(workspace).count()
    print(f"# workspace {workspace.slug}: {contacts:,} contacts", flush=True)

    client = Client()
    client.force_login(admin)

    # Global search, one request per keystroke (htmx), from the second character on.
    suggest = reverse("web:search_suggest")
    keystrokes = [q[:n] for q in QUERIES for n in range(2, len(q) + 1)]
    samples: list[float] = []
    for _ in range(2):  # warm the caches of the database and of Python
        for text in keystrokes:
            timed(client, f"{suggest}?q={text}", htmx=True)
    per_query: dict[str, list[float]] = {}
    for _ in range(max(1, args.rounds // 5)):
        for text in keystrokes:
            elapsed = timed(client, f"{suggest}?q={text}", htmx=True)
            samples.append(elapsed)
            per_query.setdefault(text, []).append(elapsed)
    report("search_suggest_keystroke", samples, 150)
    slowest = sorted(per_query.items(), key=lambda kv: -statistics.median(kv[1]))[:3]
    for text, values in slowest:
        print(f"#   slowest keystroke {text!r}: {statistics.median(values):.1f} ms", flush=True)

    home = reverse("home")
    report("home_page", measure(lambda: timed(client, home), args.rounds), None)

    results = reverse("web:search")
    report(
        "search_results_page",
        measure(lambda: timed(client, f"{results}?q=maria"), args.rounds),
        None,
    )

    list_url = url_or_none("contacts:list")
    if list_url:
        url = f"{list_url}?lifecycle_stage=customer&sort=-created_at"
        report(
            "contact_list_filtered_sorted", measure(lambda: timed(client, url), args.rounds), 100
        )
    else:
        print("# contact_list: skipped (no contacts:list page yet)", flush=True)

    with workspace_scope(workspace):
        contact = busiest_contact(workspace)
    detail = url_or_none("contacts:detail", pk=contact.pk)
    panel = url_or_none("timeline:panel", kind="contact", pk=contact.pk)
    if detail:
        report("contact_record_page", measure(lambda: timed(client, detail), args.rounds), 100)
    else:
        print("# contact_record_page: skipped (no contacts:detail page yet)", flush=True)
    if panel:
        report(
            "contact_timeline_panel_500",
            measure(lambda: timed(client, panel, htmx=True), args.rounds),
            100,
        )
        if detail:
            both = measure(
                lambda: timed(client, detail) + timed(client, panel, htmx=True),
                args.rounds,
            )
            report("contact_record_with_timeline", both, 100)
    else:
        print("# contact_timeline_panel: skipped (no timeline:panel page yet)", flush=True)


if __name__ == "__main__":
    main()
