"""Alerting state: saved searches, alert rules, and the durable outbox (events, deliveries).

Tables (created by migration 0002; two-phase deliveries and chart tokens added by 0010,
events' `baseline` by 0019) and the SQL that `SqlStateStore` runs on them.

Saved searches and alert rules keep their whole definition as JSON in `spec`, like the
workspace tables: the alerting layer validates it, the store only queries name, owner and
visibility. Events and deliveries are the outbox:

- `alert_events` is unique on (rule, status, dedupe_key): the evaluator can record the
  same alert twice (a crash after recording, an evaluation replayed) and it is stored once.
- `alert_deliveries` is unique on (event, channel): one row per channel. A delivery is
  `pending` until a worker leases it (`lease_until`, and a fresh `attempt_id` that every
  later write must quote, so a worker whose lease was taken over cannot overwrite the
  new holder's outcome). Right before the network call the worker marks it `sending`,
  right after `sent` (or `pending` again for a retry, or `failed`). A row still
  `sending` once its lease has expired is *in doubt*: its worker died between the send
  and the acknowledgement. It is claimable again, flagged `in_doubt`, and the outbox
  decides per channel: re-send with the same idempotency key, or park it as `unknown`.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from services.store.state.contract import (
    AlertEventRecord,
    ConflictError,
    DeliveryRecord,
    DueDelivery,
    NameTakenError,
    NotFoundError,
    SpecRecord,
)
from services.store.state.engine import upsert
from services.store.state.schema import UtcDateTime, id_type, json_type, metadata, one_of

VISIBILITIES = ("private", "shared")
EVENT_STATUSES = ("firing", "resolved")
DELIVERY_STATUSES = ("pending", "sending", "sent", "failed", "unknown")
MAX_ERROR_CHARS = 4000


def _spec_table(name: str) -> sa.Table:
    # Saved searches and alert rules are stored alike (`put_spec` and the others serve both).
    return sa.Table(
        name,
        metadata,
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("spec", json_type(), nullable=False),
        sa.Column("owner", sa.String(200), nullable=True),
        sa.Column("visibility", sa.String(10), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.CheckConstraint(one_of("visibility", VISIBILITIES), name="visibility"),
    )


saved_searches = _spec_table("saved_searches")
alert_rules = _spec_table("alert_rules")

alert_events = sa.Table(
    "alert_events",
    metadata,
    sa.Column("id", id_type(), primary_key=True, autoincrement=True),
    # No foreign key: events outlive a deleted rule (they are history).
    sa.Column("rule_name", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("dedupe_key", sa.String(200), nullable=False),
    sa.Column("numbers", json_type(), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    # The unguessable part of the chart image URL (Slack fetches images without a key).
    sa.Column("chart_token", sa.String(64), nullable=True),
    # How 'expected' was computed, as data (0019); NULL: only the sentence in `numbers`.
    sa.Column("baseline", json_type(), nullable=True),
    sa.CheckConstraint(one_of("status", EVENT_STATUSES), name="status"),
    sa.UniqueConstraint(
        "rule_name", "status", "dedupe_key", name="uq_alert_events_rule_status_key"
    ),
    sa.Index("ix_alert_events_rule_created", "rule_name", "created_at"),
)

alert_deliveries = sa.Table(
    "alert_deliveries",
    metadata,
    sa.Column("id", id_type(), primary_key=True, autoincrement=True),
    sa.Column(
        "event_id",
        id_type(),
        sa.ForeignKey("alert_events.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("channel", sa.String(300), nullable=False),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("next_attempt_at", UtcDateTime(), nullable=False),
    sa.Column("lease_until", UtcDateTime(), nullable=True),
    sa.Column("last_error", sa.Text(), nullable=True),
    sa.Column("sent_at", UtcDateTime(), nullable=True),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("attempt_id", sa.String(36), nullable=True),  # the current lease's token
    sa.CheckConstraint(one_of("status", DELIVERY_STATUSES), name="status"),
    sa.UniqueConstraint("event_id", "channel", name="uq_alert_deliveries_event_channel"),
    sa.Index("ix_alert_deliveries_status_next", "status", "next_attempt_at"),
)

SPEC_TABLES = {"saved_search": saved_searches, "alert_rule": alert_rules}
_LABELS = {"saved_search": "saved search", "alert_rule": "alert rule"}


# -- saved searches and alert rules ---------------------------------------------------


def _spec(row: Row[Any]) -> SpecRecord:
    return SpecRecord(
        name=row.name,
        spec=dict(row.spec),
        owner=row.owner,
        visibility=row.visibility,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def list_specs(conn: Connection, kind: str) -> list[SpecRecord]:
    """Every row of a spec table, by name."""
    t = SPEC_TABLES[kind]
    return [_spec(row) for row in conn.execute(sa.select(t).order_by(t.c.name))]


def get_spec(conn: Connection, kind: str, name: str) -> SpecRecord:
    """One row; NotFoundError when absent."""
    t = SPEC_TABLES[kind]
    row = conn.execute(sa.select(t).where(t.c.name == name)).first()
    if row is None:
        raise NotFoundError(f"no {_LABELS[kind]} is named {name!r}")
    return _spec(row)


def put_spec(
    conn: Connection,
    kind: str,
    *,
    name: str,
    spec: dict[str, Any],
    owner: str | None,
    visibility: str,
    create_only: bool,
    now: datetime,
) -> None:
    """Creates or replaces a row (keeping its created_at); ConflictError when create_only."""
    if visibility not in VISIBILITIES:
        raise ValueError(f"visibility must be one of {VISIBILITIES}, got {visibility!r}")
    t = SPEC_TABLES[kind]
    exists = conn.execute(sa.select(t.c.name).where(t.c.name == name)).first() is not None
    if exists and create_only:
        raise NameTakenError(f"a {_LABELS[kind]} named {name!r} already exists")
    if exists:
        conn.execute(
            sa.update(t)
            .where(t.c.name == name)
            .values(spec=spec, owner=owner, visibility=visibility, updated_at=now)
        )
        return
    conn.execute(
        sa.insert(t).values(
            name=name,
            spec=spec,
            owner=owner,
            visibility=visibility,
            created_at=now,
            updated_at=now,
        )
    )


def delete_spec(conn: Connection, kind: str, name: str) -> None:
    """Deletes a row; NotFoundError when absent."""
    t = SPEC_TABLES[kind]
    if conn.execute(sa.delete(t).where(t.c.name == name)).rowcount == 0:
        raise NotFoundError(f"no {_LABELS[kind]} is named {name!r}")


def rename_spec(
    conn: Connection,
    kind: str,
    old: str,
    *,
    name: str,
    spec: dict[str, Any],
    owner: str | None,
    visibility: str,
    now: datetime,
    before_delete: Callable[[], None] | None = None,
) -> list[str]:
    """Renames a row, with its new spec, in the caller's transaction: NotFoundError when
    `old` is absent, ConflictError when `name` is taken. A renamed saved search takes the
    alert rules watching it along (their `target` follows); returns their names. Then
    `before_delete` runs (what lives outside the database follows there), and the old
    row goes last: whatever raises on the way leaves the transaction to roll back."""
    t = SPEC_TABLES[kind]
    current = conn.execute(sa.select(t.c.created_at).where(t.c.name == old)).first()
    if current is None:
        raise NotFoundError(f"no {_LABELS[kind]} is named {old!r}")
    put_spec(
        conn,
        kind,
        name=name,
        spec=spec,
        owner=owner,
        visibility=visibility,
        create_only=True,
        now=now,
    )
    conn.execute(sa.update(t).where(t.c.name == name).values(created_at=current.created_at))
    moved: list[str] = []
    if kind == "saved_search":
        for rule in list_specs(conn, "alert_rule"):
            if rule.spec.get("target_type") == "saved_search" and rule.spec.get("target") == old:
                conn.execute(
                    sa.update(alert_rules)
                    .where(alert_rules.c.name == rule.name)
                    .values(spec={**rule.spec, "target": name}, updated_at=now)
                )
                moved.append(rule.name)
    if before_delete is not None:
        before_delete()
    delete_spec(conn, kind, old)
    return moved


# -- the outbox ---------------------------------------------------------------------


def record_event(
    conn: Connection,
    *,
    rule_name: str,
    kind: str,
    status: str,
    dedupe_key: str,
    numbers: dict[str, Any],
    channels: Sequence[str],
    now: datetime,
    deliver_after: datetime | None,
    baseline: dict[str, Any] | None = None,
) -> int | None:
    """Inserts an event and one pending delivery per channel; None if already recorded."""
    if status not in EVENT_STATUSES:
        raise ValueError(f"event status must be one of {EVENT_STATUSES}, got {status!r}")
    e = alert_events
    stmt = (
        upsert(conn, e)
        .values(
            rule_name=rule_name,
            kind=kind,
            status=status,
            dedupe_key=dedupe_key,
            numbers=numbers,
            baseline=baseline,
            created_at=now,
            chart_token=secrets.token_urlsafe(24),
        )
        .on_conflict_do_nothing(index_elements=[e.c.rule_name, e.c.status, e.c.dedupe_key])
        .returning(e.c.id)
    )
    event_id = conn.execute(stmt).scalar()
    if event_id is None:
        return None
    due = deliver_after if deliver_after is not None and deliver_after > now else now
    unique = sorted(set(channels))
    if unique:
        conn.execute(
            sa.insert(alert_deliveries),
            [
                {
                    "event_id": event_id,
                    "channel": channel,
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": due,
                    "lease_until": None,
                    "last_error": None,
                    "sent_at": None,
                    "created_at": now,
                }
                for channel in unique
            ],
        )
    return int(event_id)


def _deliveries(conn: Connection, event_ids: Sequence[int]) -> dict[int, list[DeliveryRecord]]:
    d = alert_deliveries
    found: dict[int, list[DeliveryRecord]] = {i: [] for i in event_ids}
    if not event_ids:
        return found
    rows = conn.execute(sa.select(d).where(d.c.event_id.in_(list(event_ids))).order_by(d.c.channel))
    for row in rows:
        found[row.event_id].append(
            DeliveryRecord(
                id=row.id,
                event_id=row.event_id,
                channel=row.channel,
                status=row.status,
                attempts=row.attempts,
                next_attempt_at=row.next_attempt_at,
                last_error=row.last_error,
                sent_at=row.sent_at,
            )
        )
    return found


def _event(row: Any, deliveries: list[DeliveryRecord]) -> AlertEventRecord:
    """An event from a row of `alert_events` or of the claim's join (the event's columns)."""
    return AlertEventRecord(
        id=row.id,
        rule_name=row.rule_name,
        kind=row.kind,
        status=row.status,
        dedupe_key=row.dedupe_key,
        numbers=dict(row.numbers),
        created_at=row.created_at,
        deliveries=deliveries,
        chart_token=row.chart_token,
        baseline=dict(row.baseline) if row.baseline is not None else None,
    )


def list_events(
    conn: Connection,
    *,
    rule_name: str | None,
    before_id: int | None,
    limit: int,
    rule_names: Sequence[str] | None = None,
) -> list[AlertEventRecord]:
    """Events newest first, with their deliveries (of `rule_name`, and of one of
    `rule_names`, when given)."""
    e = alert_events
    query = sa.select(e).order_by(e.c.id.desc()).limit(limit)
    if rule_name is not None:
        query = query.where(e.c.rule_name == rule_name)
    if rule_names is not None:
        query = query.where(e.c.rule_name.in_(sorted(set(rule_names))))
    if before_id is not None:
        query = query.where(e.c.id < before_id)
    rows = conn.execute(query).all()
    deliveries = _deliveries(conn, [row.id for row in rows])
    return [_event(row, deliveries[row.id]) for row in rows]


def get_event(conn: Connection, event_id: int) -> AlertEventRecord:
    """One event with its deliveries; NotFoundError when absent."""
    e = alert_events
    row = conn.execute(sa.select(e).where(e.c.id == event_id)).first()
    if row is None:
        raise NotFoundError(f"no alert event has the id {event_id}")
    return _event(row, _deliveries(conn, [event_id])[event_id])


def claim_due(
    conn: Connection, *, limit: int, lease_seconds: float, now: datetime
) -> list[DueDelivery]:
    """Leases up to `limit` due deliveries: pending ones not leased, and `sending` ones whose
    lease expired (in doubt). Each gets a fresh attempt id; attempts are counted at send."""
    d, e = alert_deliveries, alert_events
    claimable = sa.and_(
        d.c.status.in_(("pending", "sending")),
        d.c.next_attempt_at <= now,
        sa.or_(d.c.lease_until.is_(None), d.c.lease_until < now),
    )
    query = sa.select(d.c.id).where(claimable).order_by(d.c.next_attempt_at, d.c.id).limit(limit)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    ids = [row.id for row in conn.execute(query)]
    if not ids:
        return []
    tokens = {delivery_id: str(uuid.uuid4()) for delivery_id in ids}
    lease_until = now + timedelta(seconds=lease_seconds)
    for delivery_id, token in tokens.items():
        conn.execute(
            sa.update(d)
            .where(d.c.id == delivery_id)
            .values(attempt_id=token, lease_until=lease_until)
        )
    rows = conn.execute(
        sa.select(
            d.c.id.label("delivery_id"),
            d.c.channel,
            d.c.attempts,
            d.c.status.label("delivery_status"),
            e.c.id,  # the event's, as `_event` reads it
            e.c.rule_name,
            e.c.kind,
            e.c.status,
            e.c.dedupe_key,
            e.c.numbers,
            e.c.created_at,
            e.c.chart_token,
            e.c.baseline,
        )
        .join(e, e.c.id == d.c.event_id)
        .where(d.c.id.in_(ids))
        .order_by(d.c.next_attempt_at, d.c.id)
    ).all()
    return [
        DueDelivery(
            delivery_id=row.delivery_id,
            channel=row.channel,
            attempts=row.attempts + 1,
            event=_event(row, []),
            attempt_id=tokens[row.delivery_id],
            in_doubt=row.delivery_status == "sending",
        )
        for row in rows
    ]


def _held(delivery_id: int, attempt_id: str | None) -> sa.ColumnElement[bool]:
    """The row, if still held under this attempt id (any holder when None: admin/tests)."""
    d = alert_deliveries
    if attempt_id is None:
        return d.c.id == delivery_id
    return sa.and_(d.c.id == delivery_id, d.c.attempt_id == attempt_id)


def mark_sending(
    conn: Connection, delivery_id: int, *, attempt_id: str, lease_seconds: float, now: datetime
) -> bool:
    """Phase one, right before the network call: `sending`, one more attempt, lease renewed.
    False when the lease was lost to another worker (then do not send)."""
    d = alert_deliveries
    result = conn.execute(
        sa.update(d)
        .where(_held(delivery_id, attempt_id), d.c.status.in_(("pending", "sending")))
        .values(
            status="sending",
            attempts=d.c.attempts + 1,
            lease_until=now + timedelta(seconds=lease_seconds),
        )
    )
    return bool(result.rowcount)


def mark_sent(
    conn: Connection, delivery_id: int, *, now: datetime, attempt_id: str | None = None
) -> None:
    """Phase two: marks a delivery sent (idempotent; a stale attempt id changes nothing)."""
    d = alert_deliveries
    conn.execute(
        sa.update(d)
        .where(_held(delivery_id, attempt_id), d.c.status.in_(("pending", "sending")))
        .values(status="sent", sent_at=now, lease_until=None, last_error=None)
    )


def mark_retry(
    conn: Connection,
    delivery_id: int,
    *,
    error: str,
    next_attempt_at: datetime,
    attempt_id: str | None = None,
) -> None:
    """Gives a delivery back (`pending`) for another attempt at `next_attempt_at`."""
    d = alert_deliveries
    conn.execute(
        sa.update(d)
        .where(_held(delivery_id, attempt_id), d.c.status.in_(("pending", "sending")))
        .values(
            status="pending",
            next_attempt_at=next_attempt_at,
            lease_until=None,
            last_error=error[:MAX_ERROR_CHARS],
        )
    )


def mark_failed(
    conn: Connection, delivery_id: int, *, error: str, attempt_id: str | None = None
) -> None:
    """Parks a delivery as failed for good."""
    _park(conn, delivery_id, status="failed", error=error, attempt_id=attempt_id)


def mark_unknown(conn: Connection, delivery_id: int, *, note: str, attempt_id: str) -> None:
    """Parks an in-doubt delivery as `unknown`: maybe delivered, deliberately not re-sent."""
    _park(conn, delivery_id, status="unknown", error=note, attempt_id=attempt_id)


def _park(
    conn: Connection, delivery_id: int, *, status: str, error: str, attempt_id: str | None
) -> None:
    d = alert_deliveries
    conn.execute(
        sa.update(d)
        .where(_held(delivery_id, attempt_id), d.c.status.in_(("pending", "sending")))
        .values(status=status, lease_until=None, last_error=error[:MAX_ERROR_CHARS])
    )


def requeue(conn: Connection, event_id: int, channel: str, *, now: datetime) -> None:
    """A person asks for another try: an `unknown` or `failed` delivery is pending again,
    due now. NotFoundError when absent, ConflictError in any other status."""
    d = alert_deliveries
    row = conn.execute(
        sa.select(d.c.id, d.c.status).where(d.c.event_id == event_id, d.c.channel == channel)
    ).first()
    if row is None:
        raise NotFoundError(f"alert event {event_id} has no delivery to {channel!r}")
    if row.status not in ("unknown", "failed"):
        raise ConflictError(
            f"only an unknown or failed delivery can be sent again; this one is {row.status}"
        )
    conn.execute(
        sa.update(d)
        .where(d.c.id == row.id, d.c.status == row.status)
        .values(status="pending", next_attempt_at=now, lease_until=None, attempt_id=None)
    )
