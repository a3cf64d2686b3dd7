"""Social collection throughput: a whole Reddit comment tree, fetched and stored.

    .venv/bin/python benchmarks/bench_social.py [--repeat 3]

Serves PRAW's recorded comment forest (tests/fixtures/reddit: one post, 543 comments,
12 morechildren answers, 6 "continue this thread" answers) from a local HTTP server on
127.0.0.1, and runs the Reddit connector over it into a fresh SQLite state store, as
a revisit of a watched post: 19 API calls, 541 comments parsed, filtered and stored.
Prints the parse rate of the tree alone and the run's wall time and comments/s
(medians of the repeats). Machines are noisy: compare medians, not single figures.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # for tests.httpserver and the replay helpers

from services.collector.social.base import SocialSource  # noqa: E402
from services.collector.social.reddit import RedditConnector  # noqa: E402
from services.collector.social.runner import collect_social  # noqa: E402
from services.core.models import Source  # noqa: E402
from services.core.settings import CollectorSettings  # noqa: E402
from services.store.state import open_state  # noqa: E402
from tests.httpserver import HTTPTestServer  # noqa: E402
from tests.social.test_reddit_threads import (  # noqa: E402
    EMPTY_LISTING,
    ENV,
    POSTED,
    TREE,
    serve_forest,
    token_body,
)

SETTINGS = CollectorSettings(allowed_networks=["127.0.0.0/8"], timeout_seconds=30.0)


def parse_rate(repeat: int) -> float:
    """Comments parsed per second from the recorded tree (pure parsing, no I/O)."""
    connector = RedditConnector()
    connector.configure({}, ENV)
    spec = connector.thread_request("t3_3hahrw")
    rates = []
    for _ in range(repeat):
        started = time.perf_counter()
        page = connector.parse_response(200, {}, TREE, request=spec)
        rates.append(len(page.items) / (time.perf_counter() - started))
    return statistics.median(rates)


def one_run(server: HTTPTestServer) -> tuple[float, int]:
    """Seconds and comments stored for one revisit of the recorded post."""
    with tempfile.TemporaryDirectory() as folder:
        state = open_state(f"sqlite:///{folder}/bench.db")
        try:
            state.put_source(Source(name="bench", url="https://example.org/"), origin="api")
            state.set_cursor("bench", {"since": POSTED, "threads": {"t3_3hahrw": [POSTED, 0]}})
            source = SocialSource(
                name="bench",
                kind="reddit",
                options={"base_url": server.base_url, "auth_url": server.base_url},
            )
            started = time.perf_counter()
            result = collect_social(
                source,
                connector=RedditConnector(),
                state=state,
                settings=SETTINGS,
                env=ENV,
                clock=lambda: POSTED + 3600.0,
            )
            elapsed = time.perf_counter() - started
        finally:
            state.close()
    if result.run.error:
        raise SystemExit(f"the run failed: {result.run.error}")
    return elapsed, result.run.items_new


def main() -> None:
    """Runs the benchmark and prints its figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"parse: {parse_rate(args.repeat):,.0f} comments/s (median of {args.repeat})")
    with HTTPTestServer() as server:
        server.add("/api/v1/access_token", method="POST", body=token_body("bench"))
        server.add("/search", body=EMPTY_LISTING)
        serve_forest(server)
        runs = []
        for n in range(args.repeat):
            runs.append(one_run(server))
            print(f"  run {n + 1}/{args.repeat}: {runs[-1][0]:.2f} s", flush=True)
    seconds = statistics.median(elapsed for elapsed, _ in runs)
    stored = runs[0][1]
    print(f"run: {stored} comments stored in {seconds:.2f} s, {stored / seconds:,.0f} comments/s")


if __name__ == "__main__":
    main()
