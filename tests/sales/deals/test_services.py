"""Deals through their services: the default pipeline, creating and moving deals (stage
history, status, card positions, events), closing them, products on a deal, and the rules a
pipeline's stages keep."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.sales.deals.conftest import column_ids
from vinculo.core.exceptions import Conflict, NotFound, PermissionDenied, ValidationFailed
from vinculo.core.models import Event
from vinculo.core.roles import Role
from vinculo.sales.deals import services
from vinculo.sales.models import (
    Deal,
    DealStageHistory,
    DealStatus,
    ForecastCategory,
    Pipeline,
    Stage,
    StageKind,
)


def fields_of(exc: ValidationFailed) -> set[str]:
    return {e.field for e in exc.errors}


def events(workspace, deal, kind: str | None = None) -> list[Event]:
    qs = Event.objects.for_workspace(workspace).filter(subject_type="deal", subject_id=deal.pk)
    if kind:
        qs = qs.filter(type=kind)
    return list(qs.order_by("id"))


# --- the default pipeline -------------------------------------------------------------------------


def test_default_pipeline_is_made_once_with_its_six_stages(workspace):
    first = services.pipeline_default(workspace)
    again = services.pipeline_default(workspace)
    assert first.pk == again.pk
    assert Pipeline.objects.for_workspace(workspace).count() == 1
    stages = list(
        Stage.objects.for_workspace(workspace).filter(pipeline=first).order_by("position")
    )
    assert [(s.probability, s.kind) for s in stages] == [
        (10, "open"),
        (25, "open"),
        (50, "open"),
        (75, "open"),
        (100, "won"),
        (0, "lost"),
    ]
    assert first.is_default


def test_default_pipeline_is_named_in_the_workspace_language(workspace):
    workspace.locale = "en"
    workspace.save()
    pipeline = services.pipeline_default(workspace)
    assert pipeline.name == "Sales"
    names = list(
        Stage.objects.for_workspace(workspace)
        .filter(pipeline=pipeline)
        .order_by("position")
        .values_list("name", flat=True)
    )
    assert names == ["New", "Qualified", "Proposal", "Negotiation", "Won", "Lost"]


# --- creating deals -------------------------------------------------------------------------------


def test_create_defaults_to_first_open_stage_workspace_currency_and_the_actor(
    workspace, admin, stages
):
    deal = services.deal_create(
        workspace=workspace, actor=admin, data={"name": "  Big   sale ", "amount": "1500.5"}
    )
    assert deal.name == "Big sale"
    assert deal.stage_id == stages["new"].pk
    assert deal.status == DealStatus.OPEN
    assert deal.currency == workspace.currency
    assert deal.owner_id == admin.pk
    assert deal.amount == Decimal("1500.50")
    stays = list(DealStageHistory.objects.for_workspace(workspace).filter(deal=deal))
    assert [(s.stage_id, s.left_at, s.entered_by_id) for s in stays] == [
        (stages["new"].pk, None, admin.pk)
    ]
    (created,) = events(workspace, deal, "deal.created")
    assert created.payload["fields"]["name"] == "Big sale"
    assert created.payload["fields"]["amount"] == "1500.50"


def test_create_reports_every_bad_field_at_once(workspace, admin, stages, other_workspace):
    other_stage = Stage.objects.for_workspace(other_workspace).create(
        workspace=other_workspace,
        pipeline=services.pipeline_default(other_workspace),
        name="x",
    )
    with pytest.raises(ValidationFailed) as caught:
        services.deal_create(
            workspace=workspace,
            actor=admin,
            data={
                "name": "",
                "amount": "-3",
                "currency": "reais",
                "expected_close_date": "31/12/2025",
                "forecast_category": "maybe",
                "owner_id": 999_999,
                "stage_id": other_stage.pk,
                "colour": "red",
            },
        )
    assert fields_of(caught.value) == {
        "name",
        "amount",
        "currency",
        "expected_close_date",
        "forecast_category",
        "owner_id",
        "stage_id",
        "colour",
    }
    assert not Deal.objects.for_workspace(workspace).exists()


def test_create_in_a_lost_stage_needs_a_reason(workspace, admin, stages):
    with pytest.raises(ValidationFailed) as caught:
        services.deal_create(
            workspace=workspace, actor=admin, data={"name": "x", "stage_id": stages["lost"].pk}
        )
    assert fields_of(caught.value) == {"lost_reason"}
    deal = services.deal_create(
        workspace=workspace,
        actor=admin,
        data={"name": "x", "stage_id": stages["lost"].pk, "lost_reason": "Price"},
    )
    assert deal.status == DealStatus.LOST
    assert deal.closed_at is not None


def test_new_deals_go_on_top_of_their_column(deal_factory, workspace, stages):
    a = deal_factory()
    b = deal_factory()
    c = deal_factory()
    assert column_ids(workspace, stages["new"]) == [c.pk, b.pk, a.pk]


def test_links_need_sight_of_the_record(workspace, make_member, contact, account):
    rep = make_member("rep@acme.test", Role.SALES)
    other_contact = (
        type(contact)
        .objects.for_workspace(workspace)
        .create(workspace=workspace, first_name="Hidden", owner=None)
    )
    # Unowned records are the team's pool: visible. One owned by someone else is not.
    boss = make_member("boss@acme.test", Role.MANAGER)
    other_contact.owner = boss
    other_contact.save()
    with pytest.raises(ValidationFailed) as caught:
        services.deal_create(
            workspace=workspace,
            actor=rep,
            data={"name": "x", "contact_id": other_contact.pk, "account_id": account.pk},
        )
    assert fields_of(caught.value) == {"contact_id"}


# --- moving deals ---------------------------------------------------------------------------------


def test_move_keeps_the_stage_history_and_records_the_events(
    workspace, admin, deal_factory, stages
):
    deal = deal_factory(actor=admin)
    moved = services.deal_move(
        workspace=workspace, actor=admin, deal_id=deal.pk, stage_id=stages["proposal"].pk
    )
    assert moved.stage_id == stages["proposal"].pk
    stays = list(DealStageHistory.objects.for_workspace(workspace).filter(deal=deal).order_by("id"))
    assert [s.stage_id for s in stays] == [stages["new"].pk, stages["proposal"].pk]
    assert stays[0].left_at is not None and stays[0].left_by_id == admin.pk
    assert stays[1].left_at is None and stays[1].entered_by_id == admin.pk
    (changed,) = events(workspace, deal, "deal.stage_changed")
    assert changed.payload["from_stage_id"] == stages["new"].pk
    assert changed.payload["to_stage_id"] == stages["proposal"].pk
    assert changed.payload["pipeline_id"] == stages["new"].pipeline_id
    assert changed.payload["changes"]["stage_id"] == [stages["new"].pk, stages["proposal"].pk]
    assert moved.stage_entered_at == stays[1].entered_at


def test_won_closes_the_deal_and_reopening_clears_it(workspace, admin, deal_factory, stages):
    deal = deal_factory(actor=admin, amount="900")
    won = services.deal_move(
        workspace=workspace, actor=admin, deal_id=deal.pk, stage_id=stages["won"].pk
    )
    assert won.status == DealStatus.WON
    assert won.closed_at is not None
    assert won.forecast_category == ForecastCategory.CLOSED
    (won_event,) = events(workspace, deal, "deal.won")
    assert won_event.payload["amount"] == "900.00"
    reopened = services.deal_move(
        workspace=workspace, actor=admin, deal_id=deal.pk, stage_id=stages["negotiation"].pk
    )
    assert reopened.status == DealStatus.OPEN
    assert reopened.closed_at is None
    assert reopened.forecast_category == ForecastCategory.PIPELINE
    fresh = Deal.objects.for_workspace(workspace).get(pk=deal.pk)
    assert (fresh.status, fresh.closed_at) == (DealStatus.OPEN, None)


def test_moving_to_a_lost_stage_needs_a_reason(workspace, admin, deal_factory, stages):
    deal = deal_factory(actor=admin)
    with pytest.raises(ValidationFailed) as caught:
        services.deal_move(
            workspace=workspace, actor=admin, deal_id=deal.pk, stage_id=stages["lost"].pk
        )
    assert fields_of(caught.value) == {"lost_reason"}
    assert Deal.objects.for_workspace(workspace).get(pk=deal.pk).stage_id == stages["new"].pk
    assert DealStageHistory.objects.for_workspace(workspace).filter(deal=deal).count() == 1
    lost = services.deal_move(
        workspace=workspace,
        actor=admin,
        deal_id=deal.pk,
        stage_id=stages["lost"].pk,
        lost_reason="Went with a competitor",
    )
    assert (lost.status, lost.lost_reason) == (DealStatus.LOST, "Went with a competitor")
    assert lost.forecast_category == ForecastCategory.OMITTED
    (lost_event,) = events(workspace, deal, "deal.lost")
    assert lost_event.payload["lost_reason"] == "Went with a competitor"
    # Back to an open stage: no longer lost, for no reason.
    back = services.deal_move(
        workspace=workspace, actor=admin, deal_id=deal.pk, stage_id=stages["new"].pk
    )
    assert (back.status, back.lost_reason, back.closed_at) == (DealStatus.OPEN, "", None)


def test_unknown_stage_is_a_field_error_and_other_workspace_deal_is_not_found(
    workspace, admin, deal_factory, other_workspace, other_admin
):
    deal = deal_factory()
    with pytest.raises(ValidationFailed) as caught:
        services.deal_move(workspace=workspace, actor=admin, deal_id=deal.pk, stage_id=10**9)
    assert fields_of(caught.value) == {"stage_id"}
    other_stage = (
        Stage.objects.for_workspace(other_workspace)
        .filter(pipeline=services.pipeline_default(other_workspace))
        .first()
    )
    with pytest.raises(NotFound):
        services.deal_move(
            workspace=other_workspace,
            actor=other_admin,
            deal_id=deal.pk,
            stage_id=other_stage.pk,
        )


def test_cards_land_between_their_neighbours(workspace, admin, deal_factory, stages):
    a, b, c = (deal_factory() for _ in range(3))
    target = stages["qualified"]
    for deal in (a, b, c):
        services.deal_move(workspace=workspace, actor=admin, deal_id=deal.pk, stage_id=target.pk)
    assert column_ids(workspace, target) == [c.pk, b.pk, a.pk]
    d = deal_factory()
    services.deal_move(
        workspace=workspace,
        actor=admin,
        deal_id=d.pk,
        stage_id=target.pk,
        before_id=c.pk,
        after_id=b.pk,
    )
    assert column_ids(workspace, target) == [c.pk, d.pk, b.pk, a.pk]
    # Only the card above known (a paged column): it still goes right under it.
    e = deal_factory()
    services.deal_move(
        workspace=workspace, actor=admin, deal_id=e.pk, stage_id=target.pk, before_id=d.pk
    )
    assert column_ids(workspace, target) == [c.pk, d.pk, e.pk, b.pk, a.pk]
    # Only the card below known: right above it; last place with the last card above.
    services.deal_move(
        workspace=workspace, actor=admin, deal_id=c.pk, stage_id=target.pk, after_id=a.pk
    )
    assert column_ids(workspace, target) == [d.pk, e.pk, b.pk, c.pk, a.pk]
    services.deal_move(
        workspace=workspace, actor=admin, deal_id=d.pk, stage_id=target.pk, before_id=a.pk
    )
    assert column_ids(workspace, target) == [e.pk, b.pk, c.pk, a.pk, d.pk]


def test_reordering_inside_a_column_records_no_event_and_no_stay(
    workspace, admin, deal_factory, stages
):
    a, b = deal_factory(), deal_factory()
    before = Event.objects.for_workspace(workspace).count()
    services.deal_move(
        workspace=workspace, actor=admin, deal_id=b.pk, stage_id=stages["new"].pk, before_id=a.pk
    )
    assert column_ids(workspace, stages["new"]) == [a.pk, b.pk]
    assert Event.objects.for_workspace(workspace).count() == before
    assert DealStageHistory.objects.for_workspace(workspace).filter(deal=b).count() == 1


def test_a_worn_out_gap_spreads_the_column_again(workspace, admin, deal_factory, stages):
    a, b, c = deal_factory(), deal_factory(), deal_factory()
    # c, b, a on top; squeeze b right between c and a's neighbour positions.
    Deal.objects.for_workspace(workspace).filter(pk=c.pk).update(position=1.0)
    Deal.objects.for_workspace(workspace).filter(pk=b.pk).update(position=1.0 + 1e-9)
    Deal.objects.for_workspace(workspace).filter(pk=a.pk).update(position=5.0)
    d = deal_factory()
    services.deal_move(
        workspace=workspace,
        actor=admin,
        deal_id=d.pk,
        stage_id=stages["new"].pk,
        before_id=c.pk,
        after_id=b.pk,
    )
    assert column_ids(workspace, stages["new"]) == [c.pk, d.pk, b.pk, a.pk]
    positions = list(
        Deal.objects.for_workspace(workspace)
        .filter(stage=stages["new"])
        .order_by("position")
        .values_list("position", flat=True)
    )
    gaps = [hi - lo for lo, hi in itertools.pairwise(positions)]
    assert min(gaps) >= services.POSITION_STEP / 2


def test_many_drops_at_one_place_keep_the_order_and_spread_only_nearby_cards(
    workspace, admin, deal_factory, stages
):
    column = stages["new"]
    for _ in range(60):
        deal_factory()
    order = column_ids(workspace, column)
    far_position = Deal.objects.get(pk=order[-1]).position
    above = order[10]
    dropped: list[int] = []
    for _ in range(45):  # enough halvings of the gap to wear it out more than once
        deal = deal_factory(stage_id=stages["qualified"].pk)
        services.deal_move(
            workspace=workspace,
            actor=admin,
            deal_id=deal.pk,
            stage_id=column.pk,
            before_id=above,
            after_id=dropped[-1] if dropped else order[11],
        )
        dropped.append(deal.pk)
    assert column_ids(workspace, column) == order[:11] + dropped[::-1] + order[11:]
    # The cards far from the drops kept their positions: only a window around them moved.
    assert Deal.objects.get(pk=order[-1]).position == far_position


def test_close_moves_to_the_first_won_or_lost_stage(workspace, admin, deal_factory, stages):
    deal = deal_factory()
    won = services.deal_close(workspace=workspace, actor=admin, deal_id=deal.pk, won=True)
    assert (won.stage_id, won.status) == (stages["won"].pk, DealStatus.WON)
    other = deal_factory()
    with pytest.raises(ValidationFailed):
        services.deal_close(workspace=workspace, actor=admin, deal_id=other.pk, won=False)
    lost = services.deal_close(
        workspace=workspace, actor=admin, deal_id=other.pk, won=False, lost_reason="Budget"
    )
    assert (lost.stage_id, lost.status, lost.lost_reason) == (
        stages["lost"].pk,
        DealStatus.LOST,
        "Budget",
    )


def test_update_with_a_new_stage_moves_the_deal(workspace, admin, deal_factory, stages):
    deal = deal_factory(actor=admin)
    updated = services.deal_update(
        workspace=workspace,
        actor=admin,
        deal_id=deal.pk,
        data={"stage_id": stages["won"].pk, "amount": "10"},
    )
    assert updated.status == DealStatus.WON
    assert [e.type for e in events(workspace, deal)] == [
        "deal.created",
        "deal.updated",
        "deal.stage_changed",
        "deal.won",
    ]
    assert events(workspace, deal, "deal.updated")[0].payload["changes"] == {
        "amount": ["0.00", "10.00"]
    }


def test_update_without_changes_records_nothing(workspace, admin, deal_factory):
    deal = deal_factory(actor=admin, name="Same")
    services.deal_update(workspace=workspace, actor=admin, deal_id=deal.pk, data={"name": "Same"})
    assert not events(workspace, deal, "deal.updated")


def test_moving_to_another_pipeline_takes_its_stage(workspace, admin, deal_factory):
    deal = deal_factory()
    second = services.pipeline_create(workspace=workspace, actor=admin, data={"name": "Renewals"})
    target = Stage.objects.for_workspace(workspace).filter(pipeline=second).order_by("position")[1]
    moved = services.deal_move(
        workspace=workspace, actor=admin, deal_id=deal.pk, stage_id=target.pk
    )
    assert (moved.pipeline_id, moved.stage_id) == (second.pk, target.pk)
    by_pipeline = services.deal_update(
        workspace=workspace,
        actor=admin,
        deal_id=deal.pk,
        data={"pipeline_id": services.pipeline_default(workspace).pk},
    )
    assert by_pipeline.stage.kind == StageKind.OPEN
    assert by_pipeline.stage.position == 0


def test_delete_and_restore(workspace, admin, deal_factory):
    deal = deal_factory()
    services.deal_delete(workspace=workspace, actor=admin, deal_id=deal.pk)
    with pytest.raises(NotFound):
        services.deal_update(workspace=workspace, actor=admin, deal_id=deal.pk, data={"name": "x"})
    restored = services.deal_restore(workspace=workspace, actor=admin, deal_id=deal.pk)
    assert restored.deleted_at is None
    Deal.objects.for_workspace(workspace).filter(pk=deal.pk).update(
        deleted_at=timezone.now() - dt.timedelta(days=400)
    )
    with pytest.raises(services.RestoreExpired):
        services.deal_restore(workspace=workspace, actor=admin, deal_id=deal.pk)
    assert [e.type for e in events(workspace, deal)][-2:] == ["deal.deleted", "deal.restored"]


# --- access ---------------------------------------------------------------------------------------


def test_a_sales_rep_works_deals_but_does_not_configure_pipelines(
    workspace, make_member, pipeline, stages
):
    rep = make_member("rep@acme.test", Role.SALES)
    deal = services.deal_create(workspace=workspace, actor=rep, data={"name": "Mine"})
    services.deal_move(workspace=workspace, actor=rep, deal_id=deal.pk, stage_id=stages["won"].pk)
    with pytest.raises(PermissionDenied):
        services.pipeline_create(workspace=workspace, actor=rep, data={"name": "No"})
    with pytest.raises(PermissionDenied):
        services.stage_update(
            workspace=workspace, actor=rep, stage_id=stages["new"].pk, data={"probability": 1}
        )
    with pytest.raises(PermissionDenied):
        services.deal_delete(workspace=workspace, actor=rep, deal_id=deal.pk)


def test_a_rep_cannot_move_someone_elses_deal_and_read_only_cannot_move(
    workspace, make_member, deal_factory, stages
):
    rep = make_member("rep@acme.test", Role.SALES)
    boss = make_member("boss@acme.test", Role.MANAGER)
    viewer = make_member("viewer@acme.test", Role.READ_ONLY)
    theirs = deal_factory(owner_id=boss.pk)
    with pytest.raises(NotFound):
        services.deal_move(
            workspace=workspace, actor=rep, deal_id=theirs.pk, stage_id=stages["won"].pk
        )
    with pytest.raises(PermissionDenied):
        services.deal_move(
            workspace=workspace, actor=viewer, deal_id=theirs.pk, stage_id=stages["won"].pk
        )


# --- pipelines and stages -------------------------------------------------------------------------


def test_pipeline_needs_open_won_and_lost_stages(workspace, admin):
    with pytest.raises(ValidationFailed) as caught:
        services.pipeline_create(
            workspace=workspace,
            actor=admin,
            data={"name": "Odd", "stages": [{"name": "A"}, {"name": "B", "kind": "won"}]},
        )
    assert fields_of(caught.value) == {"stages"}
    made = services.pipeline_create(
        workspace=workspace,
        actor=admin,
        data={
            "name": "Partners",
            "stages": [
                {"name": "Talk", "probability": 20},
                {"name": "Signed", "kind": "won"},
                {"name": "Gone", "kind": "lost"},
            ],
        },
    )
    stages = list(Stage.objects.for_workspace(workspace).filter(pipeline=made).order_by("position"))
    assert [(s.name, s.probability, s.kind) for s in stages] == [
        ("Talk", 20, "open"),
        ("Signed", 100, "won"),
        ("Gone", 0, "lost"),
    ]


def test_probability_must_be_0_to_100(workspace, admin, stages):
    with pytest.raises(ValidationFailed) as caught:
        services.stage_update(
            workspace=workspace, actor=admin, stage_id=stages["new"].pk, data={"probability": 101}
        )
    assert fields_of(caught.value) == {"probability"}


def test_pipeline_with_open_deals_cannot_be_deleted(workspace, admin, deal_factory, pipeline):
    second = services.pipeline_create(workspace=workspace, actor=admin, data={"name": "Second"})
    deal = deal_factory()
    with pytest.raises(Conflict) as caught:
        services.pipeline_delete(workspace=workspace, actor=admin, pipeline_id=pipeline.pk)
    assert caught.value.code == "pipeline-has-open-deals"
    assert "1 open deal" in caught.value.detail
    services.deal_close(workspace=workspace, actor=admin, deal_id=deal.pk, won=True)
    services.pipeline_delete(workspace=workspace, actor=admin, pipeline_id=pipeline.pk)
    second.refresh_from_db()
    assert second.is_default
    assert services.pipeline_default(workspace).pk == second.pk


def test_last_won_stage_cannot_go_and_a_stage_with_deals_needs_a_destination(
    workspace, admin, deal_factory, stages
):
    with pytest.raises(ValidationFailed) as caught:
        services.stage_delete(workspace=workspace, actor=admin, stage_id=stages["won"].pk)
    assert fields_of(caught.value) == {"stage"}
    deal = deal_factory()
    with pytest.raises(ValidationFailed) as caught:
        services.stage_delete(workspace=workspace, actor=admin, stage_id=stages["new"].pk)
    assert fields_of(caught.value) == {"move_to_stage_id"}
    with pytest.raises(ValidationFailed):
        services.stage_delete(
            workspace=workspace,
            actor=admin,
            stage_id=stages["new"].pk,
            move_to_stage_id=stages["won"].pk,
        )
    services.stage_delete(
        workspace=workspace,
        actor=admin,
        stage_id=stages["new"].pk,
        move_to_stage_id=stages["qualified"].pk,
    )
    deal.refresh_from_db()
    assert deal.stage_id == stages["qualified"].pk
    stays = list(DealStageHistory.objects.for_workspace(workspace).filter(deal=deal).order_by("id"))
    assert [s.stage_id for s in stays] == [stages["new"].pk, stages["qualified"].pk]
    assert stays[0].left_at is not None
    positions = list(
        Stage.objects.for_workspace(workspace)
        .filter(pipeline=stages["won"].pipeline, deleted_at__isnull=True)
        .order_by("position")
        .values_list("position", flat=True)
    )
    assert positions == [0, 1, 2, 3, 4]


def test_a_stage_holding_deals_keeps_its_kind(workspace, admin, deal_factory, stages):
    deal_factory()
    with pytest.raises(ValidationFailed) as caught:
        services.stage_update(
            workspace=workspace, actor=admin, stage_id=stages["new"].pk, data={"kind": "won"}
        )
    assert fields_of(caught.value) == {"kind"}


def test_stage_reorder(workspace, admin, stages, pipeline):
    order = [s.pk for s in stages.values()][::-1]
    services.stage_reorder(
        workspace=workspace, actor=admin, pipeline_id=pipeline.pk, stage_ids=order
    )
    assert (
        list(
            Stage.objects.for_workspace(workspace)
            .filter(pipeline=pipeline)
            .order_by("position")
            .values_list("pk", flat=True)
        )
        == order
    )
    with pytest.raises(ValidationFailed):
        services.stage_reorder(
            workspace=workspace, actor=admin, pipeline_id=pipeline.pk, stage_ids=order[:-1]
        )


def test_new_open_stage_goes_after_the_last_open_one(workspace, admin, pipeline, stages):
    made = services.stage_create(
        workspace=workspace,
        actor=admin,
        pipeline_id=pipeline.pk,
        data={"name": "Contract", "probability": 90},
    )
    assert made.position == 4
    stages["won"].refresh_from_db()
    assert stages["won"].position == 5


# --- products on a deal ---------------------------------------------------------------------------


def test_lines_make_the_amount(workspace, admin, deal_factory, product_factory):
    deal = deal_factory(amount="5")
    product = product_factory(name="Seat", unit_price="120.00")
    line = services.deal_line_add(
        workspace=workspace,
        actor=admin,
        deal_id=deal.pk,
        data={"product_id": product.pk, "quantity": "3", "discount_percent": "10"},
    )
    assert line.description == "Seat"
    assert line.unit_price == Decimal("120.00")
    deal.refresh_from_db()
    assert deal.amount == Decimal("324.00")
    services.deal_line_add(
        workspace=workspace,
        actor=admin,
        deal_id=deal.pk,
        data={"description": "Setup", "unit_price": "76"},
    )
    deal.refresh_from_db()
    assert deal.amount == Decimal("400.00")
    with pytest.raises(ValidationFailed) as caught:
        services.deal_update(workspace=workspace, actor=admin, deal_id=deal.pk, data={"amount": 1})
    assert fields_of(caught.value) == {"amount"}
    services.deal_line_update(
        workspace=workspace, actor=admin, deal_id=deal.pk, line_id=line.pk, data={"quantity": 1}
    )
    deal.refresh_from_db()
    assert deal.amount == Decimal("184.00")
    services.deal_line_remove(workspace=workspace, actor=admin, deal_id=deal.pk, line_id=line.pk)
    deal.refresh_from_db()
    assert deal.amount == Decimal("76.00")


def test_line_price_comes_from_the_default_price_list(
    workspace, admin, deal_factory, product_factory
):
    product = product_factory(unit_price="100")
    price_list = services.price_list_create(
        workspace=workspace, actor=admin, data={"name": "Partners", "is_default": True}
    )
    services.price_list_item_set(
        workspace=workspace,
        actor=admin,
        price_list_id=price_list.pk,
        product_id=product.pk,
        unit_price="80",
    )
    line = services.deal_line_add(
        workspace=workspace, actor=admin, deal_id=deal_factory().pk, data={"product_id": product.pk}
    )
    assert line.unit_price == Decimal("80.00")


def test_bad_lines_name_their_fields(workspace, admin, deal_factory):
    deal = deal_factory()
    with pytest.raises(ValidationFailed) as caught:
        services.deal_line_add(
            workspace=workspace,
            actor=admin,
            deal_id=deal.pk,
            data={"quantity": "0", "discount_percent": "120", "product_id": 10**9},
        )
    assert fields_of(caught.value) == {
        "quantity",
        "discount_percent",
        "product_id",
        "description",
        "unit_price",
    }


# --- catalogue ------------------------------------------------------------------------------------


def test_product_codes_are_unique_and_one_price_list_is_default(workspace, admin, product_factory):
    product_factory(code="SKU-1")
    with pytest.raises(ValidationFailed) as caught:
        product_factory(code="sku-1")
    assert fields_of(caught.value) == {"code"}
    first = services.price_list_create(
        workspace=workspace, actor=admin, data={"name": "A", "is_default": True}
    )
    second = services.price_list_create(
        workspace=workspace, actor=admin, data={"name": "B", "is_default": True}
    )
    first.refresh_from_db()
    assert (first.is_default, second.is_default) == (False, True)
    with pytest.raises(ValidationFailed) as caught:
        services.price_list_update(
            workspace=workspace,
            actor=admin,
            price_list_id=first.pk,
            data={"valid_from": "2025-02-01", "valid_until": "2025-01-01"},
        )
    assert fields_of(caught.value) == {"valid_until"}


def test_products_need_the_products_right(workspace, make_member):
    rep = make_member("rep@acme.test", Role.SALES)
    with pytest.raises(PermissionDenied):
        services.product_create(workspace=workspace, actor=rep, data={"name": "x"})
