"""`veille migrate` rate: embedded store -> Elasticsearch, from one process.

    ELASTICSEARCH_URL=https://es:9200 .venv/bin/python benchmarks/bench_migrate.py
    .venv/bin/python benchmarks/bench_migrate.py          # the noida-db EMULATOR

Fills a scratch embedded index with synthetic mentions (those of bench_elasticsearch.py,
over 365 days), copies it with `copy_index` (batches, checkpoint after each, refresh at
the end) into a fresh index prefix, then times the per-day verification. The target is
deleted afterwards. Emulator figures are printed as EMULATOR figures: they say nothing
about a real cluster.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from pathlib import Path

from bench_elasticsearch import mentions

from services.store.elastic import EsIndex, EsSettings
from services.store.elastic.emulator import running_emulator
from services.store.embedded.index import EmbeddedIndex
from services.store.index_copy import copy_index, mismatches, verify_days


def run(url: str, *, docs: int, batch: int, label: str) -> None:
    """Copies `docs` mentions and prints the rates."""
    base = EsSettings.from_env(url)
    scratch = Path(tempfile.mkdtemp(prefix="veille-bench-migrate-"))
    settings = EsSettings(
        url=base.url,
        index_prefix=f"veille-bench-{uuid.uuid4().hex[:8]}",
        api_key=base.api_key,
        username=base.username,
        password=base.password,
        ca_certs=base.ca_certs,
        dead_letter_path=str(scratch / "dead-letter.jsonl"),
    )
    source = EmbeddedIndex(str(scratch / "index"))
    source.upsert(mentions(docs, seed=11))
    target = EsIndex(settings, refresh=False)
    try:
        started = time.perf_counter()
        result = copy_index(
            source,
            target,
            checkpoint=scratch / "checkpoint.json",
            source_url="embedded:bench",
            target_url=settings.url,
            batch_size=batch,
        )
        copied_in = time.perf_counter() - started
        started = time.perf_counter()
        days = verify_days(source, target)
        verified_in = time.perf_counter() - started
        print(
            f"[{label}] copied {result.copied} mentions in {copied_in:.2f}s: "
            f"{result.copied / copied_in:,.0f} mentions/s (batch={batch})"
        )
        print(
            f"[{label}] verified {len(days)} days in {verified_in:.2f}s; "
            f"mismatched days: {len(mismatches(days))}"
        )
    finally:
        target.drop()
        target.close()
        source.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=1_000)
    args = parser.parse_args()
    url = os.environ.get("ELASTICSEARCH_URL")
    if url:
        print(f"Target: the cluster in ELASTICSEARCH_URL ({EsSettings.from_env().url})")
        run(url, docs=args.docs, batch=args.batch, label="CLUSTER")
        return
    banner = "EMULATOR (noida-db): these figures are NOT Elasticsearch figures"
    print("=" * len(banner), banner, "=" * len(banner), sep="\n")
    with running_emulator() as emulated:
        run(emulated, docs=args.docs, batch=args.batch, label="EMULATOR")
    print(banner)


if __name__ == "__main__":
    main()
