"""Opening the state store's database: URL checks, engine settings, readable errors.

SQLite (the default, one file) gets WAL mode, so readers never wait for the writer;
a 10 s busy timeout, so concurrent writers queue instead of failing; and foreign
keys, which SQLite leaves off unless asked per connection. Write transactions start
with BEGIN IMMEDIATE: taking the write lock up front makes concurrent writers wait
(up to the busy timeout) rather than fail when a read transaction tries to upgrade.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Connection, Engine

from services.store.state.errors import StateStoreError as StateStoreError

BUSY_TIMEOUT_SECONDS = 10
CONNECT_TIMEOUT_SECONDS = 10
_BEGIN_OPTION = "veille_sqlite_begin"
_URL_HELP = "use sqlite:///path/to/veille.db or postgresql+psycopg://user:password@host:5432/db"


def redact(url: str) -> str:
    """Hides the password of a URL-like string, even one that does not parse."""
    return re.sub(r"(://[^:/@]*):[^@/]*@", r"\1:***@", url)


def parse_url(url: str) -> URL:
    """Parses and checks a state store URL; `postgresql://` means psycopg 3."""
    try:
        parsed = sa.make_url(url)
    except sa_exc.ArgumentError:
        raise StateStoreError(f"invalid state store URL {redact(url)!r}: {_URL_HELP}") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        database = parsed.database or ""
        if database in ("", ":memory:") or parsed.query.get("mode") == "memory":
            raise StateStoreError(
                "the state store needs a file, not an in-memory SQLite database "
                f"({redact(url)!r}): {_URL_HELP}"
            )
        return parsed
    if backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        return parsed
    raise StateStoreError(f"unsupported state store URL scheme {parsed.drivername!r}: {_URL_HELP}")


def create_state_engine(url: URL) -> Engine:
    """Creates the engine for a checked URL, with the SQLite settings described above."""
    try:
        if url.get_backend_name() == "sqlite":
            _make_parent_dir(url)
            engine = sa.create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_SECONDS})
            _configure_sqlite(engine)
            return engine
        return sa.create_engine(
            url,
            pool_pre_ping=True,  # a restarted server costs one reconnect, not one failed call
            connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS},
        )
    except (ImportError, sa_exc.NoSuchModuleError) as exc:
        raise StateStoreError(
            f"no database driver for {url.drivername!r} ({exc}); for PostgreSQL install "
            "veille[postgres] (psycopg 3) and use postgresql+psycopg://"
        ) from None


def _make_parent_dir(url: URL) -> None:
    path = Path(url.database or "").expanduser()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StateStoreError(
            f"cannot create the directory of the state store {str(path)!r}: {exc.strerror}"
        ) from None


def _use_wal(cursor: Any) -> None:
    """Puts the file in WAL mode (it stays so). Switching needs the file to itself, and
    SQLite answers "database is locked" at once, without the busy timeout, while another
    process migrates a fresh store: so look first, and retry until the busy timeout."""
    deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
    while True:
        try:
            if str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal":
                return
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below issue BEGIN, instead of pysqlite
        # guessing when a transaction starts (it would never start one for reads).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_SECONDS * 1000}")
            cursor.execute("PRAGMA foreign_keys = ON")
            _use_wal(cursor)
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get(_BEGIN_OPTION, "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that will write: BEGIN IMMEDIATE on SQLite; commits on success."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})
        with conn.begin():
            yield conn


@contextmanager
def read_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that only reads (one consistent snapshot on SQLite)."""
    with engine.connect() as conn, conn.begin():
        yield conn


def upsert(conn: Connection, table: sa.Table) -> sqlite.Insert | postgresql.Insert:
    """An INSERT that supports ON CONFLICT, in the connection's dialect."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def explain(exc: sa_exc.DBAPIError, url: URL, *, doing: str = "use") -> str:
    """Turns a driver error into a sentence naming the store (without its password)."""
    original = exc.orig if exc.orig is not None else exc
    reason = " ".join(line.strip() for line in str(original).splitlines() if line.strip())
    where = url.render_as_string(hide_password=True)
    if url.get_backend_name() == "sqlite" and "locked" in reason:
        return (
            f"the state store {where} stayed locked by another writer for more than "
            f"{BUSY_TIMEOUT_SECONDS} s ({reason})"
        )
    if "no schema has been selected to create in" in reason:
        # The URL's search_path names no schema that exists (or none Veille may write).
        reason = (
            f"no schema to create Veille's tables in: the search_path ({_search_path(url)}) "
            "names none that exists and this user may create in; create it (CREATE SCHEMA "
            "name AUTHORIZATION user) or name another in the URL's "
            "options=-c search_path=name (docs/operations/backups.md)"
        )
    return f"cannot {doing} the state store {where}: {reason}"


def _search_path(url: URL) -> str:
    """The search_path the URL sets (libpq `options=-c search_path=...`), or the server's."""
    options = url.query.get("options", "")
    found = re.search(
        r"search_path\s*=\s*(\S+)", " ".join(options) if isinstance(options, tuple) else options
    )
    return found.group(1) if found else 'the server\'s default, "$user", public'


@contextmanager
def store_errors(url: URL, *, doing: str = "use") -> Iterator[None]:
    """Turns driver errors into StateStoreError; contract errors pass through."""
    try:
        yield
    except sa_exc.DBAPIError as exc:
        raise StateStoreError(explain(exc, url, doing=doing)) from exc
    except sa_exc.TimeoutError as exc:  # every pooled connection stayed busy
        raise StateStoreError(f"cannot {doing} the state store: {exc}") from exc
