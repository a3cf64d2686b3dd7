"""One-line summaries of a run's figures for `veille sources status`."""

from __future__ import annotations

from services.core.models import RunStats


def run_figures(stats: RunStats | None) -> str:
    """'12 pages, 30 found, 5 queued, 3.2 s, errors: http_404 x2' ('-' before any run):
    queued for the analyzer, which may drop some (the `stored` column says what it kept)."""
    if stats is None:
        return "-"
    parts = [] if stats.pages_fetched is None else [f"{stats.pages_fetched} pages"]
    parts += [
        f"{stats.items_found} found",
        f"{stats.items_stored} queued",
        f"{stats.duration_seconds:.1f} s",
    ]
    if stats.errors:
        kinds = ", ".join(f"{kind} x{count}" for kind, count in sorted(stats.errors.items()))
        parts.append(f"errors: {kinds}")
    text = ", ".join(parts)
    return "; ".join([text, *stats.notes])  # capped items, future dates, a wrong charset
