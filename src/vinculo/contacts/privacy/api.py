"""REST endpoints of privacy."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["privacy"])
