"""What deals plug into the rest of Vínculo: rules on deal events run through the automation
engine and change deals with the deals services; merges move deals to the survivor; the global
search finds deals."""

from __future__ import annotations

from decimal import Decimal

from vinculo.automation.models import RuleRun
from vinculo.automation.services import rule_create
from vinculo.automation.subjects import registered_triggers, subject_type
from vinculo.contacts.dedupe.services import account_merge, contact_merge
from vinculo.contacts.models import Account, Contact
from vinculo.core.roles import Role
from vinculo.sales.deals import services
from vinculo.sales.models import Deal, DealStageHistory, ForecastCategory
from vinculo.web.search import global_search


def test_deals_are_an_automation_subject_with_their_triggers():
    deal = subject_type("deal")
    assert deal.module == "deals"
    assert deal.task_link == "deal"
    assert {f.name for f in deal.settable_fields} >= {
        "amount",
        "stage",
        "owner",
        "forecast_category",
        "expected_close_date",
    }
    assert deal.get_field("status").settable is False
    assert set(deal.related) == {"account", "contact"}
    triggers = {t.event_type for t in registered_triggers() if t.subject_type == "deal"}
    assert triggers >= {
        "deal.created",
        "deal.updated",
        "deal.stage_changed",
        "deal.won",
        "deal.lost",
    }


def test_a_rule_on_stage_changes_sets_a_field_through_the_deals_service(
    workspace, admin, deal_factory, stages, django_capture_on_commit_callbacks
):
    rule = rule_create(
        workspace=workspace,
        actor=admin,
        data={
            "name": "Big deals are commit",
            "trigger": "deal.stage_changed",
            "conditions": {
                "all": [
                    {"field": "amount", "op": "gte", "value": "1000"},
                    {"field": "stage", "op": "changed", "value": str(stages["proposal"].pk)},
                ]
            },
            "actions": [{"type": "set_field", "field": "forecast_category", "value": "commit"}],
        },
    )
    big = deal_factory(amount="5000")
    small = deal_factory(amount="10")
    with django_capture_on_commit_callbacks(execute=True):
        for deal in (big, small):
            services.deal_move(
                workspace=workspace, actor=admin, deal_id=deal.pk, stage_id=stages["proposal"].pk
            )
    assert Deal.objects.get(pk=big.pk).forecast_category == ForecastCategory.COMMIT
    assert Deal.objects.get(pk=small.pk).forecast_category == ForecastCategory.PIPELINE
    runs = {r.subject_id: r.status for r in RuleRun.objects.filter(rule=rule)}
    assert runs == {big.pk: "matched", small.pk: "not_matched"}


def test_a_rule_can_move_a_deal_with_its_history(
    workspace, admin, deal_factory, stages, django_capture_on_commit_callbacks
):
    rule_create(
        workspace=workspace,
        actor=admin,
        data={
            "name": "Qualified on creation when large",
            "trigger": "deal.created",
            "conditions": {"all": [{"field": "amount", "op": "gt", "value": "100000"}]},
            "actions": [
                {"type": "set_field", "field": "stage", "value": str(stages["qualified"].pk)}
            ],
        },
    )
    with django_capture_on_commit_callbacks(execute=True):
        deal = deal_factory(amount="250000")
    deal.refresh_from_db()
    assert deal.stage_id == stages["qualified"].pk
    assert list(
        DealStageHistory.objects.filter(deal=deal).order_by("id").values_list("stage_id", flat=True)
    ) == [stages["new"].pk, stages["qualified"].pk]


def test_rule_assignment_uses_open_deal_counts(workspace, make_member, deal_factory):
    reps = [make_member(f"rep{i}@acme.test", Role.SALES) for i in range(2)]
    deal_factory(owner_id=reps[0].pk)
    deal_factory(owner_id=reps[0].pk)
    counts = subject_type("deal").open_counts(workspace=workspace, user_ids=[r.pk for r in reps])
    assert counts == {reps[0].pk: 2, reps[1].pk: 0}
    deal = deal_factory()
    assigned = subject_type("deal").assign(
        workspace=workspace, actor=None, obj=deal, owner=reps[1], team=None, reason="fewest"
    )
    assert assigned.owner_id == reps[1].pk


def test_merging_contacts_and_accounts_moves_their_deals(workspace, admin, deal_factory):
    keep = Contact.objects.create(workspace=workspace, first_name="Ana", emails=["a@x.com"])
    gone = Contact.objects.create(workspace=workspace, first_name="Ana", emails=["a@y.com"])
    deal = deal_factory(contact_id=gone.pk)
    contact_merge(workspace=workspace, actor=admin, survivor_id=keep.pk, other_id=gone.pk)
    assert Deal.objects.get(pk=deal.pk).contact_id == keep.pk
    first = Account.objects.create(workspace=workspace, name="Acme")
    second = Account.objects.create(workspace=workspace, name="Acme Ltda")
    deal = deal_factory(account_id=second.pk)
    account_merge(workspace=workspace, actor=admin, survivor_id=first.pk, other_id=second.pk)
    assert Deal.objects.get(pk=deal.pk).account_id == first.pk


def test_global_search_finds_deals_the_viewer_may_see(
    workspace, admin, make_member, deal_factory, account
):
    rep = make_member("rep@acme.test", Role.SALES)
    boss = make_member("boss@acme.test", Role.MANAGER)
    deal_factory(name="Renovação da frota", account_id=account.pk, amount="1234.5")
    deal_factory(name="Renovação secreta", owner_id=boss.pk)
    groups = {g.key: g for g in global_search(workspace=workspace, viewer=admin, query="renova")}
    hits = groups["deals"].hits
    assert [h.title for h in hits] == ["Renovação secreta", "Renovação da frota"]
    assert hits[1].url.startswith("/deals/")
    assert "Acme Comércio" in hits[1].subtitle and "1,234.50" in hits[1].subtitle
    groups = {g.key: g for g in global_search(workspace=workspace, viewer=rep, query="renova")}
    assert [h.title for h in groups["deals"].hits] == ["Renovação da frota"]
    assert Decimal("1234.50") == Deal.objects.get(name="Renovação da frota").amount
