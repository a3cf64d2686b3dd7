"""What a backtest teaches: the alerts, the near misses and, per alert, the series around it.

A near miss is a bucket that scored high without raising an alert, shown with the score each
named sensitivity needs, so that an empty result on an obvious spike says why (score below
every threshold, or over it but held back by another guard such as the minimum volume).
The thresholds are read from `Rule(sensitivity=...).threshold` and the scores from the
detector's own per-bucket `Evaluation`, so the report follows whichever detector runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.alerting.detectors import Alert, Evaluation, make_detector
from services.alerting.rules import Rule, format_duration, sensitivity_names

#: near misses listed by default.
TOP_NEAR_MISSES = 5
#: buckets shown on each side of an alert by --explain.
EXPLAIN_CONTEXT = 12
_SPARKS = "▁▂▃▄▅▆▇█"


@dataclass(frozen=True)
class BucketScore:
    """One bucket as the detector judged it."""

    ts: datetime
    observed: float
    expected: float
    score: float
    anomalous: bool
    #: buckets `observed` and `expected` are the mean of (the time scale that scored
    #: highest, e.g. 6 buckets of 5 minutes): 1 means the bucket's own count.
    averaged: int = 1

    def to_json(self) -> dict[str, Any]:
        """Rounded numbers and an ISO timestamp."""
        return {
            "ts": self.ts.isoformat(),
            "observed": round(self.observed, 6),
            "expected": round(self.expected, 6),
            "averaged_buckets": self.averaged,
            "score": round(self.score, 4),
            "anomalous": self.anomalous,
        }


@dataclass(frozen=True)
class NearMiss:
    """A high-scoring bucket outside every alert, and what it would take to alert on it."""

    bucket: BucketScore
    #: the named sensitivities whose threshold the score reaches.
    reaches: list[str]
    #: why the rule as set did not alert on it, in words.
    why: str

    def to_json(self) -> dict[str, Any]:
        """The bucket's numbers with `reaches` and `why`."""
        return {**self.bucket.to_json(), "reaches": self.reaches, "why": self.why}


@dataclass(frozen=True)
class Explanation:
    """The observed series and its baseline around one alert."""

    alert_start: datetime
    buckets: list[BucketScore]

    def to_json(self) -> dict[str, Any]:
        """The alert's start and the buckets around it."""
        return {
            "alert_start": self.alert_start.isoformat(),
            "buckets": [b.to_json() for b in self.buckets],
        }


@dataclass(frozen=True)
class BacktestReport:
    """A backtest's alerts with what explains them and what nearly alerted."""

    rule: Rule
    alerts: list[Alert]
    #: threshold of each named sensitivity for this rule, and 'rule' for the rule's own.
    thresholds: dict[str, float]
    near_misses: list[NearMiss]
    buckets: int
    explanations: list[Explanation] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready: the alerts (each with its explanation when asked) and near misses."""
        explained = {e.alert_start: e for e in self.explanations}
        alerts = []
        for alert in self.alerts:
            data = alert.to_json()
            data["averaged_buckets"] = averaged_buckets(alert.details, self.rule)
            if alert.start in explained:
                data["explanation"] = explained[alert.start].to_json()
            alerts.append(data)
        return {
            "rule": self.rule.name,
            "kind": self.rule.kind,
            "sensitivity": self.rule.sensitivity,
            "bucket": format_duration(self.rule.bucket),
            "buckets": self.buckets,
            "thresholds": {k: round(v, 4) for k, v in self.thresholds.items()},
            "alerts": alerts,
            "near_misses": [n.to_json() for n in self.near_misses],
        }


def sensitivity_thresholds(rule: Rule) -> dict[str, float]:
    """The score each named sensitivity needs for this rule's kind, and the rule's own."""
    base = rule.model_dump()
    out = {
        name: Rule.model_validate({**base, "sensitivity": name}).threshold
        for name in sensitivity_names()
    }
    out["rule"] = rule.threshold
    return out


def run_backtest(
    series: Sequence[tuple[datetime, float]] | Sequence[tuple[datetime, float, float]],
    rule: Rule,
    *,
    top: int = TOP_NEAR_MISSES,
    explain: bool = False,
    context: int = EXPLAIN_CONTEXT,
) -> BacktestReport:
    """Runs the rule's detector over the series; returns alerts, near misses and, with
    `explain`, the buckets around each alert."""
    detector = make_detector(rule)
    judged: list[BucketScore] = []
    step = detector.runs.step

    def tap(ev: Evaluation) -> list[Alert]:
        judged.append(
            BucketScore(
                ev.ts,
                ev.observed,
                ev.expected,
                ev.score,
                ev.anomalous,
                averaged_buckets(ev.details, rule),
            )
        )
        return step(ev)

    detector.runs.step = tap  # type: ignore[method-assign]
    alerts: list[Alert] = []
    position: dict[datetime, int] = {}
    for row in series:
        total = row[2] if len(row) > 2 else None
        for alert in detector.update(row[0], float(row[1]), total):
            if alert.status == "firing":
                position[alert.start] = len(alerts)
                alerts.append(alert)
            else:
                alerts[position.pop(alert.start)] = alert
    thresholds = sensitivity_thresholds(rule)
    return BacktestReport(
        rule=rule,
        alerts=alerts,
        thresholds=thresholds,
        near_misses=near_misses(judged, alerts, rule, thresholds, top=top),
        buckets=len(judged),
        explanations=[explanation(judged, a, rule, context) for a in alerts] if explain else [],
    )


def averaged_buckets(details: dict[str, float], rule: Rule) -> int:
    """How many buckets an observed/expected pair covers: for volumes, the time scale
    that scored (`scale_buckets`), each bucket itself smoothed over `smoothing` buckets;
    for a negative share, the stretch pooled (its scales already count raw buckets,
    the smoothing being the shortest)."""
    scale = int(details.get("scale_buckets", 1) or 1)
    if rule.kind == "negative_share_spike":
        return scale
    return scale + max(int(getattr(rule, "smoothing", 1)), 1) - 1


def _numbers(observed: float, expected: float, averaged: int, rule: Rule) -> str:
    """'observed 19 vs expected 3.0', saying what the numbers are when they are not one
    bucket's mention count: a share, or a mean over several buckets."""
    text = f"observed {_fmt(observed)} vs expected {_fmt(expected)}"
    if rule.kind == "negative_share_spike":
        text = f"negative share {observed:.0%} vs expected {expected:.0%}"
    if averaged > 1:
        span = format_duration(rule.bucket * averaged)
        pooled = "share" if rule.kind == "negative_share_spike" else "mean a bucket"
        text += f" ({pooled} over the last {averaged} buckets, {span})"
    return text


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _inside(ts: datetime, alert: Alert) -> bool:
    end = alert.end if alert.end is not None else datetime.max.replace(tzinfo=ts.tzinfo)
    return alert.start <= ts < end or ts == alert.fired_at


def near_misses(
    judged: Sequence[BucketScore],
    alerts: Sequence[Alert],
    rule: Rule,
    thresholds: dict[str, float],
    *,
    top: int = TOP_NEAR_MISSES,
) -> list[NearMiss]:
    """The `top` highest-scoring buckets after the warm-up and outside every alert, one per
    burst (the buckets next to a listed one that score at least a quarter as high)."""
    # Buckets in the warm-up were scored against too little history to mean anything.
    warm_from = judged[0].ts + rule.warmup_period if judged else None
    candidates = [
        i
        for i, b in enumerate(judged)
        if b.score > 0
        and warm_from is not None
        and b.ts >= warm_from
        and not any(_inside(b.ts, a) for a in alerts)
    ]
    candidates.sort(key=lambda i: judged[i].score, reverse=True)
    taken: set[int] = set()
    chosen: list[BucketScore] = []
    for i in candidates:
        if len(chosen) >= top:
            break
        if i in taken:
            continue
        chosen.append(judged[i])
        taken.update(_burst(judged, i))
    named = {k: v for k, v in thresholds.items() if k != "rule"}
    return [
        NearMiss(b, [k for k, v in named.items() if b.score >= v], _why(b, rule)) for b in chosen
    ]


def _burst(judged: Sequence[BucketScore], peak: int) -> range:
    """Indexes of the buckets around `peak` scoring at least a quarter of its score (a
    multi-scale detector keeps scoring the tail of a burst for a while)."""
    floor = judged[peak].score / 4
    lo = peak
    while lo > 0 and judged[lo - 1].score >= floor:
        lo -= 1
    hi = peak
    while hi + 1 < len(judged) and judged[hi + 1].score >= floor:
        hi += 1
    return range(lo, hi + 1)


def _why(bucket: BucketScore, rule: Rule) -> str:
    threshold = rule.threshold
    if bucket.score < threshold:
        return f"score {bucket.score:.1f} is below the rule's threshold {threshold:g}"
    if bucket.anomalous:
        run = getattr(rule, "min_run", None)
        needed = f"the {run} bucket(s)" if run else "the buckets"
        return f"anomalous, but the run was shorter than {needed} needed to fire"
    return (
        f"score {bucket.score:.1f} reaches the threshold {threshold:g} but another guard held "
        "it back (warm-up, minimum volume, minimum ratio or share change)"
    )


def explanation(
    judged: Sequence[BucketScore], alert: Alert, rule: Rule, context: int = EXPLAIN_CONTEXT
) -> Explanation:
    """The buckets from `context` before the alert's start to `context` after its end."""
    last = alert.end - rule.bucket if alert.end is not None else alert.fired_at
    lo = alert.start - rule.bucket * context
    hi = last + rule.bucket * context
    return Explanation(alert.start, [b for b in judged if lo <= b.ts <= hi])


def sparkline(values: Sequence[float], *, low: float, high: float) -> str:
    """Values as block characters on the shared scale [low, high]."""
    span = high - low
    if span <= 0:
        return _SPARKS[0] * len(values)
    top = len(_SPARKS) - 1
    return "".join(_SPARKS[max(0, min(top, round((v - low) / span * top)))] for v in values)


def _fmt(value: float) -> str:
    return f"{value:.3f}" if abs(value) < 1 and value != 0 else f"{value:.1f}"


def render_text(report: BacktestReport) -> str:
    """The report for people: alerts (with sparklines when explained), then near misses."""
    rule = report.rule
    named = ", ".join(f"{k} {v:g}" for k, v in report.thresholds.items() if k != "rule")
    lines = [
        f"rule {rule.name}: {rule.kind}, sensitivity {rule.sensitivity} "
        f"(score threshold {report.thresholds['rule']:g}), bucket {format_duration(rule.bucket)}, "
        f"baseline {format_duration(rule.baseline_window)}; "
        f"{_plural(report.buckets, 'bucket')} judged",
        f"thresholds by sensitivity: {named}",
        "",
    ]
    explained = {e.alert_start: e for e in report.explanations}
    lines.append(_plural(len(report.alerts), "alert") + (":" if report.alerts else ""))
    for alert in report.alerts:
        end = alert.end.isoformat() if alert.end else "still firing"
        numbers = _numbers(
            alert.observed, alert.expected, averaged_buckets(alert.details, rule), rule
        )
        lines.append(
            f"  {alert.start.isoformat()} -> {end}: {numbers}, score {alert.score:.1f} "
            f"(peak {alert.peak_score:.1f}), {_plural(alert.buckets, 'bucket')}"
        )
        if alert.start in explained:
            lines.extend(_sparklines(explained[alert.start]))
    if not report.alerts and report.near_misses:
        lines.append(_hint(report))
    lines.append("")
    if not report.near_misses:
        other = "other " if report.alerts else ""
        lines.append(f"no near miss: no {other}bucket scored above its baseline")
    else:
        lines.append("near misses (highest-scoring buckets that raised no alert):")
        for miss in report.near_misses:
            b = miss.bucket
            reaches = ", ".join(miss.reaches) if miss.reaches else "no named sensitivity"
            numbers = _numbers(b.observed, b.expected, b.averaged, rule)
            lines.append(
                f"  {b.ts.isoformat()}: {numbers}, score {b.score:.1f}; reaches {reaches}; "
                f"{miss.why}"
            )
    return "\n".join(lines)


def _hint(report: BacktestReport) -> str:
    """What it would take to alert on the highest near miss."""
    top = report.near_misses[0]
    if top.reaches:
        named = {k: v for k, v in report.thresholds.items() if k != "rule"}
        least = max(top.reaches, key=lambda k: named[k])  # the least sensitive that reaches
        setting = f"sensitivity {least} (threshold {named[least]:g})"
    else:
        setting = f"a numeric sensitivity of at most {top.bucket.score:.1f}"
    return (
        f"no alert; the highest bucket, {top.bucket.ts.isoformat()}, scores "
        f"{top.bucket.score:.1f}: {setting} would reach it, the other guards permitting"
    )


def _sparklines(explained: Explanation) -> list[str]:
    buckets = explained.buckets
    if not buckets:
        return []
    observed = [b.observed for b in buckets]
    expected = [b.expected for b in buckets]
    low = min(0.0, *observed, *expected)
    high = max(*observed, *expected)
    marks = "".join("^" if b.anomalous else " " for b in buckets)
    return [
        f"    observed {sparkline(observed, low=low, high=high)}  "
        f"({buckets[0].ts:%m-%d %H:%M} to {buckets[-1].ts:%m-%d %H:%M}, "
        f"scale {_fmt(low)}..{_fmt(high)})",
        f"    expected {sparkline(expected, low=low, high=high)}",
        f"    anomaly  {marks.rstrip()}",
    ]
