"""NAB scores of the volume detector: all 52 shared series, per category, leave-one-out.

    .venv/bin/python benchmarks/nab_score.py [--rule rule.yaml] [--anomalies DIR]

The series are read from DIR (default: $VEILLE_ANOMALIES, else ../shared/corpora/anomalies
next to the checkout), which holds nab_realTweets/ and nab_other/, each with its
combined_windows.json.

The scorer reproduces numenta/NAB (nab/sweeper.py, nab/runner.py normalisation) for binary
detections: each row gets NAB's scaled-sigmoid weight (inside a window by its relative
position, outside by its distance past the preceding window, -1 before any window); a
window scores the best (= earliest) detection in it or -fnWeight if none; every flag
outside a window adds its FP weight; the probationary rows, min(floor(15% of rows), 750)
as in NAB, are ignored. Normalised = 100 * (raw - null) / (perfect - null), null = no
detection, perfect = number of windows * tpWeight, summed over the files scored together.

What it prints (one global rule, no per-series or per-category parameter):
1. the NAB rule (the default volume rule, both directions: a spike rule and a drop rule,
   with the count guards min_volume/min_ratio off since NAB's series are not all counts,
   and gaps skipped rather than read as silence) at the default 'medium' threshold, on all
   52 series and per category;
2. leave-one-category-out: the threshold is chosen on five categories and the sixth is
   scored with it (the two artificial folders are one category);
3. the shipped default rule (`Rule()`: volume_spike, medium, 5-minute buckets, guards on)
   on the four realTweets series, alone;
4. false alarms of the default rules on the five series without anomalies, per month;
5. alert rates of each sensitivity on the brand series (what low/medium/high mean);
6. the cost per bucket and the memory held by one rule.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from services.alerting.backtest import backtest  # noqa: E402
from services.alerting.detectors import Evaluation, replay, score_series  # noqa: E402
from services.alerting.rules import SENSITIVITY_Z, Rule  # noqa: E402

#: The shared corpus folder; --anomalies or VEILLE_ANOMALIES point elsewhere.
DEFAULT_ANOMALIES = REPO.parent / "shared" / "corpora" / "anomalies"
TWEETS, OTHERS = "nab_realTweets", "nab_other"
STANDARD = {"tpWeight": 1.0, "fpWeight": 0.11, "fnWeight": 1.0}
PROBATION_PERCENT = 0.15

#: The shipped default volume rule, as a brand gets it (5-minute buckets, medium).
DEFAULT_RULE = Rule(name="default_volume_spike")
#: The same detector on NAB's 52 series: both directions, no count guards, gaps skipped.
NAB_RULE = Rule(name="nab_volume", min_volume=0, min_ratio=1.0, missing="skip")
#: Thresholds swept for leave-one-category-out (the named ones among them).
THRESHOLDS = (1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 5.0, 6.0)
MONTH = timedelta(days=30)
WEEK = timedelta(days=7)


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


@dataclass
class Series:
    """One NAB data file, its category and labelled windows."""

    category: str
    name: str
    rows: list[tuple[datetime, float]]
    windows: list[tuple[datetime, datetime]]

    @property
    def timestamps(self) -> list[datetime]:
        return [ts for ts, _ in self.rows]

    @property
    def span(self) -> timedelta:
        return self.rows[-1][0] - self.rows[0][0]


def category_of(key: str) -> str:
    """NAB's folder, the two artificial ones (with and without anomalies) taken as one."""
    folder = key.split("/")[0]
    return "artificial" if folder.startswith("artificial") else folder


def load_corpus(roots: Sequence[Path]) -> list[Series]:
    """Every series listed in the roots' combined_windows.json, with its windows."""
    out: list[Series] = []
    for root in roots:
        windows_all = json.loads((root / "combined_windows.json").read_text(encoding="utf-8"))
        for key in sorted(windows_all):
            path = root / key if (root / key).exists() else root / key.split("/")[-1]
            windows = [(_parse(a), _parse(b)) for a, b in windows_all[key]]
            out.append(Series(category_of(key), key.split("/")[-1], load_series(path), windows))
    return out


def file_score(series: Series, fired: set[datetime]) -> tuple[FileScore, float, float]:
    """(score, null, perfect) of detections at the `fired` timestamps."""
    timestamps = series.timestamps
    got = score_file(timestamps, [ts in fired for ts in timestamps], series.windows)
    null = score_file(timestamps, [False] * len(timestamps), series.windows).raw
    return got, null, len(series.windows) * STANDARD["tpWeight"]


def total(results: Sequence[tuple[FileScore, float, float]]) -> float:
    """Normalised score of files scored together (NaN when they have no window)."""
    raw = sum(r[0].raw for r in results)
    null = sum(r[1] for r in results)
    perfect = sum(r[2] for r in results)
    return normalise(raw, null, perfect) if perfect > null else float("nan")


@dataclass
class Sweep:
    """Per series: its evaluations in both directions and the score at each threshold."""

    series: Series
    spike: list[Evaluation]
    drop: list[Evaluation]
    by_threshold: dict[float, tuple[FileScore, float, float]]
    seconds: float


def sweep(series: Series, rule: Rule, thresholds: Sequence[float]) -> Sweep:
    """Scores the series once per direction, then replays every threshold."""
    start = time.perf_counter()
    spike = score_series(series.rows, rule.model_copy(update={"kind": "volume_spike"}))
    drop = score_series(series.rows, rule.model_copy(update={"kind": "drop"}))
    seconds = time.perf_counter() - start
    out: dict[float, tuple[FileScore, float, float]] = {}
    for threshold in thresholds:
        fired: set[datetime] = set()
        for kind, evs in (("volume_spike", spike), ("drop", drop)):
            at = rule.model_copy(update={"kind": kind, "sensitivity": threshold})
            fired |= {a.fired_at for a in replay(evs, at)}
        out[threshold] = file_score(series, fired)
    return Sweep(series, spike, drop, out, seconds)


def _fmt(x: float) -> str:
    return "   n/a" if math.isnan(x) else f"{x:6.1f}"


def report_categories(sweeps: Sequence[Sweep], threshold: float) -> None:
    """Prints the score per category and over all series at one threshold."""
    cats = sorted({s.series.category for s in sweeps})
    print(f"\n1. NAB rule (spike + drop), threshold {threshold:g}: standard-profile score")
    print(f"   {'category':<22} {'files':>5} {'windows':>7} {'TP':>4} {'FP':>4} {'FN':>4} score")
    for cat in [*cats, "ALL"]:
        rows = [s.by_threshold[threshold] for s in sweeps if cat in ("ALL", s.series.category)]
        tp = sum(r[0].tp for r in rows)
        fp = sum(r[0].fp for r in rows)
        fn = sum(r[0].fn for r in rows)
        windows = sum(int(r[2]) for r in rows)
        print(
            f"   {cat:<22} {len(rows):>5} {windows:>7} {tp:>4} {fp:>4} {fn:>4} {_fmt(total(rows))}"
        )


def leave_one_category_out(
    sweeps: Sequence[Sweep], thresholds: Sequence[float]
) -> list[tuple[str, float, float, list[tuple[FileScore, float, float]]]]:
    """Per category: (category, threshold chosen on the others, their score, its results)."""
    out = []
    for cat in sorted({s.series.category for s in sweeps}):
        train = [s for s in sweeps if s.series.category != cat]
        best = max(thresholds, key=lambda t: total([s.by_threshold[t] for s in train]))
        train_score = total([s.by_threshold[best] for s in train])
        held = [s.by_threshold[best] for s in sweeps if s.series.category == cat]
        out.append((cat, best, train_score, held))
    return out


def report_loco(sweeps: Sequence[Sweep], thresholds: Sequence[float]) -> None:
    """Leave-one-category-out: the threshold is chosen on the other categories."""
    print("\n2. Leave-one-category-out (threshold chosen on the five others, then scored)")
    print(f"   {'held-out category':<22} {'chosen':>6} {'train':>6} {'held-out':>8}")
    pooled: list[tuple[FileScore, float, float]] = []
    for cat, best, train_score, held in leave_one_category_out(sweeps, thresholds):
        pooled.extend(held)
        print(f"   {cat:<22} {best:>6g} {_fmt(train_score)} {_fmt(total(held)):>8}")
    print(f"   {'ALL (each held out)':<22} {'':>6} {'':>6} {_fmt(total(pooled)):>8}")


def alerts_per(series: Series, rule: Rule, period: timedelta) -> float:
    """Alerts the rule fires on the series per period of data."""
    fired = [a for a in backtest(series.rows, rule) if a.status in ("firing", "resolved")]
    return len(fired) / (series.span / period)


def report_default(tweets: Sequence[Series], rule: Rule) -> None:
    """The shipped default rule on the realTweets series."""
    print(f"\n3. Shipped default rule on realTweets ({rule.kind}, {rule.sensitivity}, guards on)")
    rows = []
    for s in tweets:
        fired = {a.fired_at for a in backtest(s.rows, rule)}
        got, null, perfect = file_score(s, fired)
        rows.append((got, null, perfect))
        print(
            f"   {s.name:<28} TP {got.tp:>2} FP {got.fp:>3} FN {got.fn:>2}"
            f" score {_fmt(normalise(got.raw, null, perfect))}"
        )
    print(f"   {'TOTAL (4 series)':<28} {'':>23} {_fmt(total(rows))}")


def report_false_alarms(quiet: Sequence[Series]) -> None:
    """Alerts per series per month on series without any anomaly."""
    print("\n4. False alarms on the series without anomalies (alerts per month of data)")
    rules = {
        "default spike rule": DEFAULT_RULE,
        "default drop rule": DEFAULT_RULE.model_copy(update={"kind": "drop"}),
        "NAB rule, spike": NAB_RULE,
        "NAB rule, drop": NAB_RULE.model_copy(update={"kind": "drop"}),
    }
    print(f"   {'series':<34}" + "".join(f"{name:>20}" for name in rules))
    for s in quiet:
        rates = [alerts_per(s, rule, MONTH) for rule in rules.values()]
        print(f"   {s.name:<34}" + "".join(f"{r:>20.2f}" for r in rates))


def report_rates(brands: Sequence[Series]) -> None:
    """What each sensitivity means: alerts per week on brand mention series."""
    print("\n5. Alerts per week of each sensitivity (default rule otherwise), realTweets")
    names = list(SENSITIVITY_Z["volume_spike"])
    print(f"   {'series':<28}" + "".join(f"{n:>9}" for n in names))
    sums = dict.fromkeys(names, 0.0)
    for s in brands:
        rates = {
            n: alerts_per(s, DEFAULT_RULE.model_copy(update={"sensitivity": n}), WEEK)
            for n in names
        }
        for n in names:
            sums[n] += rates[n] / len(brands)
        print(f"   {s.name:<28}" + "".join(f"{rates[n]:>9.2f}" for n in names))
    print(f"   {'mean':<28}" + "".join(f"{sums[n]:>9.2f}" for n in names))


def report_cost(sweeps: Sequence[Sweep]) -> None:
    """Time per bucket and values held by one rule."""
    buckets = sum(len(s.spike) + len(s.drop) for s in sweeps)
    seconds = sum(s.seconds for s in sweeps)
    rule = DEFAULT_RULE
    per_window = int(rule.baseline_window / rule.bucket)
    print("\n6. Cost of one rule (one core)")
    print(f"   {seconds / buckets * 1e6:.0f} us per bucket ({buckets} buckets scored)")
    print(
        f"   memory: bounded by the baseline window, {per_window} buckets of 5 minutes in 14 days;"
        f" about {per_window * 6} stored numbers per rule"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Prints every figure listed in the module docstring."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rule", type=Path, help="score this rule YAML on realTweets instead")
    parser.add_argument(
        "--anomalies",
        type=Path,
        default=Path(os.environ.get("VEILLE_ANOMALIES") or DEFAULT_ANOMALIES),
        help="folder holding nab_realTweets/ and nab_other/ (env VEILLE_ANOMALIES; "
        "default ../shared/corpora/anomalies next to the checkout)",
    )
    args = parser.parse_args(argv)
    folders = (
        [args.anomalies / TWEETS]
        if args.rule
        else [args.anomalies / TWEETS, args.anomalies / OTHERS]
    )
    missing = [f for f in folders if not (f / "combined_windows.json").is_file()]
    if missing:
        print(
            f"nab_score: no NAB series at {missing[0]} (combined_windows.json is missing): "
            "pass --anomalies DIR or set VEILLE_ANOMALIES to the folder holding "
            f"{TWEETS}/ and {OTHERS}/",
            file=sys.stderr,
        )
        return 2
    if args.rule:
        from services.alerting.rules import load_rule

        report_default(load_corpus(folders), load_rule(args.rule))
        return 0
    corpus = load_corpus(folders)
    print(f"{len(corpus)} series, {sum(len(s.windows) for s in corpus)} windows")
    sweeps = []
    for i, s in enumerate(corpus, 1):
        sweeps.append(sweep(s, NAB_RULE, THRESHOLDS))
        print(f"\r   scored {i}/{len(corpus)} {s.name:<40}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    report_categories(sweeps, NAB_RULE.threshold)
    report_loco(sweeps, THRESHOLDS)
    tweets = [s for s in corpus if s.category == "realTweets"]
    report_default(tweets, DEFAULT_RULE)
    report_false_alarms([s for s in corpus if not s.windows])
    report_rates(tweets)
    report_cost(sweeps)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
