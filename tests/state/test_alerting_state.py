"""Alerting state: migration 0002 on an existing database, saved searches/rules, outbox rows."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from services.store.state.contract import ConflictError, NotFoundError
from services.store.state.engine import StateStoreError
from services.store.state.migrate import alembic_config, head_revision
from services.store.state.sql import SqlStateStore
from services.store.state.tables import metadata
from tests.state import make_source

ALERTING_TABLES = {"saved_searches", "alert_rules", "alert_events", "alert_deliveries"}


def _migrate(engine: sa.Engine, revision: str, *, down: bool = False) -> None:
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        if down:
            command.downgrade(config, revision)
        else:
            command.upgrade(config, revision)


def test_an_existing_0001_database_upgrades_and_keeps_its_rows(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/veille.db"
    engine = sa.create_engine(url)
    try:
        _migrate(engine, "0001")
        assert not ALERTING_TABLES & set(sa.inspect(engine).get_table_names())
        with pytest.raises(StateStoreError, match="revision 0001"):
            SqlStateStore(url, migrate=False)
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO sources (name, spec, origin, created_at, updated_at) VALUES "
                    "('old', :spec, 'api', '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
                ),
                {"spec": make_source("old").model_dump_json()},
            )
        with SqlStateStore(url) as store:
            assert [s.name for s in store.list_sources()] == ["old"]
            store.put_spec(
                "saved_search", name="s", spec={"query": "a"}, owner=None, visibility="shared"
            )
        inspector = sa.inspect(engine)
        assert set(inspector.get_table_names()) >= ALERTING_TABLES
        with engine.connect() as conn:
            context = MigrationContext.configure(conn)
            assert context.get_current_revision() == head_revision()
            assert compare_metadata(context, metadata) == []
        # and back down to 0001: the alerting tables go, the rest stays
        _migrate(engine, "0001", down=True)
        names = set(sa.inspect(engine).get_table_names())
        assert not ALERTING_TABLES & names
        assert "sources" in names
    finally:
        engine.dispose()


def test_saved_search_and_rule_rows(state_store: SqlStateStore) -> None:
    state_store.put_spec(
        "saved_search", name="b", spec={"query": "x"}, owner="alice", visibility="private"
    )
    state_store.put_spec(
        "saved_search",
        name="a",
        spec={"query": "y"},
        owner=None,
        visibility="shared",
        create_only=True,
    )
    with pytest.raises(ConflictError):
        state_store.put_spec(
            "saved_search", name="a", spec={}, owner=None, visibility="shared", create_only=True
        )
    assert [r.name for r in state_store.list_specs("saved_search")] == ["a", "b"]
    record = state_store.get_spec("saved_search", "b")
    assert (record.owner, record.visibility, record.spec) == ("alice", "private", {"query": "x"})
    state_store.put_spec(
        "saved_search", name="b", spec={"query": "z"}, owner="alice", visibility="shared"
    )
    updated = state_store.get_spec("saved_search", "b")
    assert updated.spec == {"query": "z"} and updated.created_at == record.created_at
    assert state_store.list_specs("alert_rule") == []
    state_store.delete_spec("saved_search", "b")
    with pytest.raises(NotFoundError):
        state_store.get_spec("saved_search", "b")
    with pytest.raises(NotFoundError):
        state_store.delete_spec("saved_search", "b")
    with pytest.raises(ValueError):
        state_store.put_spec("alert_rule", name="r", spec={}, owner=None, visibility="public")


def test_one_delivery_per_event_and_channel_is_enforced_by_the_database(
    state_store: SqlStateStore, raw_engine: sa.Engine
) -> None:
    event_id = state_store.record_alert_event(
        rule_name="r",
        kind="drop",
        status="firing",
        dedupe_key="k",
        numbers={"observed": 0},
        channels=["slack:A"],
    )
    with pytest.raises(sa.exc.IntegrityError), raw_engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO alert_deliveries (event_id, channel, status, attempts, "
                "next_attempt_at, created_at) VALUES (:e, 'slack:A', 'pending', 0, "
                "'2026-01-01 00:00:00', '2026-01-01 00:00:00')"
            ),
            {"e": event_id},
        )
    resolved = state_store.record_alert_event(
        rule_name="r",
        kind="drop",
        status="resolved",
        dedupe_key="k",
        numbers={},
        channels=["slack:A"],
    )
    assert resolved is not None and resolved != event_id
    assert [e.status for e in state_store.list_alert_events(rule_name="r")] == [
        "resolved",
        "firing",
    ]
    assert [e.id for e in state_store.list_alert_events(before_id=resolved)] == [event_id]


def test_migration_0010_adds_the_two_phase_statuses_and_keeps_deliveries(
    state_url: str, raw_engine: sa.Engine
) -> None:
    database = sa.make_url(state_url).database
    if state_url.startswith("sqlite") and database:
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    _migrate(raw_engine, "0003")
    with raw_engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO alert_events (rule_name, kind, status, dedupe_key, numbers, "
                "created_at) VALUES ('r', 'drop', 'firing', 'k', '{}', '2026-01-01 00:00:00')"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO alert_deliveries (event_id, channel, status, attempts, "
                "next_attempt_at, created_at) SELECT id, 'slack:A', 'pending', 0, "
                "'2026-01-01 00:00:00', '2026-01-01 00:00:00' FROM alert_events"
            )
        )
    with SqlStateStore(state_url) as store:
        (due,) = store.claim_deliveries(limit=5, lease_seconds=60)
        assert due.attempts == 1 and not due.in_doubt and due.attempt_id
        assert store.begin_delivery(due.delivery_id, attempt_id=due.attempt_id, lease_seconds=60)
        store.mark_delivery_unknown(due.delivery_id, note="in doubt", attempt_id=due.attempt_id)
        (event,) = store.list_alert_events()
        assert [(d.status, d.attempts) for d in event.deliveries] == [("unknown", 1)]
    with pytest.raises(sa.exc.IntegrityError), raw_engine.begin() as conn:
        conn.execute(sa.text("UPDATE alert_deliveries SET status = 'bogus'"))
    _migrate(raw_engine, "0003", down=True)
    with raw_engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT status, last_error FROM alert_deliveries")).all()
    assert [tuple(r) for r in rows] == [("failed", "outcome unknown")]
