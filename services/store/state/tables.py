"""The state store's schema, as SQLAlchemy Core tables.

This is the schema the code expects; the Alembic migrations in `migrations/versions`
create it (tests check that the migrated database matches these tables). Workspace
rows keep the whole domain object as JSON in `spec`, so adding a field to `Source`
needs no migration; only what the store queries on has a column of its own.
"""

from __future__ import annotations

import sqlalchemy as sa

from services.store.state.schema import UtcDateTime as UtcDateTime
from services.store.state.schema import id_type, one_of
from services.store.state.schema import json_type as json_type
from services.store.state.schema import metadata as metadata

INBOX_STATUSES = ("pending", "leased", "done", "failed")
ORIGINS = ("config", "api")
RUN_STATUSES = ("ok", "not_modified", "error")


def _workspace_table(name: str) -> sa.Table:
    return sa.Table(
        name,
        metadata,
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("spec", json_type(), nullable=False),
        sa.Column("origin", sa.String(10), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.CheckConstraint(one_of("origin", ORIGINS), name="origin"),
    )


def _source_name(*, primary_key: bool = False) -> sa.Column[str]:
    # The source a row belongs to, always set: deleted with it.
    return sa.Column(
        "source_name",
        sa.String(200),
        sa.ForeignKey("sources.name", ondelete="CASCADE"),
        primary_key=primary_key,
        nullable=False,
    )


sources = _workspace_table("sources")
brands = _workspace_table("brands")
competitors = _workspace_table("competitors")

cursors = sa.Table(
    "cursors",
    metadata,
    _source_name(primary_key=True),
    sa.Column("cursor", json_type(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
)

collection_runs = sa.Table(
    "collection_runs",
    metadata,
    sa.Column(
        "id",
        id_type(),
        primary_key=True,
        autoincrement=True,
    ),
    _source_name(),
    sa.Column("started_at", UtcDateTime(), nullable=False),
    sa.Column("finished_at", UtcDateTime(), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("items_found", sa.Integer(), nullable=False),
    sa.Column("items_new", sa.Integer(), nullable=False),
    sa.Column("error", sa.Text(), nullable=True),
    sa.Column("stats", json_type(), nullable=True),  # crawl figures (revision 0006)
    sa.Column("error_kind", sa.String(40), nullable=True),  # revision 0012
    sa.CheckConstraint(one_of("status", RUN_STATUSES), name="status"),
    sa.Index("ix_collection_runs_source_started", "source_name", "started_at", "id"),
)

# Running totals per source, updated in the transaction that records each run:
# `collection_runs` keeps only the last runs, these remember the whole history.
source_stats = sa.Table(
    "source_stats",
    metadata,
    _source_name(primary_key=True),
    sa.Column("last_run_at", UtcDateTime(), nullable=False),
    sa.Column("last_success_at", UtcDateTime(), nullable=True),
    sa.Column("last_status", sa.String(20), nullable=False),
    sa.Column("last_error", sa.Text(), nullable=True),
    sa.Column("last_items", sa.Integer(), nullable=False),
    sa.Column("total_items", sa.BigInteger(), nullable=False),
    sa.Column("consecutive_errors", sa.Integer(), nullable=False),
    sa.Column("last_run_stats", json_type(), nullable=True),  # revision 0006
    sa.Column("last_error_kind", sa.String(40), nullable=True),  # revision 0012
)

inbox = sa.Table(
    "inbox",
    metadata,
    sa.Column("mention_id", sa.String(64), primary_key=True),
    sa.Column("payload", json_type(), nullable=True),  # NULL once done
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("lease_until", UtcDateTime(), nullable=True),
    sa.Column("enqueued_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.Column("last_error", sa.Text(), nullable=True),
    # Fair service (revision 0012): the source's waiting items when this one came.
    sa.Column("source_name", sa.String(200), nullable=True),
    sa.Column("turn", sa.Integer(), nullable=False, server_default="0"),
    sa.CheckConstraint(one_of("status", INBOX_STATUSES), name="status"),
    sa.Index("ix_inbox_status_enqueued", "status", "enqueued_at"),
    sa.Index("ix_inbox_status_turn", "status", "turn", "enqueued_at"),
    sa.Index("ix_inbox_source_status", "source_name", "status"),
    sa.Index("ix_inbox_status_lease", "status", "lease_until"),
    sa.Index("ix_inbox_status_updated", "status", "updated_at"),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("key_id", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("secret_sha256", sa.String(64), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("last_used_at", UtcDateTime(), nullable=True),
    sa.Column("revoked", sa.Boolean(create_constraint=False), nullable=False),
    # Migration 0013 (tenancy): the workspace a key reads, its role, whose it is, until when.
    sa.Column("workspace_id", sa.String(40), nullable=False, server_default="default"),
    sa.Column("role", sa.String(20), nullable=False, server_default="admin"),
    sa.Column("user_id", sa.String(32), nullable=True),
    sa.Column("service", sa.String(200), nullable=True),
    sa.Column("expires_at", UtcDateTime(), nullable=True),
)

# Registers the alerting tables (saved searches, rules, outbox) on `metadata`.
from services.store.state import alerting_tables as alerting_tables  # noqa: E402

# Registers the corrections and re-analysis job tables on `metadata`.
from services.store.state import corrections as corrections  # noqa: E402

# Registers the data governance tables (retention, erasures) on `metadata`.
from services.store.state import governance_tables as governance_tables  # noqa: E402

# Registers the `leases` table (work shared between processes) on `metadata`.
from services.store.state import lease_tables as lease_tables  # noqa: E402

# Registers the installation tables (workspaces, users, memberships, sessions, audit log).
from services.store.state import tenancy_tables as tenancy_tables  # noqa: E402

# Registers the triage tables (workflow state of mentions, notes) on `metadata`.
from services.store.state import triage_tables as triage_tables  # noqa: E402
