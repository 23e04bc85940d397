"""The background worker: runs tasks from the configured backend, writes a heartbeat that
/healthz reads, and sweeps events whose dispatch was lost (at start and periodically)."""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from datetime import timedelta

from django.conf import settings
from django.core.management import call_command
from django.db import close_old_connections, connection
from django.utils import timezone

from vinculo.core.events import dispatch_pending_events
from vinculo.core.models import WorkerHeartbeat
from vinculo.core.periodic import run_due_jobs

logger = logging.getLogger(__name__)

SWEEP_EVERY = 6  # heartbeats between two sweeps (about a minute)


def worker_is_fresh() -> bool:
    cutoff = timezone.now() - timedelta(seconds=settings.WORKER_STALE_AFTER_SECONDS)
    return WorkerHeartbeat.objects.filter(seen_at__gte=cutoff).exists()


def beat(worker_id: str) -> None:
    WorkerHeartbeat.objects.update_or_create(
        worker_id=worker_id,
        defaults={"seen_at": timezone.now(), "hostname": socket.gethostname(), "pid": os.getpid()},
    )


def _housekeeping(worker_id: str, stop: threading.Event) -> None:
    rounds = 0
    while not stop.is_set():
        try:
            close_old_connections()
            beat(worker_id)
            if rounds % SWEEP_EVERY == 0:
                swept = dispatch_pending_events()
                if swept:
                    logger.info("sweep delivered %d pending event(s)", swept)
            WorkerHeartbeat.objects.filter(seen_at__lt=timezone.now() - timedelta(days=1)).delete()
            run_due_jobs()
        except Exception:
            logger.exception("worker housekeeping failed")
        finally:
            connection.close()
        rounds += 1
        stop.wait(settings.WORKER_HEARTBEAT_SECONDS)


def run_worker(*, interval: float = 0.2) -> None:
    worker_id = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    stop = threading.Event()
    thread = threading.Thread(
        target=_housekeeping, args=(worker_id, stop), daemon=True, name="housekeeping"
    )
    thread.start()
    backend = str(settings.TASKS["default"]["BACKEND"])
    try:
        if backend.startswith("django_tasks_rq"):
            call_command(
                "rqworker", "default", job_class="django_tasks_rq.Job", with_scheduler=True
            )
        else:
            from django_tasks_db.management.commands.db_worker import Worker

            worker = Worker(
                queue_names=["*"],
                interval=interval,
                batch=False,
                backend_name="default",
                startup_delay=False,
                max_tasks=None,
                worker_id=worker_id[:64],
                excluded_queue_names=[],
            )
            worker.configure_signals()
            worker.run()
    finally:
        stop.set()
        WorkerHeartbeat.objects.filter(worker_id=worker_id).delete()
