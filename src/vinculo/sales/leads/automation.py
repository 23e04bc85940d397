"""Leads as an automation subject: the fields rules compare and set, how rules update and
assign a lead, and the lead events that start rules. Registered by the leads' wiring."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from vinculo.automation.subjects import FieldSpec, SubjectType, register_subject, register_trigger
from vinculo.contacts.models import CompanySize
from vinculo.sales.leads import services
from vinculo.sales.models import Lead, LeadStatus

if TYPE_CHECKING:
    from vinculo.core.models import Team, User, Workspace

# Names are the lead's attributes (read as `lead.<name>`, "owner"/"team" as their ids) and
# the keys of `data` for `lead_update` ("owner"/"team" become "owner_id"/"team_id").
LEAD_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("first_name", _("first name"), "text"),
    FieldSpec("last_name", _("last name"), "text"),
    FieldSpec("email", _("email"), "text"),
    FieldSpec("phone", _("phone"), "text"),
    FieldSpec("job_title", _("job title"), "text"),
    FieldSpec("company_name", _("company"), "text"),
    FieldSpec("company_domain", _("company domain"), "text"),
    FieldSpec("company_size", _("company size"), "choice", tuple(CompanySize.choices)),
    FieldSpec("industry", _("industry"), "text"),
    FieldSpec("website", _("website"), "text"),
    FieldSpec("city", _("city"), "text"),
    FieldSpec("state", _("state"), "text"),
    FieldSpec("country", _("country"), "text"),
    FieldSpec("source", _("source"), "text"),
    FieldSpec("campaign", _("campaign"), "text"),
    FieldSpec("utm_source", "utm_source", "text"),
    FieldSpec("utm_medium", "utm_medium", "text"),
    FieldSpec("utm_campaign", "utm_campaign", "text"),
    FieldSpec("utm_term", "utm_term", "text"),
    FieldSpec("utm_content", "utm_content", "text"),
    FieldSpec("message", _("message"), "text"),
    FieldSpec("status", _("status"), "choice", tuple(LeadStatus.choices), settable=False),
    FieldSpec("score", _("score"), "number", settable=False),
    FieldSpec("predicted_score", _("predicted chance (%)"), "number", settable=False),
    FieldSpec("owner", _("owner"), "user"),
    FieldSpec("team", _("team"), "team"),
    FieldSpec("web_form", _("web form"), "choice", settable=False),
    FieldSpec("reassigned_count", _("times reassigned"), "number", settable=False),
    FieldSpec("first_contacted_at", _("first contacted"), "datetime", settable=False),
    FieldSpec("external_id", _("external id"), "text"),
    FieldSpec("created_at", _("created"), "datetime", settable=False),
    FieldSpec("last_activity_at", _("last activity"), "datetime", settable=False),
)
# The domain of the lead's email ("empresa.com.br"), once the model offers it.
EMAIL_DOMAIN = FieldSpec("email_domain", _("email domain"), "text", settable=False)


def _service_data(data: dict[str, Any]) -> dict[str, Any]:
    names = {"owner": "owner_id", "team": "team_id"}
    return {names.get(key, key): value for key, value in data.items()}


def lead_update(*, workspace: Workspace, actor: User | None, obj: Lead, data: dict) -> Lead:
    return services.lead_update(
        workspace=workspace, actor=actor, lead_id=obj.pk, data=_service_data(data)
    )


def lead_assign(
    *,
    workspace: Workspace,
    actor: User | None,
    obj: Lead,
    owner: User | None,
    team: Team | None,
    reason: str,
) -> Lead:
    return services.lead_assign(
        workspace=workspace,
        actor=actor,
        lead_id=obj.pk,
        owner_id=owner.pk if owner is not None else None,
        team_id=team.pk if team is not None else None,
        reason=reason,
    )


def lead_email(obj: Lead) -> str:
    return obj.email or ""


def lead_url(obj: Lead) -> str:
    return reverse("sales:lead_detail", args=[obj.pk])


def register() -> None:
    fields = LEAD_FIELDS + ((EMAIL_DOMAIN,) if hasattr(Lead, "email_domain") else ())
    register_subject(
        SubjectType(
            name="lead",
            label=pgettext_lazy("automation subject", "Lead"),
            model=Lead,
            module="leads",
            fields=fields,
            update=lead_update,
            assign=lead_assign,
            open_counts=services.lead_open_counts,
            task_link="lead",
            email_of=lead_email,
            url_of=lead_url,
            live={"deleted_at__isnull": True},
        )
    )
    for event_type, label in (
        ("lead.created", _("A lead is created")),
        ("lead.updated", _("A lead is updated")),
        ("lead.assigned", _("A lead is assigned")),
        ("lead.status_changed", _("A lead's status changes")),
        ("lead.converted", _("A lead is converted")),
        ("webform.submitted", _("A web form is submitted")),
    ):
        register_trigger(event_type, label=label, subject_type="lead")
