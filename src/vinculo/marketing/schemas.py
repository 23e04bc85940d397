"""Shapes of the web forms API: what goes in (types only; the services check meaning, so the
pages and the API give the same messages) and what comes out."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.urls import reverse
from ninja import Schema

from vinculo.core.schemas import InputSchema, PatchSchema


class WebFormFieldIn(InputSchema):
    name: str
    label: str = ""
    required: bool = False


class WebFormIn(InputSchema):
    name: str
    title: str = ""
    introduction: str = ""
    fields: list[WebFormFieldIn]
    submit_label: str = ""
    consent_enabled: bool = True
    consent_purpose: str = ""
    consent_wording: str = ""
    consent_required: bool = False
    thank_you_message: str = ""
    redirect_url: str = ""
    lead_source: str = ""
    allowed_origins: list[str] = []
    is_active: bool = True

    def to_data(self) -> dict[str, Any]:
        return self.model_dump()


class WebFormPatch(PatchSchema):
    name: str | None = None
    title: str | None = None
    introduction: str | None = None
    fields: list[WebFormFieldIn] | None = None
    submit_label: str | None = None
    consent_enabled: bool | None = None
    consent_purpose: str | None = None
    consent_wording: str | None = None
    consent_required: bool | None = None
    thank_you_message: str | None = None
    redirect_url: str | None = None
    lead_source: str | None = None
    allowed_origins: list[str] | None = None
    is_active: bool | None = None


class WebFormFieldOut(Schema):
    name: str
    label: str
    required: bool


class WebFormOut(Schema):
    id: int
    name: str
    public_key: str
    public_path: str
    title: str
    introduction: str
    fields: list[WebFormFieldOut]
    submit_label: str
    consent_enabled: bool
    consent_purpose: str
    consent_wording: str
    consent_required: bool
    thank_you_message: str
    redirect_url: str
    lead_source: str
    allowed_origins: list[str]
    is_active: bool
    submission_count: int
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_public_path(obj: Any) -> str:
        return reverse("marketing:webform_public", args=[obj.public_key])

    @staticmethod
    def resolve_allowed_origins(obj: Any) -> list[str]:
        return [line for line in (obj.allowed_origins or "").splitlines() if line]


class WebFormPage(Schema):
    items: list[WebFormOut]
    next_cursor: str | None


class SubmissionOut(Schema):
    id: int
    form_id: int
    lead_id: int | None
    data: dict[str, Any]
    utm: dict[str, str]
    page_url: str
    referrer: str
    ip_address: str | None
    user_agent: str
    created_at: datetime


class SubmissionPage(Schema):
    items: list[SubmissionOut]
    next_cursor: str | None
