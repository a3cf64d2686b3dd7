"""The triage inbox one row per story: the copies of a story (reposts, retweets,
syndicated articles: `Mention.story_id`, given by the analyzer's story grouping,
services/analyzer/stories) are one thing to handle, shown once with how many copies
match.

Stories come newest first, by their earliest matching copy, which is also the row's
representative. Paging counts stories: the cursor is the last row's (time, story), so a
story leaving the inbox (marked answered) does not shift the next page.

The work is bounded by the page, not by the matches: the matching copies are walked
newest first from the cursor, `walk` at a time. Once the walk has reached time T, every
story starting after T has been seen (its first matching copy is that recent), so the
seen stories whose start (`MentionIndex.story_starts`, asked for those stories only) is
after T are exactly the next ones in order; the walk stops when they fill the page. Then
two small searches per row; never every copy of a big story. `total` is
`DistinctStories.count` (an index count and the residual stories' columns, no document
load).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta

from services.core.models import Mention
from services.store.contracts import MentionFilter, MentionIndex, SearchRequest, SortOrder
from services.store.distinct_stories import DistinctStories
from services.store.embedded.keys import epoch_us, from_epoch_us
from services.store.story_chain import story_hash, story_key


@dataclass(frozen=True)
class StoryRow:
    """A story in the inbox: its representative (first matching copy) and how many of
    its copies match."""

    mention: Mention
    copies: int


@dataclass(frozen=True)
class StoryPage:
    rows: list[StoryRow]
    total: int  # stories, not copies
    next_cursor: str | None


def _cursor(start_us: int, story: int) -> str:
    return f"s{start_us}_{story}"


def _parse_cursor(cursor: str) -> tuple[int, int]:
    """(-start, -story) of the last row shown; ValueError for a cursor not ours."""
    try:
        start, story = cursor.removeprefix("s").split("_")
        if not cursor.startswith("s"):
            raise ValueError
        return -int(start), -int(story)
    except ValueError:
        raise ValueError(f"invalid cursor {cursor!r}: use next_cursor from a page") from None


WALK = 200  # matching copies read per step of the walk (a page of search results)


def story_page(
    index: MentionIndex,
    flt: MentionFilter,
    *,
    limit: int,
    cursor: str | None = None,
    walk: int = WALK,
) -> StoryPage:
    """One page of the stories with a copy matching `flt`, newest first."""
    after = _parse_cursor(cursor) if cursor is not None else None
    walked = flt
    if after is not None:  # stories after the cursor start at or before its time
        until = from_epoch_us(-after[0]) + timedelta(microseconds=1)  # `until` is exclusive
        walked = replace(flt, until=until if flt.until is None else min(flt.until, until))
    starts: dict[int, int] = {}  # story -> earliest matching copy (µs), of the seen ones
    ready: list[tuple[int, int]] = []
    step: str | None = None
    while True:
        page = index.search(
            SearchRequest(filter=walked, sort=SortOrder.NEWEST, limit=walk, cursor=step)
        )
        seen = {story_hash(story_key(m)) for m in page.mentions} - starts.keys()
        if seen:
            starts.update(index.story_starts(replace(flt, stories=frozenset(seen))))
        done = page.next_cursor is None or not page.mentions
        reached = None if done else epoch_us(page.mentions[-1].published_at)
        ready = sorted(
            (
                (story, at)
                for story, at in starts.items()
                if (reached is None or at > reached) and (after is None or (-at, -story) > after)
            ),
            key=lambda item: (-item[1], -item[0]),
        )
        if done or len(ready) > limit:
            break
        step = page.next_cursor
    shown = ready[:limit]
    rows = []
    for story, _ in shown:
        found = index.search(
            SearchRequest(
                filter=replace(flt, stories=frozenset({story})), sort=SortOrder.OLDEST, limit=1
            )
        )
        if found.mentions:  # else deleted meanwhile
            rows.append(StoryRow(found.mentions[0], found.total))
    last = shown[-1] if len(ready) > limit else None
    return StoryPage(
        rows=rows,
        total=DistinctStories(index).count(flt),
        next_cursor=_cursor(last[1], last[0]) if last else None,
    )
