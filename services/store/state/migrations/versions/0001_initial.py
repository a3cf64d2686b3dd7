"""Initial schema: workspace, cursors, runs, source stats, inbox, API keys.

Revision ID: 0001
Revises:
Create Date: 2026-05-20

Frozen copy of the schema at this revision: it deliberately does not import
`tables.py`, which moves on with later revisions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON(none_as_null=True).with_variant(
        postgresql.JSONB(none_as_null=True), "postgresql"
    )


def _time(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _workspace(name: str) -> None:
    op.create_table(
        name,
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("spec", _json(), nullable=False),
        sa.Column("origin", sa.String(10), nullable=False),
        _time("created_at"),
        _time("updated_at"),
        sa.CheckConstraint("origin IN ('config', 'api')", name=op.f(f"ck_{name}_origin")),
        sa.PrimaryKeyConstraint("name", name=op.f(f"pk_{name}")),
    )


def _source_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["source_name"],
        ["sources.name"],
        name=op.f(f"fk_{table}_source_name_sources"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    """Creates every table."""
    for name in ("sources", "brands", "competitors"):
        _workspace(name)

    op.create_table(
        "cursors",
        sa.Column("source_name", sa.String(200), nullable=False),
        sa.Column("cursor", _json(), nullable=False),
        _time("updated_at"),
        _source_fk("cursors"),
        sa.PrimaryKeyConstraint("source_name", name=op.f("pk_cursors")),
    )

    op.create_table(
        "collection_runs",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("source_name", sa.String(200), nullable=False),
        _time("started_at"),
        _time("finished_at"),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("items_found", sa.Integer(), nullable=False),
        sa.Column("items_new", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('ok', 'not_modified', 'error')", name=op.f("ck_collection_runs_status")
        ),
        _source_fk("collection_runs"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collection_runs")),
    )
    op.create_index(
        "ix_collection_runs_source_started",
        "collection_runs",
        ["source_name", "started_at", "id"],
    )

    op.create_table(
        "source_stats",
        sa.Column("source_name", sa.String(200), nullable=False),
        _time("last_run_at"),
        _time("last_success_at", nullable=True),
        sa.Column("last_status", sa.String(20), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_items", sa.Integer(), nullable=False),
        sa.Column("total_items", sa.BigInteger(), nullable=False),
        sa.Column("consecutive_errors", sa.Integer(), nullable=False),
        _source_fk("source_stats"),
        sa.PrimaryKeyConstraint("source_name", name=op.f("pk_source_stats")),
    )

    op.create_table(
        "inbox",
        sa.Column("mention_id", sa.String(64), nullable=False),
        sa.Column("payload", _json(), nullable=True),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _time("lease_until", nullable=True),
        _time("enqueued_at"),
        _time("updated_at"),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'leased', 'done', 'failed')", name=op.f("ck_inbox_status")
        ),
        sa.PrimaryKeyConstraint("mention_id", name=op.f("pk_inbox")),
    )
    op.create_index("ix_inbox_status_enqueued", "inbox", ["status", "enqueued_at"])
    op.create_index("ix_inbox_status_lease", "inbox", ["status", "lease_until"])

    op.create_table(
        "api_keys",
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("secret_sha256", sa.String(64), nullable=False),
        _time("created_at"),
        _time("last_used_at", nullable=True),
        sa.Column("revoked", sa.Boolean(create_constraint=False), nullable=False),
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_api_keys")),
    )


def downgrade() -> None:
    """Drops every table."""
    op.drop_table("api_keys")
    op.drop_index("ix_inbox_status_lease", table_name="inbox")
    op.drop_index("ix_inbox_status_enqueued", table_name="inbox")
    op.drop_table("inbox")
    op.drop_table("source_stats")
    op.drop_index("ix_collection_runs_source_started", table_name="collection_runs")
    op.drop_table("collection_runs")
    op.drop_table("cursors")
    for name in ("competitors", "brands", "sources"):
        op.drop_table(name)
