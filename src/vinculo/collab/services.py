"""Writes of notifications. A notification belongs to its user: only that user marks it read,
and anyone else asking gets `NotFound`, exactly as for one that does not exist."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from vinculo.collab.models import Notification, NotificationKind
from vinculo.core.exceptions import ErrorCollector, NotFound

if TYPE_CHECKING:
    from vinculo.core.models import User, Workspace

TITLE_MAX = Notification._meta.get_field("title").max_length or 300
URL_MAX = Notification._meta.get_field("url").max_length or 500
BODY_MAX = 2_000


def _clean_url(errors: ErrorCollector, url: str) -> str:
    # Only paths inside the app: the bell's links must never lead somewhere else (an open
    # redirect through `notification_open`), so "//host" and "https://…" are refused.
    url = url.strip()
    if url and (not url.startswith("/") or url.startswith("//") or "\\" in url):
        errors.add("url", "invalid", "Must be a path inside the app, starting with /.")
    elif len(url) > URL_MAX:
        errors.add("url", "too-long", f"At most {URL_MAX} characters.")
    return url


def notification_create(
    *,
    workspace: Workspace,
    actor: User | None,
    user: User,
    kind: str,
    title: str,
    body: str = "",
    url: str = "",
) -> Notification:
    """Put a notification under `user`'s bell. A long title or body is shortened rather than
    refused: a notification is made by the system from someone else's words (a task's title).

    Side effects: none beyond the row (the bell polls for it).
    """
    errors = ErrorCollector()
    if kind not in NotificationKind.values:
        errors.add("kind", "invalid-choice", f"Must be one of: {', '.join(NotificationKind)}.")
    title = " ".join(title.split())
    if not title:
        errors.add("title", "required", "This field is required.")
    url = _clean_url(errors, url)
    errors.raise_if_any()
    if len(title) > TITLE_MAX:
        title = title[: TITLE_MAX - 1] + "…"
    if len(body) > BODY_MAX:
        body = body[: BODY_MAX - 1] + "…"
    return Notification.objects.for_workspace(workspace).create(
        workspace=workspace, user=user, kind=kind, title=title, body=body, url=url
    )


def notification_mark_read(
    *, workspace: Workspace, actor: User, notification_id: int
) -> Notification:
    """Mark one of the actor's notifications read (a no-op if it already is). Raises NotFound
    for anyone else's. Side effects: none."""
    with transaction.atomic():
        notification = (
            Notification.objects.for_workspace(workspace)
            .filter(pk=notification_id, user=actor)
            .select_for_update()
            .first()
        )
        if notification is None:
            raise NotFound(f"There is no notification {notification_id}.")
        if notification.read_at is None:
            notification.read_at = timezone.now()
            notification.save(update_fields=["read_at"])
    return notification


def notification_mark_all_read(*, workspace: Workspace, actor: User) -> int:
    """Mark every unread notification of the actor read; returns how many were. Side effects:
    none."""
    return (
        Notification.objects.for_workspace(workspace)
        .filter(user=actor, read_at__isnull=True)
        .update(read_at=timezone.now())
    )
