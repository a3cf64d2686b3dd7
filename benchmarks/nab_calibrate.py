"""Our brand series against NAB's published detectors: how hard are the four we have?

    .venv/bin/python benchmarks/nab_calibrate.py --nab PATH_TO_NAB_CHECKOUT [--anomalies DIR]

NAB publishes each detector's anomaly score per row (results/<detector>/realTweets/
<detector>_Twitter_volume_<X>.csv) and its standard-profile threshold
(config/thresholds.json). This reads them at run time from a NAB checkout the user gives,
for the realTweets series in our corpus ONLY (the file names are built from ours: the
other realTweets series are held back for acceptance and are never opened), flags the rows
whose score reaches the detector's threshold, and scores them with nab_score.py (same
windows, probation and standard profile). Next to NAB's figures on the realTweets series
we do not have, the table says how much harder or easier our four are, and so what the
default rule's figure on them may mean. Nothing from NAB is copied into the project.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
for path in (REPO, REPO / "benchmarks"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import nab_score as nab  # noqa: E402

#: The detectors compared, in NAB's results/ folder names (a missing one is skipped).
DETECTORS = (
    "numenta",
    "windowedGaussian",
    "twitterADVec",
    "random",
    "contextOSE",
    "knncad",
    "ARTime",
)


def read_scores(path: Path) -> dict[datetime, float]:
    """A NAB results file: anomaly score by timestamp."""
    with path.open(newline="", encoding="utf-8") as fh:
        return {
            datetime.fromisoformat(r["timestamp"].split(".")[0]): float(r["anomaly_score"])
            for r in csv.DictReader(fh)
        }


def score_detector(
    series: Sequence[nab.Series], results: Path, detector: str, threshold: float
) -> list[tuple[nab.FileScore, float, float]] | None:
    """Each series scored at NAB's threshold (a row is flagged when its score reaches it),
    or None when a result file is missing."""
    out = []
    for s in series:
        path = results / detector / "realTweets" / f"{detector}_{s.name}"
        if not path.is_file():
            return None
        scores = read_scores(path)
        fired = {ts for ts, _ in s.rows if scores.get(ts, -math.inf) >= threshold}
        out.append(nab.file_score(s, fired))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--nab", type=Path, required=True, help="a NAB checkout (numenta/NAB)")
    parser.add_argument(
        "--anomalies",
        type=Path,
        default=Path(os.environ.get("VEILLE_ANOMALIES") or nab.DEFAULT_ANOMALIES),
        help="folder holding nab_realTweets/ (as nab_score.py)",
    )
    parser.add_argument(
        "--default-rule", action="store_true", help="also score our default rule (slower)"
    )
    args = parser.parse_args(argv)
    config = args.nab / "config" / "thresholds.json"
    tweets_dir = args.anomalies / nab.TWEETS
    if not config.is_file() or not (tweets_dir / "combined_windows.json").is_file():
        print(
            f"nab_calibrate: need {config} and {tweets_dir}/combined_windows.json",
            file=sys.stderr,
        )
        return 2
    thresholds = json.loads(config.read_text(encoding="utf-8"))
    tweets = nab.load_corpus([tweets_dir])
    names = [s.name.removeprefix("Twitter_volume_").removesuffix(".csv") for s in tweets]
    print(f"| detector | threshold | {' | '.join(names)} | pooled | TP / FP / FN |")
    print("|---" * (len(names) + 4) + "|")
    rows: list[tuple[str, float, list[tuple[nab.FileScore, float, float]]]] = []
    for detector in DETECTORS:
        if detector not in thresholds:
            continue
        threshold = float(thresholds[detector]["standard"]["threshold"])
        got = score_detector(tweets, args.nab / "results", detector, threshold)
        if got is not None:
            rows.append((detector, threshold, got))
    if args.default_rule:
        ours = []
        for s in tweets:
            fired = {a.fired_at for a in nab.backtest(s.rows, nab.DEFAULT_RULE)}
            ours.append(nab.file_score(s, fired))
        rows.append(("Veille default rule", nab.DEFAULT_RULE.threshold, ours))
    for detector, threshold, got in rows:
        each = " | ".join(f"{nab.normalise(r[0].raw, r[1], r[2]):.1f}" for r in got)
        tp, fp, fn = (sum(getattr(r[0], k) for r in got) for k in ("tp", "fp", "fn"))
        print(
            f"| {detector} | {threshold:.4g} | {each} | {nab.total(got):.1f} | {tp} / {fp} / {fn} |"
        )
    if not rows:
        print(f"nab_calibrate: no results under {args.nab / 'results'}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
