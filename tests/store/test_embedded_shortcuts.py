"""The embedded store's shortcuts give the answers of the general way.

Top terms find the newest matches through a few counts over recent windows instead of
ranking every match; a distinct-story count with a query reads the matches' stories
in one pass instead of counting first copies and the stories matched only by a later
copy. Both are compared here with the plain computation, on data built to reach the
edges (windows longer than a day, a gap in time, copies sharing a millisecond).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import services.store.embedded.index as embedded_index
from services.core.function_words import content_words
from services.core.models import Mention
from services.core.query.matcher import matches
from services.core.query.parser import parse_query
from services.store import distinct_stories
from services.store.contracts import MentionFilter, SearchRequest, SortOrder
from services.store.distinct_stories import DistinctStories
from services.store.embedded import keys
from services.store.embedded.index import EmbeddedIndex
from services.store.embedded.keys import SLOT_BITS
from tests.factories import make_mention

T0 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
WORDS = ["vélo", "livraison", "retard", "batterie", "prix", "déçu", "super", "cadre"]


@pytest.fixture
def index(tmp_path: Path) -> Iterator[EmbeddedIndex]:
    opened = EmbeddedIndex(str(tmp_path / "idx"), writer_idle_seconds=0.2)
    yield opened
    opened.close()


def _mentions(rng: random.Random) -> list[Mention]:
    """Bursts of mentions days apart (a gap of months in the middle), some sharing one
    millisecond, some copies of earlier stories."""
    mentions: list[Mention] = []
    moments = [T0 + timedelta(days=d, minutes=rng.randrange(600)) for d in range(12)]
    moments += [T0 + timedelta(days=200 + d, hours=rng.randrange(24)) for d in range(4)]
    for n in range(160):
        at = rng.choice(moments) + timedelta(microseconds=rng.choice([0, 100, 400, 900]))
        story = f"m{rng.randrange(n)}" if n and rng.random() < 0.3 else None
        mentions.append(
            make_mention(
                id=f"m{n}",
                story_id=story,
                published_at=at,
                text=" ".join(rng.sample(WORDS, 3)),
                source_name=rng.choice(["news", "forum"]),
            )
        )
    return mentions


def _newest_words(index: EmbeddedIndex, flt: MentionFilter, sample: int) -> Counter[str]:
    """Word counts over the newest `sample` matches, read page by page in sort order."""
    newest: list[Mention] = []
    cursor = None
    while len(newest) < sample:
        page = index.search(
            SearchRequest(filter=flt, sort=SortOrder.NEWEST, limit=50, cursor=cursor)
        )
        newest += page.mentions
        cursor = page.next_cursor
        if cursor is None:
            break
    return Counter(w for m in newest[:sample] for w in content_words(m.title, m.text))


@pytest.mark.parametrize("sample", [1, 7, 40, 500])
def test_top_terms_count_exactly_the_newest_matches(
    index: EmbeddedIndex, monkeypatch: pytest.MonkeyPatch, sample: int
) -> None:
    monkeypatch.setattr(embedded_index, "TOP_TERMS_SAMPLE", sample)
    index.upsert(_mentions(random.Random(5)))
    filters = [
        MentionFilter(),
        MentionFilter(query=parse_query("source:forum")),
        MentionFilter(since=T0 + timedelta(days=3)),
        MentionFilter(since=T0 + timedelta(days=2), until=T0 + timedelta(days=9)),
        MentionFilter(until=T0 + timedelta(days=100)),
        distinct_stories.first_copies(MentionFilter(since=T0 + timedelta(days=4))),
    ]
    for flt in filters:
        got = {b.key: b.count for b in index.top_terms(flt, size=len(WORDS))}
        assert got == dict(_newest_words(index, flt, sample)), flt


def test_top_terms_sample_keeps_a_millisecond_whole(
    index: EmbeddedIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The window edge falls inside a millisecond shared by copies ranked by their slot:
    the whole millisecond is kept, so the newest two are those of a full ranking."""
    monkeypatch.setattr(embedded_index, "TOP_TERMS_SAMPLE", 2)
    monkeypatch.setattr(embedded_index, "_RANK_ALL", 0)  # always through a window
    newest = T0 + timedelta(days=1, microseconds=500)
    # With the oldest here, the first window (twice the sample at the mean rate over the
    # five matches) starts at T0 + 500 µs, inside the millisecond of the `e` copies.
    oldest = T0 - timedelta(microseconds=21_599_999_500)
    # Within one millisecond copies rank by slot: the one after the edge ranks lowest.
    by_slot = sorted(["e0", "e1", "e2"], key=lambda i: keys.id_hash(i) & ((1 << SLOT_BITS) - 1))
    index.upsert(
        [
            make_mention(id="a", published_at=newest, text="super"),
            make_mention(id="z", published_at=oldest, text="vieux"),
        ]
        + [
            make_mention(id=i, published_at=T0 + timedelta(microseconds=us), text=word)
            for i, us, word in zip(
                by_slot, [800, 100, 300], ["retard", "prix", "cadre"], strict=True
            )
        ]
    )
    got = {b.key: b.count for b in index.top_terms(MentionFilter(), size=5)}
    assert got == dict(_newest_words(index, MentionFilter(), 2))


def _expected_stories(mentions: list[Mention], flt: MentionFilter) -> int:
    return len(
        {
            m.story_id or m.id
            for m in mentions
            if (flt.since is None or m.published_at >= flt.since)
            and (flt.until is None or m.published_at < flt.until)
            and matches(flt.query, m)
        }
    )


@pytest.mark.parametrize("direct_limit", [100_000, 5])
def test_distinct_counts_with_a_query_are_exact_both_ways(
    index: EmbeddedIndex, monkeypatch: pytest.MonkeyPatch, direct_limit: int
) -> None:
    """One pass over the matches' stories, or (more matches than it reads) the general
    way: the same exact counts."""
    monkeypatch.setattr(embedded_index, "_DIRECT_STORIES", direct_limit)
    mentions = _mentions(random.Random(9))
    index.upsert(mentions)
    counter = DistinctStories(index)
    for text in ["source:forum", "retard", "-source:news déçu", "vélo OR prix"]:
        for since, until in [(None, None), (T0 + timedelta(days=3), T0 + timedelta(days=9))]:
            flt = MentionFilter(query=parse_query(text), since=since, until=until)
            assert counter.count(flt) == _expected_stories(mentions, flt), (text, since)


def test_distinct_count_shortcut_declines_without_a_query(index: EmbeddedIndex) -> None:
    index.upsert(_mentions(random.Random(2)))
    assert index.distinct_story_count(MentionFilter()) is None  # a plain count is cheaper
    assert index.distinct_story_count(MentionFilter(query=parse_query("prix"))) is not None
