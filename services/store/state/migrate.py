"""Runs the Alembic migrations from code, so nobody has to run `alembic` by hand.

Several processes may open a fresh store at once (API, collector, analyzer): the
upgrade runs inside one transaction that first takes a lock (BEGIN IMMEDIATE on
SQLite, an advisory lock on PostgreSQL), so one process migrates and the others
then find the schema at head. Both backends have transactional DDL, so a crash
mid-upgrade leaves the previous revision intact.
"""

from __future__ import annotations

import threading
from functools import cache
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy.engine import Connection, Engine

from services.store.state.engine import StateStoreError, write_transaction

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# pg_advisory_xact_lock key: any constant shared by every Veille process ("VEILLE").
_PG_LOCK_KEY = 0x5645494C4C45
# Alembic keeps the running environment in module globals: one upgrade at a time per process.
_alembic_lock = threading.Lock()


def alembic_config(url: str | None = None) -> Config:
    """An Alembic configuration for the state store, built without alembic.ini."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        # ConfigParser interpolation: a literal % must be doubled.
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


@cache
def _scripts() -> ScriptDirectory:
    """The migration scripts (read once: they do not change while Veille runs)."""
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str | None:
    """The newest revision this version of Veille knows."""
    return _scripts().get_current_head()


def current_revision(conn: Connection) -> str | None:
    """The revision the database is at (None before the first migration)."""
    return MigrationContext.configure(conn).get_current_revision()


def upgrade_to_head(engine: Engine) -> None:
    """Brings the schema to the newest revision, serialised across processes."""
    config = alembic_config()
    with _alembic_lock, write_transaction(engine) as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_PG_LOCK_KEY)))
        current = _refuse_unknown_revision(conn)
        config.attributes["connection"] = conn
        try:
            if current is not None and current == head_revision():
                return  # at head already: Alembic would load its environment to do nothing
            command.upgrade(config, "head")
        except CommandError as exc:
            raise StateStoreError(f"cannot migrate the state store: {exc}") from exc


def check_at_head(engine: Engine) -> None:
    """Raises StateStoreError unless the schema is at the newest revision."""
    with engine.connect() as conn:
        current = current_revision(conn)
    head = head_revision()
    if current != head:
        raise StateStoreError(
            f"the state store schema is at revision {current or 'none (empty database)'}, "
            f"this version of Veille expects {head}; open it with migrate=True to upgrade"
        )


def _refuse_unknown_revision(conn: Connection) -> str | None:
    """The database's revision, if this version of Veille knows it."""
    current = current_revision(conn)
    if current is None:
        return None
    if current not in {rev.revision for rev in _scripts().walk_revisions()}:
        raise StateStoreError(
            f"the state store schema is at revision {current!r}, which this version of "
            "Veille does not know: it was written by a newer Veille; upgrade Veille"
        )
    return current
