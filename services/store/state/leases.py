"""Leases on shared work, so that several processes split it without doing it twice.

A lease names a piece of work (`source:NAME`, `alerts:evaluator`), its owner (one id
per process) and when it expires. Its holder renews it well before then; a process
that dies stops renewing, and once the lease expires another process may take it.

    leases = LeaseStore("postgresql+psycopg://veille:...@db/veille")
    held = leases.acquire(["source:a", "source:b"], owner="collector-1", ttl=60)

Safe with concurrent claimers: on PostgreSQL the existing rows are read with SELECT ...
FOR UPDATE SKIP LOCKED (a row another process is claiming right now is simply left to
it) and new rows are inserted with ON CONFLICT DO NOTHING; on SQLite the BEGIN
IMMEDIATE write transaction serialises claims. Times come from this process's clock:
machines sharing a store keep their clocks in sync (NTP), as for the inbox leases.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from services.store.state.database import DatabaseStore
from services.store.state.engine import (
    read_transaction,
    upsert,
    write_transaction,
)
from services.store.state.lease_contract import new_owner_id as new_owner_id
from services.store.state.lease_tables import leases


def acquire(
    conn: Connection,
    names: Sequence[str],
    *,
    owner: str,
    ttl: timedelta,
    now: datetime,
    limit: int | None = None,
) -> list[str]:
    """Takes the free, expired or already-owned leases among `names` (at most `limit`
    new ones), renews the owned ones; returns every name of `names` now held."""
    wanted = sorted(set(names))
    if not wanted:
        return []
    lt = leases
    query = sa.select(lt.c.name, lt.c.owner, lt.c.expires_at).where(lt.c.name.in_(wanted))
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = {row.name: row for row in conn.execute(query)}
    ours = [name for name, row in rows.items() if row.owner == owner]
    expired = [name for name, row in rows.items() if row.owner != owner and row.expires_at <= now]
    # Rows locked by another claimer are missing from `rows`: the insert below then
    # conflicts and does nothing, so they stay with whoever is claiming them.
    absent = [name for name in wanted if name not in rows]
    budget = len(expired) + len(absent) if limit is None else max(0, limit)
    values = {"owner": owner, "renewed_at": now, "expires_at": now + ttl}
    if ours:
        conn.execute(sa.update(lt).where(lt.c.name.in_(ours)).values(values))
    held = list(ours)
    for name in expired[:budget]:
        updated = conn.execute(
            sa.update(lt)
            .where(lt.c.name == name, lt.c.expires_at <= now)
            .values(acquired_at=now, **values)
            .returning(lt.c.name)
        ).scalar()
        if updated is not None:
            held.append(name)
            budget -= 1
    for name in absent[:budget]:
        stmt = (
            upsert(conn, lt)
            .values(name=name, acquired_at=now, **values)
            .on_conflict_do_nothing(index_elements=[lt.c.name])
            .returning(lt.c.name)
        )
        if conn.execute(stmt).scalar() is not None:
            held.append(name)
    return sorted(held)


def renew(conn: Connection, *, owner: str, ttl: timedelta, now: datetime, prefix: str) -> list[str]:
    """Extends every lease `owner` still holds under `prefix`; returns their names.

    A lease that expired but was not taken over is still the owner's: nobody else ran it.
    """
    lt = leases
    stmt = (
        sa.update(lt)
        .where(lt.c.owner == owner, lt.c.name.startswith(prefix, autoescape=True))
        .values(renewed_at=now, expires_at=now + ttl)
        .returning(lt.c.name)
    )
    return sorted(row.name for row in conn.execute(stmt))


def release(conn: Connection, *, owner: str, names: Sequence[str] | None = None) -> None:
    """Lets go of the named leases (default: all) held by `owner`."""
    lt = leases
    stmt = sa.delete(lt).where(lt.c.owner == owner)
    if names is not None:
        if not names:
            return
        stmt = stmt.where(lt.c.name.in_(sorted(set(names))))
    conn.execute(stmt)


def purge(conn: Connection, *, expired_before: datetime) -> int:
    """Deletes leases expired before `expired_before` (left by killed processes, or on
    deleted sources); returns how many. An expired lease is free anyway: this only
    keeps the table small."""
    lt = leases
    return conn.execute(sa.delete(lt).where(lt.c.expires_at < expired_before)).rowcount or 0


def live(conn: Connection, *, prefix: str, now: datetime) -> dict[str, str]:
    """Unexpired leases under `prefix`: name -> owner."""
    lt = leases
    query = sa.select(lt.c.name, lt.c.owner).where(
        lt.c.name.startswith(prefix, autoescape=True), lt.c.expires_at > now
    )
    return {row.name: row.owner for row in conn.execute(query)}


class LeaseStore(DatabaseStore):
    """The leases of a state store (SQLite or PostgreSQL) whose schema is at head."""

    def now(self) -> datetime:
        """The current time, as the leases see it."""
        return self._clock()

    def acquire(
        self, names: Sequence[str], *, owner: str, ttl: float, limit: int | None = None
    ) -> list[str]:
        """See `acquire()`; `ttl` in seconds."""
        with self._errors(), write_transaction(self._engine) as conn:
            return acquire(
                conn, names, owner=owner, ttl=_seconds(ttl), now=self._clock(), limit=limit
            )

    def renew(self, *, owner: str, ttl: float, prefix: str) -> list[str]:
        """See `renew()`; `ttl` in seconds."""
        with self._errors(), write_transaction(self._engine) as conn:
            return renew(conn, owner=owner, ttl=_seconds(ttl), now=self._clock(), prefix=prefix)

    def release(self, *, owner: str, names: Sequence[str] | None = None) -> None:
        """See `release()`."""
        with self._errors(), write_transaction(self._engine) as conn:
            release(conn, owner=owner, names=names)

    def purge(self, *, older_than: float) -> int:
        """Deletes the leases expired for more than `older_than` seconds; see `purge()`."""
        with self._errors(), write_transaction(self._engine) as conn:
            return purge(conn, expired_before=self._clock() - timedelta(seconds=older_than))

    def live(self, *, prefix: str) -> dict[str, str]:
        """See `live()`."""
        with self._errors(), read_transaction(self._engine) as conn:
            return live(conn, prefix=prefix, now=self._clock())


def _seconds(ttl: float) -> timedelta:
    if ttl <= 0:
        raise ValueError("a lease's ttl must be positive")
    return timedelta(seconds=ttl)


def live_count(leases: LeaseStore, *, prefix: str) -> int:
    """How many unexpired leases there are under `prefix` (e.g. live collectors)."""
    return len(leases.live(prefix=prefix))
