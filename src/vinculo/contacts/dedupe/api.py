"""REST endpoints of dedupe."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["dedupe"])
