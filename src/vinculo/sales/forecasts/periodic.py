"""Periodic jobs of sales forecasting (registered by `wiring`)."""

from __future__ import annotations

from datetime import timedelta

from vinculo.core.periodic import periodic
from vinculo.sales.forecasts.services import stalled_deals_notify_all


@periodic("sales.stalled_deals", every=timedelta(days=1))
def notify_stalled_deals() -> int:
    """Tell owners about their stalled deals (each deal at most once a week)."""
    return stalled_deals_notify_all()
