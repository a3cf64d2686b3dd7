"""Counts each story once in a time window, on any `MentionIndex` backend.

A story counts once in a window when any of its copies matching the query falls in
it. Every backend keeps, on each mention, when the copy before it in its story was
published (services/store/story_chain.py), so each story's *first copy in the window*
is a plain filter (`StoryCopies.FIRST`): without a query, a deduplicated count,
histogram or breakdown is the ordinary one on those copies, exact at any size.

With a query, a story may match only by a later copy (the first in the window is a
tweet, the match a repost on a forum). Those stories ("residual") are the stories of
the matching later copies (`StoryCopies.LATER`) less those whose first copy in the
window matches, which is asked among these stories only (`MentionFilter.stories`).
A histogram places each residual story at its earliest matching time, read from the
index's columns (`story_starts`); only a split or a breakdown loads the residual
stories' copies. Exact; reads a few columns of the matching later copies (and, on the
embedded store, of the matching first copies), never a document for a count.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from services.core.communities import community_of
from services.core.models import Mention
from services.core.query.ast import And, FieldFilter, MatchAll
from services.core.text import fold_keyword
from services.store.contracts import (
    CountBucket,
    Dimension,
    Interval,
    MentionFilter,
    MentionIndex,
    SearchRequest,
    SortOrder,
    StoryCopies,
    TimeBucket,
)
from services.store.embedded.keys import from_epoch_us
from services.store.story_chain import story_hash, story_key

_QUERY_FIELD = {  # the query-language field of each dimension
    Dimension.SENTIMENT: "sentiment",
    Dimension.BRAND: "brand",
    Dimension.COMPETITOR: "competitor",
    Dimension.SOURCE: "source",
    Dimension.LANGUAGE: "lang",
    Dimension.TOPIC: "topic",
    Dimension.STORY: "story",
    Dimension.AUTHOR: "author",
    Dimension.COMMUNITY: "community",
    Dimension.STATE: "state",
}


def first_copies(flt: MentionFilter) -> MentionFilter:
    """The matches that are their story's first copy in the window."""
    return replace(flt, copies=StoryCopies.FIRST)


def residual_stories(index: MentionIndex, flt: MentionFilter) -> set[int]:
    """The stories (hashes) with a matching copy in the window but whose first copy in
    the window does not match; none without a query (every copy matches)."""
    later = _later_stories(index, flt)
    return set(later) - _led(index, flt, later) if later else set()


def residual_starts(index: MentionIndex, flt: MentionFilter) -> list[datetime]:
    """When the earliest matching copy in the window of each residual story was
    published, oldest first (fast fields only: no mention is loaded)."""
    later = _later_stories(index, flt, starts=True)
    led = _led(index, flt, later) if later else set()
    return sorted(from_epoch_us(at) for story, at in later.items() if story not in led)


def residual_copies(index: MentionIndex, flt: MentionFilter) -> list[Mention]:
    """The earliest matching copy in the window of each residual story."""
    stories = residual_stories(index, flt)
    if not stories:
        return []
    earliest: dict[int, Mention] = {}
    only = replace(flt, copies=StoryCopies.LATER, stories=frozenset(stories))
    for copy in index.iter_all(only):
        story = story_hash(story_key(copy))
        known = earliest.get(story)
        if known is None or (copy.published_at, copy.id) < (known.published_at, known.id):
            earliest[story] = copy
    return sorted(earliest.values(), key=lambda m: (m.published_at, m.id))


def _later_stories(
    index: MentionIndex, flt: MentionFilter, *, starts: bool = False
) -> dict[int, int]:
    """The stories of the matching later copies in the window ({story: earliest µs} if
    `starts`, else {story: 0}); none without a query (each story's first copy matches)."""
    if isinstance(flt.query, MatchAll):
        return {}
    later = replace(flt, copies=StoryCopies.LATER)
    if starts:
        return index.story_starts(later)
    return dict.fromkeys(index.story_hashes(later), 0)


def _led(index: MentionIndex, flt: MentionFilter, stories: Collection[int]) -> set[int]:
    """Those of `stories` whose first copy in the window matches, asked among these
    stories only (the embedded store reads every matching first copy instead when that
    is cheaper: see `EmbeddedIndex._matching`)."""
    return index.story_hashes(replace(first_copies(flt), stories=frozenset(stories)))


def display_values(mention: Mention, dimension: Dimension) -> list[str]:
    """The values a mention is counted under for a dimension, as `terms` shows them."""
    match Dimension(dimension):
        case Dimension.SENTIMENT:
            return [mention.sentiment.label.value] if mention.sentiment else []
        case Dimension.BRAND:
            return list(mention.brands)
        case Dimension.COMPETITOR:
            return list(mention.competitors)
        case Dimension.SOURCE:
            return [mention.source_name]
        case Dimension.LANGUAGE:
            return [mention.language] if mention.language else []
        case Dimension.TOPIC:
            return list(mention.topics)
        case Dimension.STORY:
            return [mention.story_id] if mention.story_id else []
        case Dimension.AUTHOR:
            return [mention.author] if mention.author else []
        case Dimension.COMMUNITY:
            place = community_of(mention)
            return [place] if place else []
        case Dimension.STATE:
            return [mention.triage.state.value]


class DistinctStories:
    """The counting half of a `MentionIndex`, where every story counts once."""

    def __init__(self, index: MentionIndex) -> None:
        self.index = index

    def count(self, flt: MentionFilter) -> int:
        """Distinct stories (a mention without copies is its own story) in the window."""
        direct = self.index.distinct_story_count(flt)
        if direct is not None:
            return direct
        return self.index.count(first_copies(flt)) + len(residual_stories(self.index, flt))

    def histogram(
        self, flt: MentionFilter, *, interval: Interval, split_by: Dimension | None = None
    ) -> list[TimeBucket]:
        """Stories per bucket; a story lands in the bucket of its first copy counted."""
        if split_by is None:  # the residual copies' times are enough: no mention loaded
            extra = [(at, list[str]()) for at in residual_starts(self.index, flt)]
        else:
            extra = [
                (m.published_at, display_values(m, split_by))
                for m in residual_copies(self.index, flt)
            ]
        window = _window_covering(self.index, first_copies(flt), [at for at, _ in extra])
        buckets = self.index.histogram(window, interval=interval, split_by=split_by)
        if not extra:
            return buckets
        earliest = extra[0][0]
        if not buckets or earliest < buckets[0].start:
            # The buckets must also hold the residual copies: lay the counts on the
            # buckets of every mention from the earliest of them.
            since = window.since or min([earliest] + [b.start for b in buckets])
            every = MentionFilter(since=since, until=window.until)
            counted = {b.start: b for b in buckets}
            buckets = [
                counted.get(b.start, TimeBucket(start=b.start, count=0))
                for b in self.index.histogram(every, interval=interval)
            ]
        starts = [b.start for b in buckets]
        counts = [b.count for b in buckets]
        splits = [Counter(b.by) for b in buckets]
        for at, values in extra:
            slot = bisect_right(starts, at) - 1
            counts[slot] += 1
            if split_by is not None:
                splits[slot].update(values)
        return [
            TimeBucket(start=s, count=c, by=dict(by) if split_by is not None else {})
            for s, c, by in zip(starts, counts, splits, strict=True)
        ]

    def terms(
        self, flt: MentionFilter, *, dimension: Dimension, size: int = 10
    ) -> list[CountBucket]:
        """Stories per value, largest first, ties by key."""
        extra = Counter(
            v for m in residual_copies(self.index, flt) for v in display_values(m, dimension)
        )
        base = first_copies(flt)
        counts = {
            b.key: b.count
            for b in self.index.terms(base, dimension=dimension, size=size + len(extra))
        }
        field = _QUERY_FIELD[Dimension(dimension)]
        for key, more in extra.items():
            if key not in counts:
                clause = FieldFilter(field, fold_keyword(key))
                counts[key] = self.index.count(replace(base, query=And((base.query, clause))))
            counts[key] += more
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:size]
        return [CountBucket(key=k, count=c) for k, c in ranked if c > 0]

    def top_terms(
        self, flt: MentionFilter, *, size: int = 20, exclude: Collection[str] = ()
    ) -> list[CountBucket]:
        """The most frequent words over each story's first copy in the window."""
        return self.index.top_terms(first_copies(flt), size=size, exclude=exclude)


def _window_covering(
    index: MentionIndex, flt: MentionFilter, extra: Sequence[datetime]
) -> MentionFilter:
    """`flt`, with an open side closed so that its buckets also hold the residual copies.
    Closing `since` would change which copy is first: the copies filter keeps the open
    side's meaning (`copies` is evaluated on the caller's window)."""
    if not extra or (flt.since is not None and flt.until is not None):
        return flt
    until = flt.until
    if until is None:
        latest = max([*extra, *_edge(index, flt, SortOrder.NEWEST)])
        until = latest + timedelta(microseconds=1)
    return replace(flt, until=until)


def _edge(index: MentionIndex, flt: MentionFilter, sort: SortOrder) -> list[datetime]:
    page = index.search(SearchRequest(filter=flt, sort=sort, limit=1))
    return [m.published_at for m in page.mentions]
