"""A run's error kind as data, and turns in the inbox so that sources are served fairly.

A source's state ('unreachable', 'disabled' by a connector without its credentials) was
told from its last error message's first words; it is now read from the kind the
collector gives (`unreachable`, `timeout`, `refused`, `not_configured`, ...). Existing
rows are back-filled from the message prefixes they were written with, so every source
keeps the state it showed.

`inbox.source_name` and `inbox.turn`: an item's turn is how many items of its source
were already waiting when it came, so the analyzer takes every source's first waiting
item, then every source's second, and so on (a 100,000-item feed no longer queues
ahead of everyone else). Existing rows get turn 0 and no source: they keep their
first-in, first-out order, ahead of what comes next. Adds columns and an index only.

Revision ID: 0012
Revises: 0010
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (kind, SQL LIKE pattern of the messages that meant it), most specific first.
_LEGACY = (
    ("timeout", "unreachable: timed out%"),
    ("unreachable", "unreachable:%"),
    ("not_configured", "not configured:%"),
    ("refused", "refused:%"),
    ("too_large", "too large:%"),
    ("parse", "not a feed:%"),
)


def upgrade() -> None:
    with op.batch_alter_table("inbox") as batch:
        batch.add_column(sa.Column("source_name", sa.String(200), nullable=True))
        batch.add_column(sa.Column("turn", sa.Integer(), nullable=False, server_default="0"))
    op.create_index("ix_inbox_status_turn", "inbox", ["status", "turn", "enqueued_at"])
    op.create_index("ix_inbox_source_status", "inbox", ["source_name", "status"])
    with op.batch_alter_table("collection_runs") as batch:
        batch.add_column(sa.Column("error_kind", sa.String(40), nullable=True))
    with op.batch_alter_table("source_stats") as batch:
        batch.add_column(sa.Column("last_error_kind", sa.String(40), nullable=True))
    _backfill("collection_runs", "error", "error_kind", "status")
    _backfill("source_stats", "last_error", "last_error_kind", "last_status")


def _backfill(table: str, message: str, kind: str, status: str) -> None:
    t = sa.table(table, sa.column(message), sa.column(kind), sa.column(status))
    failed = sa.and_(t.c[status] == "error", t.c[kind].is_(None))
    for name, pattern in _LEGACY:
        op.execute(sa.update(t).where(failed, t.c[message].like(pattern)).values({kind: name}))
    op.execute(sa.update(t).where(failed).values({kind: "error"}))


def downgrade() -> None:
    with op.batch_alter_table("source_stats") as batch:
        batch.drop_column("last_error_kind")
    with op.batch_alter_table("collection_runs") as batch:
        batch.drop_column("error_kind")
    op.drop_index("ix_inbox_source_status", table_name="inbox")
    op.drop_index("ix_inbox_status_turn", table_name="inbox")
    with op.batch_alter_table("inbox") as batch:
        batch.drop_column("turn")
        batch.drop_column("source_name")
