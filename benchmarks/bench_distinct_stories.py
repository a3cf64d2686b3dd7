"""Benchmarks deduplicated stats (`dedup=true`) on either store, and checks them exact.

    .venv/bin/python benchmarks/bench_distinct_stories.py --docs 1000000
    ELASTICSEARCH_URL=http://127.0.0.1:9200 .venv/bin/python \\
        benchmarks/bench_distinct_stories.py --docs 1000000 --store elasticsearch

Writes `--docs` synthetic mentions over 365 days (the generator of
bench_embedded_index.py: 24% reposts, some collected before the copy they repeat),
then times raw and deduplicated counts and daily histograms over 90 and 365 days,
the story breakdown, and deduplicated counts and histograms with a brand filter (the
path that looks for stories matching only by a later copy). Each deduplicated count is checked
against the stories the generator made. Elasticsearch: a fresh index prefix, dropped
afterwards. Prints the figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_embedded_index import BRANDS, NOW, MentionFactory, report, timed

from services.core.query.ast import FieldFilter
from services.store.contracts import Dimension, Interval, MentionFilter, MentionIndex
from services.store.distinct_stories import DistinctStories


def open_store(kind: str, folder: str) -> tuple[MentionIndex, Callable[[], None]]:
    """A fresh store and how to get rid of it."""
    if kind == "embedded":
        from services.store.embedded.index import EmbeddedIndex

        embedded = EmbeddedIndex(folder)
        return embedded, embedded.close
    from services.store.elastic import EsIndex, EsSettings

    base = EsSettings.from_env(os.environ["ELASTICSEARCH_URL"])
    settings = EsSettings(
        url=base.url,
        index_prefix=f"veille-bench-{uuid.uuid4().hex[:8]}",
        api_key=base.api_key,
        username=base.username,
        password=base.password,
        ca_certs=base.ca_certs,
        dead_letter_path=os.path.join(folder, "dead-letter.jsonl"),
    )
    es = EsIndex(settings)

    def drop() -> None:
        es.drop()
        es.close()

    return es, drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--reposts", type=float, default=0.24)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--store", choices=["embedded", "elasticsearch"], default="embedded")
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="veille-bench-dedup-")
    factory = MentionFactory(7, 50_000, args.reposts)
    rng = random.Random(8)
    index, close = open_store(args.store, folder)
    try:
        started = time.perf_counter()
        for start in range(0, args.docs, args.batch):
            index.upsert(factory.batch(min(args.batch, args.docs - start)))
        elapsed = time.perf_counter() - started
        print(f"[{args.store}] {args.docs:,} mentions written in {elapsed:.0f} s")
        stories = DistinctStories(index)
        for days in (90, 365):
            flt = MentionFilter(since=NOW - timedelta(days=days), until=NOW)
            assert flt.since is not None and flt.until is not None
            expected = len({s for s, at in factory.stories if flt.since <= at < flt.until})
            counted = stories.count(flt)
            print(
                f"  {days} days: {index.count(flt):,} mentions, {counted:,} stories counted, "
                f"{expected:,} generated ({'exact' if counted == expected else 'WRONG'})"
            )

            def window(days: int = days) -> MentionFilter:
                end = NOW - timedelta(days=rng.randrange(0, max(1, 365 - days)))
                return MentionFilter(since=end - timedelta(days=days), until=end)

            report(f"raw count, {days} days", timed(lambda: index.count(window()), args.runs))
            report(f"dedup count, {days} days", timed(lambda: stories.count(window()), args.runs))
            report(
                f"dedup histogram by day, {days} days",
                timed(lambda: stories.histogram(window(), interval=Interval.DAY), args.runs),
            )
        few = max(args.runs // 10, 5)
        for days in (90, 365):

            def brand_window(days: int = days) -> MentionFilter:
                brand = FieldFilter("brand", rng.choice(BRANDS).lower())
                return MentionFilter(query=brand, since=NOW - timedelta(days=days), until=NOW)

            report(
                f"dedup count, brand:X, {days} days",
                timed(lambda: stories.count(brand_window()), args.runs),
            )
            report(
                f"dedup histogram by day, brand:X, {days} days",
                timed(lambda: stories.histogram(brand_window(), interval=Interval.DAY), args.runs),
            )
        report(
            f"story breakdown, 365 days ({few} runs)",
            timed(
                lambda: index.terms(
                    MentionFilter(since=NOW - timedelta(days=365)), dimension=Dimension.STORY
                ),
                few,
            ),
        )
    finally:
        close()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
