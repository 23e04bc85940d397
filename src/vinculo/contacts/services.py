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
from vinculo.contacts.validation import MAX_ID, CleanedInput, account_validate, contact_validate
from vinculo.contacts.validation import _owner as validate_owner
from vinculo.contacts.validation import _tags as validate_tag_names
from vinculo.core.access import can, require, visible
from vinculo.core.custom_fields import CF_PARAM_PREFIX
from vinculo.core.events import record_event, record_events_bulk
from vinculo.core.exceptions import (
    ApplicationError,
    ErrorCollector,
    FieldError,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from vinculo.core.models import Event, SavedView, Tag, User, Workspace
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


def _soft_delete(
    model: type[R],
    *,
    workspace: Workspace,
    actor: User | None,
    module: str,
    record_id: int,
) -> None:
    """What deleting a contact or an account shares: rights, the mark, the event."""
    require(workspace=workspace, user=actor, module=module, right=Right.DELETE)
    with transaction.atomic():
        record = _get_for_write(
            model, workspace=workspace, actor=actor, module=module, record_id=record_id
        )
        record.deleted_at = timezone.now()
        record.save(update_fields=["deleted_at"])
        record_event(
            workspace=workspace,
            actor=actor,
            type=f"{model._meta.model_name}.deleted",
            subject=record,
            payload={"name": _record_name(record)},
        )


def _restore(
    model: type[R],
    *,
    workspace: Workspace,
    actor: User | None,
    module: str,
    record_id: int,
) -> R:
    """What restoring a contact or an account shares: rights, the deadline, the event."""
    require(workspace=workspace, user=actor, module=module, right=Right.DELETE)
    with transaction.atomic():
        record = _get_for_write(
            model,
            workspace=workspace,
            actor=actor,
            module=module,
            record_id=record_id,
            deleted=None,
        )
        if record.deleted_at is not None:
            if _restore_deadline_passed(record.deleted_at, timezone.now()):
                raise RestoreExpired(_restore_expired_message(record.deleted_at))
            record.deleted_at = None
            record.save(update_fields=["deleted_at"])
            record_event(
                workspace=workspace,
                actor=actor,
                type=f"{model._meta.model_name}.restored",
                subject=record,
                payload={"name": _record_name(record)},
            )
    _load_for_output([record], workspace, with_account=model is Contact)
    return record


def contact_delete(*, workspace: Workspace, actor: User | None, contact_id: int) -> None:
    """Soft-delete a contact: it leaves every list and can be restored for
    SOFT_DELETE_RETENTION_DAYS, then `records_purge_expired` removes it. Records
    `contact.deleted`."""
    _soft_delete(Contact, workspace=workspace, actor=actor, module="contacts", record_id=contact_id)


def contact_restore(*, workspace: Workspace, actor: User | None, contact_id: int) -> Contact:
    """Bring back a soft-deleted contact within the retention period. Records
    `contact.restored`; a contact that is not deleted is returned unchanged. Raises
    RestoreExpired after the period, NotFound when there is no such contact."""
    return _restore(
        Contact, workspace=workspace, actor=actor, module="contacts", record_id=contact_id
    )


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
    _soft_delete(Account, workspace=workspace, actor=actor, module="accounts", record_id=account_id)


def account_restore(*, workspace: Workspace, actor: User | None, account_id: int) -> Account:
    """Bring back a soft-deleted account within the retention period. Records
    `account.restored`; an account that is not deleted is returned unchanged. Raises
    RestoreExpired after the period, NotFound when there is no such account."""
    return _restore(
        Account, workspace=workspace, actor=actor, module="accounts", record_id=account_id
    )


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


# --- pages: tags in place, bulk actions, saved views --------------------------------------------
# The list and record pages of the web app change records through these. Bulk actions take ids
# as the page sent them: ids the actor cannot see (another workspace's, someone else's under an
# own/team scope, deleted ones) are skipped exactly like ids that do not exist.

BULK_MAX = 500
SAVED_VIEW_MODULES = {"contact": "contacts", "account": "accounts"}
SAVED_VIEW_MAX_COLUMNS = 40


def contact_tag_add(
    *, workspace: Workspace, actor: User | None, contact_id: int, name: str
) -> Contact:
    """Add one tag (by name, created when missing) to a contact. Same effects as
    `contact_update`; adding a tag it has already changes nothing."""
    with transaction.atomic():
        current = _current_tag_names(workspace, ContactTag, "contact", contact_id)
        return contact_update(
            workspace=workspace,
            actor=actor,
            contact_id=contact_id,
            data={"tags": [*current, name]},
        )


def contact_tag_remove(
    *, workspace: Workspace, actor: User | None, contact_id: int, name: str
) -> Contact:
    """Take one tag (by name, any case) off a contact. Same effects as `contact_update`."""
    with transaction.atomic():
        current = _current_tag_names(workspace, ContactTag, "contact", contact_id)
        kept = [t for t in current if t.casefold() != name.strip().casefold()]
        return contact_update(
            workspace=workspace, actor=actor, contact_id=contact_id, data={"tags": kept}
        )


def account_tag_add(
    *, workspace: Workspace, actor: User | None, account_id: int, name: str
) -> Account:
    """Add one tag (by name, created when missing) to an account. Same effects as
    `account_update`."""
    with transaction.atomic():
        current = _current_tag_names(workspace, AccountTag, "account", account_id)
        return account_update(
            workspace=workspace,
            actor=actor,
            account_id=account_id,
            data={"tags": [*current, name]},
        )


def account_tag_remove(
    *, workspace: Workspace, actor: User | None, account_id: int, name: str
) -> Account:
    """Take one tag (by name, any case) off an account. Same effects as `account_update`."""
    with transaction.atomic():
        current = _current_tag_names(workspace, AccountTag, "account", account_id)
        kept = [t for t in current if t.casefold() != name.strip().casefold()]
        return account_update(
            workspace=workspace, actor=actor, account_id=account_id, data={"tags": kept}
        )


def _current_tag_names(
    workspace: Workspace, link_model: Any, link_field: str, record_id: int
) -> list[str]:
    return list(
        link_model.objects.for_workspace(workspace)
        .filter(**{f"{link_field}_id": record_id}, tag__deleted_at__isnull=True)
        .order_by("tag__name")
        .values_list("tag__name", flat=True)
    )


def _bulk_ids(ids: Iterable[Any]) -> list[int]:
    """The distinct well-formed ids of a selection; a selection larger than BULK_MAX is
    refused as a whole rather than half done."""
    wanted = sorted(
        {i for i in ids if isinstance(i, int) and not isinstance(i, bool) and 0 < i <= MAX_ID}
    )
    if len(wanted) > BULK_MAX:
        raise ValidationFailed(
            [
                FieldError(
                    "ids",
                    "too-many",
                    _("Select at most %(max)d records at a time.") % {"max": BULK_MAX},
                )
            ]
        )
    return wanted


def _bulk_records(
    model: type[R],
    *,
    workspace: Workspace,
    actor: User | None,
    module: str,
    ids: list[int],
    deleted: bool = False,
) -> list[R]:
    """The selected records the actor may see, locked for the transaction, by id."""
    if not ids:
        return []
    qs = visible(
        model.objects.for_workspace(workspace),
        workspace=workspace,
        viewer=actor,
        module=module,
    )
    qs = qs.filter(pk__in=ids, deleted_at__isnull=not deleted)
    return list(qs.select_for_update(of=("self",)).order_by("pk"))


def _bulk_event(
    workspace: Workspace, actor: User | None, label: str, pk: int, kind: str, payload: Any
) -> Event:
    return Event(
        workspace=workspace,
        type=f"{label}.{kind}",
        subject_type=label,
        subject_id=pk,
        actor=actor if actor is not None and actor.pk else None,
        payload=payload,
        occurred_at=timezone.now(),
    )


def _bulk_tag(
    model: type[R],
    link_model: Any,
    *,
    label: str,
    module: str,
    workspace: Workspace,
    actor: User | None,
    ids: Iterable[Any],
    tags: list[str],
) -> list[int]:
    require(workspace=workspace, user=actor, module=module, right=Right.EDIT)
    errors = ErrorCollector()
    names = validate_tag_names(errors, tags)
    if not names and not errors.errors:
        errors.add("tags", "required", _("Enter a tag."))
    errors.raise_if_any()
    wanted = _bulk_ids(ids)
    with transaction.atomic():
        records = _bulk_records(model, workspace=workspace, actor=actor, module=module, ids=wanted)
        if not records:
            return []
        resolved = tags_resolve(workspace=workspace, names=names)
        links = link_model.objects.for_workspace(workspace)
        current: dict[int, set[int]] = {r.pk: set() for r in records}
        before: dict[int, list[str]] = {r.pk: [] for r in records}
        rows = links.filter(**{f"{label}_id__in": list(current)}).values_list(
            f"{label}_id", "tag_id", "tag__name", "tag__deleted_at"
        )
        for record_id, tag_id, tag_name, tag_deleted_at in rows:
            current[record_id].add(tag_id)
            if tag_deleted_at is None:
                before[record_id].append(tag_name)
        new_links: list[Any] = []
        events: list[Event] = []
        changed: list[int] = []
        for record in records:
            added: list[Tag] = [t for t in resolved if t.pk not in current[record.pk]]
            if not added:
                continue
            changed.append(record.pk)
            new_links += [link_model(workspace=workspace, tag=t, **{label: record}) for t in added]
            old: list[str] = sorted(before[record.pk], key=str.casefold)
            new = sorted([*old, *(t.name for t in added)], key=str.casefold)
            events.append(
                _bulk_event(
                    workspace, actor, label, record.pk, "updated", {"changes": {"tags": [old, new]}}
                )
            )
        links.bulk_create(new_links)
        if changed:
            model.objects.for_workspace(workspace).filter(pk__in=changed).update(
                updated_at=timezone.now()
            )
        record_events_bulk(events)
    return changed


def _bulk_assign(
    model: type[R],
    *,
    label: str,
    module: str,
    workspace: Workspace,
    actor: User | None,
    ids: Iterable[Any],
    owner_id: int | None,
) -> list[int]:
    require(workspace=workspace, user=actor, module=module, right=Right.EDIT)
    errors = ErrorCollector()
    owner = validate_owner(errors, owner_id, workspace=workspace) if owner_id is not None else None
    errors.raise_if_any()
    wanted = _bulk_ids(ids)
    with transaction.atomic():
        records = _bulk_records(model, workspace=workspace, actor=actor, module=module, ids=wanted)
        changed = [r for r in records if r.owner_id != owner]
        if not changed:
            return []
        model.objects.for_workspace(workspace).filter(pk__in=[r.pk for r in changed]).update(
            owner_id=owner, updated_at=timezone.now()
        )
        record_events_bulk(
            [
                _bulk_event(
                    workspace,
                    actor,
                    label,
                    r.pk,
                    "updated",
                    {"changes": {"owner_id": [r.owner_id, owner]}},
                )
                for r in changed
            ]
        )
    return [r.pk for r in changed]


def _record_name(record: Any) -> str:
    return str(record.display_name if isinstance(record, Contact) else record.name)


def _bulk_delete(
    model: type[R],
    *,
    label: str,
    module: str,
    workspace: Workspace,
    actor: User | None,
    ids: Iterable[Any],
) -> list[int]:
    require(workspace=workspace, user=actor, module=module, right=Right.DELETE)
    wanted = _bulk_ids(ids)
    with transaction.atomic():
        records = _bulk_records(model, workspace=workspace, actor=actor, module=module, ids=wanted)
        if not records:
            return []
        model.objects.for_workspace(workspace).filter(pk__in=[r.pk for r in records]).update(
            deleted_at=timezone.now()
        )
        record_events_bulk(
            [
                _bulk_event(workspace, actor, label, r.pk, "deleted", {"name": _record_name(r)})
                for r in records
            ]
        )
    return [r.pk for r in records]


def _bulk_restore(
    model: type[R],
    *,
    label: str,
    module: str,
    workspace: Workspace,
    actor: User | None,
    ids: Iterable[Any],
) -> list[int]:
    require(workspace=workspace, user=actor, module=module, right=Right.DELETE)
    wanted = _bulk_ids(ids)
    with transaction.atomic():
        now = timezone.now()
        records = [
            r
            for r in _bulk_records(
                model, workspace=workspace, actor=actor, module=module, ids=wanted, deleted=True
            )
            if r.deleted_at is not None and not _restore_deadline_passed(r.deleted_at, now)
        ]
        if not records:
            return []
        model.objects.for_workspace(workspace).filter(pk__in=[r.pk for r in records]).update(
            deleted_at=None
        )
        record_events_bulk(
            [
                _bulk_event(workspace, actor, label, r.pk, "restored", {"name": _record_name(r)})
                for r in records
            ]
        )
    return [r.pk for r in records]


def contacts_bulk_tag(
    *, workspace: Workspace, actor: User | None, contact_ids: Iterable[Any], tags: list[str]
) -> list[int]:
    """Add the tags (by name, created when missing) to every selected contact the actor may
    see, in one transaction. Records `contact.updated` (changes: tags) for each contact that
    gained a tag and returns their ids. Raises PermissionDenied or ValidationFailed (tags,
    ids)."""
    return _bulk_tag(
        Contact,
        ContactTag,
        label="contact",
        module="contacts",
        workspace=workspace,
        actor=actor,
        ids=contact_ids,
        tags=tags,
    )


def contacts_bulk_assign(
    *, workspace: Workspace, actor: User | None, contact_ids: Iterable[Any], owner_id: int | None
) -> list[int]:
    """Give every selected contact the actor may see to `owner_id` (an active member; None
    leaves them unowned), in one transaction. Records `contact.updated` (changes: owner_id)
    for each contact whose owner changed and returns their ids."""
    return _bulk_assign(
        Contact,
        label="contact",
        module="contacts",
        workspace=workspace,
        actor=actor,
        ids=contact_ids,
        owner_id=owner_id,
    )


def contacts_bulk_delete(
    *, workspace: Workspace, actor: User | None, contact_ids: Iterable[Any]
) -> list[int]:
    """Soft-delete every selected live contact the actor may see, in one transaction
    (restorable like `contact_delete`). Records `contact.deleted` for each; returns their
    ids, which `contacts_bulk_restore` takes to undo."""
    return _bulk_delete(
        Contact,
        label="contact",
        module="contacts",
        workspace=workspace,
        actor=actor,
        ids=contact_ids,
    )


def contacts_bulk_restore(
    *, workspace: Workspace, actor: User | None, contact_ids: Iterable[Any]
) -> list[int]:
    """Bring back the selected soft-deleted contacts still within the retention period, in
    one transaction. Records `contact.restored` for each; returns their ids."""
    return _bulk_restore(
        Contact,
        label="contact",
        module="contacts",
        workspace=workspace,
        actor=actor,
        ids=contact_ids,
    )


def accounts_bulk_tag(
    *, workspace: Workspace, actor: User | None, account_ids: Iterable[Any], tags: list[str]
) -> list[int]:
    """Like `contacts_bulk_tag`, for accounts (`account.updated` events)."""
    return _bulk_tag(
        Account,
        AccountTag,
        label="account",
        module="accounts",
        workspace=workspace,
        actor=actor,
        ids=account_ids,
        tags=tags,
    )


def accounts_bulk_assign(
    *, workspace: Workspace, actor: User | None, account_ids: Iterable[Any], owner_id: int | None
) -> list[int]:
    """Like `contacts_bulk_assign`, for accounts (`account.updated` events)."""
    return _bulk_assign(
        Account,
        label="account",
        module="accounts",
        workspace=workspace,
        actor=actor,
        ids=account_ids,
        owner_id=owner_id,
    )


def accounts_bulk_delete(
    *, workspace: Workspace, actor: User | None, account_ids: Iterable[Any]
) -> list[int]:
    """Like `contacts_bulk_delete`, for accounts (`account.deleted` events); their contacts
    keep the link, as with `account_delete`."""
    return _bulk_delete(
        Account,
        label="account",
        module="accounts",
        workspace=workspace,
        actor=actor,
        ids=account_ids,
    )


def accounts_bulk_restore(
    *, workspace: Workspace, actor: User | None, account_ids: Iterable[Any]
) -> list[int]:
    """Like `contacts_bulk_restore`, for accounts (`account.restored` events)."""
    return _bulk_restore(
        Account,
        label="account",
        module="accounts",
        workspace=workspace,
        actor=actor,
        ids=account_ids,
    )


def _savedview_clean(
    *,
    workspace: Workspace,
    actor: User | None,
    object_type: str,
    name: str | None,
    query: Mapping[str, Any] | None,
    columns: Sequence[Any] | None,
) -> dict[str, Any]:
    """The values to store, or ValidationFailed naming every bad one. The query must be a
    list the page can show: it is checked by the same parser the list uses."""
    from vinculo.contacts import selectors  # the selectors read this module's tag helpers

    errors = ErrorCollector()
    values: dict[str, Any] = {}
    if name is not None:
        text = " ".join(name.split()) if isinstance(name, str) else ""
        if not text:
            errors.add("name", "required", _("Give the view a name."))
        elif len(text) > 120:
            errors.add("name", "too-long", _("Use at most %(max)d characters.") % {"max": 120})
        values["name"] = text
    if query is not None:
        cleaned: dict[str, Any] = {}
        for key, value in query.items():
            items = value if isinstance(value, list) else [value]
            if not isinstance(key, str) or not all(isinstance(v, str) for v in items):
                errors.add("query", "invalid-type", _("A view keeps text filters only."))
                continue
            cleaned[key] = value
        plain = {k: v for k, v in cleaned.items() if not k.startswith(CF_PARAM_PREFIX)}
        custom = [
            (k, v)
            for k, values_ in cleaned.items()
            if k.startswith(CF_PARAM_PREFIX)
            for v in (values_ if isinstance(values_, list) else [values_])
        ]
        parse = selectors.contact_filters if object_type == "contact" else selectors.account_filters
        try:
            parse(workspace=workspace, viewer=actor, params=plain, custom_field_params=custom)
        except ValidationFailed as exc:
            errors.errors += [FieldError(f"query.{e.field}", e.code, e.message) for e in exc.errors]
        values["query"] = cleaned
    if columns is not None:
        if (
            not isinstance(columns, list | tuple)
            or len(columns) > SAVED_VIEW_MAX_COLUMNS
            or not all(isinstance(c, str) and 0 < len(c) <= 70 for c in columns)
        ):
            errors.add("columns", "invalid", _("Choose the columns from the list."))
        else:
            values["columns"] = list(dict.fromkeys(columns))
    errors.raise_if_any()
    return values


def _savedview_module(object_type: str) -> str:
    module = SAVED_VIEW_MODULES.get(object_type)
    if module is None:
        raise ValidationFailed(
            [
                FieldError(
                    "object_type", "invalid-choice", _("Views exist for contacts and accounts.")
                )
            ]
        )
    return module


def savedview_create(
    *,
    workspace: Workspace,
    actor: User,
    object_type: str,
    name: str,
    shared: bool = False,
    query: Mapping[str, Any] | None = None,
    columns: Sequence[str] | None = None,
) -> SavedView:
    """Save a list's filters, sort and columns under a name, private to the actor or shared
    with the workspace. Sharing needs the edit right on the list's module (views others see
    are part of how the workspace works). No event: a view is a way of looking, not a change
    to a customer. Raises PermissionDenied or ValidationFailed (name, query.<param>, columns)."""
    module = _savedview_module(object_type)
    require(workspace=workspace, user=actor, module=module, right=Right.VIEW)
    if shared:
        require(workspace=workspace, user=actor, module=module, right=Right.EDIT)
    values = _savedview_clean(
        workspace=workspace,
        actor=actor,
        object_type=object_type,
        name=name,
        query=query or {},
        columns=columns or [],
    )
    with transaction.atomic():
        return SavedView.objects.for_workspace(workspace).create(
            workspace=workspace, object_type=object_type, owner=actor, shared=shared, **values
        )


def _savedview_for_write(*, workspace: Workspace, actor: User, view_id: int) -> SavedView:
    """A view the actor may change: their own, or a shared one for those who hold the
    workspace's settings. Views the actor cannot see are NotFound."""
    view = (
        SavedView.objects.for_workspace(workspace)
        .select_for_update()
        .filter(Q(owner=actor) | Q(shared=True), pk=view_id if 0 < view_id <= MAX_ID else 0)
        .first()
    )
    if view is None:
        raise NotFound(_("There is no such view."))
    if view.owner_id != actor.pk and not can(
        workspace=workspace, user=actor, module="settings", right=Right.EDIT
    ):
        raise PermissionDenied(_("Only the person who saved this view can change it."))
    return view


def savedview_update(
    *,
    workspace: Workspace,
    actor: User,
    view_id: int,
    name: str | None = None,
    shared: bool | None = None,
    query: Mapping[str, Any] | None = None,
    columns: Sequence[str] | None = None,
) -> SavedView:
    """Change what is given (None leaves it) of a view the actor may change. No event.
    Raises NotFound, PermissionDenied or ValidationFailed."""
    with transaction.atomic():
        view = _savedview_for_write(workspace=workspace, actor=actor, view_id=view_id)
        module = _savedview_module(view.object_type)
        if shared:
            require(workspace=workspace, user=actor, module=module, right=Right.EDIT)
        values = _savedview_clean(
            workspace=workspace,
            actor=actor,
            object_type=view.object_type,
            name=name,
            query=query,
            columns=columns,
        )
        if shared is not None:
            values["shared"] = shared
        for key, value in values.items():
            setattr(view, key, value)
        view.save()
    return view


def savedview_delete(*, workspace: Workspace, actor: User, view_id: int) -> None:
    """Delete a view the actor may change (a hard delete: nothing about a customer is lost).
    No event. Raises NotFound or PermissionDenied."""
    with transaction.atomic():
        _savedview_for_write(workspace=workspace, actor=actor, view_id=view_id).delete()
