from datetime import timedelta

from django.utils import timezone

from vinculo.contacts.models import Contact
from vinculo.core.periodic import run_due_jobs


def test_the_purge_job_is_registered_and_removes_only_expired_records(workspace):
    old = Contact.objects.for_workspace(workspace).create(
        workspace=workspace, first_name="Old", deleted_at=timezone.now() - timedelta(days=31)
    )
    recent = Contact.objects.for_workspace(workspace).create(
        workspace=workspace, first_name="Recent", deleted_at=timezone.now() - timedelta(days=29)
    )
    assert "contacts.purge_expired" in run_due_jobs()
    remaining = set(Contact.objects.for_workspace(workspace).values_list("pk", flat=True))
    assert recent.pk in remaining and old.pk not in remaining
