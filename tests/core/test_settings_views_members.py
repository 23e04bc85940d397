"""Settings: members and their roles, and teams."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from vinculo.core.access import team_user_ids
from vinculo.core.models import Event, Membership, Team, TeamMember, User, Workspace
from vinculo.core.roles import Role
from vinculo.core.services import team_create

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def admin_client(client: Client, admin: User) -> Client:
    client.force_login(admin)
    return client


def _membership(workspace: Workspace, user: User) -> Membership:
    return Membership.objects.for_workspace(workspace).get(user=user)


def _alert(html: str) -> str:
    match = re.search(r'class="alert alert-error" role="alert">(.*?)</p>', html, re.S)
    return match.group(1).strip() if match else ""


# --- members and roles -----------------------------------------------------------------------


def test_the_member_list_shows_everyone_with_role_and_status(admin_client, workspace, make_member):
    make_member("rep@acme.test", Role.SALES)
    gone = make_member("gone@acme.test", Role.SERVICE)
    Membership.objects.for_workspace(workspace).filter(user=gone).update(is_active=False)
    html = admin_client.get(reverse("settings:users")).content.decode()
    assert "rep@acme.test" in html
    assert "gone@acme.test" in html
    assert reverse("settings:member_reactivate", args=[_membership(workspace, gone).pk]) in html


def test_an_admin_changes_a_role(admin_client, workspace, make_member):
    rep = make_member("rep@acme.test", Role.SALES)
    m = _membership(workspace, rep)
    r = admin_client.post(reverse("settings:member_role", args=[m.pk]), {"role": "manager"}, **HTMX)
    assert r.status_code == 200
    m.refresh_from_db()
    assert m.role == Role.MANAGER
    [event] = Event.objects.for_workspace(workspace).filter(type="membership.role_changed")
    assert event.payload == {"user_id": rep.pk, "from": "sales", "to": "manager"}


def test_the_last_admin_keeps_the_admin_role_and_is_told_why(admin_client, workspace, admin):
    m = _membership(workspace, admin)
    r = admin_client.post(reverse("settings:member_role", args=[m.pk]), {"role": "sales"}, **HTMX)
    assert r.status_code == 422
    assert admin.display_name in _alert(r.content.decode())
    m.refresh_from_db()
    assert m.role == Role.ADMIN
    assert not Event.objects.for_workspace(workspace).filter(type="membership.role_changed")


def test_with_a_second_admin_the_first_may_step_down(admin_client, workspace, admin, make_member):
    make_member("second@acme.test", Role.ADMIN)
    m = _membership(workspace, admin)
    r = admin_client.post(reverse("settings:member_role", args=[m.pk]), {"role": "manager"}, **HTMX)
    assert r.status_code == 200
    m.refresh_from_db()
    assert m.role == Role.MANAGER


def test_an_unknown_role_is_refused(admin_client, workspace, make_member):
    m = _membership(workspace, make_member("rep@acme.test", Role.SALES))
    r = admin_client.post(reverse("settings:member_role", args=[m.pk]), {"role": "god"}, **HTMX)
    assert r.status_code == 422
    m.refresh_from_db()
    assert m.role == Role.SALES


def test_deactivate_and_reactivate_a_member(admin_client, client, workspace, make_member):
    rep = make_member("rep@acme.test", Role.SALES)
    m = _membership(workspace, rep)
    r = admin_client.post(reverse("settings:member_deactivate", args=[m.pk]), **HTMX)
    assert r.status_code == 200
    m.refresh_from_db()
    assert not m.is_active
    assert Event.objects.for_workspace(workspace).filter(type="membership.deactivated").exists()
    # The deactivated member no longer reaches the workspace.
    other = Client()
    other.force_login(rep)
    assert other.get(reverse("settings:index")).status_code == 404
    admin_client.post(reverse("settings:member_reactivate", args=[m.pk]), **HTMX)
    m.refresh_from_db()
    assert m.is_active
    assert other.get(reverse("settings:index")).status_code == 302


def test_nobody_deactivates_themself(admin_client, workspace, admin, make_member):
    make_member("second@acme.test", Role.ADMIN)
    m = _membership(workspace, admin)
    r = admin_client.post(reverse("settings:member_deactivate", args=[m.pk]), **HTMX)
    assert r.status_code == 422
    assert _alert(r.content.decode())
    m.refresh_from_db()
    assert m.is_active


def test_members_of_another_workspace_answer_404(admin_client, other_workspace, other_admin):
    foreign = Membership.objects.for_workspace(other_workspace).get(user=other_admin)
    for name in ("member_role", "member_deactivate", "member_reactivate"):
        r = admin_client.post(reverse(f"settings:{name}", args=[foreign.pk]), {"role": "sales"})
        assert r.status_code == 404, name
    foreign.refresh_from_db()
    assert (foreign.role, foreign.is_active) == (Role.ADMIN, True)


def test_managers_see_members_but_change_nothing(client, workspace, make_member):
    boss = make_member("boss@acme.test", Role.MANAGER)
    rep = make_member("rep@acme.test", Role.SALES)
    client.force_login(boss)
    html = client.get(reverse("settings:users")).content.decode()
    assert "rep@acme.test" in html
    assert "data-submit-on-change" not in html
    m = _membership(workspace, rep)
    r = client.post(reverse("settings:member_role", args=[m.pk]), {"role": "admin"}, **HTMX)
    assert r.status_code == 403
    m.refresh_from_db()
    assert m.role == Role.SALES


def test_member_list_queries_do_not_grow(
    admin_client, workspace, make_member, django_assert_max_num_queries
):
    for i in range(30):
        make_member(f"m{i}@acme.test", Role.SALES)
    with django_assert_max_num_queries(12):
        r = admin_client.get(reverse("settings:users"))
    assert r.content.decode().count('id="member-') == 31


# --- teams -----------------------------------------------------------------------------------


def test_a_team_is_created_with_lead_and_members(admin_client, workspace, make_member):
    ana = make_member("ana@acme.test", Role.SALES)
    bia = make_member("bia@acme.test", Role.SALES)
    lead = make_member("lead@acme.test", Role.MANAGER)
    r = admin_client.post(
        reverse("settings:team_new"),
        {"name": "South", "lead": lead.pk, "members": [ana.pk, bia.pk]},
        **HTMX,
    )
    assert r.status_code == 200
    team = Team.objects.for_workspace(workspace).get()
    assert (team.name, team.lead_id) == ("South", lead.pk)
    assert set(team.members.values_list("user_id", flat=True)) == {ana.pk, bia.pk}
    assert f'id="team-{team.pk}"' in r.content.decode()
    assert set(team_user_ids(workspace=workspace, user=ana)) == {ana.pk, bia.pk, lead.pk}
    [event] = Event.objects.for_workspace(workspace).filter(type="team.created")
    assert event.payload["member_ids"] == sorted([ana.pk, bia.pk])


def test_a_team_is_edited_in_place(admin_client, workspace, admin, make_member):
    ana = make_member("ana@acme.test", Role.SALES)
    bia = make_member("bia@acme.test", Role.SALES)
    team = team_create(workspace=workspace, actor=admin, name="South", member_ids=[ana.pk])
    form = admin_client.get(reverse("settings:teams") + f"?edit={team.pk}", **HTMX)
    html = form.content.decode()
    assert reverse("settings:team_edit", args=[team.pk]) in html
    assert re.search(rf'value="{ana.pk}"[^>]*checked', html)
    r = admin_client.post(
        reverse("settings:team_edit", args=[team.pk]),
        {"name": "South-east", "lead": "", "members": [bia.pk]},
        **HTMX,
    )
    assert r.status_code == 200
    team.refresh_from_db()
    assert team.name == "South-east"
    assert list(team.members.values_list("user_id", flat=True)) == [bia.pk]
    [event] = Event.objects.for_workspace(workspace).filter(type="team.updated")
    assert event.payload["changes"]["member_ids"] == [[ana.pk], [bia.pk]]


def test_team_errors_come_back_next_to_the_fields(admin_client, workspace, admin, make_member):
    team_create(workspace=workspace, actor=admin, name="South")
    r = admin_client.post(reverse("settings:team_new"), {"name": "south"}, **HTMX)
    assert r.status_code == 422
    assert 'id="id_name_error"' in r.content.decode()
    r = admin_client.post(reverse("settings:team_new"), {"name": ""}, **HTMX)
    assert r.status_code == 422
    assert Team.objects.for_workspace(workspace).count() == 1
    assert Event.objects.for_workspace(workspace).filter(type="team.created").count() == 1


def test_people_of_another_workspace_cannot_join_a_team(
    admin_client, workspace, other_workspace, other_admin
):
    r = admin_client.post(
        reverse("settings:team_new"),
        {"name": "Spies", "lead": other_admin.pk, "members": [other_admin.pk]},
        **HTMX,
    )
    assert r.status_code == 422
    html = r.content.decode()
    assert 'id="id_lead_error"' in html
    assert 'id="id_members_error"' in html
    assert not Team.objects.for_workspace(workspace).exists()


def test_a_team_is_deleted(admin_client, workspace, admin, make_member):
    ana = make_member("ana@acme.test", Role.SALES)
    team = team_create(workspace=workspace, actor=admin, name="South", member_ids=[ana.pk])
    r = admin_client.post(reverse("settings:team_delete", args=[team.pk]), **HTMX)
    assert r.status_code == 200
    assert not Team.objects.for_workspace(workspace).exists()
    assert not TeamMember.objects.for_workspace(workspace).exists()
    assert _membership(workspace, ana).is_active
    assert Event.objects.for_workspace(workspace).filter(type="team.deleted").exists()


def test_another_workspaces_team_answers_404(admin_client, other_workspace, other_admin):
    foreign = team_create(workspace=other_workspace, actor=other_admin, name="Theirs")
    assert admin_client.get(reverse("settings:teams") + f"?edit={foreign.pk}").status_code == 404
    for name in ("team_edit", "team_delete"):
        r = admin_client.post(reverse(f"settings:{name}", args=[foreign.pk]), {"name": "Mine"})
        assert r.status_code == 404, name
    assert Team.objects.for_workspace(other_workspace).get().name == "Theirs"


def test_team_list_queries_do_not_grow(
    admin_client, workspace, admin, make_member, django_assert_max_num_queries
):
    people = [make_member(f"p{i}@acme.test", Role.SALES) for i in range(12)]
    for t in range(15):
        team_create(
            workspace=workspace,
            actor=admin,
            name=f"Team {t}",
            lead_id=people[t % 12].pk,
            member_ids=[p.pk for p in people[t % 5 : t % 5 + 4]],
        )
    with django_assert_max_num_queries(13):
        r = admin_client.get(reverse("settings:teams"))
    assert r.content.decode().count('id="team-') == 15


def test_a_deactivated_member_is_not_offered_for_teams(admin_client, workspace, make_member):
    gone = make_member("gone@acme.test", Role.SALES)
    Membership.objects.for_workspace(workspace).filter(user=gone).update(is_active=False)
    html = admin_client.get(reverse("settings:teams")).content.decode()
    assert f'value="{gone.pk}"' not in html
