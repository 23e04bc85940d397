"""REST endpoints of sales forecasts."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["forecasts"])
