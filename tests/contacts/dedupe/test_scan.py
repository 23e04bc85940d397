"""The duplicate scan: finds pairs, refreshes them, respects dismissals, forgets what is no
longer alike, resumes after a dead worker, and never crosses workspaces."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.contacts.dedupe.conftest import open_pairs, pair_of
from vinculo.cli import main
from vinculo.contacts.dedupe.services import (
    duplicate_dismiss,
    duplicate_scan_run,
    duplicate_scan_start,
    duplicate_scans_resume,
)
from vinculo.contacts.models import Contact, DuplicateCandidate, DuplicateScan, JobStatus
from vinculo.contacts.services import contact_delete, contact_update
from vinculo.core.exceptions import PermissionDenied, ValidationFailed
from vinculo.core.roles import Role


@pytest.fixture
def people(contact_factory, account_factory):
    acme = account_factory(name="Acme Ltda")
    return {
        "jose": contact_factory(first_name="José", last_name="Núñez", city="São Paulo"),
        "jose2": contact_factory(first_name="jose", last_name="nunez", city="sao paulo"),
        "ana": contact_factory(first_name="Ana", last_name="Souza", emails=["Ana@Example.com"]),
        "ana2": contact_factory(
            first_name="Ana", last_name="S.", emails=["x@y.com", "ana@example.com"]
        ),
        "bia": contact_factory(first_name="Bia", phones=["+55 11 98765-4321"]),
        "bia2": contact_factory(first_name="Beatriz", phones=["(11) 98765-4321"], country="BR"),
        "rui": contact_factory(first_name="Rui", last_name="Barbosa", account_id=acme.pk),
        "rui2": contact_factory(first_name="Ruy", last_name="Barbosa", account_id=acme.pk),
        "alone": contact_factory(first_name="Zé", last_name="Ninguém", city="Natal"),
    }


def test_scan_finds_the_pairs_with_their_reasons(workspace, people, run_scan):
    scan = run_scan()
    assert scan.status == JobStatus.DONE
    assert scan.total_rows == scan.rows_done == len(people)
    assert scan.pairs_found == 4
    p = people
    assert open_pairs(workspace) == {
        tuple(sorted((p[a].pk, p[b].pk)))
        for a, b in (("jose", "jose2"), ("ana", "ana2"), ("bia", "bia2"), ("rui", "rui2"))
    }
    email_pair = pair_of(workspace, p["ana"].pk, p["ana2"].pk)
    assert email_pair.score >= 95
    assert {"kind": "email", "value": "ana@example.com"} in email_pair.reasons
    assert email_pair.scan_id == scan.pk
    name_pair = pair_of(workspace, p["jose"].pk, p["jose2"].pk)
    assert name_pair.reasons == [{"kind": "name", "similarity": 100, "with": "city"}]
    company_pair = pair_of(workspace, p["rui"].pk, p["rui2"].pk)
    assert company_pair.reasons[0]["with"] == "account"


def test_a_second_scan_refreshes_open_pairs_without_duplicating_them(
    workspace, people, run_scan, admin
):
    run_scan()
    pair = pair_of(workspace, people["rui"].pk, people["rui2"].pk)
    before = pair.score
    # Now they share a phone too: the pair's score and reasons are refreshed in place.
    for key in ("rui", "rui2"):
        contact_update(
            workspace=workspace,
            actor=admin,
            contact_id=people[key].pk,
            data={"phones": ["+5511912345678"]},
        )
    second = run_scan()
    assert DuplicateCandidate.objects.for_workspace(workspace).count() == 4
    pair.refresh_from_db()
    assert pair.score > before
    assert {"kind": "phone", "value": "+5511912345678"} in pair.reasons
    assert pair.scan_id == second.pk
    assert second.pairs_found == 4


def test_dismissed_pairs_are_not_reopened(workspace, people, run_scan, admin):
    run_scan()
    pair = pair_of(workspace, people["bia"].pk, people["bia2"].pk)
    duplicate_dismiss(workspace=workspace, actor=admin, candidate_id=pair.pk)
    scan = run_scan()
    pair.refresh_from_db()
    assert pair.status == DuplicateCandidate.Status.DISMISSED
    assert scan.pairs_found == 3
    assert (pair.first_id, pair.second_id) not in open_pairs(workspace)


def test_pairs_no_longer_alike_or_deleted_disappear(workspace, people, run_scan, admin):
    run_scan()
    contact_update(
        workspace=workspace, actor=admin, contact_id=people["jose2"].pk, data={"city": "Recife"}
    )
    contact_delete(workspace=workspace, actor=admin, contact_id=people["ana2"].pk)
    run_scan()
    p = people
    assert open_pairs(workspace) == {
        tuple(sorted((p[a].pk, p[b].pk))) for a, b in (("bia", "bia2"), ("rui", "rui2"))
    }


def test_accounts_scan(workspace, account_factory, run_scan):
    a = account_factory(name="Acme Comércio Ltda", domain="acme.com.br", city="Recife")
    b = account_factory(name="ACME", domain="www.acme.com.br")
    c = account_factory(name="Acme Comercio S.A.", city="recife")
    account_factory(name="Globex", city="Recife")
    scan = run_scan("account")
    assert scan.object_type == "account" and scan.status == JobStatus.DONE
    # b and c share no city, domain or phone: their likeness alone does not pair them.
    assert open_pairs(workspace, "account") == {
        tuple(sorted((a.pk, b.pk))),
        tuple(sorted((a.pk, c.pk))),
    }
    assert open_pairs(workspace, "contact") == set()


def test_scans_never_pair_records_of_two_workspaces(
    workspace, other_workspace, contact_factory, run_scan
):
    ours = contact_factory(first_name="Ana", emails=["ana@example.com"])
    theirs = contact_factory(ws=other_workspace, first_name="Ana", emails=["ana@example.com"])
    twin = contact_factory(ws=other_workspace, first_name="Ana", emails=["ana@example.com"])
    assert run_scan().pairs_found == 0
    assert run_scan(ws=other_workspace).pairs_found == 1
    assert open_pairs(workspace) == set()
    assert DuplicateCandidate.objects.for_workspace(other_workspace).get().first_id == min(
        theirs.pk, twin.pk
    )
    del ours


def test_starting_a_scan_needs_the_edit_right_and_a_known_kind(workspace, make_member):
    reader = make_member("reader@acme.test", Role.READ_ONLY)
    with pytest.raises(PermissionDenied):
        duplicate_scan_start(workspace=workspace, actor=reader, object_type="contact")
    with pytest.raises(ValidationFailed) as exc:
        duplicate_scan_start(workspace=workspace, actor=None, object_type="deal")
    assert exc.value.errors[0].field == "object_type"


def test_a_running_scan_is_reused_and_the_task_runs_after_commit(
    workspace, admin, people, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        scan = duplicate_scan_start(workspace=workspace, actor=admin, object_type="contact")
    scan.refresh_from_db()
    assert scan.status == JobStatus.DONE and scan.pairs_found == 4
    assert scan.created_by == admin
    queued = duplicate_scan_start(workspace=workspace, actor=admin, object_type="contact")
    again = duplicate_scan_start(workspace=workspace, actor=admin, object_type="contact")
    assert again.pk == queued.pk


def test_a_scan_whose_worker_died_runs_again_from_the_start(workspace, people):
    scan = duplicate_scan_start(
        workspace=workspace, actor=None, object_type="contact", background=False
    )
    # A worker took it and died half-way: running, with an old heartbeat and nothing written.
    long_ago = timezone.now() - timedelta(minutes=10)
    DuplicateScan.objects.for_workspace(workspace).filter(pk=scan.pk).update(
        status=JobStatus.RUNNING, started_at=long_ago, heartbeat_at=long_ago, rows_done=4
    )
    # A live worker's scan is left alone…
    fresh = duplicate_scan_start(
        workspace=workspace, actor=None, object_type="contact", background=False
    )
    DuplicateScan.objects.for_workspace(workspace).filter(pk=fresh.pk).update(
        status=JobStatus.RUNNING, heartbeat_at=timezone.now()
    )
    assert duplicate_scan_run(scan_id=fresh.pk).status == JobStatus.RUNNING
    # …the dead one is found by the periodic job and finished, without duplicates.
    assert duplicate_scans_resume() == 1  # immediate backend: enqueued means run
    scan.refresh_from_db()
    assert scan.status == JobStatus.DONE and scan.pairs_found == 4
    assert duplicate_scan_run(scan_id=scan.pk).status == JobStatus.DONE  # done: left alone
    assert DuplicateCandidate.objects.for_workspace(workspace).count() == 4


def test_erased_and_deleted_contacts_are_not_scanned(workspace, contact_factory, run_scan, admin):
    a = contact_factory(first_name="Ana", emails=["ana@example.com"])
    b = contact_factory(first_name="Ana", emails=["ana@example.com"])
    Contact.objects.for_workspace(workspace).filter(pk=b.pk).update(erased_at=timezone.now())
    assert run_scan().pairs_found == 0
    del a, admin


def test_cli_scan_prints_the_pairs_found(workspace, people, capsys):
    assert main(["duplicates", "scan", "--workspace", "acme"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("4 pairs to review among 9 contacts")
    assert "100%" in err
    assert main(["duplicates", "scan", "--workspace", "acme", "--object", "accounts"]) == 0
    assert capsys.readouterr().out.startswith("0 pairs to review among 1 accounts")
    assert main(["duplicates", "scan", "--workspace", "nope"]) == 2
    assert "no workspace" in capsys.readouterr().err
