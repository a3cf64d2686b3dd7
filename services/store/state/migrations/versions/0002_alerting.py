"""Alerting: saved searches, alert rules, alert events and their deliveries (the outbox).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22

Frozen copy of the schema at this revision: it deliberately does not import
`alerting_tables.py`, which moves on with later revisions. Only adds tables, so an
existing 0001 database upgrades in place without touching its rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON(none_as_null=True).with_variant(
        postgresql.JSONB(none_as_null=True), "postgresql"
    )


def _id() -> sa.types.TypeEngine[Any]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _time(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _spec_table(name: str) -> None:
    op.create_table(
        name,
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("spec", _json(), nullable=False),
        sa.Column("owner", sa.String(200), nullable=True),
        sa.Column("visibility", sa.String(10), nullable=False),
        _time("created_at"),
        _time("updated_at"),
        sa.CheckConstraint(
            "visibility IN ('private', 'shared')", name=op.f(f"ck_{name}_visibility")
        ),
        sa.PrimaryKeyConstraint("name", name=op.f(f"pk_{name}")),
    )


def upgrade() -> None:
    """Creates the alerting tables."""
    _spec_table("saved_searches")
    _spec_table("alert_rules")

    op.create_table(
        "alert_events",
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("rule_name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("dedupe_key", sa.String(200), nullable=False),
        sa.Column("numbers", _json(), nullable=False),
        _time("created_at"),
        sa.CheckConstraint("status IN ('firing', 'resolved')", name=op.f("ck_alert_events_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_events")),
        sa.UniqueConstraint(
            "rule_name", "status", "dedupe_key", name="uq_alert_events_rule_status_key"
        ),
    )
    op.create_index("ix_alert_events_rule_created", "alert_events", ["rule_name", "created_at"])

    op.create_table(
        "alert_deliveries",
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("event_id", _id(), nullable=False),
        sa.Column("channel", sa.String(300), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _time("next_attempt_at"),
        _time("lease_until", nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        _time("sent_at", nullable=True),
        _time("created_at"),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'failed')", name=op.f("ck_alert_deliveries_status")
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["alert_events.id"],
            name=op.f("fk_alert_deliveries_event_id_alert_events"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_deliveries")),
        sa.UniqueConstraint("event_id", "channel", name="uq_alert_deliveries_event_channel"),
    )
    op.create_index(
        "ix_alert_deliveries_status_next", "alert_deliveries", ["status", "next_attempt_at"]
    )


def downgrade() -> None:
    """Drops the alerting tables."""
    op.drop_index("ix_alert_deliveries_status_next", table_name="alert_deliveries")
    op.drop_table("alert_deliveries")
    op.drop_index("ix_alert_events_rule_created", table_name="alert_events")
    op.drop_table("alert_events")
    op.drop_table("alert_rules")
    op.drop_table("saved_searches")
