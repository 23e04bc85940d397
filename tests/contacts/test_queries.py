"""Lists and details run a fixed number of queries however many rows and related records
there are (owner, account and tags come with the page, never one query per row)."""

from __future__ import annotations

import pytest

from vinculo.core.models import Team, TeamMember

ROWS = 65


@pytest.fixture
def crowd(workspace, contact_factory, account_factory, make_member, admin):
    """65 contacts and 65 accounts, each with an owner, two tags, custom fields; contacts
    linked to accounts."""
    sellers = [make_member(f"seller{i}@acme.test") for i in range(3)]
    team = Team.objects.for_workspace(workspace).create(workspace=workspace, name="Sul")
    for seller in sellers:
        TeamMember.objects.for_workspace(workspace).create(
            workspace=workspace, team=team, user=seller
        )
    accounts = []
    for i in range(ROWS):
        owner = sellers[i % 3] if i % 4 else admin
        accounts.append(
            account_factory(name=f"Empresa {i}", owner_id=owner.pk, tags=[f"seg{i % 5}", "b2b"])
        )
    for i in range(ROWS):
        owner = sellers[i % 3] if i % 4 else admin
        contact_factory(
            first_name=f"Pessoa {i}",
            owner_id=owner.pk,
            account_id=accounts[i].pk,
            tags=[f"t{i % 7}", "all"],
        )
    return sellers


# API key lookup, its membership (which also answers the role checks), the key's last-used touch,
# the page (owner and account joined), its tags; a team-scoped role adds the team lookup.
LIST_BUDGET = 5


@pytest.mark.parametrize("kind", ["contacts", "accounts"])
def test_list_queries_do_not_grow_with_rows(api, crowd, kind, django_assert_max_num_queries):
    with django_assert_max_num_queries(LIST_BUDGET):
        r = api.get(f"/api/v1/{kind}", limit="50")
    items = r.json()["items"]
    assert len(items) == 50
    assert all(len(item["tags"]) == 2 for item in items)
    assert all(item["owner"] is not None for item in items)
    if kind == "contacts":
        assert all(item["account"]["name"].startswith("Empresa") for item in items)
    # The next page costs the same.
    with django_assert_max_num_queries(LIST_BUDGET):
        r = api.get(f"/api/v1/{kind}", limit="50", cursor=r.json()["next_cursor"])
    assert len(r.json()["items"]) == ROWS - 50


@pytest.mark.parametrize("kind", ["contacts", "accounts"])
def test_filtered_and_searched_lists_stay_flat(api, crowd, kind, django_assert_max_num_queries):
    with django_assert_max_num_queries(LIST_BUDGET):
        r = api.get(f"/api/v1/{kind}", q="1", tag="all" if kind == "contacts" else "b2b")
    assert r.status_code == 200
    assert len(r.json()["items"]) > 5


@pytest.mark.parametrize("kind", ["contacts", "accounts"])
def test_team_scoped_list_stays_flat(api, crowd, key_for, kind, django_assert_max_num_queries):
    key = key_for(crowd[0])
    with django_assert_max_num_queries(LIST_BUDGET + 1):
        r = api.get(f"/api/v1/{kind}", key=key, limit="50")
    # Every fourth record belongs to the admin, outside the team.
    assert len(r.json()["items"]) == len([i for i in range(ROWS) if i % 4])
    assert all(item["owner"]["id"] in {u.pk for u in crowd} for item in r.json()["items"])


# A detail skips the touch (the list just made it): key, membership, the record, its tags.
DETAIL_BUDGET = 4


@pytest.mark.parametrize("kind", ["contacts", "accounts"])
def test_detail_queries(api, crowd, kind, django_assert_max_num_queries):
    record_id = api.get(f"/api/v1/{kind}", limit="1").json()["items"][0]["id"]
    with django_assert_max_num_queries(DETAIL_BUDGET):
        r = api.get(f"/api/v1/{kind}/{record_id}")
    assert r.status_code == 200
    assert len(r.json()["tags"]) == 2


@pytest.mark.parametrize("kind", ["contacts", "accounts"])
def test_team_scoped_detail_queries(api, crowd, key_for, kind, django_assert_max_num_queries):
    key = key_for(crowd[1])
    record_id = api.get(f"/api/v1/{kind}", key=key, limit="1").json()["items"][0]["id"]
    with django_assert_max_num_queries(DETAIL_BUDGET + 1):
        r = api.get(f"/api/v1/{kind}/{record_id}", key=key)
    assert r.status_code == 200
