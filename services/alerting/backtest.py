"""Backtest: run a rule over a history of buckets and list the alerts it would have sent.

    python -m services.alerting.backtest --series counts.csv --rule rule.yaml [--explain] [--json]

``counts.csv`` holds ``timestamp,value`` rows (one per bucket, ISO timestamps; a header
row is optional); for a negative_share_spike rule, ``timestamp,negative,total``.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from services.alerting.backtest_report import BacktestReport, render_text, run_backtest
from services.alerting.detectors import Alert, make_detector
from services.alerting.rule_file import load_rule_document
from services.alerting.rules import Rule, RuleError


class SeriesError(ValueError):
    """A series file that cannot be read; the message names the line."""


def backtest(
    series: Sequence[tuple[datetime, float]] | Sequence[tuple[datetime, float, float]],
    rule: Rule,
) -> list[Alert]:
    """Runs the rule's detector over the series; returns its alerts, in firing order.

    Each alert is in its final state: 'resolved' with an end if its run ended within the
    series, else still 'firing' with end None.
    """
    detector = make_detector(rule)
    alerts: list[Alert] = []
    position: dict[datetime, int] = {}
    for row in series:
        ts, value = row[0], row[1]
        total = row[2] if len(row) > 2 else None
        for alert in detector.update(ts, float(value), total):
            if alert.status == "firing":
                position[alert.start] = len(alerts)
                alerts.append(alert)
            else:
                alerts[position.pop(alert.start)] = alert
    return alerts


def _parse_ts(text: str) -> datetime:
    text = text.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    return datetime.fromisoformat(text)


def read_series(path: Path, *, columns: int = 2) -> list[tuple[datetime, float, float]]:
    """Reads timestamp,value[,total] rows; raises SeriesError naming the bad line."""
    rows: list[tuple[datetime, float, float]] = []
    try:
        fh = path.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise SeriesError(f"{path}: cannot read series: {exc.strerror or exc}") from exc
    with fh:
        for line_no, row in enumerate(csv.reader(fh), start=1):
            if not row or all(not cell.strip() for cell in row):
                continue
            if line_no == 1 and row[0].strip().lower() in ("timestamp", "time", "ts", "date"):
                continue
            if len(row) < columns:
                raise SeriesError(
                    f"{path}:{line_no}: expected {columns} columns "
                    f"({'timestamp,negative,total' if columns == 3 else 'timestamp,value'}), "
                    f"got {len(row)}"
                )
            try:
                ts = _parse_ts(row[0])
            except ValueError:
                raise SeriesError(f"{path}:{line_no}: bad timestamp {row[0]!r}") from None
            try:
                values = [float(cell) for cell in row[1:columns]]
            except ValueError:
                raise SeriesError(f"{path}:{line_no}: bad number in {row[1:columns]!r}") from None
            if any(v != v or v < 0 or v == float("inf") for v in values):
                raise SeriesError(f"{path}:{line_no}: values must be finite and >= 0")
            if rows and (ts.tzinfo is None) != (rows[-1][0].tzinfo is None):
                raise SeriesError(f"{path}:{line_no}: mixes timestamps with and without zone")
            if rows and ts <= rows[-1][0]:
                raise SeriesError(f"{path}:{line_no}: timestamp {row[0]!r} is not increasing")
            if columns == 3 and values[0] > values[1]:
                raise SeriesError(f"{path}:{line_no}: negative count exceeds total")
            rows.append((ts, values[0], values[1] if columns == 3 else 0.0))
    if not rows:
        raise SeriesError(f"{path}: no data rows")
    return rows


def series_for(
    rows: list[tuple[datetime, float, float]], rule: Rule
) -> list[tuple[datetime, float]] | list[tuple[datetime, float, float]]:
    """The rows a rule's detector takes: (ts, count), or (ts, negative, total) for a share."""
    if rule.kind == "negative_share_spike":
        return rows
    return [(ts, v) for ts, v, _ in rows]


def print_report(report: BacktestReport, *, as_json: bool) -> None:
    """Prints the report as text for people, or as JSON."""
    if as_json:
        json.dump(report.to_json(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(render_text(report) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: prints the alerts and near misses; exit 2 with a one-line error on bad input."""
    parser = argparse.ArgumentParser(prog="veille alerts backtest", description=__doc__)
    parser.add_argument("--series", type=Path, required=True, help="timestamp,value CSV")
    parser.add_argument("--rule", type=Path, required=True, help="rule YAML or JSON")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--explain", action="store_true", help="show the series around alerts")
    args = parser.parse_args(argv)
    try:
        rule = load_rule_document(args.rule).detector
        share = rule.kind == "negative_share_spike"
        rows = read_series(args.series, columns=3 if share else 2)
    except (RuleError, SeriesError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print_report(
        run_backtest(series_for(rows, rule), rule, explain=args.explain), as_json=args.json
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
