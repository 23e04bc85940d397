"""What sales leads plugs into the rest of Vínculo when the app loads: the automation subject
and its triggers, the importer, the privacy export and erasure, the global-search provider,
the subscriber that notes a lead's first contact, and the purge of deleted leads."""

from __future__ import annotations

from datetime import timedelta

from django.utils.translation import gettext_lazy as _

from vinculo.core.events import subscriber
from vinculo.core.models import Event, User, Workspace
from vinculo.core.periodic import periodic
from vinculo.sales.leads import automation, importer, privacy
from vinculo.web.search import SearchHit, register_search_provider


def lead_hits(*, workspace: Workspace, viewer: User, query: str, limit: int) -> list[SearchHit]:
    """Global-search hits among the leads the viewer may see (one query)."""
    from vinculo.sales.leads.forms import status_label
    from vinculo.sales.leads.selectors import lead_search_suggestions
    from vinculo.web.search_providers import record_url

    rows = lead_search_suggestions(workspace=workspace, viewer=viewer, q=query, limit=limit + 1)
    return [
        SearchHit(
            title=row.name,
            subtitle=" · ".join(p for p in (row.email, row.company, status_label(row.status)) if p),
            url=record_url("sales:lead_detail", "/leads/{pk}/", row.id),
            kind="lead",
        )
        for row in rows
    ]


@subscriber("sales.leads.first_contact", types=["interaction.logged"])
def note_first_contact(event: Event) -> None:
    """An interaction logged on a lead is its first contact (once): the response-time clock
    stops and a new lead is being worked."""
    from vinculo.sales.leads.services import lead_mark_contacted

    lead_id = (event.payload or {}).get("lead_id")
    if isinstance(lead_id, int) and not isinstance(lead_id, bool):
        lead_mark_contacted(workspace=event.workspace, actor=None, lead_id=lead_id)


@periodic("sales.leads.purge_expired", every=timedelta(hours=6))
def purge_expired_leads() -> None:
    """Soft-deleted leads past the 30-day restore window are removed for good."""
    from vinculo.sales.leads.services import leads_purge_expired

    leads_purge_expired()


automation.register()
importer.register()
privacy.register()
register_search_provider("leads", _("Leads"), lead_hits, order=15, list_url_name="sales:lead_list")
