"""NAB scores of the volume detector: all 52 shared series, per category, leave-one-out.

    .venv/bin/python benchmarks/nab_score.py [--rule rule.yaml] [--jobs 2] [--anomalies DIR]

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
1. the NAB rule (the default volume spike rule with the count guards min_volume/min_ratio
   off since NAB's series are not all counts, and gaps skipped rather than read as
   silence) at the default 'medium' threshold and end_after, on all 52 series and per
   category; then the drop rule alone and both rules together (NAB's labels have no
   direction: measured, not chosen on);
2. leave-one-category-out: the threshold and end_after are chosen on five categories and
   the sixth is scored with them (the two artificial folders are one category), for the
   spike rule and for both rules; the realTweets row is the held-out estimate for brand
   series the project does not have; then (2c) the same with the raw score's weight
   (RAW_PER_UNIT, whose shipped value keeps a threshold once chosen on realTweets) chosen
   on the five others too, by re-weighting the stored scores;
3. the shipped default rule (`Rule()`: volume_spike, medium, 5-minute buckets, guards on)
   on the four realTweets series, alone; 3b. the same on those series thinned (each mention
   kept with probability p, seeded): how the rule holds on quieter brands (`--thinned`
   prints sections 3 and 3b only);
4. false alarms of the default rules on the five series without anomalies, per month;
5. alert rates of each sensitivity on the brand series (what low/medium/high mean);
6. the CPU cost per bucket and per evaluation, and the memory held by one rule.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import multiprocessing
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import replace as dataclass_replace
from datetime import datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from services.alerting.backtest import backtest  # noqa: E402
from services.alerting.detectors import (  # noqa: E402
    RAW_PER_UNIT,
    Evaluation,
    replay,
    score_series,
)
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
#: Settings swept for leave-one-category-out: thresholds (the named ones among them) and
#: end_after (buckets of quiet that end an alert: 6 and 12 hours of 5-minute buckets).
SETTINGS = [(t, e) for t in (1.0, 1.5, 2.0, 2.5, 3.0) for e in (72, 144)]
#: Raw-score weights swept with them in section 2c (raw units per likelihood unit).
RAW_WEIGHTS = (2.0, 2.5, RAW_PER_UNIT["volume_spike"])
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


#: One setting of the sweep: (threshold, end_after in buckets[, raw-score weight]).
Setting = tuple[float, ...]


@dataclass
class Sweep:
    """Per series: its evaluations in both directions and the score of each setting, for the
    spike rule (the NAB rule), the drop rule and both together."""

    series: Series
    spike: list[Evaluation]
    drop: list[Evaluation]
    by_setting: dict[str, dict[Setting, tuple[FileScore, float, float]]]
    seconds: float


def sweep(series: Series, rule: Rule, settings: Sequence[Setting]) -> Sweep:
    """Scores the series once per direction, then replays every setting."""
    # CPU time: the machine may be shared, and wall time then says more about the others.
    start = time.process_time()
    spike = score_series(series.rows, rule.model_copy(update={"kind": "volume_spike"}))
    drop = score_series(series.rows, rule.model_copy(update={"kind": "drop"}))
    seconds = time.process_time() - start
    out: dict[str, dict[Setting, tuple[FileScore, float, float]]] = {
        "spike": {},
        "drop": {},
        "both": {},
    }
    for threshold, end_after in settings:
        fired: dict[str, set[datetime]] = {}
        for kind, evs in (("volume_spike", spike), ("drop", drop)):
            at = rule.model_copy(
                update={"kind": kind, "sensitivity": threshold, "end_after": end_after}
            )
            fired[kind] = {a.fired_at for a in replay(evs, at)}
        key = (threshold, end_after)
        out["spike"][key] = file_score(series, fired["volume_spike"])
        out["drop"][key] = file_score(series, fired["drop"])
        out["both"][key] = file_score(series, fired["volume_spike"] | fired["drop"])
    out["weighted"] = {}
    for weight in RAW_WEIGHTS:
        scored = reweighted(spike, weight)
        for threshold, end_after in settings:
            at = rule.model_copy(
                update={"kind": "volume_spike", "sensitivity": threshold, "end_after": end_after}
            )
            wkey = (threshold, end_after, weight)
            out["weighted"][wkey] = file_score(series, {a.fired_at for a in replay(scored, at)})
    return Sweep(series, spike, drop, out, seconds)


def reweighted(evaluations: Sequence[Evaluation], per_unit: float) -> list[Evaluation]:
    """Spike evaluations as the detector would score them with RAW_PER_UNIT = per_unit:
    max(likelihood, raw / per_unit), the run-ending bucket score in the same units."""
    shipped = RAW_PER_UNIT["volume_spike"]
    out = []
    for ev in evaluations:
        details = dict(ev.details)
        score = max(details["likelihood"], details["raw_score"] / per_unit)
        details["bucket_score"] = details["bucket_score"] * shipped / per_unit
        out.append(dataclass_replace(ev, score=score, details=details))
    return out


def _fmt(x: float) -> str:
    return "   n/a" if math.isnan(x) else f"{x:6.1f}"


def report_categories(sweeps: Sequence[Sweep], setting: Setting, which: str, title: str) -> None:
    """Prints the score per category and over all series at one setting."""
    cats = sorted({s.series.category for s in sweeps})
    print(f"\n{title}")
    print(f"   {'category':<22} {'files':>5} {'windows':>7} {'TP':>4} {'FP':>4} {'FN':>4} score")
    for cat in [*cats, "ALL"]:
        rows = [s.by_setting[which][setting] for s in sweeps if cat in ("ALL", s.series.category)]
        tp = sum(r[0].tp for r in rows)
        fp = sum(r[0].fp for r in rows)
        fn = sum(r[0].fn for r in rows)
        windows = sum(int(r[2]) for r in rows)
        print(
            f"   {cat:<22} {len(rows):>5} {windows:>7} {tp:>4} {fp:>4} {fn:>4} {_fmt(total(rows))}"
        )


def leave_one_category_out(
    sweeps: Sequence[Sweep], settings: Sequence[Setting], which: str = "spike"
) -> list[tuple[str, Setting, float, list[tuple[FileScore, float, float]]]]:
    """Per category: (category, setting chosen on the others, their score, its results)."""
    out = []
    for cat in sorted({s.series.category for s in sweeps}):
        train = [s for s in sweeps if s.series.category != cat]
        best = max(settings, key=lambda t: total([s.by_setting[which][t] for s in train]))
        train_score = total([s.by_setting[which][best] for s in train])
        held = [s.by_setting[which][best] for s in sweeps if s.series.category == cat]
        out.append((cat, best, train_score, held))
    return out


def report_loco(sweeps: Sequence[Sweep], settings: Sequence[Setting], which: str) -> None:
    """Leave-one-category-out: the setting is chosen on the other categories."""
    chosen_on = (
        "threshold, end_after and raw weight" if which == "weighted" else "threshold and end_after"
    )
    section = "2c" if which == "weighted" else "2"
    print(f"\n{section}. Leave-one-category-out, {which} rule ({chosen_on} chosen on the")
    print("   five other categories, then the held-out one scored)")
    print(f"   {'held-out category':<22} {'chosen':>10} {'train':>6} {'held-out':>8}")
    pooled: list[tuple[FileScore, float, float]] = []
    held_scores = []
    for cat, best, train_score, held in leave_one_category_out(sweeps, settings, which):
        pooled.extend(held)
        held_scores.append(total(held))
        chosen = "/".join(f"{x:.3g}" for x in best)
        print(f"   {cat:<22} {chosen:>10} {_fmt(train_score)} {_fmt(total(held)):>8}")
    mean = sum(held_scores) / len(held_scores)
    print(f"   {'pooled (each held out)':<22} {'':>10} {'':>6} {_fmt(total(pooled)):>8}")
    print(f"   {'mean of the six':<22} {'':>10} {'':>6} {_fmt(mean):>8}")


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


#: Thinning of the brand series in section 3b: the share of mentions kept.
THINNING = (1.0, 0.5, 0.2, 0.1, 0.05)


def report_thinned(tweets: Sequence[Series], rule: Rule, seed: int = 25) -> None:
    """The default rule on the brand series with each mention kept with probability p
    (binomial thinning: a quieter brand with the same bursts and labelled windows)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    print("\n3b. Default rule on the realTweets series thinned (mentions kept with probability p)")
    print(f"   {'p':>5} {'mean per 5 min':>15} {'TP':>4} {'FP':>4} {'FN':>4} score")
    for p in THINNING:
        rows = []
        volume = 0.0
        for s in tweets:
            thin = [(ts, float(rng.binomial(int(v), p))) for ts, v in s.rows]
            volume += sum(v for _, v in thin) / len(thin) / len(tweets)
            fired = {a.fired_at for a in backtest(thin, rule)}
            rows.append(file_score(Series(s.category, s.name, thin, s.windows), fired))
        tp, fp, fn = (sum(getattr(r[0], k) for r in rows) for k in ("tp", "fp", "fn"))
        print(f"   {p:>5.2f} {volume:>15.1f} {tp:>4} {fp:>4} {fn:>4} {_fmt(total(rows))}")


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
    worst = 0.0
    for s in quiet:
        rates = [alerts_per(s, rule, MONTH) for rule in rules.values()]
        worst = max(worst, *rates[:2])
        print(f"   {s.name:<34}" + "".join(f"{r:>20.2f}" for r in rates))
    verdict = "met" if worst <= 1.0 else "NOT met"
    print(f"   default rules: at most {worst:.2f} alerts per series a month (goal <= 1: {verdict})")


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
    print("\n6. Cost of one rule (one core, CPU time)")
    per_bucket = seconds / buckets
    replayed = int((rule.warmup_period + rule.baseline_window) / rule.bucket)
    print(f"   {per_bucket * 1e6:.0f} us per bucket ({buckets} buckets scored)")
    print(
        f"   one evaluation of the default rule replays {replayed} buckets:"
        f" about {per_bucket * replayed:.1f} s"
    )
    print(
        f"   memory: bounded by the baseline window, {per_window} buckets of 5 minutes in 14 days;"
        f" about {per_window * 8} stored numbers per rule"
    )


def _sweep_one(series: Series) -> Sweep:
    return sweep(series, NAB_RULE, SETTINGS)


def main(argv: Sequence[str] | None = None) -> int:
    """Prints every figure listed in the module docstring."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rule", type=Path, help="score this rule YAML on realTweets instead")
    parser.add_argument("--jobs", type=int, default=1, help="series scored in parallel")
    parser.add_argument(
        "--thinned", action="store_true", help="only the default rule's sections (3 and 3b)"
    )
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
        if args.rule or args.thinned
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
    if args.thinned:
        report_default(corpus, DEFAULT_RULE)
        report_thinned(corpus, DEFAULT_RULE)
        return 0
    print(f"{len(corpus)} series, {sum(len(s.windows) for s in corpus)} windows")
    sweeps: list[Sweep] = []
    with multiprocessing.Pool(max(1, args.jobs)) as pool:
        for i, done in enumerate(pool.imap(_sweep_one, corpus), 1):
            sweeps.append(done)
            print(f"\r   scored {i}/{len(corpus)}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    default = (NAB_RULE.threshold, NAB_RULE.end_after_buckets)
    label = f"threshold {default[0]:g} ({NAB_RULE.sensitivity}), end_after {default[1]} buckets"
    report_categories(sweeps, default, "spike", f"1. NAB rule (the spike rule), {label}")
    report_categories(sweeps, default, "drop", "1b. the drop rule alone, same setting")
    report_categories(sweeps, default, "both", "1c. spike and drop rules together, same setting")
    report_loco(sweeps, SETTINGS, "spike")
    report_loco(sweeps, SETTINGS, "both")
    weighted = [(t, e, w) for t, e in SETTINGS for w in RAW_WEIGHTS]
    report_loco(sweeps, weighted, "weighted")
    held = dict((c, total(h)) for c, _, _, h in leave_one_category_out(sweeps, SETTINGS))
    print(
        f"\n   realTweets HELD OUT (setting chosen on the five other categories, spike rule):"
        f" {held['realTweets']:.1f}  <- the honest estimate for unseen brand series"
    )
    tweets = [s for s in corpus if s.category == "realTweets"]
    report_default(tweets, DEFAULT_RULE)
    report_thinned(tweets, DEFAULT_RULE)
    report_false_alarms([s for s in corpus if not s.windows])
    report_rates(tweets)
    report_cost(sweeps)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
