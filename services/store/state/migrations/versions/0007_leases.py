"""Leases: which process holds which source (and the alert evaluator), until when.

Lets any number of collectors share the sources without collecting one twice, and
lets a dead collector's sources be taken over once its leases expire.

Revision ID: 0007
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Creates the leases table."""
    op.create_table(
        "leases",
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("renewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_leases")),
    )
    op.create_index("ix_leases_owner", "leases", ["owner"])
    op.create_index("ix_leases_expires_at", "leases", ["expires_at"])


def downgrade() -> None:
    """Drops the leases table."""
    op.drop_index("ix_leases_expires_at", table_name="leases")
    op.drop_index("ix_leases_owner", table_name="leases")
    op.drop_table("leases")
