"""Splits the sources among the collectors running against one state store.

Each collector process has an owner id and holds a lease per source it collects
(`source:NAME`), plus one that says it is alive (`member:collector:OWNER`). On every
heartbeat (`sync`) it renews what it holds and aims for its fair share: the number of
sources divided by the number of live collectors, rounded up. Over its share, it lets
go of sources it is not collecting at that moment; under it, it takes free or expired
ones. A collector that dies stops renewing: its leases expire after `ttl` seconds and
the others take its sources over. So every source is held by at most one collector at
a time, and by one within about `ttl` plus a heartbeat of any change.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Iterable
from datetime import datetime, timedelta

from services.store.state.lease_contract import Leases, new_owner_id

logger = logging.getLogger("veille.collector.partition")

SOURCE_PREFIX = "source:"
MEMBER_PREFIX = "member:collector:"
PURGE_AFTER_TTLS = 10


class SourcePartition:
    """This collector's share of the sources, kept by leases in the state store."""

    def __init__(self, leases: Leases, *, owner: str | None = None, ttl: float = 90.0) -> None:
        """`ttl`: seconds a lease lasts without renewal; heartbeats come every ttl / 3."""
        if ttl <= 0:
            raise ValueError("the lease ttl must be positive")
        self.leases = leases
        self.owner = owner or new_owner_id()
        self.ttl = ttl
        self._held: set[str] = set()
        self._valid_until: datetime | None = None
        self._lock = threading.Lock()

    @property
    def heartbeat_seconds(self) -> float:
        """How often `sync` should run: three tries before a lease expires."""
        return self.ttl / 3

    def sync(self, sources: Iterable[str], *, busy: Iterable[str] = ()) -> set[str]:
        """Renews, rebalances and returns the names of the sources this collector holds.

        `busy` names sources being collected right now: they are never let go mid-run."""
        names = set(sources)
        busy_names = set(busy)
        with self._lock:
            started = self.leases.now()
            self.leases.acquire([MEMBER_PREFIX + self.owner], owner=self.owner, ttl=self.ttl)
            held = {
                _source(n)
                for n in self.leases.renew(owner=self.owner, ttl=self.ttl, prefix=SOURCE_PREFIX)
            }
            lost = self._held - held
            if lost:
                logger.warning("lost the leases of %s", ", ".join(sorted(lost)))
            gone = held - names
            members = max(1, len(self.leases.live(prefix=MEMBER_PREFIX)))
            share = math.ceil(len(names) / members)
            over = max(0, len(held - gone) - share)
            excess = sorted(held - gone - busy_names, reverse=True)[:over]
            if gone or excess:
                self.leases.release(owner=self.owner, names=[_lease(n) for n in gone | set(excess)])
                held -= gone | set(excess)
                if excess:
                    logger.info("handed over %s to other collectors", ", ".join(sorted(excess)))
            missing = share - len(held)
            if missing > 0:
                candidates = [_lease(n) for n in sorted(names - held)]
                taken = self.leases.acquire(
                    candidates, owner=self.owner, ttl=self.ttl, limit=missing
                )
                held |= {_source(n) for n in taken}
            self._held = held
            self._valid_until = started + timedelta(seconds=self.ttl)
            # Killed collectors leave expired rows behind; long expired, they go.
            self.leases.purge(older_than=PURGE_AFTER_TTLS * self.ttl)
            return set(held)

    def holds(self, name: str) -> bool:
        """True while this collector holds the source's lease and it has not run out
        (renewals failing for a whole ttl mean another collector may have it now)."""
        with self._lock:
            valid = self._valid_until is not None and self.leases.now() < self._valid_until
            return valid and name in self._held

    def release_all(self) -> None:
        """Lets go of every lease at once, so the other collectors need not wait."""
        with self._lock:
            self.leases.release(owner=self.owner)
            self._held = set()
            self._valid_until = None


def _lease(source: str) -> str:
    return SOURCE_PREFIX + source


def _source(lease: str) -> str:
    return lease.removeprefix(SOURCE_PREFIX)
