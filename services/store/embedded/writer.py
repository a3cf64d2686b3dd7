"""Borrowing tantivy's single writer, which another process may be holding.

tantivy allows one `IndexWriter` per index directory, guarded by a lock file. The
server (`veille up`) and a one-off command (`veille import`) must take turns, so the
writer is opened only when something is written, kept while writes keep coming (the
background merges need it), and released after a short idle time.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import tantivy

from services.store.contracts import IndexUnavailable

log = logging.getLogger("veille.store.embedded")

_RETRY_PAUSE = 0.05


class WriterLease:
    """Lends the index writer to one caller at a time, across threads and processes."""

    def __init__(
        self,
        index: tantivy.Index,
        *,
        path: str,
        heap_size: int,
        num_threads: int,
        lock_timeout: float,
        idle_seconds: float,
    ) -> None:
        self._index = index
        self._path = path
        self._heap_size = heap_size
        self._num_threads = num_threads
        self._lock_timeout = lock_timeout
        self._idle_seconds = idle_seconds
        self._lock = threading.Lock()
        self._writer: tantivy.IndexWriter | None = None
        self._last_used = 0.0
        self._timer: threading.Timer | None = None

    @contextmanager
    def hold(self) -> Iterator[tantivy.IndexWriter]:
        """Yields the writer; changes not committed inside the block are rolled back."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            writer = self._writer or self._open()
            self._writer = writer
            try:
                yield writer
            except BaseException:
                self._discard()
                raise
            finally:
                self._last_used = time.monotonic()
                if self._writer is not None:
                    self._schedule_release()

    def release(self) -> None:
        """Lets the merges finish and gives the writer lock back."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            self._release_locked()

    def _open(self) -> tantivy.IndexWriter:
        deadline = time.monotonic() + self._lock_timeout
        while True:
            try:
                return self._index.writer(self._heap_size, self._num_threads)
            except ValueError as error:
                if "LockBusy" not in str(error):
                    raise IndexUnavailable(
                        f"cannot open the index at {self._path} for writing: {error}"
                    ) from error
            if time.monotonic() >= deadline:
                raise IndexUnavailable(
                    f"the index at {self._path} is locked by another writer (another "
                    "`veille` process, such as `veille up` or an import, is writing to it); "
                    f"gave up after {self._lock_timeout:g}s, try again when it is done"
                )
            time.sleep(_RETRY_PAUSE)

    def _discard(self) -> None:
        # After a failed write the pending operations must not reach a later commit.
        writer, self._writer = self._writer, None
        if writer is None:
            return
        try:
            writer.rollback()
            writer.wait_merging_threads()  # drops it now rather than at garbage collection
        except Exception:  # the writer may be unusable; dropping it frees the lock anyway
            log.warning("rolling back the index writer of %s failed", self._path, exc_info=True)

    def _release_locked(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.wait_merging_threads()  # also drops it, which frees the lock file

    def _schedule_release(self) -> None:
        if self._idle_seconds <= 0:
            self._release_locked()
            return
        timer = threading.Timer(self._idle_seconds, self._release_if_idle)
        timer.daemon = True
        self._timer = timer
        timer.start()

    def _release_if_idle(self) -> None:
        try:
            with self._lock:
                if self._writer is None:
                    return
                if time.monotonic() - self._last_used < self._idle_seconds:
                    return  # a write came in meanwhile; it scheduled its own release
                self._timer = None
                self._release_locked()
        except Exception:  # a background thread has nobody to raise to
            log.exception("releasing the index writer of %s failed", self._path)
