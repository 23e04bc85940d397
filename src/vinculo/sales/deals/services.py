"""Writes of pipelines and deals: pipelines and their stages, lost reasons, deals (moves through
the stages with their history, won and lost), the products on a deal, and the catalogue of
products and price lists.

Every function here is the one way its change happens: the board, the pages, the API, imports
and automations call the same ones. Each checks the actor's rights, validates every field at
once, writes in one transaction and records the event that describes the change.

Rights: deals need the "deals" module (view/create/edit/delete); configuring pipelines, stages
and lost reasons changes how everyone's deals are counted, so it needs the delete right on
deals (admins and managers); the catalogue needs the "products" module.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, TypeVar

from django.db import transaction
from django.db.models import Count, Max, Min, Model, Q, QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from vinculo.contacts.models import Account, Contact
from vinculo.core.access import require, visible
from vinculo.core.events import record_event, record_events_bulk
from vinculo.core.exceptions import (
    ApplicationError,
    Conflict,
    ErrorCollector,
    FieldError,
    NotFound,
    ValidationFailed,
)
from vinculo.core.models import Event, Membership, Team, User, Workspace
from vinculo.core.roles import Right
from vinculo.core.search import normalize_text
from vinculo.sales.common import sales_settings_for
from vinculo.sales.deals import validation as v
from vinculo.sales.models import (
    ZERO,
    Deal,
    DealLine,
    DealStageHistory,
    DealStatus,
    ForecastCategory,
    Lead,
    LostReason,
    Pipeline,
    PriceList,
    PriceListItem,
    Product,
    SalesSettings,
    Stage,
    StageKind,
)

MODULE = "deals"
PRODUCTS = "products"
# Kanban card positions: new cards go STEP above the first; a drop takes the midpoint of its
# neighbours; when two neighbours are closer than MIN_GAP the column is spread out again.
POSITION_STEP = 1024.0
MIN_GAP = 1e-6
MAX_STAGES = 30
MAX_LINES = 200

# The pipeline every workspace starts with: (name, probability, kind). The names are stored in
# the workspace's language when the pipeline is made (with a context: "New" and "Won" read
# differently elsewhere).
DEFAULT_PIPELINE_NAME = pgettext_lazy("default pipeline", "Sales")
DEFAULT_STAGES: tuple[tuple[Any, int, str], ...] = (
    (pgettext_lazy("default stage", "New"), 10, StageKind.OPEN),
    (pgettext_lazy("default stage", "Qualified"), 25, StageKind.OPEN),
    (pgettext_lazy("default stage", "Proposal"), 50, StageKind.OPEN),
    (pgettext_lazy("default stage", "Negotiation"), 75, StageKind.OPEN),
    (pgettext_lazy("default stage", "Won"), 100, StageKind.WON),
    (pgettext_lazy("default stage", "Lost"), 0, StageKind.LOST),
)

DEAL_FIELDS = frozenset(
    {
        "name",
        "pipeline_id",
        "stage_id",
        "amount",
        "currency",
        "expected_close_date",
        "forecast_category",
        "owner_id",
        "team_id",
        "contact_id",
        "account_id",
        "lead_id",
        "lost_reason",
        "external_id",
    }
)
# Fields whose old → new values go into deal events, by the names the API uses.
DEAL_TRACKED = (
    "name",
    "pipeline_id",
    "stage_id",
    "status",
    "amount",
    "currency",
    "expected_close_date",
    "forecast_category",
    "owner_id",
    "team_id",
    "contact_id",
    "account_id",
    "lead_id",
    "lost_reason",
    "external_id",
)
_STATUS_OF_KIND = {
    StageKind.OPEN: DealStatus.OPEN,
    StageKind.WON: DealStatus.WON,
    StageKind.LOST: DealStatus.LOST,
}


class RestoreExpired(ApplicationError):
    code = "restore-expired"
    status = 410
    title = "This record can no longer be restored"


# ---------------------------------------------------------------------------------------------
# Shared pieces


def _json(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def _snapshot(obj: Any, names: Sequence[str]) -> dict[str, Any]:
    return {name: _json(getattr(obj, name)) for name in names}


def _changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    return {k: [before.get(k), after.get(k)] for k in after if before.get(k) != after.get(k)}


def _non_empty(snapshot: Mapping[str, Any]) -> dict[str, Any]:
    return {k: val for k, val in snapshot.items() if val not in (None, "", [], {})}


def _not_found(what: str) -> NotFound:
    return NotFound(what, code="not-found")


def _lock_settings(workspace: Workspace) -> None:
    """Serialise writers that must see each other's rows (the first pipeline, the default
    flag): they lock the workspace's one sales settings row."""
    settings = sales_settings_for(workspace)
    SalesSettings.objects.for_workspace(workspace).select_for_update().filter(
        pk=settings.pk
    ).first()


def _member(errors: ErrorCollector, name: str, value: Any, *, workspace: Workspace) -> int | None:
    user_id = v.ident(errors, name, value, message=_("The owner must be an active member."))
    if user_id is None:
        return None
    is_member = (
        Membership.objects.for_workspace(workspace)
        .filter(user_id=user_id, is_active=True, user__is_active=True)
        .exists()
    )
    if not is_member:
        errors.add(name, "not-a-member", _("The owner must be an active member."))
        return None
    return user_id


def _team(errors: ErrorCollector, value: Any, *, workspace: Workspace) -> int | None:
    team_id = v.ident(errors, "team_id", value, message=_("There is no such team."))
    if team_id is None:
        return None
    if not Team.objects.for_workspace(workspace).filter(pk=team_id).exists():
        errors.add("team_id", "not-found", _("There is no such team."))
        return None
    return team_id


def _linked(
    errors: ErrorCollector,
    name: str,
    value: Any,
    *,
    model: Any,
    module: str,
    workspace: Workspace,
    actor: User | None,
    message: str,
) -> int | None:
    """The id of a live record the actor can see (linking needs sight of it: otherwise the
    error would reveal that it exists)."""
    pk = v.ident(errors, name, value, message=message)
    if pk is None:
        return None
    qs = visible(
        model.objects.for_workspace(workspace).filter(deleted_at__isnull=True),
        workspace=workspace,
        viewer=actor,
        module=module,
    )
    if not qs.filter(pk=pk).exists():
        errors.add(name, "not-found", message)
        return None
    return pk


# ---------------------------------------------------------------------------------------------
# Pipelines and stages


def _live_pipelines(workspace: Workspace) -> Any:
    return Pipeline.objects.for_workspace(workspace).filter(deleted_at__isnull=True)


def _live_stages(workspace: Workspace) -> Any:
    return Stage.objects.for_workspace(workspace).filter(
        deleted_at__isnull=True, pipeline__deleted_at__isnull=True
    )


def _first_pipeline(workspace: Workspace) -> Pipeline | None:
    return _live_pipelines(workspace).order_by("-is_default", "position", "id").first()


def pipeline_default(workspace: Workspace) -> Pipeline:
    """The workspace's default pipeline (else its first one). A workspace without any gets
    "Sales" — New 10 %, Qualified 25 %, Proposal 50 %, Negotiation 75 %, Won 100 %, Lost 0 % —
    named in the workspace's language; records `pipeline.created` then."""
    found = _first_pipeline(workspace)
    if found is not None:
        return found
    with transaction.atomic():
        _lock_settings(workspace)
        found = _first_pipeline(workspace)
        if found is not None:
            return found
        with translation.override(workspace.locale or None):
            name = str(DEFAULT_PIPELINE_NAME)
            stages = [
                (str(label), probability, kind) for label, probability, kind in DEFAULT_STAGES
            ]
        pipeline = Pipeline.objects.for_workspace(workspace).create(
            workspace=workspace, name=name, is_default=True, position=0
        )
        Stage.objects.for_workspace(workspace).bulk_create(
            [
                Stage(
                    workspace=workspace,
                    pipeline=pipeline,
                    name=stage_name,
                    probability=probability,
                    kind=kind,
                    position=i,
                )
                for i, (stage_name, probability, kind) in enumerate(stages)
            ]
        )
        record_event(
            workspace=workspace,
            actor=None,
            type="pipeline.created",
            subject=pipeline,
            payload={"name": pipeline.name, "stages": [s[0] for s in stages]},
        )
    return pipeline


_Row = TypeVar("_Row", bound=Model)


def _locked(queryset: QuerySet[_Row], pk: int, missing: str) -> _Row:
    """Row `pk` of `queryset` (which locks what it reads); NotFound saying `missing`."""
    found = queryset.filter(pk=pk if 0 < pk <= v.MAX_ID else 0).first()
    if found is None:
        raise _not_found(missing)
    return found


def _pipeline_for_write(workspace: Workspace, pipeline_id: int) -> Pipeline:
    return _locked(
        _live_pipelines(workspace).select_for_update(of=("self",)),
        pipeline_id,
        _("There is no such pipeline."),
    )


def _stage_values(
    errors: ErrorCollector, data: Mapping[str, Any], *, prefix: str, creating: bool
) -> dict[str, Any]:
    v.unknown(errors, data, frozenset({"name", "probability", "kind", "position"}))
    values: dict[str, Any] = {}
    if "name" in data or creating:
        values["name"] = v.text(
            errors, f"{prefix}name", data.get("name"), max_length=120, required=True
        )
    if "probability" in data:
        values["probability"] = v.whole(
            errors, f"{prefix}probability", data["probability"], minimum=0, maximum=100
        )
    if "kind" in data:
        values["kind"] = v.choice(errors, f"{prefix}kind", data["kind"], StageKind.values)
    if "position" in data:
        values["position"] = v.whole(
            errors, f"{prefix}position", data["position"], minimum=0, maximum=10_000
        )
    return values


def _default_probability(kind: str) -> int:
    return 100 if kind == StageKind.WON else 0


def _check_kinds(errors: ErrorCollector, field: str, kinds: Sequence[str]) -> None:
    missing = [k for k in (StageKind.OPEN, StageKind.WON, StageKind.LOST) if k not in kinds]
    if missing:
        errors.add(
            field,
            "stage-kinds",
            _("A pipeline needs at least one open, one won and one lost stage."),
        )


def pipeline_create(
    *, workspace: Workspace, actor: User | None, data: Mapping[str, Any]
) -> Pipeline:
    """Create a pipeline: `name`, optional `is_default` and `stages` ([{name, probability,
    kind}], default: the same stages as the first pipeline). Records `pipeline.created`.
    Raises PermissionDenied or ValidationFailed (a pipeline needs an open, a won and a lost
    stage)."""
    require(workspace=workspace, user=actor, module=MODULE, right=Right.DELETE)
    errors = ErrorCollector()
    v.unknown(errors, data, frozenset({"name", "is_default", "stages"}))
    name = v.text(errors, "name", data.get("name"), max_length=120, required=True)
    is_default = (
        v.boolean(errors, "is_default", data["is_default"]) if "is_default" in data else False
    )
    raw_stages = data.get("stages")
    stages: list[dict[str, Any]] = []
    if raw_stages is None:
        with translation.override(workspace.locale or None):
            stages = [
                {"name": str(label), "probability": probability, "kind": kind}
                for label, probability, kind in DEFAULT_STAGES
            ]
    elif not isinstance(raw_stages, list):
        errors.add("stages", "invalid-type", _("Send a list of stages."))
    elif len(raw_stages) > MAX_STAGES:
        errors.add("stages", "too-many", _("Use at most %(max)d stages.") % {"max": MAX_STAGES})
    else:
        for i, raw in enumerate(raw_stages):
            if not isinstance(raw, Mapping):
                errors.add(f"stages.{i}", "invalid-type", _("Send an object for each stage."))
                continue
            values = _stage_values(errors, raw, prefix=f"stages.{i}.", creating=True)
            values.pop("position", None)
            values.setdefault("kind", StageKind.OPEN)
            if values.get("probability") is None:
                values["probability"] = _default_probability(values["kind"])
            stages.append(values)
        _check_kinds(errors, "stages", [s["kind"] for s in stages])
    errors.raise_if_any()
    with transaction.atomic():
        _lock_settings(workspace)
        position = (_live_pipelines(workspace).aggregate(top=Max("position"))["top"] or 0) + 1
        has_default = _live_pipelines(workspace).filter(is_default=True).exists()
        if is_default:
            _live_pipelines(workspace).filter(is_default=True).update(is_default=False)
        pipeline = Pipeline.objects.for_workspace(workspace).create(
            workspace=workspace,
            name=name,
            position=position,
            is_default=is_default or not has_default,
        )
        Stage.objects.for_workspace(workspace).bulk_create(
            [
                Stage(workspace=workspace, pipeline=pipeline, position=i, **s)
                for i, s in enumerate(stages)
            ]
        )
        record_event(
            workspace=workspace,
            actor=actor,
            type="pipeline.created",
            subject=pipeline,
            payload={"name": name, "stages": [s["name"] for s in stages]},
        )
    return pipeline


def pipeline_update(
    *, workspace: Workspace, actor: User | None, pipeline_id: int, data: Mapping[str, Any]
) -> Pipeline:
    """Rename a pipeline, make it the default (`is_default`: true) or move it (`position`).
    Records `pipeline.updated` with the changes."""
    require(workspace=workspace, user=actor, module=MODULE, right=Right.DELETE)
    errors = ErrorCollector()
    v.unknown(errors, data, frozenset({"name", "is_default", "position"}))
    values: dict[str, Any] = {}
    if "name" in data:
        values["name"] = v.text(errors, "name", data["name"], max_length=120, required=True)
    if "is_default" in data:
        values["is_default"] = v.boolean(errors, "is_default", data["is_default"])
        if values["is_default"] is False:
            # Another pipeline becomes the default by being made so, not by this one stopping.
            errors.add(
                "is_default",
                "choose-another",
                _("Make another pipeline the default instead."),
            )
    if "position" in data:
        values["position"] = v.whole(
            errors, "position", data["position"], minimum=0, maximum=10_000
        )
    errors.raise_if_any()
    with transaction.atomic():
        _lock_settings(workspace)
        pipeline = _pipeline_for_write(workspace, pipeline_id)
        before = _snapshot(pipeline, ("name", "is_default", "position"))
        if values.get("is_default"):
            _live_pipelines(workspace).filter(is_default=True).exclude(pk=pipeline.pk).update(
                is_default=False
            )
        for name, value in values.items():
            setattr(pipeline, name, value)
        changes = _changes(before, _snapshot(pipeline, ("name", "is_default", "position")))
        if changes:
            pipeline.save(update_fields=list(changes))
            record_event(
                workspace=workspace,
                actor=actor,
                type="pipeline.updated",
                subject=pipeline,
                payload={"changes": changes},
            )
    return pipeline


def pipeline_delete(*, workspace: Workspace, actor: User | None, pipeline_id: int) -> None:
    """Delete a pipeline that has no open deals (its won and lost deals keep their history).
    Another pipeline becomes the default if this one was. Records `pipeline.deleted`. Raises
    Conflict (code "pipeline-has-open-deals") while open deals remain."""
    require(workspace=workspace, user=actor, module=MODULE, right=Right.DELETE)
    with transaction.atomic():
        _lock_settings(workspace)
        pipeline = _pipeline_for_write(workspace, pipeline_id)
        open_deals = (
            Deal.objects.for_workspace(workspace)
            .filter(pipeline=pipeline, status=DealStatus.OPEN, deleted_at__isnull=True)
            .count()
        )
        if open_deals:
            raise Conflict(
                _(
                    "“%(name)s” still has %(count)d open deal(s): move them to another "
                    "pipeline, or close them, before deleting it."
                )
                % {"name": pipeline.name, "count": open_deals},
                code="pipeline-has-open-deals",
            )
        pipeline.deleted_at = timezone.now()
        was_default = pipeline.is_default
        pipeline.is_default = False
        pipeline.save(update_fields=["deleted_at", "is_default"])
        if was_default:
            successor = _live_pipelines(workspace).order_by("position", "id").first()
            if successor is not None:
                successor.is_default = True
                successor.save(update_fields=["is_default"])
        record_event(
            workspace=workspace,
            actor=actor,
            type="pipeline.deleted",
            subject=pipeline,
            payload={"name": pipeline.name},
        )


def _stage_for_write(workspace: Workspace, stage_id: int) -> Stage:
    return _locked(
        _live_stages(workspace).select_for_update(of=("self",)).select_related("pipeline"),
        stage_id,
        _("There is no such stage."),
    )


def _pipeline_kinds(
    workspace: Workspace, pipeline: Pipeline, *, without: int | None = None
) -> list[str]:
    qs = Stage.objects.for_workspace(workspace).filter(pipeline=pipeline, deleted_at__isnull=True)
    if without is not None:
        qs = qs.exclude(pk=without)
    return list(qs.values_list("kind", flat=True))


def _stage_event(
    workspace: Workspace,
    actor: User | None,
    pipeline: Pipeline,
    action: str,
    stage: Stage,
    **more: Any,
) -> None:
    record_event(
        workspace=workspace,
        actor=actor,
        type="pipeline.updated",
        subject=pipeline,
        payload={"stage": {"id": stage.pk, "name": stage.name, "action": action, **more}},
    )


def stage_create(
    *, workspace: Workspace, actor: User | None, pipeline_id: int, data: Mapping[str, Any]
) -> Stage:
    """Add a stage (`name`, `probability` 0–100, `kind` open/won/lost, optional `position`;
    default: after the last open stage for an open one, else at the end). Records
    `pipeline.updated`."""
    require(workspace=workspace, user=actor, module=MODULE, right=Right.DELETE)
    errors = ErrorCollector()
    values = _stage_values(errors, data, prefix="", creating=True)
    errors.raise_if_any()
    kind = values.get("kind") or StageKind.OPEN
    values["kind"] = kind
    if values.get("probability") is None:
        values["probability"] = _default_probability(kind)
    with transaction.atomic():
        pipeline = _pipeline_for_write(workspace, pipeline_id)
        stages = list(
            Stage.objects.for_workspace(workspace)
            .filter(pipeline=pipeline, deleted_at__isnull=True)
            .order_by("position", "id")
        )
        if len(stages) >= MAX_STAGES:
            raise ValidationFailed(
                [
                    FieldError(
                        "name", "too-many", _("Use at most %(max)d stages.") % {"max": MAX_STAGES}
                    )
                ]
            )
        position = values.pop("position", None)
        if position is None:
            if kind == StageKind.OPEN:
                opens = [i for i, s in enumerate(stages) if s.kind == StageKind.OPEN]
                position = (opens[-1] + 1) if opens else 0
            else:
                position = len(stages)
        position = min(position, len(stages))
        stage = Stage(workspace=workspace, pipeline=pipeline, **values)
        ordered = [*stages[:position], stage, *stages[position:]]
        stage.position = position
        stage.save(force_insert=True)
        _renumber_stages(workspace, ordered)
        _stage_event(workspace, actor, pipeline, "created", stage, kind=kind)
    return stage


def _renumber_stages(workspace: Workspace, ordered: list[Stage]) -> None:
    changed = []
    for i, stage in enumerate(ordered):
        if stage.position != i:
            stage.position = i
            changed.append(stage)
    if changed:
        Stage.objects.for_workspace(workspace).bulk_update(changed, ["position"])


def stage_update(
    *, workspace: Workspace, actor: User | None, stage_id: int, data: Mapping[str, Any]
) -> Stage:
    """Rename a stage or change its probability or kind. Changing the kind of a stage that
    holds deals is refused (their status would silently change); so is leaving the pipeline
    without an open, a won or a lost stage. Records `pipeline.updated`."""
    require(workspace=workspace, user=actor, module=MODULE, right=Right.DELETE)
    errors = ErrorCollector()
    values = _stage_values(errors, data, prefix="", creating=False)
    values.pop("position", None)
    errors.raise_if_any()
    with transaction.atomic():
        stage = _stage_for_write(workspace, stage_id)
        if "kind" in values and values["kind"] != stage.kind:
            kinds = [*_pipeline_kinds(workspace, stage.pipeline, without=stage.pk), values["kind"]]
            _check_kinds(errors, "kind", kinds)
            if (
                Deal.objects.for_workspace(workspace)
                .filter(stage=stage, deleted_at__isnull=True)
                .exists()
            ):
                errors.add(
                    "kind",
                    "stage-has-deals",
                    _("Deals are in this stage: move them before changing what it means."),
                )
            errors.raise_if_any()
        before = _snapshot(stage, ("name", "probability", "kind"))
        for name, value in values.items():
            setattr(stage, name, value)
        changes = _changes(before, _snapshot(stage, ("name", "probability", "kind")))
        if changes:
            stage.save(update_fields=list(changes))
            _stage_event(workspace, actor, stage.pipeline, "updated", stage, changes=changes)
    return stage


def stage_reorder(
    *, workspace: Workspace, actor: User | None, pipeline_id: int, stage_ids: Sequence[int]
) -> list[Stage]:
    """Put the pipeline's stages in the order of `stage_ids` (every live stage, once)."""
    require(workspace=workspace, user=actor, module=MODULE, right=Right.DELETE)
    with transaction.atomic():
        pipeline = _pipeline_for_write(workspace, pipeline_id)
        stages = {
            s.pk: s
            for s in Stage.objects.for_workspace(workspace).filter(
                pipeline=pipeline, deleted_at__isnull=True
            )
        }
        wanted = [int(i) for i in stage_ids if isinstance(i, int) and not isinstance(i, bool)]
        if sorted(wanted) != sorted(stages) or len(set(wanted)) != len(wanted):
            raise ValidationFailed(
                [
                    FieldError(
                        "stage_ids",
                        "invalid-order",
                        _("Send every stage of the pipeline once, in the new order."),
                    )
                ]
            )
        ordered = [stages[i] for i in wanted]
        _renumber_stages(workspace, ordered)
        record_event(
            workspace=workspace,
            actor=actor,
            type="pipeline.updated",
            subject=pipeline,
            payload={"stage_order": wanted},
        )
    return ordered


def stage_delete(
    *,
    workspace: Workspace,
    actor: User | None,
    stage_id: int,
    move_to_stage_id: int | None = None,
) -> None:
    """Delete a stage. Its deals (if any) go to `move_to_stage_id`, a stage of the same pipeline
    and kind (each keeps its history: one `deal.stage_changed` each); without it a stage with
    deals is refused. A pipeline keeps at least one open, one won and one lost stage."""
    require(workspace=workspace, user=actor, module=MODULE, right=Right.DELETE)
    errors = ErrorCollector()
    with transaction.atomic():
        stage = _stage_for_write(workspace, stage_id)
        _check_kinds(errors, "stage", _pipeline_kinds(workspace, stage.pipeline, without=stage.pk))
        errors.raise_if_any()
        deals = Deal.objects.for_workspace(workspace).filter(stage=stage, deleted_at__isnull=True)
        target: Stage | None = None
        if move_to_stage_id is not None:
            target = (
                Stage.objects.for_workspace(workspace)
                .filter(
                    pk=move_to_stage_id if 0 < move_to_stage_id <= v.MAX_ID else 0,
                    pipeline=stage.pipeline,
                    kind=stage.kind,
                    deleted_at__isnull=True,
                )
                .exclude(pk=stage.pk)
                .first()
            )
            if target is None:
                errors.add(
                    "move_to_stage_id",
                    "invalid-stage",
                    _("Choose another stage of the same pipeline with the same meaning."),
                )
        elif deals.exists():
            errors.add(
                "move_to_stage_id",
                "required",
                _("Deals are in this stage: choose the stage they move to."),
            )
        errors.raise_if_any()
        if target is not None:
            _bulk_move_stage(workspace, actor, stage, target)
        stage.deleted_at = timezone.now()
        stage.save(update_fields=["deleted_at"])
        remaining = list(
            Stage.objects.for_workspace(workspace)
            .filter(pipeline=stage.pipeline, deleted_at__isnull=True)
            .order_by("position", "id")
        )
        _renumber_stages(workspace, remaining)
        _stage_event(workspace, actor, stage.pipeline, "deleted", stage)


def _bulk_move_stage(workspace: Workspace, actor: User | None, stage: Stage, target: Stage) -> None:
    """Every deal of `stage` (deleted ones too: a restored deal needs a live stage) goes to the
    end of `target`, of the same kind, so no status changes."""
    now = timezone.now()
    deals = Deal.objects.for_workspace(workspace).filter(stage=stage)
    ids = list(deals.order_by("position", "id").values_list("id", flat=True))
    if not ids:
        return
    top = (
        Deal.objects.for_workspace(workspace)
        .filter(stage=target)
        .aggregate(top=Max("position"))["top"]
        or 0.0
    )
    history = DealStageHistory.objects.for_workspace(workspace)
    history.filter(deal_id__in=ids, left_at__isnull=True).update(
        left_at=now, left_by=actor if actor is not None and actor.pk else None
    )
    history.bulk_create(
        [
            DealStageHistory(
                workspace=workspace, deal_id=pk, stage=target, entered_at=now, entered_by=actor
            )
            for pk in ids
        ],
        batch_size=1000,
    )
    batch = []
    for i, pk in enumerate(ids, start=1):
        batch.append(Deal(pk=pk, position=top + i * POSITION_STEP))
    Deal.objects.for_workspace(workspace).bulk_update(batch, ["position"], batch_size=1000)
    deals.update(stage=target, stage_entered_at=now, updated_at=now)
    actor_id = actor.pk if actor is not None and actor.pk else None
    record_events_bulk(
        [
            Event(
                workspace=workspace,
                type="deal.stage_changed",
                subject_type="deal",
                subject_id=pk,
                actor_id=actor_id,
                payload={
                    "from_stage_id": stage.pk,
                    "to_stage_id": target.pk,
                    "pipeline_id": stage.pipeline_id,
                    "changes": {"stage_id": [stage.pk, target.pk]},
                },
                occurred_at=now,
            )
            for pk in ids
        ]
    )


# ---------------------------------------------------------------------------------------------
# Lost reasons


def _lost_reason_for_write(workspace: Workspace, reason_id: int) -> LostReason:
    return _locked(
        LostReason.objects.for_workspace(workspace)
        .select_for_update()
        .filter(deleted_at__isnull=True),
        reason_id,
        _("There is no such lost reason."),
    )


def lost_reason_create(*, workspace: Workspace, actor: User | None, name: str) -> LostReason:
    """Offer a new reason when deals are lost (at the end of the list)."""
    require(workspace=workspace, user=actor, module=MODULE, right=Right.DELETE)
    errors = ErrorCollector()
    cleaned = v.text(errors, "name", name, max_length=200, required=True)
    errors.raise_if_any()
    with transaction.atomic():
        live = LostReason.objects.for_workspace(workspace).filter(deleted_at__isnull=True)
        if live.filter(name__iexact=cleaned).exists():
            raise ValidationFailed(
                [FieldError("name", "duplicate", _("This reason is already in the list."))]
            )
        top = live.aggregate(top=Max("position"))["top"]
        return LostReason.objects.for_workspace(workspace).create(
            workspace=workspace, name=cleaned, position=(top + 1) if top is not None else 0
        )


def lost_reason_update(
    *, workspace: Workspace, actor: User | None, reason_id: int, name: str
) -> LostReason:
    require(workspace=workspace, user=actor, module=MODULE, right=Right.DELETE)
    errors = ErrorCollector()
    cleaned = v.text(errors, "name", name, max_length=200, required=True)
    errors.raise_if_any()
    with transaction.atomic():
        reason = _lost_reason_for_write(workspace, reason_id)
        clash = (
            LostReason.objects.for_workspace(workspace)
            .filter(deleted_at__isnull=True, name__iexact=cleaned)
            .exclude(pk=reason.pk)
        )
        if clash.exists():
            raise ValidationFailed(
                [FieldError("name", "duplicate", _("This reason is already in the list."))]
            )
        reason.name = cleaned
        reason.save(update_fields=["name"])
    return reason


def lost_reason_delete(*, workspace: Workspace, actor: User | None, reason_id: int) -> None:
    """Stop offering a reason; deals lost for it keep their text."""
    require(workspace=workspace, user=actor, module=MODULE, right=Right.DELETE)
    with transaction.atomic():
        reason = _lost_reason_for_write(workspace, reason_id)
        reason.deleted_at = timezone.now()
        reason.save(update_fields=["deleted_at"])


def lost_reason_reorder(
    *, workspace: Workspace, actor: User | None, reason_ids: Sequence[int]
) -> None:
    require(workspace=workspace, user=actor, module=MODULE, right=Right.DELETE)
    with transaction.atomic():
        reasons = {
            r.pk: r
            for r in LostReason.objects.for_workspace(workspace)
            .select_for_update()
            .filter(deleted_at__isnull=True)
        }
        wanted = [i for i in reason_ids if isinstance(i, int) and not isinstance(i, bool)]
        if sorted(wanted) != sorted(reasons) or len(set(wanted)) != len(reason_ids):
            raise ValidationFailed(
                [
                    FieldError(
                        "reason_ids",
                        "invalid-order",
                        _("Send every reason once, in the new order."),
                    )
                ]
            )
        for i, pk in enumerate(wanted):
            reasons[pk].position = i
        LostReason.objects.for_workspace(workspace).bulk_update(
            list(reasons.values()), ["position"]
        )


# ---------------------------------------------------------------------------------------------
# Deals: validation


def _deal_values(
    *,
    workspace: Workspace,
    actor: User | None,
    data: Mapping[str, Any],
    instance: Deal | None,
) -> tuple[dict[str, Any], Stage | None]:
    """Check a deal write (`instance` None: a create). Returns the model values to set and the
    stage the deal must be in (None: where it is). Raises ValidationFailed listing every bad
    field."""
    errors = ErrorCollector()
    creating = instance is None
    v.unknown(errors, data, DEAL_FIELDS)
    values: dict[str, Any] = {}
    if "name" in data or creating:
        values["name"] = v.text(errors, "name", data.get("name"), max_length=200, required=True)
    if "amount" in data:
        amount = v.money(errors, "amount", data["amount"], required=False)
        values["amount"] = amount if amount is not None else ZERO
    if "currency" in data or creating:
        values["currency"] = v.currency(
            errors, "currency", data.get("currency"), default=workspace.currency
        )
    if "expected_close_date" in data:
        values["expected_close_date"] = v.date(
            errors, "expected_close_date", data["expected_close_date"]
        )
    if "forecast_category" in data:
        values["forecast_category"] = v.choice(
            errors, "forecast_category", data["forecast_category"], ForecastCategory.values
        )
    for name, length in (("lost_reason", 200), ("external_id", 100)):
        if name in data:
            values[name] = v.text(errors, name, data[name], max_length=length)
    if "owner_id" in data:
        if not (instance is not None and data["owner_id"] == instance.owner_id):
            values["owner_id"] = _member(errors, "owner_id", data["owner_id"], workspace=workspace)
    elif creating:
        values["owner_id"] = actor.pk if actor is not None and actor.pk else None
    if "team_id" in data and not (instance is not None and data["team_id"] == instance.team_id):
        values["team_id"] = _team(errors, data["team_id"], workspace=workspace)
    # Links need sight of the record; one left unchanged is not checked again (a client that
    # sends the whole deal back must not fail on a contact deleted since).
    links = (
        ("contact_id", Contact, "contacts", _("There is no such contact.")),
        ("account_id", Account, "accounts", _("There is no such account.")),
        ("lead_id", Lead, "leads", _("There is no such lead.")),
    )
    for name, model, module, message in links:
        if name in data and not (instance is not None and data[name] == getattr(instance, name)):
            values[name] = _linked(
                errors,
                name,
                data[name],
                model=model,
                module=module,
                workspace=workspace,
                actor=actor,
                message=message,
            )
    stage = _stage_input(errors, data, workspace=workspace, instance=instance)
    if (
        stage is not None
        and stage.kind == StageKind.LOST
        and not values.get("lost_reason", instance.lost_reason if instance else "")
    ):
        errors.add("lost_reason", "required", _("Say why the deal was lost."))
    errors.raise_if_any()
    return values, stage


def _stage_input(
    errors: ErrorCollector,
    data: Mapping[str, Any],
    *,
    workspace: Workspace,
    instance: Deal | None,
) -> Stage | None:
    """The stage a write puts the deal in: the one sent (its pipeline follows), else the first
    open stage of the pipeline sent, else (a create) of the default pipeline."""
    stage_id = v.ident(
        errors, "stage_id", data.get("stage_id"), message=_("There is no such stage.")
    )
    pipeline_id = v.ident(
        errors, "pipeline_id", data.get("pipeline_id"), message=_("There is no such pipeline.")
    )
    if stage_id is not None:
        stage = _live_stages(workspace).select_related("pipeline").filter(pk=stage_id).first()
        if stage is None:
            errors.add("stage_id", "not-found", _("There is no such stage."))
            return None
        if pipeline_id is not None and stage.pipeline_id != pipeline_id:
            errors.add("stage_id", "wrong-pipeline", _("This stage is not in that pipeline."))
            return None
        if instance is not None and stage.pk == instance.stage_id:
            return None
        return stage
    if any(e.field == "pipeline_id" for e in errors.errors):
        return None
    if pipeline_id is not None:
        if instance is not None and pipeline_id == instance.pipeline_id:
            return None
        pipeline = _live_pipelines(workspace).filter(pk=pipeline_id).first()
        if pipeline is None:
            errors.add("pipeline_id", "not-found", _("There is no such pipeline."))
            return None
    elif instance is None:
        pipeline = pipeline_default(workspace)
    else:
        return None
    first = (
        _live_stages(workspace)
        .select_related("pipeline")
        .filter(pipeline=pipeline, kind=StageKind.OPEN)
        .order_by("position", "id")
        .first()
    )
    if first is None:
        errors.add("pipeline_id", "no-open-stage", _("This pipeline has no open stage."))
    return first


# ---------------------------------------------------------------------------------------------
# Deals: positions on the board


def _column(workspace: Workspace, stage_id: int, exclude: int | None) -> Any:
    qs = Deal.objects.for_workspace(workspace).filter(stage_id=stage_id, deleted_at__isnull=True)
    return qs.exclude(pk=exclude) if exclude is not None else qs


def _position_between(
    workspace: Workspace,
    stage_id: int,
    *,
    before_id: int | None,
    after_id: int | None,
    exclude: int | None,
) -> float:
    """A card position in the column of `stage_id` right after the card `before_id` and right
    before the card `after_id` (either may be None, or stale: ids not in the column are
    ignored). Neither: the top of the column. Where the two neighbours have worn their gap
    too thin, the cards around them are spread out again first."""
    column = _column(workspace, stage_id, exclude)
    wanted = [i for i in (before_id, after_id) if i is not None and 0 < i <= v.MAX_ID]
    known = dict(column.filter(pk__in=wanted).values_list("pk", "position")) if wanted else {}
    above: tuple[float, int] | None = None
    below: tuple[float, int] | None = None
    if before_id is not None and before_id in known:
        above = (known[before_id], before_id)
    if after_id is not None and after_id in known:
        below = (known[after_id], after_id)
    if above is not None and below is not None and below <= above:
        below = None  # a stale view of the column: trust the card above
    if above is not None and below is None:
        # The client may not have the next card (columns are paged): ask for it.
        pos, pk = above
        found = (
            column.filter(Q(position__gt=pos) | Q(position=pos, pk__gt=pk))
            .order_by("position", "pk")
            .values_list("position", "pk")
            .first()
        )
        if found is None:
            return pos + POSITION_STEP
        below = found
    elif below is not None and above is None:
        pos, pk = below
        found = (
            column.filter(Q(position__lt=pos) | Q(position=pos, pk__lt=pk))
            .order_by("-position", "-pk")
            .values_list("position", "pk")
            .first()
        )
        if found is None:
            return pos - POSITION_STEP
        above = found
    elif above is None and below is None:
        top = column.aggregate(top=Min("position"))["top"]
        return (top - POSITION_STEP) if top is not None else 0.0
    assert above is not None and below is not None
    if below[0] - above[0] > MIN_GAP:
        return (above[0] + below[0]) / 2
    return _respace(workspace, column, above=above, below=below)


def _respace(
    workspace: Workspace, column: Any, *, above: tuple[float, int], below: tuple[float, int]
) -> float:
    """Spread the cards around a worn-out gap evenly between the nearest cards that still
    leave room, and return the position for the card going between `above` and `below`.

    The window grows (16, 64, 256 … cards each side) until its outer bounds are far enough
    apart, so a move touches a few dozen rows rather than renumbering a column of thousands."""
    window = 16
    while True:
        pos, pk = above
        ups = list(
            column.filter(Q(position__lt=pos) | Q(position=pos, pk__lte=pk))
            .order_by("-position", "-pk")
            .values_list("pk", "position")[: window + 1]
        )
        pos, pk = below
        downs = list(
            column.filter(Q(position__gt=pos) | Q(position=pos, pk__gte=pk))
            .order_by("position", "pk")
            .values_list("pk", "position")[: window + 1]
        )
        low = ups[window][1] if len(ups) > window else None
        high = downs[window][1] if len(downs) > window else None
        order = [pk for pk, _pos in reversed(ups[:window])] + [0] + [pk for pk, _ in downs[:window]]
        if low is None and high is None:
            start, step = 0.0, POSITION_STEP
        elif low is None:
            assert high is not None
            start, step = high - (len(order) + 1) * POSITION_STEP, POSITION_STEP
        elif high is None:
            start, step = low, POSITION_STEP
        else:
            start, step = low, (high - low) / (len(order) + 1)
            if step <= MIN_GAP * 16:
                window *= 4
                continue
        spread = [Deal(pk=pk, position=start + step * (i + 1)) for i, pk in enumerate(order) if pk]
        Deal.objects.for_workspace(workspace).bulk_update(spread, ["position"], batch_size=500)
        return start + step * (order.index(0) + 1)


# ---------------------------------------------------------------------------------------------
# Deals: writes


def _deal_for_write(
    workspace: Workspace, actor: User | None, deal_id: int, *, deleted: bool | None = False
) -> Deal:
    """The deal as the actor sees it, locked for the rest of the transaction (PostgreSQL;
    SQLite writers are serialised already). Missing, invisible and other-workspace deals are
    the same NotFound."""
    qs = visible(
        Deal.objects.for_workspace(workspace), workspace=workspace, viewer=actor, module=MODULE
    )
    if deleted is not None:
        qs = qs.filter(deleted_at__isnull=not deleted)
    pk = deal_id if isinstance(deal_id, int) and 0 < deal_id <= v.MAX_ID else 0
    deal = qs.select_for_update(of=("self",)).filter(pk=pk).first()
    if deal is None:
        raise _not_found(_("There is no such deal."))
    return deal


def _sort_name(name: str) -> str:
    return normalize_text(name)[:300]


def deal_create(*, workspace: Workspace, actor: User | None, data: Mapping[str, Any]) -> Deal:
    """Create a deal from `data` (name required; pipeline and stage default to the default
    pipeline's first open stage; currency to the workspace's; owner to the actor). It goes on
    top of its board column and opens its first stage stay. Records `deal.created`. Raises
    PermissionDenied or ValidationFailed (a lost stage needs `lost_reason`)."""
    require(workspace=workspace, user=actor, module=MODULE, right=Right.CREATE)
    with transaction.atomic():
        values, stage = _deal_values(workspace=workspace, actor=actor, data=data, instance=None)
        assert stage is not None
        now = timezone.now()
        status = _STATUS_OF_KIND[StageKind(stage.kind)]
        deal = Deal(
            workspace=workspace,
            pipeline_id=stage.pipeline_id,
            stage=stage,
            status=status,
            created_by=actor if actor is not None and actor.pk else None,
            created_at=now,
            updated_at=now,
            stage_entered_at=now,
            closed_at=now if status != DealStatus.OPEN else None,
            **values,
        )
        if status == DealStatus.WON:
            deal.forecast_category = ForecastCategory.CLOSED
        elif status == DealStatus.LOST:
            deal.forecast_category = ForecastCategory.OMITTED
        deal.sort_name = _sort_name(deal.name)
        deal.position = _position_between(
            workspace, stage.pk, before_id=None, after_id=None, exclude=None
        )
        deal.save(force_insert=True)
        DealStageHistory.objects.for_workspace(workspace).create(
            workspace=workspace, deal=deal, stage=stage, entered_at=now, entered_by=deal.created_by
        )
        record_event(
            workspace=workspace,
            actor=actor,
            type="deal.created",
            subject=deal,
            payload={"fields": _non_empty(_snapshot(deal, DEAL_TRACKED))},
        )
    return deal


def _has_lines(workspace: Workspace, deal: Deal) -> bool:
    return DealLine.objects.for_workspace(workspace).filter(deal=deal).exists()


def deal_update(
    *, workspace: Workspace, actor: User | None, deal_id: int, data: Mapping[str, Any]
) -> Deal:
    """Change the fields in `data` of a live deal the actor can see. A new `stage_id` (or
    `pipeline_id`) moves the deal as `deal_move` does, to the top of that column. A deal with
    products has their total as its amount. Records `deal.updated` with {"changes": {field:
    [old, new]}} when something changed (and the move's events). Raises NotFound,
    PermissionDenied or ValidationFailed."""
    require(workspace=workspace, user=actor, module=MODULE, right=Right.EDIT)
    with transaction.atomic():
        deal = _deal_for_write(workspace, actor, deal_id)
        values, stage = _deal_values(workspace=workspace, actor=actor, data=data, instance=deal)
        if "amount" in values and values["amount"] != deal.amount and _has_lines(workspace, deal):
            raise ValidationFailed(
                [
                    FieldError(
                        "amount",
                        "computed",
                        _("The amount is the total of the deal's products: change those."),
                    )
                ]
            )
        before = _snapshot(deal, DEAL_TRACKED)
        for name, value in values.items():
            setattr(deal, name, value)
        changes = _changes(before, _snapshot(deal, DEAL_TRACKED))
        if changes:
            deal.sort_name = _sort_name(deal.name)
            deal.updated_at = timezone.now()
            deal.save()
            record_event(
                workspace=workspace,
                actor=actor,
                type="deal.updated",
                subject=deal,
                payload={"changes": changes},
            )
        if stage is not None:
            _move(
                workspace,
                actor,
                deal,
                stage,
                before_id=None,
                after_id=None,
                lost_reason=deal.lost_reason,
            )
    return deal


def deal_move(
    *,
    workspace: Workspace,
    actor: User | None,
    deal_id: int,
    stage_id: int,
    before_id: int | None = None,
    after_id: int | None = None,
    lost_reason: str = "",
) -> Deal:
    """Put a deal in `stage_id` (of any live pipeline: the deal's pipeline follows), between
    the cards `before_id` (above it) and `after_id` (below it); neither: the top of the column.

    A change of stage closes the deal's current stage stay (left_at, left_by) and opens one in
    the new stage; the status follows the stage's kind (won and lost set `closed_at`, moving
    back to an open stage clears it). Moving to a lost stage needs `lost_reason` unless the deal
    was lost already. Records `deal.stage_changed` ({"from_stage_id", "to_stage_id",
    "pipeline_id", "changes"}) and `deal.won` / `deal.lost` when the status changes; a move
    inside the same column records nothing. Raises NotFound, PermissionDenied or
    ValidationFailed."""
    require(workspace=workspace, user=actor, module=MODULE, right=Right.EDIT)
    errors = ErrorCollector()
    reason = v.text(errors, "lost_reason", lost_reason, max_length=200)
    target_id = v.ident(errors, "stage_id", stage_id, message=_("There is no such stage."))
    if target_id is None and not errors.errors:
        errors.add("stage_id", "required", _("Choose a stage."))
    neighbours = []
    for name, value in (("before_id", before_id), ("after_id", after_id)):
        neighbours.append(v.ident(errors, name, value, message=_("There is no such deal.")))
    errors.raise_if_any()
    assert target_id is not None
    with transaction.atomic():
        deal = _deal_for_write(workspace, actor, deal_id)
        stage = _live_stages(workspace).filter(pk=target_id).first()
        if stage is None:
            raise ValidationFailed(
                [FieldError("stage_id", "not-found", _("There is no such stage."))]
            )
        _move(
            workspace,
            actor,
            deal,
            stage,
            before_id=neighbours[0],
            after_id=neighbours[1],
            lost_reason=reason,
        )
    return deal


def _move(
    workspace: Workspace,
    actor: User | None,
    deal: Deal,
    stage: Stage,
    *,
    before_id: int | None,
    after_id: int | None,
    lost_reason: str,
) -> None:
    """What every change of stage shares (see `deal_move`); runs inside the caller's
    transaction with the deal locked."""
    actor_user = actor if actor is not None and actor.pk else None
    new_status = _STATUS_OF_KIND[StageKind(stage.kind)]
    changing_stage = stage.pk != deal.stage_id
    already_lost = deal.status == DealStatus.LOST and bool(deal.lost_reason)
    if changing_stage and new_status == DealStatus.LOST and not lost_reason and not already_lost:
        raise ValidationFailed(
            [FieldError("lost_reason", "required", _("Say why the deal was lost."))]
        )
    if stage.kind != StageKind.OPEN:
        # Won and lost columns show the latest closed first; a place among them means nothing.
        before_id = after_id = None
    position = _position_between(
        workspace, stage.pk, before_id=before_id, after_id=after_id, exclude=deal.pk
    )
    fields = ["position"]
    deal.position = position
    if not changing_stage:
        Deal.objects.for_workspace(workspace).filter(pk=deal.pk).update(position=position)
        return
    now = timezone.now()
    before = _snapshot(deal, DEAL_TRACKED)
    old_stage_id, old_status = deal.stage_id, deal.status
    DealStageHistory.objects.for_workspace(workspace).filter(
        deal=deal, left_at__isnull=True
    ).update(left_at=now, left_by=actor_user)
    DealStageHistory.objects.for_workspace(workspace).create(
        workspace=workspace, deal=deal, stage=stage, entered_at=now, entered_by=actor_user
    )
    deal.stage = stage
    deal.pipeline_id = stage.pipeline_id
    deal.stage_entered_at = now
    deal.updated_at = now
    fields += ["stage", "pipeline", "stage_entered_at", "updated_at"]
    if new_status != old_status:
        deal.status = new_status
        deal.closed_at = now if new_status != DealStatus.OPEN else None
        fields += ["status", "closed_at", "forecast_category", "lost_reason"]
        if new_status == DealStatus.WON:
            deal.forecast_category = ForecastCategory.CLOSED
        elif new_status == DealStatus.LOST:
            deal.forecast_category = ForecastCategory.OMITTED
        elif deal.forecast_category in (ForecastCategory.CLOSED, ForecastCategory.OMITTED):
            deal.forecast_category = ForecastCategory.PIPELINE
        if new_status != DealStatus.LOST:
            deal.lost_reason = ""
    if new_status == DealStatus.LOST and lost_reason:
        deal.lost_reason = lost_reason
        if "lost_reason" not in fields:
            fields.append("lost_reason")
    deal.save(update_fields=fields)
    changes = _changes(before, _snapshot(deal, DEAL_TRACKED))
    record_event(
        workspace=workspace,
        actor=actor,
        type="deal.stage_changed",
        subject=deal,
        payload={
            "from_stage_id": old_stage_id,
            "to_stage_id": stage.pk,
            "pipeline_id": stage.pipeline_id,
            "changes": changes,
        },
        occurred_at=now,
    )
    if new_status != old_status and new_status == DealStatus.WON:
        record_event(
            workspace=workspace,
            actor=actor,
            type="deal.won",
            subject=deal,
            payload={"amount": str(deal.amount), "currency": deal.currency, "stage_id": stage.pk},
            occurred_at=now,
        )
    elif new_status != old_status and new_status == DealStatus.LOST:
        record_event(
            workspace=workspace,
            actor=actor,
            type="deal.lost",
            subject=deal,
            payload={"lost_reason": deal.lost_reason, "stage_id": stage.pk},
            occurred_at=now,
        )


def deal_close(
    *, workspace: Workspace, actor: User | None, deal_id: int, won: bool, lost_reason: str = ""
) -> Deal:
    """Mark a deal won (or lost, with `lost_reason`): it moves to the first won (lost) stage
    of its pipeline, with the effects of `deal_move`."""
    require(workspace=workspace, user=actor, module=MODULE, right=Right.EDIT)
    errors = ErrorCollector()
    reason = v.text(errors, "lost_reason", lost_reason, max_length=200)
    errors.raise_if_any()
    kind = StageKind.WON if won else StageKind.LOST
    with transaction.atomic():
        deal = _deal_for_write(workspace, actor, deal_id)
        if deal.status == _STATUS_OF_KIND[kind]:
            if not won and reason and reason != deal.lost_reason:
                deal.lost_reason = reason
                deal.save(update_fields=["lost_reason"])
            return deal
        stage = (
            _live_stages(workspace)
            .filter(pipeline_id=deal.pipeline_id, kind=kind)
            .order_by("position", "id")
            .first()
        )
        if stage is None:
            raise ValidationFailed(
                [
                    FieldError(
                        "stage_id",
                        "no-stage",
                        _("This pipeline has no won stage.")
                        if won
                        else _("This pipeline has no lost stage."),
                    )
                ]
            )
        _move(workspace, actor, deal, stage, before_id=None, after_id=None, lost_reason=reason)
    return deal


def deal_delete(*, workspace: Workspace, actor: User | None, deal_id: int) -> None:
    """Soft-delete a deal: it leaves the board and the lists and can be restored for
    SOFT_DELETE_RETENTION_DAYS. Records `deal.deleted`."""
    require(workspace=workspace, user=actor, module=MODULE, right=Right.DELETE)
    with transaction.atomic():
        deal = _deal_for_write(workspace, actor, deal_id)
        deal.deleted_at = timezone.now()
        deal.save(update_fields=["deleted_at"])
        record_event(
            workspace=workspace,
            actor=actor,
            type="deal.deleted",
            subject=deal,
            payload={"name": deal.name},
        )


def deal_restore(*, workspace: Workspace, actor: User | None, deal_id: int) -> Deal:
    """Bring back a soft-deleted deal within the retention period, on top of its column (its
    stage, or the pipeline's first open stage if that stage was deleted since). Records
    `deal.restored`. Raises RestoreExpired after the period."""
    from django.conf import settings

    require(workspace=workspace, user=actor, module=MODULE, right=Right.DELETE)
    with transaction.atomic():
        deal = _deal_for_write(workspace, actor, deal_id, deleted=None)
        if deal.deleted_at is None:
            return deal
        limit = timezone.now() - dt.timedelta(days=settings.SOFT_DELETE_RETENTION_DAYS)
        if deal.deleted_at < limit:
            raise RestoreExpired(
                _(
                    "It was deleted on %(date)s; deleted records can be restored for "
                    "%(days)d days only."
                )
                % {
                    "date": deal.deleted_at.date().isoformat(),
                    "days": settings.SOFT_DELETE_RETENTION_DAYS,
                }
            )
        deal.deleted_at = None
        deal.position = _position_between(
            workspace, deal.stage_id, before_id=None, after_id=None, exclude=deal.pk
        )
        deal.save(update_fields=["deleted_at", "position"])
        record_event(
            workspace=workspace,
            actor=actor,
            type="deal.restored",
            subject=deal,
            payload={"name": deal.name},
        )
    return deal


# ---------------------------------------------------------------------------------------------
# Products on a deal


LINE_FIELDS = frozenset({"product_id", "description", "quantity", "unit_price", "discount_percent"})


def _line_values(
    *,
    workspace: Workspace,
    data: Mapping[str, Any],
    instance: DealLine | None,
    price_list_id: int | None = None,
) -> dict[str, Any]:
    errors = ErrorCollector()
    creating = instance is None
    v.unknown(errors, data, LINE_FIELDS)
    values: dict[str, Any] = {}
    product: Product | None = None
    if "product_id" in data:
        product_id = v.ident(
            errors, "product_id", data["product_id"], message=_("There is no such product.")
        )
        if product_id is not None:
            product = (
                Product.objects.for_workspace(workspace)
                .filter(pk=product_id, deleted_at__isnull=True)
                .first()
            )
            if product is None:
                errors.add("product_id", "not-found", _("There is no such product."))
        values["product_id"] = product.pk if product else None
    if "description" in data or creating:
        description = v.text(errors, "description", data.get("description"), max_length=300)
        if not description and product is not None:
            description = product.name[:300]
        if not description and (creating or "description" in data):
            errors.add("description", "required", _("Describe the line or choose a product."))
        values["description"] = description
    if "quantity" in data or creating:
        values["quantity"] = v.quantity(
            errors, "quantity", data.get("quantity", Decimal(1)) if creating else data["quantity"]
        )
    if "unit_price" in data and data["unit_price"] not in (None, ""):
        values["unit_price"] = v.money(errors, "unit_price", data["unit_price"])
    elif creating or ("product_id" in data and product is not None):
        price = _product_price(workspace, product, price_list_id) if product else None
        if price is None and creating:
            errors.add("unit_price", "required", _("Enter a unit price or choose a product."))
        elif price is not None:
            values["unit_price"] = price
    if "discount_percent" in data:
        discount = v.percent(errors, "discount_percent", data["discount_percent"])
        values["discount_percent"] = discount if discount is not None else ZERO
    errors.raise_if_any()
    return values


def _product_price(workspace: Workspace, product: Product, price_list_id: int | None) -> Decimal:
    """A product's price: the default price list's (or the one given), else its list price."""
    items = PriceListItem.objects.for_workspace(workspace).filter(
        product=product, price_list__deleted_at__isnull=True
    )
    if price_list_id is not None:
        items = items.filter(price_list_id=price_list_id)
    else:
        items = items.filter(price_list__is_default=True)
    price = items.values_list("unit_price", flat=True).first()
    return price if price is not None else product.unit_price


def _lines_total(workspace: Workspace, deal: Deal) -> Decimal:
    total = ZERO
    for quantity, unit_price, discount in (
        DealLine.objects.for_workspace(workspace)
        .filter(deal=deal)
        .values_list("quantity", "unit_price", "discount_percent")
    ):
        total += v.line_total(quantity, unit_price, discount)
    return min(total, v.MAX_MONEY)


def _after_lines_changed(
    workspace: Workspace, actor: User | None, deal: Deal, line: dict[str, Any]
) -> None:
    """The deal's amount becomes its lines' total; records `deal.updated`."""
    total = _lines_total(workspace, deal)
    changes: dict[str, Any] = {}
    if (
        total != deal.amount
        and DealLine.objects.for_workspace(workspace).filter(deal=deal).exists()
    ):
        changes["amount"] = [str(deal.amount), str(total)]
        deal.amount = total
    deal.updated_at = timezone.now()
    deal.save(update_fields=["amount", "updated_at"])
    record_event(
        workspace=workspace,
        actor=actor,
        type="deal.updated",
        subject=deal,
        payload={"changes": changes, "line": line},
    )


def _line_snapshot(line: DealLine) -> dict[str, Any]:
    return {
        "id": line.pk,
        "product_id": line.product_id,
        "description": line.description,
        "quantity": str(line.quantity),
        "unit_price": str(line.unit_price),
        "discount_percent": str(line.discount_percent),
    }


def deal_line_add(
    *,
    workspace: Workspace,
    actor: User | None,
    deal_id: int,
    data: Mapping[str, Any],
    price_list_id: int | None = None,
) -> DealLine:
    """Add a product (or a described line) to a deal: `product_id`, `description` (default:
    the product's name), `quantity` (1), `unit_price` (default: the product's price in the
    default price list, else its own), `discount_percent`. The deal's amount becomes the total
    of its lines. Records `deal.updated`."""
    require(workspace=workspace, user=actor, module=MODULE, right=Right.EDIT)
    with transaction.atomic():
        deal = _deal_for_write(workspace, actor, deal_id)
        values = _line_values(
            workspace=workspace, data=data, instance=None, price_list_id=price_list_id
        )
        lines = DealLine.objects.for_workspace(workspace).filter(deal=deal)
        count = lines.count()
        if count >= MAX_LINES:
            raise ValidationFailed(
                [
                    FieldError(
                        "product_id",
                        "too-many",
                        _("A deal holds at most %(max)d lines.") % {"max": MAX_LINES},
                    )
                ]
            )
        top = lines.aggregate(top=Max("position"))["top"]
        line = DealLine.objects.for_workspace(workspace).create(
            workspace=workspace,
            deal=deal,
            position=(top + 1) if top is not None else 0,
            **values,
        )
        _after_lines_changed(workspace, actor, deal, {"added": _line_snapshot(line)})
    return line


def _line_for_write(
    workspace: Workspace, actor: User | None, deal_id: int, line_id: int
) -> tuple[Deal, DealLine]:
    deal = _deal_for_write(workspace, actor, deal_id)
    line = (
        DealLine.objects.for_workspace(workspace)
        .filter(deal=deal, pk=line_id if 0 < line_id <= v.MAX_ID else 0)
        .first()
    )
    if line is None:
        raise _not_found(_("There is no such line."))
    return deal, line


def deal_line_update(
    *,
    workspace: Workspace,
    actor: User | None,
    deal_id: int,
    line_id: int,
    data: Mapping[str, Any],
) -> DealLine:
    """Change a line of a deal; the deal's amount follows. Records `deal.updated`."""
    require(workspace=workspace, user=actor, module=MODULE, right=Right.EDIT)
    with transaction.atomic():
        deal, line = _line_for_write(workspace, actor, deal_id, line_id)
        values = _line_values(workspace=workspace, data=data, instance=line)
        before = _line_snapshot(line)
        for name, value in values.items():
            setattr(line, name, value)
        line.save()
        _after_lines_changed(
            workspace,
            actor,
            deal,
            {"changed": _changes(before, _line_snapshot(line)), "id": line.pk},
        )
    return line


def deal_line_remove(
    *, workspace: Workspace, actor: User | None, deal_id: int, line_id: int
) -> None:
    """Remove a line; the deal's amount becomes the total of the lines left (a deal with no
    lines left keeps its amount). Records `deal.updated`."""
    require(workspace=workspace, user=actor, module=MODULE, right=Right.EDIT)
    with transaction.atomic():
        deal, line = _line_for_write(workspace, actor, deal_id, line_id)
        snapshot = _line_snapshot(line)
        line.delete()
        _after_lines_changed(workspace, actor, deal, {"removed": snapshot})


# ---------------------------------------------------------------------------------------------
# Products and price lists


PRODUCT_FIELDS = frozenset(
    {"name", "code", "description", "unit_price", "currency", "tax_rate", "unit", "is_active"}
)
PRODUCT_TRACKED = (
    "name",
    "code",
    "description",
    "unit_price",
    "currency",
    "tax_rate",
    "unit",
    "is_active",
)


def _product_values(
    *, workspace: Workspace, data: Mapping[str, Any], instance: Product | None
) -> dict[str, Any]:
    errors = ErrorCollector()
    creating = instance is None
    v.unknown(errors, data, PRODUCT_FIELDS)
    values: dict[str, Any] = {}
    if "name" in data or creating:
        values["name"] = v.text(errors, "name", data.get("name"), max_length=200, required=True)
    if "code" in data:
        values["code"] = v.text(errors, "code", data["code"], max_length=60)
        if values["code"]:
            clash = Product.objects.for_workspace(workspace).filter(
                code__iexact=values["code"], deleted_at__isnull=True
            )
            if instance is not None:
                clash = clash.exclude(pk=instance.pk)
            if clash.exists():
                errors.add("code", "duplicate", _("Another product has this code."))
    if "description" in data:
        values["description"] = v.long_text(
            errors, "description", data["description"], max_length=5000
        )
    if "unit_price" in data or creating:
        price = v.money(errors, "unit_price", data.get("unit_price"), required=False)
        values["unit_price"] = price if price is not None else ZERO
    if "currency" in data or creating:
        values["currency"] = v.currency(
            errors, "currency", data.get("currency"), default=workspace.currency
        )
    if "tax_rate" in data:
        rate = v.percent(errors, "tax_rate", data["tax_rate"])
        values["tax_rate"] = rate if rate is not None else ZERO
    if "unit" in data:
        values["unit"] = v.text(errors, "unit", data["unit"], max_length=20)
    if "is_active" in data:
        values["is_active"] = v.boolean(errors, "is_active", data["is_active"])
    errors.raise_if_any()
    return values


def _product_for_write(workspace: Workspace, product_id: int) -> Product:
    return _locked(
        Product.objects.for_workspace(workspace)
        .select_for_update()
        .filter(deleted_at__isnull=True),
        product_id,
        _("There is no such product."),
    )


def product_create(*, workspace: Workspace, actor: User | None, data: Mapping[str, Any]) -> Product:
    """Add a product to the catalogue (name required; code unique among live products; price,
    currency (the workspace's), tax rate 0–100, unit, active). Records `product.created`."""
    require(workspace=workspace, user=actor, module=PRODUCTS, right=Right.CREATE)
    with transaction.atomic():
        values = _product_values(workspace=workspace, data=data, instance=None)
        now = timezone.now()
        product = Product.objects.for_workspace(workspace).create(
            workspace=workspace, created_at=now, updated_at=now, **values
        )
        record_event(
            workspace=workspace,
            actor=actor,
            type="product.created",
            subject=product,
            payload={"fields": _non_empty(_snapshot(product, PRODUCT_TRACKED))},
        )
    return product


def product_update(
    *, workspace: Workspace, actor: User | None, product_id: int, data: Mapping[str, Any]
) -> Product:
    """Change a product (`is_active`: false keeps it off new deals and quotes). Records
    `product.updated` with the changes."""
    require(workspace=workspace, user=actor, module=PRODUCTS, right=Right.EDIT)
    with transaction.atomic():
        product = _product_for_write(workspace, product_id)
        values = _product_values(workspace=workspace, data=data, instance=product)
        before = _snapshot(product, PRODUCT_TRACKED)
        for name, value in values.items():
            setattr(product, name, value)
        changes = _changes(before, _snapshot(product, PRODUCT_TRACKED))
        if changes:
            product.updated_at = timezone.now()
            product.save()
            record_event(
                workspace=workspace,
                actor=actor,
                type="product.updated",
                subject=product,
                payload={"changes": changes},
            )
    return product


def product_delete(*, workspace: Workspace, actor: User | None, product_id: int) -> None:
    """Remove a product from the catalogue; deal and quote lines keep their description and
    price. Records `product.deleted`."""
    require(workspace=workspace, user=actor, module=PRODUCTS, right=Right.DELETE)
    with transaction.atomic():
        product = _product_for_write(workspace, product_id)
        product.deleted_at = timezone.now()
        product.save(update_fields=["deleted_at"])
        record_event(
            workspace=workspace,
            actor=actor,
            type="product.deleted",
            subject=product,
            payload={"name": product.name},
        )


PRICE_LIST_FIELDS = frozenset({"name", "currency", "is_default", "valid_from", "valid_until"})
PRICE_LIST_TRACKED = ("name", "currency", "is_default", "valid_from", "valid_until")


def _price_list_values(
    *, workspace: Workspace, data: Mapping[str, Any], instance: PriceList | None
) -> dict[str, Any]:
    errors = ErrorCollector()
    creating = instance is None
    v.unknown(errors, data, PRICE_LIST_FIELDS)
    values: dict[str, Any] = {}
    if "name" in data or creating:
        values["name"] = v.text(errors, "name", data.get("name"), max_length=120, required=True)
    if "currency" in data or creating:
        values["currency"] = v.currency(
            errors, "currency", data.get("currency"), default=workspace.currency
        )
    if "is_default" in data:
        values["is_default"] = v.boolean(errors, "is_default", data["is_default"])
    for name in ("valid_from", "valid_until"):
        if name in data:
            values[name] = v.date(errors, name, data[name])
    start = values.get("valid_from", instance.valid_from if instance else None)
    end = values.get("valid_until", instance.valid_until if instance else None)
    if start and end and end < start:
        errors.add("valid_until", "before-start", _("The end comes before the start."))
    errors.raise_if_any()
    return values


def _price_list_for_write(workspace: Workspace, price_list_id: int) -> PriceList:
    return _locked(
        PriceList.objects.for_workspace(workspace)
        .select_for_update()
        .filter(deleted_at__isnull=True),
        price_list_id,
        _("There is no such price list."),
    )


def _clear_default_price_list(workspace: Workspace, keep: int | None) -> None:
    qs = PriceList.objects.for_workspace(workspace).filter(is_default=True, deleted_at__isnull=True)
    if keep is not None:
        qs = qs.exclude(pk=keep)
    qs.update(is_default=False)


def price_list_create(
    *, workspace: Workspace, actor: User | None, data: Mapping[str, Any]
) -> PriceList:
    """Create a price list (name, currency, is_default — at most one —, validity dates).
    Records `price_list.created`."""
    require(workspace=workspace, user=actor, module=PRODUCTS, right=Right.CREATE)
    values = _price_list_values(workspace=workspace, data=data, instance=None)
    with transaction.atomic():
        _lock_settings(workspace)
        if values.get("is_default"):
            _clear_default_price_list(workspace, keep=None)
        price_list = PriceList.objects.for_workspace(workspace).create(
            workspace=workspace, **values
        )
        record_event(
            workspace=workspace,
            actor=actor,
            type="price_list.created",
            subject=price_list,
            payload={"fields": _non_empty(_snapshot(price_list, PRICE_LIST_TRACKED))},
        )
    return price_list


def price_list_update(
    *, workspace: Workspace, actor: User | None, price_list_id: int, data: Mapping[str, Any]
) -> PriceList:
    require(workspace=workspace, user=actor, module=PRODUCTS, right=Right.EDIT)
    with transaction.atomic():
        _lock_settings(workspace)
        price_list = _price_list_for_write(workspace, price_list_id)
        values = _price_list_values(workspace=workspace, data=data, instance=price_list)
        before = _snapshot(price_list, PRICE_LIST_TRACKED)
        if values.get("is_default"):
            _clear_default_price_list(workspace, keep=price_list.pk)
        for name, value in values.items():
            setattr(price_list, name, value)
        changes = _changes(before, _snapshot(price_list, PRICE_LIST_TRACKED))
        if changes:
            price_list.save()
            record_event(
                workspace=workspace,
                actor=actor,
                type="price_list.updated",
                subject=price_list,
                payload={"changes": changes},
            )
    return price_list


def price_list_delete(*, workspace: Workspace, actor: User | None, price_list_id: int) -> None:
    require(workspace=workspace, user=actor, module=PRODUCTS, right=Right.DELETE)
    with transaction.atomic():
        price_list = _price_list_for_write(workspace, price_list_id)
        price_list.deleted_at = timezone.now()
        price_list.is_default = False
        price_list.save(update_fields=["deleted_at", "is_default"])
        record_event(
            workspace=workspace,
            actor=actor,
            type="price_list.deleted",
            subject=price_list,
            payload={"name": price_list.name},
        )


def price_list_item_set(
    *,
    workspace: Workspace,
    actor: User | None,
    price_list_id: int,
    product_id: int,
    unit_price: Any,
) -> PriceListItem:
    """Set a product's price in a price list (added, or changed). Records
    `price_list.updated`."""
    require(workspace=workspace, user=actor, module=PRODUCTS, right=Right.EDIT)
    errors = ErrorCollector()
    price = v.money(errors, "unit_price", unit_price)
    pid = v.ident(errors, "product_id", product_id, message=_("There is no such product."))
    errors.raise_if_any()
    with transaction.atomic():
        price_list = _price_list_for_write(workspace, price_list_id)
        product = (
            Product.objects.for_workspace(workspace).filter(pk=pid, deleted_at__isnull=True).first()
        )
        if product is None:
            raise ValidationFailed(
                [FieldError("product_id", "not-found", _("There is no such product."))]
            )
        item, created = PriceListItem.objects.for_workspace(workspace).get_or_create(
            workspace=workspace,
            price_list=price_list,
            product=product,
            defaults={"unit_price": price},
        )
        old = None if created else str(item.unit_price)
        if not created and item.unit_price != price:
            item.unit_price = price
            item.save(update_fields=["unit_price"])
        if created or old != str(price):
            record_event(
                workspace=workspace,
                actor=actor,
                type="price_list.updated",
                subject=price_list,
                payload={"item": {"product_id": product.pk, "unit_price": [old, str(price)]}},
            )
    return item


def price_list_item_remove(
    *, workspace: Workspace, actor: User | None, price_list_id: int, product_id: int
) -> None:
    require(workspace=workspace, user=actor, module=PRODUCTS, right=Right.EDIT)
    with transaction.atomic():
        price_list = _price_list_for_write(workspace, price_list_id)
        item = (
            PriceListItem.objects.for_workspace(workspace)
            .filter(
                price_list=price_list, product_id=product_id if 0 < product_id <= v.MAX_ID else 0
            )
            .first()
        )
        if item is None:
            raise _not_found(_("This product has no price in this list."))
        old = str(item.unit_price)
        item.delete()
        record_event(
            workspace=workspace,
            actor=actor,
            type="price_list.updated",
            subject=price_list,
            payload={"item": {"product_id": product_id, "unit_price": [old, None]}},
        )


# ---------------------------------------------------------------------------------------------
# Automation and merges


def deal_assign(
    *,
    workspace: Workspace,
    actor: User | None,
    deal_id: int,
    owner_id: int | None,
    team_id: int | None = None,
    reason: str = "",
) -> Deal:
    """Give a deal to `owner_id` (and `team_id` when given): a `deal_update` of those fields."""
    data: dict[str, Any] = {"owner_id": owner_id}
    if team_id is not None:
        data["team_id"] = team_id
    return deal_update(workspace=workspace, actor=actor, deal_id=deal_id, data=data)


def open_deal_counts(*, workspace: Workspace, user_ids: list[int]) -> dict[int, int]:
    """Open deals per user (for "fewest open" assignment)."""
    rows = (
        Deal.objects.for_workspace(workspace)
        .filter(owner_id__in=user_ids, status=DealStatus.OPEN, deleted_at__isnull=True)
        .values("owner_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    found = {row["owner_id"]: row["n"] for row in rows}
    return {uid: found.get(uid, 0) for uid in user_ids}
