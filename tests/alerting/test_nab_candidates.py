"""benchmarks/nab_candidates.py replays the detector's runs and NAB's scoring fast; both
must give what the detector and nab_score.py give, or its candidate log means nothing."""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pytest

from services.alerting.detectors import Evaluation, replay, score_series
from services.alerting.rules import Rule
from tests.alerting.benchmark_modules import load_benchmark

nab = load_benchmark("nab_score")
cand = load_benchmark("nab_candidates")
T0 = datetime(2015, 1, 1)


def _scored(series: Any, n: int) -> Any:  # the benchmark modules load at run time
    weight, window, active, counted = cand.nab_weights(series)
    zeros = np.zeros(n)
    return cand.Scored(
        category="c",
        name="s",
        stamps=[T0 + timedelta(minutes=5 * i) for i in range(n)],
        seconds=zeros,
        raw=zeros,
        surprise=zeros,
        likelihood=zeros,
        eligible=zeros.astype(bool),
        observed=zeros,
        hourly_raw=zeros,
        hourly_eligible=zeros.astype(bool),
        drop_score=zeros,
        drop_eligible=zeros.astype(bool),
        drop_raw=zeros,
        surprise_up=zeros,
        surprise_down=zeros,
        rows=[[i] for i in range(n)],
        weight=weight,
        window=window,
        active=active,
        counted=counted,
        perfect=float(len(series.windows)),
    )


@pytest.mark.parametrize("seed", range(5))
def test_fast_scorer_gives_nab_score_figures(seed: int) -> None:
    rng = random.Random(seed)
    n = 600
    stamps = [T0 + timedelta(minutes=5 * i) for i in range(n)]
    starts = sorted(rng.sample(range(100, n - 60, 60), 3))
    windows = [(stamps[a], stamps[a + 50]) for a in starts]
    series = nab.Series("c", "s", [(t, 0.0) for t in stamps], windows)
    scored = _scored(series, n)
    fired = sorted(rng.sample(range(n), 25))
    ours = scored.result(fired)
    theirs, null, perfect = nab.file_score(series, {stamps[i] for i in fired})
    assert ours[0] == pytest.approx(theirs.raw, abs=1e-9)
    assert (ours[1], ours[2]) == (null, perfect)


def test_run_replay_fires_where_the_detector_does() -> None:
    rng = random.Random(7)
    start = datetime(2024, 1, 1)
    rows = []
    for i in range(6 * 288):
        ts = start + timedelta(minutes=5 * i)
        base = 20 + 10 * math.sin(2 * math.pi * ts.hour / 24)
        burst = 60 if i % 700 in range(600, 612) else 0
        rows.append((ts, float(max(0, round(rng.gauss(base, 4)))) + burst))
    rule = Rule(name="r", min_volume=0, min_ratio=1.0, missing="skip")
    evaluations = score_series(rows, rule)
    score = np.array([e.score for e in evaluations])
    eligible = np.array([e.eligible for e in evaluations])
    total_fired = 0
    # low thresholds and short end_after: runs open and close often, at every gap length.
    for threshold in (0.3, 0.75, 1.5, 3.0):
        for end_after in (1, 2, 3, 12, 72):
            at = rule.model_copy(update={"sensitivity": threshold, "end_after": end_after})
            want = [a.fired_at for a in replay(evaluations, at)]
            got = cand.fired_runs(score, eligible, threshold, end_after)
            assert [evaluations[i].ts for i in got] == want
            total_fired += len(want)
    assert total_fired > 0


@pytest.mark.parametrize("seed", range(3))
def test_run_replay_on_random_scores(seed: int) -> None:
    # scores that cross the threshold and its hysteresis level often, with gaps of every
    # length: runs that end one bucket too early or late show.
    rng = random.Random(seed)
    evaluations = [
        Evaluation(
            ts=T0 + timedelta(minutes=5 * i),
            observed=0.0,
            expected=0.0,
            score=rng.choice((0.0, 0.0, 0.0, 0.8, 1.2, 2.0)),
            anomalous=False,
            details={},
            eligible=rng.random() < 0.9,
        )
        for i in range(3000)
    ]
    score = np.array([e.score for e in evaluations])
    eligible = np.array([e.eligible for e in evaluations])
    rule = Rule(name="r")
    for end_after in (1, 2, 3, 5):
        for min_run in (1, 2, 3):
            at = rule.model_copy(
                update={"sensitivity": 1.5, "end_after": end_after, "min_run": min_run}
            )
            want = [a.fired_at for a in replay(evaluations, at)]
            got = cand.fired_runs(score, eligible, 1.5, end_after, min_run=min_run)
            assert len(want) > 3
            assert [evaluations[i].ts for i in got] == want


def test_escalation_fires_again_when_an_open_run_doubles() -> None:
    # one run (never 72 buckets quiet): it opens at 2.0, rises to 3.0 (not twice its peak),
    # then 6.0 (twice 3.0) fires again, but only once the gap since the last firing is met.
    score = np.array([0.0, 2.0, 3.0, 1.6, 6.0, 1.6, 1.6, 1.6, 13.0, 0.0])
    eligible = np.ones(len(score), dtype=bool)
    assert cand.fired_runs(score, eligible, 1.5, 72) == [1]
    assert cand.fired_runs(score, eligible, 1.5, 72, escalate=2.0) == [1, 4, 8]
    assert cand.fired_runs(score, eligible, 1.5, 72, escalate=2.0, escalate_gap=4) == [1, 8]
    # a run ended by end_after re-opens as a new run whatever the factor
    dips = np.array([0.0, 2.0, 0.0, 0.0, 2.5, 0.0])
    assert cand.fired_runs(dips, eligible[:6], 1.5, 2, escalate=100.0) == [1, 4]
    assert cand.fired_runs(dips, eligible[:6], 1.5, 3, escalate=100.0) == [1]


def test_one_sided_surprises_make_the_detector_likelihood() -> None:
    # the paired-rule candidates (P rows) build each direction's likelihood from the
    # detector's per-direction surprises: together they must give the shipped likelihood.
    rng = random.Random(3)
    start = datetime(2024, 1, 1)
    rows = []
    for i in range(4 * 288):
        ts = start + timedelta(minutes=5 * i)
        base = 20 + 10 * math.sin(2 * math.pi * ts.hour / 24)
        shock = 50 if i % 500 in range(400, 410) else (-15 if i % 500 in range(200, 230) else 0)
        rows.append((ts, float(max(0, round(rng.gauss(base, 4) + shock)))))
    series = nab.Series("c", "s", rows, [(rows[700][0], rows[760][0])])
    scored = cand.score_one(series)
    # (a surprise below 0 counts as 0 in the likelihood)
    both = np.maximum(np.maximum(scored.surprise_up, scored.surprise_down), 0.0)
    assert np.allclose(both, np.maximum(scored.surprise, 0.0))
    assert scored.surprise_up.max() > 0 and scored.surprise_down.max() > 0
    lk, ready = cand.directional_likelihood(scored, both, cand.SURPRISE_SCALE, "both")
    assert np.allclose(lk[ready], scored.likelihood[ready])


def test_holdoff_keeps_a_new_run_from_opening_too_soon() -> None:
    # two runs 4 buckets apart (end_after 1): a hold-off of 5 buckets drops the second,
    # one of 4 keeps it; an open run is not cut short by it.
    score = np.array([2.0, 0.0, 0.0, 0.0, 2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 2.0])
    eligible = np.ones(len(score), dtype=bool)
    assert cand.fired_runs(score, eligible, 1.5, 1) == [0, 4, 10]
    assert cand.fired_runs(score, eligible, 1.5, 1, holdoff=5) == [0, 10]
    assert cand.fired_runs(score, eligible, 1.5, 1, holdoff=4) == [0, 4, 10]


class _Named:
    def __init__(self, category: str, name: str) -> None:
        self.category, self.name = category, name


def _perfect(share: float) -> tuple[float, float, float]:
    """A one-window result whose normalised score is 100 x share."""
    return (-1.0 + 2.0 * share, -1.0, 1.0)


def test_loto_chooses_without_the_held_out_series() -> None:
    # setting 0: every brand series perfect, the 8 others at 10%; setting 1: 37% everywhere.
    # Pooled over all 12 series setting 0 wins (40%), over the 11 of a fold setting 1 does
    # (34.5%): each held-out brand series gets setting 1's result.
    brands = [_Named(cand.TWEETS, f"t{i}") for i in range(4)]
    others = [_Named("other", f"o{i}") for i in range(8)]
    series = brands + others
    first = {b.name: _perfect(1.0) for b in brands} | {o.name: _perfect(0.1) for o in others}
    results = [first, {s.name: _perfect(0.37) for s in series}]
    assert cand.choose(results, series) == 0
    per, chosen = cand.loto(series, results, [{"thr": 1.0}, {"thr": 2.0}])
    assert set(per) == {b.name for b in brands}
    assert all(c == {"thr": 2.0} for c in chosen.values())
    assert all(per[b.name] == _perfect(0.37) for b in brands)


def test_weighed_objective_gives_brand_series_half_the_weight() -> None:
    # 3 brand series prefer setting 1 strongly, 40 others prefer setting 0 slightly: pooled,
    # the others win; weighed (brands as much as the rest), setting 1 does.
    brands = [_Named(cand.TWEETS, f"t{i}") for i in range(3)]
    others = [_Named("other", f"o{i}") for i in range(40)]
    series = brands + others
    a = {b.name: _perfect(0.3) for b in brands} | {o.name: _perfect(0.55) for o in others}
    b_ = {b.name: _perfect(0.9) for b in brands} | {o.name: _perfect(0.5) for o in others}
    assert cand.choose([a, b_], series) == 0
    assert cand.choose([a, b_], series, balanced=True) == 1
    # without brand series in the training set, weighed falls back to pooled
    assert cand.choose([a, b_], others, balanced=True) == 0
