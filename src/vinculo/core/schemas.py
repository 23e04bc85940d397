"""Shapes of the core API: what goes in (types only; the services validate meaning, so the
pages and the API give the same messages) and what comes out."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Schema
from pydantic import ConfigDict, field_validator
from pydantic_core import PydanticCustomError

# --- input -----------------------------------------------------------------------------------


class InputSchema(Schema):
    # An unknown key is most often a typo ("colour"); saying so beats ignoring it silently.
    model_config = ConfigDict(extra="forbid")


class PatchSchema(InputSchema):
    """A partial update: absent keys stay as they are. `null` is refused, since none of the
    fields can be emptied that way."""

    @field_validator("*", mode="after")
    @classmethod
    def refuse_null(cls, value: Any) -> Any:
        if value is None:
            raise PydanticCustomError(
                "null_not_allowed", "May not be null; leave the key out to keep the current value."
            )
        return value

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


class TagIn(InputSchema):
    name: str
    color: str = "gray"


class TagPatch(PatchSchema):
    name: str | None = None
    color: str | None = None


class CustomFieldIn(InputSchema):
    object_type: str
    key: str
    label: str
    field_type: str
    choices: list[str] = []
    required: bool = False
    position: int | None = None


class CustomFieldPatch(PatchSchema):
    label: str | None = None
    choices: list[str] | None = None
    required: bool | None = None
    position: int | None = None
    # Accepted only unchanged, so a client can send back what it read.
    field_type: str | None = None
    key: str | None = None
    object_type: str | None = None


class ApiKeyIn(InputSchema):
    name: str = ""


# --- output ----------------------------------------------------------------------------------


class TagOut(Schema):
    id: int
    name: str
    color: str
    created_at: datetime
    deleted_at: datetime | None


class TagPage(Schema):
    items: list[TagOut]
    next_cursor: str | None


class CustomFieldOut(Schema):
    id: int
    object_type: str
    key: str
    label: str
    field_type: str
    choices: list[str]
    required: bool
    position: int
    created_at: datetime
    deleted_at: datetime | None


class CustomFieldPage(Schema):
    items: list[CustomFieldOut]
    next_cursor: str | None


class ApiKeyFields(Schema):
    """A key as listed: never its secret nor the secret's hash."""

    id: int
    name: str
    prefix: str
    user_email: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyOut(ApiKeyFields):
    @staticmethod
    def resolve_user_email(obj: Any) -> str:
        return obj.user.email


class ApiKeyCreated(ApiKeyFields):
    """The only answer that ever holds the raw key; store it now, it cannot be shown again."""

    key: str


class ApiKeyPage(Schema):
    items: list[ApiKeyOut]
    next_cursor: str | None


class UserOut(Schema):
    id: int
    email: str
    full_name: str
    language: str
    time_zone: str


class WorkspaceOut(Schema):
    id: int
    name: str
    slug: str
    time_zone: str
    currency: str
    locale: str


class MeOut(Schema):
    user: UserOut
    workspace: WorkspaceOut
    role: str
    rights: dict[str, list[str]]
