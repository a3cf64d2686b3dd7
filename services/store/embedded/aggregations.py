"""Aggregation requests for tantivy and the shaping of their answers (pure functions)."""

from __future__ import annotations

import heapq
from collections.abc import Collection, Mapping
from typing import Any, Final

from services.core.function_words import is_function_word
from services.core.text import fold, tokenize
from services.store.contracts import AudienceBucket, CountBucket, Interval, Reach, TimeBucket
from services.store.embedded import keys, schema

_HOUR_US: Final = 3_600_000_000
_DAY_US: Final = 24 * _HOUR_US
INTERVAL_US: Final = {Interval.HOUR: _HOUR_US, Interval.DAY: _DAY_US, Interval.WEEK: 7 * _DAY_US}
# The epoch fell on a Thursday: ISO weeks start 4 days later, on Monday 1970-01-05.
_OFFSET_US: Final = {Interval.HOUR: 0, Interval.DAY: 0, Interval.WEEK: 4 * _DAY_US}
MAX_BUCKETS: Final = 50_000
# Large enough to hold every value of a dimension, so counts and ties are exact.
_ALL_TERMS: Final = 100_000


def bucket_start(us: int, interval: Interval) -> int:
    """The start (epoch microseconds) of the UTC bucket holding `us`."""
    width, offset = INTERVAL_US[interval], _OFFSET_US[interval]
    return (us - offset) // width * width + offset


def check_bucket_count(first_us: int, last_us: int, interval: Interval) -> None:
    """Refuses a histogram with more buckets than a chart can show."""
    count = (bucket_start(last_us, interval) - bucket_start(first_us, interval)) // INTERVAL_US[
        interval
    ] + 1
    if count > MAX_BUCKETS:
        raise ValueError(
            f"{count} {interval.value} buckets is too many (at most {MAX_BUCKETS}): "
            "use a longer interval or a shorter time window"
        )


def terms_agg(field: str) -> dict[str, Any]:
    """A terms aggregation returning every value of a keyword field."""
    return {"terms": {"field": field, "size": _ALL_TERMS, "segment_size": _ALL_TERMS}}


def histogram_agg(interval: Interval, split_field: str | None) -> dict[str, Any]:
    """A histogram on the publication time, optionally split by a keyword field."""
    agg: dict[str, Any] = {
        "histogram": {
            "field": schema.PUBLISHED_US,
            "interval": INTERVAL_US[interval],
            "offset": _OFFSET_US[interval],
        }
    }
    if split_field is not None:
        agg["aggs"] = {"by": terms_agg(split_field)}
    return agg


def term_counts(result: Mapping[str, Any]) -> dict[str, int]:
    """Reads a terms aggregation's buckets as {value: count}."""
    return {str(b["key"]): int(b["doc_count"]) for b in result.get("buckets", [])}


def time_buckets(
    result: Mapping[str, Any],
    *,
    interval: Interval,
    first_us: int,
    last_us: int,
    split: bool,
) -> list[TimeBucket]:
    """Every bucket from the one holding `first_us` to the one holding `last_us`, zeros included."""
    found: dict[int, tuple[int, dict[str, int]]] = {}
    for bucket in result.get("buckets", []):
        # Keys are floats; epoch microseconds stay below 2**53, so they are exact.
        start = bucket_start(round(bucket["key"]), interval)
        by = term_counts(bucket["by"]) if split and "by" in bucket else {}
        found[start] = (int(bucket["doc_count"]), by)
    width = INTERVAL_US[interval]
    buckets = []
    for start in range(bucket_start(first_us, interval), last_us + 1, width):
        count, by = found.get(start, (0, {}))
        buckets.append(TimeBucket(start=keys.from_epoch_us(start), count=count, by=by))
    return buckets


def largest(counts: Mapping[str, int], size: int) -> list[CountBucket]:
    """The `size` largest counts, largest first, ties by key."""
    ranked = heapq.nsmallest(size, counts.items(), key=lambda item: (-item[1], item[0]))
    return [CountBucket(key=key, count=count) for key, count in ranked if count > 0]


def terms_wanted(size: int, exclude: Collection[str]) -> int:
    """How many top words to ask for so that `size` remain once `exclude` is left out
    (a name may be written several ways: "Veloria", "veloria's")."""
    return size + 3 * len(exclude) + 10


def kept_words(counts: Mapping[str, int], size: int, exclude: Collection[str]) -> list[CountBucket]:
    """The `size` largest counts of words none of whose folded parts is in `exclude`."""
    left_out = set(exclude)
    # Function words are checked here too: words stored before the list grew stay out.
    kept = {
        word: count
        for word, count in counts.items()
        if not left_out.intersection(tokenize(word))
        and fold(word) not in left_out
        and not is_function_word(word)
    }
    return largest(kept, size)


def audience_buckets(
    result: Mapping[str, Any], size: int, *, by_followers: bool
) -> list[AudienceBucket]:
    """Reads a terms aggregation with a `followers` max under each bucket, ranked."""
    found = []
    for bucket in result.get("buckets", []):
        most = bucket.get("followers", {}).get("value")
        followers = round(most) if most is not None else None
        found.append(AudienceBucket(str(bucket["key"]), int(bucket["doc_count"]), followers))

    def rank(b: AudienceBucket) -> tuple[int, int, int, str]:
        if by_followers:
            return (b.followers is None, -(b.followers or 0), -b.count, b.key)
        return (0, -b.count, 0, b.key)

    return heapq.nsmallest(size, found, key=rank)


def reach(mentions: int, stats: Mapping[str, Any]) -> Reach:
    """Reads a stats aggregation on the followers field."""
    counted = int(stats.get("count") or 0)
    total = stats.get("sum")
    return Reach(
        mentions=mentions,
        counted=counted,
        followers=round(total) if counted and total is not None else None,
    )
