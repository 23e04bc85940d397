"""Writes of customer records: accounts and contacts, their tags, soft delete and restore.

Every function here is the one way its change happens (API, pages, imports and automations
call the same ones). Each checks the actor's rights, validates every field at once, writes in
one transaction and records the event that describes the change (the audit trail: who, when,
old → new) in that same transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Prefetch, Q, prefetch_related_objects
from django.utils import timezone
from django.utils.translation import gettext as _

from vinculo.contacts.models import Account, AccountTag, Contact, ContactTag
from vinculo.contacts.search import (
    account_search_document,
    account_sort_name,
    contact_search_document,
    contact_sort_name,
)
from vinculo.contacts.validation import CleanedInput, account_validate, contact_validate
from vinculo.core.access import require, visible
from vinculo.core.events import record_event, record_events_bulk
from vinculo.core.exceptions import ApplicationError, NotFound
from vinculo.core.models import Event, Tag, User, Workspace
from vinculo.core.roles import Right

R = TypeVar("R", Contact, Account)

# Fields whose old → new values go into `*.updated` events, by the names the API uses.
CONTACT_TRACKED = (
    "first_name",
    "last_name",
    "emails",
    "phones",
    "job_title",
    "birthdate",
    "language",
    "lifecycle_stage",
    "source",
    "account_id",
    "owner_id",
    "street",
    "city",
    "state",
    "postal_code",
    "country",
    "external_id",
)
ACCOUNT_TRACKED = (
    "name",
    "domain",
    "industry",
    "size",
    "phone",
    "website",
    "owner_id",
    "street",
    "city",
    "state",
    "postal_code",
    "country",
    "external_id",
)
PURGE_BATCH = 500


class RestoreExpired(ApplicationError):
    code = "restore-expired"
    status = 410
    title = "This record can no longer be restored"


# --- shared pieces ------------------------------------------------------------------------------


def active_tags(workspace: Workspace) -> Any:
    """Tags a record shows: live ones of the workspace (a deleted tag keeps its links, so
    restoring it brings them back)."""
    return Tag.objects.for_workspace(workspace).filter(deleted_at__isnull=True).order_by("name")


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return list(value)
    return value


def _snapshot(record: Any, tracked: Sequence[str], tag_names: list[str]) -> dict[str, Any]:
    """JSON-safe values of every tracked field, custom fields one key at a time."""
    snap = {name: _json_value(getattr(record, name)) for name in tracked}
    for key, value in (record.custom_fields or {}).items():
        snap[f"custom_fields.{key}"] = value
    snap["tags"] = sorted(tag_names, key=str.casefold)
    return snap


def _changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    changes: dict[str, list[Any]] = {}
    for name in dict.fromkeys([*before, *after]):
        old, new = before.get(name), after.get(name)
        if old != new:
            changes[name] = [old, new]
    return changes


def _non_empty(snapshot: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in snapshot.items() if v not in (None, "", [], {})}


def tags_resolve(*, workspace: Workspace, names: Iterable[str]) -> list[Tag]:
    """The workspace's tags with these names (case-insensitive), created when missing. A tag
    deleted earlier is brought back rather than duplicated: its name is still taken."""
    wanted = {name.casefold(): name for name in names}
    if not wanted:
        return []
    condition = Q()
    for name in wanted.values():
        condition |= Q(name__iexact=name)
    found: dict[str, Tag] = {}
    for tag in Tag.objects.for_workspace(workspace).filter(condition):
        found.setdefault(tag.name.casefold(), tag)
    for folded, name in wanted.items():
        tag = found.get(folded)
        if tag is None:
            try:
                with transaction.atomic():
                    tag = Tag.objects.for_workspace(workspace).create(
                        workspace=workspace, name=name
                    )
            except IntegrityError:
                # Created by a concurrent write between our read and insert.
                tag = Tag.objects.for_workspace(workspace).get(name__iexact=name)
            found[folded] = tag
        elif tag.deleted_at is not None:
            tag.deleted_at = None
            tag.save(update_fields=["deleted_at"])
    return [found[folded] for folded in wanted]


def _current_tags(workspace: Workspace, link_lookup: str, record: Any) -> list[Tag]:
    return list(active_tags(workspace).filter(**{link_lookup: record}))


def _set_tags(
    *, workspace: Workspace, link_model: Any, owner_field: str, record: Any, tags: list[Tag]
) -> None:
    links = link_model.objects.for_workspace(workspace).filter(**{owner_field: record})
    wanted = {t.pk for t in tags}
    existing = set(links.values_list("tag_id", flat=True))
    # Links to deleted tags stay: they are not shown, and come back if the tag is restored.
    stale = existing - wanted
    if stale:
        live_stale = Tag.objects.for_workspace(workspace).filter(
            pk__in=stale, deleted_at__isnull=True
        )
        links.filter(tag_id__in=live_stale.values("pk")).delete()
    link_model.objects.for_workspace(workspace).bulk_create(
        [
            link_model(workspace=workspace, tag_id=tag_id, **{owner_field: record})
            for tag_id in wanted - existing
        ]
    )


def _load_for_output(records: list[Any], workspace: Workspace, *, with_account: bool) -> None:
    related: list[Any] = ["owner", Prefetch("tags", queryset=active_tags(workspace))]
    if with_account:
        related.append("account")
    prefetch_related_objects(records, *related)


def _get_for_write(
    model: type[R],
    *,
    workspace: Workspace,
    actor: User | None,
    module: str,
    record_id: int,
    deleted: bool | None = False,
) -> R:
    """The record as the actor sees it, locked for the rest of the transaction (PostgreSQL;
    SQLite writers are serialised already). Missing, invisible and other-workspace records
    are the same NotFound, so ids reveal nothing."""
    qs = visible(
        model.objects.for_workspace(workspace),
        workspace=workspace,
        viewer=actor,
        module=module,
    )
    if deleted is not None:
        qs = qs.filter(deleted_at__isnull=not deleted)
    record = qs.select_for_update(of=("self",)).filter(pk=record_id).first()
    if record is None:
        raise NotFound(
            _("There is no such %(kind)s.") % {"kind": model._meta.verbose_name},
            code="not-found",
        )
    return record


def _restore_deadline_passed(deleted_at: dt.datetime, now: dt.datetime) -> bool:
    return deleted_at < now - timedelta(days=settings.SOFT_DELETE_RETENTION_DAYS)


# --- contacts -----------------------------------------------------------------------------------


def _contact_refresh_derived(contact: Contact, *, company: str) -> None:
    contact.email = contact.emails[0] if contact.emails else ""
    contact.phone = contact.phones[0] if contact.phones else ""
    contact.sort_name = contact_sort_name(
        first_name=contact.first_name, last_name=contact.last_name, email=contact.email
    )
    contact.search_document = contact_search_document(
        first_name=contact.first_name,
        last_name=contact.last_name,
        emails=contact.emails,
        phones=contact.phones,
        company=company,
    )


def _contact_company(workspace: Workspace, contact: Contact, cleaned: CleanedInput) -> str:
    if cleaned.account is not None:
        return cleaned.account.name
    if contact.account_id is None:
        return ""
    return (
        Account.objects.for_workspace(workspace)
        .filter(pk=contact.account_id)
        .values_list("name", flat=True)
        .first()
        or ""
    )


def contact_create(*, workspace: Workspace, actor: User | None, data: Mapping[str, Any]) -> Contact:
    """Create a contact from `data` (the fields to set; tags by name, created when missing).

    The owner defaults to the actor. Records `contact.created` with the values set. Raises
    PermissionDenied without the create right, ValidationFailed listing every bad field.
    """
    require(workspace=workspace, user=actor, module="contacts", right=Right.CREATE)
    with transaction.atomic():
        cleaned = contact_validate(workspace=workspace, actor=actor, data=data, instance=None)
        now = timezone.now()
        contact = Contact(workspace=workspace, created_by=actor, created_at=now, updated_at=now)
        for name, value in cleaned.fields.items():
            setattr(contact, name, value)
        _contact_refresh_derived(contact, company=_contact_company(workspace, contact, cleaned))
        contact.save(force_insert=True)
        tags = tags_resolve(workspace=workspace, names=cleaned.tags or [])
        _set_tags(
            workspace=workspace,
            link_model=ContactTag,
            owner_field="contact",
            record=contact,
            tags=tags,
        )
        snapshot = _snapshot(contact, CONTACT_TRACKED, [t.name for t in tags])
        record_event(
            workspace=workspace,
            actor=actor,
            type="contact.created",
            subject=contact,
            payload={"fields": _non_empty(snapshot)},
        )
    _load_for_output([contact], workspace, with_account=True)
    return contact


def contact_update(
    *, workspace: Workspace, actor: User | None, contact_id: int, data: Mapping[str, Any]
) -> Contact:
    """Change the fields in `data` of a live contact the actor can see.

    Records `contact.updated` with {"changes": {field: [old, new]}} when something changed
    (nothing is written otherwise). Raises NotFound, PermissionDenied or ValidationFailed.
    """
    require(workspace=workspace, user=actor, module="contacts", right=Right.EDIT)
    with transaction.atomic():
        contact = _get_for_write(
            Contact, workspace=workspace, actor=actor, module="contacts", record_id=contact_id
        )
        cleaned = contact_validate(workspace=workspace, actor=actor, data=data, instance=contact)
        old_tags = _current_tags(workspace, "contact_links__contact", contact)
        before = _snapshot(contact, CONTACT_TRACKED, [t.name for t in old_tags])
        for name, value in cleaned.fields.items():
            setattr(contact, name, value)
        new_tags = (
            tags_resolve(workspace=workspace, names=cleaned.tags)
            if cleaned.tags is not None
            else old_tags
        )
        after = _snapshot(contact, CONTACT_TRACKED, [t.name for t in new_tags])
        changes = _changes(before, after)
        if changes:
            _contact_refresh_derived(contact, company=_contact_company(workspace, contact, cleaned))
            contact.updated_at = timezone.now()
            contact.save()
            if "tags" in changes:
                _set_tags(
                    workspace=workspace,
                    link_model=ContactTag,
                    owner_field="contact",
                    record=contact,
                    tags=new_tags,
                )
            record_event(
                workspace=workspace,
                actor=actor,
                type="contact.updated",
                subject=contact,
                payload={"changes": changes},
            )
    _load_for_output([contact], workspace, with_account=True)
    return contact


def contact_tags_set(
    *, workspace: Workspace, actor: User | None, contact_id: int, tags: list[str]
) -> Contact:
    """Replace a contact's tags (by name). Same effects as `contact_update`."""
    return contact_update(
        workspace=workspace, actor=actor, contact_id=contact_id, data={"tags": tags}
    )


def contact_delete(*, workspace: Workspace, actor: User | None, contact_id: int) -> None:
    """Soft-delete a contact: it leaves every list and can be restored for
    SOFT_DELETE_RETENTION_DAYS, then `records_purge_expired` removes it. Records
    `contact.deleted`."""
    require(workspace=workspace, user=actor, module="contacts", right=Right.DELETE)
    with transaction.atomic():
        contact = _get_for_write(
            Contact, workspace=workspace, actor=actor, module="contacts", record_id=contact_id
        )
        contact.deleted_at = timezone.now()
        contact.save(update_fields=["deleted_at"])
        record_event(
            workspace=workspace,
            actor=actor,
            type="contact.deleted",
            subject=contact,
            payload={"name": contact.display_name},
        )


def contact_restore(*, workspace: Workspace, actor: User | None, contact_id: int) -> Contact:
    """Bring back a soft-deleted contact within the retention period. Records
    `contact.restored`; a contact that is not deleted is returned unchanged. Raises
    RestoreExpired after the period, NotFound when there is no such contact."""
    require(workspace=workspace, user=actor, module="contacts", right=Right.DELETE)
    with transaction.atomic():
        contact = _get_for_write(
            Contact,
            workspace=workspace,
            actor=actor,
            module="contacts",
            record_id=contact_id,
            deleted=None,
        )
        if contact.deleted_at is not None:
            if _restore_deadline_passed(contact.deleted_at, timezone.now()):
                raise RestoreExpired(_restore_expired_message(contact.deleted_at))
            contact.deleted_at = None
            contact.save(update_fields=["deleted_at"])
            record_event(
                workspace=workspace,
                actor=actor,
                type="contact.restored",
                subject=contact,
                payload={"name": contact.display_name},
            )
    _load_for_output([contact], workspace, with_account=True)
    return contact


def _restore_expired_message(deleted_at: dt.datetime) -> str:
    return _(
        "It was deleted on %(date)s; deleted records can be restored for %(days)d days only."
    ) % {"date": deleted_at.date().isoformat(), "days": settings.SOFT_DELETE_RETENTION_DAYS}


# --- accounts -----------------------------------------------------------------------------------


def _account_refresh_derived(account: Account) -> None:
    account.sort_name = account_sort_name(name=account.name)
    account.search_document = account_search_document(
        name=account.name, domain=account.domain, phone=account.phone
    )


def _contacts_refresh_company(*, workspace: Workspace, account: Account) -> None:
    """The company name is part of each contact's search document; rewrite them in batches."""
    contacts = Contact.objects.for_workspace(workspace).filter(account=account).order_by("pk")
    last = 0
    while True:
        batch = list(
            contacts.filter(pk__gt=last).only(
                "id", "first_name", "last_name", "emails", "phones", "search_document"
            )[:1000]
        )
        if not batch:
            return
        for contact in batch:
            contact.search_document = contact_search_document(
                first_name=contact.first_name,
                last_name=contact.last_name,
                emails=contact.emails,
                phones=contact.phones,
                company=account.name,
            )
        Contact.objects.for_workspace(workspace).bulk_update(batch, ["search_document"])
        last = batch[-1].pk


def account_create(*, workspace: Workspace, actor: User | None, data: Mapping[str, Any]) -> Account:
    """Create an account from `data` (tags by name, created when missing). The owner defaults
    to the actor. Records `account.created`. Raises PermissionDenied or ValidationFailed."""
    require(workspace=workspace, user=actor, module="accounts", right=Right.CREATE)
    with transaction.atomic():
        cleaned = account_validate(workspace=workspace, actor=actor, data=data, instance=None)
        now = timezone.now()
        account = Account(workspace=workspace, created_by=actor, created_at=now, updated_at=now)
        for name, value in cleaned.fields.items():
            setattr(account, name, value)
        _account_refresh_derived(account)
        account.save(force_insert=True)
        tags = tags_resolve(workspace=workspace, names=cleaned.tags or [])
        _set_tags(
            workspace=workspace,
            link_model=AccountTag,
            owner_field="account",
            record=account,
            tags=tags,
        )
        snapshot = _snapshot(account, ACCOUNT_TRACKED, [t.name for t in tags])
        record_event(
            workspace=workspace,
            actor=actor,
            type="account.created",
            subject=account,
            payload={"fields": _non_empty(snapshot)},
        )
    _load_for_output([account], workspace, with_account=False)
    return account


def account_update(
    *, workspace: Workspace, actor: User | None, account_id: int, data: Mapping[str, Any]
) -> Account:
    """Change the fields in `data` of a live account the actor can see. A new name is written
    into its contacts' search documents too. Records `account.updated` with
    {"changes": {field: [old, new]}} when something changed. Raises NotFound,
    PermissionDenied or ValidationFailed."""
    require(workspace=workspace, user=actor, module="accounts", right=Right.EDIT)
    with transaction.atomic():
        account = _get_for_write(
            Account, workspace=workspace, actor=actor, module="accounts", record_id=account_id
        )
        cleaned = account_validate(workspace=workspace, actor=actor, data=data, instance=account)
        old_tags = _current_tags(workspace, "account_links__account", account)
        before = _snapshot(account, ACCOUNT_TRACKED, [t.name for t in old_tags])
        for name, value in cleaned.fields.items():
            setattr(account, name, value)
        new_tags = (
            tags_resolve(workspace=workspace, names=cleaned.tags)
            if cleaned.tags is not None
            else old_tags
        )
        after = _snapshot(account, ACCOUNT_TRACKED, [t.name for t in new_tags])
        changes = _changes(before, after)
        if changes:
            _account_refresh_derived(account)
            account.updated_at = timezone.now()
            account.save()
            if "tags" in changes:
                _set_tags(
                    workspace=workspace,
                    link_model=AccountTag,
                    owner_field="account",
                    record=account,
                    tags=new_tags,
                )
            if "name" in changes:
                _contacts_refresh_company(workspace=workspace, account=account)
            record_event(
                workspace=workspace,
                actor=actor,
                type="account.updated",
                subject=account,
                payload={"changes": changes},
            )
    _load_for_output([account], workspace, with_account=False)
    return account


def account_tags_set(
    *, workspace: Workspace, actor: User | None, account_id: int, tags: list[str]
) -> Account:
    """Replace an account's tags (by name). Same effects as `account_update`."""
    return account_update(
        workspace=workspace, actor=actor, account_id=account_id, data={"tags": tags}
    )


def account_delete(*, workspace: Workspace, actor: User | None, account_id: int) -> None:
    """Soft-delete an account; its contacts keep the link (a restore brings it all back).
    Records `account.deleted`."""
    require(workspace=workspace, user=actor, module="accounts", right=Right.DELETE)
    with transaction.atomic():
        account = _get_for_write(
            Account, workspace=workspace, actor=actor, module="accounts", record_id=account_id
        )
        account.deleted_at = timezone.now()
        account.save(update_fields=["deleted_at"])
        record_event(
            workspace=workspace,
            actor=actor,
            type="account.deleted",
            subject=account,
            payload={"name": account.name},
        )


def account_restore(*, workspace: Workspace, actor: User | None, account_id: int) -> Account:
    """Bring back a soft-deleted account within the retention period. Records
    `account.restored`; an account that is not deleted is returned unchanged. Raises
    RestoreExpired after the period, NotFound when there is no such account."""
    require(workspace=workspace, user=actor, module="accounts", right=Right.DELETE)
    with transaction.atomic():
        account = _get_for_write(
            Account,
            workspace=workspace,
            actor=actor,
            module="accounts",
            record_id=account_id,
            deleted=None,
        )
        if account.deleted_at is not None:
            if _restore_deadline_passed(account.deleted_at, timezone.now()):
                raise RestoreExpired(_restore_expired_message(account.deleted_at))
            account.deleted_at = None
            account.save(update_fields=["deleted_at"])
            record_event(
                workspace=workspace,
                actor=actor,
                type="account.restored",
                subject=account,
                payload={"name": account.name},
            )
    _load_for_output([account], workspace, with_account=False)
    return account


# --- retention ----------------------------------------------------------------------------------


def records_purge_expired(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Hard-delete contacts and accounts soft-deleted longer ago than
    SOFT_DELETE_RETENTION_DAYS, in every workspace, with what cascades from them (tag links,
    timeline items). Records a `<kind>.purged` event per record, so the audit log shows when
    the data was destroyed. Runs in batches, each its own transaction, so it can be stopped
    and run again. Returns how many of each were removed."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.SOFT_DELETE_RETENTION_DAYS)
    removed = {"contacts": 0, "accounts": 0}
    # Contacts first: an expired account's contacts may be live and only lose the link.
    for key, model, label in (("contacts", Contact, "contact"), ("accounts", Account, "account")):
        expired = model.all_tenants.filter(deleted_at__lt=cutoff).order_by("pk")
        while True:
            rows = list(expired.values_list("pk", "workspace_id")[:PURGE_BATCH])
            if not rows:
                break
            with transaction.atomic():
                model.all_tenants.filter(pk__in=[pk for pk, _ws in rows]).delete()
                record_events_bulk(
                    [
                        Event(
                            workspace_id=ws,
                            type=f"{label}.purged",
                            subject_type=label,
                            subject_id=pk,
                            occurred_at=now,
                        )
                        for pk, ws in rows
                    ]
                )
            removed[key] += len(rows)
    return removed
