"""The automation pages: the rules list (grouped, switched on and off, reordered, deleted and
restored), the editor with its condition builder and action list, and the run log."""

from __future__ import annotations

import re

import pytest

from vinculo.automation.models import Rule, RuleRun, RunStatus
from vinculo.core.roles import Role

HTMX = {"HTTP_HX_REQUEST": "true"}
LIST = "/automation/"
NEW = "/automation/rules/new"


def text(response) -> str:
    return response.content.decode()


def rule_names(response) -> list[str]:
    return re.findall(r'class="rule-name" href="[^"]+">([^<]+)</a>', text(response))


def test_sidebar_links_the_rules_page(admin_client):
    assert f'href="{LIST}"' in text(admin_client.get("/"))


def test_empty_list_invites_the_first_rule(admin_client):
    r = admin_client.get(LIST)
    assert r.status_code == 200
    assert "No rules yet" in text(r)
    assert f'href="{NEW}"' in text(r)


def test_list_groups_rules_by_trigger_and_group_in_running_order(admin_client, rule_factory):
    rule_factory(name="Second", group="routing", position=1)
    rule_factory(name="First", group="routing", position=0, stop_after_match=True)
    rule_factory(name="Welcome", trigger="account.created")
    r = admin_client.get(LIST)
    assert r.status_code == 200
    html = text(r)
    assert rule_names(r) == ["Welcome", "First", "Second"]
    assert "An account is created" in html and "A contact is created" in html
    assert "Group: routing" in html
    assert "Stops the group when it matches" in html
    assert "data-sortable" in html


def test_toggle_move_delete_and_restore_from_the_list(admin_client, rule_factory):
    a = rule_factory(name="A", group="g")
    b = rule_factory(name="B", group="g")

    r = admin_client.post(f"/automation/rules/{a.pk}/toggle", {"is_active": "false"}, **HTMX)
    assert r.status_code == 200
    assert Rule.objects.get(pk=a.pk).is_active is False
    assert 'aria-checked="false"' in text(r)

    r = admin_client.post(f"/automation/rules/{b.pk}/move", {"direction": "up"}, **HTMX)
    assert rule_names(r) == ["B", "A"]

    r = admin_client.post("/automation/rules/reorder", {"rule_ids": f"{a.pk},{b.pk}"}, **HTMX)
    assert rule_names(r) == ["A", "B"]

    r = admin_client.post(f"/automation/rules/{a.pk}/delete", **HTMX)
    assert rule_names(r) == ["B"]
    assert "Rule “A” deleted" in text(r)
    assert "1 deleted rule" in text(r)
    assert "data-confirm" in text(r)

    r = admin_client.post(f"/automation/rules/{a.pk}/restore")
    assert r.status_code == 302
    assert rule_names(admin_client.get(LIST)) == ["A", "B"]


def editor_post(**extra) -> dict[str, str]:
    data = {
        "name": "Tag Brazil",
        "trigger": "contact.created",
        "schedule": "",
        "group": "",
        "is_active": "on",
        "cond-r-type": "group",
        "cond-r-join": "all",
        "cond-r.0-type": "leaf",
        "cond-r.0-field": "country",
        "cond-r.0-op": "eq",
        "cond-r.0-value": "BR",
        "cond-r.1-type": "group",
        "cond-r.1-join": "any",
        "cond-r.1.0-type": "leaf",
        "cond-r.1.0-field": "lifecycle_stage",
        "cond-r.1.0-op": "in",
        "cond-r.1.1-type": "leaf",
        "cond-r.1.1-field": "job_title",
        "cond-r.1.1-op": "is_not_empty",
        "act-0-type": "add_tag",
        "act-0-tag": "Brasil",
        "act-1-type": "wait",
        "act-1-minutes": "",
        "act-1-hours": "2",
        "act-1-days": "",
    }
    data.update(extra)
    return data


def test_the_editor_saves_the_tree_and_actions(admin_client, admin):
    r = admin_client.get(NEW)
    assert r.status_code == 200
    assert "A contact is created" in text(r)
    post = editor_post()
    r = admin_client.post(NEW, {**post, "cond-r.1.0-value": ["lead", "customer"]})
    assert r.status_code == 302, text(r)
    rule = Rule.objects.get()
    assert rule.conditions == {
        "all": [
            {"field": "country", "op": "eq", "value": "BR"},
            {
                "any": [
                    {"field": "lifecycle_stage", "op": "in", "value": ["lead", "customer"]},
                    {"field": "job_title", "op": "is_not_empty"},
                ]
            },
        ]
    }
    assert rule.actions == [{"type": "add_tag", "tag": "Brasil"}, {"type": "wait", "hours": 2}]
    assert rule.created_by == admin
    # And the editor shows it back as it was saved.
    html = text(admin_client.get(f"/automation/rules/{rule.pk}/"))
    assert 'name="cond-r.1.0-field"' in html
    assert '<option value="customer" selected>' in html
    assert 'value="Brasil"' in html


def test_htmx_save_redirects_with_a_header(admin_client):
    r = admin_client.post(NEW, editor_post(**{"cond-r.1.0-value": "lead"}), **HTMX)
    assert r.status_code == 204
    assert r["HX-Redirect"] == LIST


def test_bad_input_answers_422_with_messages_next_to_the_fields(admin_client):
    r = admin_client.post(
        NEW,
        editor_post(
            name="",
            **{"cond-r.0-op": "gt", "cond-r.1.0-value": "martian", "act-1-hours": ""},
        ),
        **HTMX,
    )
    assert r.status_code == 422
    html = text(r)
    assert "The rule was not saved" in html
    assert "Give the rule a name." in html
    assert "does not apply to this field" in html
    assert "Choose one of:" in html
    assert "Wait at least one minute." in html
    assert Rule.objects.count() == 0
    # Nothing typed is lost.
    assert 'value="Brasil"' in html


@pytest.mark.parametrize(
    ("command", "present", "absent"),
    [
        ("add:r", 'name="cond-r.2-type"', None),
        ("group:r.1", 'name="cond-r.1.2.0-type"', None),
        ("remove:r.0", None, 'value="BR"'),
        ("action-remove:0", None, 'value="Brasil"'),
    ],
)
def test_builder_commands_redraw_the_editor_without_saving(admin_client, command, present, absent):
    r = admin_client.post(NEW, {**editor_post(), "builder": command}, **HTMX)
    assert r.status_code == 200
    html = text(r)
    assert html.lstrip().startswith('<form id="rule-editor"')
    if present:
        assert present in html
    if absent:
        assert absent not in html
    assert Rule.objects.count() == 0


def test_adding_and_reordering_actions(admin_client):
    r = admin_client.post(
        NEW, {**editor_post(), "builder": "action-add", "new_action_type": "notify"}, **HTMX
    )
    html = text(r)
    assert 'name="act-2-type" value="notify"' in html
    assert 'name="act-2-to"' in html
    post = editor_post(**{"builder": "action-up:1"})
    html = text(admin_client.post(NEW, post, **HTMX))
    assert html.index('value="wait"') < html.index('value="add_tag"')


def test_changing_the_trigger_offers_that_records_fields(admin_client):
    r = admin_client.post(
        NEW, {**editor_post(trigger="account.created"), "builder": "refresh"}, **HTMX
    )
    html = text(r)
    assert '<option value="industry">' in html
    assert '<option value="lifecycle_stage">' not in html


def test_run_log_shows_each_run_with_its_record_and_actions(
    admin_client, rule_factory, contact_factory, deliver
):
    rule = rule_factory(
        name="Tagger",
        conditions={"all": [{"field": "country", "op": "eq", "value": "BR"}]},
        actions=[
            {"type": "add_tag", "tag": "br"},
            {"type": "set_field", "field": "country", "value": "ZZ"},
        ],
    )
    contact = deliver(contact_factory, first_name="Rita", country="BR")
    deliver(contact_factory, country="AR")
    r = admin_client.get(f"/automation/rules/{rule.pk}/runs")
    assert r.status_code == 200
    html = text(r)
    assert f'href="/contacts/{contact.pk}/">Rita</a>' in html
    assert "Failed" in html and "Did not match" in html
    assert "Tagged “br”." in html
    assert "country:" in html
    r = admin_client.get(f"/automation/rules/{rule.pk}/runs?status=failed", **HTMX)
    assert text(r).count('<tr id="run-') == 1


def test_run_log_empty_state_and_paging(admin_client, workspace, rule_factory, contact_factory):
    rule = rule_factory()
    assert "No runs yet" in text(admin_client.get(f"/automation/rules/{rule.pk}/runs"))
    who = contact_factory()
    RuleRun.objects.bulk_create(
        RuleRun(
            workspace=workspace,
            rule=rule,
            subject_type="contact",
            subject_id=who.pk,
            status=RunStatus.NOT_MATCHED,
        )
        for _ in range(35)
    )
    html = text(admin_client.get(f"/automation/rules/{rule.pk}/runs"))
    assert html.count('<tr id="run-') == 30
    more = re.search(r'hx-get="([^"]+cursor=[^"]+)"', html).group(1).replace("&amp;", "&")
    rest = admin_client.get(more, **HTMX)
    assert text(rest).count('<tr id="run-') == 5


def test_pages_of_another_workspaces_rule_are_not_found(
    admin_client, other_workspace, rule_factory
):
    theirs = rule_factory(ws=other_workspace, name="Secret")
    for url in (f"/automation/rules/{theirs.pk}/", f"/automation/rules/{theirs.pk}/runs"):
        assert admin_client.get(url).status_code == 404
    assert admin_client.post(f"/automation/rules/{theirs.pk}/delete").status_code == 404
    assert (
        admin_client.post(
            f"/automation/rules/{theirs.pk}/toggle", {"is_active": "false"}
        ).status_code
        == 404
    )
    assert "Secret" not in text(admin_client.get(LIST))
    assert Rule.all_tenants.get(pk=theirs.pk).deleted_at is None


def test_roles_without_automation_rights_are_refused(browser_client, make_member, rule_factory):
    rule = rule_factory()
    client = browser_client(make_member("rep@acme.test", Role.SALES))
    assert client.get(LIST).status_code == 403
    assert client.get(f"/automation/rules/{rule.pk}/").status_code == 403
    assert client.post(f"/automation/rules/{rule.pk}/delete").status_code == 403


def test_marketing_may_edit_but_not_delete(browser_client, make_member, rule_factory):
    rule_factory(name="Shared")
    client = browser_client(make_member("mkt@acme.test", Role.MARKETING))
    html = text(client.get(LIST))
    assert "Shared" in html
    assert "/delete" not in html
    assert "/toggle" in html


def test_list_and_run_log_queries_do_not_grow(
    admin_client, workspace, rule_factory, contact_factory, django_assert_max_num_queries
):
    rules = [rule_factory(name=f"r{i}", group=f"g{i % 3}") for i in range(20)]
    who = [contact_factory() for _ in range(10)]
    RuleRun.objects.bulk_create(
        RuleRun(
            workspace=workspace,
            rule=rules[0],
            subject_type="contact",
            subject_id=c.pk,
            status=RunStatus.MATCHED,
        )
        for c in who * 3
    )
    admin_client.get(LIST)  # warm the session and caches
    with django_assert_max_num_queries(12):
        assert admin_client.get(LIST).status_code == 200
    with django_assert_max_num_queries(12):
        assert admin_client.get(f"/automation/rules/{rules[0].pk}/runs").status_code == 200
    with django_assert_max_num_queries(14):
        assert admin_client.get(f"/automation/rules/{rules[0].pk}/").status_code == 200
