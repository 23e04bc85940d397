"""What leads add to a person's data export and erasure (LGPD/GDPR): the leads with the
person's email (and the one converted into them), their web-form submissions and their consent
log. Registered by the leads' wiring."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy

from vinculo.contacts.models import ConsentEntry
from vinculo.contacts.privacy.exporting import PersonContext, register_export_section
from vinculo.contacts.privacy.services import register_erasure, scrub_event_payload
from vinculo.core.models import Event
from vinculo.sales.models import Lead


def person_leads(person: PersonContext) -> QuerySet[Lead]:
    """The person's leads: any with one of their emails, and the one converted into them."""
    about = Q(converted_contact_id=person.contact.pk)
    if person.emails:
        about |= Q(email__in=sorted(person.emails))
    return Lead.objects.for_workspace(person.workspace).filter(about).order_by("pk")


def _submissions(person: PersonContext, lead_ids: list[int]) -> Any:
    from vinculo.marketing.models import WebFormSubmission

    return WebFormSubmission.objects.for_workspace(person.workspace).filter(lead_id__in=lead_ids)


def leads_section(person: PersonContext) -> list[dict[str, Any]]:
    leads = list(person_leads(person).select_related("owner"))
    ids = [lead.pk for lead in leads]
    submissions: dict[int, list[dict[str, Any]]] = {pk: [] for pk in ids}
    for sub in _submissions(person, ids).select_related("form").order_by("created_at", "pk"):
        submissions[sub.lead_id].append(
            {
                "form": sub.form.name,
                "data": sub.data,
                "utm": sub.utm,
                "page_url": sub.page_url,
                "referrer": sub.referrer,
                "ip_address": sub.ip_address,
                "user_agent": sub.user_agent,
                "created_at": sub.created_at,
            }
        )
    consents: dict[int, list[dict[str, Any]]] = {pk: [] for pk in ids}
    entries = ConsentEntry.objects.for_workspace(person.workspace).filter(lead_id__in=ids)
    for entry in entries.order_by("recorded_at", "pk"):
        assert entry.lead_id is not None
        consents[entry.lead_id].append(
            {
                "purpose": entry.purpose,
                "granted": entry.granted,
                "wording": entry.wording,
                "source": entry.source,
                "ip_address": entry.ip_address,
                "user_agent": entry.user_agent,
                "recorded_at": entry.recorded_at,
            }
        )
    return [
        {
            "id": lead.pk,
            "first_name": lead.first_name,
            "last_name": lead.last_name,
            "email": lead.email,
            "phone": lead.phone,
            "job_title": lead.job_title,
            "company": lead.company_name,
            "company_domain": lead.company_domain,
            "website": lead.website,
            "city": lead.city,
            "state": lead.state,
            "country": lead.country,
            "message": lead.message,
            "source": lead.source,
            "campaign": lead.campaign,
            "utm": {
                "source": lead.utm_source,
                "medium": lead.utm_medium,
                "campaign": lead.utm_campaign,
                "term": lead.utm_term,
                "content": lead.utm_content,
            },
            "status": lead.status,
            "disqualified_reason": lead.disqualified_reason,
            "score": lead.score,
            "score_reasons": lead.score_reasons,
            "predicted_score": lead.predicted_score,
            "owner": lead.owner.display_name if lead.owner is not None else None,
            "custom_fields": lead.custom_fields,
            "created_at": lead.created_at,
            "converted_at": lead.converted_at,
            "deleted_at": lead.deleted_at,
            "erased_at": lead.erased_at,
            "web_form_submissions": submissions[lead.pk],
            "consent": consents[lead.pk],
        }
        for lead in leads
    ]


def erase_leads(person: PersonContext) -> dict[str, int]:
    """The person's leads lose who they are (names, email, phone, job, address, message,
    external id, custom fields) but keep what they say about the business (company, source,
    campaign, status, score, dates); their web-form submissions lose what was typed, the UTM
    parameters, pages, IP address and browser; their consent entries their network data; their
    audit events the values."""
    leads = person_leads(person)
    ids = list(leads.values_list("pk", flat=True))
    if not ids:
        return {"leads": 0, "webform_submissions": 0}
    now = timezone.now()
    Lead.objects.for_workspace(person.workspace).filter(pk__in=ids).update(
        first_name="",
        last_name="",
        email="",
        phone="",
        job_title="",
        city="",
        state="",
        message="",
        external_id="",
        custom_fields={},
        sort_name="erased person",
        search_document="",
        erased_at=now,
        updated_at=now,
    )
    submissions = _submissions(person, ids).update(
        data={}, utm={}, page_url="", referrer="", ip_address=None, user_agent=""
    )
    ConsentEntry.objects.for_workspace(person.workspace).filter(
        lead_id__in=ids
    ).erase_network_data()
    events = Event.objects.for_workspace(person.workspace).filter(
        subject_type="lead", subject_id__in=ids
    )
    changed = []
    for event in events.only("pk", "payload").iterator(chunk_size=500):
        cleaned = scrub_event_payload(event.payload)
        if cleaned != event.payload:
            event.payload = cleaned
            changed.append(event)
    Event.objects.for_workspace(person.workspace).bulk_update(changed, ["payload"], batch_size=500)
    return {"leads": len(ids), "webform_submissions": submissions}


def register() -> None:
    register_export_section(
        "leads.json",
        description=gettext_lazy(
            "The person as a lead: what they told us, where they came from (web forms and "
            "their UTM parameters), status, score and consent."
        ),
        order=60,
    )(leads_section)
    register_erasure(erase_leads)
