"""The data governance tables (migration 0015); see governance.py for their use."""

from __future__ import annotations

import sqlalchemy as sa

from services.store.state.schema import UtcDateTime, id_type, json_type, metadata, one_of

ERASURE_KINDS = ("author", "text")
ERASURE_STATUSES = ("running", "done", "failed")
ERASURE_STEPS = ("plan", "mentions", "inbox", "corrections", "alerts", "reports", "done")
MAX_ERROR_CHARS = 4000


retention_policies = sa.Table(
    "retention_policies",
    metadata,
    sa.Column("kind", sa.String(40), primary_key=True),
    sa.Column("days", sa.Integer(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.CheckConstraint("days > 0", name="days"),
)

retention_runs = sa.Table(
    "retention_runs",
    metadata,
    sa.Column("id", id_type(), primary_key=True, autoincrement=True),
    sa.Column("trigger", sa.String(20), nullable=False),  # daily, cli, api
    sa.Column("dry_run", sa.Boolean(create_constraint=False), nullable=False),
    sa.Column("started_at", UtcDateTime(), nullable=False),
    sa.Column("finished_at", UtcDateTime(), nullable=True),
    sa.Column("policy", json_type(), nullable=False),  # {kind: days} applied
    sa.Column("deleted", json_type(), nullable=False),  # {kind: count}
    sa.Column("error", sa.Text(), nullable=True),
    sa.Index("ix_retention_runs_started", "started_at"),
)

erasures = sa.Table(
    "erasures",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("kind", sa.String(10), nullable=False),
    sa.Column("identifier", sa.Text(), nullable=True),  # cleared once done
    sa.Column("identifier_hash", sa.String(64), nullable=False),
    # sha256 (rows from before 0016, until re-keyed) or hmac-sha256 (installation secret)
    sa.Column("hash_scheme", sa.String(12), nullable=False, server_default="sha256"),
    sa.Column("words", sa.Integer(), nullable=False),  # how many words the identifier has
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("step", sa.String(20), nullable=False),
    sa.Column("plan", json_type(), nullable=True),
    sa.Column("counts", json_type(), nullable=False),
    sa.Column("progress", sa.Integer(), nullable=False),
    sa.Column("holds", sa.Boolean(create_constraint=False), nullable=False),
    sa.Column("requested_by", sa.String(200), nullable=True),
    sa.Column("error", sa.Text(), nullable=True),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.Column("finished_at", UtcDateTime(), nullable=True),
    sa.CheckConstraint(one_of("kind", ERASURE_KINDS), name="kind"),
    sa.CheckConstraint(one_of("status", ERASURE_STATUSES), name="status"),
    sa.Index("ix_erasures_holds", "holds"),
)
