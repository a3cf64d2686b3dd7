"""The triage inbox one row per story: the copies of a story (reposts, retweets,
syndicated articles: `Mention.story_id`, given by the analyzer's story grouping,
services/analyzer/stories) are one thing to handle, shown once with how many copies
match.

Stories come newest first, by their earliest matching copy, which is also the row's
representative. Paging counts stories: the cursor is the last row's (time, story), so a
story leaving the inbox (marked answered) does not shift the next page. Reads the
matching mentions' story columns (`MentionIndex.story_starts`), then two small searches
per row; never every copy of a big story.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from services.core.models import Mention
from services.store.contracts import MentionFilter, MentionIndex, SearchRequest, SortOrder


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


def story_page(
    index: MentionIndex, flt: MentionFilter, *, limit: int, cursor: str | None = None
) -> StoryPage:
    """One page of the stories with a copy matching `flt`, newest first."""
    starts = index.story_starts(flt)
    order = sorted(starts.items(), key=lambda item: (-item[1], -item[0]))
    if cursor is not None:
        after = _parse_cursor(cursor)
        order = [(s, at) for s, at in order if (-at, -s) > after]
    shown = order[:limit]
    rows = []
    for story, _ in shown:
        found = index.search(
            SearchRequest(
                filter=replace(flt, stories=frozenset({story})), sort=SortOrder.OLDEST, limit=1
            )
        )
        if found.mentions:  # else deleted meanwhile
            rows.append(StoryRow(found.mentions[0], found.total))
    last = shown[-1] if shown and len(order) > limit else None
    return StoryPage(
        rows=rows,
        total=len(starts),
        next_cursor=_cursor(last[1], last[0]) if last else None,
    )
