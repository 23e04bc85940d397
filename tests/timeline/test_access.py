"""Record access inside one workspace: items follow the visibility of what they are linked to."""

from __future__ import annotations

import pytest

from vinculo.core.models import Team, TeamMember
from vinculo.core.roles import Role
from vinculo.core.services import apikey_create
from vinculo.timeline import services
from vinculo.timeline.models import Interaction


@pytest.fixture
def north_rep(workspace, make_member):
    rep = make_member("north@acme.test", role=Role.SALES)
    team = Team.objects.for_workspace(workspace).create(workspace=workspace, name="North")
    TeamMember.objects.for_workspace(workspace).create(workspace=workspace, team=team, user=rep)
    return rep


@pytest.fixture
def north_key(workspace, north_rep):
    return apikey_create(workspace=workspace, user=north_rep)[1]


def test_a_team_member_sees_and_edits_only_items_of_visible_records(
    api, workspace, admin, north_rep, north_key, contact_factory, account_factory
):
    theirs = contact_factory(owner=north_rep)
    not_theirs = contact_factory(owner=admin)
    shared_account = account_factory(owner=None)  # unowned: the team's shared pool
    visible_call = services.interaction_create(
        workspace=workspace, actor=admin, channel="phone", contact_id=theirs.id
    )
    hidden_call = services.interaction_create(
        workspace=workspace, actor=admin, channel="phone", contact_id=not_theirs.id
    )
    pooled_note = services.note_create(
        workspace=workspace, actor=admin, body="pool", account_id=shared_account.id
    )
    hidden_note = services.note_create(
        workspace=workspace, actor=admin, body="hidden", contact_id=not_theirs.id
    )

    listed = api.get("/api/v1/interactions", key=north_key).json()["items"]
    assert [i["id"] for i in listed] == [visible_call.id]
    notes = api.get("/api/v1/notes", key=north_key).json()["items"]
    assert [n["id"] for n in notes] == [pooled_note.id]

    assert api.get(f"/api/v1/interactions/{hidden_call.id}", key=north_key).status_code == 404
    assert api.get(f"/api/v1/notes/{hidden_note.id}", key=north_key).status_code == 404
    r = api.patch(f"/api/v1/interactions/{hidden_call.id}", {"outcome": "x"}, key=north_key)
    assert r.status_code == 404
    assert Interaction.objects.get(pk=hidden_call.id).outcome == ""

    r = api.patch(f"/api/v1/interactions/{visible_call.id}", {"outcome": "Booked"}, key=north_key)
    assert r.status_code == 200, r.content
    assert r.json()["outcome"] == "Booked"
    assert api.delete(f"/api/v1/interactions/{visible_call.id}", key=north_key).status_code == 204


def test_rights_of_the_role_are_enforced(api, workspace, make_member, contact):
    call = services.interaction_create(
        workspace=workspace, actor=None, channel="email", contact_id=contact.id
    )
    marketer = make_member("mkt@acme.test", role=Role.MARKETING)
    key = apikey_create(workspace=workspace, user=marketer)[1]
    # Marketing may log and edit but not delete.
    assert (
        api.patch(f"/api/v1/interactions/{call.id}", {"subject": "x"}, key=key).status_code == 200
    )
    r = api.delete(f"/api/v1/interactions/{call.id}", key=key)
    assert r.status_code == 403
    assert r.json()["type"].endswith("/forbidden")
    assert Interaction.objects.get(pk=call.id).deleted_at is None


def test_system_writes_have_no_author(workspace, contact):
    call = services.interaction_create(
        workspace=workspace, actor=None, channel="web", contact_id=contact.id
    )
    assert call.author is None
