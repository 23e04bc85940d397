"""Helpers of the dedupe tests: scans run in the foreground, and pairs by their records."""

from __future__ import annotations

import pytest

from vinculo.contacts.dedupe.services import duplicate_scan_run, duplicate_scan_start
from vinculo.contacts.models import DuplicateCandidate, DuplicateScan
from vinculo.core.models import Workspace


@pytest.fixture
def run_scan(workspace: Workspace):
    """Scan a workspace now, as the worker would, and return the finished scan."""

    def run(object_type: str = "contact", ws: Workspace | None = None) -> DuplicateScan:
        scan = duplicate_scan_start(
            workspace=ws or workspace, actor=None, object_type=object_type, background=False
        )
        return duplicate_scan_run(scan_id=scan.pk)

    return run


def pair_of(workspace: Workspace, a: int, b: int, object_type: str = "contact"):
    first, second = sorted((a, b))
    return (
        DuplicateCandidate.objects.for_workspace(workspace)
        .filter(object_type=object_type, first_id=first, second_id=second)
        .first()
    )


def open_pairs(workspace: Workspace, object_type: str = "contact") -> set[tuple[int, int]]:
    return set(
        DuplicateCandidate.objects.for_workspace(workspace)
        .filter(object_type=object_type, status=DuplicateCandidate.Status.OPEN)
        .values_list("first_id", "second_id")
    )
