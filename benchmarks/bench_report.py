"""Times a report for the demo brand, end to end: figures, HTML with its charts, PDF.

    .venv/bin/python benchmarks/bench_report.py                       # fresh demo store
    .venv/bin/python benchmarks/bench_report.py --data-dir /tmp/demo  # reuse one
    # over a large embedded index (bench_exports.py --build: Veloria among its brands),
    # for the period before its last day
    .venv/bin/python benchmarks/bench_report.py --index /tmp/veille-1m --now 2026-06-30

Reads the example workspace (`config/`, brand Veloria and its reports `veloria-weekly`,
French, and `veloria-monthly-en`, English). An empty data directory first receives the
bundled demo mentions through the analyzer (a minute or two, not timed). Then renders each
report `--repeat` times, keeping nothing, and prints the median and worst times, pages
and size. The issue's target: under 10 s for the PDF. Asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from services.core.workspace import load_workspace
from services.reports.service import definitions, run_report
from services.runtime.app.context import ServiceContext
from services.store.contracts import MentionFilter


def open_demo(config: Path, data_dir: Path, index: Path | None = None) -> ServiceContext:
    """The example workspace on `data_dir`, holding the analyzed demo mentions (or reading
    the mentions of `index`, left as they are)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    loaded = load_workspace(
        config,
        overrides={
            "data_dir": str(data_dir),
            "store.state_url": f"sqlite:///{data_dir}/veille.db",
            "store.index_url": f"embedded:{index or data_dir / 'index'}",
        },
    )
    ctx = ServiceContext(loaded.settings, loaded.workspace)
    ctx.sync_workspace()
    if ctx.index.count(MentionFilter()) == 0:
        from services.runtime.data.importer import demo_items
        from services.runtime.workers.analysis import drain

        started = time.perf_counter()
        ctx.state.enqueue_items(demo_items())
        outcome = drain(ctx)
        print(f"analyzed {outcome.stored} demo mentions in {time.perf_counter() - started:.0f} s")
    return ctx


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, default=Path("config"))
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--index", type=Path, default=None, help="an embedded index to read")
    parser.add_argument("--now", default=None, help="the reports' 'now' (ISO date, UTC)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="veille-bench-report-") as tmp:
        ctx = open_demo(args.config, args.data_dir or Path(tmp), args.index)
        try:
            now = (
                datetime.fromisoformat(args.now).replace(tzinfo=UTC)
                if args.now
                else datetime.now(UTC)
            )
            print(f"{ctx.index.count(MentionFilter()):,} mentions in the index; now = {now}")
            print(f"{'report':<20} {'lang':<4} {'mentions':>8} {'figures':>8} {'html':>6} "
                  f"{'pdf':>6} {'total':>6} {'worst':>6} {'pages':>5} {'KiB':>5}")  # fmt: skip
            for definition in definitions(ctx).list():
                runs = []
                for _ in range(args.repeat):
                    started = time.perf_counter()
                    run = run_report(ctx, definition, now=now, keep=False)
                    total = time.perf_counter() - started
                    runs.append((total, run))
                totals = [t for t, _ in runs]
                _, last = runs[-1]
                pdf = last.rendered.pdf or b""
                pages = last.rendered.pages
                figures_s = statistics.median(t - r.rendered.seconds for t, r in runs)
                print(
                    f"{definition.name:<20} {definition.language:<4} "
                    f"{last.figures.key.mentions if last.figures.key else 0:>8} "
                    f"{figures_s:>7.2f}s "
                    f"{statistics.median(r.rendered.html_seconds for _, r in runs):>5.2f}s "
                    f"{statistics.median(r.rendered.pdf_seconds for _, r in runs):>5.2f}s "
                    f"{statistics.median(totals):>5.2f}s {max(totals):>5.2f}s {pages:>5} "
                    f"{len(pdf) // 1024:>5}"
                )
        finally:
            ctx.close()


if __name__ == "__main__":
    main()
