"""REST endpoints of sales deals."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["deals"])
