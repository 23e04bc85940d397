"""Nothing of one workspace is readable, writable or linkable from another (DESIGN §3)."""

from __future__ import annotations

import pytest

from vinculo.core.models import Event
from vinculo.timeline import services
from vinculo.timeline.models import Interaction, Note, Task

from .conftest import problem_fields


@pytest.fixture
def ours(workspace, admin, contact, account):
    """One item of each kind in Acme (the workspace of `api`)."""
    return {
        "interactions": services.interaction_create(
            workspace=workspace, actor=admin, channel="email", contact_id=contact.id
        ).id,
        "tasks": services.task_create(
            workspace=workspace, actor=admin, title="Follow up", contact_id=contact.id
        ).id,
        "notes": services.note_create(
            workspace=workspace, actor=admin, body="VIP", account_id=account.id
        ).id,
    }


@pytest.fixture
def theirs(other_workspace, other_admin, foreign_contact, foreign_account):
    """The same in Globex, whose key is `other_key`."""
    return {
        "interactions": services.interaction_create(
            workspace=other_workspace,
            actor=other_admin,
            channel="phone",
            contact_id=foreign_contact.id,
        ).id,
        "tasks": services.task_create(
            workspace=other_workspace,
            actor=other_admin,
            title="Theirs",
            contact_id=foreign_contact.id,
        ).id,
        "notes": services.note_create(
            workspace=other_workspace,
            actor=other_admin,
            body="Theirs",
            account_id=foreign_account.id,
        ).id,
    }


RESOURCES = ["interactions", "tasks", "notes"]


def _assert_not_found(r):
    assert r.status_code == 404, r.content
    assert r.json()["type"].endswith("/not-found")


@pytest.mark.parametrize("resource", RESOURCES)
def test_lists_show_only_the_callers_workspace(api, other_key, ours, theirs, resource):
    mine = api.get(f"/api/v1/{resource}").json()["items"]
    assert [i["id"] for i in mine] == [ours[resource]]
    other = api.get(f"/api/v1/{resource}", key=other_key).json()["items"]
    assert [i["id"] for i in other] == [theirs[resource]]
    # Filtering by another workspace's record finds nothing either.
    assert api.get(f"/api/v1/{resource}", deleted="true", key=other_key).json()["items"] == []


@pytest.mark.parametrize("resource", RESOURCES)
def test_details_of_another_workspace_answer_404(api, other_key, ours, resource):
    pk = ours[resource]
    _assert_not_found(api.get(f"/api/v1/{resource}/{pk}", key=other_key))
    _assert_not_found(api.patch(f"/api/v1/{resource}/{pk}", {}, key=other_key))
    _assert_not_found(api.delete(f"/api/v1/{resource}/{pk}", key=other_key))
    _assert_not_found(api.post(f"/api/v1/{resource}/{pk}/restore", key=other_key))
    # Exactly as for an id that never existed.
    missing = api.get(f"/api/v1/{resource}/987654", key=other_key)
    assert missing.status_code == 404
    assert (
        missing.json()["type"] == api.get(f"/api/v1/{resource}/{pk}", key=other_key).json()["type"]
    )
    assert api.get(f"/api/v1/{resource}/{pk}").status_code == 200


def test_foreign_writes_change_nothing(api, other_key, ours):
    before = {
        "interaction": Interaction.objects.values().get(),
        "task": Task.objects.values().get(),
        "note": Note.objects.values().get(),
    }
    events = Event.objects.count()
    api.patch(f"/api/v1/interactions/{ours['interactions']}", {"subject": "x"}, key=other_key)
    api.patch(f"/api/v1/tasks/{ours['tasks']}", {"title": "x"}, key=other_key)
    api.patch(f"/api/v1/notes/{ours['notes']}", {"body": "x"}, key=other_key)
    _assert_not_found(api.post(f"/api/v1/tasks/{ours['tasks']}/complete", key=other_key))
    _assert_not_found(api.post(f"/api/v1/tasks/{ours['tasks']}/reopen", key=other_key))
    for resource in RESOURCES:
        api.delete(f"/api/v1/{resource}/{ours[resource]}", key=other_key)
    assert Interaction.objects.values().get() == before["interaction"]
    assert Task.objects.values().get() == before["task"]
    assert Note.objects.values().get() == before["note"]
    assert Event.objects.count() == events


def test_timelines_of_another_workspace_answer_404(api, other_key, contact, account, ours):
    _assert_not_found(api.get(f"/api/v1/contacts/{contact.id}/timeline", key=other_key))
    _assert_not_found(api.get(f"/api/v1/accounts/{account.id}/timeline", key=other_key))
    _assert_not_found(api.get("/api/v1/contacts/987654/timeline"))
    assert api.get(f"/api/v1/contacts/{contact.id}/timeline").status_code == 200
    assert api.get(f"/api/v1/accounts/{account.id}/timeline").status_code == 200


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/interactions", {"channel": "email"}),
        ("/api/v1/tasks", {"title": "Call"}),
        ("/api/v1/notes", {"body": "Hello"}),
    ],
)
@pytest.mark.parametrize("link", ["contact_id", "account_id"])
def test_linking_another_workspaces_record_is_refused(
    api, foreign_contact, foreign_account, path, body, link
):
    target = foreign_contact.id if link == "contact_id" else foreign_account.id
    r = api.post(path, {**body, link: target})
    assert r.status_code == 422
    assert problem_fields(r) == {link: "not-found"}
    assert not Interaction.objects.exists()
    assert not Task.objects.exists()
    assert not Note.objects.exists()
    assert not Event.objects.filter(subject_type__in=["interaction", "task", "note"]).exists()


def test_relinking_to_another_workspaces_contact_is_refused(api, ours, foreign_contact, contact):
    for resource in RESOURCES:
        r = api.patch(f"/api/v1/{resource}/{ours[resource]}", {"contact_id": foreign_contact.id})
        assert r.status_code == 422
        assert problem_fields(r) == {"contact_id": "not-found"}
    assert Interaction.objects.get().contact_id == contact.id
    assert Task.objects.get().contact_id == contact.id
    assert Note.objects.get().contact_id is None
