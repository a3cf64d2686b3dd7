"""Benchmarks deduplicated stats (`dedup=true`) against raw ones on the embedded index.

    .venv/bin/python benchmarks/bench_distinct_stories.py --docs 20000 --copies 0.3

Writes `--docs` synthetic mentions over 30 days, a share `--copies` of them reposts
of an earlier mention (some led before the 7-day window asked for), then times a
raw and a deduplicated count, daily histogram and sentiment breakdown over the last
7 days. Prints the figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from services.core.models import Mention, Sentiment, SentimentLabel
from services.store.contracts import Dimension, Interval, MentionFilter
from services.store.distinct_stories import DistinctStories
from services.store.embedded.index import EmbeddedIndex

END = datetime(2026, 11, 1, tzinfo=UTC)
LABELS = list(SentimentLabel)


def mentions(count: int, copies: float, rng: random.Random) -> list[Mention]:
    out: list[Mention] = []
    for n in range(count):
        published = END - timedelta(seconds=rng.uniform(0, 30 * 86400))
        lead = out[rng.randrange(len(out))] if out and rng.random() < copies else None
        story = (lead.story_id or lead.id) if lead else f"m{n}"
        if lead is not None:
            published = max(published, lead.published_at + timedelta(minutes=1))
        out.append(
            Mention(
                id=f"m{n}",
                source_kind="feed",
                source_name="bench",
                url=f"https://example.org/{n}",
                text=f"Veloria post {story}",
                published_at=min(published, END - timedelta(seconds=1)),
                language="fr",
                brands=["Veloria"],
                sentiment=Sentiment(label=rng.choice(LABELS), score=0.9),
                story_id=story,
            )
        )
    return out


def timed(run: Callable[[], Any], repeat: int = 5) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=20_000)
    parser.add_argument("--copies", type=float, default=0.3)
    args = parser.parse_args()
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as folder:
        index = EmbeddedIndex(f"{folder}/index")
        docs = mentions(args.docs, args.copies, rng)
        for start in range(0, len(docs), 5000):
            index.upsert(docs[start : start + 5000])
        window = MentionFilter(since=END - timedelta(days=7), until=END)
        dedup = DistinctStories(index)
        inside = [m for m in docs if window.since and window.since <= m.published_at < END]
        expected = len({m.story_id for m in inside})
        print(f"{args.docs} mentions, {args.copies:.0%} reposts, last 7 days: {expected} stories")
        for name, raw, distinct in (
            ("count", lambda: index.count(window), lambda: dedup.count(window)),
            (
                "daily histogram",
                lambda: sum(b.count for b in index.histogram(window, interval=Interval.DAY)),
                lambda: sum(b.count for b in dedup.histogram(window, interval=Interval.DAY)),
            ),
            (
                "sentiment breakdown",
                lambda: len(index.terms(window, dimension=Dimension.SENTIMENT)),
                lambda: len(dedup.terms(window, dimension=Dimension.SENTIMENT)),
            ),
        ):
            raw_ms, raw_value = timed(raw)
            dedup_ms, dedup_value = timed(distinct)
            print(
                f"  {name:20s} raw {raw_ms:7.1f} ms ({raw_value})  "
                f"dedup {dedup_ms:7.1f} ms ({dedup_value})"
            )
        index.close()


if __name__ == "__main__":
    main()
