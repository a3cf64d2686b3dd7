"""Index the inbox by status and update time, for "what was stored since" queries.

New-mention alert rules ask which mentions were stored (acknowledged) in a window.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_inbox_status_updated", "inbox", ["status", "updated_at"])


def downgrade() -> None:
    op.drop_index("ix_inbox_status_updated", table_name="inbox")
