"""The core's REST endpoints: the caller (`/me`), tags, custom-field definitions and API keys.

Handlers parse, call one selector or service and return; access and validation live below.
"""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest
from ninja import Query, Router, Status

from vinculo.core import selectors, services
from vinculo.core.models import User, Workspace
from vinculo.core.pagination import MAX_LIMIT
from vinculo.core.schemas import (
    ApiKeyCreated,
    ApiKeyIn,
    ApiKeyOut,
    ApiKeyPage,
    CustomFieldIn,
    CustomFieldOut,
    CustomFieldPage,
    CustomFieldPatch,
    MeOut,
    TagIn,
    TagOut,
    TagPage,
    TagPatch,
)

router = Router()

LIMIT = Query(50, ge=1, le=MAX_LIMIT, description="Items per page.")
CURSOR = Query(None, description="`next_cursor` of the previous page.")
DELETED = Query(False, description="List the bin (deleted items) instead of the live ones.")


def _workspace(request: HttpRequest) -> Workspace:
    # Set by the API key auth or, for the browser's session, by WorkspaceMiddleware.
    return request.workspace  # type: ignore[attr-defined]


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


# --- the caller ------------------------------------------------------------------------------


@router.get("/me", response=MeOut, tags=["me"])
def me(request: HttpRequest) -> Any:
    """The caller, the workspace this request acts in, and the caller's role and rights."""
    return selectors.me_get(workspace=_workspace(request), user=_user(request))


# --- tags ------------------------------------------------------------------------------------


@router.get("/tags", response=TagPage, tags=["tags"])
def list_tags(
    request: HttpRequest,
    q: str = Query("", description="Part of the name, any case."),
    deleted: bool = DELETED,
    limit: int = LIMIT,
    cursor: str | None = CURSOR,
) -> Any:
    return selectors.tag_list(
        workspace=_workspace(request),
        viewer=_user(request),
        q=q,
        deleted=deleted,
        after=cursor,
        limit=limit,
    )


@router.post("/tags", response={201: TagOut}, tags=["tags"])
def create_tag(request: HttpRequest, body: TagIn) -> Any:
    """Names are unique in the workspace ignoring case; `color` is one of the palette's."""
    tag = services.tag_create(
        workspace=_workspace(request), actor=_user(request), name=body.name, color=body.color
    )
    return Status(201, tag)


@router.get("/tags/{tag_id}", response=TagOut, tags=["tags"])
def get_tag(request: HttpRequest, tag_id: int) -> Any:
    return selectors.tag_get(workspace=_workspace(request), viewer=_user(request), tag_id=tag_id)


@router.patch("/tags/{tag_id}", response=TagOut, tags=["tags"])
def update_tag(request: HttpRequest, tag_id: int, body: TagPatch) -> Any:
    return services.tag_update(
        workspace=_workspace(request), actor=_user(request), tag_id=tag_id, **body.changes()
    )


@router.delete("/tags/{tag_id}", response={204: None}, tags=["tags"])
def delete_tag(request: HttpRequest, tag_id: int) -> Any:
    """Moves the tag to the bin; `POST /tags/{tag_id}/restore` brings it back."""
    services.tag_delete(workspace=_workspace(request), actor=_user(request), tag_id=tag_id)
    return Status(204, None)


@router.post("/tags/{tag_id}/restore", response=TagOut, tags=["tags"])
def restore_tag(request: HttpRequest, tag_id: int) -> Any:
    return services.tag_restore(workspace=_workspace(request), actor=_user(request), tag_id=tag_id)


# --- custom-field definitions ----------------------------------------------------------------


@router.get("/custom-fields", response=CustomFieldPage, tags=["custom fields"])
def list_custom_fields(
    request: HttpRequest,
    object_type: Literal["contact", "account"] | None = Query(None),
    deleted: bool = DELETED,
    limit: int = LIMIT,
    cursor: str | None = CURSOR,
) -> Any:
    return selectors.customfield_list(
        workspace=_workspace(request),
        viewer=_user(request),
        object_type=object_type,
        deleted=deleted,
        after=cursor,
        limit=limit,
    )


@router.post("/custom-fields", response={201: CustomFieldOut}, tags=["custom fields"])
def create_custom_field(request: HttpRequest, body: CustomFieldIn) -> Any:
    """`key` and `field_type` cannot change later. Choice types need `choices`."""
    definition = services.customfield_create(
        workspace=_workspace(request), actor=_user(request), **body.model_dump()
    )
    return Status(201, definition)


@router.get("/custom-fields/{field_id}", response=CustomFieldOut, tags=["custom fields"])
def get_custom_field(request: HttpRequest, field_id: int) -> Any:
    return selectors.customfield_get(
        workspace=_workspace(request), viewer=_user(request), field_id=field_id
    )


@router.patch("/custom-fields/{field_id}", response=CustomFieldOut, tags=["custom fields"])
def update_custom_field(request: HttpRequest, field_id: int, body: CustomFieldPatch) -> Any:
    """Label, choices, required and position may change; `field_type`, `key` and
    `object_type` may be sent only unchanged."""
    return services.customfield_update(
        workspace=_workspace(request), actor=_user(request), field_id=field_id, **body.changes()
    )


@router.delete("/custom-fields/{field_id}", response={204: None}, tags=["custom fields"])
def delete_custom_field(request: HttpRequest, field_id: int) -> Any:
    services.customfield_delete(
        workspace=_workspace(request), actor=_user(request), field_id=field_id
    )
    return Status(204, None)


@router.post("/custom-fields/{field_id}/restore", response=CustomFieldOut, tags=["custom fields"])
def restore_custom_field(request: HttpRequest, field_id: int) -> Any:
    return services.customfield_restore(
        workspace=_workspace(request), actor=_user(request), field_id=field_id
    )


# --- API keys --------------------------------------------------------------------------------


@router.get("/api-keys", response=ApiKeyPage, tags=["api keys"])
def list_api_keys(
    request: HttpRequest,
    everyone: bool = Query(False, description="Every member's keys (admins only)."),
    limit: int = LIMIT,
    cursor: str | None = CURSOR,
) -> Any:
    """Your keys in this workspace, newest first, revoked ones included."""
    return selectors.apikey_list(
        workspace=_workspace(request),
        viewer=_user(request),
        everyone=everyone,
        after=cursor,
        limit=limit,
    )


@router.post("/api-keys", response={201: ApiKeyCreated}, tags=["api keys"])
def create_api_key(request: HttpRequest, body: ApiKeyIn) -> Any:
    """The answer holds the raw key, the only time it is ever shown."""
    key, raw = services.apikey_issue(
        workspace=_workspace(request), actor=_user(request), name=body.name
    )
    return Status(201, {**ApiKeyOut.from_orm(key).model_dump(), "key": raw})


@router.delete("/api-keys/{key_id}", response={204: None}, tags=["api keys"])
def revoke_api_key(request: HttpRequest, key_id: int) -> Any:
    """Revokes at once: the key gets 401 from its next request on."""
    services.apikey_revoke_by(workspace=_workspace(request), actor=_user(request), key_id=key_id)
    return Status(204, None)
