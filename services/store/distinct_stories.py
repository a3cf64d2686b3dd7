"""Counts each story once in a time window, on any `MentionIndex` backend.

A story counts once in a window when any of its copies matching the query falls in
it. Leaving out every later copy (`-is:duplicate`) is not enough: a story whose lead
was published before the window (or does not match the query) while its reposts fall
inside would not count at all. So a deduplicated count is
- the matching leads in the window (one per story, and every mention without copies),
- plus one "orphan" per other story: its earliest matching copy in the window.

Orphan stories are found with aggregations: the stories of the window's matching
copies (`is:duplicate`), less those whose lead is among the matches (asked in batches
of ids). A count needs nothing more; a histogram or breakdown then loads the copies of
the orphan stories only (few: the stories that straddle the window's start). Past
`STORY_LIMIT` stories with copies in the window, the copies are read instead.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta

from services.core.communities import community_of
from services.core.models import Mention
from services.core.query.ast import And, FieldFilter, Node, Not, Or
from services.core.text import fold_keyword
from services.store.contracts import (
    CountBucket,
    Dimension,
    Interval,
    MentionFilter,
    MentionIndex,
    SearchRequest,
    SortOrder,
    TimeBucket,
)

LEAD_BATCH = 200  # story ids per "which leads match" query
STORY_LIMIT = 50_000  # below what `terms` returns on both backends
_DUPLICATE = FieldFilter("is", "duplicate")
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
}


def _with(flt: MentionFilter, clause: Node) -> MentionFilter:
    return MentionFilter(query=And((flt.query, clause)), since=flt.since, until=flt.until)


def leads(flt: MentionFilter) -> MentionFilter:
    """The matches that are not a later copy: story leads and mentions without copies."""
    return _with(flt, Not(_DUPLICATE))


def orphan_stories(index: MentionIndex, flt: MentionFilter) -> list[str]:
    """The (folded) ids of the stories with matching copies but no matching lead."""
    copied = index.terms(_with(flt, _DUPLICATE), dimension=Dimension.STORY, size=STORY_LIMIT)
    if len(copied) >= STORY_LIMIT:  # the aggregation may be cut short: read the copies
        return sorted({fold_keyword(m.story_id or m.id) for m in _earliest_copies(index, flt)})
    stories = sorted(fold_keyword(b.key) for b in copied)
    led: set[str] = set()
    for batch in _batches(stories):
        matching = _with(leads(flt), _any_story(batch))
        found = index.terms(matching, dimension=Dimension.STORY, size=len(batch))
        led |= {fold_keyword(b.key) for b in found}
    return [s for s in stories if s not in led]


def orphans(index: MentionIndex, flt: MentionFilter) -> list[Mention]:
    """The earliest matching copy of each story whose lead is not among the matches."""
    stories = orphan_stories(index, flt)
    found: list[Mention] = []
    for batch in _batches(stories):
        found += _earliest_copies(index, _with(flt, _any_story(batch)))
    return sorted(found, key=lambda m: (m.published_at, m.id))


def _earliest_copies(index: MentionIndex, flt: MentionFilter) -> list[Mention]:
    earliest: dict[str, Mention] = {}
    for copy in index.iter_all(_with(flt, _DUPLICATE)):
        story = fold_keyword(copy.story_id or copy.id)
        known = earliest.get(story)
        if known is None or (copy.published_at, copy.id) < (known.published_at, known.id):
            earliest[story] = copy
    return list(earliest.values())


def _batches(stories: Sequence[str]) -> list[Sequence[str]]:
    return [stories[i : i + LEAD_BATCH] for i in range(0, len(stories), LEAD_BATCH)]


def _any_story(stories: Sequence[str]) -> Node:
    return Or(tuple(FieldFilter("story", story) for story in stories))


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


class DistinctStories:
    """The counting half of a `MentionIndex`, where every story counts once."""

    def __init__(self, index: MentionIndex) -> None:
        self.index = index

    def count(self, flt: MentionFilter) -> int:
        """Distinct stories (a mention without copies is its own story) in the window."""
        return self.index.count(leads(flt)) + len(orphan_stories(self.index, flt))

    def histogram(
        self, flt: MentionFilter, *, interval: Interval, split_by: Dimension | None = None
    ) -> list[TimeBucket]:
        """Stories per bucket; a story lands in the bucket of its first copy counted."""
        extra = orphans(self.index, flt)
        window = _window_covering(self.index, leads(flt), extra)
        buckets = self.index.histogram(window, interval=interval, split_by=split_by)
        if not extra:
            return buckets
        if not buckets:  # no lead at all: the window's buckets, emptied
            every = MentionFilter(since=window.since, until=window.until)
            buckets = [
                TimeBucket(start=b.start, count=0)
                for b in self.index.histogram(every, interval=interval)
            ]
        starts = [b.start for b in buckets]
        counts = [b.count for b in buckets]
        splits = [Counter(b.by) for b in buckets]
        for copy in extra:
            slot = max(i for i, start in enumerate(starts) if start <= copy.published_at)
            counts[slot] += 1
            if split_by is not None:
                splits[slot].update(display_values(copy, split_by))
        return [
            TimeBucket(start=s, count=c, by=dict(by) if split_by is not None else {})
            for s, c, by in zip(starts, counts, splits, strict=True)
        ]

    def terms(
        self, flt: MentionFilter, *, dimension: Dimension, size: int = 10
    ) -> list[CountBucket]:
        """Stories per value, largest first, ties by key."""
        extra = Counter(v for m in orphans(self.index, flt) for v in display_values(m, dimension))
        base = leads(flt)
        counts = {
            b.key: b.count
            for b in self.index.terms(base, dimension=dimension, size=size + len(extra))
        }
        field = _QUERY_FIELD[Dimension(dimension)]
        for key, more in extra.items():
            if key not in counts:
                counts[key] = self.index.count(_with(base, FieldFilter(field, fold_keyword(key))))
            counts[key] += more
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:size]
        return [CountBucket(key=k, count=c) for k, c in ranked if c > 0]

    def top_terms(
        self, flt: MentionFilter, *, size: int = 20, exclude: Collection[str] = ()
    ) -> list[CountBucket]:
        """The most frequent words over the stories' leads (orphans are left out)."""
        return self.index.top_terms(leads(flt), size=size, exclude=exclude)


def _window_covering(
    index: MentionIndex, flt: MentionFilter, extra: Sequence[Mention]
) -> MentionFilter:
    """`flt`, with an open side closed so that its buckets also hold the orphans."""
    if not extra or (flt.since is not None and flt.until is not None):
        return flt
    since, until = flt.since, flt.until
    if since is None:
        since = min([m.published_at for m in extra] + _edge(index, flt, SortOrder.OLDEST))
    if until is None:
        latest = max([m.published_at for m in extra] + _edge(index, flt, SortOrder.NEWEST))
        until = latest + timedelta(microseconds=1)
    return MentionFilter(query=flt.query, since=since, until=until)


def _edge(index: MentionIndex, flt: MentionFilter, sort: SortOrder) -> list[datetime]:
    page = index.search(SearchRequest(filter=flt, sort=sort, limit=1))
    return [m.published_at for m in page.mentions]
