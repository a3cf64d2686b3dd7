"""Backtests over what is stored: a rule (stored, default or given) on its target's history."""

from __future__ import annotations

from datetime import datetime, timedelta

from services.alerting import saved_searches as ss
from services.alerting.backtest import series_for
from services.alerting.backtest_report import BacktestReport, run_backtest
from services.alerting.default_rules import brand_rules, sized_detector
from services.alerting.evaluator import (
    OVERALL_NEGATIVE,
    RULE_KIND,
    brand_query,
    bucket_series,
    floor_time,
    target_query,
)
from services.alerting.rules import AlertRule, Rule
from services.core.query.ast import FieldFilter, Node
from services.core.settings import BrandRulesSettings
from services.store.contracts import MentionIndex
from services.store.state.contract import NotFoundError, StateStore


def find_rule(
    state: StateStore,
    index: MentionIndex | None,
    name: str,
    defaults: BrandRulesSettings | None,
) -> AlertRule:
    """A stored rule by name, else a brand's default rule; NotFoundError when neither."""
    try:
        return AlertRule.model_validate(state.get_spec(RULE_KIND, name).spec)
    except NotFoundError:
        if defaults is not None:
            for rule in brand_rules(state, index, defaults):
                if rule.name == name:
                    return rule
        raise


def target_filters(state: StateStore, target_type: str, target: str) -> tuple[Node, Node]:
    """The query of a target and the clause its negative mentions also match (toward the
    brand for a brand, overall for a saved search); NotFoundError when unknown."""
    if target_type == "brand":
        query = brand_query(state, target)
        assert isinstance(query, FieldFilter)
        return query, FieldFilter("negative", query.value)
    return ss.search_query(ss.get_saved_search(state, target)), OVERALL_NEGATIVE


def backtest_stored(
    state: StateStore,
    index: MentionIndex,
    det: Rule,
    *,
    target_type: str,
    target: str,
    since: datetime,
    until: datetime,
    explain: bool = False,
) -> BacktestReport:
    """Replays a detector over a target's stored mentions in [since, until), as the
    evaluator would have seen them bucket by bucket (but for a drop, the bucket in progress
    too, counting what is stored so far). NotFoundError when the target is unknown."""
    query, negative = target_filters(state, target_type, target)
    share = det.kind == "negative_share_spike"
    in_progress = det.bucket if det.kind != "drop" else timedelta(0)
    rows = bucket_series(
        index,
        query,
        start=floor_time(since, det.bucket),
        end=floor_time(until, det.bucket) + in_progress,
        bucket=det.bucket,
        negative=negative if share else None,
        until=until,
    )
    while rows and rows[0][2] == 0:  # before the first mention: no data, not silence
        rows.pop(0)
    return run_backtest(series_for(rows, det), det, explain=explain)


def backtest_rule(
    state: StateStore,
    index: MentionIndex,
    rule: AlertRule,
    *,
    since: datetime,
    until: datetime,
    explain: bool = False,
) -> BacktestReport:
    """Backtests an API rule on its own target; ValueError for a new-mention rule."""
    return backtest_stored(
        state,
        index,
        sized_detector(rule, index, target_query(state, rule)),
        target_type=rule.target_type,
        target=rule.target,
        since=since,
        until=until,
        explain=explain,
    )
