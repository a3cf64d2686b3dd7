"""Exports split over worker processes give the same bytes as one process."""

from __future__ import annotations

from collections.abc import Generator
from datetime import timedelta
from pathlib import Path

import pytest

from services.core.query import parse_query
from services.exports.formats import ExportFormat
from services.exports.mentions import mention_chunks
from services.exports.parallel import parallel_chunks, time_windows
from services.store.contracts import IndexUnavailable, MentionFilter
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


def test_a_split_export_closed_early_stops_its_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client that goes away mid-download closes the iterator: the windows not started
    are dropped, the workers end, and the next large export may split again."""
    import multiprocessing
    import time

    from services.exports import mentions as module

    path = tmp_path / "index"
    index = EmbeddedIndex(str(path))
    index.upsert(
        [
            make_mention(id=f"c{i:04d}", published_at=BASE_TIME + timedelta(minutes=i))
            for i in range(2000)
        ]
    )
    url = f"embedded:{path}"
    monkeypatch.setattr(module, "PER_WINDOW", 100)  # 20 windows
    chunks = module.export_chunks(
        index, MentionFilter(), index_url=url, names=[], fmt=ExportFormat.CSV, split_from=10
    )
    next(chunks)  # the header
    assert next(chunks).count(b"\r\n") >= 100  # a first window: the workers are busy
    assert multiprocessing.active_children()
    assert isinstance(chunks, Generator)
    chunks.close()
    deadline = time.monotonic() + 60
    while multiprocessing.active_children() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not multiprocessing.active_children()
    assert module._SPLITTING.acquire(blocking=False)  # the slot was given back
    module._SPLITTING.release()
    index.close()


def test_a_worker_that_cannot_open_the_index_fails_before_the_first_byte() -> None:
    # The CSV header waits for the first window: a failure there becomes an error answer
    # (the API checks the first chunk before answering), not a 200 with a cut-off file.
    chunks = parallel_chunks(
        "nowhere:x", [MentionFilter()], names=[], fmt=ExportFormat.CSV, workers=1
    )
    with pytest.raises(IndexUnavailable, match="worker processes stopped"):
        next(chunks)


def test_matches_that_cannot_be_cut_into_small_windows_export_in_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker holds its whole window: when one window would hold too many mentions
    (a burst within one hour, dates over too many weeks), nothing is split."""
    from services.exports import mentions as module

    index = EmbeddedIndex(str(tmp_path / "index"))
    burst = [make_mention(id=f"b{i:03d}", published_at=BASE_TIME) for i in range(300)]
    index.upsert(burst)

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("split although a window holds too many mentions")

    monkeypatch.setattr(module, "parallel_chunks", refuse)
    monkeypatch.setattr(module, "PER_WINDOW", 100)
    monkeypatch.setattr(module, "MAX_WINDOW", 200)  # the one hour holds 300
    chunks = module.export_chunks(
        index,
        MentionFilter(),
        index_url=f"embedded:{tmp_path / 'index'}",
        names=[],
        fmt=ExportFormat.CSV,
        split_from=10,
    )
    exported = b"".join(chunks)
    alone = b"".join(module.index_chunks(index, MentionFilter(), names=[], fmt=ExportFormat.CSV))
    assert exported == alone and exported.count(b"\r\n") == 301
    assert module._SPLITTING.acquire(blocking=False)  # the slot was given back
    module._SPLITTING.release()
    index.close()
