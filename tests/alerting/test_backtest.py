"""Backtest function and its CLI (wired later as `veille alerts backtest`)."""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta
from pathlib import Path

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


def test_cli_prints_alerts_as_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_counts(tmp_path / "counts.csv", spike=True)
    (tmp_path / "rule.yaml").write_text(RULE_YAML, encoding="utf-8")
    code = main(["--series", str(tmp_path / "counts.csv"), "--rule", str(tmp_path / "rule.yaml")])
    assert code == 0
    alerts = json.loads(capsys.readouterr().out)
    assert len(alerts) == 1
    alert = alerts[0]
    assert alert["rule"] == "acme-spike"
    assert alert["start"] == "2026-03-14T10:00:00"
    assert alert["end"] == "2026-03-14T13:00:00"
    assert alert["observed"] > alert["expected"]
    assert alert["baseline_window"] == 14 * 86400
    assert alert["baseline_method"]
    assert alert["status"] == "resolved"


def test_cli_quiet_series_prints_empty_list(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_counts(tmp_path / "counts.csv", spike=False)
    (tmp_path / "rule.yaml").write_text(RULE_YAML, encoding="utf-8")
    assert (
        main(["--series", str(tmp_path / "counts.csv"), "--rule", str(tmp_path / "rule.yaml")]) == 0
    )
    assert json.loads(capsys.readouterr().out) == []


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
