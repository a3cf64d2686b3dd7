"""Bulk writes with retries: nothing is silently dropped.

A whole request failing with 429, 5xx or a connection error is retried with
exponential backoff; so are the single items a bulk answer reports as 429 or 5xx.
Items refused for good (a mapping error, a term too long...) are returned to the
caller, which appends them to the dead-letter file (dead_letters.py).
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, wait
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Final, TypeVar

import orjson
from elastic_transport import ConnectionError as TransportConnectionError
from elastic_transport import ConnectionTimeout
from elasticsearch import ApiError, Elasticsearch

from services.core.models import Mention
from services.store.contracts import IndexUnavailable

log = logging.getLogger("veille.store.elastic")

RETRYABLE_STATUS: Final = frozenset({429, 500, 502, 503, 504})
_T = TypeVar("_T")


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with jitter: `base * 2**attempt`, capped, `attempts` tries in all."""

    attempts: int = 6
    base: float = 0.2
    cap: float = 10.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)

    def pause(self, attempt: int) -> None:
        """Sleeps before retry number `attempt` (0-based)."""
        delay = min(self.cap, self.base * 2**attempt)
        self.sleep(delay * random.uniform(0.5, 1.0))  # jitter, not crypto


def is_retryable(error: Exception) -> bool:
    """True for errors worth another try: overload, server errors, network trouble."""
    if isinstance(error, TransportConnectionError | ConnectionTimeout):
        return True
    return isinstance(error, ApiError) and error.status_code in RETRYABLE_STATUS


def with_retries(call: Callable[[], _T], *, backoff: Backoff, what: str) -> _T:
    """Runs `call`, retrying retryable errors; IndexUnavailable when they persist."""
    for attempt in range(backoff.attempts):
        try:
            return call()
        except (ApiError, TransportConnectionError, ConnectionTimeout) as error:
            if not is_retryable(error):
                raise
            if attempt + 1 >= backoff.attempts:
                trouble = (
                    "kept failing on" if isinstance(error, ApiError) else "cannot reach it for"
                )
                raise IndexUnavailable(
                    f"Elasticsearch {trouble} {what} after {backoff.attempts} tries: "
                    f"{type(error).__name__}"
                ) from error
            log.warning("%s failed (%s), retrying", what, type(error).__name__)
            backoff.pause(attempt)
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class ItemFailure:
    """One mention a bulk request could not write."""

    mention_id: str
    mention: Mention | None  # None for a delete
    status: int
    error: str


Operation = tuple[dict[str, Any], Mention | None, dict[str, Any] | bytes | None]
"""An action line, the mention it writes (None for a delete), and its document (a
dict, or already serialised JSON: documents.document_json)."""

# The answer of a bulk request says only what `send_bulk` reads: whether any item
# failed, and each item's status and error (every item keeps its place).
_BULK_ANSWER: Final = "errors,items.*.status,items.*.error"


def send_bulk(
    client: Elasticsearch,
    ops: Sequence[Operation],
    *,
    backoff: Backoff,
    refresh: bool | str,
) -> list[ItemFailure]:
    """Sends operations; returns the items refused for good.

    Items answered with 429 or 5xx are sent again.
    """
    pending = list(ops)
    failures: list[ItemFailure] = []
    for attempt in range(backoff.attempts):
        body = bulk_body(pending)
        answer = with_retries(
            lambda: client.bulk(
                # Typed as dicts; bytes go out as they are (the client's NdjsonSerializer).
                operations=body,  # type: ignore[arg-type]  # noqa: B023
                refresh=refresh,
                filter_path=_BULK_ANSWER,
            ),
            backoff=backoff,
            what="a bulk request",
        )
        if not answer.get("errors"):
            return failures
        retry = []
        for op, item in zip(pending, answer["items"], strict=True):
            result = next(iter(item.values()))
            status = int(result.get("status", 500))
            if status < 300 or (status == 404 and "delete" in item):
                continue
            reason = json.dumps(result.get("error"), ensure_ascii=False)[:2000]
            if status in RETRYABLE_STATUS and attempt + 1 < backoff.attempts:
                retry.append(op)
            else:
                action = next(iter(op[0].values()))
                failures.append(
                    ItemFailure(
                        mention_id=str(action["_id"]), mention=op[1], status=status, error=reason
                    )
                )
        if not retry:
            return failures
        log.warning("%d bulk items were refused for now, retrying", len(retry))
        backoff.pause(attempt)
        pending = retry
    return failures


def bulk_body(ops: Sequence[Operation]) -> bytes:
    """The NDJSON body of a bulk request, serialised here (orjson) so that the client
    sends the bytes as they are."""
    lines: list[bytes] = []
    for action, _, document in ops:
        lines.append(orjson.dumps(action))
        if isinstance(document, bytes):
            lines.append(document)
        elif document is not None:
            lines.append(orjson.dumps(document))
    lines.append(b"")
    return b"\n".join(lines)


def send_pipelined(
    client: Elasticsearch,
    chunks: Iterable[Sequence[Operation]],
    *,
    backoff: Backoff,
    refresh: bool | str,
) -> list[ItemFailure]:
    """Sends each chunk of operations as one bulk request from a second thread while
    the next chunk is built (`chunks` is usually a generator building documents), so
    that building in Python overlaps the request; returns the items refused for good.

    With `refresh`, the chunks are sent without it and the caller refreshes once
    (`refresh=True`), or each chunk waits for the refresh (`"wait_for"`)."""
    each = "wait_for" if refresh == "wait_for" else False
    failures: list[ItemFailure] = []
    in_flight: Future[list[ItemFailure]] | None = None
    try:
        for chunk in chunks:
            if in_flight is not None:
                failures += in_flight.result()
            in_flight = _in_background(
                partial(send_bulk, client, chunk, backoff=backoff, refresh=each)
            )
        if in_flight is not None:
            failures += in_flight.result()
    except Exception:
        if in_flight is not None:  # an error, not Ctrl-C: leave nothing running behind
            wait([in_flight])
        raise
    return failures


def _in_background(call: Callable[[], _T]) -> Future[_T]:
    """Runs `call` in a daemon thread. Not an executor's worker: the interpreter joins
    those at exit, so Ctrl-C during a bulk request to a slow cluster would wait for it
    (up to every retry's time-out). A request left running is an idempotent write the
    caller never counted."""
    future: Future[_T] = Future()

    def run() -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(call())
        except BaseException as error:  # handed to whoever waits on the future
            future.set_exception(error)

    threading.Thread(target=run, name="veille-bulk", daemon=True).start()
    return future
