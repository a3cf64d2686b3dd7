"""Mentions as export chunks: the columns of `columns.py` in any format."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from services.core.models import Mention
from services.exports.columns import MentionColumns
from services.exports.formats import ExportFormat
from services.exports.writers import stream


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
