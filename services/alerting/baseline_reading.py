"""An alert's explanation of its baseline, read as data (a method and its parameters).

Events store how 'expected' was computed as an English sentence (`numbers.baseline_method`:
`Rule.baseline_method`, the evaluator's digest and new-mention texts). Those sentences
have a few fixed shapes; `read_baseline` turns one back into its parts, so that each
reader words it in its own language (the notifications in wording.py, the dashboard from
the API's `baseline` field) and old events read the same as new ones. A sentence of any
other shape reads as None: shown as it is.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, Field

from services.alerting.rules import parse_duration

Season = Literal["none", "daily", "weekly"]

#: the English words of each seasonality, as `Rule.baseline_method` writes them.
SEASON_WORDS: dict[str, Season] = {
    "all buckets": "none",
    "same hour of day": "daily",
    "same hour of the same weekday": "weekly",
}
_SEASON = "|".join(re.escape(s) for s in SEASON_WORDS)
_MEDIAN = re.compile(
    rf"median of (?P<season>{_SEASON}) over the last (?P<window>\d+[dhms])"
    r"(?: x robust level \(median observed/seasonal ratio over the last (?P<level>\d+[dhms])\))?"
    r"; score unit = the usual excess of the (?P<tail>99th|1st) percentile of residuals over "
    r"the same window"
)
_POOLED = re.compile(
    rf"pooled negative share \((?P<season>{_SEASON}), else all buckets\) over the last "
    r"(?P<window>\d+[dhms]); scale = binomial sd"
)
_DIGEST = re.compile(
    r"(?P<digest>daily|weekly) digest of (?P<count>\d+) alert\(s\) \((?P<kinds>[^)]*)\)"
)
_NEW = "new matching mentions (by time stored)"


class Baseline(BaseModel):
    """How an alert's 'expected' was computed: a method and the parameters it has."""

    method: Literal["median", "pooled_share", "new_mentions", "digest"] = Field(
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


def _seconds(duration: str) -> int:
    return int(parse_duration(duration).total_seconds())


def read_baseline(text: str) -> Baseline | None:
    """The parts of a `baseline_method` sentence; None for a sentence of another shape."""
    if found := _MEDIAN.fullmatch(text):
        return Baseline(
            method="median",
            season=SEASON_WORDS[found["season"]],
            window_seconds=_seconds(found["window"]),
            level_seconds=_seconds(found["level"]) if found["level"] else None,
            percentile=99 if found["tail"] == "99th" else 1,
        )
    if found := _POOLED.fullmatch(text):
        return Baseline(
            method="pooled_share",
            season=SEASON_WORDS[found["season"]],
            window_seconds=_seconds(found["window"]),
        )
    if text == _NEW:
        return Baseline(method="new_mentions")
    if found := _DIGEST.fullmatch(text):
        kinds = [k for k in found["kinds"].split(", ") if k]
        return Baseline(
            method="digest", digest=found["digest"], count=int(found["count"]), kinds=kinds
        )
    return None
