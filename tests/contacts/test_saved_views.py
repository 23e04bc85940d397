"""Saved list views: private or shared, validated like the list's own filters, changed only by
their owner (or an admin, for shared ones)."""

from __future__ import annotations

import pytest

from vinculo.contacts import selectors, services
from vinculo.core.exceptions import NotFound, PermissionDenied, ValidationFailed
from vinculo.core.models import SavedView, User, Workspace
from vinculo.core.roles import Role
from vinculo.core.tenancy import workspace_scope


def _create(workspace: Workspace, actor: User, **kwargs) -> SavedView:
    kwargs.setdefault("object_type", "contact")
    kwargs.setdefault("name", "Leads")
    return services.savedview_create(workspace=workspace, actor=actor, **kwargs)


def test_private_views_are_their_owners_and_shared_ones_everyones(
    workspace: Workspace, admin: User, make_member
) -> None:
    seller = make_member("seller@acme.test", Role.SALES)
    private = _create(workspace, admin, name="Mine", query={"lifecycle_stage": "lead"})
    shared = _create(workspace, admin, name="Team", shared=True, columns=["name", "email"])
    _create(workspace, admin, name="Accounts", object_type="account")
    assert [
        v.name
        for v in selectors.savedview_list(workspace=workspace, viewer=admin, object_type="contact")
    ] == ["Mine", "Team"]
    assert [
        v.pk
        for v in selectors.savedview_list(workspace=workspace, viewer=seller, object_type="contact")
    ] == [shared.pk]
    with pytest.raises(NotFound):
        selectors.savedview_get(
            workspace=workspace, viewer=seller, object_type="contact", view_id=private.pk
        )
    # The seller sees the shared view but may not change or delete it.
    with pytest.raises(PermissionDenied):
        services.savedview_update(workspace=workspace, actor=seller, view_id=shared.pk, name="x")
    with pytest.raises(PermissionDenied):
        services.savedview_delete(workspace=workspace, actor=seller, view_id=shared.pk)
    with pytest.raises(NotFound):
        services.savedview_delete(workspace=workspace, actor=seller, view_id=private.pk)


def test_view_query_is_checked_like_the_list(workspace: Workspace, admin: User) -> None:
    with pytest.raises(ValidationFailed) as exc:
        _create(workspace, admin, name=" ", query={"lifecycle_stage": "nope", "sort": "email"})
    assert {e.field for e in exc.value.errors} == {
        "name",
        "query.lifecycle_stage",
        "query.sort",
    }
    assert not SavedView.objects.for_workspace(workspace).exists()


def test_update_changes_only_what_is_given(workspace: Workspace, admin: User) -> None:
    view = _create(workspace, admin, query={"q": "ana"}, columns=["name"])
    services.savedview_update(
        workspace=workspace, actor=admin, view_id=view.pk, query={"q": "bia", "sort": "-name"}
    )
    view.refresh_from_db()
    assert view.query == {"q": "bia", "sort": "-name"}
    assert view.columns == ["name"]
    assert view.name == "Leads"


def test_read_only_members_keep_private_views_but_cannot_share(
    workspace: Workspace, make_member
) -> None:
    reader = make_member("reader@acme.test", Role.READ_ONLY)
    assert _create(workspace, reader).shared is False
    with pytest.raises(PermissionDenied):
        _create(workspace, reader, shared=True)


def test_other_workspaces_views_are_not_found(
    workspace: Workspace, admin: User, other_workspace: Workspace, other_admin: User
) -> None:
    with workspace_scope(other_workspace):
        theirs = _create(other_workspace, other_admin, shared=True)
    with pytest.raises(NotFound):
        selectors.savedview_get(
            workspace=workspace, viewer=admin, object_type="contact", view_id=theirs.pk
        )
    with pytest.raises(NotFound):
        services.savedview_delete(workspace=workspace, actor=admin, view_id=theirs.pk)
    assert selectors.savedview_list(workspace=workspace, viewer=admin, object_type="contact") == []
