"""CollectorScheduler with a SourcePartition when the state store stops answering."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from services.collector.partition import SourcePartition
from services.collector.scheduler import CollectorScheduler
from services.core.models import RunStatus, Source
from services.core.settings import CollectorSettings
from services.store.state.contract import CollectionRun
from services.store.state.engine import StateStoreError
from services.store.state.leases import LeaseStore
from services.store.state.sql import SqlStateStore


class LeasesThatGoDown(LeaseStore):
    """A real SQLite lease store that starts failing on demand: a fake outage (the
    database file cannot be taken away from under an open SQLite engine cleanly)."""

    down = False

    def acquire(self, names: Sequence[str], **kwargs: Any) -> list[str]:
        if self.down:
            raise StateStoreError("cannot use the state store: simulated outage")
        return super().acquire(names, **kwargs)


def test_a_collector_that_cannot_renew_stops_collecting_after_the_ttl(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/veille.db"
    state = SqlStateStore(url)
    leases = LeasesThatGoDown(url)
    runs: list[tuple[str, float]] = []
    lock = threading.Lock()

    def record(source: Source, **_: Any) -> CollectionRun:
        with lock:
            runs.append((source.name, time.monotonic()))
        now = datetime.now(UTC)
        return CollectionRun(
            source_name=source.name,
            started_at=now,
            finished_at=now,
            status=RunStatus.OK,
            items_found=0,
            items_new=0,
        )

    sources = [Source(name="a", url="https://example.org/a.xml", interval_minutes=1)]
    ttl = 1.2
    scheduler = CollectorScheduler(
        state,
        CollectorSettings(),
        sources_provider=lambda: sources,
        collect=record,
        minute_seconds=0.1,
        partition=SourcePartition(leases, owner="me", ttl=ttl),
    )
    scheduler.start()
    try:
        deadline = time.monotonic() + 5.0
        while not runs and time.monotonic() < deadline:
            time.sleep(0.05)
        assert runs, "the held source was not collected"
        leases.down = True
        went_down = time.monotonic()
        time.sleep(ttl + 1.0)
        assert scheduler.running  # failures are logged, not fatal
        # Once the lease may have run out, the source is no longer collected here.
        late = [t for _, t in runs if t > went_down + ttl + 0.2]
        assert late == []
    finally:
        scheduler.shutdown()
        leases.close()
        state.close()
