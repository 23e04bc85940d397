"""Rows read and prepared in a helper process while the importing process writes.

Reading a row and turning its text into validated, ready-to-store values costs about as much
processor time as writing it, and SQLite takes one writer at a time: so on a machine with a
second core a large import runs a helper process that reads the file from the cursor on and
sends prepared batches, a few ahead, to the process that writes them. The helper starts from
scratch ("spawn": a fork of a worker process, which runs other threads, could inherit a lock
held by one of them), sets Django up and never opens the database: everything it needs comes
pickled in a `RowContext`. If it cannot run or dies, the writing process reads and prepares
the rest itself, from the first row it did not receive.

This module imports nothing of Django at the top: a spawned process imports it (to find the
function it runs) before Django is set up.
"""

from __future__ import annotations

import logging
import os
import pickle
import queue
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vinculo.contacts.imports.importers import Importer, PreparedRow, RowContext
    from vinculo.contacts.imports.reading import TableInfo

logger = logging.getLogger(__name__)

# Prepared batches waiting for the writer: enough to keep both processes busy, few enough to
# keep memory bounded.
QUEUE_BATCHES = 3
# How often the writer checks that a silent helper is still alive.
POLL_SECONDS = 5.0
FIRST_BATCH = 1000
_DONE = "done"
_FAILED = "failed"


def raw_batches(
    path: Path, info: TableInfo, *, start: int, size: int
) -> Iterator[list[tuple[int, int, list[str], str | None]]]:
    """The file's data rows from `start` on, as (index, line, cells, problem), in lists that
    grow from FIRST_BATCH to `size`: the writer starts on the first rows at once instead of
    waiting for a whole large batch to be read and prepared."""
    from vinculo.contacts.imports.reading import iter_rows

    batch: list[tuple[int, int, list[str], str | None]] = []
    limit = min(size, FIRST_BATCH)
    for row in iter_rows(path, info, start=start):
        batch.append((row.index, row.line, row.cells, row.problem))
        if len(batch) >= limit:
            yield batch
            batch = []
            limit = min(size, limit * 2)
    if batch:
        yield batch


def _stream(
    settings_module: str,
    payload: bytes,
    path: str,
    info: Any,
    start: int,
    size: int,
    out: Any,
) -> None:
    """The helper process: read, prepare, send; then a last message saying how it ended."""
    import multiprocessing
    import threading

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", settings_module)
    parent = multiprocessing.parent_process()

    def watch() -> None:
        # A writer killed outright (SIGKILL) never reads again, and this process would wait
        # for it for ever (in a full queue, or flushing the queue's pipe at exit).
        while parent is None or parent.is_alive():
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, daemon=True, name="parent-watch").start()

    def send(item: Any) -> None:
        out.put(item)

    try:
        import django

        django.setup()
        from django.utils import translation

        from vinculo.contacts.imports.importers import importer_for, prepare_rows
        from vinculo.core.memory import gc_paused

        ctx = pickle.loads(payload)  # noqa: S301 - pickled by our own parent process
        if ctx.language:
            translation.activate(ctx.language)
        importer = importer_for(ctx.object_type)
        with gc_paused():
            for batch in raw_batches(Path(path), info, start=start, size=size):
                prepared = prepare_rows(importer, ctx, batch)
                send([row.to_compact(with_cells=True) for row in prepared])
        send(_DONE)
    except BaseException as exc:  # reported, then the writer carries on by itself
        send((_FAILED, repr(exc)[:500]))


def prepared_batches(
    importer: Importer,
    ctx: RowContext,
    path: Path,
    info: TableInfo,
    *,
    start: int,
    size: int,
    parallel: bool,
) -> Iterator[list[PreparedRow]]:
    """Prepared batches of the file from data row `start` on, in file order."""
    import multiprocessing

    from vinculo.contacts.imports.importers import PreparedRow, prepare_rows

    if not parallel or "spawn" not in multiprocessing.get_all_start_methods():
        for batch in raw_batches(path, info, start=start, size=size):
            yield prepare_rows(importer, ctx, batch)
        return
    spawn = multiprocessing.get_context("spawn")
    out = spawn.Queue(maxsize=QUEUE_BATCHES)
    helper = spawn.Process(
        target=_stream,
        args=(
            os.environ.get("DJANGO_SETTINGS_MODULE", "vinculo.settings"),
            pickle.dumps(ctx),
            str(path),
            info,
            start,
            size,
            out,
        ),
        daemon=True,
        name="vinculo-import-reader",
    )
    helper.start()
    following = start
    try:
        while True:
            try:
                sent = out.get(timeout=POLL_SECONDS)
            except queue.Empty:
                if helper.is_alive():
                    continue
                logger.warning("the import's helper process died; reading on here")
                break
            if sent == _DONE:
                return
            if isinstance(sent, tuple):
                logger.warning("the import's helper process failed (%s); reading on here", sent[1])
                break
            rows = [PreparedRow.from_compact(item) for item in sent]
            following = rows[-1].index + 1
            yield rows
    finally:
        if helper.is_alive():
            helper.terminate()
        helper.join(5)
        out.close()
    for batch in raw_batches(path, info, start=following, size=size):
        yield prepare_rows(importer, ctx, batch)
