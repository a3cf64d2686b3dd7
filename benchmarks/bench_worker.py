"""Items per second through the whole analysis worker: inbox -> analyzer -> index.

    .venv/bin/python benchmarks/bench_worker.py --items 2000
    .venv/bin/python benchmarks/bench_worker.py --items 2000 --index /tmp/index-1m

Enqueues `--items` collected items (the bundled demo texts, each given its own URL;
with `--long`, articles of 20 demo texts each), then runs the worker's batches
(`process_batch`: claim, analyze, store, ack, with the lease keeper renewing) until
the inbox is empty, with the workspace of config/veille.yaml. `--index` writes into
an existing embedded index (e.g. the 1M-mention one bench_embedded_index.py --path
left), so storing costs what it costs at that size. One warm-up batch (models
loading) is left out. Prints the figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from services.core.models import RawItem
from services.core.settings import build_settings
from services.core.workspace import load_workspace
from services.runtime.app.context import ServiceContext
from services.runtime.data.importer import demo_items
from services.runtime.workers.analysis import process_batch
from services.store.contracts import MentionFilter

REPO = Path(__file__).resolve().parents[1]


def items(count: int, *, long: bool) -> list[RawItem]:
    """`count` items from the demo texts, each with its own URL."""
    demo = demo_items(datetime(2026, 6, 1, tzinfo=UTC))
    made = []
    for n in range(count):
        base = demo[n % len(demo)]
        text = base.text
        if long:
            text = " ".join(demo[(n + k) % len(demo)].text for k in range(20))
        made.append(
            base.model_copy(
                update={
                    "url": f"https://bench.example.org/items/{n}",
                    "text": f"{text} ({n})",  # not a copy of another item's text
                    "published_at": (base.published_at or datetime.now(UTC)) - timedelta(minutes=n),
                }
            )
        )
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--long", action="store_true", help="article-length texts")
    parser.add_argument("--index", help="an existing embedded index directory to write into")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="veille-bench-worker-"))
    index_path = args.index or str(folder / "index")
    loaded = load_workspace(REPO / "config")
    settings = build_settings(
        {
            "data_dir": str(folder),
            "store": {
                "state_url": f"sqlite:///{folder}/veille.db",
                "index_url": f"embedded:{index_path}",
            },
            "analyzer": {"batch_size": args.batch},
        }
    )
    ctx = ServiceContext(settings, loaded.workspace)
    ctx.sync_workspace()
    try:
        before = ctx.index.count(MentionFilter())
        ctx.state.enqueue_items(items(args.batch, long=args.long))
        started = time.perf_counter()
        process_batch(ctx)  # warm-up: loads the models
        print(f"warm-up batch (models loading): {time.perf_counter() - started:.1f} s")
        ctx.state.enqueue_items(items(args.items + args.batch, long=args.long)[args.batch :])
        started = time.perf_counter()
        cpu = time.process_time()
        stored = claimed = 0
        while True:
            outcome = process_batch(ctx)
            if outcome.claimed == 0:
                break
            claimed += outcome.claimed
            stored += outcome.stored
        elapsed = time.perf_counter() - started
        used = time.process_time() - cpu
        print(
            f"{claimed:,} items ({'long' if args.long else 'demo-length'} texts, batches of "
            f"{args.batch}) into an index of {before:,} mentions: {elapsed:.1f} s, "
            f"{claimed / elapsed:,.1f} items/s ({stored:,} stored); "
            f"CPU {used / claimed * 1000:.1f} ms per item"
        )
    finally:
        ctx.close()


if __name__ == "__main__":
    main()
