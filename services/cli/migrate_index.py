"""`veille migrate`: copy the embedded store into Elasticsearch, with progress, then verify."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from services.store.contracts import MentionFilter, open_index
from services.store.index_copy import (
    Checkpoint,
    copy_index,
    describe,
    mismatches,
    prune,
    removed_since,
    verify_days,
)


class MigrationFailed(RuntimeError):
    """The copy stopped or the verification found different counts."""


def display_url(url: str) -> str:
    """The URL without credentials, as it is stored in the checkpoint and printed."""
    parts = urlsplit(url)
    if not parts.scheme.startswith("http"):
        return url
    netloc = (parts.hostname or "") + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def migrate(
    *,
    source_url: str,
    target_url: str,
    checkpoint: Path,
    batch_size: int,
    progress: Progress,
    out: Console,
    prune_removed: bool = False,
    dead_letter_path: str | None = None,
) -> None:
    """Copies, then prints the per-day table; MigrationFailed on failure or mismatch.
    Mentions the target refuses for good go to `dead_letter_path`. With `prune_removed`,
    the mentions the target holds and the source no longer does
    (erased or past retention since they were copied) are deleted from the target."""
    shown_source, shown_target = display_url(source_url), display_url(target_url)
    if shown_source == shown_target:
        raise MigrationFailed("--to names the index being copied: give another one")
    if source_url.startswith("embedded:"):
        # Opening a missing embedded index would create an empty one: say so instead.
        path = Path(source_url.removeprefix("embedded:").removeprefix("//") or "data/index")
        if not path.is_dir():
            raise MigrationFailed(f"no embedded index at {path} (--from embedded:PATH)")
    source = open_index(source_url)
    try:
        target = open_index(target_url, dead_letter_path=dead_letter_path)
        try:
            start = Checkpoint.load(checkpoint, source=shown_source, target=shown_target)
            since = start.reached if start is not None else None
            todo = source.count(MentionFilter(since=since))
            if start is not None:
                out.print(
                    f"resuming from {start.reached.isoformat()} "
                    f"({start.copied} mentions copied before; checkpoint {checkpoint})"
                )
            with progress:
                task = progress.add_task(f"copying to {shown_target}", total=todo)
                result = copy_index(
                    source,
                    target,
                    checkpoint=checkpoint,
                    source_url=shown_source,
                    target_url=shown_target,
                    batch_size=batch_size,
                    progress=lambda n: progress.advance(task, n),
                )
            out.print(f"copied {result.copied} mentions ({result.total_copied} in all)")
            days = verify_days(source, target)
            gone = sum(day.extra for day in removed_since(days))
            if prune_removed and gone:
                deleted = prune(target, days)
                out.print(
                    f"deleted {deleted} mention(s) from the target that the source no longer "
                    "holds (erased or past retention there since they were copied)"
                )
                days = verify_days(source, target)
        finally:
            target.close()
    finally:
        source.close()
    table = Table("day (UTC)", "source", "target", "", title="mentions per day")
    for day in days:
        marks = []
        if day.lost:
            marks.append(f"[red]MISMATCH: {day.missing} missing[/red]")
        if day.extra:
            marks.append(f"[yellow]{day.extra} no longer in the source[/yellow]")
        mark = ", ".join(marks) or ("ok" if day.matches else "[red]MISMATCH[/red]")
        table.add_row(day.day.isoformat(), str(day.source), str(day.target), mark)
    out.print(table)
    summary = describe(days)
    out.print(
        f"{summary['days']} days, {summary['source']} mentions in the source, "
        f"{summary['target']} in the target"
    )
    removed = removed_since(days)
    extra = sum(day.extra for day in removed)
    if extra:
        out.print(
            f"{extra} mention(s) on {len(removed)} day(s) are in the target but no longer in "
            "the source: erased or removed by retention there after they were copied (the "
            "copy only adds), not a loss"
        )
    bad = mismatches(days)
    if bad:
        raise MigrationFailed(
            f"{len(bad)} day(s) differ (first: {bad[0].day.isoformat()}, "
            f"{bad[0].source} in the source, {bad[0].target} in the target, "
            f"{bad[0].missing} missing from the target)"
        )
    if extra:
        raise MigrationFailed(
            f"the target still holds {extra} mention(s) the source no longer has: re-run "
            "with --prune to delete them from the target"
        )
