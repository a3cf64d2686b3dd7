"""Tests of the state store, run against SQLite and (when configured) PostgreSQL.

Builders and the fake clock shared by these tests live here.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from services.core.models import RunStatus, Source
from services.store.state.contract import CollectionRun
from tests.factories import BASE_TIME


class FakeClock:
    """A fake clock (real time cannot be moved forward on demand): `advance` moves it."""

    def __init__(self, start: datetime = BASE_TIME) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        """Moves the clock forward."""
        self.now += timedelta(seconds=seconds)


def make_source(name: str = "news", **fields: Any) -> Source:
    """A valid feed source; any field can be overridden."""
    defaults: dict[str, Any] = {"name": name, "url": f"https://example.org/{name}.xml"}
    defaults.update(fields)
    return Source(**defaults)


def make_run(
    source_name: str = "news",
    *,
    status: RunStatus = RunStatus.OK,
    at: datetime = BASE_TIME,
    error: str | None = None,
    items_found: int = 0,
    items_new: int = 0,
    error_kind: str | None = None,
) -> CollectionRun:
    """A finished run that lasted two seconds."""
    return CollectionRun(
        source_name=source_name,
        started_at=at,
        finished_at=at + timedelta(seconds=2),
        status=status,
        items_found=items_found,
        items_new=items_new,
        error=error,
        error_kind=error_kind,
    )
