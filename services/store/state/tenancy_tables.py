"""The installation's tables (migration 0013; 0018 made names unique whatever their case):
workspaces, people, sessions, the audit log.

They exist in every state database (migrations are the same for all) but only the
installation database, the `default` workspace's, is read and written: one place
knows who may enter which workspace. Every workspace's own data (sources, rules,
saved searches, the inbox) stays in its own database.
"""

from __future__ import annotations

import sqlalchemy as sa

from services.store.state.schema import UtcDateTime, metadata

workspaces = sa.Table(
    "workspaces",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("archived_at", UtcDateTime(), nullable=True),
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    # The name case-folded (`name_key`): unique, so "Alice" and "alice" are never two
    # people. NULL only on a row migration 0018 found sharing its key with an older one.
    sa.Column("name_key", sa.String(800), nullable=True, unique=True),
    sa.Column("email", sa.String(320), nullable=True, unique=True),
    sa.Column("password_hash", sa.String(300), nullable=True),
    sa.Column("created_at", UtcDateTime(), nullable=False),
)

memberships = sa.Table(
    "memberships",
    metadata,
    sa.Column("user_id", sa.String(32), sa.ForeignKey("users.id", ondelete="CASCADE")),
    sa.Column("workspace_id", sa.String(40), sa.ForeignKey("workspaces.id", ondelete="CASCADE")),
    sa.Column("role", sa.String(20), nullable=False),
    sa.PrimaryKeyConstraint("user_id", "workspace_id"),
)

sessions = sa.Table(
    "sessions",
    metadata,
    # SHA-256 of the cookie's random token: a leaked database opens no session.
    sa.Column("token_sha256", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.String(32), sa.ForeignKey("users.id", ondelete="CASCADE")),
    sa.Column("workspace_id", sa.String(40), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("expires_at", UtcDateTime(), nullable=False),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("at", UtcDateTime(), nullable=False),
    sa.Column("workspace_id", sa.String(40), nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),  # user name, key name or service
    sa.Column("actor_kind", sa.String(20), nullable=False),  # user, key, service, cli, local
    sa.Column("kind", sa.String(40), nullable=False),  # source, rule, brand, key, person, ...
    sa.Column("action", sa.String(40), nullable=False),  # create, replace, delete, ...
    sa.Column("target", sa.String(300), nullable=False),
    sa.Index("ix_audit_log_workspace_at", "workspace_id", "at"),
)
