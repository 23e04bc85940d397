"""REST endpoints of sales leads."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["leads"])
