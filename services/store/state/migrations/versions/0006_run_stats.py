"""Crawl statistics per run: pages fetched and errors by kind, and the last run's figures.

`collection_runs.stats` and `source_stats.last_run_stats` hold a small JSON object
(pages_fetched, errors by kind, duration); NULL for runs recorded before this revision
and for collectors that report none. Adds nullable columns only: existing rows stay.

Revision ID: 0006
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON(none_as_null=True).with_variant(
        postgresql.JSONB(none_as_null=True), "postgresql"
    )


def upgrade() -> None:
    with op.batch_alter_table("collection_runs") as batch:
        batch.add_column(sa.Column("stats", _json(), nullable=True))
    with op.batch_alter_table("source_stats") as batch:
        batch.add_column(sa.Column("last_run_stats", _json(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("source_stats") as batch:
        batch.drop_column("last_run_stats")
    with op.batch_alter_table("collection_runs") as batch:
        batch.drop_column("stats")
