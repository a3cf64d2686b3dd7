"""benchmarks/nab_calibrate.py scores NAB's published results on our brand series only, as
nab_score.py would, and never opens a result file of a series we do not have."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.alerting.benchmark_modules import load_benchmark

nab = load_benchmark("nab_score")
calib = load_benchmark("nab_calibrate")
T0 = datetime(2015, 3, 1)
FMT = "%Y-%m-%d %H:%M:%S"


def _write_nab(tmp_path: Path, threshold: float) -> tuple[Path, Path, list[float], list[datetime]]:
    """A corpus of one brand series with two windows, and a NAB checkout with one
    detector's scores for it (and a 'result' for a series we do not have that cannot be
    opened: a folder)."""
    rng = random.Random(5)
    n = 2000
    stamps = [T0 + timedelta(minutes=5 * i) for i in range(n)]
    corpus = tmp_path / "anomalies" / "nab_realTweets"
    corpus.mkdir(parents=True)
    name = "Twitter_volume_X.csv"
    (corpus / name).write_text(
        "timestamp,value\n" + "".join(f"{t.strftime(FMT)},{rng.randint(0, 50)}\n" for t in stamps)
    )
    windows = [
        [stamps[a].strftime(FMT) + ".000000", stamps[a + 80].strftime(FMT) + ".000000"]
        for a in (700, 1500)
    ]
    (corpus / "combined_windows.json").write_text(json.dumps({f"realTweets/{name}": windows}))
    checkout = tmp_path / "NAB"
    (checkout / "config").mkdir(parents=True)
    (checkout / "config" / "thresholds.json").write_text(
        json.dumps({"random": {"standard": {"threshold": threshold, "score": 0.0}}})
    )
    results = checkout / "results" / "random" / "realTweets"
    results.mkdir(parents=True)
    scores = [rng.random() for _ in stamps]
    (results / f"random_{name}").write_text(
        "timestamp,value,anomaly_score,label\n"
        + "".join(f"{t.strftime(FMT)},1,{sc!r},0\n" for t, sc in zip(stamps, scores, strict=True))
    )
    (results / "random_Twitter_volume_HIDDEN.csv").mkdir()  # opening it would fail
    return checkout, tmp_path / "anomalies", scores, stamps


def test_published_scores_are_scored_as_nab_score_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    checkout, anomalies, scores, stamps = _write_nab(tmp_path, 0.995)
    assert calib.main(["--nab", str(checkout), "--anomalies", str(anomalies)]) == 0
    out = capsys.readouterr().out
    (series,) = nab.load_corpus([anomalies / "nab_realTweets"])
    fired = {t for t, sc in zip(stamps, scores, strict=True) if sc >= 0.995}
    got, null, perfect = nab.file_score(series, fired)
    want = nab.total([(got, null, perfect)])
    row = next(line for line in out.splitlines() if line.startswith("| random |"))
    assert f"| {want:.1f} |" in row
    assert f"| {got.tp} / {got.fp} / {got.fn} |" in row
    assert got.fp > 0  # the threshold flags rows: the figure is not the null score


def test_missing_checkout_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert calib.main(["--nab", str(tmp_path / "nope")]) == 2
    assert "thresholds.json" in capsys.readouterr().err
