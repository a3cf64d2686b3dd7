"""A batch slower than its inbox lease keeps its items: a second worker never re-analyses
them (issue 19: 64 long texts took 214-251 s against a 60 s lease)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from services.core.workspace import Workspace
from services.runtime.app.context import ServiceContext
from services.runtime.workers.analysis import process_batch
from services.store.state.sql import SqlStateStore
from tests.factories import local_settings, make_item

LEASE = 1.0  # seconds: the smallest the settings allow


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[ServiceContext]:
    settings = local_settings(tmp_path, analyzer={"lease_seconds": LEASE, "batch_size": 8})
    context = ServiceContext(settings, Workspace())
    context.sync_workspace()
    yield context
    context.close()


@pytest.mark.slow
def test_a_batch_outliving_its_lease_is_not_taken_by_a_second_worker(
    ctx: ServiceContext, tmp_path: Path
) -> None:
    items = [make_item(text=f"Un long texte numéro {i} sur la livraison") for i in range(5)]
    ctx.state.enqueue_items(items)
    analyzer = ctx.analyzer
    real_analyze = analyzer.analyze
    working = threading.Event()

    def slow_analyze(*args: Any, **kwargs: Any) -> Any:
        # The real analyzer, made slower than the lease (a batch of long texts).
        working.set()
        time.sleep(4 * LEASE)
        return real_analyze(*args, **kwargs)

    analyzer.analyze = slow_analyze  # type: ignore[method-assign]
    outcome: list[Any] = []
    first = threading.Thread(target=lambda: outcome.append(process_batch(ctx)))
    first.start()
    assert working.wait(30)
    # A second worker (its own connection to the same state file) polls meanwhile.
    second = SqlStateStore(f"sqlite:///{tmp_path}/veille.db")
    taken = []
    try:
        while first.is_alive():
            taken += second.claim_items(limit=8, lease_seconds=LEASE)
            time.sleep(0.1)
    finally:
        first.join()
        second.close()
    assert taken == [], "a second worker took items of a batch still at work"
    assert outcome[0].claimed == 5 and outcome[0].failed == 0
    assert ctx.state.inbox_counts()["done"] == 5


def test_an_expired_lease_is_not_renewed(ctx: ServiceContext) -> None:
    ctx.state.enqueue_items([make_item()])
    claimed = ctx.state.claim_items(limit=1, lease_seconds=LEASE)
    ids = [c.mention_id for c in claimed]
    assert ctx.state.renew_items(ids, lease_seconds=LEASE) == 1
    time.sleep(LEASE + 0.2)
    assert ctx.state.renew_items(ids, lease_seconds=LEASE) == 0
