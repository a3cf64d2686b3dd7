"""The NAB scorer in benchmarks/nab_score.py, on small hand-made files."""

from __future__ import annotations

import itertools
import math
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.alerting.benchmark_modules import load_benchmark

nab = load_benchmark("nab_score")
T0 = datetime(2015, 1, 1)


def stamps(n: int) -> list[datetime]:
    return [T0 + timedelta(minutes=5 * i) for i in range(n)]


def flags(n: int, at: set[int]) -> list[bool]:
    return [i in at for i in range(n)]


# 100 rows: probation = min(floor(15), 750) = 15 rows; windows at rows 30-39 and 70-79.
N = 100
TS = stamps(N)
WINDOWS = [(TS[30], TS[39]), (TS[70], TS[79])]


def normalised(detected: set[int]) -> float:
    got = nab.score_file(TS, flags(N, detected), WINDOWS).raw
    null = nab.score_file(TS, flags(N, set()), WINDOWS).raw
    return float(nab.normalise(got, null, len(WINDOWS)))


def test_scaled_sigmoid_matches_nab() -> None:
    assert nab.scaled_sigmoid(-1.0) == pytest.approx(0.98661, abs=1e-5)
    assert nab.scaled_sigmoid(-0.5) == pytest.approx(0.84828, abs=1e-5)
    assert nab.scaled_sigmoid(0.0) == 0.0
    assert nab.scaled_sigmoid(1.0) == pytest.approx(-0.98661, abs=1e-5)
    assert nab.scaled_sigmoid(3.0) == -1.0


def test_probation_is_15_percent_capped_at_750_rows() -> None:
    assert nab.probationary_length(100) == 15
    assert nab.probationary_length(15_902) == 750


def test_null_detector_scores_zero_and_minus_fn_per_window() -> None:
    assert nab.score_file(TS, flags(N, set()), WINDOWS).raw == -2.0
    assert normalised(set()) == 0.0


def test_perfect_detector_scores_100() -> None:
    # a flag on the first row of each window earns exactly tpWeight.
    assert normalised({30, 70}) == pytest.approx(100.0)


def test_only_the_earliest_detection_in_a_window_counts() -> None:
    assert normalised({30, 35, 39, 70}) == pytest.approx(100.0)
    late = nab.score_file(TS, flags(N, {39, 70}), WINDOWS)
    # last row of a 10-row window: relative position -(39-39+1)/10 = -0.1
    expected_tp = nab.scaled_sigmoid(-0.1) / nab.scaled_sigmoid(-1.0)
    assert late.raw == pytest.approx(expected_tp + 1.0)
    assert late.tp == 2 and late.fn == 0


def test_false_positives_before_any_window_cost_fp_weight() -> None:
    score = nab.score_file(TS, flags(N, {20, 30, 70}), WINDOWS)
    assert score.raw == pytest.approx(2.0 - 0.11)
    assert score.fp == 1


def test_false_positive_right_after_a_window_costs_less() -> None:
    score = nab.score_file(TS, flags(N, {30, 40, 70}), WINDOWS)
    past = abs(39 - 40) / (10 - 1)
    assert score.raw == pytest.approx(2.0 + 0.11 * nab.scaled_sigmoid(past))
    assert -0.11 < 0.11 * nab.scaled_sigmoid(past) < 0


def test_flags_in_probation_are_ignored() -> None:
    assert normalised({0, 5, 14, 30, 70}) == pytest.approx(100.0)
    assert normalised({15, 30, 70}) < 100.0


def test_missed_window_costs_fn() -> None:
    score = nab.score_file(TS, flags(N, {30}), WINDOWS)
    assert score.raw == pytest.approx(0.0)
    assert score.fn == 1
    assert normalised({30}) == pytest.approx(50.0)


def test_window_in_probation_is_not_scored() -> None:
    windows = [(TS[2], TS[10]), *WINDOWS]
    score = nab.score_file(TS, flags(N, set()), windows)
    assert score.windows == 2 and score.raw == -2.0


def test_scaled_sigmoid_is_monotonic() -> None:
    xs = [x / 10 for x in range(-10, 31)]
    ys = [nab.scaled_sigmoid(x) for x in xs]
    assert all(a > b for a, b in itertools.pairwise(ys))
    assert all(math.isfinite(y) for y in ys)


def test_the_two_artificial_folders_are_one_category() -> None:
    assert nab.category_of("artificialNoAnomaly/art_flatline.csv") == "artificial"
    assert nab.category_of("artificialWithAnomaly/art_daily_jumpsup.csv") == "artificial"
    assert nab.category_of("realTweets/Twitter_volume_KO.csv") == "realTweets"


def _sweep(category: str, scores: dict[float, set[int]]) -> object:
    """A benchmark sweep of the hand-made file, with given spike-rule detections per
    threshold (end_after fixed)."""
    series = nab.Series(category, f"{category}.csv", [(t, 0.0) for t in TS], WINDOWS)
    by_setting = {
        (t, 72): nab.file_score(series, {TS[i] for i in rows}) for t, rows in scores.items()
    }
    return nab.Sweep(series, [], [], {"spike": by_setting}, 0.0)


def test_leave_one_category_out_never_looks_at_the_held_out_category() -> None:
    # category a is perfect at threshold 1 only, b and c at threshold 2 only.
    sweeps = [
        _sweep("a", {1.0: {30, 70}, 2.0: set()}),
        _sweep("b", {1.0: set(), 2.0: {30, 70}}),
        _sweep("c", {1.0: set(), 2.0: {30, 70}}),
    ]
    rows = {
        cat: (best, train, held)
        for cat, best, train, held in nab.leave_one_category_out(sweeps, [(1.0, 72), (2.0, 72)])
    }
    assert rows["a"][0] == (2.0, 72)  # chosen on b and c: a's own optimum (1.0) is not seen
    assert nab.total(rows["a"][2]) == pytest.approx(0.0)
    assert rows["b"][0] in ((1.0, 72), (2.0, 72)) and rows["b"][1] == pytest.approx(50.0)
    assert math.isnan(nab.total([]))


def test_a_missing_corpus_folder_is_named_with_the_way_to_point_at_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("VEILLE_ANOMALIES", str(tmp_path / "elsewhere"))
    assert nab.main([]) == 2
    error = capsys.readouterr().err
    assert str(tmp_path / "elsewhere" / "nab_realTweets") in error
    assert "--anomalies" in error and "VEILLE_ANOMALIES" in error


def test_the_argument_wins_over_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("VEILLE_ANOMALIES", str(tmp_path / "from-env"))
    assert nab.main(["--anomalies", str(tmp_path / "from-arg")]) == 2
    error = capsys.readouterr().err
    assert "from-arg" in error and "from-env" not in error
