"""Triage of mentions: each mention's workflow state, assignee and tags, and its notes.

Revision ID: 0014
Revises: 0012
Create Date: 2026-12-06

Frozen copy of the schema at this revision (does not import `triage_tables.py`). Only
adds tables: every stored mention starts `new`, as it has no row.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STATES = ("new", "in_progress", "answered", "escalated", "ignored")


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON(none_as_null=True).with_variant(
        postgresql.JSONB(none_as_null=True), "postgresql"
    )


def _time(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    """Creates the triage and triage_notes tables."""
    states = ", ".join(repr(s) for s in _STATES)
    op.create_table(
        "triage",
        sa.Column("mention_id", sa.String(64), nullable=False),
        sa.Column("story_id", sa.String(64), nullable=True),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("assignee", sa.String(200), nullable=True),
        sa.Column("tags", _json(), nullable=False),
        _time("updated_at"),
        sa.Column("updated_by", sa.String(200), nullable=True),
        _time("answered_at", nullable=True),
        sa.Column("answered_by", sa.String(200), nullable=True),
        sa.PrimaryKeyConstraint("mention_id", name=op.f("pk_triage")),
        sa.CheckConstraint(f"state IN ({states})", name=op.f("ck_triage_state")),
    )
    op.create_index("ix_triage_story_id", "triage", ["story_id"])
    op.create_table(
        "triage_notes",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("mention_id", sa.String(64), nullable=False),
        sa.Column("author", sa.String(200), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        _time("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_triage_notes")),
    )
    op.create_index("ix_triage_notes_mention_id", "triage_notes", ["mention_id"])


def downgrade() -> None:
    """Drops the triage tables."""
    op.drop_index("ix_triage_notes_mention_id", table_name="triage_notes")
    op.drop_table("triage_notes")
    op.drop_index("ix_triage_story_id", table_name="triage")
    op.drop_table("triage")
