"""Reads of marketing: web forms and their submissions, with record access applied."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from vinculo.core.access import visible
from vinculo.core.exceptions import NotFound
from vinculo.core.pagination import Page, keyset_page
from vinculo.marketing.models import WebForm, WebFormSubmission

if TYPE_CHECKING:
    from vinculo.core.models import User, Workspace

MODULE = "webforms"
MAX_ID = 2**63 - 1
ORDER = ["-created_at", "-id"]


def _forms(*, workspace: Workspace, viewer: User | None) -> QuerySet[WebForm]:
    return visible(
        WebForm.objects.for_workspace(workspace).filter(deleted_at__isnull=True),
        workspace=workspace,
        viewer=viewer,
        module=MODULE,
        owner_field="created_by",
    )


def webform_list(
    *, workspace: Workspace, viewer: User | None, after: str | None = None, limit: int = 50
) -> Page[WebForm]:
    """The workspace's live forms, newest first."""
    return keyset_page(
        _forms(workspace=workspace, viewer=viewer), order=ORDER, after=after, limit=limit
    )


def webform_get(*, workspace: Workspace, viewer: User | None, form_id: int) -> WebForm:
    pk = form_id if isinstance(form_id, int) and 0 < form_id <= MAX_ID else 0
    form = _forms(workspace=workspace, viewer=viewer).filter(pk=pk).first()
    if form is None:
        raise NotFound(_("There is no such web form."))
    return form


def webform_get_public(public_key: str) -> WebForm | None:
    """The form behind a public URL, any workspace (the key is the only way in), with its
    workspace; None for an unknown or deleted one. Inactive forms are returned: their page
    says they are closed."""
    if not public_key or len(public_key) > 32:
        return None
    return (
        WebForm.all_tenants.select_related("workspace")
        .filter(public_key=public_key, deleted_at__isnull=True)
        .first()
    )


def submission_list(
    *,
    workspace: Workspace,
    viewer: User | None,
    form_id: int,
    after: str | None = None,
    limit: int = 50,
) -> Page[WebFormSubmission]:
    """What visitors sent through a form, newest first, with the lead each one made."""
    form = webform_get(workspace=workspace, viewer=viewer, form_id=form_id)
    qs = (
        WebFormSubmission.objects.for_workspace(workspace)
        .filter(form_id=form.pk)
        .select_related("lead")
    )
    return keyset_page(qs, order=ORDER, after=after, limit=limit)
