"""Opening a store: migrations, connection settings, and errors a person can read."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from services.store.state import StateStoreError, open_state
from services.store.state.migrate import head_revision
from services.store.state.sql import SqlStateStore
from services.store.state.tables import metadata
from tests.state import make_source

REPO = Path(__file__).resolve().parents[2]
TABLES = {
    "alembic_version",
    "alert_deliveries",
    "alert_events",
    "alert_rules",
    "saved_searches",
    "api_keys",
    "brands",
    "collection_runs",
    "competitors",
    "corrections",
    "reanalysis_jobs",
    "retention_policies",
    "retention_runs",
    "erasures",
    "cursors",
    "inbox",
    "leases",
    "source_stats",
    "sources",
    "triage",
    "triage_notes",
    # 0013 tenancy
    "workspaces",
    "users",
    "memberships",
    "sessions",
    "audit_log",
}


def test_opening_creates_the_schema_at_head(state_url: str, raw_engine: sa.Engine) -> None:
    with open_state(state_url):
        pass
    assert set(sa.inspect(raw_engine).get_table_names()) == TABLES
    with raw_engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == head_revision()


def test_the_migrated_schema_matches_tables_py(state_url: str, raw_engine: sa.Engine) -> None:
    with open_state(state_url), raw_engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_reopening_keeps_data_and_changes_nothing(state_url: str, raw_engine: sa.Engine) -> None:
    with open_state(state_url) as store:
        store.put_source(make_source("a"), origin="config")
    for _ in range(2):
        with open_state(state_url) as store:
            assert [s.name for s in store.list_sources()] == ["a"]
    with raw_engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM alembic_version")).scalar() == 1


def test_migrate_false_refuses_an_unmigrated_database(state_url: str) -> None:
    with pytest.raises(StateStoreError, match="migrate=True"):
        SqlStateStore(state_url, migrate=False)
    with open_state(state_url):
        pass
    with SqlStateStore(state_url, migrate=False) as store:
        assert store.list_sources() == []


def test_a_schema_from_a_newer_veille_is_refused(state_url: str, raw_engine: sa.Engine) -> None:
    with open_state(state_url):
        pass
    with raw_engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(StateStoreError, match="newer Veille"):
        open_state(state_url)


def test_processes_opening_a_fresh_store_at_once_all_succeed(state_url: str) -> None:
    snippet = (
        "import sys\nfrom services.store.state import open_state\nopen_state(sys.argv[1]).close()\n"
    )
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", snippet, state_url], cwd=REPO, stderr=subprocess.PIPE
        )
        for _ in range(4)
    ]
    for process in processes:
        _, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr.decode()
    with open_state(state_url) as store:
        assert store.list_sources() == []


def test_sqlite_uses_wal_foreign_keys_and_a_busy_timeout(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "veille.db"
    with open_state(f"sqlite:///{path}") as store:
        engine = store._engine  # the settings live on the store's own connections
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10_000
    assert path.is_file()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("not a url", "invalid state store URL"),
        ("mysql://u:p@localhost/veille", "unsupported state store URL scheme 'mysql'"),
        ("sqlite://", "not an in-memory SQLite database"),
        ("sqlite:///:memory:", "not an in-memory SQLite database"),
        ("postgresql+psycopg2://u:p@localhost/db", "no database driver"),
    ],
)
def test_bad_urls_get_a_sentence_not_a_traceback(url: str, expected: str) -> None:
    with pytest.raises(StateStoreError, match=expected) as caught:
        open_state(url)
    assert "sqlite:///path/to/veille.db" in str(caught.value) or "driver" in str(caught.value)


def test_an_unreachable_server_is_named_without_its_password() -> None:
    # Port 1 on the loopback: nothing listens, the connection is refused at once.
    url = "postgresql://veille:s3cret-pw@127.0.0.1:1/veille"
    with pytest.raises(StateStoreError) as caught:
        open_state(url)
    message = str(caught.value)
    assert message.startswith(
        "cannot open the state store postgresql+psycopg://veille:***@127.0.0.1:1"
    )
    assert "s3cret-pw" not in message


def test_a_directory_in_place_of_the_file_is_reported(tmp_path: Path) -> None:
    (tmp_path / "veille.db").mkdir()
    with pytest.raises(StateStoreError, match="cannot open the state store sqlite:///"):
        open_state(f"sqlite:///{tmp_path}/veille.db")


def test_an_unwritable_parent_is_reported(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StateStoreError, match="cannot create the directory"):
        open_state(f"sqlite:///{blocker}/sub/veille.db")


def test_close_twice_is_harmless(state_store: SqlStateStore) -> None:
    state_store.close()
    state_store.close()
