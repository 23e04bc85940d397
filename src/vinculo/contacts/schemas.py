"""Shapes of the contacts API. Inputs are deliberately lax (strings, lists, an object for
custom fields): the domain validation in `contacts.validation` checks them and reports every
bad field in one answer, which a strict schema would cut short at the first type error."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Field, Schema
from pydantic import ConfigDict

from vinculo.core.pagination import MAX_LIMIT


class TagOut(Schema):
    id: int
    name: str
    color: str


class UserSummary(Schema):
    id: int
    email: str
    full_name: str


class AccountSummary(Schema):
    id: int
    name: str


class _RecordIn(Schema):
    # Unknown fields are refused by name, so a typo never silently drops a value.
    model_config = ConfigDict(extra="forbid")

    owner_id: int | None = Field(None, description="User id of the owner; null for none.")
    street: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = Field(None, description="ISO 3166 two-letter code.")
    external_id: str | None = None
    tags: list[str] | None = Field(None, description="Tag names; missing tags are created.")
    custom_fields: dict[str, Any] | None = Field(
        None, description="Values by custom field key; null clears a value."
    )


class ContactIn(_RecordIn):
    """A contact to create, or the fields to change (PATCH sends only what changes)."""

    first_name: str | None = None
    last_name: str | None = None
    email: str | None = Field(None, description="The primary address (first of `emails`).")
    emails: list[str] | None = None
    phone: str | None = Field(None, description="The primary phone (first of `phones`).")
    phones: list[str] | None = Field(
        None, description="Any format; stored as E.164. Without +, the country applies."
    )
    job_title: str | None = None
    birthdate: str | None = Field(None, description="YYYY-MM-DD.")
    language: str | None = None
    lifecycle_stage: str | None = None
    source: str | None = None
    account_id: int | None = None


class AccountIn(_RecordIn):
    """An account to create, or the fields to change (PATCH sends only what changes)."""

    name: str | None = None
    domain: str | None = None
    industry: str | None = None
    size: str | None = None
    phone: str | None = None
    website: str | None = None


class _RecordOut(Schema):
    id: int
    owner: UserSummary | None
    street: str
    city: str
    state: str
    postal_code: str
    country: str
    external_id: str
    tags: list[TagOut]
    custom_fields: dict[str, Any]
    last_activity_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime
    deleted_at: dt.datetime | None

    @staticmethod
    def resolve_tags(obj: Any) -> list[Any]:
        # The selectors and services prefetch live tags; `.all()` reads that cache.
        return list(obj.tags.all())


class ContactOut(_RecordOut):
    first_name: str
    last_name: str
    display_name: str
    email: str
    emails: list[str]
    phone: str
    phones: list[str]
    job_title: str
    birthdate: dt.date | None
    language: str
    lifecycle_stage: str
    source: str
    account: AccountSummary | None


class AccountOut(_RecordOut):
    name: str
    domain: str
    industry: str
    size: str
    phone: str
    website: str


class ContactPage(Schema):
    items: list[ContactOut]
    next_cursor: str | None


class AccountPage(Schema):
    items: list[AccountOut]
    next_cursor: str | None


class _ListQuery(Schema):
    q: str | None = Field(None, description="Words of names, emails, phones or company.")
    owner: str | None = Field(None, description='A user id, "me" or "none".')
    tag: str | None = Field(None, description="Tag id or name.")
    city: str | None = None
    state: str | None = None
    country: str | None = None
    created_after: str | None = None
    created_before: str | None = None
    updated_after: str | None = None
    updated_before: str | None = None
    deleted: str | None = Field(None, description="true lists deleted records (to restore).")
    sort: str | None = Field(
        None,
        description=(
            "name, -name, created_at, -created_at, updated_at or -updated_at. Without it: by "
            "name, or newest first when `q` is given."
        ),
    )
    limit: int = Field(50, ge=1, le=MAX_LIMIT)
    cursor: str | None = None

    def filter_params(self) -> dict[str, Any]:
        return self.model_dump(exclude={"limit", "cursor"}, exclude_none=True)


class ContactListQuery(_ListQuery):
    """Also `cf.<key>=value` for custom fields."""

    lifecycle_stage: str | None = None
    account: str | None = Field(None, description="Account id.")
    source: str | None = None


class AccountListQuery(_ListQuery):
    """Also `cf.<key>=value` for custom fields."""

    industry: str | None = None
    size: str | None = None
    domain: str | None = None
