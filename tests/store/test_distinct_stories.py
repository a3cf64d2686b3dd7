"""Deduplicated counts (each story once per window) on every index backend."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from services.core.models import Mention, Sentiment, SentimentLabel
from services.core.query import matches
from services.core.query.parser import parse_query
from services.store import distinct_stories
from services.store.contracts import (
    CountBucket,
    Dimension,
    Interval,
    MentionFilter,
    MentionIndex,
    SearchRequest,
    SortOrder,
)
from services.store.distinct_stories import DistinctStories
from tests.factories import make_mention

DAY1 = datetime(2026, 3, 2, tzinfo=UTC)  # the window is DAY1..DAY1 + 2 days
WINDOW = MentionFilter(since=DAY1, until=DAY1 + timedelta(days=2))


def _neg() -> Sentiment:
    return Sentiment(label=SentimentLabel.NEGATIVE, score=0.9)


@pytest.fixture
def stories(mention_index: MentionIndex) -> list[Mention]:
    """`old`: lead before the window, two reposts inside (day 1 and day 2).
    `art`: lead and one copy inside. `late`: lead inside, a copy after the window.
    `solo`: no copies. `gone`: lead and copy before the window."""
    before = DAY1 - timedelta(days=3)
    mentions = [
        make_mention(id="old", story_id="old", published_at=before, topics=["price"]),
        make_mention(
            id="old-2",
            story_id="old",
            published_at=DAY1 + timedelta(days=1, hours=2),
            topics=["price"],
            sentiment=_neg(),
        ),
        make_mention(
            id="old-1",
            story_id="old",
            published_at=DAY1 + timedelta(hours=5),
            topics=["price"],
            sentiment=_neg(),
        ),
        make_mention(id="art", story_id="art", published_at=DAY1 + timedelta(hours=1)),
        make_mention(id="art-1", story_id="art", published_at=DAY1 + timedelta(hours=3)),
        make_mention(id="late", story_id="late", published_at=DAY1 + timedelta(days=1)),
        make_mention(id="late-1", story_id="late", published_at=DAY1 + timedelta(days=4)),
        make_mention(id="solo", story_id=None, published_at=DAY1 + timedelta(hours=7)),
        make_mention(id="gone", story_id="gone", published_at=before),
        make_mention(id="gone-1", story_id="gone", published_at=before + timedelta(hours=1)),
    ]
    mention_index.upsert(mentions)
    return mentions


def test_a_story_led_before_the_window_counts_once(
    mention_index: MentionIndex, stories: list[Mention]
) -> None:
    assert mention_index.count(WINDOW) == 6  # raw: every copy in the window
    assert DistinctStories(mention_index).count(WINDOW) == 4  # old, art, late, solo
    firsts = mention_index.search(
        SearchRequest(filter=distinct_stories.first_copies(WINDOW), sort=SortOrder.OLDEST)
    )
    assert [m.id for m in firsts.mentions] == ["art", "old-1", "solo", "late"]


def test_a_story_whose_lead_does_not_match_counts_by_its_copies(
    mention_index: MentionIndex, stories: list[Mention]
) -> None:
    negative = MentionFilter(query=parse_query("sentiment:negative"), since=None, until=None)
    assert DistinctStories(mention_index).count(negative) == 1
    assert mention_index.count(negative) == 2


def test_histogram_puts_each_story_in_the_bucket_of_its_first_copy_counted(
    mention_index: MentionIndex, stories: list[Mention]
) -> None:
    days = DistinctStories(mention_index).histogram(
        WINDOW, interval=Interval.DAY, split_by=Dimension.SENTIMENT
    )
    assert [(b.start, b.count) for b in days] == [(DAY1, 3), (DAY1 + timedelta(days=1), 1)]
    assert days[0].by == {"neutral": 2, "negative": 1}
    assert sum(b.count for b in days) == DistinctStories(mention_index).count(WINDOW)


def test_histogram_with_only_orphans_keeps_the_window_buckets(
    mention_index: MentionIndex, stories: list[Mention]
) -> None:
    price = MentionFilter(query=parse_query("topic:price"), since=WINDOW.since, until=WINDOW.until)
    days = DistinctStories(mention_index).histogram(price, interval=Interval.DAY)
    assert [b.count for b in days] == [1, 0]


def test_open_window_histogram_reaches_the_orphans(
    mention_index: MentionIndex, stories: list[Mention]
) -> None:
    copies = MentionFilter(query=parse_query("sentiment:negative"))
    days = DistinctStories(mention_index).histogram(copies, interval=Interval.DAY)
    assert [(b.start, b.count) for b in days] == [(DAY1, 1)]


def test_terms_count_stories_per_value(mention_index: MentionIndex, stories: list[Mention]) -> None:
    counter = DistinctStories(mention_index)
    assert counter.terms(WINDOW, dimension=Dimension.TOPIC) == [CountBucket("price", 1)]
    assert counter.terms(WINDOW, dimension=Dimension.SENTIMENT) == [
        CountBucket("neutral", 3),
        CountBucket("negative", 1),
    ]
    assert mention_index.terms(WINDOW, dimension=Dimension.TOPIC) == [CountBucket("price", 2)]


def test_without_copies_dedup_changes_nothing(mention_index: MentionIndex) -> None:
    mention_index.upsert(
        [make_mention(id=f"m{i}", published_at=DAY1 + timedelta(hours=i)) for i in range(3)]
    )
    counter = DistinctStories(mention_index)
    assert counter.count(WINDOW) == mention_index.count(WINDOW) == 3
    assert counter.histogram(WINDOW, interval=Interval.DAY) == mention_index.histogram(
        WINDOW, interval=Interval.DAY
    )


def test_many_stories_are_all_checked_for_their_lead(mention_index: MentionIndex) -> None:
    led_inside = [f"s{i:02d}" for i in range(15)]  # more than one aggregation page
    mentions = [
        make_mention(id=s, story_id=s, published_at=DAY1 + timedelta(minutes=i))
        for i, s in enumerate(led_inside)
    ]
    mentions += [
        make_mention(id=f"{s}-copy", story_id=s, published_at=DAY1 + timedelta(hours=2))
        for s in led_inside
    ]
    mention_index.upsert(mentions)
    assert distinct_stories.residual_stories(mention_index, WINDOW) == set()
    assert DistinctStories(mention_index).count(WINDOW) == 15


# -- exact at any arrival order: compared with counting story keys in Python --------

QUERIES = ["", "source:forum", "sentiment:negative", "retard", "-source:forum retard"]


def _story_of(mention: Mention) -> str:
    return mention.story_id or mention.id


def _expected(mentions: list[Mention], flt: MentionFilter) -> int:
    return len(
        {
            _story_of(m)
            for m in mentions
            if (flt.since is None or m.published_at >= flt.since)
            and (flt.until is None or m.published_at < flt.until)
            and matches(flt.query, m)
        }
    )


def _random_stories(rng: random.Random, count: int) -> list[Mention]:
    """Stories of 1 to 4 copies over 10 days, some copies on another source or negative;
    copies often share a publication time (ties are ordered by id hash)."""
    mentions: list[Mention] = []
    for s in range(count):
        story = f"st{s}"
        for c in range(rng.choice([1, 1, 2, 3, 4])):
            mentions.append(
                make_mention(
                    id=f"{story}-{c}",
                    story_id=story if c or rng.random() < 0.5 else None,
                    published_at=DAY1 + timedelta(hours=rng.choice(range(0, 240, 6))),
                    source_name=rng.choice(["news", "forum"]),
                    text=rng.choice(["Livraison en retard", "Super vélo"]),
                    sentiment=_neg() if rng.random() < 0.3 else None,
                )
            )
    return [m.model_copy(update={"story_id": m.story_id or None}) for m in mentions]


def _windows(rng: random.Random) -> list[MentionFilter]:
    found = [MentionFilter(since=None, until=None)]
    for _ in range(6):
        since = DAY1 + timedelta(hours=rng.choice(range(-12, 240, 6)))
        until = since + timedelta(hours=rng.choice(range(6, 200, 6)))
        found += [
            MentionFilter(since=since, until=until),
            MentionFilter(since=since),
            MentionFilter(until=until),
        ]
    return found


def _check_counts(index: MentionIndex, held: list[Mention], rng: random.Random) -> None:
    counter = DistinctStories(index)
    for window in _windows(rng):
        for text in QUERIES:
            flt = MentionFilter(query=parse_query(text), since=window.since, until=window.until)
            expected = _expected(held, flt)
            assert counter.count(flt) == expected, (text, window)
            if window.since is not None and window.until is not None:
                days = counter.histogram(flt, interval=Interval.DAY)
                assert sum(b.count for b in days) == expected, (text, window)


@pytest.mark.parametrize("seed", [1, 2])
def test_counts_are_exact_whatever_the_arrival_order(
    mention_index: MentionIndex, seed: int
) -> None:
    rng = random.Random(seed)
    mentions = _random_stories(rng, 25)
    rng.shuffle(mentions)  # later copies often arrive before earlier ones
    for start in range(0, len(mentions), 7):
        mention_index.upsert(mentions[start : start + 7])
    _check_counts(mention_index, mentions, rng)


def test_counts_stay_exact_when_copies_move_or_go(mention_index: MentionIndex) -> None:
    rng = random.Random(3)
    held = {m.id: m for m in _random_stories(rng, 20)}
    mention_index.upsert(list(held.values()))
    # Reanalysis: some copies join another story, some leave theirs.
    moved = []
    for mention in rng.sample(sorted(held.values(), key=lambda m: m.id), 12):
        story = rng.choice([None, "st0", "st5", mention.id])
        moved.append(mention.model_copy(update={"story_id": story}))
    mention_index.upsert(moved)
    held.update({m.id: m for m in moved})
    # Deleting first copies hands the story to the next one.
    gone = rng.sample(sorted(held), 8)
    assert mention_index.delete(gone) == 8
    for mention_id in gone:
        del held[mention_id]
    _check_counts(mention_index, list(held.values()), rng)


def test_an_earlier_copy_arriving_late_takes_the_first_place(
    mention_index: MentionIndex,
) -> None:
    lead = make_mention(id="a", story_id="a", published_at=DAY1 + timedelta(hours=10))
    mention_index.upsert([lead])
    early = make_mention(id="b", story_id="a", published_at=DAY1 + timedelta(hours=2))
    mention_index.upsert([early])
    firsts = distinct_stories.first_copies(MentionFilter(since=DAY1))
    assert [m.id for m in mention_index.search(SearchRequest(filter=firsts)).mentions] == ["b"]
    later_window = MentionFilter(since=DAY1 + timedelta(hours=5))
    assert DistinctStories(mention_index).count(later_window) == 1
