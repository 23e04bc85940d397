"""Periodic jobs of the contacts app."""

from __future__ import annotations

from datetime import timedelta

from vinculo.contacts.services import records_purge_expired
from vinculo.core.periodic import periodic


@periodic("contacts.purge_expired", every=timedelta(hours=6))
def purge_expired_records() -> None:
    """Soft-deleted contacts and accounts past the 30-day restore window are removed for good."""
    records_purge_expired()
