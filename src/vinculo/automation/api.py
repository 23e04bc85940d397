"""REST endpoints of automation: rules (CRUD, reorder, restore), their run log, and the
triggers rules can use (with the fields their conditions may name).

Handlers parse, call one service or selector and return; errors become problem responses in
`core.api_support`. A rule of another workspace answers 404 exactly like a missing one."""

from __future__ import annotations

from typing import Any, cast

from django.http import HttpRequest
from ninja import Query, Router, Status

from vinculo.automation import selectors, services
from vinculo.automation.conditions import condition_fields
from vinculo.automation.schemas import (
    ReorderIn,
    RuleIn,
    RuleOut,
    RulePage,
    RulePatch,
    RuleQuery,
    RuleRunPage,
    RunQuery,
    TriggerPage,
)
from vinculo.core.access import require
from vinculo.core.models import User, Workspace
from vinculo.core.roles import Right

router = Router(tags=["automation"])


def _ws(request: HttpRequest) -> Workspace:
    return cast(Workspace, request.workspace)  # type: ignore[attr-defined]


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


@router.get("/automation/triggers", response=TriggerPage)
def trigger_list(request: HttpRequest) -> Any:
    require(workspace=_ws(request), user=_user(request), module="automation", right=Right.VIEW)
    items = [
        {
            "event_type": event_type,
            "label": str(label),
            "subject_type": subject,
            "fields": [
                {
                    "name": path,
                    "label": str(field_label),
                    "kind": spec.kind,
                    "choices": [[str(v), str(lbl)] for v, lbl in spec.choices],
                    "settable": spec.settable and "." not in path,
                }
                for path, field_label, spec in condition_fields(subject)
            ],
        }
        for event_type, label, subject in selectors.trigger_choices()
    ]
    return {"items": items, "next_cursor": None}


@router.get("/automation/rules", response=RulePage)
def rule_list(request: HttpRequest, query: Query[RuleQuery]) -> Any:
    return selectors.rule_list(
        workspace=_ws(request),
        viewer=_user(request),
        trigger=query.trigger,
        deleted=query.deleted,
        after=query.cursor,
        limit=query.limit,
    )


@router.post("/automation/rules", response={201: RuleOut})
def rule_create(request: HttpRequest, body: RuleIn) -> Any:
    rule = services.rule_create(
        workspace=_ws(request), actor=_user(request), data=body.model_dump()
    )
    return Status(201, rule)


@router.post("/automation/rules/reorder", response=RulePage)
def rule_reorder(request: HttpRequest, body: ReorderIn) -> Any:
    rules = services.rule_reorder(
        workspace=_ws(request), actor=_user(request), rule_ids=body.rule_ids
    )
    return {"items": rules, "next_cursor": None}


@router.get("/automation/rules/{rule_id}", response=RuleOut)
def rule_get(request: HttpRequest, rule_id: int) -> Any:
    return selectors.rule_get(workspace=_ws(request), viewer=_user(request), rule_id=rule_id)


@router.patch("/automation/rules/{rule_id}", response=RuleOut)
def rule_update(request: HttpRequest, rule_id: int, body: RulePatch) -> Any:
    return services.rule_update(
        workspace=_ws(request), actor=_user(request), rule_id=rule_id, data=body.changes()
    )


@router.delete("/automation/rules/{rule_id}", response={204: None})
def rule_delete(request: HttpRequest, rule_id: int) -> Any:
    services.rule_delete(workspace=_ws(request), actor=_user(request), rule_id=rule_id)
    return Status(204, None)


@router.post("/automation/rules/{rule_id}/restore", response=RuleOut)
def rule_restore(request: HttpRequest, rule_id: int) -> Any:
    return services.rule_restore(workspace=_ws(request), actor=_user(request), rule_id=rule_id)


@router.get("/automation/rules/{rule_id}/runs", response=RuleRunPage)
def rule_runs(request: HttpRequest, rule_id: int, query: Query[RunQuery]) -> Any:
    return selectors.rule_runs(
        workspace=_ws(request),
        viewer=_user(request),
        rule_id=rule_id,
        status=query.status,
        after=query.cursor,
        limit=query.limit,
    )
