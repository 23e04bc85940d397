"""Periodic jobs of marketing (imported at start by `core.apps` through autodiscovery): the
purge of the rate-limit counters web forms fill, and the response window of the leads they
make."""

from __future__ import annotations

from datetime import timedelta

# Importing the module registers its `core.ratelimit_purge` job.
import vinculo.core.ratelimit  # noqa: F401
from vinculo.core.periodic import periodic


@periodic("sales.lead_response_window", every=timedelta(minutes=5))
def lead_response_window() -> int:
    """Leads nobody contacted within the working hours allowed go to the next team member."""
    from vinculo.sales.leads.response import lead_response_sweep

    return lead_response_sweep()
