"""Drops (a source going silent) and negative-share spikes on synthetic brand streams.

    .venv/bin/python benchmarks/bench_drops_shares.py [--seeds 6]

NAB has no labelled drop of a mention source nor any sentiment, so these two alert kinds are
measured on synthetic 5-minute mention counts shaped like brand volumes: a daily cycle
(quiet nights), quieter weekends, over-dispersed noise (gamma-Poisson) and a few short
bursts of chatter per week that are not events. Three volumes: 12, 60 and 600 mentions an
hour. 28 days each; an event starts at a random time after the 14-day baseline:

- silent source: every mention stops (the only source) or half of them (one of two
  sources) for 6 hours;
- negative share doubling: the negative share goes from 15% to 30% for 6 hours on
  unchanged volume.

Printed for each rule (`Rule(kind=...)`, 5-minute buckets; weekly seasonality for drops)
and sensitivity:
the share of events detected during the event, the median delay from its start to the
alert, and the false alarms per month on the same streams without the event.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from services.alerting.detectors import replay, score_series  # noqa: E402
from services.alerting.rules import Rule  # noqa: E402

T0 = datetime(2026, 1, 5)  # a Monday
BUCKET = timedelta(minutes=5)
DAYS = 28
EVENT = timedelta(hours=6)
VOLUMES = (12.0, 60.0, 600.0)  # mentions per hour
NEGATIVE_SHARE = 0.15
SENSITIVITIES = ("low", "medium", "high")


def brand_volume(rng: np.random.Generator, per_hour: float) -> np.ndarray:
    """Expected mentions per 5-minute bucket: daily cycle, weekends, bursts of chatter."""
    n = DAYS * 288
    minutes = np.arange(n) * 5
    hour = (minutes / 60) % 24
    day = minutes // 1440
    daily = 1.0 + 0.7 * np.sin(2 * math.pi * (hour - 9) / 24)
    weekend = np.where((day % 7) >= 5, 0.6, 1.0)
    mean = per_hour / 12 * daily * weekend
    for start in rng.integers(0, n - 24, size=DAYS // 2):  # ~3.5 bursts a week, 30 min-2 h
        length = int(rng.integers(6, 24))
        mean[start : start + length] *= rng.uniform(1.5, 3.0)
    return mean


def counts(rng: np.random.Generator, mean: np.ndarray) -> np.ndarray:
    """Over-dispersed counts around `mean` (gamma-Poisson, shape 5)."""
    return rng.poisson(rng.gamma(5.0, mean / 5.0)).astype(float)


@dataclass(frozen=True)
class Case:
    """One synthetic stream, with and without its event."""

    clean: list[tuple[datetime, float, float]]
    event: list[tuple[datetime, float, float]]
    start: datetime


def make_case(kind: str, per_hour: float, seed: int) -> Case:
    """A stream and the same stream with its event injected (drop or negative share)."""
    rng = np.random.default_rng(seed)
    total = counts(rng, brand_volume(rng, per_hour))
    negative = rng.binomial(total.astype(int), NEGATIVE_SHARE).astype(float)
    at = int(rng.integers(15 * 288, (DAYS - 1) * 288))
    span = slice(at, at + int(EVENT / BUCKET))
    hit_total, hit_negative = total.copy(), negative.copy()
    if kind == "silent":
        hit_total[span] = 0.0
    elif kind == "half_silent":
        hit_total[span] = rng.binomial(total[span].astype(int), 0.5)
    else:
        hit_negative[span] = rng.binomial(total[span].astype(int), 2 * NEGATIVE_SHARE)
    hit_negative = np.minimum(hit_negative, hit_total)
    stamps = [T0 + i * BUCKET for i in range(len(total))]
    return Case(
        clean=list(zip(stamps, negative.tolist(), total.tolist(), strict=True)),
        event=list(zip(stamps, hit_negative.tolist(), hit_total.tolist(), strict=True)),
        start=stamps[at],
    )


def rows_for(rule: Rule, rows: Sequence[tuple[datetime, float, float]]) -> list[tuple]:  # type: ignore[type-arg]
    """(ts, negative, total) for a share rule, (ts, total) for a volume rule."""
    if rule.kind == "negative_share_spike":
        return list(rows)
    return [(ts, total) for ts, _, total in rows]


def measure(kind: str, rule_kind: str, seeds: int) -> dict[str, tuple[float, float, float]]:
    """Per sensitivity: (detected share, median delay in minutes, false alarms per month).

    Each stream is scored once (`score_series`) and every sensitivity replayed from it.
    """
    # Brand volumes are quieter at weekends: a drop rule compares with the same hour of the
    # same weekday (the README's advice), else every Saturday would look like a drop.
    seasonality = "weekly" if rule_kind == "drop" else "daily"
    base = Rule(name=f"default_{rule_kind}", kind=rule_kind, seasonality=seasonality)  # type: ignore[arg-type]
    rules = {s: base.model_copy(update={"sensitivity": s}) for s in SENSITIVITIES}
    delays: dict[str, list[float]] = {s: [] for s in SENSITIVITIES}
    false_alarms = dict.fromkeys(SENSITIVITIES, 0)
    events = 0
    for per_hour in VOLUMES:
        for seed in range(seeds):
            case = make_case(kind, per_hour, seed * 101 + int(per_hour))
            events += 1
            clean = score_series(rows_for(base, case.clean), base)
            hit = score_series(rows_for(base, case.event), base)
            for name, rule in rules.items():
                false_alarms[name] += len(replay(clean, rule))
                for alert in replay(hit, rule):
                    if case.start <= alert.fired_at < case.start + EVENT:
                        delays[name].append((alert.fired_at - case.start).total_seconds() / 60)
                        break
    months = events * DAYS / 30
    return {
        name: (
            len(delays[name]) / events,
            statistics.median(delays[name]) if delays[name] else float("nan"),
            false_alarms[name] / months,
        )
        for name in SENSITIVITIES
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Prints detection, delay and false alarms per kind and sensitivity."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seeds", type=int, default=4, help="streams per volume and kind")
    args = parser.parse_args(argv)
    print(f"volumes {VOLUMES} mentions/hour, {args.seeds} streams each, {DAYS} days, 5-min buckets")
    print(f"{'event':<26} {'sensitivity':<11} {'detected':>8} {'delay':>9} {'false/month':>11}")
    for kind, rule_kind in (
        ("silent", "drop"),
        ("half_silent", "drop"),
        ("negative_share_x2", "negative_share_spike"),
    ):
        for sensitivity, (found, delay, false_rate) in measure(kind, rule_kind, args.seeds).items():
            print(
                f"{kind:<26} {sensitivity:<11} {found:>7.0%} {delay:>6.0f} min {false_rate:>11.2f}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
