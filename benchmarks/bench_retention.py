"""Benchmarks a retention change on the embedded index at 1M mentions.

    # once: build a store of synthetic mentions (bench_embedded_index's generator, 10 %
    # reposts) of four source kinds, published over three years; keep it at --path
    .venv/bin/python benchmarks/bench_retention.py --size 1000000 --path /tmp/veille-ret-1m --build
    # then apply a retention change to a copy of it (the kept store is left as it is):
    .venv/bin/python benchmarks/bench_retention.py --path /tmp/veille-ret-1m
    # or on another kept store, with a policy of its kinds:
    .venv/bin/python benchmarks/bench_retention.py --path /tmp/veille-1m --policy feed=180

Applies `services.runtime.governance.retention.apply_retention` (the path `veille retention apply`
and the daily job take: one delete by query per kind, the surviving copies of the stories
that lose copies re-chained, the run recorded in a real SQLite state store) with
x 180 days, reddit 365, feed and web 730, first as a dry run. Prints the seconds and
the counts per kind, and checks that the counts are what left the index.

Target (issue 22): a 1M-mention workspace applies a retention change in under 60 s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_embedded_index import NOW, MentionFactory, ingest

from services.core.models import Mention
from services.core.settings import build_settings
from services.core.workspace import Workspace
from services.runtime.app.context import ServiceContext
from services.runtime.governance.retention import apply_retention
from services.store.contracts import MentionFilter, StoryCopies
from services.store.embedded.index import EmbeddedIndex

KINDS = ("x", "x", "reddit", "feed", "web")  # 40 % x, 20 % each of the others
POLICY = {"x": 180, "reddit": 365, "feed": 730, "web": 730}
SPAN_DAYS = 3 * 365


class KindedFactory(MentionFactory):
    """The synthetic mentions, of several source kinds, published over three years; a
    repost is of its story's kind (a retweet on X, a syndicated article in feeds)."""

    def __init__(self, seed: int, vocab_size: int, reposts: float = 0.0) -> None:
        super().__init__(seed, vocab_size, reposts)
        self.kind_of: dict[str, str] = {}
        self.shift: dict[str, timedelta] = {}

    def batch(self, size: int) -> list[Mention]:
        """`size` mentions, each original moved to a random time in three years."""
        mentions = super().batch(size)
        for mention in mentions:
            if mention.story_id is None:
                self.kind_of[mention.id] = self.rng.choice(KINDS)
                moved = NOW - timedelta(seconds=self.rng.randrange(SPAN_DAYS * 86400))
                self.shift[mention.id] = moved - mention.published_at
            story = mention.story_id or mention.id
            mention.source_kind = self.kind_of[story]
            # Copies move with their story, so they stay days from its first copy.
            mention.published_at = min(mention.published_at + self.shift[story], NOW)
            mention.collected_at = mention.published_at
        return mentions


def build(path: Path, size: int) -> None:
    """Writes `size` mentions to a new index at `path`."""
    if path.exists():
        shutil.rmtree(path)
    index = EmbeddedIndex(str(path), writer_heap_size=256_000_000)
    started = time.perf_counter()
    ingest(index, KindedFactory(seed=22, vocab_size=50_000, reposts=0.1), size, 5000)
    index.close()
    print(f"built {size:,} mentions in {time.perf_counter() - started:,.0f} s at {path}")


def run(path: Path, policy: dict[str, int]) -> None:
    """Applies the retention change `policy` to a copy of the index at `path`."""
    with tempfile.TemporaryDirectory(prefix="veille-bench-retention-") as tmp:
        work = Path(tmp)
        started = time.perf_counter()
        shutil.copytree(path, work / "index")
        print(f"copied the index in {time.perf_counter() - started:,.1f} s")
        settings = build_settings(
            {
                "data_dir": str(work / "data"),
                "demo_data": False,
                "store": {
                    "state_url": f"sqlite:///{work}/data/veille.db",
                    "index_url": f"embedded:{work}/index",
                },
                "retention": {"days": policy},
            }
        )
        ctx = ServiceContext(settings, Workspace())
        try:
            _ = ctx.governance  # migrate the state store outside the timing
            before = ctx.index.count(MentionFilter())
            firsts = MentionFilter(since=NOW - timedelta(days=10_000), copies=StoryCopies.FIRST)
            stories_before = ctx.index.count(firsts)
            print(f"{before:,} mentions, {stories_before:,} stories; policy {policy}")

            started = time.perf_counter()
            dry = apply_retention(ctx, dry_run=True, now=NOW)
            print(f"dry run:   {time.perf_counter() - started:6.2f} s  would delete {dry.deleted}")

            started = time.perf_counter()
            done = apply_retention(ctx, now=NOW)
            seconds = time.perf_counter() - started
            after = ctx.index.count(MentionFilter())
            deleted = sum(done.deleted.get(kind, 0) for kind in policy)
            print(f"retention: {seconds:6.2f} s  deleted {done.deleted}")
            print(
                f"{deleted:,} deleted of {before:,} ({deleted / max(before, 1):.0%}), "
                f"{after:,} left, {ctx.index.count(firsts):,} stories left; "
                f"{deleted / seconds:,.0f} mentions/s"
            )
            if before - after != deleted or dry.deleted != {
                k: v for k, v in done.deleted.items() if k in policy
            }:
                print("MISMATCH: the counts are not what left the index")
            print(f"target < 60 s: {'met' if seconds < 60 else 'missed'}")
        finally:
            ctx.close()


def main() -> None:
    """Builds the store (--build) or applies the retention change to a copy of it."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=1_000_000, help="mentions to build")
    parser.add_argument("--path", type=Path, default=Path("/tmp/veille-bench-retention"))
    parser.add_argument("--build", action="store_true", help="build the store, then exit")
    parser.add_argument(
        "--policy",
        help="days per source kind, e.g. feed=180 (for another store, such as the one "
        "bench_exports.py --build keeps: one kind over a year); default: the one above",
    )
    args = parser.parse_args()
    policy = dict(POLICY)
    if args.policy:
        policy = {k: int(v) for k, v in (part.split("=") for part in args.policy.split(","))}
    if args.build or not args.path.exists():
        build(args.path, args.size)
        if args.build:
            return
    print(f"load average {os.getloadavg()}", flush=True)
    run(args.path, policy)
    print(f"load average {os.getloadavg()}", flush=True)


if __name__ == "__main__":
    main()
