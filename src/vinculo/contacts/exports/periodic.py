"""Periodic jobs of exports. Registered from `contacts.apps` (periodic modules are discovered
at the top of each app only)."""

from __future__ import annotations

from datetime import timedelta

from vinculo.contacts.exports.services import exports_purge_expired, exports_resume_stale
from vinculo.core.periodic import periodic


@periodic("exports.purge_expired", every=timedelta(hours=1))
def purge_expired_exports() -> None:
    """Export files older than seven days are deleted (the exports stay listed, expired)."""
    exports_purge_expired()


@periodic("exports.resume_stale", every=timedelta(minutes=2))
def resume_stale_exports() -> None:
    """An export whose worker died while writing it is written again from the start."""
    exports_resume_stale()
