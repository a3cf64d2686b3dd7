"""Migration 0019: events recorded before it get their explanation as data, read once from
the sentence they hold, on both state backends (SQLite, PostgreSQL); the API serves it and
the notifications word it like a new event's."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command

from services.alerting.evaluator import message_from_event
from services.alerting.explanation import english, rule_baseline, stored_baseline
from services.alerting.notifiers.wording import baseline_text
from services.alerting.rules import Rule, rule_from_yaml
from services.store.state.alerting_tables import alert_events
from services.store.state.migrate import alembic_config
from services.store.state.sql import SqlStateStore

#: the sentences versions up to 0018 wrote, word for word (Rule.baseline_method then)
MEDIAN = (
    "median of same hour of the same weekday over the last 28d x robust level (median "
    "observed/seasonal ratio over the last 3d); score unit = the usual excess of the 1st "
    "percentile of residuals over the same window"
)
MEDIAN_ALL = (
    "median of all buckets over the last 90m; score unit = the usual excess of the 99th "
    "percentile of residuals over the same window"
)
POOLED_ALL = (
    "pooled negative share (all buckets, else all buckets) over the last 14d; scale = binomial sd"
)
DIGEST = "weekly digest of 4 alert(s) (drop, volume_spike)"
NEW = "new matching mentions (by time stored)"
OTHER = "seasonal median (hour of week) over 28 days"  # of no known shape
FIGURES = {"observed": 3, "expected": 12.5, "score": 4.25, "threshold": 3.5}


def _migrate(engine: sa.Engine, revision: str, *, down: bool = False) -> None:
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(config, revision)


def _old_event(conn: sa.Connection, key: str, numbers: dict[str, Any]) -> None:
    """A row as version 0018 wrote it: no `baseline` column yet."""
    conn.execute(
        sa.insert(alert_events).values(
            rule_name="r",
            kind="drop",
            status="firing",
            dedupe_key=key,
            numbers={"window_start": "2026-12-01T10:00:00+00:00", **numbers},
            created_at=datetime(2026, 12, 1, 11, tzinfo=UTC),
        )
    )


def _rule(text: str) -> Rule:
    return rule_from_yaml(f"name: r\nbucket: 1h\n{text}")


def test_older_events_get_their_parts_once_from_their_sentence(
    state_url: str, raw_engine: sa.Engine
) -> None:
    if (path := raw_engine.url.database) and raw_engine.url.get_backend_name() == "sqlite":
        Path(path).parent.mkdir(parents=True, exist_ok=True)  # the store would make it
    _migrate(raw_engine, "0018")
    with raw_engine.begin() as conn:
        _old_event(conn, "median", {"baseline_method": MEDIAN, **FIGURES})
        _old_event(conn, "median-all", {"baseline_method": MEDIAN_ALL, "score": "n/a"})
        _old_event(conn, "pooled", {"baseline_method": POOLED_ALL, **FIGURES})
        _old_event(conn, "digest", {"baseline_method": DIGEST, "observed": 4})
        _old_event(conn, "new", {"baseline_method": NEW, "observed": 2})
        _old_event(conn, "other", {"baseline_method": OTHER, **FIGURES})
        _old_event(conn, "none", {"observed": 1})
        # more than one batch of the migration's reading (500)
        for i in range(520):
            _old_event(conn, f"many-{i}", {"baseline_method": NEW})

    with SqlStateStore(state_url) as store:  # migrates to head
        events = {e.dedupe_key: e for e in store.list_alert_events(limit=600)}
    assert len(events) == 527
    many = [e for key, e in events.items() if key.startswith("many-")]
    assert len(many) == 520 and all(e.baseline == {"method": "new_mentions"} for e in many)
    median = events["median"].baseline
    assert median == {
        "method": "median",
        "season": "weekly",
        "window_seconds": 28 * 86400,
        "level_seconds": 3 * 86400,
        "percentile": 1,
        "observed": 3.0,
        "expected": 12.5,
        "score": 4.25,
        "threshold": 3.5,
    }
    # the parts say what the sentence said: the same words come out of them
    drop = _rule("kind: drop\nseasonality: weekly\nbaseline_window: 28d\nlevel_window: 3d\n")
    assert stored_baseline(median) == rule_baseline(drop).model_copy(
        update={"bucket_seconds": None, "sensitivity": None, **FIGURES}
    )
    parts = stored_baseline(median)
    assert parts is not None and english(parts) == MEDIAN
    all_buckets = stored_baseline(events["median-all"].baseline)
    assert all_buckets is not None and english(all_buckets) == MEDIAN_ALL
    assert all_buckets.score is None  # a figure that is not a number is left out
    assert events["pooled"].baseline is not None
    assert events["pooled"].baseline["method"] == "pooled_share"
    assert events["pooled"].baseline["season"] == "none"
    assert events["median-all"].baseline == {
        "method": "median",
        "season": "none",
        "window_seconds": 5400,
        "percentile": 99,
    }
    assert events["digest"].baseline == {
        "method": "digest",
        "digest": "weekly",
        "count": 4,
        "kinds": ["drop", "volume_spike"],
    }
    assert events["new"].baseline == {"method": "new_mentions"}
    # a sentence of no known shape, or none: no parts, the sentence is shown as it is
    assert events["other"].baseline is None and events["none"].baseline is None
    other = message_from_event(events["other"])
    assert baseline_text(other, "fr") == OTHER

    # the French notification of an older event reads as a new one's
    old = message_from_event(events["median"])
    new_parts = rule_baseline(drop)
    assert baseline_text(old, "fr") == baseline_text(replace(old, baseline_parts=new_parts), "fr")
    assert baseline_text(old, "fr").startswith(
        "médiane de la même heure du même jour de la semaine sur les 28 derniers jours × "
        "niveau robuste (médiane du rapport observé/saisonnier sur les 3 derniers jours)"
    )

    # and back down: the column goes, the sentences stay for the older version
    _migrate(raw_engine, "0018", down=True)
    columns = {c["name"] for c in sa.inspect(raw_engine).get_columns("alert_events")}
    assert "baseline" not in columns
    with raw_engine.connect() as conn:
        kept = conn.execute(
            sa.select(alert_events.c.numbers).where(alert_events.c.dedupe_key == "median")
        ).scalar_one()
    assert kept["baseline_method"] == MEDIAN
