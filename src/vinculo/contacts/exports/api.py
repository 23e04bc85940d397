"""REST endpoints of exports."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["exports"])
