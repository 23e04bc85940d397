"""Lists and details of the deals API and pages run a fixed number of queries however many rows
and related records there are."""

from __future__ import annotations

import pytest

from vinculo.contacts.models import Account, Contact
from vinculo.core.models import Team, TeamMember
from vinculo.sales.deals import services

ROWS = 60


@pytest.fixture
def crowd(workspace, admin, make_member, deal_factory, product_factory, stages):
    """60 deals over three owners in a team, each with a contact and an account; products."""
    sellers = [make_member(f"seller{i}@acme.test") for i in range(3)]
    team = Team.objects.for_workspace(workspace).create(workspace=workspace, name="Sul")
    for seller in sellers:
        TeamMember.objects.for_workspace(workspace).create(
            workspace=workspace, team=team, user=seller
        )
    for i in range(ROWS):
        account = Account.objects.for_workspace(workspace).create(
            workspace=workspace, name=f"Empresa {i}", sort_name=f"empresa {i}"
        )
        contact = Contact.objects.for_workspace(workspace).create(
            workspace=workspace, first_name=f"Pessoa {i}", account=account
        )
        deal = deal_factory(
            name=f"Negócio {i}",
            owner_id=sellers[i % 3].pk,
            team_id=team.pk,
            contact_id=contact.pk,
            account_id=account.pk,
            amount=str(i * 10),
        )
        if i % 4 == 0:
            services.deal_move(
                workspace=workspace, actor=None, deal_id=deal.pk, stage_id=stages["proposal"].pk
            )
    for i in range(ROWS):
        product_factory(name=f"Produto {i}")
    return sellers


# API key lookup, its membership (the role checks), the key's last-used touch, then the page
# with its pipeline, stage, owner, team, contact, account and lead joined.
LIST_BUDGET = 4


def test_deal_list_queries_do_not_grow(api, crowd, django_assert_max_num_queries):
    with django_assert_max_num_queries(LIST_BUDGET):
        r = api.get("/api/v1/deals", limit="50")
    assert len(r.json()["items"]) == 50
    with django_assert_max_num_queries(LIST_BUDGET):
        r = api.get("/api/v1/deals", limit="50", sort="expected_close_date", status="open")
    assert len(r.json()["items"]) == 50


def test_deal_list_of_a_team_scoped_rep(api, crowd, key_for, django_assert_max_num_queries):
    key = key_for(crowd[0])
    # A team scope adds the team lookup.
    with django_assert_max_num_queries(LIST_BUDGET + 1):
        r = api.get("/api/v1/deals", key=key, limit="50")
    assert len(r.json()["items"]) == 50


def test_details_run_a_fixed_number_of_queries(
    api, crowd, workspace, django_assert_max_num_queries
):
    deal_id = api.get("/api/v1/deals", limit="1").json()["items"][0]["id"]
    with django_assert_max_num_queries(5):
        assert api.get(f"/api/v1/deals/{deal_id}").status_code == 200
    with django_assert_max_num_queries(5):
        assert api.get(f"/api/v1/deals/{deal_id}/stage-history").status_code == 200
    with django_assert_max_num_queries(5):
        assert api.get(f"/api/v1/deals/{deal_id}/lines").status_code == 200
    # The default pipeline is looked up first (made when missing), then listed with its stages.
    with django_assert_max_num_queries(6):
        assert api.get("/api/v1/pipelines").status_code == 200
    with django_assert_max_num_queries(4):
        assert len(api.get("/api/v1/products", limit="50").json()["items"]) == 50
    with django_assert_max_num_queries(4):
        assert api.get("/api/v1/price-lists").status_code == 200


def test_a_move_runs_few_queries(api, crowd, stages, django_assert_max_num_queries):
    deal_ids = [
        d["id"]
        for d in api.get("/api/v1/deals", limit="3", stage=str(stages["new"].pk)).json()["items"]
    ]
    # Key + membership + touch, the locked deal, the stage, the neighbours, the stay closed and
    # opened, the deal saved, two events, the answer (with the event dispatch after commit).
    with django_assert_max_num_queries(12):
        r = api.post(
            f"/api/v1/deals/{deal_ids[0]}/move",
            {"stage_id": stages["qualified"].pk},
        )
    assert r.status_code == 200


def test_pages_run_a_fixed_number_of_queries(
    admin_client, crowd, stages, django_assert_max_num_queries
):
    admin_client.get("/deals/list/")
    # Session, user and membership come first on every page.
    with django_assert_max_num_queries(11):
        assert admin_client.get("/deals/list/").status_code == 200
    with django_assert_max_num_queries(17):
        assert admin_client.get("/deals/").status_code == 200
    with django_assert_max_num_queries(6):
        assert admin_client.get("/products/").status_code == 200
    deal_id = stages["proposal"].deals.first().pk
    with django_assert_max_num_queries(12):
        assert admin_client.get(f"/deals/{deal_id}/").status_code == 200
    contact_id = stages["new"].deals.first().contact_id
    with django_assert_max_num_queries(7):
        assert admin_client.get(f"/records/contact/{contact_id}/deals").status_code == 200
    with django_assert_max_num_queries(10):
        assert admin_client.get(f"/deals/pipelines/{stages['new'].pipeline_id}/").status_code == 200
