"""Event subscribers of sales forecasting (registered by `wiring`)."""

from __future__ import annotations

from typing import Any

from vinculo.core.events import subscriber
from vinculo.core.models import Event
from vinculo.sales.forecasts.services import deal_activity_refresh
from vinculo.sales.models import Quote
from vinculo.timeline.models import Interaction, Note, Task

TIMELINE_MODELS: dict[str, Any] = {"interaction": Interaction, "task": Task, "note": Note}


def _ids(value: Any) -> set[int]:
    values = value if isinstance(value, list) else [value]
    return {v for v in values if isinstance(v, int) and not isinstance(v, bool)}


def _deals_of(event: Event) -> set[int]:
    """The deals an event is about: its subject for deal events, else the deal the timeline
    item or quote is linked to: the payload's `deal_id` and the ids in its `changes` (so a deal
    the item was moved away from is refreshed too), or the row's when the payload has none."""
    if event.subject_type == "deal":
        return set() if event.type == "deal.deleted" else {event.subject_id}
    payload = event.payload or {}
    changes = payload.get("changes") or {}
    ids = _ids(payload.get("deal_id")) | _ids(changes.get("deal_id"))
    if "deal_id" in payload:
        # Timeline events name their deal; only older ones (or quotes) need the row read.
        return ids
    model = TIMELINE_MODELS.get(event.subject_type)
    if model is None and event.subject_type == "quote":
        model = Quote
    if model is not None:
        ids |= _ids(
            model.objects.for_workspace(event.workspace)
            .filter(pk=event.subject_id)
            .values_list("deal_id", flat=True)
            .first()
        )
    return ids


@subscriber("sales.deal_last_activity", types=["interaction.", "task.", "note.", "deal.", "quote."])
def keep_deal_last_activity(event: Event) -> None:
    """Keep `Deal.last_activity_at` current when a deal changes or something happens on its
    timeline; the value is recomputed from the rows (see `deal_activity_refresh`)."""
    deal_ids = _deals_of(event)
    if deal_ids:
        deal_activity_refresh(workspace=event.workspace, deal_ids=deal_ids)
