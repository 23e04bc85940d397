"""Server time of the contacts API on a database filled by `vinculo demo` (issue 2 budgets:
a contact by id, median under 5 ms; a page of 50 contacts filtered by owner and lifecycle stage
and sorted by name, median under 30 ms).

    VINCULO_DATA_DIR=/path/of/a/demo .venv/bin/python bench/bench_contacts_api.py [--workspace demo]
    DATABASE_URL=postgres://... .venv/bin/python bench/bench_contacts_api.py

Requests go through Django's in-process test client with a Bearer API key, so the figures are
the server's own time (middleware, authentication, query, serialisation) without a network or
an HTTP server in front. The key is created for the demo's admin and revoked at the end.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import machine_context, median, note, percentile, report

DETAIL_SAMPLES = 200
LIST_SAMPLES = 50
WARM_UP = 20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", default="demo")
    parser.add_argument("--seed", type=int, default=1, help="picks the contacts and owners")
    args = parser.parse_args()

    # Query logging (DEBUG) would be measured as if it were the server's work.
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vinculo.settings")
    import django

    django.setup()
    from django.db import connection
    from django.test import Client

    from vinculo.contacts.models import Contact
    from vinculo.core.models import Membership, User, Workspace
    from vinculo.core.roles import Role
    from vinculo.core.services import apikey_create, apikey_revoke

    workspace = Workspace.objects.filter(slug=args.workspace).first()
    if workspace is None:
        raise SystemExit(f"no workspace '{args.workspace}': load one with `vinculo demo` first")
    contacts = Contact.objects.for_workspace(workspace)
    total = contacts.count()
    if total == 0:
        raise SystemExit(f"workspace '{args.workspace}' has no contacts")
    note(machine_context())
    note(f"{connection.vendor}, workspace {workspace.slug} with {total:,} contacts")

    admin = User.objects.get(email="admin@example.com")
    key, raw = apikey_create(workspace=workspace, user=admin, name="bench_contacts_api")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    rng = random.Random(args.seed)
    try:
        ids = list(contacts.filter(deleted_at__isnull=True).values_list("id", flat=True))
        sample = rng.sample(ids, min(DETAIL_SAMPLES, len(ids)))
        del ids

        def timed_get(path: str, params: dict[str, Any] | None = None) -> tuple[float, Any]:
            started = time.perf_counter()
            response = client.get(path, params)
            elapsed = (time.perf_counter() - started) * 1000
            if response.status_code != 200:
                raise SystemExit(
                    f"GET {path} {params}: {response.status_code} {response.content!r}"
                )
            return elapsed, response

        for contact_id in sample[:WARM_UP]:
            timed_get(f"/api/v1/contacts/{contact_id}")
        detail = [timed_get(f"/api/v1/contacts/{contact_id}")[0] for contact_id in sample]
        report("contacts_api_detail_median", median(detail), "ms", 5)
        report("contacts_api_detail_p95", percentile(detail, 0.95), "ms")

        reps = list(
            Membership.objects.for_workspace(workspace)
            .filter(role=Role.SALES)
            .values_list("user_id", flat=True)
        )
        listing: list[float] = []
        pages_of_50 = 0
        for i in range(WARM_UP + LIST_SAMPLES):
            params = {
                "owner": str(rng.choice(reps)),
                "lifecycle_stage": "customer",
                "sort": "name",
                "limit": "50",
            }
            elapsed, response = timed_get("/api/v1/contacts", params)
            if i >= WARM_UP:
                listing.append(elapsed)
                pages_of_50 += len(response.json()["items"]) == 50
        report("contacts_api_list_owner_stage_by_name_median", median(listing), "ms", 30)
        report("contacts_api_list_owner_stage_by_name_p95", percentile(listing, 0.95), "ms")
        if pages_of_50 < len(listing):
            note(f"only {pages_of_50} of {len(listing)} list pages were full")

        # Deeper pages follow the keyset cursor, as a client paging through would.
        deep: list[float] = []
        params = {
            "owner": str(reps[0]),
            "lifecycle_stage": "customer",
            "sort": "name",
            "limit": "50",
        }
        cursor = None
        for _ in range(LIST_SAMPLES):
            elapsed, response = timed_get(
                "/api/v1/contacts", {**params, **({"cursor": cursor} if cursor else {})}
            )
            deep.append(elapsed)
            cursor = response.json().get("next_cursor")
            if not cursor:
                break
        report("contacts_api_list_next_pages_median", median(deep), "ms", 30)
    finally:
        apikey_revoke(workspace=workspace, key_id=key.pk)


if __name__ == "__main__":
    main()
