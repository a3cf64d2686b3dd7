"""Aggregation requests for tantivy and the shaping of their answers (pure functions)."""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any, Final

from services.store.contracts import CountBucket, Interval, TimeBucket, UnservableRequest
from services.store.embedded import keys, schema
from services.store.embedded.stopwords import STOP_WORDS
from services.store.embedded.words import index_words

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
        raise UnservableRequest(
            f"{count} {interval.value} buckets is too many (at most {MAX_BUCKETS}): "
            "use a longer interval or a shorter time window"
        )


# tantivy refuses an aggregation returning more buckets than this.
MAX_AGGREGATION_BUCKETS: Final = 65_000


def terms_agg(field: str, size: int = _ALL_TERMS) -> dict[str, Any]:
    """A terms aggregation returning every value of a keyword field (or the `size` most
    frequent, counted over each segment's `_ALL_TERMS` most frequent)."""
    return {"terms": {"field": field, "size": size, "segment_size": _ALL_TERMS}}


def bounded_terms_size(size: int) -> int:
    """How many values to ask for when a field has more than tantivy returns at once:
    room enough past `size` that ties at its end are ordered by key."""
    return min(MAX_AGGREGATION_BUCKETS, max(20 * size, 1000))


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


def meaningful_words(title: str, text: str) -> set[str]:
    """The distinct words of a mention worth counting: no stop words, numbers or letters."""
    words = set(f"{index_words(title)} {index_words(text)}".split()) - STOP_WORDS
    return {word for word in words if len(word) > 1 and not word.isdigit()}


def word_counts(mentions: Iterable[tuple[str, str]]) -> Counter[str]:
    """How many of the `(title, text)` pairs use each meaningful word."""
    counts: Counter[str] = Counter()
    for title, text in mentions:
        counts.update(meaningful_words(title, text))
    return counts
