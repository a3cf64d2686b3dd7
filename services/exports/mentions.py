"""Mentions as export chunks: the columns of `columns.py` in any format."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

from services.core.models import Mention
from services.exports.columns import MentionColumns
from services.exports.formats import ExportFormat
from services.exports.writers import stream, text_csv_chunks
from services.store.contracts import MentionFilter, MentionIndex

T = TypeVar("T")


def mention_chunks(
    mentions: Iterable[Mention],
    *,
    names: Sequence[str],
    fmt: ExportFormat,
    sep: str = ",",
) -> Iterator[bytes]:
    """The mentions as chunks of the format, one sentiment column per watched name."""
    columns = MentionColumns(names)
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
        columns = MentionColumns(names)
        stored: Iterator[bytes] = wrap(index.iter_json(flt))
        return text_csv_chunks(columns.header, map(columns.stored_text_row, stored), delimiter=sep)
    mentions: Iterator[Mention] = wrap(index.iter_all(flt))
    return mention_chunks(mentions, names=names, fmt=fmt, sep=sep)
