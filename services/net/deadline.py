"""One wall-clock deadline per fetch, and a way to stop every fetch of a collector at once.

httpx's time-outs bound each socket operation, not the request: a server that sends
its headers one byte at a time never lets a single read time out, and held a fetch
with `timeout_seconds: 20` past 300 s. So the guarded network backend wraps every
stream in a `DeadlineStream`: each connect, TLS handshake, read and write waits at
most until the deadline of the request being made, in slices of `SLICE_SECONDS`
between which it also checks the caller's `CancelToken` (set by a scheduler that is
shutting down), so Ctrl-C stops a collector promptly even mid-fetch.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpcore

SLICE_SECONDS = 0.5

_scope = threading.local()


class FetchCancelled(Exception):
    """The collector is stopping: the fetch was abandoned (not a failure of the source)."""


def current_token() -> threading.Event | None:
    """The cancel event of the scope this thread runs in, if any."""
    token: threading.Event | None = getattr(_scope, "token", None)
    return token


@contextmanager
def cancel_scope(token: threading.Event) -> Iterator[None]:
    """Fetches made by this thread inside the block stop soon after `token` is set."""
    previous = current_token()
    _scope.token = token
    try:
        yield
    finally:
        _scope.token = previous


class Deadline:
    """When the request being made must be over; shared by a transport's streams."""

    def __init__(self) -> None:
        self.at: float | None = None  # time.monotonic() value; None: no deadline
        self.token: threading.Event | None = None

    def start(self, seconds: float) -> None:
        """Starts a new deadline `seconds` from now, for the calling thread's fetch."""
        self.at = time.monotonic() + seconds
        self.token = current_token()

    def remaining(self) -> float | None:
        """Seconds left (never negative), or None when no deadline is set."""
        if self.at is None:
            return None
        return max(0.0, self.at - time.monotonic())

    def check(self) -> None:
        """Raises FetchCancelled when the collector stops."""
        if self.token is not None and self.token.is_set():
            raise FetchCancelled("the collector is stopping")

    def next_wait(self, own_end: float | None) -> tuple[float | None, bool]:
        """How long the next socket wait may last, and whether its running out is final
        (the deadline or the operation's own time-out) rather than the end of a slice
        after which the cancel token is checked again. Raises `httpcore.ReadTimeout`
        once the deadline has passed, FetchCancelled when the collector stops."""
        self.check()
        now = time.monotonic()
        limits = [end - now for end in (self.at, own_end) if end is not None]
        wait = max(0.0, min(limits)) if limits else None
        if wait is not None and wait <= 0:
            raise httpcore.ReadTimeout("the fetch deadline passed")
        if self.token is not None and (wait is None or wait > SLICE_SECONDS):
            return SLICE_SECONDS, False
        return wait, True


class DeadlineStream(httpcore.NetworkStream):
    """A network stream whose operations all end by the shared deadline."""

    def __init__(self, inner: httpcore.NetworkStream, deadline: Deadline) -> None:
        self._inner = inner
        self._deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        own_end = None if timeout is None else time.monotonic() + timeout
        while True:
            wait, final = self._deadline.next_wait(own_end)
            try:
                return self._inner.read(max_bytes, wait)
            except httpcore.ReadTimeout:
                if final:
                    raise
                # Only a slice ran out (nothing was read): check the token, wait again.

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        # A partial write cannot be retried safely: one bounded attempt.
        self._deadline.check()
        remaining = self._deadline.remaining()
        if remaining is not None and remaining <= 0:
            raise httpcore.WriteTimeout("the fetch deadline passed")
        self._inner.write(buffer, _min(remaining, timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        self._deadline.check()
        remaining = self._deadline.remaining()
        if remaining is not None and remaining <= 0:
            raise httpcore.ConnectTimeout("the fetch deadline passed")
        inner = self._inner.start_tls(ssl_context, server_hostname, _min(remaining, timeout))
        return DeadlineStream(inner, self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


def _min(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)
