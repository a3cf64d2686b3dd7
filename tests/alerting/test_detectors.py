"""Properties of the streaming detectors on synthetic seasonal series."""

from __future__ import annotations

import math
import pickle
from datetime import datetime, timedelta

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.alerting import Rule, make_detector
from services.alerting.backtest import backtest
from services.alerting.detectors import (
    RAW_PER_UNIT,
    min_history_buckets,
    replay,
    score_series,
)
from services.alerting.rules import threshold_for

T0 = datetime(2026, 1, 5)  # a Monday
HOUR = timedelta(hours=1)


def hourly_rule(**overrides: object) -> Rule:
    fields: dict[str, object] = {
        "kind": "volume_spike",
        "bucket": "1h",
        "baseline_window": "14d",
        "warmup": "3d",
        "min_volume": 10,
        "end_after": 2,
    }
    fields.update(overrides)
    return Rule.model_validate(fields)


def seasonal_counts(days: int, *, seed: int = 7, base: float = 50.0) -> list[float]:
    """Poisson counts with a daily cycle (busy afternoons, quiet nights)."""
    rng = np.random.default_rng(seed)
    hours = np.arange(days * 24)
    mean = base * (1.0 + 0.6 * np.sin(2 * math.pi * ((hours % 24) - 8) / 24))
    return [float(x) for x in rng.poisson(mean)]


def as_series(values: list[float]) -> list[tuple[datetime, float]]:
    return [(T0 + i * HOUR, v) for i, v in enumerate(values)]


def test_quiet_seasonal_series_does_not_alert() -> None:
    assert backtest(as_series(seasonal_counts(21)), hourly_rule()) == []


def test_all_zero_series_never_alerts() -> None:
    for kind in ("volume_spike", "drop"):
        rule = hourly_rule(kind=kind, min_volume=0, sensitivity="high")
        assert backtest(as_series([0.0] * 24 * 10), rule) == []


def test_sparse_counts_never_score_far_out() -> None:
    # A mention every few 5-minute buckets: the seasonal median is 0 and a stretch's median
    # residual nearly always 0, so the stretches' tails used to collapse to the numerical
    # floor and a few single mentions scored 1,000 units. The unit of a count is at least
    # its counting noise's 1-in-100 excursion.
    rng = np.random.default_rng(3)
    rows = [(T0 + timedelta(minutes=5 * i), float(rng.poisson(0.15))) for i in range(21 * 288)]
    rule = Rule(name="sparse")
    assert max(e.details["raw_score"] for e in score_series(rows, rule)) < 5
    assert backtest(rows, rule) == []
    # a real burst on the same quiet series still alerts within its first half hour (once
    # min_volume, 10 mentions above the expected ones, is reached): an hour at 5 a bucket.
    burst = 18 * 288 + 150
    for i in range(burst, burst + 12):
        rows[i] = (rows[i][0], float(rng.poisson(5.0)))
    alerts = backtest(rows, rule)
    assert len(alerts) == 1
    assert rows[burst][0] <= alerts[0].start < rows[burst + 6][0]


def test_clear_spike_fires_once_per_run_with_its_numbers() -> None:
    values = seasonal_counts(21)
    spike_at = 10 * 24 + 14
    for i in range(spike_at, spike_at + 4):  # a 4-hour burst
        values[i] = values[i] * 6 + 100
    alerts = backtest(as_series(values), hourly_rule())
    assert len(alerts) == 1
    alert = alerts[0]
    assert alert.kind == "volume_spike"
    assert alert.status == "resolved"
    assert alert.start == T0 + spike_at * HOUR
    assert alert.end == T0 + (spike_at + 4) * HOUR
    assert alert.observed > alert.expected > 0
    assert alert.score >= alert.threshold
    assert alert.baseline_window == timedelta(days=14)
    assert "same hour of day over the last 14d" in alert.baseline_method


@pytest.mark.parametrize("cut", [0.0, 0.25, 0.4])
def test_a_stretch_summarised_by_a_trimmed_mean_still_finds_the_burst(
    cut: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """STRETCH_CUT below 0.5 (benchmarks/nab_candidates.py --stretch-cut) scores stretches
    by a trimmed mean instead of the median: the same burst, once, at the same hour."""
    from services.alerting import detectors

    monkeypatch.setattr(detectors, "STRETCH_CUT", cut)
    values = seasonal_counts(21)
    spike_at = 10 * 24 + 14
    for i in range(spike_at, spike_at + 4):
        values[i] = values[i] * 6 + 100
    alerts = backtest(as_series(values), hourly_rule())
    assert [a.start for a in alerts] == [T0 + spike_at * HOUR]
    assert backtest(as_series(seasonal_counts(21)), hourly_rule()) == []


def test_two_separate_bursts_fire_twice() -> None:
    values = seasonal_counts(21)
    for start in (9 * 24 + 12, 15 * 24 + 12):
        for i in range(start, start + 3):
            values[i] = values[i] * 6 + 100
    alerts = backtest(as_series(values), hourly_rule())
    assert [a.start for a in alerts] == [T0 + (9 * 24 + 12) * HOUR, T0 + (15 * 24 + 12) * HOUR]


def test_no_alert_during_warmup_even_for_a_huge_spike() -> None:
    values = seasonal_counts(10)
    for i in range(30, 34):
        values[i] = 10_000.0
    rule = hourly_rule()
    alerts = backtest(as_series(values), rule)
    assert all(a.fired_at >= T0 + rule.warmup_period for a in alerts)
    assert not any(a.start < T0 + timedelta(days=2) for a in alerts)


def test_min_volume_is_honoured() -> None:
    # a 10x jump on a tiny brand: 1-2 mentions an hour to 20.
    values = seasonal_counts(21, base=1.5)
    for i in range(10 * 24 + 14, 10 * 24 + 17):
        values[i] = 20.0
    assert len(backtest(as_series(values), hourly_rule(min_volume=5))) == 1
    # 3 hours of about 18 extra mentions: fewer than 60 above the expected ones
    assert backtest(as_series(values), hourly_rule(min_volume=60)) == []


def test_source_going_silent_fires_a_drop() -> None:
    values = seasonal_counts(21)
    silent_from = 12 * 24 + 9
    for i in range(silent_from, silent_from + 8):
        values[i] = 0.0
    alerts = backtest(as_series(values), hourly_rule(kind="drop"))
    assert len(alerts) == 1
    assert alerts[0].start == T0 + silent_from * HOUR
    assert alerts[0].observed < alerts[0].expected
    # the same series raises no volume spike
    assert backtest(as_series(values), hourly_rule()) == []


def test_missing_buckets_count_as_silence_but_late_buckets_are_ignored() -> None:
    values = seasonal_counts(21)
    series = as_series(values)
    silent_from = 12 * 24 + 9
    gappy = series[:silent_from] + series[silent_from + 8 :]
    alerts = backtest(gappy, hourly_rule(kind="drop"))
    assert [a.start for a in alerts] == [T0 + silent_from * HOUR]
    # a bucket re-sent after the fact (late data) is ignored, not scored as a zero
    detector = make_detector(hourly_rule(kind="drop"))
    for ts, v in series[: 10 * 24]:
        assert detector.update(ts, v) == []
    assert detector.update(series[5][0], 0.0) == []
    assert detector.ignored_late == 1


def test_negative_share_spike() -> None:
    rng = np.random.default_rng(3)
    totals = seasonal_counts(21, base=40)
    rows: list[tuple[datetime, float, float]] = []
    burst = range(11 * 24 + 15, 11 * 24 + 19)
    for i, total in enumerate(totals):
        share = 0.6 if i in burst else 0.15
        rows.append((T0 + i * HOUR, float(rng.binomial(int(total), share)), total))
    rule = hourly_rule(kind="negative_share_spike", min_volume=20)
    alerts = backtest(rows, rule)
    assert len(alerts) == 1
    alert = alerts[0]
    assert alert.start == T0 + burst[0] * HOUR
    assert alert.observed > 0.4 and alert.expected < 0.25
    assert alert.details["total"] >= 20
    # with too few mentions per bucket, the same shares never fire
    assert backtest(rows, hourly_rule(kind="negative_share_spike", min_volume=10_000)) == []


def test_negative_share_needs_totals() -> None:
    detector = make_detector(hourly_rule(kind="negative_share_spike"))
    with pytest.raises(ValueError, match="total"):
        detector.update(T0, 1.0)
    with pytest.raises(ValueError, match=r"negative \(5.0\) > total"):
        detector.update(T0, 5.0, 2.0)


def test_sensitivity_orders_thresholds() -> None:
    low, medium, high = (hourly_rule(sensitivity=s).threshold for s in ("low", "medium", "high"))
    assert low > medium > high
    assert hourly_rule(sensitivity=7.5).threshold == 7.5


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    values=st.lists(
        st.one_of(st.integers(0, 5), st.integers(0, 10_000)).map(float), min_size=1, max_size=150
    ),
    kind=st.sampled_from(["volume_spike", "drop"]),
    sensitivity=st.sampled_from(["low", "medium", "high", 0.5]),
)
def test_arbitrary_series_never_crash_nor_alert_before_warmup(
    values: list[float], kind: str, sensitivity: object
) -> None:
    rule = hourly_rule(
        kind=kind, sensitivity=sensitivity, min_volume=0, warmup="1d", min_run=1, end_after=1
    )
    alerts = backtest(as_series(values), rule)
    for alert in alerts:
        assert alert.fired_at >= T0 + timedelta(days=1)
        assert alert.start >= T0 + timedelta(days=1)
        assert math.isfinite(alert.score)
        assert alert.observed != alert.expected


@settings(max_examples=30, deadline=None)
@given(
    pairs=st.lists(
        st.tuples(st.integers(0, 50), st.integers(0, 50)).map(
            lambda p: (float(min(p)), float(max(p)))
        ),
        min_size=1,
        max_size=120,
    )
)
def test_arbitrary_share_series_never_crash_nor_alert_before_warmup(
    pairs: list[tuple[float, float]],
) -> None:
    rule = hourly_rule(kind="negative_share_spike", min_volume=0, warmup="1d", min_run=1)
    rows = [(T0 + i * HOUR, n, t) for i, (n, t) in enumerate(pairs)]
    for alert in backtest(rows, rule):
        assert alert.fired_at >= T0 + timedelta(days=1)


def test_state_survives_a_restart_mid_stream() -> None:
    """A live evaluator can persist the detector and resume: same alerts as one pass."""
    values = seasonal_counts(21)
    for i in range(15 * 24 + 10, 15 * 24 + 13):
        values[i] = values[i] * 6 + 100
    series = as_series(values)
    rule = hourly_rule()
    whole = backtest(series, rule)
    detector = make_detector(rule)
    fired = []
    for ts, v in series[: 15 * 24 + 11]:  # stop in the middle of the burst
        fired += detector.update(ts, v)
    resumed = pickle.loads(pickle.dumps(detector))
    for ts, v in series[15 * 24 + 11 :]:
        fired += resumed.update(ts, v)
    assert [a.start for a in fired if a.status == "firing"] == [a.start for a in whole]
    assert [a for a in fired if a.status == "resolved"] == whole


def test_weekly_seasonality_learns_quiet_weekends() -> None:
    # weekdays busy, weekends at a fifth: a weekday-level Saturday is a spike only weekly.
    values = seasonal_counts(35)
    for i in range(len(values)):
        if (T0 + i * HOUR).weekday() >= 5:
            values[i] = round(values[i] / 5)
    saturday = 4 * 7 * 24 + 5 * 24  # Saturday of week 5
    for i in range(saturday + 12, saturday + 15):
        values[i] = seasonal_counts(1, seed=i)[12] * 1.2
    weekly = hourly_rule(seasonality="weekly", baseline_window="28d", sensitivity="high")
    alerts = backtest(as_series(values), weekly)
    assert [a.start for a in alerts] == [T0 + (saturday + 12) * HOUR]
    # by hour of day alone, a busy Saturday afternoon looks like any weekday's
    daily = hourly_rule(baseline_window="28d", sensitivity="high")
    assert T0 + (saturday + 12) * HOUR not in [a.start for a in backtest(as_series(values), daily)]


def test_a_very_long_hole_restarts_warmup() -> None:
    rule = hourly_rule(bucket="1m", warmup="1h", min_run=1)
    detector = make_detector(rule)
    t = T0
    for _ in range(120):
        detector.update(t, 10.0)
        t += timedelta(minutes=1)
    later = t + timedelta(days=30)  # > MAX_FILL_BUCKETS minutes
    assert detector.update(later, 10_000.0) == []
    assert detector.first_ts == later


def test_a_burst_of_77_an_hour_against_16_fires_at_medium() -> None:
    # the demo case of issue 25: 4 hours at ~77 mentions an hour where ~16 are expected.
    values = seasonal_counts(21, base=16)
    burst = range(18 * 24 + 10, 18 * 24 + 14)
    for i in burst:
        values[i] = 77.0
    alerts = backtest(as_series(values), hourly_rule(sensitivity="medium"))
    assert len(alerts) == 1
    assert T0 + burst[0] * HOUR <= alerts[0].fired_at <= T0 + burst[-1] * HOUR
    assert alerts[0].score >= alerts[0].threshold == threshold_for("volume_spike", "medium")


def test_score_is_unit_free_for_measurements() -> None:
    # the same shape in mentions or in thousands: the same alerts (guards off).
    values = seasonal_counts(21)
    for i in range(12 * 24 + 3, 12 * 24 + 6):
        values[i] += 150
    rule = hourly_rule(min_volume=0, min_ratio=1.0, missing="skip")
    small = backtest(as_series(values), rule)
    large = backtest(as_series([v * 1000 for v in values]), rule)
    assert [a.start for a in small] == [a.start for a in large] == [T0 + (12 * 24 + 3) * HOUR]


def test_a_gap_in_a_measured_series_is_not_silence() -> None:
    series = as_series(seasonal_counts(21))
    gappy = series[: 12 * 24 + 9] + series[12 * 24 + 17 :]
    assert backtest(gappy, hourly_rule(kind="drop", missing="skip")) == []
    assert len(backtest(gappy, hourly_rule(kind="drop", missing="zero"))) == 1


def test_a_lasting_surge_fires_though_no_single_bucket_would() -> None:
    values = seasonal_counts(28, base=200)
    surge = range(20 * 24 + 9, 20 * 24 + 21)  # 12 hours at +35%
    for i in surge:
        values[i] = round(values[i] * 1.35)
    # a raw score of 3 (three times the usual top-1% excursion), in the score's units
    rule = hourly_rule(min_ratio=1.2, sensitivity=3.0 / RAW_PER_UNIT["volume_spike"])
    evaluations = score_series(as_series(values), rule)
    by_ts = {e.ts: e for e in evaluations}
    one_bucket = max(by_ts[T0 + i * HOUR].details["bucket_score"] for i in surge)
    assert one_bucket < rule.threshold
    alerts = backtest(as_series(values), rule)
    assert len(alerts) == 1 and surge[0] <= (alerts[0].fired_at - T0) / HOUR <= surge[-1]
    assert alerts[0].details["scale_buckets"] > 1


def test_a_burst_wavering_around_the_threshold_is_one_alert() -> None:
    values = seasonal_counts(21)
    rule = hourly_rule(min_run=1, end_after=3)
    for i in range(12 * 24, 12 * 24 + 8):  # high, then lower but still unusual, and so on
        values[i] = values[i] + (300 if i % 2 == 0 else 90)
    assert len(backtest(as_series(values), rule)) == 1


@pytest.mark.parametrize("sensitivity", ["low", "medium", "high", 1.2])
def test_replay_at_a_threshold_gives_the_alerts_of_that_sensitivity(sensitivity: object) -> None:
    values = seasonal_counts(28, seed=11)
    for start, extra in ((9 * 24 + 13, 60), (15 * 24 + 2, 25), (22 * 24 + 18, 140)):
        for i in range(start, start + 3):
            values[i] += extra
    series = as_series(values)
    evaluations = score_series(series, hourly_rule())  # scored once, at medium
    rule = hourly_rule(sensitivity=sensitivity)
    assert [a.fired_at for a in replay(evaluations, rule)] == [
        a.fired_at for a in backtest(series, rule)
    ]
    assert len(evaluations) == len(series)


def test_threshold_for_names_and_numbers() -> None:
    for kind in ("volume_spike", "drop", "negative_share_spike"):
        names = [threshold_for(kind, s) for s in ("low", "medium", "high")]
        assert names == sorted(names, reverse=True)
        assert hourly_rule(kind=kind).threshold == names[1]
    assert threshold_for("drop", 2.5) == 2.5
    with pytest.raises(ValueError, match="unknown sensitivity"):
        threshold_for("drop", "extreme")


def test_default_rule_ends_a_run_after_six_quiet_hours() -> None:
    assert Rule().end_after_buckets == 72
    assert Rule(bucket="1h").end_after_buckets == 6
    assert Rule(end_after=3).end_after_buckets == 3


def test_a_quiet_source_going_silent_is_caught_over_a_stretch() -> None:
    # 8 mentions an hour on average: one silent hour is ordinary, six are not.
    values = seasonal_counts(21, base=8)
    silent = range(15 * 24 + 8, 15 * 24 + 14)
    for i in silent:
        values[i] = 0.0
    rule = hourly_rule(kind="drop", end_after=6)
    alerts = backtest(as_series(values), rule)
    assert len(alerts) == 1
    assert silent[0] < (alerts[0].fired_at - T0) / HOUR <= silent[-1]
    assert alerts[0].details["scale_buckets"] > 1
    assert backtest(as_series(seasonal_counts(21, base=8)), rule) == []


def daily_rule(**overrides: object) -> Rule:
    """A quiet brand's default rule: daily buckets ('auto' picks them under ~10 a day)."""
    return Rule.model_validate({"bucket": "1d", "sensitivity": "high", "min_run": 1, **overrides})


@pytest.mark.parametrize("bucket", ["1h", "6h", "1d"])
def test_the_history_a_rule_needs_fits_in_its_baseline_window(bucket: str) -> None:
    # residuals are pruned to the baseline window: a need beyond it would never be met
    rule = daily_rule(bucket=bucket)
    assert min_history_buckets(rule) * rule.bucket <= rule.baseline_window / 2


def test_a_quiet_brand_with_daily_buckets_is_judged() -> None:
    rng = np.random.default_rng(11)
    quiet = [float(x) for x in rng.poisson(4.0, 17)]
    days = [T0 + timedelta(days=i) for i in range(18)]
    for spike in (25.0, 12.0):
        evs = score_series(list(zip(days, [*quiet, spike], strict=True)), daily_rule())
        assert all(not e.anomalous for e in evs[:-1]), "a quiet month raises nothing"
        # 25 against about 4 a day alerts; 12 (three a day's worth) does not
        assert evs[-1].anomalous is (spike == 25.0), (spike, evs[-1].score)


def test_the_second_day_of_a_two_day_spike_is_not_hidden_by_the_first() -> None:
    # with a few daily residuals their top 1% is their maximum: the spike's first day
    # would become the scale the second is judged by
    rng = np.random.default_rng(5)
    values = [float(x) for x in rng.poisson(4.0, 16)] + [14.0, 26.0]
    days = [T0 + timedelta(days=i) for i in range(len(values))]
    # (no seasonality: the level correction, which the first day moves, is not at stake)
    evs = score_series(list(zip(days, values, strict=True)), daily_rule(seasonality="none"))
    first = evs[-2].observed - evs[-2].expected
    assert evs[-1].details["tail_spread"] < 0.75 * first, (first, evs[-1].details)
    assert evs[-1].score > evs[-2].score


def five_minute_counts(days: int, *, seed: int, base: float = 20.0) -> list[float]:
    """Poisson counts every 5 minutes with a daily cycle."""
    rng = np.random.default_rng(seed)
    steps = np.arange(days * 288)
    mean = base * (1.0 + 0.5 * np.sin(2 * math.pi * ((steps % 288) / 288 - 1 / 3)))
    return [float(x) for x in rng.poisson(mean)]


def as_five_minute_series(values: list[float]) -> list[tuple[datetime, float]]:
    return [(T0 + i * timedelta(minutes=5), v) for i, v in enumerate(values)]


def test_a_five_minute_rule_scores_how_unusual_the_last_hours_surprise_is() -> None:
    # the same one-hour surge (+60%) on a steady brand and on one with frequent bursts:
    # the likelihood rises more on the steady one, whose history is rarely surprising.
    steady = five_minute_counts(6, seed=3)
    bursty = list(steady)
    rng = np.random.default_rng(4)
    for start in rng.choice(np.arange(300, 5 * 288, 12), size=40, replace=False):
        for i in range(start, start + 3):
            bursty[i] *= 2.5
    surge = range(5 * 288 + 100, 5 * 288 + 112)
    for values in (steady, bursty):
        for i in surge:
            values[i] = round(values[i] * 1.6)
    rule = Rule(min_volume=0, min_ratio=1.0)

    def peak(values: list[float]) -> float:
        evs = score_series(as_five_minute_series(values), rule)
        return max(e.details["likelihood"] for e in evs[surge[0] : surge[-1] + 1])

    assert peak(steady) > 2 * peak(bursty)
    assert peak(steady) >= rule.threshold
    # and the steady series alone, without the surge, stays quiet at the default rule
    assert backtest(as_five_minute_series(five_minute_counts(6, seed=3)), Rule()) == []


def test_a_clear_burst_alerts_at_once_on_five_minute_buckets() -> None:
    # the likelihood averages an hour: a burst far beyond the usual top 1% does not wait
    values = five_minute_counts(5, seed=8)
    burst = 4 * 288 + 150
    values[burst] = values[burst] + 200
    alerts = backtest(as_five_minute_series(values), Rule())
    assert [a.fired_at for a in alerts] == [T0 + burst * timedelta(minutes=5)]
    assert alerts[0].details["raw_score"] / RAW_PER_UNIT["volume_spike"] >= alerts[0].threshold
