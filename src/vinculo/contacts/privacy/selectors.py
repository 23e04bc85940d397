"""Reads of privacy: a person's consent log and the state derived from it, and what the
privacy panel of a record page shows. Record access applies: a viewer reads the consent of the
contacts they can see (soft-deleted ones too: their data is still held)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import NamedTuple

from django.utils.translation import gettext as _

from vinculo.contacts.models import ConsentEntry, Contact
from vinculo.contacts.privacy.services import CONSENT_PURPOSES, purpose_label
from vinculo.contacts.validation import MAX_ID
from vinculo.core.access import can, visible
from vinculo.core.exceptions import ErrorCollector, NotFound
from vinculo.core.models import Event, User, Workspace
from vinculo.core.pagination import Page, keyset_page
from vinculo.core.roles import Right

# The panel lists this many entries of the log; the export holds them all.
PANEL_LOG_LIMIT = 100


class ConsentState(NamedTuple):
    """The current state of one purpose: its latest entry decides. `since` is when the state
    began: the first entry of the unbroken run of grants (or withdrawals) that ends with the
    latest one, so re-confirming a consent does not move it."""

    purpose: str
    granted: bool
    since: dt.datetime
    entry: ConsentEntry

    @property
    def label(self) -> str:
        return purpose_label(self.purpose)


def _contact(*, workspace: Workspace, viewer: User | None, contact_id: int) -> Contact:
    pk = contact_id if 0 < contact_id <= MAX_ID else 0
    contact = (
        visible(
            Contact.objects.for_workspace(workspace),
            workspace=workspace,
            viewer=viewer,
            module="contacts",
        )
        .filter(pk=pk)
        .first()
    )
    if contact is None:
        raise NotFound(_("There is no such contact."))
    return contact


def _entries(workspace: Workspace, contact: Contact) -> list[ConsentEntry]:
    """The whole log of a person, oldest first. A person's log is short (a few entries per
    purpose), so it is read whole rather than paged."""
    return list(
        ConsentEntry.objects.for_workspace(workspace)
        .filter(contact_id=contact.pk)
        .select_related("actor")
        .order_by("recorded_at", "id")
    )


def _purpose_order(purpose: str) -> tuple[int, str]:
    known = list(CONSENT_PURPOSES)
    return (known.index(purpose), "") if purpose in known else (len(known), purpose)


def _states(entries: list[ConsentEntry]) -> list[ConsentState]:
    current: dict[str, ConsentState] = {}
    for entry in entries:
        previous = current.get(entry.purpose)
        since = (
            previous.since
            if previous is not None and previous.granted == entry.granted
            else entry.recorded_at
        )
        current[entry.purpose] = ConsentState(entry.purpose, entry.granted, since, entry)
    return sorted(current.values(), key=lambda s: _purpose_order(s.purpose))


def consent_state(
    *, workspace: Workspace, viewer: User | None, contact_id: int
) -> list[ConsentState]:
    """The current consent of a person for each purpose that has entries, derived from the
    log (known purposes first, in their usual order). NotFound for a contact the viewer
    cannot see. Two queries."""
    contact = _contact(workspace=workspace, viewer=viewer, contact_id=contact_id)
    return _states(_entries(workspace, contact))


def consent_log(
    *,
    workspace: Workspace,
    viewer: User | None,
    contact_id: int,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[ConsentEntry]:
    """The full consent log of a person, newest first, one keyset page at a time."""
    contact = _contact(workspace=workspace, viewer=viewer, contact_id=contact_id)
    qs = (
        ConsentEntry.objects.for_workspace(workspace)
        .filter(contact_id=contact.pk)
        .select_related("actor")
    )
    return keyset_page(qs, order=["-recorded_at", "-id"], after=cursor, limit=limit)


@dataclass(frozen=True)
class PurposeRow:
    """A line of the panel's consent table: a known purpose without entries has no state."""

    purpose: str
    label: str
    state: ConsentState | None


@dataclass(frozen=True)
class LogRow:
    entry: ConsentEntry
    label: str


@dataclass(frozen=True)
class PrivacyPanel:
    contact: Contact
    rows: list[PurposeRow]
    log: list[LogRow]
    log_total: int
    can_record: bool
    can_export: bool
    can_erase: bool
    erasure: Event | None = None
    purposes: list[tuple[str, str]] = field(default_factory=list)


def privacy_panel(*, workspace: Workspace, viewer: User | None, contact_id: int) -> PrivacyPanel:
    """What a contact page's privacy panel shows: the state of every known purpose (and of
    any other purpose with entries), the newest part of the log, what the viewer may do there
    (record consent: edit right on contacts, on a live record; export: privacy view right;
    erase: privacy delete right), and for an erased person the erasure's event. Three queries
    (four for an erased person, shown to those holding privacy rights)."""
    contact = _contact(workspace=workspace, viewer=viewer, contact_id=contact_id)
    entries = _entries(workspace, contact)
    states = {s.purpose: s for s in _states(entries)}
    rows = [PurposeRow(p, str(label), states.pop(p, None)) for p, label in CONSENT_PURPOSES.items()]
    rows += [PurposeRow(s.purpose, s.label, s) for s in states.values()]

    def allowed(module: str, right: Right) -> bool:
        return viewer is None or can(workspace=workspace, user=viewer, module=module, right=right)

    live = contact.deleted_at is None and contact.erased_at is None
    can_export = allowed("privacy", Right.VIEW)
    erasure = None
    if contact.erased_at is not None and can_export:
        erasure = (
            Event.objects.for_workspace(workspace)
            .filter(subject_type="contact", subject_id=contact.pk, type="contact.erased")
            .select_related("actor")
            .order_by("-occurred_at", "-id")
            .first()
        )
    return PrivacyPanel(
        contact=contact,
        rows=rows,
        log=[LogRow(e, purpose_label(e.purpose)) for e in entries[::-1][:PANEL_LOG_LIMIT]],
        log_total=len(entries),
        can_record=live and allowed("contacts", Right.EDIT),
        can_export=can_export,
        can_erase=contact.erased_at is None and allowed("privacy", Right.DELETE),
        erasure=erasure,
        purposes=[(p, str(label)) for p, label in CONSENT_PURPOSES.items()],
    )


def privacy_contact_find(*, workspace: Workspace, viewer: User | None, ref: str) -> Contact:
    """A contact by id or by primary email (for the command line), soft-deleted ones
    included. NotFound when none matches; ValidationFailed (field `contact`) when the text is
    neither, or several contacts share the email."""
    text = (ref or "").strip()
    qs = visible(
        Contact.objects.for_workspace(workspace),
        workspace=workspace,
        viewer=viewer,
        module="contacts",
    )
    errors = ErrorCollector()
    if text.isdigit() and 0 < len(text) < 19:
        found = list(qs.filter(pk=int(text))[:1])
    elif "@" in text:
        found = list(qs.filter(email=text.lower()).order_by("id")[:10])
    else:
        errors.add("contact", "invalid", _("Give the contact's id or email."))
        errors.raise_if_any()
        found = []
    if not found:
        raise NotFound(_("There is no such contact."))
    if len(found) > 1:
        errors.add(
            "contact",
            "ambiguous",
            _("Several contacts have this email (ids %(ids)s); give the id instead.")
            % {"ids": ", ".join(str(c.pk) for c in found)},
        )
        errors.raise_if_any()
    return found[0]
