"""Quiet brands on daily buckets (what `bucket: auto` gives under ~10 mentions a day).

    .venv/bin/python benchmarks/bench_daily_buckets.py [--seeds 20]

Synthetic streams, not NAB (NAB's series are all 5-minute or finer, where a rule holds 48
residuals before it fires and this path is never taken): daily counts drawn from a
negative binomial (Poisson when `dispersion` is 0) around a weekly cycle, a year each.
Printed per mean volume and dispersion: false alarms per month of the default brand rule
(volume_spike, daily buckets, each sensitivity) on the quiet streams, and the share of
two-day spikes (x3 and x5 the expected count, injected once per stream after a month)
that raise an alert on either day.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from services.alerting.detectors import replay, score_series  # noqa: E402
from services.alerting.rules import Rule  # noqa: E402

T0 = datetime(2026, 1, 5)
DAYS = 365
VOLUMES = (2.0, 5.0, 9.0)
DISPERSIONS = (0.0, 0.3)  # var = mean + dispersion * mean^2
NAMES = ("low", "medium", "high")


def stream(mean: float, dispersion: float, rng: np.random.Generator) -> np.ndarray:
    week = 1.0 + 0.3 * np.cos(2 * np.pi * np.arange(DAYS) / 7)
    mu = mean * week
    if dispersion == 0:
        return rng.poisson(mu).astype(float)
    shape = 1.0 / dispersion
    return rng.poisson(rng.gamma(shape, mu / shape)).astype(float)


def alerts(values: np.ndarray, rule: Rule) -> list[list[datetime]]:
    """Per sensitivity, the start of each alert."""
    days = [T0 + timedelta(days=i) for i in range(len(values))]
    evs = score_series(list(zip(days, values.tolist(), strict=True)), rule)
    return [
        [a.start for a in replay(evs, rule.model_copy(update={"sensitivity": n}))] for n in NAMES
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    args = parser.parse_args()
    rule = Rule(name="brand_default", bucket=timedelta(days=1), min_run=1)
    print(f"{args.seeds} streams of {DAYS} days each; default brand rule on daily buckets")
    print(
        f"{'mean/day':>8} {'disp':>5} | false alarms per month: "
        f"{'low':>5} {'medium':>6} {'high':>5} | 2-day spikes caught x3: "
        f"{'low':>4} {'med':>4} {'high':>4}   x5: {'low':>4} {'med':>4} {'high':>4}"
    )
    for mean in VOLUMES:
        for disp in DISPERSIONS:
            rng = np.random.default_rng(int(mean * 100 + disp * 10))
            false = np.zeros(3)
            caught = {3: np.zeros(3), 5: np.zeros(3)}
            for _ in range(args.seeds):
                quiet = stream(mean, disp, rng)
                for i, fired in enumerate(alerts(quiet, rule)):
                    false[i] += len(fired)
                for factor in caught:
                    spiked = quiet.copy()
                    at = int(rng.integers(45, DAYS - 5))
                    spiked[at : at + 2] += rng.poisson(mean * (factor - 1), 2)
                    window = {T0 + timedelta(days=at + d) for d in range(2)}
                    for i, fired in enumerate(alerts(spiked[: at + 3], rule)):
                        caught[factor][i] += any(s in window for s in fired)
            months = args.seeds * DAYS / 30
            f = " ".join(f"{x / months:>5.2f}" for x in false)
            c3 = " ".join(f"{x / args.seeds:>4.2f}" for x in caught[3])
            c5 = " ".join(f"{x / args.seeds:>4.2f}" for x in caught[5])
            print(f"{mean:>8.0f} {disp:>5.1f} | {'':>23}{f} | {'':>21}{c3}   {'':>4}{c5}")


if __name__ == "__main__":
    main()
