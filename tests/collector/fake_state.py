"""FakeStateStore: a stand-in for the SQL store used only to test the collector in
isolation. It implements just the three methods the collector calls, keeping the
contract's promises that matter here: items are keyed by mention id and stored again
only when their content changed, and a collection's items, cursor and run are saved
together. The real store (`SqlStateStore`) is exercised in test_runner.py too.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Sequence
from typing import Any

from services.core.models import RawItem
from services.store.state.contract import CollectionRun


class FakeStateStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.cursors: dict[str, dict[str, Any]] = {}
        self.items: dict[str, RawItem] = {}
        self.runs: list[CollectionRun] = []
        self.collections = 0  # calls to record_collection

    def get_cursor(self, source_name: str) -> dict[str, Any]:
        with self._lock:
            return dict(self.cursors.get(source_name, {}))

    def record_collection(
        self, *, run: CollectionRun, items: Sequence[RawItem], cursor: dict[str, Any] | None
    ) -> int:
        with self._lock:
            new = 0
            for item in items:
                known = self.items.get(item.mention_id)
                if known is None or _content(known) != _content(item):
                    self.items[item.mention_id] = item
                    new += 1
            if cursor is not None:
                self.cursors[run.source_name] = dict(cursor)
            self.runs.append(dataclasses.replace(run, items_new=new))
            self.collections += 1
            return new

    def record_run(self, run: CollectionRun) -> None:
        with self._lock:
            self.runs.append(run)

    def runs_of(self, source_name: str) -> list[CollectionRun]:
        with self._lock:
            return [run for run in self.runs if run.source_name == source_name]


def _content(item: RawItem) -> tuple[str | None, str, str]:
    return item.url, item.title, item.text
