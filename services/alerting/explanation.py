"""An alert's explanation as data: how its 'expected' was computed, and how it compared.

Each event stores a `Baseline` (column `alert_events.baseline`, migration 0019), written
when the event is recorded, so every reader words it in its own language from its parts:
the notifications (wording.py), the dashboard (the API's `baseline` field, static/i18n.js).
`english` gives the sentence events also keep in `numbers.baseline_method` (the webhook's
`baseline`, API clients that read it). Events recorded before 0019 had only that sentence:
the migration read it into parts once; one of no known shape keeps `baseline` null and
is shown as it is.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from services.alerting.rules import Rule, format_duration

Season = Literal["none", "daily", "weekly"]
Method = Literal["median", "pooled_share", "new_mentions", "digest"]

#: the English words of each seasonality, in `english`'s sentences.
SEASON_WORDS: dict[Season, str] = {
    "none": "all buckets",
    "daily": "same hour of day",
    "weekly": "same hour of the same weekday",
}


class Baseline(BaseModel):
    """How an alert's 'expected' was computed (a method and its parameters), and the
    figures of the bucket that fired; fields a method does not have are null."""

    method: Method = Field(
        description="median: the median of comparable buckets, scaled by residuals; "
        "pooled_share: the pooled negative share (binomial scale); new_mentions: new "
        "matching mentions; digest: a digest of alerts"
    )
    season: Season | None = Field(
        default=None,
        description="the buckets compared: all (none), the same hour of day (daily), or "
        "of the same weekday (weekly); median and pooled_share",
    )
    window_seconds: int | None = Field(
        default=None, description="the baseline window, in seconds (median, pooled_share)"
    )
    level_seconds: int | None = Field(
        default=None,
        description="the window of the robust level (median with a season), in seconds",
    )
    percentile: int | None = Field(
        default=None, description="the residuals' percentile of the score unit: 99 or 1"
    )
    digest: Literal["daily", "weekly"] | None = None
    count: int | None = Field(default=None, description="alerts summed up (digest)")
    kinds: list[str] | None = Field(default=None, description="their kinds (digest)")
    bucket_seconds: int | None = Field(
        default=None,
        description="the rule's bucket, in seconds (median, pooled_share; null on events "
        "recorded before it was stored)",
    )
    sensitivity: Literal["low", "medium", "high"] | float | None = Field(
        default=None,
        description="the rule's sensitivity: a name, or the score threshold it was given "
        "(null on events recorded before it was stored)",
    )
    threshold: float | None = Field(
        default=None, description="the score a bucket had to reach (median, pooled_share)"
    )
    observed: float | None = Field(
        default=None,
        description="the bucket's value: a count, or a share for pooled_share (median, "
        "pooled_share)",
    )
    expected: float | None = Field(
        default=None, description="what the baseline expected of it (median, pooled_share)"
    )
    score: float | None = Field(
        default=None, description="how far out of line it was (median, pooled_share)"
    )


NEW_MENTIONS = Baseline(method="new_mentions")


def rule_baseline(rule: Rule) -> Baseline:
    """How a detector rule computes 'expected', with its bucket and threshold."""
    seconds = _seconds
    common: dict[str, Any] = {
        "season": rule.seasonality,
        "window_seconds": seconds(rule.baseline_window),
        "bucket_seconds": seconds(rule.bucket),
        "sensitivity": rule.sensitivity,
        "threshold": rule.threshold,
    }
    if rule.kind == "negative_share_spike":
        return Baseline(method="pooled_share", **common)
    return Baseline(
        method="median",
        level_seconds=None if rule.seasonality == "none" else seconds(rule.level_window),
        percentile=99 if rule.kind == "volume_spike" else 1,
        **common,
    )


def digest_baseline(digest: Literal["daily", "weekly"], kinds: list[str]) -> Baseline:
    """A digest of these alerts' kinds (one per alert)."""
    return Baseline(method="digest", digest=digest, count=len(kinds), kinds=sorted(set(kinds)))


def stored_baseline(value: object) -> Baseline | None:
    """An event's stored `baseline` as a Baseline; None when absent or not of this shape
    (the reader then shows the `baseline_method` sentence as it is)."""
    if not isinstance(value, dict):
        return None
    try:
        return Baseline.model_validate(value)
    except ValidationError:
        return None


def english(parts: Baseline) -> str:
    """The method in one English sentence (`numbers.baseline_method`)."""
    season = SEASON_WORDS[parts.season or "none"]
    if parts.method == "median":
        level = (
            f" x robust level (median observed/seasonal ratio over the last "
            f"{_duration(parts.level_seconds)})"
            if parts.level_seconds
            else ""
        )
        tail = "1st" if parts.percentile == 1 else "99th"
        return (
            f"median of {season} over the last {_duration(parts.window_seconds)}{level}; "
            f"score unit = the usual excess of the {tail} percentile of residuals over the "
            f"same window"
        )
    if parts.method == "pooled_share":
        pooled = season if parts.season in (None, "none") else f"{season}, else all buckets"
        return (
            f"pooled negative share ({pooled}) over the last "
            f"{_duration(parts.window_seconds)}; scale = binomial sd"
        )
    if parts.method == "new_mentions":
        return "new matching mentions (by time stored)"
    return (
        f"{parts.digest or 'daily'} digest of {parts.count or 0} alert(s) "
        f"({', '.join(parts.kinds or [])})"
    )


def _seconds(value: timedelta) -> int:
    return int(value.total_seconds())


def _duration(seconds: int | None) -> str:
    return format_duration(timedelta(seconds=seconds or 0))
