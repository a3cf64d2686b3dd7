"""Brand corrections: an analyst says whether a mention is about a brand or competitor.

`corrections.field` may now be "brand" (label `{"about_brand": bool, "role": ...}`); the
tagger learns those passages (services/analyzer/brands/disambiguation.py). Only the
check constraint changes; a downgrade deletes the brand corrections first, since the old
constraint would refuse them.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CONSTRAINT = "ck_corrections_field"


def upgrade() -> None:
    with op.batch_alter_table("corrections") as batch:
        batch.drop_constraint(op.f(_CONSTRAINT), type_="check")
        batch.create_check_constraint(
            op.f(_CONSTRAINT), "field IN ('sentiment', 'topics', 'brand')"
        )


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM corrections WHERE field = 'brand'"))
    with op.batch_alter_table("corrections") as batch:
        batch.drop_constraint(op.f(_CONSTRAINT), type_="check")
        batch.create_check_constraint(op.f(_CONSTRAINT), "field IN ('sentiment', 'topics')")
