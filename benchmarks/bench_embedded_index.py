"""Benchmarks the embedded mention index: bulk ingest, filtered search, histograms.

    .venv/bin/python benchmarks/bench_embedded_index.py --docs 1000000

Generates synthetic mentions (about 40 words each from a Zipf-distributed French and
English vocabulary of about 50,000 words, 5 brands, 3 sentiments, 2 languages, 20
sources, published over 365 days; 24% are reposts of a recent story, up to a day
before or 3 days after it), ingests them in batches through `EmbeddedIndex.upsert`,
then times a filtered top-20 search, a 90-day daily volume-by-sentiment histogram,
top terms, deduplicated counts and histograms over 90 and 365 days (checked against
the stories generated), and the worst query the cost caps allow. Prints the figures;
asserts nothing.

Targets on a 2-core machine at 1,000,000 mentions: ingest >= 5,000 mentions/s,
search p95 <= 50 ms, histogram p95 <= 100 ms.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import itertools
import os
import random
import resource
import shutil
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from services.core.models import Mention, Sentiment, SentimentLabel
from services.core.query import parse_query
from services.core.query.ast import And, FieldFilter, Term
from services.core.query.parser import (
    MAX_NEAR_DISTANCE,
    MAX_NEAR_PAIRS,
    MAX_NEAR_WILDCARD_PAIRS,
    MAX_WILDCARDS,
    MIN_NEAR_WILDCARD_PREFIX,
)
from services.core.text import fold_keyword
from services.store.contracts import (
    Dimension,
    Interval,
    MentionFilter,
    MentionIndex,
    SearchRequest,
)
from services.store.distinct_stories import DistinctStories
from services.store.embedded.index import EmbeddedIndex

NOW = datetime(2026, 6, 30, tzinfo=UTC)
BRANDS = ["Veloria", "Acme", "Trek Bikes", "Vélo Cie", "Cyclix"]
SOURCES = [f"Source {n:02d}" for n in range(20)]
TOPICS = ["delivery", "price", "quality", "service", "design", "battery"]
_COMMON = """
le la les de des du un une et est en que qui dans pour pas sur au avec ce il elle on
plus par mais ou son sa ses nous vous leur tout fait très bien vélo livraison prix
service client électrique retard qualité société été déjà même après avant
the a of to and in is it that for was on are with as be at this have from or by not
but what all were when we there can an your which their said if do will each about
bike delivery price customer service late battery quality great bad love hate good
"""
_SYLLABLES = """
ba be bi bo bu da de di do du fa fe fi fo ga ge gi go la le li lo lu ma me mi mo
na ne ni no pa pe pi po ra re ri ro sa se si so ta te ti to va ve vi vo za ze
tion ment eur ique ette age ance ure ing er ly ness ful é è ê ô à ç
"""
COMMON = _COMMON.split()
SYLLABLES = _SYLLABLES.split()


def vocabulary(size: int, rng: random.Random) -> list[str]:
    """Common words first (highest Zipf ranks), then made-up words, some accented."""
    words = list(dict.fromkeys(COMMON))
    seen = set(words)
    while len(words) < size:
        word = "".join(rng.choices(SYLLABLES, k=rng.randint(2, 4)))
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words


class MentionFactory:
    """Synthetic mentions, generated per batch with numpy for the word draws."""

    def __init__(self, seed: int, vocab_size: int, reposts: float = 0.0) -> None:
        self.reposts = reposts
        # Recent stories a repost may copy: (story id, publication, title, text).
        self.recent: list[tuple[str, datetime, str, str]] = []
        # (story, publication) of every mention, to check deduplicated counts.
        self.stories: list[tuple[str, datetime]] = []
        self.brands: list[list[str]] = []  # of every mention, to check brand:X counts
        self.rng = random.Random(seed)
        self.np_rng = np.random.default_rng(seed)
        self.words = np.array(vocabulary(vocab_size, self.rng), dtype=object)
        ranks = np.arange(1, len(self.words) + 1, dtype=np.float64)
        weights = 1.0 / ranks**1.07
        self.cumulative = np.cumsum(weights / weights.sum())
        self.counter = itertools.count()

    def draw_words(self, count: int) -> list[str]:
        """`count` words drawn by Zipf frequency."""
        picks = np.searchsorted(self.cumulative, self.np_rng.random(count))
        picks = np.minimum(picks, len(self.words) - 1)
        return list(self.words[picks])

    def batch(self, size: int) -> list[Mention]:
        """`size` new mentions (ids continue from the previous batch)."""
        words = self.draw_words(size * 40)
        mentions = []
        for i in range(size):
            n = next(self.counter)
            chunk = words[i * 40 : (i + 1) * 40]
            brands = self.rng.sample(BRANDS, self.rng.choice((1, 1, 1, 2)))
            published = NOW - timedelta(seconds=self.rng.randrange(365 * 86400))
            mention_id = f"bench-{n:08d}"
            title = " ".join(chunk[:8]).capitalize()
            # Punctuation glued to words, as in real posts ("vélo," "retard.").
            text = (
                f"{' '.join(chunk[8:20])}, {' '.join(chunk[20:32])}. "
                f"{' '.join(chunk[32:]).capitalize()}!"
            )
            story: str | None = None
            if self.recent and self.rng.random() < self.reposts:
                # A repost: up to 3 days from its story's first copy, either side (a copy
                # collected before the one it copies arrives out of order).
                story, lead_at, title, text = self.rng.choice(self.recent)
                shift = timedelta(seconds=self.rng.randrange(-86400, 3 * 86400))
                published = min(lead_at + shift, NOW - timedelta(seconds=1))
            else:
                self.recent.append((mention_id, published, title, text))
                if len(self.recent) > 20_000:
                    self.recent.pop(self.rng.randrange(len(self.recent)))
            self.stories.append((story or mention_id, published))
            self.brands.append(brands)
            mentions.append(
                Mention(
                    id=mention_id,
                    story_id=story,
                    source_kind="feed",
                    source_name=self.rng.choice(SOURCES),
                    url=f"https://site{n % 997}.example.com/posts/{n}",
                    title=title,
                    text=text,
                    author=f"author{self.rng.randrange(5000)}",
                    published_at=published,
                    collected_at=published,
                    language=self.rng.choice(("fr", "en")),
                    brands=brands,
                    sentiment=Sentiment(label=self.rng.choice(list(SentimentLabel)), score=0.8),
                    topics=self.rng.sample(TOPICS, self.rng.randint(0, 2)),
                )
            )
        return mentions


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentiles(samples: list[float]) -> str:
    """`p50 / p95 / max` of latencies in seconds, shown in milliseconds."""
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    p50, p95, most = cuts[49] * 1000, cuts[94] * 1000, max(samples) * 1000
    return f"p50 {p50:7.2f} ms   p95 {p95:7.2f} ms   max {most:7.2f} ms"


def timed(run: Callable[[], object], runs: int) -> list[float]:
    """Latencies of `runs` calls (after two warm-up calls)."""
    for _ in range(2):
        run()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        run()
        samples.append(time.perf_counter() - started)
    return samples


def ingest(index: EmbeddedIndex, factory: MentionFactory, docs: int, batch: int) -> None:
    """Upserts `docs` mentions in batches; reports the rate inside upsert and overall."""
    in_upsert = 0.0
    cpu_in_upsert = 0.0
    generating = 0.0
    written = 0
    started = time.perf_counter()
    report_every = max(docs // 10, batch)
    next_report = report_every
    while written < docs:
        size = min(batch, docs - written)
        t0 = time.perf_counter()
        mentions = factory.batch(size)
        t1, c1 = time.perf_counter(), time.process_time()
        index.upsert(mentions)
        t2, c2 = time.perf_counter(), time.process_time()
        generating += t1 - t0
        in_upsert += t2 - t1
        cpu_in_upsert += c2 - c1  # all threads: Python, tantivy's indexers and merges
        written += size
        if written >= next_report:
            next_report += report_every
            print(
                f"  {written:>9,} mentions  {written / in_upsert:8,.0f}/s in upsert  "
                f"peak RSS {peak_rss_mb():,.0f} MB",
                flush=True,
            )
    t3 = time.perf_counter()
    index.close()  # waits for background merges and releases the writer
    closing = time.perf_counter() - t3
    print(f"ingest: {docs:,} mentions in batches of {batch:,}")
    print(f"  upsert calls      {in_upsert:8.1f} s   {docs / in_upsert:8,.0f} mentions/s")
    print(f"  + final merges    {closing:8.1f} s   {docs / (in_upsert + closing):8,.0f} mentions/s")
    print(
        f"  CPU used in upsert {cpu_in_upsert / docs * 1e6:5.0f} µs per mention, all threads "
        f"({cpu_in_upsert / in_upsert:.2f} cores busy on average)"
    )
    print(f"  (generating the mentions took {generating:.1f} s, not counted)")
    print(f"  wall time         {time.perf_counter() - started:8.1f} s")


def query_words(factory: MentionFactory, rng: random.Random) -> Iterator[str]:
    """Words from rank 20 to 5000: common enough to match, rare enough to vary."""
    words = [w for w in factory.words[20:5000] if w.isalpha()]
    while True:
        yield rng.choice(words)


def report(label: str, samples: list[float]) -> None:
    """Prints one line of latency figures."""
    print(f"  {label:<48} {percentiles(samples)}", flush=True)


def query_suite(
    index: MentionIndex, factory: MentionFactory, rng: random.Random, runs: int
) -> list[tuple[str, Callable[[], object], int]]:
    """The dashboard's typical requests, as (label, call, runs); any MentionIndex, so
    bench_elasticsearch.py times the same queries on Elasticsearch."""
    words = query_words(factory, rng)

    def brand() -> FieldFilter:
        return FieldFilter("brand", rng.choice(BRANDS).lower())

    def search() -> object:
        end = NOW - timedelta(days=rng.randrange(0, 300))
        query = And((Term(next(words)), brand(), FieldFilter("lang", "fr")))
        flt = MentionFilter(query=query, since=end - timedelta(days=30), until=end)
        return index.search(SearchRequest(filter=flt, limit=20))

    def histogram() -> object:
        end = NOW - timedelta(days=rng.randrange(0, 270))
        flt = MentionFilter(query=brand(), since=end - timedelta(days=90), until=end)
        return index.histogram(flt, interval=Interval.DAY, split_by=Dimension.SENTIMENT)

    def count() -> object:
        return index.count(MentionFilter(query=Term(next(words))))

    def terms() -> object:
        flt = MentionFilter(since=NOW - timedelta(days=90))
        return index.terms(flt, dimension=Dimension.SOURCE)

    def top_terms() -> object:
        return index.top_terms(MentionFilter(query=brand(), since=NOW - timedelta(days=30)))

    def top_terms_90() -> object:
        return index.top_terms(MentionFilter(since=NOW - timedelta(days=90)))

    def top_terms_all() -> object:
        return index.top_terms(MentionFilter())

    few = max(runs // 10, 5)
    return [
        (SEARCH, search, runs),
        (HISTOGRAM, histogram, runs),
        ("count (one word, all time)", count, runs),
        (f"terms by source, 90 days ({few} runs)", terms, few),
        (f"top_terms, brand:X, 30 days ({few} runs)", top_terms, few),
        (f"top_terms, 90 days ({few} runs)", top_terms_90, few),
        ("top_terms, all time", top_terms_all, runs),
    ]


SEARCH = "search top-20 (word brand:X lang:fr, 30 days)"
HISTOGRAM = "histogram 90 days by day x sentiment, brand:X"


def run_queries(
    index: EmbeddedIndex, factory: MentionFactory, rng: random.Random, runs: int
) -> None:
    """Times the dashboard's typical requests on the ingested index."""
    print(f"\nqueries on {index.count(MentionFilter()):,} mentions ({runs} runs each)")
    example = MentionFilter(
        query=And((Term("livraison"), FieldFilter("lang", "fr"))),
        since=NOW - timedelta(days=30),
        until=NOW,
    )
    print(f"  (e.g. 'livraison lang:fr' over 30 days: {index.count(example):,} matches)")
    for label, call, count in query_suite(index, factory, rng, runs):
        report(label, timed(call, count))
    run_dedup(index, factory, rng, runs)
    run_worst_query(index, factory)


def run_dedup(index: EmbeddedIndex, factory: MentionFactory, rng: random.Random, runs: int) -> None:
    """Deduplicated counts (dedup=true): timings, and exactness against the generator."""
    stories = DistinctStories(index)
    for days in (90, 365):

        def window(days: int = days) -> MentionFilter:
            end = NOW - timedelta(days=rng.randrange(0, max(1, 365 - days)))
            return MentionFilter(since=end - timedelta(days=days), until=end)

        report(f"dedup count, {days} days", timed(lambda: stories.count(window()), runs))
        report(
            f"dedup histogram by day, {days} days",
            timed(lambda: stories.histogram(window(), interval=Interval.DAY), runs),
        )
    few = max(runs // 10, 5)

    def brand_count() -> object:
        # Folded as the query parser folds `brand:Vélo Cie` (lower-cased, it matched none).
        flt = MentionFilter(
            query=FieldFilter("brand", fold_keyword(rng.choice(BRANDS))),
            since=NOW - timedelta(days=90),
            until=NOW,
        )
        return stories.count(flt)

    report("dedup count, brand:X, 90 days", timed(brand_count, runs))
    brand_flt = MentionFilter(
        query=FieldFilter("brand", "veloria"), since=NOW - timedelta(days=90), until=NOW
    )
    assert brand_flt.since is not None and brand_flt.until is not None
    generated = {
        story
        for (story, at), brands in zip(factory.stories, factory.brands, strict=True)
        if "Veloria" in brands and brand_flt.since <= at < brand_flt.until
    }
    print(
        f"  dedup brand:veloria 90 days: {stories.count(brand_flt):,} stories counted, "
        f"{len(generated):,} generated ({index.count(brand_flt):,} mentions)"
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
    if factory.stories:
        for days in (90, 365):
            flt = MentionFilter(since=NOW - timedelta(days=days), until=NOW)
            assert flt.since is not None and flt.until is not None
            expected = len({s for s, at in factory.stories if flt.since <= at < flt.until})
            print(
                f"  dedup {days} days: {stories.count(flt):,} stories counted, "
                f"{expected:,} generated ({index.count(flt):,} mentions)"
            )


def worst_allowed_query(factory: MentionFactory) -> str:
    """A query at every cost cap at once, its wildcards on the commonest prefixes of the
    shortest length allowed, next to the commonest words."""
    prefixes = Counter(w[:2] for w in factory.words if len(w) > 2 and w[:2].isalpha())
    common = [p for p, _ in prefixes.most_common(MAX_WILDCARDS)]
    n = MIN_NEAR_WILDCARD_PREFIX
    longer = Counter(w[:n] for w in factory.words if len(w) > n and w[:n].isalpha())
    near_prefixes = [p for p, _ in longer.most_common(2)]
    plain = [w for w in factory.words[:200] if w.isalpha() and len(w) > 2]
    sides = MAX_NEAR_WILDCARD_PAIRS // 2
    near_wild = (
        f"({' OR '.join(p + '*' for p in near_prefixes)}) NEAR/{MAX_NEAR_DISTANCE} "
        f"({' OR '.join(plain[:sides])})"
    )
    rest = MAX_NEAR_PAIRS - MAX_NEAR_WILDCARD_PAIRS
    near_plain = f"({' OR '.join(plain[4:12])}) NEAR/{MAX_NEAR_DISTANCE} " + (
        f"({' OR '.join(plain[12 : 12 + rest // 8])})"
    )
    others = " OR ".join(p + "*" for p in common[2:])
    return f"({near_wild}) OR ({near_plain}) OR {others}"


def run_worst_query(index: EmbeddedIndex, factory: MentionFactory) -> None:
    """The cost of the most expensive query the caps let through."""
    text = worst_allowed_query(factory)
    query = parse_query(text)  # raises if it were beyond a cap
    flt = MentionFilter(query=query, since=NOW - timedelta(days=365))
    before = peak_rss_mb()
    samples = timed(lambda: index.count(flt), 5)
    print(f"\nworst query the caps allow ({len(text)} characters, {index.count(flt):,} matches)")
    report("count, 365 days (5 runs)", samples)
    print(f"  peak RSS {before:,.0f} MB before, {peak_rss_mb():,.0f} MB after")


@contextlib.contextmanager
def held(lock: str | None) -> Iterator[None]:
    """An exclusive flock on `lock` (waiting for it) for the duration; none without."""
    if lock is None:
        yield
        return
    with open(lock, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--path", help="index directory (default: a temporary one, deleted)")
    parser.add_argument("--skip-ingest", action="store_true", help="reuse the index at --path")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--reposts", type=float, default=0.24, help="share of story copies")
    parser.add_argument("--vocabulary", type=int, default=50_000)
    parser.add_argument("--writer-threads", type=int, default=1)
    parser.add_argument("--writer-heap-mb", type=int, default=128)
    parser.add_argument(
        "--check",
        action="store_true",
        help="with --skip-ingest: regenerate the --docs mentions (same --seed and --reposts, "
        "not indexed) to check the deduplicated counts",
    )
    parser.add_argument(
        "--lock",
        help="a lock file held (flock) only while queries are timed, not while building",
    )
    args = parser.parse_args()

    temporary = args.path is None
    path = Path(args.path or tempfile.mkdtemp(prefix="veille-bench-"))
    factory = MentionFactory(args.seed, args.vocabulary, args.reposts)
    rng = random.Random(args.seed + 1)
    try:
        if not args.skip_ingest:
            index = EmbeddedIndex(
                str(path),
                writer_heap_size=args.writer_heap_mb * 1_000_000,
                writer_threads=args.writer_threads,
            )
            ingest(index, factory, args.docs, args.batch)
        elif args.check:
            # The same seed draws the same mentions: regenerate them (not indexed) so that
            # the deduplicated counts of a reused index are still checked against them.
            started = time.perf_counter()
            for _ in range(0, args.docs, args.batch):
                factory.batch(args.batch)
            print(f"regenerated {args.docs:,} stories in {time.perf_counter() - started:.0f} s")
        size = sum(f.stat().st_size for f in path.iterdir() if f.is_file())
        print(f"index on disk: {size / 1e6:,.0f} MB at {path}")
        print(f"peak RSS after ingest: {peak_rss_mb():,.0f} MB")

        index = EmbeddedIndex(str(path))
        try:
            with held(args.lock):
                print(f"load average {os.getloadavg()}", flush=True)
                run_queries(index, factory, rng, args.runs)
                print(f"load average {os.getloadavg()}", flush=True)
        finally:
            index.close()
        print(f"\npeak RSS: {peak_rss_mb():,.0f} MB")
    finally:
        if temporary:
            shutil.rmtree(path, ignore_errors=True)


if __name__ == "__main__":
    main()
