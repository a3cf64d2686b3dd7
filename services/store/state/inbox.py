"""The durable inbox between collection and analysis.

Rows: pending -> leased (by `claim`) -> done (`ack`), or back to pending (`release`,
or a lease that expired), or failed after `MAX_ATTEMPTS` attempts.

- Dedup: `enqueue` inserts unseen mention ids, and re-enqueues a known one (back to
  pending, attempts reset) only when its content hash changed. Identical
  re-collections are ignored, whatever the row's status, and not counted.
- Done rows drop their payload but keep the id and hash, so collecting the same
  content again does not enqueue it again.
- A changed item re-enqueued while leased goes back to pending: the analyzer holding
  the old copy can no longer ack or release it (both only touch leased rows), so the
  new content is never lost under an ack for the old one.
- An expired lease counts as an attempt, like a release: an item that kills its
  analyzer every time ends up failed instead of looping forever.
- Fair service: an item's `turn` is the number of items of its source already pending
  when it was enqueued (plus its place in its batch), and claims go by turn, then
  age. So every source's first waiting item comes before any source's second: one
  source enqueuing 100,000 items delays the others by at most one item each per turn.
- Claiming is safe with concurrent claimers: SELECT ... FOR UPDATE SKIP LOCKED on
  PostgreSQL; on SQLite the caller's BEGIN IMMEDIATE transaction serialises claims.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from services.core.models import RawItem
from services.store.state import tables
from services.store.state.contract import InboxItem
from services.store.state.engine import upsert

MAX_ATTEMPTS = 5
MAX_ERROR_CHARS = 4000
_CHUNK = 500  # rows per statement: far below SQLite's and PostgreSQL's bind parameter limits
_LEASE_EXPIRED = "lease expired: the analyzer stopped or was slower than its lease"

T = TypeVar("T")


def content_hash(item: RawItem) -> str:
    """Hashes what makes an item worth analyzing again when it changes.

    Title, text, author, URL and publication time; not engagement counts, which
    change on every collection and would re-enqueue everything.
    """
    published = item.published_at
    if published is not None:
        published = published.replace(tzinfo=UTC) if published.tzinfo is None else published
        published = published.astimezone(UTC)
    fields = [
        item.title,
        item.text,
        item.author,
        item.url,
        published.isoformat() if published is not None else None,
    ]
    encoded = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


def to_payload(item: RawItem) -> dict[str, Any]:
    """Serialises an item to JSON types for the `payload` column."""
    return item.model_dump(mode="json")


def from_payload(payload: dict[str, Any]) -> RawItem:
    """Rebuilds an item from its `payload` column."""
    return RawItem.model_validate(payload)


def enqueue(conn: Connection, items: Sequence[RawItem], *, now: datetime) -> int:
    """Adds unseen or changed items; returns how many. ValueError for an unidentifiable item."""
    # Key by id first: one upsert may not touch a row twice (PostgreSQL refuses),
    # and the latest copy of an item in a batch is the one to keep.
    turns = _turns(conn, items)
    rows = {
        item.mention_id: {
            "mention_id": item.mention_id,
            "source_name": item.source_name,
            "turn": turns[item.mention_id],
            "payload": to_payload(item),
            "content_hash": content_hash(item),
            "status": "pending",
            "attempts": 0,
            "lease_until": None,
            "enqueued_at": now,
            "updated_at": now,
            "last_error": None,
        }
        for item in items
    }
    i = tables.inbox
    added = 0
    # Sorted, so concurrent writers lock rows in one order and cannot deadlock.
    for chunk in _chunks([rows[key] for key in sorted(rows)]):
        stmt = upsert(conn, i).values(chunk)
        new = stmt.excluded
        stmt = stmt.on_conflict_do_update(
            index_elements=[i.c.mention_id],
            set_={
                "payload": new.payload,
                "content_hash": new.content_hash,
                "status": "pending",
                "attempts": 0,
                "lease_until": None,
                "enqueued_at": new.enqueued_at,
                "updated_at": new.updated_at,
                "last_error": None,
                "source_name": new.source_name,
                "turn": new.turn,
            },
            where=i.c.content_hash != new.content_hash,
        )
        # RETURNING yields the inserted and the updated rows, not the skipped ones.
        added += len(conn.execute(stmt.returning(i.c.mention_id)).all())
    return added


def _turns(conn: Connection, items: Sequence[RawItem]) -> dict[str, int]:
    """Each item's turn: its source's pending items, plus its place among its source's
    items in this batch (the feed's order; the last copy of a repeated id wins)."""
    i = tables.inbox
    by_source: dict[str, list[str]] = {}
    for item in items:
        ids = by_source.setdefault(item.source_name, [])
        if item.mention_id in ids:
            ids.remove(item.mention_id)
        ids.append(item.mention_id)
    turns: dict[str, int] = {}
    for source, ids in by_source.items():
        waiting = conn.execute(
            sa.select(sa.func.count())
            .select_from(i)
            .where(i.c.source_name == source, i.c.status == "pending")
        ).scalar_one()
        turns.update({mention_id: int(waiting) + n for n, mention_id in enumerate(ids)})
    return turns


def claim(conn: Connection, *, limit: int, lease_seconds: float, now: datetime) -> list[InboxItem]:
    """Leases up to `limit` pending or lease-expired items, by turn then oldest first."""
    i = tables.inbox
    claimable = sa.or_(
        i.c.status == "pending", sa.and_(i.c.status == "leased", i.c.lease_until < now)
    )
    query = (
        sa.select(i.c.mention_id, i.c.status, i.c.attempts)
        .where(claimable)
        .order_by(i.c.turn, i.c.enqueued_at, i.c.mention_id)  # fair: see the docstring
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    candidates = conn.execute(query).all()
    worn_out = [
        row.mention_id
        for row in candidates
        if row.status == "leased" and row.attempts + 1 >= MAX_ATTEMPTS
    ]
    for chunk in _chunks(worn_out):
        conn.execute(
            sa.update(i)
            .where(i.c.mention_id.in_(chunk))
            .values(
                status="failed",
                attempts=i.c.attempts + 1,
                lease_until=None,
                last_error=_LEASE_EXPIRED,
                updated_at=now,
            )
        )
    skip = set(worn_out)
    wanted = [row.mention_id for row in candidates if row.mention_id not in skip]
    expired = i.c.status == "leased"
    claimed: list[Row[Any]] = []
    for chunk in _chunks(wanted):
        claimed += conn.execute(
            sa.update(i)
            .where(i.c.mention_id.in_(chunk))
            .values(
                status="leased",
                attempts=sa.case((expired, i.c.attempts + 1), else_=i.c.attempts),
                last_error=sa.case((expired, _LEASE_EXPIRED), else_=i.c.last_error),
                lease_until=now + timedelta(seconds=lease_seconds),
                updated_at=now,
            )
            .returning(i.c.mention_id, i.c.payload, i.c.attempts, i.c.enqueued_at, i.c.turn)
        ).all()
    claimed.sort(key=lambda row: (row.turn, row.enqueued_at, row.mention_id))
    return [
        InboxItem(mention_id=row.mention_id, item=from_payload(row.payload), attempts=row.attempts)
        for row in claimed
    ]


def ack(conn: Connection, mention_ids: Sequence[str], *, now: datetime) -> None:
    """Marks leased (or failed) items done and drops their payload."""
    i = tables.inbox
    for chunk in _chunks(sorted(set(mention_ids))):
        conn.execute(
            sa.update(i)
            .where(i.c.mention_id.in_(chunk), i.c.status.in_(("leased", "failed")))
            .values(status="done", payload=None, lease_until=None, last_error=None, updated_at=now)
        )


def release(
    conn: Connection, mention_ids: Sequence[str], *, error: str | None, now: datetime
) -> None:
    """Gives leased items back as pending, or parks them as failed after MAX_ATTEMPTS."""
    i = tables.inbox
    attempts = i.c.attempts + 1
    values: dict[str, Any] = {
        "attempts": attempts,
        "status": sa.case((attempts >= MAX_ATTEMPTS, "failed"), else_="pending"),
        "lease_until": None,
        "updated_at": now,
    }
    if error is not None:
        values["last_error"] = error[:MAX_ERROR_CHARS]
    for chunk in _chunks(sorted(set(mention_ids))):
        conn.execute(
            sa.update(i).where(i.c.mention_id.in_(chunk), i.c.status == "leased").values(values)
        )


def stored_between(conn: Connection, *, since: datetime, until: datetime, limit: int) -> list[str]:
    """Ids of the items done (analyzed and stored, or dropped) in [since, until), oldest first."""
    i = tables.inbox
    query = (
        sa.select(i.c.mention_id)
        .where(i.c.status == "done", i.c.updated_at >= since, i.c.updated_at < until)
        .order_by(i.c.updated_at, i.c.mention_id)
        .limit(limit)
    )
    return [row.mention_id for row in conn.execute(query)]


def counts(conn: Connection) -> dict[str, int]:
    """How many items are in each status (every status present, 0 when none)."""
    i = tables.inbox
    found: dict[str, int] = {
        status: n
        for status, n in conn.execute(sa.select(i.c.status, sa.func.count()).group_by(i.c.status))
    }
    return {status: int(found.get(status, 0)) for status in tables.INBOX_STATUSES}


def _chunks(values: list[T]) -> Iterator[list[T]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]
