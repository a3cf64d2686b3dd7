"""Article extraction quality and throughput on trafilatura's evaluation subset.

    .venv/bin/python benchmarks/bench_extraction.py [--corpus DIR] [--workers 2] [--repeat 3]
    .venv/bin/python benchmarks/bench_extraction.py --spider [--copies 3] [--repeat 3]
        [--extract-workers N] [--alternate]

Serves every page of the corpus (default: ../shared/corpora/pages/trafilatura) from a
local HTTP server on 127.0.0.1, fetches each one through the SSRF-guarded fetcher
(loopback allowed for the run) and extracts it. Prints the share of "with" snippets
found and of "without" snippets leaked, over the article text and its comments, then
pages/s fetched and extracted (median of the repeats) with `--workers` processes.
Machines are noisy: compare medians, not single figures.

With --spider, measures the real crawler instead: the Scrapy spider (`web.spiders.collect`,
one process, as a scheduled run) crawls `--copies` copies of the corpus as article
targets and prints pages/s crawled and extracted (AutoThrottle off, 8 requests at a
time; the reactor's start-up is included, so more copies give a steadier figure), and
the quality of what the spider extracted from the first copy. `--extract-workers`
sets the extraction pool (default min(2, CPUs); 0: in the spider's process);
`--alternate` runs pooled and in-process crawls in turn and prints their ratio, the
fair comparison on a loaded machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # for tests.httpserver, the real test server

from services.collector.fetching import fetch  # noqa: E402
from services.collector.web.extract import ExtractionError, extract_article  # noqa: E402
from services.core.settings import CollectorSettings  # noqa: E402
from tests.httpserver import HTTPTestServer  # noqa: E402

DEFAULT_CORPUS = REPO.parent / "shared" / "corpora" / "pages" / "trafilatura"
SETTINGS = CollectorSettings(allowed_networks=["127.0.0.0/8"], timeout_seconds=30.0)


def fetch_and_extract(job: tuple[str, str]) -> str:
    """Fetches one page and returns its extracted text and comments ('' if none)."""
    local_url, page_url = job
    body = fetch(local_url, settings=SETTINGS).body
    try:
        article = extract_article(body, url=page_url)
    except ExtractionError:
        return ""
    return "\n".join([article.text, *(comment.text for comment in article.comments)])


_SPIDER_CHILD = """
import json, resource, sys, time
from services.collector.web.spiders import Target, collect
from services.core.settings import CollectorSettings
job = json.loads(sys.stdin.read())
urls = job["urls"]
settings = CollectorSettings(allowed_networks=["127.0.0.0/8"], timeout_seconds=30.0)
started = time.perf_counter()
outcome = collect([Target(u, u) for u in urls], settings=settings, source_name="bench",
                  max_pages=1, overrides={"AUTOTHROTTLE_ENABLED": False,
                  "CONCURRENT_REQUESTS": 8, "CONCURRENT_REQUESTS_PER_DOMAIN": 8},
                  extract_workers=job["workers"])
seconds = time.perf_counter() - started
texts = {}
for item in outcome.items:  # the article, then its comments
    texts.setdefault(item.thread.root_id if item.thread else item.url, []).append(item.text)
cpu = {who: sum(resource.getrusage(flag)[:2]) for who, flag in
       (("crawler", resource.RUSAGE_SELF), ("workers", resource.RUSAGE_CHILDREN))}
print(json.dumps({"pages": outcome.pages_fetched, "seconds": seconds, "cpu": cpu,
                  "texts": {url: chr(10).join(parts) for url, parts in texts.items()}}))
"""


Run = tuple[int, float, dict[str, str], dict[str, float]]


def spider_run(urls: list[str], workers: int | None) -> Run:
    """Crawls `urls` with the Scrapy spider in a child process: pages, pages/s, the
    text extracted (article and comments) by page URL, and the CPU seconds used by the
    crawler process and by its extraction workers."""
    done = subprocess.run(
        [sys.executable, "-c", _SPIDER_CHILD],
        input=json.dumps({"urls": urls, "workers": workers}),
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    pages = int(figures["pages"])
    return pages, pages / figures["seconds"], figures["texts"], figures["cpu"]


def bench_spider(
    corpus: Path, copies: int, repeat: int, workers: int | None, alternate: bool
) -> None:
    """Prints the spider's pages/s over `copies` copies of the corpus, and the quality
    of the first copy's extraction."""
    gold = json.loads((corpus / "evaldata_subset.json").read_text(encoding="utf-8"))
    with HTTPTestServer() as server:
        urls: list[str] = []
        for copy in range(copies):
            for index, entry in enumerate(gold.values()):
                path = f"/c{copy}/page/{index}.html"
                body = (corpus / entry["file"]).read_bytes()
                server.add(path, body=body, headers={"Content-Type": "text/html"})
                urls.append(server.url(path))
        modes = [workers, 0] if alternate else [workers]
        runs: dict[int | None, list[Run]] = {m: [] for m in modes}
        for _ in range(repeat):
            for mode in modes:
                runs[mode].append(spider_run(urls, mode))
    entries = list(gold.values())
    for mode, done in runs.items():
        label = "in-process extraction" if mode == 0 else f"extract_workers={mode}"
        texts = done[-1][2]
        print(f"[{label}] pages crawled per run: {done[0][0]} of {len(urls)}")
        print(f"[{label}] {quality([texts.get(u, '') for u in urls[: len(entries)]], entries)}")
        rates = [run[1] for run in done]
        print(
            f"[{label}] pages/s (Scrapy spider): median {statistics.median(rates):.1f} "
            f"(runs: {', '.join(f'{r:.1f}' for r in rates)})"
        )
        crawler, workers_cpu = (statistics.median(run[3][who] for run in done) for who in CPU_USERS)
        print(f"[{label}] CPU s per run (median): crawler {crawler:.1f}, workers {workers_cpu:.1f}")
    if alternate:
        pooled, alone = (statistics.median(run[1] for run in runs[m]) for m in modes)
        print(f"ratio pooled / in-process (medians): {pooled / alone:.2f}")


CPU_USERS = ("crawler", "workers")  # the processes a crawl uses CPU in


def quality(texts: list[str], entries: list[dict[str, list[str]]]) -> str:
    """The share of "with" snippets found and of "without" snippets leaked."""
    found = total_with = leaked = total_without = 0
    for text, entry in zip(texts, entries, strict=True):
        total_with += len(entry["with"])
        found += sum(snippet in text for snippet in entry["with"])
        total_without += len(entry["without"])
        leaked += sum(snippet in text for snippet in entry["without"])
    return (
        f"with found: {found}/{total_with} = {100 * found / total_with:.1f}%, "
        f"without leaked: {leaked}/{total_without} = {100 * leaked / total_without:.1f}%"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--spider", action="store_true", help="measure the Scrapy spider")
    parser.add_argument("--copies", type=int, default=3, help="corpus copies (--spider)")
    parser.add_argument(
        "--extract-workers", type=int, default=None, help="extraction pool size (--spider)"
    )
    parser.add_argument(
        "--alternate", action="store_true", help="also in-process runs, in turn (--spider)"
    )
    args = parser.parse_args()
    if args.spider:
        bench_spider(args.corpus, args.copies, args.repeat, args.extract_workers, args.alternate)
        return

    gold = json.loads((args.corpus / "evaldata_subset.json").read_text(encoding="utf-8"))
    with HTTPTestServer() as server:
        jobs = []
        for index, (page_url, entry) in enumerate(gold.items()):
            path = f"/page/{index}.html"
            body = (args.corpus / entry["file"]).read_bytes()
            server.add(path, body=body, headers={"Content-Type": "text/html"})
            jobs.append((server.url(path), page_url))

        rates = []
        texts: list[str] = []
        with ProcessPoolExecutor(max_workers=args.workers) as pool:
            list(pool.map(fetch_and_extract, jobs))  # warm-up pass: imports, models
            for _ in range(args.repeat):
                started = time.perf_counter()
                texts = list(pool.map(fetch_and_extract, jobs))
                rates.append(len(jobs) / (time.perf_counter() - started))

    print(f"pages: {len(jobs)}")
    print(quality(texts, list(gold.values())))
    print(
        f"pages/s (fetch + extract, {args.workers} workers): median "
        f"{statistics.median(rates):.1f} (runs: {', '.join(f'{r:.1f}' for r in rates)})"
    )


if __name__ == "__main__":
    main()
