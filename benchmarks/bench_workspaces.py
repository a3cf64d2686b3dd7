"""Benchmarks search with several workspaces in one installation, through the API.

    .venv/bin/python benchmarks/bench_workspaces.py                      # 10 x 100,000
    .venv/bin/python benchmarks/bench_workspaces.py --workspaces 3 --docs 5000   # quick
    # build once into a kept folder (outside any timing; --clone: every workspace a copy
    # of the first one's mentions), then time searches on it:
    .venv/bin/python benchmarks/bench_workspaces.py --path /tmp/veille-ws-10x100k --build
    .venv/bin/python benchmarks/bench_workspaces.py --path /tmp/veille-ws-10x100k

Creates the workspaces (embedded index and SQLite state of their own, as `veille
workspaces create` does), fills each with synthetic mentions (bench_embedded_index.py's
generator), then times `GET /api/v1/mentions` (a word, a brand, French, a 30-day
window; top 20) with the admin key of a random workspace per request, over the
in-process ASGI app: key lookup, workspace check, permission, search and JSON. Also
times the same searches straight on the index, to show what tenancy adds. Prints
the figures; asserts nothing.

Target (issue 22): search p95 under 50 ms with 10 workspaces of 100,000 mentions.
"""

from __future__ import annotations

import argparse
import random
import shutil
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from benchmarks.bench_embedded_index import (
    BRANDS,
    NOW,
    MentionFactory,
    peak_rss_mb,
    percentiles,
    query_words,
)
from services.api.app import create_app
from services.core.query.ast import And, FieldFilter, Term
from services.core.settings import Settings, build_settings
from services.core.workspace import Workspace
from services.runtime.app.context import ServiceContext
from services.runtime.app.workspaces import Installation, workspace_settings
from services.store.contracts import MentionFilter, SearchRequest


def clone_index(settings: Settings, first: str, workspace: str) -> None:
    """Copies the first workspace's index (committed) to `workspace`'s, unless it has one."""
    paths = [
        Path(workspace_settings(settings, ws).store.index_url.removeprefix("embedded:"))
        for ws in (first, workspace)
    ]
    if not paths[1].exists():
        shutil.copytree(paths[0], paths[1], ignore=shutil.ignore_patterns("*.lock"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workspaces", type=int, default=10)
    parser.add_argument("--docs", type=int, default=100_000, help="mentions per workspace")
    parser.add_argument("--runs", type=int, default=300, help="timed searches")
    parser.add_argument("--batch", type=int, default=5_000)
    parser.add_argument("--path", type=Path, help="installation folder, kept and reused")
    parser.add_argument("--build", action="store_true", help="fill --path, then exit")
    parser.add_argument(
        "--clone",
        action="store_true",
        help="give every workspace a copy of the first one's index (ten times quicker to build)",
    )
    args = parser.parse_args()

    temporary = args.path is None
    folder = Path(args.path or tempfile.mkdtemp(prefix="veille-bench-ws-"))
    folder.mkdir(parents=True, exist_ok=True)
    settings = build_settings(
        {
            "data_dir": str(folder),
            "demo_data": False,
            "store": {
                "state_url": f"sqlite:///{folder}/veille.db",
                "index_url": f"embedded:{folder}/index",
            },
        }
    )
    default = ServiceContext(settings, Workspace())
    installation = Installation(default)
    try:
        ids = ["default"] + [f"ws{n:02d}" for n in range(1, args.workspaces)]
        keys: dict[str, str] = {}
        started = time.perf_counter()
        known = {w.id for w in installation.tenancy.list_workspaces(include_archived=True)}
        for n, ws in enumerate(ids):
            if ws not in known:
                installation.tenancy.create_workspace(ws)
            keys[ws] = installation.tenancy.create_key(name="bench", workspace=ws, service="bench")
            if args.clone and n > 0:
                clone_index(settings, ids[0], ws)
            index = installation.context(ws).index
            factory = MentionFactory(seed=n, vocab_size=50_000)
            # A kept workspace already filled is reused as it is.
            written = args.docs if index.count(MentionFilter()) >= args.docs else 0
            if written:
                print(f"  {ws}: reused ({index.count(MentionFilter()):,} mentions)", flush=True)
                continue
            while written < args.docs:
                size = min(args.batch, args.docs - written)
                index.upsert(factory.batch(size))
                written += size
            print(f"  {ws}: {args.docs:,} mentions  peak RSS {peak_rss_mb():,.0f} MB", flush=True)
        print(
            f"ready: {len(ids)} workspaces x {args.docs:,} mentions in "
            f"{time.perf_counter() - started:.0f} s"
        )
        if args.build:
            return

        rng = random.Random(7)
        words = query_words(MentionFactory(seed=0, vocab_size=50_000), rng)
        app = create_app(default, installation=installation)
        api_samples: list[float] = []
        index_samples: list[float] = []
        with TestClient(app) as client:
            for warm in range(len(ids)):  # first request of each workspace opens its stores
                client.get("/api/v1/mentions", headers={"X-API-Key": keys[ids[warm]]})
            for _ in range(args.runs):
                ws = rng.choice(ids)
                word, brand = next(words), rng.choice(BRANDS)
                end = NOW - timedelta(days=rng.randrange(0, 300))
                params = {
                    "q": f'{word} brand:"{brand}" lang:fr',
                    "since": (end - timedelta(days=30)).isoformat(),
                    "until": end.isoformat(),
                    "limit": "20",
                }
                t0 = time.perf_counter()
                answer = client.get(
                    "/api/v1/mentions", params=params, headers={"X-API-Key": keys[ws]}
                )
                api_samples.append(time.perf_counter() - t0)
                if answer.status_code != 200:
                    raise SystemExit(f"search failed: {answer.status_code} {answer.text[:300]}")
                flt = MentionFilter(
                    query=And(
                        (Term(word), FieldFilter("brand", brand.lower()), FieldFilter("lang", "fr"))
                    ),
                    since=end - timedelta(days=30),
                    until=end,
                )
                t0 = time.perf_counter()
                installation.context(ws).index.search(SearchRequest(filter=flt, limit=20))
                index_samples.append(time.perf_counter() - t0)
        print(f"search over {len(ids)} workspaces, {args.runs} requests, random workspace each:")
        print(f"  GET /api/v1/mentions (key, role, search, JSON)  {percentiles(api_samples)}")
        print(f"  the index's search alone                        {percentiles(index_samples)}")
        print(f"peak RSS {peak_rss_mb():,.0f} MB")
    finally:
        installation.close()
        default.close()
        if temporary:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
