"""REST endpoints of sales scoring."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["scoring"])
