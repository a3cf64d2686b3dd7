"""The count tail (negative binomial / Poisson upper tail) against scipy's, and the count
gate it feeds (`detectors.COUNT_GATE`, issue 25's seventh pass)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import numpy as np
import pytest

from services.alerting import Rule
from services.alerting.backtest import backtest
from services.alerting.count_tail import TAIL_CAP, dispersion, tail_score

stats = pytest.importorskip("scipy.stats")

T0 = datetime(2026, 1, 5)
FIVE = timedelta(minutes=5)


def reference(count: int, mean: float, alpha: float) -> float:
    """-log10 P(X >= count) by scipy."""
    if alpha == 0:
        log_sf = stats.poisson.logsf(count - 1, mean)
    else:
        log_sf = stats.nbinom.logsf(count - 1, 1 / alpha, 1 / (1 + alpha * mean))
    return float(-log_sf / math.log(10))


@pytest.mark.parametrize("alpha", [0.0, 0.01, 0.1, 0.5, 1.0])
@pytest.mark.parametrize("mean", [0.1, 0.6, 1.5, 3.0, 30.0, 300.0])
def test_tail_matches_scipy(mean: float, alpha: float) -> None:
    """Within 1% (or 0.01 of a decade) for the dispersions brand counts have."""
    sd = math.sqrt(mean + alpha * mean * mean)
    for k in (1.0, 2.0, 4.0, 8.0, 16.0):
        count = math.ceil(mean + k * sd + 0.5)
        want = reference(count, mean, alpha)
        if want < TAIL_CAP:
            assert tail_score(count, mean, alpha) == pytest.approx(want, rel=0.01, abs=0.01)


def test_tail_edges() -> None:
    assert tail_score(3, 5.0) == 0.0  # at most the mean: no surprise
    assert tail_score(1, 0.0) == TAIL_CAP  # a mention where none can come
    assert tail_score(10_000, 1.0) == TAIL_CAP
    assert tail_score(6.4, 1.0) == tail_score(6, 1.0)  # smoothed counts are rounded
    for bad in ((math.nan, 1.0, 0.0), (3, -1.0, 0.0), (3, 1.0, -0.1)):
        with pytest.raises(ValueError):
            tail_score(*bad)


def test_dispersion_is_poisson_at_least() -> None:
    assert dispersion(10.0, 2.0) == 0.0  # narrower than counting noise
    assert dispersion(10.0, math.sqrt(10 + 0.2 * 100)) == pytest.approx(0.2)
    assert dispersion(0.0, 3.0) == 0.0


def poisson_stream(rate: float, days: int, seed: int) -> list[tuple[datetime, float]]:
    counts = np.random.default_rng(seed).poisson(rate, size=days * 288)
    return [(T0 + i * FIVE, float(c)) for i, c in enumerate(counts)]


def test_the_gate_keeps_a_burst_and_stops_counting_noise(monkeypatch: pytest.MonkeyPatch) -> None:
    """With the guards off, the gate alone: a burst of 40 mentions an hour on a brand of
    1.5 a bucket alerts (its count is far out of the model), while a gate no count can
    pass (the tail's cap) keeps every bucket from alerting."""
    from services.alerting import detectors

    rule = Rule(name="gated", min_volume=0, min_ratio=1.0)
    rows = poisson_stream(1.5, 8, seed=3)
    burst = 6 * 288 + 150
    for i in range(burst, burst + 12):
        rows[i] = (rows[i][0], rows[i][1] + 40)
    monkeypatch.setattr(detectors, "COUNT_GATE", 3.0)
    alerts = backtest(rows, rule)
    assert any(rows[burst][0] <= a.start < rows[burst + 12][0] for a in alerts)
    fired = next(a for a in alerts if a.start >= rows[burst][0])
    assert fired.details["count_tail"] >= 3.0
    monkeypatch.setattr(detectors, "COUNT_GATE", TAIL_CAP + 1)
    assert backtest(rows, rule) == []
