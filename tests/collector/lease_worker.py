"""A collector process for the partition tests: a real scheduler sharing sources by
leases, whose `collect` is a stand-in that records each run in a file instead of
fetching (what is under test is who collects what, and when).

    python -m tests.collector.lease_worker STATE_URL OUTPUT OWNER TTL SOURCE...
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from typing import Any

from services.collector.partition import SourcePartition
from services.collector.scheduler import CollectorScheduler
from services.core.models import RunStatus, Source
from services.core.settings import CollectorSettings
from services.store.state.contract import CollectionRun
from services.store.state.leases import LeaseStore
from services.store.state.sql import SqlStateStore

RUN_SECONDS = 0.05


def main(argv: list[str]) -> None:
    url, output, owner, ttl, *names = argv
    state = SqlStateStore(url)  # migrates, as every Veille process opening the store does
    sources = [
        Source(name=name, url=f"https://example.org/{name}.xml", interval_minutes=1)
        for name in names
    ]
    lock = threading.Lock()
    out = open(output, "a", encoding="utf-8")  # noqa: SIM115

    def record(source: Source, **_: Any) -> CollectionRun:
        started = time.time()
        time.sleep(RUN_SECONDS)
        finished = time.time()
        with lock:
            out.write(f"{owner} {source.name} {started:.4f} {finished:.4f}\n")
            out.flush()
        now = state_now()
        return CollectionRun(
            source_name=source.name,
            started_at=now,
            finished_at=now,
            status=RunStatus.OK,
            items_found=0,
            items_new=0,
        )

    scheduler = CollectorScheduler(
        state,
        CollectorSettings(max_concurrent_sources=4),
        sources_provider=lambda: sources,
        collect=record,
        minute_seconds=0.2,
        partition=SourcePartition(LeaseStore(url), owner=owner, ttl=float(ttl)),
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    scheduler.start()
    print("started", flush=True)
    stop.wait()
    scheduler.shutdown()
    state.close()
    out.close()
    os._exit(0)


def state_now() -> Any:
    from services.core.models import utcnow

    return utcnow()


if __name__ == "__main__":
    main(sys.argv[1:])
