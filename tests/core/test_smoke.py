from datetime import timedelta

from django.utils import timezone

from vinculo.core.models import WorkerHeartbeat
from vinculo.core.worker import beat


def test_healthz_reports_database_and_stale_worker(client, db):
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"database": "ok", "worker": "stale"}


def test_healthz_reports_a_live_worker_then_a_stale_one(client, db):
    beat("worker-1")
    assert client.get("/healthz").json() == {"database": "ok", "worker": "ok"}
    WorkerHeartbeat.objects.update(seen_at=timezone.now() - timedelta(minutes=5))
    assert client.get("/healthz").json()["worker"] == "stale"
