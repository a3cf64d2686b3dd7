"""A large CSV or NDJSON export split over worker processes, in order.

Reading a stored mention and writing its row costs about 50 µs of Python per mention,
one core's worth; `veille export --workers N` spreads the work. The matches are cut into
consecutive time windows of about `per_window` mentions (from an hourly histogram);
each worker opens the index itself (readers share it across processes) and turns one
window into bytes; the windows come back in order. At most `workers + 1` windows are
held at once, so memory stays flat whatever the number of mentions.
"""

from __future__ import annotations

import itertools
import multiprocessing
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from services.exports.columns import MentionColumns
from services.exports.formats import ExportFormat
from services.exports.writers import decimal_mark, ndjson_chunks, text_csv_chunks
from services.store.contracts import (
    IndexUnavailable,
    Interval,
    MentionFilter,
    MentionIndex,
    open_index,
)

_INDEX: MentionIndex | None = None


def time_windows(
    index: MentionIndex, flt: MentionFilter, *, per_window: int
) -> list[MentionFilter]:
    """Consecutive windows covering `flt`'s matches, each with about `per_window` of them
    (more when one hour holds more; one window when no histogram can be made)."""
    counted = counted_windows(index, flt, per_window=per_window)
    if not counted:
        return [MentionFilter(query=flt.query, since=flt.since, until=flt.until)]
    return [window for window, _ in counted]


def counted_windows(
    index: MentionIndex, flt: MentionFilter, *, per_window: int
) -> list[tuple[MentionFilter, int]]:
    """`time_windows` with the number of matches in each; empty when the matches cannot
    be counted by hour, day or week (dates spread over too many weeks)."""
    buckets = []
    for interval in (Interval.HOUR, Interval.DAY, Interval.WEEK):
        try:
            buckets = index.histogram(flt, interval=interval)
            break
        except ValueError:  # too many buckets: a coarser interval
            continue
    if not buckets:
        return []
    cuts = []
    counts = [0]
    for bucket in buckets:
        if counts[-1] >= per_window:
            cuts.append(bucket.start)
            counts.append(0)
        counts[-1] += bucket.count
    edges = [flt.since, *cuts, flt.until]
    return [
        (MentionFilter(query=flt.query, since=start, until=end), count)
        for (start, end), count in zip(itertools.pairwise(edges), counts, strict=True)
    ]


def _open(index_url: str) -> None:
    global _INDEX
    _INDEX = open_index(index_url)


def _window_bytes(flt: MentionFilter, names: Sequence[str], fmt: ExportFormat, sep: str) -> bytes:
    assert _INDEX is not None, "the worker opens the index first"
    columns = MentionColumns(names, decimal=decimal_mark(sep))
    if fmt == ExportFormat.NDJSON:
        return b"".join(ndjson_chunks(map(columns.record, _INDEX.iter_all(flt))))
    rows = map(columns.stored_text_row, _INDEX.iter_json(flt))
    return b"".join(text_csv_chunks(None, rows, delimiter=sep))


def parallel_chunks(
    index_url: str,
    windows: Sequence[MentionFilter],
    *,
    names: Sequence[str],
    fmt: ExportFormat,
    sep: str = ",",
    workers: int = 2,
) -> Iterator[bytes]:
    """The mentions of `windows`, in order, as CSV (with its header) or NDJSON chunks."""
    if fmt not in {ExportFormat.CSV, ExportFormat.NDJSON}:
        raise ValueError("only CSV and NDJSON exports are split over workers")
    # The CSV header goes out with the first window, so that a worker failing at the
    # start (the index cannot be opened) fails before the first byte: an error answer,
    # not a cut-off file.
    header = b""
    if fmt == ExportFormat.CSV:
        header = b"".join(text_csv_chunks(MentionColumns(names).header, [], delimiter=sep))
    # "spawn": a fork would copy the parent's threads and open index handles.
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_open, initargs=(index_url,)
    )
    finished = False
    try:
        pending: deque[Future[bytes]] = deque()
        for window in windows:
            pending.append(pool.submit(_window_bytes, window, list(names), fmt, sep))
            if len(pending) > workers:
                yield header + pending.popleft().result()
                header = b""
        while pending:
            yield header + pending.popleft().result()
            header = b""
        if header:  # no window at all
            yield header
        finished = True
    except BrokenProcessPool as exc:  # a worker could not start or open the index
        raise IndexUnavailable(f"the export's worker processes stopped: {exc}") from exc
    finally:
        # Closed early (the client went away): drop the windows not started; the workers
        # finish the one each holds and exit, without being waited for.
        pool.shutdown(wait=finished, cancel_futures=True)
