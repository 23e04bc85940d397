"""Periodic jobs of quotes (registered through the area's wiring)."""

from __future__ import annotations

from datetime import timedelta

from vinculo.core.periodic import periodic
from vinculo.sales.quotes.services import quotes_expire


@periodic("sales.quotes_expire", every=timedelta(hours=1))
def expire_quotes() -> int:
    """Sent quotes whose validity ended become expired (each with `quote.expired`)."""
    return quotes_expire()
