"""Exports split over worker processes give the same bytes as one process."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from services.core.query import parse_query
from services.exports.formats import ExportFormat
from services.exports.mentions import mention_chunks
from services.exports.parallel import parallel_chunks, time_windows
from services.store.contracts import MentionFilter
from services.store.embedded.index import EmbeddedIndex
from tests.factories import BASE_TIME, make_mention


@pytest.mark.parametrize("fmt", [ExportFormat.CSV, ExportFormat.NDJSON])
def test_parallel_export_equals_the_sequential_one(tmp_path: Path, fmt: ExportFormat) -> None:
    path = tmp_path / "index"
    index = EmbeddedIndex(str(path))
    index.upsert(
        [
            make_mention(
                id=f"p{i:03d}",
                text=f"Veloria {'retard' if i % 3 else 'ravi'} {i}",
                published_at=BASE_TIME + timedelta(minutes=37 * i),
            )
            for i in range(300)
        ]
    )
    flt = MentionFilter(query=parse_query("retard"), since=BASE_TIME - timedelta(days=1))
    windows = time_windows(index, flt, per_window=40)
    assert len(windows) > 3
    assert windows[0].since == flt.since and windows[-1].until is None
    names = ["Veloria", "Trekko"]
    alone = b"".join(mention_chunks(index.iter_all(flt), names=names, fmt=fmt))
    index.close()
    shared = b"".join(parallel_chunks(f"embedded:{path}", windows, names=names, fmt=fmt, workers=2))
    assert shared == alone
    assert alone.count(b"retard") == 200


def test_xlsx_is_not_split(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="CSV and NDJSON"):
        next(parallel_chunks("embedded:x", [], names=[], fmt=ExportFormat.XLSX))
