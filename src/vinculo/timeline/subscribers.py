"""Event subscribers of the timeline (imported by `core.apps` through autodiscovery)."""

from __future__ import annotations

from typing import Any

from vinculo.core.events import subscriber
from vinculo.core.models import Event
from vinculo.timeline.services import activity_rollup_refresh

ACTIVITY_EVENTS = (
    "interaction.logged",
    "interaction.updated",
    "interaction.deleted",
    "interaction.restored",
    # An account's activity includes its contacts', so a contact changing accounts moves it.
    "contact.updated",
)


def _ids(value: Any) -> set[int]:
    values = value if isinstance(value, list) else [value]
    return {v for v in values if isinstance(v, int) and not isinstance(v, bool)}


@subscriber("timeline.activity", types=ACTIVITY_EVENTS)
def refresh_last_activity(event: Event) -> None:
    """Keep `last_activity_at` of the interaction's contact, account and lead current, and of
    the accounts a contact left and joined.

    An update that moved the interaction refreshes the records it left as well (the old ids
    are in `changes`). The rollup is recomputed from the rows, so a second delivery of the same
    event, or a late one, leaves the same values.
    """
    payload = event.payload or {}
    changes = payload.get("changes") or {}
    if event.type == "contact.updated":
        if "account_id" in changes:
            activity_rollup_refresh(
                workspace=event.workspace,
                contact_ids=set(),
                account_ids=_ids(changes["account_id"]),
            )
        return
    contact_ids = _ids(payload.get("contact_id")) | _ids(changes.get("contact_id"))
    account_ids = _ids(payload.get("account_id")) | _ids(changes.get("account_id"))
    activity_rollup_refresh(
        workspace=event.workspace,
        contact_ids=contact_ids,
        account_ids=account_ids,
        lead_ids=_ids(payload.get("lead_id")) | _ids(changes.get("lead_id")),
    )
