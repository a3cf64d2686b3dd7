"""Bulk ingest rate of the Elasticsearch mention index, from one process.

    ELASTICSEARCH_URL=https://es:9200 .venv/bin/python benchmarks/bench_elasticsearch.py
    .venv/bin/python benchmarks/bench_elasticsearch.py          # the noida-db EMULATOR

Generates synthetic mentions (about 40 words each, French and English, 5 brands,
3 sentiments, 20 sources, over 365 days) and upserts them in batches through
`EsIndex.upsert` (id lookup, bulk, and a refresh per batch unless --no-refresh),
into a fresh index prefix that is deleted afterwards. The target (issue 7) is
>= 5,000 mentions/s into a real cluster; figures from the emulator say nothing about
a cluster and are printed as EMULATOR figures.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from services.core.models import Mention, Sentiment, SentimentLabel
from services.store.contracts import MentionFilter
from services.store.elastic import EsIndex, EsSettings
from services.store.elastic.emulator import running_emulator

REPO = Path(__file__).resolve().parents[1]
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
    """Synthetic analyzed mentions."""
    rng = random.Random(seed)
    labels = list(SentimentLabel)
    made = []
    for n in range(count):
        made.append(
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
        )
    return made


def run(url: str, *, docs: int, batch: int, refresh: bool, label: str) -> None:
    """Ingests `docs` mentions in batches and prints the rate."""
    base = EsSettings.from_env(url)
    settings = EsSettings(
        url=base.url,
        index_prefix=f"veille-bench-{uuid.uuid4().hex[:8]}",
        api_key=base.api_key,
        username=base.username,
        password=base.password,
        ca_certs=base.ca_certs,
        dead_letter_path=os.path.join(tempfile.gettempdir(), "veille-bench-dead-letter.jsonl"),
    )
    data = mentions(docs, seed=7)
    index = EsIndex(settings, refresh=refresh)
    try:
        started = time.perf_counter()
        written = 0
        for start in range(0, len(data), batch):
            written += index.upsert(data[start : start + batch])
        if not refresh:
            index.refresh()
        elapsed = time.perf_counter() - started
        counted = index.count(MentionFilter())
        print(
            f"[{label}] {written} mentions in {elapsed:.2f}s: {written / elapsed:,.0f} mentions/s"
        )
        print(f"[{label}] batch={batch} refresh per batch={refresh}; counted back: {counted}")
    finally:
        index.drop()
        index.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=2_000)
    parser.add_argument("--no-refresh", action="store_true", help="refresh once at the end")
    args = parser.parse_args()
    url = os.environ.get("ELASTICSEARCH_URL")
    if url:
        print(
            f"Target: the Elasticsearch cluster in ELASTICSEARCH_URL ({EsSettings.from_env().url})"
        )
        run(url, docs=args.docs, batch=args.batch, refresh=not args.no_refresh, label="CLUSTER")
        return
    banner = "EMULATOR (noida-db): these figures are NOT Elasticsearch figures"
    print("=" * len(banner), banner, "=" * len(banner), sep="\n")
    with running_emulator() as emulated:
        run(
            emulated,
            docs=args.docs,
            batch=args.batch,
            refresh=not args.no_refresh,
            label="EMULATOR",
        )
    print(banner)


if __name__ == "__main__":
    main()
