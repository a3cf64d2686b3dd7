"""benchmarks/artime.py (an ARTime-like scorer, issue 25's sixth pass) and the scoring of
its row detections in benchmarks/nab_artime.py: the figures in the model card rest on
them."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest

from tests.alerting.benchmark_modules import load_benchmark

artime = load_benchmark("artime")
nab = load_benchmark("nab_score")
na = load_benchmark("nab_artime")
T0 = datetime(2015, 1, 1)


def _steady(n: int, seed: int = 3) -> np.ndarray:
    """A daily-seasonal count-like series with noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return 30 + 10 * np.sin(2 * np.pi * t / 288) + rng.normal(0, 2, n)


def test_haar_is_orthonormal_and_coarsest_first() -> None:
    x = np.arange(8, dtype=float)
    h = artime.haar(x)
    assert np.isclose(np.linalg.norm(h), np.linalg.norm(x))
    assert np.isclose(h[0], x.sum() / np.sqrt(8))  # the approximation comes first
    assert np.allclose(artime.haar(np.full(8, 2.0))[1:], 0.0)  # a constant has no detail


def test_dvfa_resonates_with_what_it_learnt_and_founds_a_cluster_otherwise() -> None:
    art = artime.DVFA(4, rho_lb=0.6, rho_ub=0.8)
    art.train(np.zeros(4))  # the first vector only sets the model up
    a = np.array([0.1, 0.2, 0.1, 0.2])
    assert art.train(a)[0] == -1  # nothing learnt yet: a new cluster
    label, match, _ = art.train(a)
    assert label != -1 and match == pytest.approx(1.0)
    assert art.train(np.array([0.9, 1.0, 0.9, 1.0]))[0] == -1


@pytest.mark.parametrize("scale", ["online", "frozen"])
def test_live_scales_never_read_ahead(scale: str) -> None:
    """Online and frozen scores of a prefix are those of the whole series on it: no
    look-ahead (the faithful mode's scale does read ahead)."""
    x = _steady(3000)
    x[2500:2510] += 200
    whole, _, _ = artime.score_rows(x, scale=scale, rows_known=False)
    prefix, _, _ = artime.score_rows(x[:2000], scale=scale, rows_known=False)
    assert np.array_equal(whole[:2000], prefix)
    ahead, _, _ = artime.score_rows(x, scale="lookahead", rows_known=False)
    ahead_prefix, _, _ = artime.score_rows(x[:2000], scale="lookahead", rows_known=False)
    assert not np.array_equal(ahead[:2000], ahead_prefix)


@pytest.mark.parametrize(
    ("scale", "headroom", "latest"),
    [
        ("lookahead", 1.0, 3006),  # at the first sample that holds the burst
        ("frozen", 2.0, 3006),
        # the running range reads the burst as its new top: seen a feature window later
        ("online", 1.0, 3070),
    ],
)
@pytest.mark.parametrize("seed", [3, 4])
def test_a_burst_after_the_warm_up_scores(
    scale: str, headroom: float, latest: int, seed: int
) -> None:
    x = _steady(4000, seed)
    x[3000:3012] += 150
    scores, categories, nbytes = artime.score_rows(
        x, scale=scale, rows_known=False, headroom=headroom
    )
    assert not scores[:750].any()  # the warm-up never scores
    hits = np.flatnonzero(scores)
    assert any(3000 <= i <= latest for i in hits)
    assert categories > 1 and nbytes > 0
    assert ((scores >= 0) & (scores <= 1)).all()


@pytest.mark.parametrize("seed", [3, 4, 5])
def test_a_frozen_scale_without_headroom_clips_a_burst_away(seed: int) -> None:
    """The frozen scale's blind spot (model card): with headroom 1 a burst five times the
    level is clipped to the warm-up's peak, the top of the scale, and is not detected;
    with headroom 2 it is, at its first sample."""
    x = _steady(4000, seed)
    x[3000:3012] *= 5
    assert x[3000:3012].min() > 2 * x[:750].max()  # far above the warm-up's range
    found = {}
    for headroom in (1.0, 2.0):
        scores, _, _ = artime.score_rows(x, scale="frozen", rows_known=False, headroom=headroom)
        found[headroom] = [i for i in np.flatnonzero(scores) if 3000 <= i <= 3100]
    assert found[1.0] == []
    assert found[2.0] and found[2.0][0] <= 3006


def test_row_scoring_is_nab_scoring() -> None:
    """nab_artime's per-row scorer gives nab_score's raw score for the same detections."""
    n = 2000
    x = _steady(n)
    rows = [(T0 + timedelta(minutes=5 * i), float(v)) for i, v in enumerate(x)]
    windows = [(rows[900][0], rows[1000][0]), (rows[1500][0], rows[1600][0])]
    series = nab.Series("realTweets", "s.csv", rows, windows)
    r = na.run_mode(series, "online", False, 1.0)
    rng = np.random.default_rng(1)
    for _ in range(5):
        fired = rng.random(n) < 0.003
        fired[950] = bool(rng.integers(2))
        got = r.result(fired)
        want, null, perfect = nab.file_score(series, {rows[i][0] for i in np.flatnonzero(fired)})
        assert got == pytest.approx((want.raw, null, perfect))
