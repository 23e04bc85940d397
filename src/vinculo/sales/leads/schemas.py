"""Shapes of the leads API. Inputs are deliberately lax (strings, ids, an object for custom
fields): `sales.leads.validation` checks them and reports every bad field in one answer, which
a strict schema would cut short at the first type error."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from ninja import Field, Schema
from pydantic import ConfigDict

from vinculo.core.pagination import MAX_LIMIT


class UserSummary(Schema):
    id: int
    email: str
    full_name: str


class TeamSummary(Schema):
    id: int
    name: str


class RecordSummary(Schema):
    id: int
    name: str


class LeadIn(Schema):
    """A lead to create, or the fields to change (PATCH sends only what changes). The status
    changes through /status, the owner through /assign (or `owner_id` here)."""

    # Unknown fields are refused by name, so a typo never silently drops a value.
    model_config = ConfigDict(extra="forbid")

    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = Field(None, description="Any format; stored as E.164.")
    job_title: str | None = None
    company_name: str | None = None
    company_domain: str | None = None
    company_size: str | None = Field(None, description="1-10, 11-50, 51-200, 201-1000, 1001+.")
    industry: str | None = None
    website: str | None = None
    city: str | None = None
    state: str | None = None
    country: str | None = Field(None, description="ISO 3166 two-letter code.")
    message: str | None = None
    source: str | None = None
    utm_source: str | None = None
    utm_medium: str | None = None
    utm_campaign: str | None = None
    utm_term: str | None = None
    utm_content: str | None = None
    campaign: str | None = None
    web_form_id: int | None = None
    owner_id: int | None = Field(None, description="User id of the owner; null for none.")
    team_id: int | None = None
    external_id: str | None = None
    custom_fields: dict[str, Any] | None = Field(
        None, description="Values by custom field key; null clears a value."
    )


class LeadOut(Schema):
    id: int
    display_name: str
    first_name: str
    last_name: str
    email: str
    phone: str
    job_title: str
    company_name: str
    company_domain: str
    company_size: str
    industry: str
    website: str
    city: str
    state: str
    country: str
    message: str
    source: str
    utm_source: str
    utm_medium: str
    utm_campaign: str
    utm_term: str
    utm_content: str
    campaign: str
    web_form_id: int | None
    status: str
    disqualified_reason: str
    score: int
    score_reasons: list[Any]
    predicted_score: int | None
    predicted_factors: list[Any]
    scored_at: dt.datetime | None
    owner: UserSummary | None
    team: TeamSummary | None
    assigned_at: dt.datetime | None
    first_contacted_at: dt.datetime | None
    reassigned_count: int
    converted_at: dt.datetime | None
    converted_contact_id: int | None
    converted_account_id: int | None
    converted_deal_id: int | None
    custom_fields: dict[str, Any]
    external_id: str
    last_activity_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime
    deleted_at: dt.datetime | None


class DuplicateOut(Schema):
    kind: str = Field(description="lead or contact")
    id: int
    name: str


class LeadCreated(LeadOut):
    duplicates: list[DuplicateOut] = Field(
        default_factory=list,
        description=(
            "Open leads and contacts that already have this email: a warning, the lead is "
            "created anyway."
        ),
    )


class LeadPage(Schema):
    items: list[LeadOut]
    next_cursor: str | None


class LeadListQuery(Schema):
    """Also `cf.<key>=value` for custom fields."""

    q: str | None = Field(None, description="Words of names, email, phone or company.")
    status: str | None = Field(None, description='A status, or "open" (new, working, qualified).')
    owner: str | None = Field(None, description='A user id, "me" or "none".')
    team: str | None = Field(None, description='A team id or "none".')
    source: str | None = None
    utm_campaign: str | None = None
    score_min: str | None = Field(None, description="Leads scoring at least this.")
    country: str | None = None
    deleted: str | None = Field(None, description="true lists deleted leads (to restore).")
    sort: str | None = Field(
        None,
        description=(
            "-created_at (default), created_at, name, -name, -score, score, -predicted_score, "
            "predicted_score (unscored leads last)."
        ),
    )
    limit: int = Field(50, ge=1, le=MAX_LIMIT)
    cursor: str | None = None

    def filter_params(self) -> dict[str, Any]:
        return self.model_dump(exclude={"limit", "cursor"}, exclude_none=True)


class AssignIn(Schema):
    model_config = ConfigDict(extra="forbid")

    owner_id: int | None = Field(description="The new owner; null leaves the lead unowned.")
    team_id: int | None = Field(None, description="The new team; left out keeps the team.")
    reason: str = ""


class StatusIn(Schema):
    model_config = ConfigDict(extra="forbid")

    status: str = Field(description="new, working, qualified or disqualified.")
    reason: str = Field("", description="Required to disqualify.")


class ConvertIn(Schema):
    model_config = ConfigDict(extra="forbid")

    contact_id: int | None = Field(
        None, description="Convert into this contact (default: the one with the lead's email)."
    )
    account_id: int | None = Field(
        None, description="Link this account (default: by company domain or exact name)."
    )
    create_deal: bool = True
    deal_name: str = ""
    pipeline_id: int | None = None
    amount: Decimal | str | None = None


class ConversionOut(Schema):
    lead: LeadOut
    contact: RecordSummary
    account: RecordSummary | None
    deal: RecordSummary | None
    contact_created: bool
    account_created: bool

    @staticmethod
    def resolve_contact(obj: Any) -> dict[str, Any]:
        return {"id": obj.contact.pk, "name": obj.contact.display_name}


class ConversionPreview(Schema):
    """What converting would link: existing records found (null: one would be created)."""

    contact: RecordSummary | None
    account: RecordSummary | None
    account_matched_by: str

    @staticmethod
    def resolve_contact(obj: Any) -> dict[str, Any] | None:
        if obj.contact is None:
            return None
        return {"id": obj.contact.pk, "name": obj.contact.display_name}

    @staticmethod
    def resolve_account_matched_by(obj: Any) -> str:
        return str(obj.account_by)
