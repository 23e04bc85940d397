"""Settings of the worker processes in test_resume.py: a dead worker's import is handed back
within seconds rather than minutes, in small batches, with the helper process on."""

from vinculo.settings import *  # noqa: F403

VINCULO_IMPORT_STALE_SECONDS = 3
VINCULO_IMPORT_RESUME_EVERY_SECONDS = 1
WORKER_HEARTBEAT_SECONDS = 1
VINCULO_IMPORT_BATCH_SIZE = 1000
VINCULO_IMPORT_PARALLEL_FROM = 0
