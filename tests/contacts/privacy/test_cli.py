"""`vinculo privacy consent|export|erase`, run through the command's own parser and functions
against the test database (tests/test_cli.py runs the binary itself for the platform)."""

from __future__ import annotations

import io
import json
import stat
import zipfile
from collections.abc import Iterator

import pytest
from django.utils import translation

from vinculo.cli import main
from vinculo.contacts.models import ConsentEntry, Contact
from vinculo.core.models import Event
from vinculo.core.roles import Role


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    # The command speaks the installation's language (pt-BR by default).
    with translation.override("en"):
        yield


@pytest.fixture
def livia(contact_factory) -> Contact:
    return contact_factory(first_name="Lívia", emails=["livia@example.com"])


def test_consent_by_email_then_withdraw_by_id(workspace, livia, capsys) -> None:
    code = main(
        [
            "privacy",
            "consent",
            "--workspace",
            "acme",
            "--contact",
            "LIVIA@example.com",
            "--purpose",
            "email_marketing",
            "--grant",
            "--wording",
            "Assinou a ficha na feira.",
            "--source",
            "form",
        ]
    )
    assert code == 0
    assert "consent for Email marketing given by contact" in capsys.readouterr().out
    code = main(
        [
            "privacy",
            "consent",
            "--workspace",
            "acme",
            "--contact",
            str(livia.pk),
            "--purpose",
            "email_marketing",
            "--withdraw",
            "--wording",
            "Pediu por carta.",
        ]
    )
    assert code == 0
    entries = ConsentEntry.objects.for_workspace(workspace).order_by("id")
    assert [(e.granted, e.source, e.actor_id) for e in entries] == [
        (True, "form", None),
        (False, "staff", None),
    ]


def test_bad_input_is_one_line_each_and_writes_nothing(workspace, livia, capsys) -> None:
    code = main(
        [
            "privacy",
            "consent",
            "--workspace",
            "acme",
            "--contact",
            str(livia.pk),
            "--purpose",
            "Bad Purpose",
            "--grant",
            "--wording",
            " ",
            "--source",
            "fax",
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "error: purpose:" in err and "error: wording:" in err and "error: source:" in err
    assert not ConsentEntry.objects.for_workspace(workspace).exists()
    args = ["privacy", "export", "--workspace", "nope", "--contact", "1", "--output", "x.zip"]
    assert main(args) == 2
    assert "no workspace with slug 'nope'" in capsys.readouterr().err
    args = [
        "privacy",
        "export",
        "--workspace",
        "acme",
        "--contact",
        "nobody@x.com",
        "--output",
        "x",
    ]
    assert main(args) == 2
    assert "There is no such contact." in capsys.readouterr().err
    args[5] = "Lívia"
    assert main(args) == 2
    assert "error: contact: Give the contact's id or email." in capsys.readouterr().err


def test_export_writes_a_private_zip(workspace, livia, tmp_path, capsys) -> None:
    out = tmp_path / "livia.zip"
    code = main(
        [
            "privacy",
            "export",
            "--workspace",
            "acme",
            "--contact",
            str(livia.pk),
            "--output",
            str(out),
        ]
    )
    assert code == 0
    assert f"wrote {out}" in capsys.readouterr().out
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    with zipfile.ZipFile(io.BytesIO(out.read_bytes())) as archive:
        assert json.loads(archive.read("contact.json"))["emails"] == ["livia@example.com"]
    assert Event.objects.for_workspace(workspace).filter(type="contact.data_exported").count() == 1


def test_erase_needs_a_confirmation(workspace, livia, capsys, monkeypatch) -> None:
    args = ["privacy", "erase", "--workspace", "acme", "--contact", "livia@example.com"]
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert main([*args, "--reason", "Pedido"]) == 2
    assert "confirm with --yes" in capsys.readouterr().err
    assert Contact.objects.for_workspace(workspace).get(pk=livia.pk).erased_at is None

    assert main([*args, "--reason", "Pedido do titular", "--yes"]) == 0
    out = capsys.readouterr().out
    assert f"erased the personal data of contact #{livia.pk}" in out and "contact 1" in out
    erased = Contact.objects.for_workspace(workspace).get(pk=livia.pk)
    assert erased.erased_at is not None and erased.emails == []
    # By id, a second time: refused.
    args[5] = str(livia.pk)
    assert main([*args, "--reason", "De novo", "--yes"]) == 2
    assert "already erased" in capsys.readouterr().err


def test_acting_as_a_member_applies_their_rights(workspace, make_member, livia, capsys) -> None:
    make_member("seller@acme.test", Role.SALES)
    args = ["privacy", "erase", "--workspace", "acme", "--contact", str(livia.pk)]
    assert main([*args, "--reason", "Pedido", "--yes", "--actor", "seller@acme.test"]) == 2
    assert "does not allow" in capsys.readouterr().err
    assert main([*args, "--reason", "Pedido", "--yes", "--actor", "ghost@acme.test"]) == 2
    assert "not an active member" in capsys.readouterr().err
    assert main([*args, "--reason", "Pedido", "--yes", "--actor", "admin@acme.test"]) == 0
    event = Event.objects.for_workspace(workspace).get(type="contact.erased")
    assert event.actor is not None and event.actor.email == "admin@acme.test"
