"""The `leases` table (migration 0007): who holds which piece of shared work, until when.

One row per lease, keyed by a name such as `source:lemonde-pixels` (a collector owns
that source), `member:collector:<owner>` (a collector is alive) or `alerts:evaluator`
(the one process evaluating alert rules). No foreign key to `sources`: a lease on a
deleted source is harmless and is dropped the next time its holder lets go of it.
"""

from __future__ import annotations

import sqlalchemy as sa

from services.store.state.schema import UtcDateTime, metadata

leases = sa.Table(
    "leases",
    metadata,
    sa.Column("name", sa.String(300), primary_key=True),
    sa.Column("owner", sa.String(200), nullable=False),
    sa.Column("acquired_at", UtcDateTime(), nullable=False),
    sa.Column("renewed_at", UtcDateTime(), nullable=False),
    sa.Column("expires_at", UtcDateTime(), nullable=False),
    sa.Index("ix_leases_owner", "owner"),
    sa.Index("ix_leases_expires_at", "expires_at"),
)
