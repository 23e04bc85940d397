"""`vinculo privacy …`: record consent, export a person's data, erase it. Imports nothing of
Django until a command runs.

    vinculo privacy consent --workspace SLUG --contact ID|EMAIL --purpose P --grant|--withdraw
                            --wording TEXT [--source staff]
    vinculo privacy export  --workspace SLUG --contact ID|EMAIL --output FILE.zip
    vinculo privacy erase   --workspace SLUG --contact ID|EMAIL --reason TEXT [--yes]

Each takes `--actor EMAIL` to act as a member of the workspace (their rights apply and the
audit trail names them); without it the command acts as the system.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vinculo.contacts.models import Contact
    from vinculo.core.models import User, Workspace

EXIT_ERROR = 2


class _Refused(Exception):
    """A problem the command reports in one line, exiting with status 2."""


def add_commands(sub: Any) -> None:
    """Add this area's sub-commands to the `vinculo` parser's sub-parsers."""
    privacy = sub.add_parser(
        "privacy", help="LGPD/GDPR: consent log, personal-data export, erasure"
    ).add_subparsers(dest="action", required=True)

    def common(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--workspace", required=True, help="the workspace's slug")
        parser.add_argument("--contact", required=True, help="the contact's id or email")
        parser.add_argument(
            "--actor", default="", help="email of the member acting (default: the system)"
        )

    consent = privacy.add_parser("consent", help="record a consent or its withdrawal")
    common(consent)
    consent.add_argument("--purpose", required=True, help="e.g. email_marketing")
    decision = consent.add_mutually_exclusive_group(required=True)
    decision.add_argument("--grant", dest="granted", action="store_true", default=None)
    decision.add_argument("--withdraw", dest="granted", action="store_false")
    consent.add_argument("--wording", required=True, help="the exact wording shown or said")
    consent.add_argument("--source", default="staff", help="form, import, api, staff, portal")
    consent.set_defaults(func=cmd_consent)

    export = privacy.add_parser("export", help="write everything held about a person to a ZIP")
    common(export)
    export.add_argument("--output", required=True, type=Path, help="the ZIP file to write")
    export.set_defaults(func=cmd_export)

    erase = privacy.add_parser("erase", help="anonymise a person's personal data for good")
    common(erase)
    erase.add_argument("--reason", required=True, help="why (kept in the audit trail)")
    erase.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    erase.set_defaults(func=cmd_erase)


def _run(args: argparse.Namespace, body: Callable[[Any, Any, Any], int]) -> int:
    """Set Django up, find the workspace, actor and contact, run `body`; domain errors become
    one line on standard error and exit status 2."""
    from vinculo.cli import _setup_django

    _setup_django()
    from vinculo.contacts.privacy.selectors import privacy_contact_find
    from vinculo.core.exceptions import ApplicationError, ValidationFailed
    from vinculo.core.tenancy import workspace_scope

    try:
        workspace = _workspace(args.workspace)
        with workspace_scope(workspace):
            actor = _actor(workspace, args.actor)
            contact = privacy_contact_find(workspace=workspace, viewer=actor, ref=args.contact)
            return body(workspace, actor, contact)
    except ValidationFailed as exc:
        for error in exc.errors:
            print(f"error: {error.field}: {error.message}", file=sys.stderr)
    except ApplicationError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
    except _Refused as exc:
        print(f"error: {exc}", file=sys.stderr)
    return EXIT_ERROR


def _workspace(slug: str) -> Workspace:
    from vinculo.core.models import Workspace

    workspace = Workspace.objects.filter(slug=slug).first()
    if workspace is None:
        raise _Refused(f"no workspace with slug '{slug}'")
    return workspace


def _actor(workspace: Workspace, email: str) -> User | None:
    if not email:
        return None
    from vinculo.core.models import Membership

    membership = (
        Membership.objects.for_workspace(workspace)
        .filter(user__email=email.strip().lower(), is_active=True)
        .select_related("user")
        .first()
    )
    if membership is None:
        raise _Refused(f"'{email}' is not an active member of the workspace")
    return membership.user


def cmd_consent(args: argparse.Namespace) -> int:
    def body(workspace: Workspace, actor: User | None, contact: Contact) -> int:
        from vinculo.contacts.privacy.services import consent_record, purpose_label

        entry = consent_record(
            workspace=workspace,
            actor=actor,
            contact_id=contact.pk,
            purpose=args.purpose,
            granted=bool(args.granted),
            wording=args.wording,
            source=args.source,
        )
        state = "given" if entry.granted else "withdrawn"
        print(
            f"consent for {purpose_label(entry.purpose)} {state} by contact #{contact.pk} "
            f"(entry {entry.pk})"
        )
        return 0

    return _run(args, body)


def cmd_export(args: argparse.Namespace) -> int:
    def body(workspace: Workspace, actor: User | None, contact: Contact) -> int:
        from vinculo.contacts.privacy.services import contact_data_export

        data = contact_data_export(workspace=workspace, actor=actor, contact_id=contact.pk)
        path: Path = args.output
        # Personal data: readable by the one who exported it only.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        print(f"wrote {path} ({len(data)} bytes): personal data of contact #{contact.pk}")
        return 0

    return _run(args, body)


def cmd_erase(args: argparse.Namespace) -> int:
    def body(workspace: Workspace, actor: User | None, contact: Contact) -> int:
        from vinculo.contacts.privacy.services import contact_erase

        if not args.yes:
            if not sys.stdin.isatty():
                raise _Refused("erasure cannot be undone; confirm with --yes")
            typed = input(
                f"Erase the personal data of {contact.display_name} (#{contact.pk}) for good? "
                "Type ERASE to confirm: "
            )
            if typed.strip().upper() != "ERASE":
                raise _Refused("not confirmed; nothing was erased")
        report = contact_erase(
            workspace=workspace, actor=actor, contact_id=contact.pk, reason=args.reason
        )
        counts = ", ".join(f"{k} {v}" for k, v in sorted(report.counts.items()))
        print(f"erased the personal data of contact #{contact.pk}: {counts}")
        return 0

    return _run(args, body)
