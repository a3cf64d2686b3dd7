"""Mentions as export chunks: the columns of `columns.py` in any format."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Final, TypeVar

from services.core.models import Mention
from services.exports.columns import MentionColumns
from services.exports.formats import ExportFormat
from services.exports.parallel import counted_windows, parallel_chunks
from services.exports.writers import decimal_mark, stream, text_csv_chunks
from services.store.contracts import MentionFilter, MentionIndex

T = TypeVar("T")

# From this many matches a CSV or NDJSON export is split over worker processes (one
# core reads and writes about 18,000 mentions/s; starting the workers takes about 1 s).
SPLIT_FROM: Final = 100_000
PER_WINDOW: Final = 20_000  # mentions per worker task: about 25 MB of CSV held per task
MAX_WINDOW: Final = 5 * PER_WINDOW  # beyond, one hour holds too many: not split
SPLIT_WORKERS: Final = 2
# One split export at a time per process: a second one, meanwhile, runs in-process.
_SPLITTING = threading.BoundedSemaphore(1)


def mention_chunks(
    mentions: Iterable[Mention],
    *,
    names: Sequence[str],
    fmt: ExportFormat,
    sep: str = ",",
) -> Iterator[bytes]:
    """The mentions as chunks of the format, one sentiment column per watched name."""
    columns = MentionColumns(names, decimal=decimal_mark(sep))
    return stream(
        fmt,
        header=columns.header,
        items=mentions,
        row=columns.row,
        record=columns.record,
        text_row=columns.text_row,
        sheet="mentions",
        delimiter=sep,
    )


def _passed(items: Iterator[T]) -> Iterator[T]:
    return items


def index_chunks(
    index: MentionIndex,
    flt: MentionFilter,
    *,
    names: Sequence[str],
    fmt: ExportFormat,
    sep: str = ",",
    each: Callable[[Iterator[Any]], Iterator[Any]] | None = None,
) -> Iterator[bytes]:
    """The mentions matching `flt` as chunks of the format. CSV rows are made from the
    stored JSON (`MentionIndex.iter_json`) without building each `Mention`: the cost
    of the export's read path, the same bytes as `mention_chunks`. `each`, when given,
    wraps the iterator of mentions (to count them for a progress bar)."""
    wrap = each or _passed
    if fmt == ExportFormat.CSV:
        columns = MentionColumns(names, decimal=decimal_mark(sep))
        stored: Iterator[bytes] = wrap(index.iter_json(flt))
        return text_csv_chunks(columns.header, map(columns.stored_text_row, stored), delimiter=sep)
    mentions: Iterator[Mention] = wrap(index.iter_all(flt))
    return mention_chunks(mentions, names=names, fmt=fmt, sep=sep)


def export_chunks(
    index: MentionIndex,
    flt: MentionFilter,
    *,
    index_url: str | None,
    names: Sequence[str],
    fmt: ExportFormat,
    sep: str = ",",
    split_from: int | None = None,
) -> Iterator[bytes]:
    """The mentions matching `flt` as chunks of the format, as the API serves them: a
    CSV or NDJSON export of at least `split_from` matches is made by `SPLIT_WORKERS`
    processes reading the index at `index_url` (`parallel.py`: the same bytes, in order,
    memory flat), unless another split export is running; else `index_chunks`. Closing
    the iterator early (a client gone) stops the workers after their current window."""
    if index_url is None or fmt not in {ExportFormat.CSV, ExportFormat.NDJSON}:
        return index_chunks(index, flt, names=names, fmt=fmt, sep=sep)
    return _split_or_not(index, flt, index_url, names, fmt, sep, split_from or SPLIT_FROM)


def _split_or_not(
    index: MentionIndex,
    flt: MentionFilter,
    index_url: str,
    names: Sequence[str],
    fmt: ExportFormat,
    sep: str,
    split_from: int,
) -> Iterator[bytes]:
    # Decided at the first chunk, so a refused query fails there (see `primed`), and the
    # slot is held only by a generator that runs (and is released when it is closed).
    if index.count(flt) < split_from or not _SPLITTING.acquire(blocking=False):
        yield from index_chunks(index, flt, names=names, fmt=fmt, sep=sep)
        return
    try:
        counted = counted_windows(index, flt, per_window=PER_WINDOW)
        # A worker holds its whole window in memory: when the matches cannot be cut into
        # windows of bounded size (dates over too many weeks, a huge burst in one hour),
        # the export streams in-process, flat, instead.
        if not counted or max(count for _, count in counted) > MAX_WINDOW:
            yield from index_chunks(index, flt, names=names, fmt=fmt, sep=sep)
            return
        windows = [window for window, _ in counted]
        yield from parallel_chunks(
            index_url, windows, names=names, fmt=fmt, sep=sep, workers=SPLIT_WORKERS
        )
    finally:
        _SPLITTING.release()
