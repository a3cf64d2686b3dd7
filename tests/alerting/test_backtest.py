"""Backtest function and its CLI (wired later as `veille alerts backtest`)."""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from services.alerting.backtest import main
from services.alerting.rules import RuleError, rule_from_yaml

RULE_YAML = """\
name: acme-spike
kind: volume_spike
sensitivity: medium
min_volume: 10
bucket: 1h
baseline_window: 14d
warmup: 3d
end_after: 2
"""


def write_counts(path: Path, *, spike: bool) -> None:
    rng = np.random.default_rng(11)
    t0 = datetime(2026, 3, 2)
    lines = ["timestamp,value"]
    for i in range(24 * 18):
        mean = 40 * (1 + 0.5 * math.sin(2 * math.pi * (i % 24) / 24))
        value = int(rng.poisson(mean))
        if spike and 12 * 24 + 10 <= i < 12 * 24 + 13:
            value = value * 8 + 200
        lines.append(f"{(t0 + timedelta(hours=i)).isoformat()},{value}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def run_json(tmp_path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> Any:
    args = ["--series", str(tmp_path / "counts.csv"), "--rule", str(tmp_path / "rule.yaml")]
    assert main([*args, "--json", *extra]) == 0
    return json.loads(capsys.readouterr().out)


def test_cli_prints_alerts_as_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_counts(tmp_path / "counts.csv", spike=True)
    (tmp_path / "rule.yaml").write_text(RULE_YAML, encoding="utf-8")
    alerts = run_json(tmp_path, capsys)["alerts"]
    assert len(alerts) == 1
    alert = alerts[0]
    assert alert["rule"] == "acme-spike"
    assert alert["start"] == "2026-03-14T10:00:00"
    assert alert["end"] == "2026-03-14T13:00:00"
    assert alert["observed"] > alert["expected"]
    assert alert["baseline_window"] == 14 * 86400
    assert alert["baseline_method"]
    assert alert["status"] == "resolved"


def test_cli_quiet_series_prints_no_alert(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_counts(tmp_path / "counts.csv", spike=False)
    (tmp_path / "rule.yaml").write_text(RULE_YAML, encoding="utf-8")
    assert run_json(tmp_path, capsys)["alerts"] == []


@pytest.mark.parametrize(
    ("csv_text", "message"),
    [
        ("timestamp,value\n2026-03-02T00:00:00,4\nnot-a-date,5\n", "counts.csv:3: bad timestamp"),
        ("2026-03-02T00:00:00,4\n2026-03-02T01:00:00,many\n", "counts.csv:2: bad number"),
        ("timestamp,value\n2026-03-02T00:00:00\n", "counts.csv:2: expected 2 columns"),
        ("2026-03-02T00:00:00,-1\n", "counts.csv:1: values must be finite"),
        ("2026-03-02T01:00:00,1\n2026-03-02T00:00:00,1\n", "counts.csv:2: timestamp"),
        ("timestamp,value\n", "no data rows"),
    ],
)
def test_cli_bad_csv_reports_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], csv_text: str, message: str
) -> None:
    (tmp_path / "counts.csv").write_text(csv_text, encoding="utf-8")
    (tmp_path / "rule.yaml").write_text(RULE_YAML, encoding="utf-8")
    code = main(["--series", str(tmp_path / "counts.csv"), "--rule", str(tmp_path / "rule.yaml")])
    captured = capsys.readouterr()
    assert code == 2
    assert message in captured.err
    assert "Traceback" not in captured.err
    assert captured.out == ""


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("kind: [unclosed\n", "invalid YAML"),
        ("- a list\n", "must be a mapping"),
        ("kind: volume_surge\n", "kind"),
        ("kind: drop\nbucket: five minutes\n", "bucket"),
        ("kind: drop\nsensitivity: -2\n", "sensitivity"),
        ("kind: drop\nthreshhold: 3\n", "threshhold"),
    ],
)
def test_cli_bad_rule_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], yaml_text: str, message: str
) -> None:
    write_counts(tmp_path / "counts.csv", spike=False)
    (tmp_path / "rule.yaml").write_text(yaml_text, encoding="utf-8")
    code = main(["--series", str(tmp_path / "counts.csv"), "--rule", str(tmp_path / "rule.yaml")])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and "rule.yaml" in err
    assert "Traceback" not in err


def test_missing_rule_file_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_counts(tmp_path / "counts.csv", spike=False)
    code = main(["--series", str(tmp_path / "counts.csv"), "--rule", str(tmp_path / "nope.yaml")])
    assert code == 2
    assert "cannot read rule" in capsys.readouterr().err


def test_rule_from_yaml_defaults_and_durations() -> None:
    rule = rule_from_yaml("kind: negative_share_spike\nbucket: 15m\nbaseline_window: 2w\n")
    assert rule.bucket == timedelta(minutes=15)
    assert rule.baseline_window == timedelta(weeks=2)
    assert rule.threshold > 0
    with pytest.raises(RuleError, match="weekly"):
        rule_from_yaml("seasonality: weekly\nbaseline_window: 3d\n")


def test_negative_share_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "rule.yaml").write_text(
        "kind: negative_share_spike\nbucket: 1h\n", encoding="utf-8"
    )
    (tmp_path / "s.csv").write_text("timestamp,negative,total\n2026-03-02T00:00:00,9,3\n")
    assert main(["--series", str(tmp_path / "s.csv"), "--rule", str(tmp_path / "rule.yaml")]) == 2
    assert "s.csv:2: negative count exceeds total" in capsys.readouterr().err


# -- what a backtest teaches -----------------------------------------------------------

#: a threshold no detector reaches on these series: whatever the method, nothing alerts.
DEAF_YAML = RULE_YAML.replace("sensitivity: medium", "sensitivity: 100000")


def write_mild_burst(path: Path) -> tuple[datetime, datetime]:
    """A steady hourly series with one 4-hour burst at about three times the usual volume.
    Returns the burst's first and last hour."""
    rng = np.random.default_rng(5)
    t0 = datetime(2026, 3, 2)
    lines = ["timestamp,value"]
    burst = range(12 * 24 + 8, 12 * 24 + 12)
    for i in range(24 * 16):
        value = int(rng.poisson(40)) + (80 if i in burst else 0)
        lines.append(f"{(t0 + timedelta(hours=i)).isoformat()},{value}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return t0 + timedelta(hours=burst[0]), t0 + timedelta(hours=burst[-1])


def test_an_empty_result_lists_the_burst_as_a_near_miss_with_each_sensitivitys_threshold(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, last = write_mild_burst(tmp_path / "counts.csv")
    (tmp_path / "rule.yaml").write_text(DEAF_YAML, encoding="utf-8")
    report = run_json(tmp_path, capsys)
    thresholds = report["thresholds"]
    assert set(thresholds) == {"low", "medium", "high", "rule"}
    assert thresholds["rule"] == 100000
    assert thresholds["low"] >= thresholds["medium"] >= thresholds["high"] > 0
    assert report["alerts"] == []
    top = report["near_misses"][0]
    assert first <= datetime.fromisoformat(top["ts"]) <= last
    assert top["observed"] > top["expected"]
    named = {k: v for k, v in thresholds.items() if k != "rule"}
    assert top["reaches"] == [k for k, v in named.items() if top["score"] >= v]
    assert "below the rule's threshold" in top["why"]
    # one entry per burst: no other near miss inside it
    others = [datetime.fromisoformat(n["ts"]) for n in report["near_misses"][1:]]
    assert not any(first - timedelta(hours=1) <= ts <= last + timedelta(hours=1) for ts in others)


def test_text_output_names_the_near_misses_for_people(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_mild_burst(tmp_path / "counts.csv")
    (tmp_path / "rule.yaml").write_text(DEAF_YAML, encoding="utf-8")
    args = ["--series", str(tmp_path / "counts.csv"), "--rule", str(tmp_path / "rule.yaml")]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "thresholds by sensitivity: low" in out
    assert "near misses" in out and "score" in out
    assert "no alert; the highest bucket" in out and "would reach it" in out


def test_explain_shows_the_series_and_baseline_around_each_alert(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_counts(tmp_path / "counts.csv", spike=True)
    (tmp_path / "rule.yaml").write_text(RULE_YAML, encoding="utf-8")
    (alert,) = run_json(tmp_path, capsys, "--explain")["alerts"]
    buckets = alert["explanation"]["buckets"]
    times = [datetime.fromisoformat(b["ts"]) for b in buckets]
    start = datetime.fromisoformat(alert["start"])
    assert times[0] < start < times[-1]  # context on both sides
    at = {t: b for t, b in zip(times, buckets, strict=True)}
    assert at[start]["observed"] > 3 * at[start]["expected"]
    assert at[start]["anomalous"] and not at[times[0]]["anomalous"]
    args = ["--series", str(tmp_path / "counts.csv"), "--rule", str(tmp_path / "rule.yaml")]
    assert main([*args, "--explain"]) == 0
    lines = capsys.readouterr().out.splitlines()
    observed = next(line for line in lines if line.strip().startswith("observed "))
    expected = next(line for line in lines if line.strip().startswith("expected "))
    spark_o, spark_e = observed.split()[1], expected.split()[1]
    assert len(spark_o) == len(spark_e) == len(buckets)
    assert max(spark_o) == "█" and "█" not in spark_e  # the spike towers over its baseline


def test_the_api_rule_shape_backtests_as_it_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The body of POST /api/v1/alert-rules (JSON or YAML) is a rule file too."""
    write_counts(tmp_path / "counts.csv", spike=True)
    (tmp_path / "rule.yaml").write_text(RULE_YAML, encoding="utf-8")
    flat = run_json(tmp_path, capsys)["alerts"]
    api_rule = {
        "name": "acme-spike",
        "target_type": "brand",
        "target": "Acme",
        "kind": "volume_spike",
        "detector": {
            "sensitivity": "medium",
            "min_volume": 10,
            "bucket": "1h",
            "baseline_window": "14d",
            "warmup": "3d",
            "end_after": 2,
        },
        "channels": [{"type": "slack", "target": "SLACK_HOOK"}],
        "cooldown": "1h",
    }
    (tmp_path / "rule.yaml").write_text(json.dumps(api_rule), encoding="utf-8")
    assert run_json(tmp_path, capsys)["alerts"] == flat


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({"kind": "volume_surge", "detector": {}}, "kind"),
        ({"kind": "drop", "detector": {"baseline_window": -3600}}, "baseline_window"),
        ({"kind": "drop", "detector": {"sensitivity": "extreme"}}, "sensitivity"),
        ({"kind": "drop", "detector": {"sensitivity": True}}, "sensitivity"),
        ({"kind": "drop", "detector": {"bucket": "2d", "baseline_window": "3d"}}, "bucket"),
        ({"kind": "drop", "cooldown": "-5m", "detector": {}}, "cooldown"),
        ({"kind": "new_mention", "channels": []}, "new_mention"),
    ],
)
def test_a_bad_api_shaped_rule_file_names_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], document: dict[str, Any], field: str
) -> None:
    write_counts(tmp_path / "counts.csv", spike=False)
    (tmp_path / "rule.yaml").write_text(json.dumps(document), encoding="utf-8")
    code = main(["--series", str(tmp_path / "counts.csv"), "--rule", str(tmp_path / "rule.yaml")])
    err = capsys.readouterr().err
    assert code == 2
    assert field in err and "rule.yaml" in err
    assert "Traceback" not in err


def test_text_output_counts_in_words_and_no_other_bucket_only_beside_an_alert(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "counts.csv").write_text("timestamp,value\n2026-03-02T00:00:00,4\n")
    (tmp_path / "rule.yaml").write_text(RULE_YAML, encoding="utf-8")
    args = ["--series", str(tmp_path / "counts.csv"), "--rule", str(tmp_path / "rule.yaml")]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "; 1 bucket judged" in out
    assert "\n0 alerts\n" in out
    assert "no near miss: no bucket scored above its baseline" in out


def test_observed_is_said_to_be_a_mean_when_a_longer_time_scale_scored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """On 5-minute buckets a slow rise scores on a stretch of buckets: its observed and
    expected are means a bucket over that stretch (a fraction of a mention, e.g. 1.2), and
    the report says over how many buckets."""
    rng = np.random.default_rng(5)
    t0 = datetime(2026, 3, 2)
    counts = [int(v) for v in rng.poisson(1.0, 12 * 24 * 9)]
    for i in range(len(counts) - 12, len(counts)):  # an hour of a few more a bucket
        counts[i] += 3
    lines = ["timestamp,value"] + [
        f"{(t0 + timedelta(minutes=5 * i)).isoformat()},{c}" for i, c in enumerate(counts)
    ]
    (tmp_path / "counts.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "rule.yaml").write_text(
        "kind: volume_spike\nbucket: 5m\nsensitivity: 100000\nmin_volume: 1\n", encoding="utf-8"
    )
    report = run_json(tmp_path, capsys)
    means = [n for n in report["near_misses"] if n["averaged_buckets"] > 1]
    assert means, report["near_misses"]
    for miss in means:
        k = miss["averaged_buckets"]
        end = (datetime.fromisoformat(miss["ts"]) - t0) // timedelta(minutes=5)
        assert miss["observed"] * k == pytest.approx(sum(counts[end - k + 1 : end + 1]))
    args = ["--series", str(tmp_path / "counts.csv"), "--rule", str(tmp_path / "rule.yaml")]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert f"(mean a bucket over the last {means[0]['averaged_buckets']} buckets" in out


def test_a_share_covers_its_stretch_and_a_volume_adds_its_smoothing() -> None:
    """A negative share's scales already count raw buckets (the smoothing is the shortest
    one); a volume's every bucket is itself a mean over `smoothing` buckets."""
    from services.alerting.backtest_report import averaged_buckets

    share = rule_from_yaml("kind: negative_share_spike\nbucket: 15m\nsmoothing: 3\n")
    volume = rule_from_yaml("kind: volume_spike\nbucket: 15m\nsmoothing: 3\n")
    assert averaged_buckets({"scale_buckets": 6}, share) == 6
    assert averaged_buckets({"scale_buckets": 6}, volume) == 8
    assert averaged_buckets({}, share) == 1
