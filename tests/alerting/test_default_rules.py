"""Every brand and competitor gets default rules; settings and stored rules change them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from services.alerting.default_rules import brand_rules
from services.alerting.evaluator import Evaluator
from services.alerting.history import backtest_rule, find_rule
from services.alerting.rules import AlertRule
from services.core.models import Brand, Competitor, utcnow
from services.core.settings import BrandRulesSettings
from services.store.contracts import MentionIndex, open_index
from services.store.state.contract import NotFoundError
from services.store.state.sql import SqlStateStore
from tests.factories import make_mention


@pytest.fixture
def state(tmp_path: Path) -> Iterator[SqlStateStore]:
    store = SqlStateStore(f"sqlite:///{tmp_path}/veille.db")
    store.sync_workspace(
        sources=[],
        brands=[Brand(name="Veloria", competitors=["Trekko"])],
        competitors=[Competitor(name="Trekko")],
    )
    yield store
    store.close()


@pytest.fixture
def index(tmp_path: Path) -> Iterator[MentionIndex]:
    idx = open_index(f"embedded:{tmp_path}/idx")
    now = utcnow()
    busy = [  # Veloria: 30 mentions an hour for a week
        make_mention(brands=["Veloria"], published_at=now - timedelta(minutes=2 * i + 1))
        for i in range(30 * 24 * 7)
    ]
    quiet = [  # Trekko: 3 a day
        make_mention(brands=[], competitors=["Trekko"], published_at=now - timedelta(hours=8 * i))
        for i in range(3 * 14)
    ]
    idx.upsert(busy + quiet)
    yield idx
    idx.close()


def test_each_brand_and_competitor_gets_a_rule_of_each_kind_with_a_bucket_for_its_volume(
    state: SqlStateStore, index: MentionIndex
) -> None:
    rules = {r.name: r for r in brand_rules(state, index, BrandRulesSettings())}
    assert sorted(rules) == [
        "Trekko: negative share",
        "Trekko: volume spike",
        "Veloria: negative share",
        "Veloria: volume spike",
    ]
    busy, quiet = rules["Veloria: volume spike"], rules["Trekko: volume spike"]
    assert busy.detector_rule().bucket == timedelta(hours=1)
    assert quiet.detector_rule().bucket == timedelta(days=1)
    assert (quiet.target_type, quiet.target, quiet.channels) == ("brand", "Trekko", [])
    assert rules["Trekko: negative share"].kind == "negative_share_spike"


def test_settings_turn_them_off_or_give_them_channels(
    state: SqlStateStore, index: MentionIndex
) -> None:
    assert brand_rules(state, index, BrandRulesSettings(enabled=False)) == []
    loud = BrandRulesSettings(kinds=["drop"], channels=["slack:VEILLE_SLACK_MARKETING"])
    rules = brand_rules(state, index, loud)
    assert [r.kind for r in rules] == ["drop", "drop"]
    assert all([c.key for c in r.channels] == ["slack:VEILLE_SLACK_MARKETING"] for r in rules)
    with pytest.raises(ValueError, match="slack:ENV_NAME"):
        BrandRulesSettings(channels=["https://hooks.slack.com/services/x"])


def test_a_stored_rule_of_the_same_name_replaces_the_default(
    state: SqlStateStore, index: MentionIndex
) -> None:
    evaluator = Evaluator(state, index, brand_rules=BrandRulesSettings())
    off = AlertRule(
        name="Veloria: volume spike",
        target_type="brand",
        target="Veloria",
        kind="volume_spike",
        enabled=False,
    )
    state.put_spec(
        "alert_rule",
        name=off.name,
        spec=off.model_dump(mode="json"),
        owner=None,
        visibility="shared",
    )
    rules = evaluator.rules()
    assert [r.name for r in rules].count("Veloria: volume spike") == 1
    assert next(r for r in rules if r.name == "Veloria: volume spike").enabled is False
    evaluated = {o.rule for o in evaluator.run_once()}
    assert "Veloria: volume spike" not in evaluated
    assert "Trekko: negative share" in evaluated  # a competitor's rule runs on its mentions


def test_a_default_rule_backtests_by_name_on_its_brands_history(
    state: SqlStateStore, index: MentionIndex
) -> None:
    rule = find_rule(state, index, "Veloria: volume spike", BrandRulesSettings())
    now = utcnow()
    report = backtest_rule(state, index, rule, since=now - timedelta(days=8), until=now)
    assert report.rule.bucket == timedelta(hours=1)
    assert 7 * 24 <= report.buckets <= 7 * 24 + 2  # from its first mention to now
    assert set(report.thresholds) >= {"low", "medium", "high", "rule"}
    with pytest.raises(NotFoundError):
        find_rule(state, index, "Veloria: volume spike", BrandRulesSettings(enabled=False))
