"""The automation API: rules CRUD with reorder and restore, each rule's run log, the triggers;
problems for bad input; other workspaces' rules answer 404; query counts stay flat."""

from __future__ import annotations

import pytest

from vinculo.automation.models import Rule, RuleRun, RunStatus
from vinculo.core.roles import Role

RULES = "/api/v1/automation/rules"


@pytest.fixture
def payload(team):
    return {
        "name": "Route BR",
        "trigger": "contact.created",
        "group": "routing",
        "stop_after_match": True,
        "conditions": {"all": [{"field": "country", "op": "eq", "value": "BR"}]},
        "actions": [{"type": "assign", "strategy": "round_robin", "team_id": team.pk}],
    }


def test_create_read_update_delete_restore(api, payload, team):
    r = api.post(RULES, payload)
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["name"] == "Route BR"
    assert body["actions"] == payload["actions"]
    assert body["position"] == 0 and body["is_active"] is True
    rule_id = body["id"]

    assert api.get(f"{RULES}/{rule_id}").json()["conditions"] == payload["conditions"]

    r = api.patch(f"{RULES}/{rule_id}", {"is_active": False, "name": "Route Brazil"})
    assert r.status_code == 200, r.content
    assert (r.json()["is_active"], r.json()["name"]) == (False, "Route Brazil")

    assert api.delete(f"{RULES}/{rule_id}").status_code == 204
    assert api.get(f"{RULES}/{rule_id}").status_code == 404
    assert [i["id"] for i in api.get(RULES, deleted="true").json()["items"]] == [rule_id]
    r = api.post(f"{RULES}/{rule_id}/restore")
    assert r.status_code == 200 and r.json()["deleted_at"] is None


def test_bad_input_is_a_problem_naming_each_field(api, payload):
    payload["conditions"] = {"all": [{"field": "country", "op": "gt", "value": "B"}]}
    payload["actions"] = [{"type": "assign", "strategy": "round_robin"}]
    r = api.post(RULES, payload)
    assert r.status_code == 422
    assert r["Content-Type"] == "application/problem+json"
    fields = {e["field"]: e["message"] for e in r.json()["errors"]}
    assert set(fields) == {"conditions.all[0].op", "actions[0].team_id"}
    assert Rule.objects.count() == 0


def test_unknown_keys_and_nulls_are_refused(api, payload):
    assert api.post(RULES, {**payload, "colour": "red"}).status_code == 422
    rule_id = api.post(RULES, payload).json()["id"]
    assert api.patch(f"{RULES}/{rule_id}", {"name": None}).status_code == 422


def test_list_in_running_order_with_keyset_pages(api, rule_factory):
    made = [rule_factory(name=f"r{i}", group="g") for i in range(5)]
    rule_factory(name="acct", trigger="account.created")
    first = api.get(RULES, limit=3, trigger="contact.created").json()
    assert [i["name"] for i in first["items"]] == ["r0", "r1", "r2"]
    second = api.get(RULES, limit=3, trigger="contact.created", cursor=first["next_cursor"]).json()
    assert [i["name"] for i in second["items"]] == ["r3", "r4"]
    assert second["next_cursor"] is None
    assert len(made) == 5


def test_reorder(api, rule_factory):
    a, b = rule_factory(name="a", group="g"), rule_factory(name="b", group="g")
    r = api.post(f"{RULES}/reorder", {"rule_ids": [b.pk, a.pk]})
    assert r.status_code == 200, r.content
    assert [i["name"] for i in r.json()["items"]] == ["b", "a"]
    r = api.post(f"{RULES}/reorder", {"rule_ids": [b.pk]})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "rule_ids"


def test_runs_newest_first_with_filters(api, rule_factory, contact_factory, deliver):
    rule = rule_factory(
        conditions={"all": [{"field": "country", "op": "eq", "value": "BR"}]},
        actions=[{"type": "add_tag", "tag": "br"}],
    )
    deliver(contact_factory, country="BR", first_name="Ana")
    deliver(contact_factory, country="AR")
    deliver(contact_factory, country="BR", first_name="Bia")
    items = api.get(f"{RULES}/{rule.pk}/runs").json()["items"]
    assert [i["status"] for i in items] == ["matched", "not_matched", "matched"]
    assert items[0]["subject_name"] == "Bia"
    assert items[0]["action_log"][0]["type"] == "add_tag"
    matched = api.get(f"{RULES}/{rule.pk}/runs", status="matched").json()["items"]
    assert len(matched) == 2
    assert api.get(f"{RULES}/{rule.pk}/runs", status="failed").json()["items"] == []
    assert api.get(f"{RULES}/{rule.pk}/runs", status="bogus").status_code == 422
    page = api.get(f"{RULES}/{rule.pk}/runs", limit=2).json()
    rest = api.get(f"{RULES}/{rule.pk}/runs", limit=2, cursor=page["next_cursor"]).json()
    assert len(page["items"]) == 2 and len(rest["items"]) == 1


def test_triggers_list_their_fields(api):
    items = {t["event_type"]: t for t in api.get("/api/v1/automation/triggers").json()["items"]}
    contact = items["contact.created"]
    assert contact["subject_type"] == "contact"
    fields = {f["name"]: f for f in contact["fields"]}
    assert fields["lifecycle_stage"]["kind"] == "choice"
    assert ["customer", "Customer"] in fields["lifecycle_stage"]["choices"]
    assert fields["account.industry"]["settable"] is False
    assert fields["country"]["settable"] is True


# --- access and leaks ------------------------------------------------------------------------


def test_another_workspace_cannot_see_or_touch_our_rules(
    api, other_key, rule_factory, contact_factory, deliver
):
    rule = rule_factory(actions=[{"type": "add_tag", "tag": "x"}])
    deliver(contact_factory)
    for call in (
        lambda: api.get(f"{RULES}/{rule.pk}", key=other_key),
        lambda: api.patch(f"{RULES}/{rule.pk}", {"name": "hacked"}, key=other_key),
        lambda: api.delete(f"{RULES}/{rule.pk}", key=other_key),
        lambda: api.post(f"{RULES}/{rule.pk}/restore", key=other_key),
        lambda: api.get(f"{RULES}/{rule.pk}/runs", key=other_key),
    ):
        r = call()
        assert r.status_code == 404, r.content
        assert r.json()["type"].endswith("/not-found")
    assert api.get(RULES, key=other_key).json()["items"] == []
    assert api.post(f"{RULES}/reorder", {"rule_ids": [rule.pk]}, key=other_key).status_code == 404
    rule.refresh_from_db()
    assert rule.name != "hacked" and rule.deleted_at is None


def test_roles_without_automation_rights(api, make_member, key_for, payload, rule_factory):
    sales = key_for(make_member("rep@acme.test", Role.SALES))
    assert api.get(RULES, key=sales).json()["items"] == []
    assert api.post(RULES, payload, key=sales).status_code == 403
    assert api.get("/api/v1/automation/triggers", key=sales).status_code == 403


# --- query counts ----------------------------------------------------------------------------


def test_rule_list_queries_do_not_grow(api, rule_factory, django_assert_max_num_queries):
    for i in range(30):
        rule_factory(name=f"r{i}", actions=[{"type": "add_tag", "tag": "t"}])
    with django_assert_max_num_queries(5):
        assert len(api.get(RULES, limit=50).json()["items"]) == 30


def test_rule_detail_queries(api, rule_factory, django_assert_max_num_queries):
    rule = rule_factory()
    with django_assert_max_num_queries(5):
        assert api.get(f"{RULES}/{rule.pk}").status_code == 200


def test_run_list_queries_do_not_grow(
    api, workspace, rule_factory, contact_factory, django_assert_max_num_queries
):
    rule = rule_factory()
    RuleRun.objects.bulk_create(
        RuleRun(
            workspace=workspace,
            rule=rule,
            subject_type="contact",
            subject_id=contact_factory().pk,
            status=RunStatus.NOT_MATCHED,
        )
        for _ in range(40)
    )
    with django_assert_max_num_queries(7):
        items = api.get(f"{RULES}/{rule.pk}/runs", limit=50).json()["items"]
    assert len(items) == 40 and all(i["subject_name"] for i in items)
