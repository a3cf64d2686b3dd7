"""Analyst corrections (labels keyed by mention and content fingerprint) and
re-analysis jobs (what to re-analyze and how far it got).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22

Frozen copy of the schema at this revision (does not import `corrections.py`). Only
adds tables, so an existing database upgrades in place.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON(none_as_null=True).with_variant(
        postgresql.JSONB(none_as_null=True), "postgresql"
    )


def _time(name: str) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    """Creates the corrections and reanalysis_jobs tables."""
    op.create_table(
        "corrections",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("mention_id", sa.String(64), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("field", sa.String(20), nullable=False),
        sa.Column("brand", sa.String(200), nullable=False),
        sa.Column("label", _json(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("language", sa.String(16), nullable=True),
        sa.Column("author", sa.String(200), nullable=True),
        _time("created_at"),
        sa.CheckConstraint("field IN ('sentiment', 'topics')", name=op.f("ck_corrections_field")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_corrections")),
    )
    op.create_index("ix_corrections_fingerprint", "corrections", ["fingerprint"])
    op.create_index("ix_corrections_mention", "corrections", ["mention_id"])
    op.create_table(
        "reanalysis_jobs",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("spec", _json(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("cursor", sa.String(200), nullable=True),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        _time("created_at"),
        _time("updated_at"),
        sa.CheckConstraint(
            "status IN ('pending', 'running', 'done', 'failed')",
            name=op.f("ck_reanalysis_jobs_status"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reanalysis_jobs")),
    )


def downgrade() -> None:
    """Drops them."""
    op.drop_table("reanalysis_jobs")
    op.drop_index("ix_corrections_mention", table_name="corrections")
    op.drop_index("ix_corrections_fingerprint", table_name="corrections")
    op.drop_table("corrections")
