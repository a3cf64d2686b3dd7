"""Sources, brands and competitors: one row per name, owned by the config file or the API.

Each row keeps the domain object as JSON (`spec`) and its `origin`:

- 'config' rows mirror config/veille.yaml. `sync_workspace` makes them exactly the
  file's lists, creating, replacing and deleting as needed, and never touches 'api'
  rows, with one exception: a config entry whose name an API row already uses takes
  that row over (config wins). The file is what operators review and version, and
  two rows cannot share a name; the API row's history (runs, cursor) stays with the name.
- 'api' rows are created and edited through the API. The API cannot overwrite a
  config row: `put_*` with origin='api' on a config-owned name raises ConflictError,
  since the next sync would silently undo the change.

Changing a source's URL forgets its cursor: a position in one feed means nothing in
another. Deleting a source deletes its cursor, runs and status.

What is written is validated as it will be read back (the stored JSON, not the object
that was sent: normalising a URL can lengthen it past what validates). A row that
still fails to read (an older version wrote it, or someone edited the database) is
left out of listings with a warning, raises UnreadableError when asked for by name,
and can be replaced or deleted: one bad row never stops the others.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar, cast

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection

from services.core.models import Brand, Competitor, Source
from services.store.state import tables
from services.store.state.contract import (
    ConflictError,
    NameTakenError,
    NotFoundError,
    Origin,
    UnreadableError,
)

M = TypeVar("M", Source, Brand, Competitor)
logger = logging.getLogger("veille.state")


@dataclass(frozen=True)
class Kind(Generic[M]):
    """One kind of workspace row: its table, its model, and its name in messages."""

    table: sa.Table
    model: type[M]
    label: str


SOURCES = Kind(tables.sources, Source, "source")
BRANDS = Kind(tables.brands, Brand, "brand")
COMPETITORS = Kind(tables.competitors, Competitor, "competitor")


def list_all(conn: Connection, kind: Kind[M]) -> list[M]:
    """Every row of a kind, by name."""
    t = kind.table
    found = []
    for name, spec in conn.execute(sa.select(t.c.name, t.c.spec).order_by(t.c.name)):
        try:
            found.append(kind.model.model_validate(spec))
        except ValidationError as exc:
            logger.warning(
                "the stored %s %r cannot be read, left out: %s (replace or delete it)",
                kind.label,
                name,
                problem_of(exc),
            )
    return found


def problem_of(exc: ValidationError) -> str:
    """The first validation problem, in one short line."""
    first = exc.errors()[0] if exc.errors() else None
    if first is None:
        return "invalid"
    where = ".".join(str(p) for p in first["loc"])
    return f"{where}: {first['msg']}"[:300] if where else str(first["msg"])[:300]


def readable(kind: Kind[M], name: str, spec: Any) -> M:
    """The object a stored spec holds; UnreadableError when it does not validate."""
    try:
        return kind.model.model_validate(spec)
    except ValidationError as exc:
        raise UnreadableError(
            f"the {kind.label} {name!r} is stored in a form that does not validate "
            f"({problem_of(exc)}); replace or delete it"
        ) from None


def get(conn: Connection, kind: Kind[M], name: str) -> M:
    """One row by name; NotFoundError when absent."""
    t = kind.table
    spec = conn.execute(sa.select(t.c.spec).where(t.c.name == name)).scalar_one_or_none()
    if spec is None:
        raise NotFoundError(f"no {kind.label} named {name!r}")
    return readable(kind, name, spec)


def origin(conn: Connection, kind: Kind[M], name: str) -> Origin:
    """Who owns a row: 'config' or 'api'; NotFoundError when absent."""
    t = kind.table
    value = conn.execute(sa.select(t.c.origin).where(t.c.name == name)).scalar_one_or_none()
    if value is None:
        raise NotFoundError(f"no {kind.label} named {name!r}")
    return cast(Origin, value)


def put(
    conn: Connection, kind: Kind[M], obj: M, *, origin: Origin, create_only: bool, now: datetime
) -> None:
    """Creates or replaces a row, under the ownership rules in the module docstring."""
    if origin not in tables.ORIGINS:
        raise ValueError(f"origin must be 'config' or 'api', not {origin!r}")
    t = kind.table
    spec = storable(kind, obj)
    row = conn.execute(
        sa.select(t.c.origin, t.c.spec).where(t.c.name == obj.name).with_for_update()
    ).first()
    if row is None:
        _insert(conn, kind, obj.name, spec, origin, now)
    elif create_only:
        raise NameTakenError(f"a {kind.label} named {obj.name!r} already exists")
    elif origin == "api" and row.origin == "config":
        raise ConflictError(
            f"the {kind.label} {obj.name!r} is defined in the config file; change it there"
        )
    else:
        _replace(conn, kind, obj.name, row.spec, spec, origin, now)


def delete(conn: Connection, kind: Kind[M], name: str) -> None:
    """Deletes a row (a source with its cursor, runs and status); NotFoundError when absent."""
    t = kind.table
    if conn.execute(sa.delete(t).where(t.c.name == name)).rowcount == 0:
        raise NotFoundError(f"no {kind.label} named {name!r}")


def sync(conn: Connection, kind: Kind[M], objs: Sequence[M], *, now: datetime) -> None:
    """Makes the config-owned rows of a kind exactly `objs` (see the module docstring)."""
    repeated = sorted(name for name, n in Counter(obj.name for obj in objs).items() if n > 1)
    if repeated:
        raise ValueError(f"{kind.label}s named more than once: {', '.join(repeated)}")
    t = kind.table
    existing = {
        row.name: row
        for row in conn.execute(sa.select(t.c.name, t.c.origin, t.c.spec).with_for_update())
    }
    for obj in objs:
        spec = storable(kind, obj)
        row = existing.get(obj.name)
        if row is None:
            _insert(conn, kind, obj.name, spec, "config", now)
        elif row.origin != "config" or row.spec != spec:
            _replace(conn, kind, obj.name, row.spec, spec, "config", now)
    wanted = {obj.name for obj in objs}
    stale = [
        name for name, row in existing.items() if row.origin == "config" and name not in wanted
    ]
    if stale:
        conn.execute(sa.delete(t).where(t.c.name.in_(stale)))


def storable(kind: Kind[M], obj: M) -> dict[str, Any]:
    """The JSON to store for `obj`, checked to read back as it will be read (what is
    stored is validated, not what was sent); UnreadableError when it would not."""
    spec = obj.model_dump(mode="json")
    try:
        kind.model.model_validate(spec)
    except ValidationError as exc:
        raise UnreadableError(
            f"the {kind.label} {obj.name!r} would be stored in a form that does not "
            f"validate ({problem_of(exc)})"
        ) from None
    return spec


def _insert(
    conn: Connection, kind: Kind[M], name: str, spec: dict[str, Any], origin: Origin, now: datetime
) -> None:
    try:
        conn.execute(
            sa.insert(kind.table).values(
                name=name, spec=spec, origin=origin, created_at=now, updated_at=now
            )
        )
    except sa_exc.IntegrityError:
        # Another writer created it between our read and our insert (PostgreSQL).
        raise NameTakenError(f"a {kind.label} named {name!r} already exists") from None


def _replace(
    conn: Connection,
    kind: Kind[M],
    name: str,
    old_spec: dict[str, Any],
    new_spec: dict[str, Any],
    origin: Origin,
    now: datetime,
) -> None:
    t = kind.table
    conn.execute(
        sa.update(t).where(t.c.name == name).values(spec=new_spec, origin=origin, updated_at=now)
    )
    if kind.table is tables.sources and old_spec.get("url") != new_spec.get("url"):
        conn.execute(sa.delete(tables.cursors).where(tables.cursors.c.source_name == name))
