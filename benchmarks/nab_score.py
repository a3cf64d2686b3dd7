"""NAB score of our volume-spike detector on the realTweets series (standard profile).

    .venv/bin/python benchmarks/nab_score.py [--rule rule.yaml] [--corpus DIR]

The scorer reproduces numenta/NAB (nab/sweeper.py, nab/runner.py normalisation) for binary
detections: each row gets NAB's scaled-sigmoid weight (inside a window by its relative
position, outside by its distance past the preceding window, -1 before any window); a
window scores the best (= earliest) detection in it or -fnWeight if none; every flag
outside a window adds its FP weight; the probationary rows, min(floor(15% of rows), 750)
as in NAB, are ignored. Normalised = 100 * (raw - null) / (perfect - null), null = no
detection, perfect = number of windows * tpWeight. One global rule is used for all four
series (no per-series tuning). Prints per-series and total normalised scores.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from services.alerting.backtest import backtest  # noqa: E402
from services.alerting.rules import Rule  # noqa: E402

CORPUS = Path("/work/shared/corpora/anomalies/nab_realTweets")
STANDARD = {"tpWeight": 1.0, "fpWeight": 0.11, "fnWeight": 1.0}
PROBATION_PERCENT = 0.15

#: The one global rule scored here (also the documented default for 5-minute brand volumes).
NAB_RULE = Rule(
    name="nab_volume_spike",
    kind="volume_spike",
    sensitivity="medium",
    min_volume=5,
    bucket="5m",
    baseline_window="14d",
    seasonality="daily",
    level_window="3d",
    min_run=2,
    end_after=144,  # a run ends after 12 quiet hours: one alert per burst
)


def sigmoid(x: float) -> float:
    """Standard sigmoid."""
    return 1.0 / (1.0 + math.exp(-x))


def scaled_sigmoid(position: float) -> float:
    """NAB's scaled sigmoid of a relative position (-1 left window edge, 0 right edge)."""
    if position >= 3.0:
        return -1.0
    return 2.0 * sigmoid(-5.0 * position) - 1.0


def probationary_length(rows: int, percent: float = PROBATION_PERCENT) -> float:
    """NAB's probation: min(floor(percent * rows), percent * 5000)."""
    return min(math.floor(percent * rows), percent * 5000)


@dataclass(frozen=True)
class FileScore:
    """Raw NAB score of one file and its counts."""

    raw: float
    tp: int
    fp: int
    fn: int
    windows: int


def score_file(
    timestamps: Sequence[datetime],
    detections: Sequence[bool],
    windows: Sequence[tuple[datetime, datetime]],
    *,
    cost: dict[str, float] | None = None,
    probation_percent: float = PROBATION_PERCENT,
) -> FileScore:
    """Scores binary detections on one file exactly as NAB's Sweeper does."""
    cost = cost or STANDARD
    if len(timestamps) != len(detections):
        raise ValueError("timestamps and detections differ in length")
    index = {ts: i for i, ts in enumerate(timestamps)}
    limits = sorted((index[a], index[b]) for a, b in windows)
    max_tp = scaled_sigmoid(-1.0)
    probation = probationary_length(len(timestamps), probation_percent)
    window_best: dict[int, float] = {}  # window number -> best score (-fn if missed)
    fp_total = 0.0
    tp = fp = 0
    w = 0
    prev_right: int | None = None
    prev_width = 0.0
    for i, flagged in enumerate(detections):
        in_window = w < len(limits) and limits[w][0] <= i <= limits[w][1]
        if in_window:
            left, right = limits[w]
            width = float(right - left + 1)
            weight = scaled_sigmoid(-(right - i + 1) / width) * cost["tpWeight"] / max_tp
        else:
            # NAB divides by (width - 1); a one-row window would divide by zero there.
            past = 3.0 if prev_right is None else abs(prev_right - i) / max(prev_width - 1, 1.0)
            weight = scaled_sigmoid(past) * cost["fpWeight"]
        if i >= probation:
            if in_window:
                window_best.setdefault(w, -cost["fnWeight"])
                if flagged:
                    tp += 1 if window_best[w] == -cost["fnWeight"] else 0
                    window_best[w] = max(window_best[w], weight)
            elif flagged:
                fp += 1
                fp_total += weight
        if in_window and i == limits[w][1]:
            prev_right = limits[w][1]
            prev_width = float(limits[w][1] - limits[w][0] + 1)
            w += 1
    fn = sum(1 for s in window_best.values() if s == -cost["fnWeight"])
    return FileScore(
        raw=sum(window_best.values()) + fp_total, tp=tp, fp=fp, fn=fn, windows=len(window_best)
    )


def normalise(raw: float, null: float, perfect: float) -> float:
    """NAB normalisation: 100 * (raw - null) / (perfect - null)."""
    return 100.0 * (raw - null) / (perfect - null)


def _parse(ts: str) -> datetime:
    return datetime.fromisoformat(ts.split(".")[0])


def load_series(path: Path) -> list[tuple[datetime, float]]:
    """Reads a NAB data file (timestamp,value)."""
    with path.open(newline="", encoding="utf-8") as fh:
        return [(_parse(r["timestamp"]), float(r["value"])) for r in csv.DictReader(fh)]


def score_corpus(corpus: Path, rule: Rule) -> dict[str, tuple[FileScore, float, float, float]]:
    """Runs the rule on every series; returns name -> (score, null, perfect, normalised)."""
    windows_all = json.loads((corpus / "combined_windows.json").read_text(encoding="utf-8"))
    out: dict[str, tuple[FileScore, float, float, float]] = {}
    for key in sorted(windows_all):
        name = key.split("/")[-1]
        series = load_series(corpus / name)
        timestamps = [ts for ts, _ in series]
        windows = [(_parse(a), _parse(b)) for a, b in windows_all[key]]
        flagged_at = {alert.fired_at for alert in backtest(series, rule)}
        detections = [ts in flagged_at for ts in timestamps]
        got = score_file(timestamps, detections, windows)
        null = score_file(timestamps, [False] * len(timestamps), windows).raw
        perfect = len(windows) * STANDARD["tpWeight"]
        out[name] = (got, null, perfect, normalise(got.raw, null, perfect))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Prints per-series and total normalised NAB scores."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rule", type=Path, help="rule YAML (default: the built-in NAB rule)")
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    args = parser.parse_args(argv)
    rule = NAB_RULE
    if args.rule:
        from services.alerting.rules import load_rule

        rule = load_rule(args.rule)
    results = score_corpus(args.corpus, rule)
    print(f"{'series':<28} {'raw':>8} {'null':>6} {'TP':>3} {'FP':>3} {'FN':>3} {'score':>7}")
    raw_sum = null_sum = perfect_sum = 0.0
    for name, (got, null, perfect, norm) in results.items():
        raw_sum += got.raw
        null_sum += null
        perfect_sum += perfect
        print(
            f"{name:<28} {got.raw:8.3f} {null:6.1f} {got.tp:3d} {got.fp:3d} {got.fn:3d} {norm:7.2f}"
        )
    total = normalise(raw_sum, null_sum, perfect_sum)
    print(f"{'TOTAL (normalised over 4)':<28} {raw_sum:8.3f} {null_sum:6.1f} {'':>11} {total:7.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
