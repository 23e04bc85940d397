"""Fixed-window rate limits counted in the database, so every web process counts together.

`rate_limit_hit(key, limit=10, window=timedelta(minutes=1))` counts one hit of `key` (a web
form and a client address, …) in the current window and says whether it is still within the
limit. The count
is one `INSERT … ON CONFLICT (key) DO UPDATE … RETURNING hits` statement on `RateCounter`:
atomic on SQLite (writes are serialised) and on PostgreSQL (the conflicting row is locked), so
a burst of parallel requests can never let more than `limit` through in one window. A window
is aligned to the clock (a 60-second window starts at each whole minute): the row of a key
holds only its current window, and the first hit of a new window starts it again at one.

A hit made inside a transaction rolls back with it: count failed requests outside it (or
again after the rollback), or a flood of bad input is never limited. Rows of past windows are
removed by the `core.ratelimit_purge` periodic job.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.http import HttpRequest
from django.utils import timezone

from vinculo.core.models import RateCounter
from vinculo.core.periodic import periodic

KEY_MAX = RateCounter._meta.get_field("key").max_length or 200
# Windows are short by design; the purge keeps rows for this long after their window began.
MAX_WINDOW = timedelta(hours=1)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    hits: int
    limit: int
    # Seconds until the current window ends and the key may try again.
    retry_after: int


def window_start(now: dt.datetime, window: timedelta) -> dt.datetime:
    """The start of the fixed window `now` falls in (windows aligned to the Unix epoch)."""
    seconds = int(window.total_seconds())
    elapsed = math.floor((now - _EPOCH).total_seconds())
    return _EPOCH + timedelta(seconds=elapsed - elapsed % seconds)


def rate_limit_hit(
    key: str,
    *,
    limit: int,
    window: timedelta = timedelta(minutes=1),
    now: dt.datetime | None = None,
) -> RateDecision:
    """Count one hit of `key` in the current window; `allowed` is False from hit `limit`+1 on.

    Refused hits are counted too, so a client that keeps hammering stays refused until the
    window ends. One statement (see the module note on transactions).
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    if not timedelta(seconds=1) <= window <= MAX_WINDOW:
        raise ValueError(f"window must be between one second and {MAX_WINDOW}")
    if len(key) > KEY_MAX:
        raise ValueError(f"rate-limit keys have at most {KEY_MAX} characters")
    now = now or timezone.now()
    start = window_start(now, window)
    quote = connection.ops.quote_name
    table, key_col, start_col, hits_col = (
        quote(RateCounter._meta.db_table),
        quote("key"),
        quote("window_start"),
        quote("hits"),
    )
    # Both SQLite (3.35+) and PostgreSQL speak this upsert; `excluded` is the row we tried to
    # insert. A row left from an earlier window starts over at one. Only quoted identifiers
    # of our own are interpolated; the key and the window travel as parameters.
    sql = (
        f"INSERT INTO {table} ({key_col}, {start_col}, {hits_col}) VALUES (%s, %s, 1) "  # noqa: S608
        f"ON CONFLICT ({key_col}) DO UPDATE SET "
        f"{hits_col} = CASE WHEN {table}.{start_col} = excluded.{start_col} "
        f"THEN {table}.{hits_col} + 1 ELSE 1 END, "
        f"{start_col} = excluded.{start_col} "
        f"RETURNING {hits_col}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [key, connection.ops.adapt_datetimefield_value(start)])
        row = cursor.fetchone()
    hits = int(row[0]) if row else 1
    retry_after = max(1, math.ceil((start + window - now).total_seconds()))
    return RateDecision(allowed=hits <= limit, hits=hits, limit=limit, retry_after=retry_after)


def rate_limit_purge(*, now: dt.datetime | None = None) -> int:
    """Remove the counters of windows that ended long ago; returns how many."""
    cutoff = (now or timezone.now()) - MAX_WINDOW
    deleted, _ = RateCounter.objects.filter(window_start__lt=cutoff).delete()
    return deleted


@periodic("core.ratelimit_purge", every=timedelta(minutes=15))
def purge_rate_counters() -> int:
    """Keep the rate-limit table small: one row per key that was seen in the last hour."""
    return rate_limit_purge()


def client_ip(request: HttpRequest) -> str | None:
    """The visitor's address. Behind reverse proxies (`VINCULO_TRUSTED_PROXIES` of them), the
    address the nearest trusted proxy saw, from X-Forwarded-For; otherwise the connection's."""
    proxies = int(getattr(settings, "VINCULO_TRUSTED_PROXIES", 0) or 0)
    if proxies > 0:
        hops = [
            h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()
        ]
        if len(hops) >= proxies:
            return hops[-proxies]
    return request.META.get("REMOTE_ADDR") or None
