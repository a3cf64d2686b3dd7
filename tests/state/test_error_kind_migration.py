"""Migration 0012 on an existing database: error kinds back-filled, inbox rows kept.

A database at 0010 whose sources showed 'unreachable' and 'disabled' through their
last error's first words must show the same states once the kinds are data, and its
pending inbox items must still be claimed, in their old order, before new ones.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command

from services.core.models import ErrorKind
from services.store.state.migrate import alembic_config
from services.store.state.sql import SqlStateStore
from tests.factories import make_item
from tests.state import make_source

ROWS = {  # source: (last status, last error) as 0010 stored them
    "down": ("error", "unreachable: cannot resolve host example.invalid"),
    "slow": ("error", "unreachable: timed out after 20 s"),
    "nokey": ("error", "not configured: VEILLE_X_BEARER_TOKEN not set"),
    "broken": ("error", "HTTP 500 Internal Server Error"),
    "fine": ("ok", None),
}


_RUN = (
    "INSERT INTO collection_runs (source_name, started_at, finished_at, status, items_found, "
    "items_new, error) VALUES (:n, '2026-01-01 00:00:00', '2026-01-01 00:00:02', :s, 0, 0, :e)"
)
_STATS = (
    "INSERT INTO source_stats (source_name, last_run_at, last_status, last_error, last_items, "
    "total_items, consecutive_errors) VALUES (:n, '2026-01-01 00:00:00', :s, :e, 0, 0, 1)"
)


def _migrate(engine: sa.Engine, revision: str) -> None:
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def test_0012_back_fills_error_kinds_and_keeps_states_and_inbox(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/veille.db"
    engine = sa.create_engine(url)
    try:
        _migrate(engine, "0010")
        old_items = [make_item(source_name="down", platform_id=f"old{n}") for n in range(2)]
        with engine.begin() as conn:
            for name, (status, error) in ROWS.items():
                conn.execute(
                    sa.text(
                        "INSERT INTO sources (name, spec, origin, created_at, updated_at) "
                        "VALUES (:n, :spec, 'api', '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
                    ),
                    {"n": name, "spec": make_source(name).model_dump_json()},
                )
                for statement in (_RUN, _STATS):
                    conn.execute(sa.text(statement), {"n": name, "s": status, "e": error})
            for n, item in enumerate(old_items):
                conn.execute(
                    sa.text(
                        "INSERT INTO inbox (mention_id, payload, content_hash, status, attempts, "
                        "enqueued_at, updated_at) VALUES (:id, :p, 'h', 'pending', 0, :at, :at)"
                    ),
                    {
                        "id": item.mention_id,
                        "p": item.model_dump_json(),
                        "at": f"2026-01-01 00:00:0{n}",
                    },
                )

        with SqlStateStore(url) as store:  # upgrades to head
            statuses = {s.name: s for s in store.list_source_statuses()}
            assert {name: s.state for name, s in statuses.items()} == {
                "down": "unreachable",
                "slow": "unreachable",
                "nokey": "disabled",
                "broken": "failing",
                "fine": "ok",
            }
            assert statuses["slow"].last_error_kind is ErrorKind.TIMEOUT
            assert statuses["nokey"].disabled_reason == "VEILLE_X_BEARER_TOKEN not set"
            assert statuses["broken"].last_error_kind is ErrorKind.ERROR
            assert statuses["fine"].last_error_kind is None
            assert [r.error_kind for r in store.recent_runs("down")] == ["unreachable"]
            # New items of another source wait their turn behind the old ones (turn 0).
            store.enqueue_items([make_item(source_name="fine", platform_id="new")])
            claimed = [c.mention_id for c in store.claim_items(limit=3)]
            assert claimed[:2] == [item.mention_id for item in old_items]
            assert len(claimed) == 3
    finally:
        engine.dispose()
