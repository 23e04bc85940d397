"""Reads of notifications: each user sees only their own."""

from __future__ import annotations

from typing import TYPE_CHECKING

from vinculo.collab.models import Notification
from vinculo.core.exceptions import NotFound
from vinculo.core.pagination import Page, keyset_page

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from vinculo.core.models import User, Workspace

# The bell shows a number up to this and "99+" beyond: counting further costs time for nothing.
UNREAD_COUNT_CAP = 99


def _mine(*, workspace: Workspace, viewer: User) -> QuerySet[Notification]:
    return Notification.objects.for_workspace(workspace).filter(user=viewer)


def notification_unread_count(*, workspace: Workspace, viewer: User) -> int:
    """Unread notifications of the viewer, counted up to UNREAD_COUNT_CAP + 1."""
    unread = _mine(workspace=workspace, viewer=viewer).filter(read_at__isnull=True)
    return unread[: UNREAD_COUNT_CAP + 1].count()


def notification_latest(
    *, workspace: Workspace, viewer: User, limit: int = 8
) -> list[Notification]:
    """The viewer's newest notifications, read or not, newest first."""
    qs = _mine(workspace=workspace, viewer=viewer).order_by("-created_at", "-id")
    return list(qs[:limit])


def notification_list(
    *, workspace: Workspace, viewer: User, after: str | None = None, limit: int = 30
) -> Page[Notification]:
    """Every notification of the viewer, newest first, one keyset page at a time."""
    return keyset_page(
        _mine(workspace=workspace, viewer=viewer),
        order=["-created_at", "-id"],
        after=after,
        limit=limit,
    )


def notification_get(*, workspace: Workspace, viewer: User, notification_id: int) -> Notification:
    found = _mine(workspace=workspace, viewer=viewer).filter(pk=notification_id).first()
    if found is None:
        raise NotFound(f"There is no notification {notification_id}.")
    return found
