"""Erasure records: how `identifier_hash` was made.

Rows from before are `sha256` (an unsalted hash of the folded words); new ones are
`hmac-sha256` (an HMAC, keyed with the installation secret, of that hash), and the
service re-keys the old ones at start (`services/runtime/governance/erasure.py: rekey_erasures`):
the migration cannot, as the secret is not the database's to know.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "erasures",
        sa.Column("hash_scheme", sa.String(12), nullable=False, server_default="sha256"),
    )


def downgrade() -> None:
    with op.batch_alter_table("erasures") as batch:
        batch.drop_column("hash_scheme")
