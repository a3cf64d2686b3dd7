"""Elasticsearch next to the embedded store, from one process, on the same mentions.

    eval "$(bash scripts/start-test-elasticsearch.sh)"     # a real node (or any cluster)
    make bench-es                                           # 1,000,000 mentions
    .venv/bin/python benchmarks/bench_elasticsearch.py --docs 200000
    .venv/bin/python benchmarks/bench_elasticsearch.py      # no URL: the noida-db EMULATOR

The mentions and queries are bench_embedded_index.py's (about 40 Zipf-drawn French and
English words each, 5 brands, 20 sources, over 365 days; a filtered top-20 search over 30
days and a 90-day daily histogram by sentiment, among others). In one run:

1. embedded: ingest N mentions through `EmbeddedIndex.upsert`, then time the queries;
2. Elasticsearch: ingest the same N mentions through `EsIndex.upsert` (id lookup, bulk,
   and a refresh per batch as the service does, unless --no-refresh) into a fresh index
   prefix, then time the same queries (same random draws);
3. `veille migrate`: the CLI's own code (`services.cli.migrate_index.migrate`: copy in
   batches with a checkpoint, then the per-day comparison) from the embedded store of
   step 1 into another fresh prefix (--migrate-docs limits how many, 0 skips it).

With the mentions' 24% reposts (--reposts), both stores also time the deduplicated counts
(issue 19: count and daily histogram over 90 and 365 days, a brand-filtered count, the
story breakdown) and count the stories of the last 90 and 365 days three ways (dedup
count, every story hash read directly, the other store). At 1M, build the stores once and
time them as they are:

    bench_embedded_index.py --docs 1000000 --path DIR       # or reuse one
    bench_elasticsearch.py --embedded-path DIR --es-prefix P [--skip-es-ingest]

Everything it creates is deleted at the end (but an --es-prefix). Without
ELASTICSEARCH_URL the figures come from the emulator and are printed as EMULATOR figures:
they say nothing about a cluster.
Prints figures; asserts nothing. Target (issue 7): ingest >= 5,000 mentions/s.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench_embedded_index import BRANDS as FACTORY_BRANDS
from bench_embedded_index import (
    HISTOGRAM,
    NOW,
    SEARCH,
    MentionFactory,
    query_suite,
    timed,
)
from elasticsearch import Elasticsearch
from rich.console import Console
from rich.progress import Progress

from services.cli.migrate_index import migrate
from services.core.models import Mention, Sentiment, SentimentLabel
from services.core.query.ast import FieldFilter
from services.store.contracts import Dimension, Interval, MentionFilter, MentionIndex
from services.store.distinct_stories import DistinctStories
from services.store.elastic import EsIndex, EsSettings
from services.store.elastic.emulator import running_emulator
from services.store.embedded.index import EmbeddedIndex

Row = dict[str, str]


def p95_ms(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[94] * 1000


def server_cpu_seconds(index: MentionIndex) -> float:
    """CPU time the Elasticsearch node has used so far (0 for the embedded store)."""
    if not isinstance(index, EsIndex):
        return 0.0
    return node_cpu_seconds(index._client)


def node_cpu_seconds(client: Elasticsearch) -> float:
    stats = client.nodes.stats(node_id="_local", metric="process")
    (node,) = stats["nodes"].values()
    return float(node["process"]["cpu"]["total_in_millis"]) / 1000


def ingest(
    index: MentionIndex,
    docs: int,
    batch: int,
    seed: int,
    vocabulary: int,
    reposts: float,
    factory: MentionFactory | None = None,
) -> tuple[float, float, float]:
    """Upserts `docs` generated mentions; returns (mentions/s inside upsert, CPU µs per
    mention of this process's threads, and of the Elasticsearch node's). Generating the
    mentions is not counted."""
    factory = factory or MentionFactory(seed, vocabulary, reposts)
    in_upsert = cpu = 0.0
    written = 0
    report_every = max(docs // 5, batch)
    next_report = report_every
    server_before = server_cpu_seconds(index)
    while written < docs:
        mentions = factory.batch(min(batch, docs - written))
        started, cpu_started = time.perf_counter(), time.process_time()
        index.upsert(mentions)
        in_upsert += time.perf_counter() - started
        cpu += time.process_time() - cpu_started
        written += len(mentions)
        if written >= next_report:
            next_report += report_every
            print(f"    {written:>9,} mentions  {written / in_upsert:8,.0f}/s", flush=True)
    refresh = getattr(index, "refresh", None)
    if callable(refresh):  # Elasticsearch without per-batch refresh: once at the end
        started = time.perf_counter()
        refresh()
        in_upsert += time.perf_counter() - started
    server = server_cpu_seconds(index) - server_before
    print(f"    CPU: {cpu:.1f} s in this process, {server:.1f} s in the server")
    return docs / in_upsert, cpu / docs * 1e6, server / docs * 1e6


def queries(index: MentionIndex, seed: int, vocabulary: int, runs: int) -> dict[str, float]:
    """p95 latency (ms) of each query of bench_embedded_index.py, same draws per store."""
    factory = MentionFactory(seed, vocabulary)
    rng = random.Random(seed + 1)
    figures = {}
    for label, call, count in query_suite(index, factory, rng, runs):
        figures[label] = p95_ms(timed(call, count))
        print(f"    {label:<48} p95 {figures[label]:8.2f} ms", flush=True)
    return figures


def es_settings(url: str, prefix: str, *, full_text: bool | None = None) -> EsSettings:
    base = EsSettings.from_env(url)
    return EsSettings(
        url=base.url,
        index_prefix=prefix,
        api_key=base.api_key,
        username=base.username,
        password=base.password,
        ca_certs=base.ca_certs,
        dead_letter_path=os.path.join(tempfile.gettempdir(), "veille-bench-dead-letter.jsonl"),
        kibana_full_text=base.kibana_full_text if full_text is None else full_text,
    )


def run_migrate(url: str, source_path: Path, docs: int, scratch: Path) -> tuple[float, int, float]:
    """`veille migrate` from the embedded store into a fresh prefix: (mentions/s, copied,
    mentions per CPU-second of this process and the node, verification included)."""
    prefix = f"veille-bench-migrate-{uuid.uuid4().hex[:8]}"
    os.environ["ELASTICSEARCH_INDEX_PREFIX"] = prefix  # what `veille migrate --to` reads
    if docs < count_of(source_path):
        source_path = partial_copy(source_path, docs, scratch)
    client = es_settings(url, prefix).client()
    server_before, cpu_started = node_cpu_seconds(client), time.process_time()
    started = time.perf_counter()
    quiet = Console(file=open(os.devnull, "w"))  # noqa: SIM115 (closed with the process)
    try:
        migrate(
            source_url=f"embedded:{source_path}",
            target_url=url,
            checkpoint=scratch / "migrate.json",
            batch_size=1000,  # the CLI's default
            progress=Progress(console=quiet),
            out=quiet,
        )
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu_started + node_cpu_seconds(client) - server_before
    finally:
        client.close()
        target = EsIndex(es_settings(url, prefix))
        copied = target.count(MentionFilter())
        target.drop()
        target.close()
        del os.environ["ELASTICSEARCH_INDEX_PREFIX"]
    return copied / elapsed, copied, copied / cpu


def count_of(path: Path) -> int:
    index = EmbeddedIndex(str(path))
    try:
        return index.count(MentionFilter())
    finally:
        index.close()


def partial_copy(path: Path, docs: int, scratch: Path) -> Path:
    """An embedded store holding the first `docs` mentions of the one at `path`."""
    smaller = scratch / "migrate-source"
    source, target = EmbeddedIndex(str(path)), EmbeddedIndex(str(smaller))
    try:
        batch: list[Mention] = []
        for n, mention in enumerate(source.iter_all(MentionFilter(), batch_size=5000)):
            if n >= docs:
                break
            batch.append(mention)
            if len(batch) == 5000:
                target.upsert(batch)
                batch = []
        target.upsert(batch)
    finally:
        source.close()
        target.close()
    return smaller


def dedup_suite(
    index: MentionIndex, rng: random.Random, runs: int
) -> list[tuple[str, Callable[[], object], int]]:
    """Deduplicated counts (`dedup=true`, issue 19) as bench_embedded_index.py times
    them: count and daily histogram over 90 and 365 days, a brand-filtered count over 90
    days, the story breakdown over 365 days."""
    stories = DistinctStories(index)

    def window(days: int) -> MentionFilter:
        end = NOW - timedelta(days=rng.randrange(0, max(1, 365 - days)))
        return MentionFilter(since=end - timedelta(days=days), until=end)

    def brand_count() -> object:
        brand = FieldFilter("brand", rng.choice(FACTORY_BRANDS).lower())
        return stories.count(MentionFilter(query=brand, since=NOW - timedelta(days=90), until=NOW))

    def breakdown() -> object:
        flt = MentionFilter(since=NOW - timedelta(days=365))
        return index.terms(flt, dimension=Dimension.STORY)

    few = max(runs // 10, 5)
    return [
        ("dedup count, 90 days", lambda: stories.count(window(90)), runs),
        (
            "dedup histogram by day, 90 days",
            lambda: stories.histogram(window(90), interval=Interval.DAY),
            runs,
        ),
        ("dedup count, 365 days", lambda: stories.count(window(365)), runs),
        (
            "dedup histogram by day, 365 days",
            lambda: stories.histogram(window(365), interval=Interval.DAY),
            runs,
        ),
        ("dedup count, brand:X, 90 days", brand_count, runs),
        (f"story breakdown, 365 days ({few} runs)", breakdown, few),
    ]


def timed_suite(
    suite: list[tuple[str, Callable[[], object], int]],
) -> dict[str, float]:
    figures = {}
    for label, call, count in suite:
        figures[label] = p95_ms(timed(call, count))
        print(f"    {label:<48} p95 {figures[label]:8.2f} ms", flush=True)
    return figures


def distinct_counts(index: MentionIndex) -> dict[int, tuple[int, int]]:
    """Per window (90 and 365 days up to NOW): (the dedup count, the stories counted
    directly: every story hash of the window's mentions, read page by page)."""
    stories = DistinctStories(index)
    found = {}
    for days in (90, 365):
        flt = MentionFilter(since=NOW - timedelta(days=days), until=NOW)
        found[days] = (stories.count(flt), len(index.story_hashes(flt)))
    return found


def measure(
    index: MentionIndex, args: argparse.Namespace
) -> tuple[dict[str, float], dict[int, tuple[int, int]]]:
    """The query suite, the dedup suite and the exactness counts of one store."""
    print(f"    load average {os.getloadavg()[0]:.2f}", flush=True)
    figures = queries(index, args.seed, args.vocabulary, args.runs)
    if args.dedup:
        figures |= timed_suite(dedup_suite(index, random.Random(args.seed + 2), args.runs))
    counts = distinct_counts(index) if args.dedup else {}
    print(f"    load average {os.getloadavg()[0]:.2f}", flush=True)
    return figures, counts


def generated_stories(factory: MentionFactory | None) -> dict[int, int]:
    """Per window, the stories the generator made (only after ingesting in this run)."""
    if factory is None or not factory.stories:
        return {}
    found = {}
    for days in (90, 365):
        since, until = NOW - timedelta(days=days), NOW
        found[days] = len({s for s, at in factory.stories if since <= at < until})
    return found


def run(url: str, args: argparse.Namespace, label: str) -> None:
    scratch = Path(tempfile.mkdtemp(prefix="veille-bench-es-"))
    embedded_path = Path(args.embedded_path) if args.embedded_path else scratch / "embedded"
    rows: list[tuple[str, str, str]] = []
    try:
        embedded_rate = embedded_cpu = embedded_client = None
        if args.embedded_path:
            print(f"\n[embedded] the store at {embedded_path} (its ingest is not timed here)")
        else:
            print(f"\n[embedded] ingest {args.docs:,} mentions, batches of {args.batch:,}")
            embedded = EmbeddedIndex(str(embedded_path))
            embedded_rate, embedded_client, _ = ingest(
                embedded, args.docs, args.batch, args.seed, args.vocabulary, args.reposts
            )
            embedded_cpu = embedded_client
            embedded.close()
        embedded = EmbeddedIndex(str(embedded_path))
        try:
            held = embedded.count(MentionFilter())
            print(f"[embedded] {held:,} mentions; queries ({args.runs} runs each)")
            embedded_q, embedded_counts = measure(embedded, args)
        finally:
            embedded.close()

        refresh = not args.no_refresh
        prefix = args.es_prefix or f"veille-bench-{uuid.uuid4().hex[:8]}"
        settings = es_settings(url, prefix, full_text=args.kibana_full_text or None)
        es = EsIndex(settings, refresh=refresh)
        factory = None
        try:
            version = ".".join(map(str, es.server_version))
            es_rate = es_cpu = es_client = es_node = None
            if args.skip_es_ingest:
                print(f"\n[{label}] the mentions already in {prefix} (not ingested again)")
            else:
                when = "per batch" if refresh else "at the end"
                print(
                    f"\n[{label}] ingest {args.docs:,} mentions into {prefix}, "
                    f"batches of {args.batch:,}, refresh {when}"
                )
                factory = MentionFactory(args.seed, args.vocabulary, args.reposts)
                es_rate, es_client, es_node = ingest(
                    es, args.docs, args.batch, args.seed, args.vocabulary, args.reposts, factory
                )
                es_cpu = es_client + es_node
            counted = es.count(MentionFilter())
            print(f"[{label}] counted back {counted:,}; queries ({args.runs} runs each)")
            es_q, es_counts = measure(es, args)
        finally:
            if not args.es_prefix:
                es.drop()
            es.close()

        def rate(value: float | None, fmt: str = ",.0f") -> str:
            return "-" if value is None else format(value, fmt)

        rows.append(("ingest, mentions/s (one process)", rate(embedded_rate), rate(es_rate)))
        # On a shared machine the wall-clock rate says how busy the others were; the CPU
        # spent per mention does not, and 1e6 / it is the rate of one free core.
        rows.append(
            ("ingest CPU, µs per mention (client+server)", rate(embedded_cpu), rate(es_cpu))
        )
        rows.append(("  of which this process (client)", rate(embedded_client), rate(es_client)))
        rows.append(("  of which the node", "-", rate(es_node)))
        rows.append(
            (
                "ingest, mentions per CPU-second",
                rate(embedded_cpu and 1e6 / embedded_cpu),
                rate(es_cpu and 1e6 / es_cpu),
            )
        )
        for name in embedded_q:
            short = {SEARCH: "search p95, ms", HISTOGRAM: "90-day histogram p95, ms"}.get(name)
            rows.append(
                (short or f"{name} p95, ms", f"{embedded_q[name]:.1f}", f"{es_q[name]:.1f}")
            )
        generated = generated_stories(factory)
        for days in embedded_counts:
            (e_count, e_direct), (s_count, s_direct) = embedded_counts[days], es_counts[days]
            rows.append(
                (f"stories in the last {days} days, dedup count", f"{e_count:,}", f"{s_count:,}")
            )
            rows.append(("  counted directly (every story hash)", f"{e_direct:,}", f"{s_direct:,}"))
            if days in generated:
                rows.append(("  generated", "", f"{generated[days]:,}"))
            exact = e_count == e_direct == s_count == s_direct == generated.get(days, s_count)
            print(f"  {days} days: the counts {'agree (exact)' if exact else 'DIFFER'}")

        if args.migrate_docs != 0:
            wanted = args.docs if args.migrate_docs < 0 else min(args.migrate_docs, args.docs)
            print(f"\n[{label}] veille migrate: {wanted:,} mentions from the embedded store")
            rate_, copied, per_cpu = run_migrate(url, embedded_path, wanted, scratch)
            rows.append((f"veille migrate, mentions/s ({copied:,})", "-", f"{rate_:,.0f}"))
            rows.append(("veille migrate, mentions per CPU-second", "-", f"{per_cpu:,.0f}"))

        when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        title = f"{args.docs:,} mentions, {when}; {label}: Elasticsearch {version}"
        print(f"\n{title}")
        width = max(len(r[0]) for r in rows)
        print(f"  {'':<{width}}  {'embedded':>12}  {label:>14}  {'ratio':>6}")
        for name, left, right in rows:
            ratio = ""
            if name.endswith(", ms"):
                ratio = f"{float(right) / max(float(left), 1e-9):.2f}x"
            print(f"  {name:<{width}}  {left:>12}  {right:>14}  {ratio:>6}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--vocabulary", type=int, default=50_000)
    parser.add_argument("--reposts", type=float, default=0.24, help="share of story copies")
    parser.add_argument("--no-refresh", action="store_true", help="refresh once at the end")
    parser.add_argument(
        "--kibana-full-text",
        action="store_true",
        help="index the Kibana full-text fields too (ELASTICSEARCH_KIBANA_FULL_TEXT)",
    )
    parser.add_argument(
        "--no-dedup", dest="dedup", action="store_false", help="skip the dedup (story) queries"
    )
    parser.add_argument(
        "--embedded-path",
        help="an embedded store bench_embedded_index.py built with the same --docs, --seed "
        "and --reposts: timed as it is, not ingested again",
    )
    parser.add_argument(
        "--es-prefix", help="index prefix to ingest into and keep (default: a fresh one, dropped)"
    )
    parser.add_argument(
        "--skip-es-ingest", action="store_true", help="time the mentions already in --es-prefix"
    )
    parser.add_argument(
        "--migrate-docs", type=int, default=-1, help="mentions to migrate (-1: all, 0: skip)"
    )
    args = parser.parse_args()
    if args.skip_es_ingest and not args.es_prefix:
        parser.error("--skip-es-ingest needs --es-prefix")
    url = os.environ.get("ELASTICSEARCH_URL")
    if url:
        print(f"Target: the Elasticsearch in ELASTICSEARCH_URL ({EsSettings.from_env().url})")
        run(url, args, "CLUSTER")
        return
    banner = "EMULATOR (noida-db): these figures are NOT Elasticsearch figures"
    print("=" * len(banner), banner, "=" * len(banner), sep="\n")
    with running_emulator() as emulated:
        run(emulated, args, "EMULATOR")
    print(banner)


# bench_migrate.py's mentions (kept for it).
_VOCABULARY = (
    "vélo électrique livraison retard prix service client qualité batterie commande "
    "remboursement magasin application délai excellent nul super cher rapide lent "
    "bike delivery late price support quality battery order refund store app great "
    "terrible cheap fast slow love hate recommend broken warranty repair"
)
WORDS = _VOCABULARY.split()
BRANDS = ["Veloria", "Acme", "Vélo Cie", "Rapido", "Nordbike"]
START = datetime(2025, 1, 1, tzinfo=UTC)


def mentions(count: int, seed: int) -> list[Mention]:
    """Simple synthetic analyzed mentions (bench_migrate.py)."""
    rng = random.Random(seed)
    labels = list(SentimentLabel)
    return [
        Mention(
            id=f"bench-{seed}-{n}",
            source_kind="feed",
            source_name=f"source {n % 20}",
            url=f"https://site{n % 50}.example/p/{n}",
            title=" ".join(rng.choices(WORDS, k=8)),
            text=" ".join(rng.choices(WORDS, k=40)),
            author=f"author {rng.randint(0, 500)}",
            published_at=START + timedelta(seconds=rng.randint(0, 365 * 86400)),
            language=rng.choice(["fr", "en"]),
            brands=rng.sample(BRANDS, rng.randint(0, 2)),
            sentiment=Sentiment(label=rng.choice(labels), score=0.8),
        )
        for n in range(count)
    ]


if __name__ == "__main__":
    main()
