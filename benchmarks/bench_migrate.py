"""`veille migrate` rate: embedded store -> Elasticsearch, from one process.

    ELASTICSEARCH_URL=https://es:9200 .venv/bin/python benchmarks/bench_migrate.py
    .venv/bin/python benchmarks/bench_migrate.py          # the noida-db EMULATOR

Fills a scratch embedded index with synthetic mentions (those of bench_elasticsearch.py,
over 365 days), copies it with `copy_index` (batches, checkpoint after each, refresh at
the end) into a fresh index prefix, then times the per-day verification (`--repeat`
times, medians): `verify_days` as a whole (each index's per-day digests of the ids, then
ids listed on the days that differ: none here), each index's digests alone, and, for
comparison, the per-day counts alone (two date histograms: what the check compared before
it compared ids on every day). The target is deleted afterwards. Emulator figures are
printed as EMULATOR figures: they say nothing about a real cluster.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from bench_elasticsearch import mentions

from services.store.contracts import Interval, MentionFilter, MentionIndex
from services.store.elastic import EsIndex, EsSettings
from services.store.elastic.emulator import running_emulator
from services.store.embedded.index import EmbeddedIndex
from services.store.index_copy import copy_index, mismatches, verify_days


def median_seconds(run: Callable[[], object], repeat: int) -> float:
    """The median wall time of `repeat` calls."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def counts_only(source: MentionIndex, target: MentionIndex) -> None:
    """The per-day counts of both indices (the check before ids were compared every day)."""
    for index in (source, target):
        index.histogram(MentionFilter(), interval=Interval.DAY)


def run(url: str, *, docs: int, batch: int, label: str, repeat: int) -> None:
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
        print(
            f"[{label}] copied {result.copied} mentions in {copied_in:.2f}s: "
            f"{result.copied / copied_in:,.0f} mentions/s (batch={batch})"
        )
        days = verify_days(source, target)
        everything = MentionFilter()
        figures = {
            "verify_days": median_seconds(lambda: verify_days(source, target), repeat),
            "digests, embedded source": median_seconds(
                lambda: source.day_digests(everything), repeat
            ),
            "digests, Elasticsearch target": median_seconds(
                lambda: target.day_digests(everything), repeat
            ),
            "counts only (before)": median_seconds(lambda: counts_only(source, target), repeat),
        }
        print(
            f"[{label}] verified {len(days)} days, {sum(d.source for d in days)} mentions; "
            f"mismatched days: {len(mismatches(days))}; medians of {repeat}:"
        )
        for what, seconds in figures.items():
            print(f"[{label}]   {what}: {seconds:.3f}s")
    finally:
        target.drop()
        target.close()
        source.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=5, help="timings of each check")
    args = parser.parse_args()
    url = os.environ.get("ELASTICSEARCH_URL")
    if url:
        print(f"Target: the cluster in ELASTICSEARCH_URL ({EsSettings.from_env().url})")
        run(url, docs=args.docs, batch=args.batch, label="CLUSTER", repeat=args.repeat)
        return
    banner = "EMULATOR (noida-db): these figures are NOT Elasticsearch figures"
    print("=" * len(banner), banner, "=" * len(banner), sep="\n")
    with running_emulator() as emulated:
        run(emulated, docs=args.docs, batch=args.batch, label="EMULATOR", repeat=args.repeat)
    print(banner)


if __name__ == "__main__":
    main()
