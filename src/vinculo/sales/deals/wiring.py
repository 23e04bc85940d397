"""What sales deals plugs into the rest of Vínculo when the app loads: automation subjects and
triggers, importers, merge relations, privacy sections, search providers, event subscribers and
periodic jobs."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from vinculo.automation.subjects import FieldSpec, SubjectType, register_subject, register_trigger
from vinculo.contacts.dedupe.services import register_merge_relation
from vinculo.contacts.forms import money_display
from vinculo.core.models import Team, User, Workspace
from vinculo.sales.deals import selectors, services
from vinculo.sales.models import Deal, DealStatus, ForecastCategory
from vinculo.web.search import SearchHit, register_search_provider

# The names double as the keys rules use; `_service_data` turns them into the update
# service's own (owner → owner_id …). Stages and pipelines are per workspace: no fixed choices.
DEAL_FIELDS = (
    FieldSpec("name", _("name"), "text"),
    FieldSpec("amount", _("amount"), "number"),
    FieldSpec("currency", _("currency"), "text"),
    FieldSpec("pipeline", _("pipeline"), "choice"),
    FieldSpec("stage", _("stage"), "choice"),
    FieldSpec("status", _("status"), "choice", tuple(DealStatus.choices), settable=False),
    FieldSpec("owner", _("owner"), "user"),
    FieldSpec("team", _("team"), "team"),
    FieldSpec("expected_close_date", _("expected close date"), "date"),
    FieldSpec(
        "forecast_category", _("forecast category"), "choice", tuple(ForecastCategory.choices)
    ),
    FieldSpec("lost_reason", _("lost reason"), "text"),
    FieldSpec("external_id", _("external id"), "text"),
    FieldSpec("stage_entered_at", _("in the stage since"), "datetime", settable=False),
    FieldSpec("closed_at", _("closed"), "datetime", settable=False),
    FieldSpec("created_at", _("created"), "datetime", settable=False),
    FieldSpec("updated_at", _("updated"), "datetime", settable=False),
    FieldSpec("last_activity_at", _("last activity"), "datetime", settable=False),
)
_ID_FIELDS = {
    "owner": "owner_id",
    "team": "team_id",
    "stage": "stage_id",
    "pipeline": "pipeline_id",
}


def _service_data(data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = _ID_FIELDS.get(key, key)
        if name.endswith("_id") and isinstance(value, str) and value.strip().isdigit():
            value = int(value.strip())
        out[name] = value
    return out


def _update(*, workspace: Workspace, actor: User | None, obj: Deal, data: dict) -> Any:
    return services.deal_update(
        workspace=workspace, actor=actor, deal_id=obj.pk, data=_service_data(data)
    )


def _assign(
    *,
    workspace: Workspace,
    actor: User | None,
    obj: Deal,
    owner: User | None,
    team: Team | None,
    reason: str = "",
) -> Any:
    return services.deal_assign(
        workspace=workspace,
        actor=actor,
        deal_id=obj.pk,
        owner_id=owner.pk if owner is not None else None,
        team_id=team.pk if team is not None else None,
        reason=reason,
    )


def _email_of(obj: Deal) -> str:
    contact = obj.contact
    return contact.email if contact is not None else ""


def _url_of(obj: Deal) -> str:
    return reverse("sales:deal_detail", args=[obj.pk])


def deal_hits(*, workspace: Workspace, viewer: User, query: str, limit: int) -> list[SearchHit]:
    """Deals whose name, account or contact holds the words, newest first."""
    qs = selectors.search_deals(
        selectors.deal_base(workspace=workspace, viewer=viewer).filter(deleted_at__isnull=True),
        query,
    )
    rows = qs.order_by("-id").values_list(
        "id", "name", "amount", "currency", "stage__name", "account__name"
    )[: limit + 1]
    detail = _url_maker()
    return [
        SearchHit(
            title=name,
            subtitle=" · ".join(
                p for p in (stage or "", money_display(amount, currency), account or "") if p
            ),
            url=detail(pk),
            kind="deal",
        )
        for pk, name, amount, currency, stage, account in rows
    ]


def _url_maker() -> Any:
    prefix, _sep, suffix = reverse("sales:deal_detail", args=[1]).rpartition("1")
    return lambda pk: f"{prefix}{pk}{suffix}"


def register() -> None:
    register_subject(
        SubjectType(
            name="deal",
            label=pgettext_lazy("automation subject", "Deal"),
            model=Deal,
            module="deals",
            fields=DEAL_FIELDS,
            update=_update,
            assign=_assign,
            open_counts=services.open_deal_counts,
            related={
                "account": ("account", lambda obj: obj.account),
                "contact": ("contact", lambda obj: obj.contact),
            },
            task_link="deal",
            email_of=_email_of,
            url_of=_url_of,
            live={"deleted_at__isnull": True},
        )
    )
    register_trigger("deal.created", label=_("A deal is created"), subject_type="deal")
    register_trigger("deal.updated", label=_("A deal is updated"), subject_type="deal")
    register_trigger(
        "deal.stage_changed", label=_("A deal moves to another stage"), subject_type="deal"
    )
    register_trigger("deal.won", label=_("A deal is won"), subject_type="deal")
    register_trigger("deal.lost", label=_("A deal is lost"), subject_type="deal")
    # Deals follow the contact or account they are linked to into a merge's survivor.
    register_merge_relation(Deal, "contact", label="deals")
    register_merge_relation(Deal, "account", object_type="account", label="deals")
    register_search_provider(
        "deals", _("Deals"), deal_hits, order=30, list_url_name="sales:deal_list"
    )


register()
