"""Bulk triage: how long "mark these 10,000 mentions answered" takes, per store.

    .venv/bin/python benchmarks/bench_triage_bulk.py [--mentions 50000] [--bulk 10000]
    ELASTICSEARCH_URL=http://127.0.0.1:9200 .venv/bin/python benchmarks/bench_triage_bulk.py --es

Fills a fresh embedded index (or Elasticsearch indices under a throwaway prefix) and a
SQLite state store with synthetic mentions, then runs `bulk_change` over a query
matching `--bulk` of them, the way `POST /triage/bulk` does: the state store record
first, then `MentionIndex.set_triage` (embedded: a batched rewrite of the documents;
Elasticsearch: partial bulk updates), 500 mentions a batch. Prints seconds and mentions/s
for the bulk change and, for scale, for the first upsert of the same mentions.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta

from services.core.models import Mention, Sentiment, SentimentLabel
from services.core.query import parse_query
from services.core.triage import TriageState
from services.runtime.app.triage import TriageChange, bulk_change
from services.store.contracts import MentionFilter, MentionIndex
from services.store.embedded.index import EmbeddedIndex
from services.store.state.sql import SqlStateStore

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _mentions(count: int, bulk: int) -> list[Mention]:
    neg = Sentiment(label=SentimentLabel.NEGATIVE, score=0.9)
    return [
        Mention(
            id=f"b{n:08d}",
            source_kind="feed",
            source_name="bench",
            text=("Veloria colis perdu, marked" if n < bulk else "Veloria vélo livré") + f" {n}",
            published_at=T0 + timedelta(seconds=37 * n),
            language="fr",
            brands=["Veloria"],
            sentiment=neg,
            story_id=f"b{n - n % 3:08d}",
        )
        for n in range(count)
    ]


def _open_index(use_es: bool, path: str) -> MentionIndex:
    if not use_es:
        return EmbeddedIndex(path)
    from services.store.elastic import EsIndex, EsSettings

    settings = dataclasses.replace(
        EsSettings.from_env(), index_prefix=f"veille-bench-triage-{uuid.uuid4().hex[:8]}"
    )
    return EsIndex(settings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mentions", type=int, default=50_000)
    parser.add_argument("--bulk", type=int, default=10_000)
    parser.add_argument("--es", action="store_true", help="Elasticsearch (ELASTICSEARCH_URL)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        index = _open_index(args.es, f"{folder}/index")
        state = SqlStateStore(f"sqlite:///{folder}/veille.db")
        try:
            mentions = _mentions(args.mentions, args.bulk)
            started = time.perf_counter()
            for first in range(0, len(mentions), 5000):
                index.upsert(mentions[first : first + 5000])
            loaded = time.perf_counter() - started
            flt = MentionFilter(query=parse_query("marked"))
            started = time.perf_counter()
            outcome = bulk_change(
                state=state,
                index=index,
                flt=flt,
                change=TriageChange(state=TriageState.ANSWERED, add_tags=("bench",)),
                by="bench",
            )
            took = time.perf_counter() - started
            answered = index.count(MentionFilter(query=parse_query("state:answered tag:bench")))
            assert outcome.changed == answered == args.bulk, (outcome, answered)
            store = "elasticsearch" if args.es else "embedded"
            print(f"store: {store}, {args.mentions} mentions")
            print(f"first upsert: {loaded:.1f} s ({args.mentions / loaded:,.0f} mentions/s)")
            print(
                f"bulk triage of {outcome.changed}: {took:.1f} s "
                f"({outcome.changed / took:,.0f} mentions/s)"
            )
        finally:
            if args.es:
                index.drop()  # type: ignore[attr-defined]
            index.close()
            state.close()


if __name__ == "__main__":
    main()
