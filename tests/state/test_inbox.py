"""The inbox: dedup, leases, attempts, and safety with concurrent or dying claimers."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from services.core.models import Engagement
from services.store.state.sql import SqlStateStore
from tests.factories import make_item
from tests.state import FakeClock

REPO = Path(__file__).resolve().parents[2]


def test_identical_items_are_enqueued_once(state_store: SqlStateStore) -> None:
    items = [make_item() for _ in range(3)]
    assert state_store.enqueue_items(items) == 3
    assert state_store.enqueue_items(items) == 0
    # New engagement counts are not new content.
    recollected = [item.model_copy(update={"engagement": Engagement(likes=99)}) for item in items]
    assert state_store.enqueue_items(recollected) == 0
    assert state_store.inbox_counts() == {"pending": 3, "leased": 0, "done": 0, "failed": 0}


def test_changed_content_is_enqueued_again(state_store: SqlStateStore) -> None:
    item = make_item(title="Before")
    state_store.enqueue_items([item])
    [claimed] = state_store.claim_items(limit=10)
    state_store.ack_items([claimed.mention_id])
    assert state_store.enqueue_items([item]) == 0  # done, same content
    for field, value in [
        ("title", "After"),
        ("text", "new"),
        ("author", "x"),
        ("published_at", None),
    ]:
        changed = item.model_copy(update={field: value})
        assert state_store.enqueue_items([changed]) == 1, field
        [claimed] = state_store.claim_items(limit=10)
        assert getattr(claimed.item, field) == value
        state_store.ack_items([claimed.mention_id])
        item = changed


def test_the_last_copy_in_a_batch_wins(state_store: SqlStateStore) -> None:
    first = make_item(title="first")
    second = first.model_copy(update={"title": "second"})
    assert state_store.enqueue_items([first, second]) == 1
    [claimed] = state_store.claim_items(limit=10)
    assert claimed.item.title == "second"


def test_an_item_without_id_or_url_is_refused(state_store: SqlStateStore) -> None:
    with pytest.raises(ValueError, match="platform id or a URL"):
        state_store.enqueue_items([make_item(), make_item(url=None)])
    assert state_store.inbox_counts()["pending"] == 0


def test_claims_come_oldest_first_and_round_trip(
    state_store: SqlStateStore, clock: FakeClock
) -> None:
    items = []
    for n in range(5):
        item = make_item(platform_id=f"p{n}", engagement=Engagement(likes=n), language="fr")
        items.append(item)
        state_store.enqueue_items([item])
        clock.advance(1)
    first = state_store.claim_items(limit=2)
    rest = state_store.claim_items(limit=10)
    assert [c.item for c in first + rest] == items
    assert [c.mention_id for c in first] == [items[0].mention_id, items[1].mention_id]
    assert all(c.attempts == 0 for c in first + rest)
    assert state_store.claim_items(limit=10) == []
    assert state_store.inbox_counts()["leased"] == 5


def test_ack_drops_the_payload_but_remembers_the_content(
    state_store: SqlStateStore, raw_engine: sa.Engine
) -> None:
    item = make_item()
    state_store.enqueue_items([item])
    [claimed] = state_store.claim_items(limit=1)
    state_store.ack_items([claimed.mention_id])
    with raw_engine.connect() as conn:
        payload, content_hash, status = conn.execute(
            sa.text("SELECT payload, content_hash, status FROM inbox")
        ).one()
    assert (payload, status) == (None, "done")
    assert len(content_hash) == 64
    assert state_store.enqueue_items([item]) == 0
    assert state_store.inbox_counts() == {"pending": 0, "leased": 0, "done": 1, "failed": 0}


def test_release_counts_attempts_and_parks_after_five(state_store: SqlStateStore) -> None:
    item = make_item()
    state_store.enqueue_items([item])
    for attempt in range(5):
        [claimed] = state_store.claim_items(limit=1)
        assert claimed.attempts == attempt
        state_store.release_items([claimed.mention_id], error=f"model crashed #{attempt}")
    assert state_store.claim_items(limit=1) == []
    assert state_store.inbox_counts()["failed"] == 1
    assert state_store.enqueue_items([item]) == 0  # same content stays failed
    # Changed content gets a fresh start.
    assert state_store.enqueue_items([item.model_copy(update={"text": "edited"})]) == 1
    [claimed] = state_store.claim_items(limit=1)
    assert (claimed.attempts, claimed.item.text) == (0, "edited")


def test_failed_rows_keep_the_last_error(state_store: SqlStateStore, raw_engine: sa.Engine) -> None:
    state_store.enqueue_items([make_item()])
    for n in range(5):
        [claimed] = state_store.claim_items(limit=1)
        state_store.release_items([claimed.mention_id], error="boom" if n == 3 else None)
    with raw_engine.connect() as conn:
        row = conn.execute(sa.text("SELECT status, attempts, last_error FROM inbox")).one()
    assert tuple(row) == ("failed", 5, "boom")


def test_release_and_ack_only_touch_leased_items(state_store: SqlStateStore) -> None:
    item = make_item()
    state_store.enqueue_items([item])
    state_store.release_items([item.mention_id, "unknown"], error="not leased")
    state_store.ack_items([item.mention_id, "unknown"])
    [claimed] = state_store.claim_items(limit=1)
    assert claimed.attempts == 0


def test_content_changed_while_leased_survives_the_old_ack(state_store: SqlStateStore) -> None:
    item = make_item(text="v1")
    state_store.enqueue_items([item])
    [old] = state_store.claim_items(limit=1)
    assert state_store.enqueue_items([item.model_copy(update={"text": "v2"})]) == 1
    state_store.ack_items([old.mention_id])  # the analyzer finished the old copy
    [new] = state_store.claim_items(limit=1)
    assert new.item.text == "v2"


def test_an_expired_lease_is_claimable_again(state_store: SqlStateStore, clock: FakeClock) -> None:
    state_store.enqueue_items([make_item()])
    [claimed] = state_store.claim_items(limit=1, lease_seconds=60)
    clock.advance(59)
    assert state_store.claim_items(limit=1) == []
    clock.advance(2)
    [again] = state_store.claim_items(limit=1, lease_seconds=60)
    assert again.mention_id == claimed.mention_id
    assert again.attempts == 1  # the lost lease counts as an attempt


def test_an_item_whose_lease_keeps_expiring_ends_up_failed(
    state_store: SqlStateStore, clock: FakeClock
) -> None:
    state_store.enqueue_items([make_item()])
    for _ in range(5):
        assert len(state_store.claim_items(limit=1, lease_seconds=10)) == 1
        clock.advance(11)
    assert state_store.claim_items(limit=1) == []
    assert state_store.inbox_counts()["failed"] == 1


def test_bad_claim_arguments_are_refused(state_store: SqlStateStore) -> None:
    with pytest.raises(ValueError):
        state_store.claim_items(limit=0)
    with pytest.raises(ValueError):
        state_store.claim_items(limit=1, lease_seconds=0)


def test_large_batches(state_store: SqlStateStore) -> None:
    items = [make_item() for _ in range(1_234)]
    assert state_store.enqueue_items(items) == 1_234
    claimed = state_store.claim_items(limit=1_100)
    assert len({c.mention_id for c in claimed}) == 1_100
    state_store.ack_items([c.mention_id for c in claimed])
    assert state_store.enqueue_items(items) == 0
    assert state_store.inbox_counts() == {"pending": 134, "leased": 0, "done": 1_100, "failed": 0}


def test_concurrent_claimers_never_share_an_item(state_store: SqlStateStore) -> None:
    total = 300
    state_store.enqueue_items([make_item() for _ in range(total)])
    claimed: list[list[str]] = [[] for _ in range(8)]
    errors: list[BaseException] = []
    start = threading.Barrier(len(claimed))

    def claimer(mine: list[str]) -> None:
        try:
            start.wait()
            while batch := state_store.claim_items(limit=7):
                mine.extend(c.mention_id for c in batch)
                time.sleep(0.005)  # "analyzing": lets the other claimers in
        except BaseException as error:  # surfaced below; a thread cannot fail the test
            errors.append(error)

    threads = [threading.Thread(target=claimer, args=(mine,)) for mine in claimed]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    every = [mention_id for mine in claimed for mention_id in mine]
    assert len(every) == len(set(every)) == total
    assert sum(1 for mine in claimed if mine) > 1  # they really competed


def test_a_claimer_killed_holding_a_lease_loses_nothing(state_url: str) -> None:
    lease_seconds = 3
    snippet = """
import sys, time
from services.store.state.sql import SqlStateStore
store = SqlStateStore(sys.argv[1])
claimed = store.claim_items(limit=10, lease_seconds=float(sys.argv[2]))
print(" ".join(c.mention_id for c in claimed), flush=True)
time.sleep(600)
"""
    with SqlStateStore(state_url) as store:  # real clock: two processes share the time
        item = make_item()
        store.enqueue_items([item])
        with subprocess.Popen(
            [sys.executable, "-c", snippet, state_url, str(lease_seconds)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
        ) as process:
            assert process.stdout is not None
            assert process.stdout.readline().split() == [item.mention_id]
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
        assert store.claim_items(limit=10) == []  # the dead claimer's lease still holds
        deadline = time.monotonic() + lease_seconds + 15
        while not (claimed := store.claim_items(limit=10)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert [c.mention_id for c in claimed] == [item.mention_id]
        assert claimed[0].item == item


def test_a_renewed_lease_is_not_claimable_until_it_expires(
    state_store: SqlStateStore, clock: FakeClock
) -> None:
    state_store.enqueue_items([make_item(), make_item()])
    claimed = [c.mention_id for c in state_store.claim_items(limit=10, lease_seconds=60)]
    clock.advance(50)
    assert state_store.renew_items(claimed, lease_seconds=60) == 2
    clock.advance(50)  # 100 s after the claim: the renewed lease still holds
    assert state_store.claim_items(limit=10, lease_seconds=60) == []
    clock.advance(11)
    assert state_store.renew_items(claimed, lease_seconds=60) == 0  # expired: not renewed
    again = state_store.claim_items(limit=10, lease_seconds=60)
    assert sorted(c.mention_id for c in again) == sorted(claimed)
    assert {c.attempts for c in again} == {1}  # the lost lease counts as an attempt
