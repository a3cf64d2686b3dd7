"""What every state table module builds on: the shared MetaData and the column types.

`tables.py` and the other table modules (alerting_tables, corrections, lease_tables)
import these from here, so no table module imports another.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect

# Named constraints, so later migrations (and SQLite batch mode) can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class UtcDateTime(sa.TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend.

    PostgreSQL stores a `timestamptz`; SQLite, which has no time zones, stores the
    naive UTC time as text (fixed width, so text order is time order).
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Converts to UTC; refuses naive datetimes, whose zone would be a guess."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the state store needs aware datetimes")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Returns an aware UTC datetime."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def id_type() -> sa.types.TypeEngine[int]:
    """An auto-incremented id: BIGINT, but INTEGER on SQLite (only that one is its rowid)."""
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def one_of(column: str, values: tuple[str, ...]) -> str:
    """The SQL of a CHECK constraint keeping `column` to `values`."""
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def json_type() -> sa.types.TypeEngine[Any]:
    """JSON (JSONB on PostgreSQL); Python None is stored as SQL NULL."""
    return sa.JSON(none_as_null=True).with_variant(
        postgresql.JSONB(none_as_null=True), "postgresql"
    )
