"""People's names unique whatever their case: `users.name_key`, the name case-folded.

"Alice" and "alice" were two people before; now the second is refused (`add_user`), and
this unique column keeps two processes adding them at once from both succeeding. Rows an
older version left sharing a key keep working: the oldest holds the key, the later ones
get NULL (a unique column takes any number of NULLs) and a warning counts them, without
naming anyone.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | Sequence[str] | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("veille.store.state")

_USERS = sa.table(
    "users",
    sa.column("id", sa.String()),
    sa.column("name", sa.String()),
    sa.column("created_at", sa.String()),
    sa.column("name_key", sa.String()),
)


def upgrade() -> None:
    op.add_column("users", sa.Column("name_key", sa.String(800), nullable=True))
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(_USERS.c.id, _USERS.c.name).order_by(_USERS.c.created_at, _USERS.c.id)
    ).all()
    taken: set[str] = set()
    shared = 0
    for row in rows:
        key = str(row.name).strip().casefold()
        if key in taken:
            shared += 1
            continue
        taken.add(key)
        conn.execute(sa.update(_USERS).where(_USERS.c.id == row.id).values(name_key=key))
    if shared:
        log.warning(
            "%d person(s) have the name of an older one in other letters (Alice, alice): "
            "they keep working, but `veille users list` shows two names a reader may take "
            "for one person",
            shared,
        )
    with op.batch_alter_table("users") as batch:
        batch.create_unique_constraint(op.f("uq_users_name_key"), ["name_key"])


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint(op.f("uq_users_name_key"), type_="unique")
        batch.drop_column("name_key")
