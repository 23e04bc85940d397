"""What sales scoring plugs into the rest of Vínculo when the app loads: the subscriber that
scores events happening to leads, the nightly retraining and rescoring, and the erasure step
that drops the predicted factors of erased leads (they quote the lead's own values)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from vinculo.core.events import subscriber
from vinculo.core.models import Event
from vinculo.core.periodic import periodic


@subscriber("sales.scoring.engagement")
def score_lead_events(event: Event) -> None:
    """Every event whose subject is a lead, or whose payload names one (`lead_id`): engagement
    rules earn their points (once per event and rule) and the lead's score is refreshed when
    something it depends on moved. Other events cost nothing."""
    if event.subject_type != "lead" and "lead_id" not in (event.payload or {}):
        return
    from vinculo.sales.scoring.services import lead_engagement_record

    lead_engagement_record(workspace=event.workspace, event=event)


@periodic("sales.scoring.nightly", every=timedelta(hours=1))
def score_nightly() -> list[int]:
    """Each night, per workspace time zone: retrain the predictive models and rescore the
    open leads (the engagement points' decay moves every day)."""
    from vinculo.sales.scoring.services import scoring_nightly_enqueue

    return scoring_nightly_enqueue()


def _erase_predictions(person: Any) -> dict[str, int]:
    from vinculo.sales.scoring.services import erased_lead_predictions_clear

    return {"lead_predictions": erased_lead_predictions_clear(workspace=person.workspace)}


def _register_erasure() -> None:
    from vinculo.contacts.privacy.services import register_erasure

    register_erasure(_erase_predictions)


_register_erasure()
