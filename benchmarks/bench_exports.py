"""Benchmarks exports and top terms on the embedded index at 1M mentions.

    # once: build a 1M-mention index (the synthetic mentions of bench_embedded_index,
    # half of them with a follower count), keep it at --path
    .venv/bin/python benchmarks/bench_exports.py --docs 1000000 --path /tmp/veille-1m --build
    # then, in a fresh process so that peak memory is the export's own:
    .venv/bin/python benchmarks/bench_exports.py --path /tmp/veille-1m

Prints: the CSV export of every mention as the API route and the dashboard button make
it (split over two worker processes from 100,000 mentions: mentions/s, the serving
process's resident memory every 100,000 mentions, and the workers' peak), the same in
one process (mentions/s, and resident memory every 100,000 mentions and at its peak:
flat means constant memory), the same for NDJSON and XLSX on
the first --sample mentions, the CSV export split over --workers processes
(`veille export mentions --workers N`), and the latency of top terms (p50/p95) for the dashboard's
request (`negative:BRAND`, 30 days) and broader ones. Asserts nothing.

Targets (issue 21): CSV export > 20,000 mentions/s with flat memory; top terms p95 < 50 ms.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import os
import random
import resource
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_embedded_index import (
    BRANDS,
    NOW,
    MentionFactory,
    ingest,
    percentiles,
    timed,
)

from services.core.models import AuthorDetails, Mention
from services.core.query.ast import FieldFilter
from services.core.text import tokenize
from services.exports.formats import ExportFormat
from services.exports.mentions import export_chunks, index_chunks, mention_chunks
from services.exports.parallel import parallel_chunks, time_windows
from services.store.contracts import MentionFilter
from services.store.embedded.index import EmbeddedIndex

_PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_mb() -> float:
    """Resident memory now, in MB."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * _PAGE / 1e6


def peak_rss_mb() -> float:
    """Peak resident memory of this process, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class FollowedFactory(MentionFactory):
    """The synthetic mentions, half of them with the author's follower count."""

    def batch(self, size: int) -> list[Mention]:
        """`size` mentions; an even author number has followers, an odd one none."""
        mentions = super().batch(size)
        for mention in mentions:
            number = int((mention.author or "author0").removeprefix("author"))
            if number % 2 == 0:
                mention.author_details = AuthorDetails(followers=number * 37 % 100_000)
        return mentions


def export(
    index: EmbeddedIndex, fmt: ExportFormat, limit: int | None, sink: Path, *, models: bool
) -> None:
    """Exports every mention (or the first `limit`) to `sink` as the API does
    (`index_chunks`; with `models`, through a `Mention` per row as before), printing
    speed and memory."""
    total = index.count(MentionFilter())
    wanted = min(total, limit) if limit else total
    seen = itertools.count(1)
    marks: list[tuple[int, float]] = []

    def counted(mentions: Iterator[Any]) -> Iterator[Any]:
        for mention in itertools.islice(mentions, wanted):
            n = next(seen)
            if n % 100_000 == 0:
                marks.append((n, rss_mb()))
            yield mention

    names = [*BRANDS]
    started = time.perf_counter()
    cpu = time.process_time()
    written = 0
    with open(sink, "wb") as out:
        if models:
            chunks = mention_chunks(counted(index.iter_all(MentionFilter())), names=names, fmt=fmt)
        else:
            chunks = index_chunks(index, MentionFilter(), names=names, fmt=fmt, each=counted)
        for chunk in chunks:
            written += len(chunk)
            out.write(chunk)
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu
    print(
        f"{fmt.value} export{' (a Mention per row)' if models else ''}: "
        f"{wanted:,} mentions in {elapsed:.1f} s = "
        f"{wanted / elapsed:,.0f} mentions/s, {written / 1e6:,.0f} MB written "
        f"({wanted / cpu:,.0f} mentions per CPU second; load average {os.getloadavg()[0]:.1f})",
        flush=True,
    )
    if marks:
        print("  resident memory: " + ", ".join(f"{n // 1000}k {mb:.0f} MB" for n, mb in marks))
    print(f"  peak resident memory of the process so far: {peak_rss_mb():.0f} MB", flush=True)


def export_parallel(index: EmbeddedIndex, path: str, workers: int, sink: Path) -> None:
    """The CSV export of every mention split over `workers` processes."""
    started = time.perf_counter()
    cpu = time.process_time()
    windows = time_windows(index, MentionFilter(), per_window=20_000)
    total = index.count(MentionFilter())
    written = 0
    marks: list[str] = []
    with open(sink, "wb") as out:
        chunks = parallel_chunks(
            f"embedded:{path}", windows, names=[*BRANDS], fmt=ExportFormat.CSV, workers=workers
        )
        for n, chunk in enumerate(chunks):
            written += len(chunk)
            out.write(chunk)
            if n % 10 == 0:
                marks.append(f"{rss_mb():.0f}")
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    children = used.ru_maxrss / 1024
    worker_cpu = used.ru_utime + used.ru_stime
    # On idle cores the parent and the workers run side by side: the slower side sets
    # the pace (worker start-up included).
    idle = max(cpu, worker_cpu / workers)
    print(
        f"csv export, {workers} worker processes: {total:,} mentions in {elapsed:.1f} s = "
        f"{total / elapsed:,.0f} mentions/s, {written / 1e6:,.0f} MB written "
        f"(load average {os.getloadavg()[0]:.1f})\n"
        f"  CPU: parent {cpu:.1f} s, workers {worker_cpu:.1f} s in all: on {workers} idle "
        f"cores about {total / idle:,.0f} mentions/s",
        flush=True,
    )
    print(f"  parent resident memory every 10 windows (MB): {', '.join(marks)}")
    print(
        f"  peak resident memory: parent {peak_rss_mb():.0f} MB, largest worker {children:.0f} MB"
    )


def export_api(index: EmbeddedIndex, path: str, sink: Path) -> None:
    """The CSV export of every mention as the API route and the dashboard button make it
    (`export_chunks`: split over worker processes when large), with resident memory."""
    total = index.count(MentionFilter())
    started = time.perf_counter()
    cpu = time.process_time()
    written = lines = 0
    next_mark = 100_000
    marks: list[str] = []
    with open(sink, "wb") as out:
        chunks = export_chunks(
            index,
            MentionFilter(),
            index_url=f"embedded:{path}",
            names=[*BRANDS],
            fmt=ExportFormat.CSV,
        )
        for chunk in chunks:
            written += len(chunk)
            lines += chunk.count(b"\r\n")
            out.write(chunk)
            if lines >= next_mark:
                marks.append(f"{lines // 1000}k {rss_mb():.0f} MB")
                next_mark += 100_000
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    workers = used.ru_maxrss / 1024
    worker_cpu = used.ru_utime + used.ru_stime
    print(
        f"csv export as the API makes it: {total:,} mentions in {elapsed:.1f} s = "
        f"{total / elapsed:,.0f} mentions/s, {written / 1e6:,.0f} MB written "
        f"(load average {os.getloadavg()[0]:.1f})\n"
        f"  CPU: serving process {cpu:.1f} s, workers {worker_cpu:.1f} s in all",
        flush=True,
    )
    print(f"  resident memory of the serving process: {', '.join(marks)}")
    print(
        f"  peak resident memory: serving process {peak_rss_mb():.0f} MB, "
        f"largest worker {workers:.0f} MB",
        flush=True,
    )


def cpu_timed(run: Callable[[], object], runs: int) -> list[float]:
    """CPU seconds of this process (all threads) for each of `runs` calls."""
    samples = []
    for _ in range(runs):
        started = time.process_time()
        run()
        samples.append(time.process_time() - started)
    return samples


def top_terms(index: EmbeddedIndex, runs: int, rng: random.Random) -> None:
    """Latency of top terms as the dashboard and the API ask for them."""
    exclude = sorted({w for brand in BRANDS for w in tokenize(brand)})
    month = NOW - timedelta(days=30)

    def toward() -> object:
        brand = rng.choice(BRANDS)
        flt = MentionFilter(query=FieldFilter("negative", tokenize(brand)[0]), since=month)
        return index.top_terms(flt, size=16, exclude=exclude)

    def brand_month() -> object:
        flt = MentionFilter(query=FieldFilter("brand", rng.choice(BRANDS).lower()), since=month)
        return index.top_terms(flt, size=20, exclude=exclude)

    def everything_month() -> object:
        return index.top_terms(MentionFilter(since=month), size=20, exclude=exclude)

    def everything() -> object:
        return index.top_terms(MentionFilter(), size=20, exclude=exclude)

    example = MentionFilter(query=FieldFilter("negative", "veloria"), since=month)
    print(f"\ntop terms on {index.count(MentionFilter()):,} mentions ({runs} runs each)")
    print(f"  (negative:veloria over 30 days: {index.count(example):,} matches)")
    for label, run, times in [
        ("negative:BRAND, 30 days (the dashboard's)", toward, runs),
        ("brand:BRAND, 30 days", brand_month, runs),
        ("every mention, 30 days", everything_month, runs),
        ("every mention, all time", everything, max(runs // 10, 5)),
    ]:
        print(f"  {label:<44} {percentiles(timed(run, times))}", flush=True)
        # CPU time per call: about the wall time on an idle core (tantivy uses one here).
        print(f"  {'  CPU time':<44} {percentiles(cpu_timed(run, times))}", flush=True)
    print(f"  e.g. {[b.key for b in index.top_terms(example, size=8, exclude=exclude)]}")


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--path", required=True, help="index directory (kept)")
    parser.add_argument("--build", action="store_true", help="ingest --docs mentions first")
    parser.add_argument("--docs", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--sample", type=int, default=100_000, help="mentions for NDJSON/XLSX")
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--out", default=None, help="folder for the exported files (deleted)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workers", type=int, default=2, help="for the split CSV export")
    parser.add_argument("--only", choices=["api", "export", "parallel", "top-terms"], default=None)
    parser.add_argument(
        "--models", action="store_true", help="CSV through a Mention per row (the old path)"
    )
    parser.add_argument("--limit", type=int, default=None, help="CSV: the first N mentions")
    args = parser.parse_args()

    if args.build:
        index = EmbeddedIndex(args.path)
        ingest(index, FollowedFactory(args.seed, 50_000), args.docs, args.batch)
        return
    out = Path(args.out or args.path + "-exports")
    out.mkdir(exist_ok=True)
    index = EmbeddedIndex(args.path)
    try:
        print(f"resident memory before exporting: {rss_mb():.0f} MB")
        if args.only in {None, "api"}:
            export_api(index, args.path, out / "mentions-api.csv")
        if args.only in {None, "export"}:
            export(index, ExportFormat.CSV, args.limit, out / "mentions.csv", models=args.models)
            for fmt in (ExportFormat.NDJSON, ExportFormat.XLSX):
                export(index, fmt, args.sample, out / f"mentions.{fmt.value}", models=True)
        api, alone = out / "mentions-api.csv", out / "mentions.csv"
        if api.exists() and alone.exists() and args.limit is None and not args.models:
            same = _digest(api) == _digest(alone)
            print(f"  the API's CSV and the one-process CSV are the same bytes: {same}")
        if args.only in {None, "parallel"}:
            export_parallel(index, args.path, args.workers, out / "mentions-split.csv")
        if args.only in {None, "top-terms"}:
            top_terms(index, args.runs, random.Random(args.seed))
    finally:
        index.close()
        for produced in out.iterdir():
            produced.unlink()
        out.rmdir()


if __name__ == "__main__":
    main()
