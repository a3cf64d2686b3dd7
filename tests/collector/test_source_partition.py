"""SourcePartition on a real state store (SQLite, or PostgreSQL when set), on a fake clock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from services.collector.partition import SourcePartition
from services.store.state.leases import LeaseStore
from services.store.state.sql import SqlStateStore
from tests.state import FakeClock

SOURCES = [f"s{i}" for i in range(7)]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def leases(state_url: str, clock: FakeClock) -> Iterator[LeaseStore]:
    SqlStateStore(state_url).close()  # migrates
    store = LeaseStore(state_url, clock=clock)
    yield store
    store.close()


def test_collectors_even_out_and_never_overlap(leases: LeaseStore) -> None:
    a = SourcePartition(leases, owner="a", ttl=30)
    b = SourcePartition(leases, owner="b", ttl=30)
    assert a.sync(SOURCES) == set(SOURCES)  # alone: everything
    assert b.sync(SOURCES) == set()  # all held; b is now a live member
    held_a = a.sync(SOURCES)  # a sees two members: keeps its share of 4
    held_b = b.sync(SOURCES)
    assert (len(held_a), len(held_b)) == (4, 3)
    assert held_a.isdisjoint(held_b) and held_a | held_b == set(SOURCES)


def test_sources_being_collected_are_not_handed_over(leases: LeaseStore) -> None:
    a = SourcePartition(leases, owner="a", ttl=30)
    b = SourcePartition(leases, owner="b", ttl=30)
    a.sync(SOURCES)
    b.sync(SOURCES)
    assert a.sync(SOURCES, busy=SOURCES) == set(SOURCES)  # all busy: none let go yet
    assert len(a.sync(SOURCES)) == 4


def test_a_dead_collectors_sources_are_taken_after_the_ttl(
    leases: LeaseStore, clock: FakeClock
) -> None:
    a = SourcePartition(leases, owner="a", ttl=30)
    b = SourcePartition(leases, owner="b", ttl=30)
    a.sync(SOURCES)
    b.sync(SOURCES)
    a.sync(SOURCES)
    b.sync(SOURCES)
    clock.advance(20)
    assert len(b.sync(SOURCES)) == 3  # a is silent but its leases still run
    clock.advance(15)  # a's leases (and membership) have expired
    assert b.sync(SOURCES) == set(SOURCES)
    assert not a.holds("s0")  # a's own view: its leases ran out, it must not collect


def test_removed_sources_are_let_go_and_release_all_frees_everything(
    leases: LeaseStore,
) -> None:
    a = SourcePartition(leases, owner="a", ttl=30)
    a.sync(SOURCES)
    assert a.sync(SOURCES[:2]) == {"s0", "s1"}
    assert set(leases.live(prefix="source:")) == {"source:s0", "source:s1"}
    assert a.holds("s0") and not a.holds("s5")
    a.release_all()
    assert leases.live(prefix="") == {}
    assert not a.holds("s0")


def test_a_bad_ttl_is_refused(leases: LeaseStore) -> None:
    with pytest.raises(ValueError, match="ttl must be positive"):
        SourcePartition(leases, ttl=0)
