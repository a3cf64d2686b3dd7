"""`veille reindex`: rewrite the Elasticsearch documents an older version wrote.

A new version can add a search field derived from the stored mention (`negative:NAME`).
The embedded index rebuilds itself at start-up when that happens; Elasticsearch documents
only gain the field when written again, which this does from their stored copies,
without the analyzer, with progress. Safe to run while Veille runs, and to run again.
"""

from __future__ import annotations

from rich.console import Console
from rich.progress import Progress

from services.cli.migrate_index import display_url
from services.store.contracts import open_index
from services.store.elastic import EsIndex


class ReindexFailed(RuntimeError):
    """Some documents could not be rewritten (they keep their old copy)."""


def reindex(*, index_url: str, batch_size: int, progress: Progress, out: Console) -> None:
    """Rewrites every stale index behind `index_url`, printing what was done."""
    index = open_index(index_url)
    try:
        if not isinstance(index, EsIndex):
            out.print(
                f"{display_url(index_url)} is an embedded index: it rebuilds itself at start-up "
                "when a new version needs it, so there is nothing to rewrite"
            )
            return
        stale = index.stale_indices(count_documents=True)
        if not stale:
            out.print(f"every document in {display_url(index_url)} is up to date")
            return
        total = sum(entry.documents or 0 for entry in stale)
        with progress:
            task = progress.add_task(f"rewriting {len(stale)} index(es)", total=total)
            reports = index.rewrite_stale(
                batch_size=batch_size, progress=lambda n: progress.advance(task, n)
            )
    finally:
        index.close()
    for report in reports:
        out.print(
            f"{report.index}: {report.rewritten} rewritten, {report.skipped} already rewritten "
            f"by a newer write, {report.refused} refused",
            highlight=False,
        )
    refused = [report for report in reports if not report.complete]
    if refused:
        raise ReindexFailed(
            f"{sum(r.refused for r in refused)} document(s) were refused and keep their old "
            f"copy (first: {refused[0].first_refusal}); run `veille reindex` again"
        )
