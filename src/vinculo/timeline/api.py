"""REST endpoints of the timeline: interactions, tasks, notes and the timeline of a contact,
an account, a lead or a deal.

Handlers parse, call one service or selector and return; errors become problem responses in
`core.api_support`. A record of another workspace answers 404 exactly like a missing one,
because every selector and service scopes to the caller's workspace first.
"""

from __future__ import annotations

from typing import Any, cast

from django.http import HttpRequest
from ninja import Query, Router, Status

from vinculo.core.models import User, Workspace
from vinculo.timeline import selectors, services
from vinculo.timeline.schemas import (
    InteractionIn,
    InteractionOut,
    InteractionPage,
    InteractionPatch,
    InteractionQuery,
    NoteIn,
    NoteOut,
    NotePage,
    NotePatch,
    NoteQuery,
    TaskIn,
    TaskOut,
    TaskPage,
    TaskPatch,
    TaskQuery,
    TimelinePageOut,
    TimelineQuery,
)

router = Router(tags=["timeline"])


def _ws(request: HttpRequest) -> Workspace:
    return cast(Workspace, request.workspace)  # type: ignore[attr-defined]


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


# ---------------------------------------------------------------------------------------------
# Interactions


@router.get("/interactions", response=InteractionPage)
def interaction_list(request: HttpRequest, query: Query[InteractionQuery]) -> Any:
    return selectors.interaction_list(
        workspace=_ws(request),
        viewer=_user(request),
        filters=query.to_filters(),
        after=query.cursor,
        limit=query.limit,
    )


@router.post("/interactions", response={201: InteractionOut})
def interaction_create(request: HttpRequest, body: InteractionIn) -> Any:
    interaction = services.interaction_create(
        workspace=_ws(request), actor=_user(request), **body.dict()
    )
    return Status(201, interaction)


@router.get("/interactions/{interaction_id}", response=InteractionOut)
def interaction_get(request: HttpRequest, interaction_id: int) -> Any:
    return selectors.interaction_get(
        workspace=_ws(request), viewer=_user(request), interaction_id=interaction_id
    )


@router.patch("/interactions/{interaction_id}", response=InteractionOut)
def interaction_update(request: HttpRequest, interaction_id: int, body: InteractionPatch) -> Any:
    return services.interaction_update(
        workspace=_ws(request),
        actor=_user(request),
        interaction_id=interaction_id,
        data=body.dict(exclude_unset=True),
    )


@router.delete("/interactions/{interaction_id}", response={204: None})
def interaction_delete(request: HttpRequest, interaction_id: int) -> Any:
    services.interaction_delete(
        workspace=_ws(request), actor=_user(request), interaction_id=interaction_id
    )
    return Status(204, None)


@router.post("/interactions/{interaction_id}/restore", response=InteractionOut)
def interaction_restore(request: HttpRequest, interaction_id: int) -> Any:
    return services.interaction_restore(
        workspace=_ws(request), actor=_user(request), interaction_id=interaction_id
    )


# ---------------------------------------------------------------------------------------------
# Tasks


@router.get("/tasks", response=TaskPage)
def task_list(request: HttpRequest, query: Query[TaskQuery]) -> Any:
    return selectors.task_list(
        workspace=_ws(request),
        viewer=_user(request),
        filters=query.to_filters(),
        after=query.cursor,
        limit=query.limit,
    )


@router.post("/tasks", response={201: TaskOut})
def task_create(request: HttpRequest, body: TaskIn) -> Any:
    task = services.task_create(workspace=_ws(request), actor=_user(request), **body.dict())
    return Status(201, task)


@router.get("/tasks/{task_id}", response=TaskOut)
def task_get(request: HttpRequest, task_id: int) -> Any:
    return selectors.task_get(workspace=_ws(request), viewer=_user(request), task_id=task_id)


@router.patch("/tasks/{task_id}", response=TaskOut)
def task_update(request: HttpRequest, task_id: int, body: TaskPatch) -> Any:
    return services.task_update(
        workspace=_ws(request),
        actor=_user(request),
        task_id=task_id,
        data=body.dict(exclude_unset=True),
    )


@router.post("/tasks/{task_id}/complete", response=TaskOut)
def task_complete(request: HttpRequest, task_id: int) -> Any:
    return services.task_complete(workspace=_ws(request), actor=_user(request), task_id=task_id)


@router.post("/tasks/{task_id}/reopen", response=TaskOut)
def task_reopen(request: HttpRequest, task_id: int) -> Any:
    return services.task_reopen(workspace=_ws(request), actor=_user(request), task_id=task_id)


@router.delete("/tasks/{task_id}", response={204: None})
def task_delete(request: HttpRequest, task_id: int) -> Any:
    services.task_delete(workspace=_ws(request), actor=_user(request), task_id=task_id)
    return Status(204, None)


@router.post("/tasks/{task_id}/restore", response=TaskOut)
def task_restore(request: HttpRequest, task_id: int) -> Any:
    return services.task_restore(workspace=_ws(request), actor=_user(request), task_id=task_id)


# ---------------------------------------------------------------------------------------------
# Notes


@router.get("/notes", response=NotePage)
def note_list(request: HttpRequest, query: Query[NoteQuery]) -> Any:
    return selectors.note_list(
        workspace=_ws(request),
        viewer=_user(request),
        filters=query.to_filters(),
        after=query.cursor,
        limit=query.limit,
    )


@router.post("/notes", response={201: NoteOut})
def note_create(request: HttpRequest, body: NoteIn) -> Any:
    note = services.note_create(workspace=_ws(request), actor=_user(request), **body.dict())
    return Status(201, note)


@router.get("/notes/{note_id}", response=NoteOut)
def note_get(request: HttpRequest, note_id: int) -> Any:
    return selectors.note_get(workspace=_ws(request), viewer=_user(request), note_id=note_id)


@router.patch("/notes/{note_id}", response=NoteOut)
def note_update(request: HttpRequest, note_id: int, body: NotePatch) -> Any:
    return services.note_update(
        workspace=_ws(request),
        actor=_user(request),
        note_id=note_id,
        data=body.dict(exclude_unset=True),
    )


@router.delete("/notes/{note_id}", response={204: None})
def note_delete(request: HttpRequest, note_id: int) -> Any:
    services.note_delete(workspace=_ws(request), actor=_user(request), note_id=note_id)
    return Status(204, None)


@router.post("/notes/{note_id}/restore", response=NoteOut)
def note_restore(request: HttpRequest, note_id: int) -> Any:
    return services.note_restore(workspace=_ws(request), actor=_user(request), note_id=note_id)


# ---------------------------------------------------------------------------------------------
# A customer's timeline


@router.get("/contacts/{contact_id}/timeline", response=TimelinePageOut)
def contact_timeline(request: HttpRequest, contact_id: int, query: Query[TimelineQuery]) -> Any:
    return selectors.record_timeline(
        workspace=_ws(request),
        viewer=_user(request),
        contact=contact_id,
        kinds=query.kind_set(),
        channels=query.channel_set(),
        after=query.cursor,
        limit=query.limit,
    )


@router.get("/accounts/{account_id}/timeline", response=TimelinePageOut)
def account_timeline(request: HttpRequest, account_id: int, query: Query[TimelineQuery]) -> Any:
    return selectors.record_timeline(
        workspace=_ws(request),
        viewer=_user(request),
        account=account_id,
        kinds=query.kind_set(),
        channels=query.channel_set(),
        after=query.cursor,
        limit=query.limit,
    )


@router.get("/leads/{lead_id}/timeline", response=TimelinePageOut, tags=["leads"])
def lead_timeline(request: HttpRequest, lead_id: int, query: Query[TimelineQuery]) -> Any:
    return selectors.record_timeline(
        workspace=_ws(request),
        viewer=_user(request),
        lead=lead_id,
        kinds=query.kind_set(),
        channels=query.channel_set(),
        after=query.cursor,
        limit=query.limit,
    )


@router.get("/deals/{deal_id}/timeline", response=TimelinePageOut, tags=["deals"])
def deal_timeline(request: HttpRequest, deal_id: int, query: Query[TimelineQuery]) -> Any:
    return selectors.record_timeline(
        workspace=_ws(request),
        viewer=_user(request),
        deal=deal_id,
        kinds=query.kind_set(),
        channels=query.channel_set(),
        after=query.cursor,
        limit=query.limit,
    )
