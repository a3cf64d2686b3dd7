"""Leases on shared work (migration 0007), on SQLite and PostgreSQL, on a fake clock."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from services.store.state.leases import LeaseStore
from services.store.state.sql import SqlStateStore
from tests.state import FakeClock


@pytest.fixture
def leases(state_store: SqlStateStore, state_url: str, clock: FakeClock) -> Iterator[LeaseStore]:
    store = LeaseStore(state_url, clock=clock)
    yield store
    store.close()


def test_a_lease_is_held_by_one_owner_until_it_expires(
    leases: LeaseStore, clock: FakeClock
) -> None:
    assert leases.acquire(["source:a", "source:b"], owner="one", ttl=30) == [
        "source:a",
        "source:b",
    ]
    assert leases.acquire(["source:a", "source:c"], owner="two", ttl=30) == ["source:c"]
    clock.advance(29)
    assert leases.acquire(["source:a"], owner="two", ttl=30) == []
    clock.advance(2)  # one's leases ran out: two may take them
    assert leases.acquire(["source:a"], owner="two", ttl=30) == ["source:a"]
    # source:c, taken at the start and never renewed, has run out too.
    assert leases.live(prefix="source:") == {"source:a": "two"}


def test_renewing_keeps_a_lease_and_reports_what_was_lost(
    leases: LeaseStore, clock: FakeClock
) -> None:
    leases.acquire(["source:a", "source:b", "member:x"], owner="one", ttl=30)
    clock.advance(25)
    assert leases.renew(owner="one", ttl=30, prefix="source:") == ["source:a", "source:b"]
    clock.advance(25)  # 50 s after acquiring, 25 after renewing: still held
    assert leases.acquire(["source:a"], owner="two", ttl=30) == []
    clock.advance(10)  # member:x was not renewed and expired; two takes source:b too
    clock.advance(30)
    assert leases.acquire(["source:b", "member:x"], owner="two", ttl=30) == [
        "member:x",
        "source:b",
    ]
    assert leases.renew(owner="one", ttl=30, prefix="source:") == ["source:a"]


def test_limit_caps_the_new_leases_but_not_the_renewed_ones(leases: LeaseStore) -> None:
    leases.acquire(["source:a"], owner="one", ttl=30)
    held = leases.acquire(
        ["source:a", "source:b", "source:c", "source:d"], owner="one", ttl=30, limit=2
    )
    assert held == ["source:a", "source:b", "source:c"]


def test_release_frees_leases_for_others_at_once(leases: LeaseStore) -> None:
    leases.acquire(["source:a", "source:b"], owner="one", ttl=30)
    leases.release(owner="one", names=["source:a"])
    assert leases.acquire(["source:a", "source:b"], owner="two", ttl=30) == ["source:a"]
    leases.release(owner="one")
    assert leases.live(prefix="source:") == {"source:a": "two"}


def test_bad_ttl_is_refused(leases: LeaseStore) -> None:
    with pytest.raises(ValueError, match="ttl must be positive"):
        leases.acquire(["source:a"], owner="one", ttl=0)


def test_concurrent_claimers_never_share_a_lease(
    state_store: SqlStateStore, state_url: str
) -> None:
    names = [f"source:{i:03d}" for i in range(60)]
    won: dict[str, list[str]] = {}
    barrier = threading.Barrier(4)

    def claim(owner: str) -> None:
        store = LeaseStore(state_url)
        try:
            barrier.wait()
            got: list[str] = []
            for start in range(0, len(names), 7):  # many small overlapping claims
                got += store.acquire(names[start : start + 9], owner=owner, ttl=60)
            won[owner] = sorted(set(got))
        finally:
            store.close()

    threads = [threading.Thread(target=claim, args=(f"owner-{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    held = [name for got in won.values() for name in got]
    assert len(won) == 4
    assert sorted(held) == names  # each one held by exactly one owner


def test_purge_drops_only_long_expired_leases(leases: LeaseStore, clock: FakeClock) -> None:
    leases.acquire(["member:dead"], owner="dead", ttl=10)
    clock.advance(50)
    leases.acquire(["member:alive"], owner="alive", ttl=10)
    clock.advance(15)  # dead expired 55 s ago, alive 5 s ago
    assert leases.purge(older_than=30) == 1
    assert leases.renew(owner="alive", ttl=10, prefix="member:") == ["member:alive"]
    assert leases.renew(owner="dead", ttl=10, prefix="member:") == []
