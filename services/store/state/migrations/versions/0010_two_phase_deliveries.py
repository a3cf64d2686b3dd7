"""Two-phase alert deliveries (`sending`, `unknown`, attempt ids) and alert chart tokens.

A worker now marks a delivery `sending` (with the attempt id it leased it under) right
before the network call and `sent` right after, so a crash in between is visible: the
next worker finds the row still `sending` with an expired lease and either re-sends it
(channels whose receivers drop duplicates by key) or parks it as `unknown`.

`alert_events.chart_token` is the unguessable part of the chart image URL put in Slack
messages (Slack fetches images without an API key). Older events have none: no chart.

Revision ID: 0010
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD = "status IN ('pending', 'sent', 'failed')"
_NEW = "status IN ('pending', 'sending', 'sent', 'failed', 'unknown')"


def upgrade() -> None:
    """Adds attempt_id and widens the status check (SQLite: the table is rebuilt); adds
    alert_events.chart_token (a plain ADD COLUMN: that table is not rebuilt)."""
    op.add_column("alert_events", sa.Column("chart_token", sa.String(64), nullable=True))
    with op.batch_alter_table("alert_deliveries") as batch:
        batch.add_column(sa.Column("attempt_id", sa.String(36), nullable=True))
        batch.drop_constraint(op.f("ck_alert_deliveries_status"), type_="check")
        batch.create_check_constraint(op.f("ck_alert_deliveries_status"), sa.text(_NEW))


def downgrade() -> None:
    """Back to three statuses: an in-flight send is pending again, an unknown one failed."""
    op.execute("UPDATE alert_deliveries SET status = 'pending' WHERE status = 'sending'")
    op.execute(
        "UPDATE alert_deliveries SET status = 'failed', last_error = 'outcome unknown' "
        "WHERE status = 'unknown'"
    )
    with op.batch_alter_table("alert_deliveries") as batch:
        batch.drop_constraint(op.f("ck_alert_deliveries_status"), type_="check")
        batch.create_check_constraint(op.f("ck_alert_deliveries_status"), sa.text(_OLD))
        batch.drop_column("attempt_id")
    with op.batch_alter_table("alert_events") as batch:
        batch.drop_column("chart_token")
