"""The spike the dashboard shows on the bundled demo data raises an alert, out of the box.

As `make up` does it: the demo mentions are analyzed by the real worker with the example
workspace (config/veille.yaml), then the alert rules every brand gets by default are
evaluated. The demo is dated so that its newest mention is "now", and daily buckets split
it differently with the hour of day, so the check runs at every hour. It asks for an
alert on Veloria over the demo's last two days, with the numbers that explain it, not for
a given score or threshold.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from services.alerting.evaluator import RULE_KIND, Evaluator
from services.alerting.history import backtest_rule
from services.alerting.rules import AlertRule
from services.alerting.saved_searches import SavedSearchIn, to_record_spec
from services.core.models import Mention
from services.core.settings import build_settings
from services.core.workspace import load_workspace
from services.runtime.app.context import ServiceContext
from services.runtime.data.importer import demo_items
from services.runtime.workers.analysis import drain
from services.store.contracts import MentionFilter
from tests.apps import app_for
from tests.e2e.service import REPO

DEMO_NOW = datetime(2026, 12, 10, 0, 0, tzinfo=UTC)
SPIKE = timedelta(days=2)  # the demo's spike: its last two days


def _context(path: Path) -> ServiceContext:
    loaded = load_workspace(REPO / "config")
    settings = build_settings(
        {
            "data_dir": str(path),
            "store": {
                "state_url": f"sqlite:///{path}/veille.db",
                "index_url": f"embedded:{path}/index",
            },
            "api": {"require_api_key": False},
        }
    )
    ctx = ServiceContext(settings, loaded.workspace)
    ctx.sync_workspace()
    return ctx


@pytest.fixture(scope="module")
def analyzed_demo(tmp_path_factory: pytest.TempPathFactory) -> list[Mention]:
    """The demo mentions as the analyzer stores them (newest at DEMO_NOW)."""
    ctx = _context(tmp_path_factory.mktemp("demo"))
    try:
        ctx.state.enqueue_items(demo_items(now=DEMO_NOW))
        outcome = drain(ctx)
        assert outcome.failed == 0 and outcome.stored > 200
        return list(ctx.index.iter_all(MentionFilter()))
    finally:
        ctx.close()


@pytest.fixture
def demo_at(
    analyzed_demo: list[Mention], tmp_path: Path
) -> Iterator[tuple[ServiceContext, datetime]]:
    """A fresh service holding the demo as if `make up` ran at 03:20 on DEMO_NOW's day."""
    now = DEMO_NOW + timedelta(hours=3, minutes=20)
    ctx = _context(tmp_path)
    ctx.index.upsert(
        [
            m.model_copy(update={"published_at": m.published_at + (now - DEMO_NOW)})
            for m in analyzed_demo
        ]
    )
    yield ctx, now
    ctx.close()


def _brand_alerts(ctx: ServiceContext, now: datetime) -> list[dict[str, object]]:
    evaluator = Evaluator(
        ctx.state, ctx.index, clock=lambda: now, brand_rules=ctx.settings.alerting.brand_rules
    )
    evaluator.run_once()
    return [
        {"rule": e.rule_name, "status": e.status, **e.numbers}
        for e in ctx.state.list_alert_events(limit=50)
    ]


def _explains_the_spike(alert: dict[str, object], now: datetime) -> bool:
    start = datetime.fromisoformat(str(alert["window_start"]))
    end = datetime.fromisoformat(str(alert["window_end"]))
    observed, expected = float(alert["observed"]), float(alert["expected"])  # type: ignore[arg-type]
    return (
        str(alert["rule"]).startswith("Veloria:")
        and alert["status"] == "firing"
        and start < now
        and end > now - SPIKE  # overlaps the demo's last two days
        and observed > expected
        and float(alert["score"]) >= float(alert["threshold"])  # type: ignore[arg-type]
        and bool(alert["baseline_method"])
        and bool(alert["top_mentions"])
    )


@pytest.mark.slow
@pytest.mark.parametrize("hour", range(24))
def test_the_demo_spike_raises_an_alert_whatever_the_hour(
    analyzed_demo: list[Mention], tmp_path: Path, hour: int
) -> None:
    now = DEMO_NOW + timedelta(hours=hour, minutes=17)
    ctx = _context(tmp_path)
    try:
        ctx.index.upsert(
            [
                m.model_copy(update={"published_at": m.published_at + (now - DEMO_NOW)})
                for m in analyzed_demo
            ]
        )
        alerts = _brand_alerts(ctx, now)
    finally:
        ctx.close()
    assert any(_explains_the_spike(a, now) for a in alerts), alerts


@pytest.mark.slow
def test_the_demo_alert_is_listed_for_the_dashboard(
    demo_at: tuple[ServiceContext, datetime],
) -> None:
    ctx, now = demo_at
    assert any(_explains_the_spike(a, now) for a in _brand_alerts(ctx, now))
    with TestClient(app_for(ctx)) as client:
        events = client.get("/api/v1/alerts/events", params={"limit": 50}).json()["events"]
    veloria = [e for e in events if e["rule"].startswith("Veloria:")]
    assert veloria, events
    assert all(e["numbers"]["baseline_method"] and "observed" in e["numbers"] for e in veloria)


@pytest.mark.slow
@pytest.mark.parametrize(("doc", "hour"), [("README.md", 3), ("docs/user/alerts.md", 11)])
def test_the_documented_example_rule_fires_on_the_demo_spike(
    analyzed_demo: list[Mention], tmp_path: Path, doc: str, hour: int
) -> None:
    """The saved search and alert rule the docs create (their curl bodies, as written) raise
    an alert on the demo's spike: live, and in a backtest of the same history."""
    now = DEMO_NOW + timedelta(hours=hour, minutes=20)
    ctx = _context(tmp_path)
    ctx.index.upsert(
        [
            m.model_copy(update={"published_at": m.published_at + (now - DEMO_NOW)})
            for m in analyzed_demo
        ]
    )
    bodies = re.findall(r"-d '(\{.*?\})'", (REPO / doc).read_text(encoding="utf-8"), re.DOTALL)
    search = SavedSearchIn.model_validate(
        next(json.loads(b) for b in bodies if '"name": "delivery-complaints"' in b)
    )
    rule = AlertRule.model_validate(
        next(json.loads(b) for b in bodies if '"target": "delivery-complaints"' in b)
    )
    try:
        ctx.state.put_spec(
            "saved_search",
            name=search.name,
            spec=to_record_spec(search),
            owner=None,
            visibility="shared",
        )
        ctx.state.put_spec(
            RULE_KIND,
            name=rule.name,
            spec=rule.model_dump(mode="json"),
            owner=None,
            visibility="shared",
        )
        Evaluator(ctx.state, ctx.index, clock=lambda: now).run_once()
        live = [e for e in ctx.state.list_alert_events(rule_name=rule.name) if e.status == "firing"]
        report = backtest_rule(
            ctx.state, ctx.index, rule, since=now - timedelta(days=30), until=now
        )
    finally:
        ctx.close()
    assert live, "the documented rule raised no alert on the demo spike"
    assert datetime.fromisoformat(live[0].numbers["window_end"]) > now - SPIKE
    if hour == 3:  # the spike's last 24 hours fall on one calendar day: the backtest agrees
        (alert,) = report.alerts
        assert alert.start > now - SPIKE - timedelta(days=1) and alert.score >= alert.threshold
