"""Fixtures: a state store on a real SQLite file, and on PostgreSQL when configured.

The PostgreSQL cases need VEILLE_TEST_POSTGRES_URL (eval "$(bash
scripts/start-test-postgres.sh)" sets it). Each test gets a schema of its own,
created empty and dropped afterwards, so runs never see each other's rows; the
session time zone is set to New York to prove that times come back in UTC.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from services.store.state.sql import SqlStateStore
from tests.state import FakeClock

POSTGRES_ENV = "VEILLE_TEST_POSTGRES_URL"
POSTGRES_HOWTO = (
    f"PostgreSQL state store tests need {POSTGRES_ENV}; "
    'run: eval "$(bash scripts/start-test-postgres.sh)"'
)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def state_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty state store database (not migrated yet)."""
    if request.param == "sqlite":
        # A directory that does not exist yet: the store must create it.
        yield f"sqlite:///{tmp_path}/state/veille.db"
        return
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(POSTGRES_HOWTO)
    schema = f"test_{uuid.uuid4().hex[:16]}"
    admin = sa.create_engine(base)
    try:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        url = sa.make_url(base).update_query_dict(
            {"options": f"-c search_path={schema} -c timezone=America/New_York"}
        )
        yield url.render_as_string(hide_password=False)
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
    finally:
        admin.dispose()


@pytest.fixture
def backend(state_url: str) -> str:
    """'sqlite' or 'postgresql'."""
    return sa.make_url(state_url).get_backend_name()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def state_store(state_url: str, clock: FakeClock) -> Iterator[SqlStateStore]:
    """A migrated, empty store on the fake clock."""
    store = SqlStateStore(state_url, clock=clock)
    yield store
    store.close()


@pytest.fixture
def raw_engine(state_url: str) -> Iterator[sa.Engine]:
    """A plain engine on the store's database, to look at what is really stored."""
    engine = sa.create_engine(state_url)
    yield engine
    engine.dispose()
