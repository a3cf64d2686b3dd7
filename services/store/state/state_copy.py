"""Copying a state store into another database (SQLite to PostgreSQL), then verifying it.

`veille migrate` moves the mentions; this moves everything else: keys, saved searches,
alert rules and events, corrections, triage, erasures, the audit log, people and roles.

The source is only read (one snapshot). The target is brought to the same Alembic head,
refused if it holds rows, then filled in ONE transaction: a copy that stops half-way
leaves the target as empty as it was, so re-running the command is the way to resume.
Ids are kept, and PostgreSQL sequences are moved past them, so new rows do not collide.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine

from services.store.state.engine import (
    StateStoreError,
    create_state_engine,
    parse_url,
    read_transaction,
    redact,
    store_errors,
    write_transaction,
)
from services.store.state.migrate import current_revision, head_revision, upgrade_to_head
from services.store.state.tables import metadata


class StateCopyRefused(StateStoreError):
    """The copy was not started: the target is not empty, or the source is not ready."""


@dataclass(frozen=True)
class TableCount:
    """Rows of one table in the source and, after the copy, in the target."""

    table: str
    source: int
    target: int

    @property
    def matches(self) -> bool:
        return self.source == self.target


def tables() -> list[sa.Table]:
    """Every state table, parents before children (foreign keys)."""
    return list(metadata.sorted_tables)


def open_source(url: str) -> Engine:
    """The source store, checked to exist and to be at this Veille's head; never changed."""
    parsed = parse_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database or "").expanduser()
        if not path.is_file():
            raise StateCopyRefused(f"no state store at {path} (store.state_url)")
        engine = _read_only_sqlite(path)
    else:
        engine = create_state_engine(parsed)
    try:
        with store_errors(parsed, doing="open"), engine.connect() as conn:
            current = current_revision(conn)
        head = head_revision()
        if current != head:
            raise StateCopyRefused(
                f"the source state store {_shown(parsed)} is at revision "
                f"{current or 'none'}, this Veille expects {head}: run this version of "
                "Veille on it once (`veille up`, or any command that opens the state "
                "store, such as `veille keys list`) so that it migrates it, then copy it"
            )
    except BaseException:
        engine.dispose()
        raise
    return engine


def _read_only_sqlite(path: Path) -> Engine:
    """The SQLite file opened read-only: not even switched to WAL, as the store's own
    engine would; each transaction (BEGIN) reads one consistent snapshot."""
    uri = f"{path.resolve().as_uri().replace('file://', 'file:', 1)}?mode=ro"
    engine = sa.create_engine(
        "sqlite://",
        creator=lambda: sqlite3.connect(uri, uri=True, check_same_thread=False),
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # BEGIN comes from the event below

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN")

    return engine


def open_target(url: str) -> Engine:
    """The target database, reachable and at head (its migrations run here)."""
    parsed = parse_url(url)
    engine = create_state_engine(parsed)
    try:
        with store_errors(parsed, doing="open"):
            with engine.connect():
                pass
            upgrade_to_head(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine


def seeded_keys() -> dict[str, set[tuple[Any, ...]]]:
    """The primary keys of the rows the migrations themselves insert (the `default`
    workspace): a freshly migrated target holds them, and is still empty."""
    scratch = sa.create_engine("sqlite://")  # in memory: parse_url refuses it for stores
    try:
        upgrade_to_head(scratch)
        with scratch.connect() as conn:
            return {
                table.name: keys
                for table in tables()
                if (keys := {tuple(r) for r in conn.execute(sa.select(*table.primary_key))})
            }
    finally:
        scratch.dispose()


def refuse_unless_empty(target: Connection, seeded: dict[str, set[tuple[Any, ...]]]) -> None:
    """StateCopyRefused naming the first table that holds rows of its own."""
    for table in tables():
        keys = {tuple(r) for r in target.execute(sa.select(*table.primary_key))}
        extra = keys - seeded.get(table.name, set())
        if extra:
            raise StateCopyRefused(
                f"the target already holds {len(extra)} row(s) in table {table.name!r}: "
                "copying would mix two installations; give an empty database or schema "
                "(or --force to delete the target's rows first)"
            )


def count_rows(conn: Connection) -> dict[str, int]:
    """Rows per table."""
    return {
        table.name: int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())
        for table in tables()
    }


def copy_state(
    source: Engine,
    target: Engine,
    *,
    force: bool = False,
    batch_size: int = 1000,
    started: Callable[[str, int], None] = lambda _table, _total: None,
    progress: Callable[[int], None] = lambda _n: None,
) -> list[TableCount]:
    """Copies every table, parents first, then counts both sides; returns the counts."""
    seeded = seeded_keys()
    with read_transaction(source) as src, write_transaction(target) as dst:
        if not force:
            refuse_unless_empty(dst, seeded)
        # Children first, so the parents' rows can go (seeded ones, or all with --force).
        for table in reversed(tables()):
            dst.execute(table.delete())
        totals = count_rows(src)
        for table in tables():
            started(table.name, totals[table.name])
            rows = src.execute(sa.select(table).order_by(*table.primary_key))
            for batch in rows.mappings().partitions(batch_size):
                dst.execute(table.insert(), [dict(row) for row in batch])
                progress(len(batch))
        if dst.dialect.name == "postgresql":
            reset_sequences(dst)
    with read_transaction(source) as src, read_transaction(target) as dst:
        before, after = count_rows(src), count_rows(dst)
    return [TableCount(t.name, before[t.name], after[t.name]) for t in tables()]


def reset_sequences(conn: Connection) -> None:
    """Moves each serial column's sequence past the largest id copied."""
    for table in tables():
        column = table.autoincrement_column
        if column is None:
            continue
        conn.execute(
            sa.text(
                "SELECT setval(pg_get_serial_sequence(:table, :column), "
                f'COALESCE(MAX("{column.name}"), 1), MAX("{column.name}") IS NOT NULL) '
                f'FROM "{table.name}"'
            ),
            {"table": table.name, "column": column.name},
        )


def _shown(url: URL) -> str:
    return redact(url.render_as_string(hide_password=True))
