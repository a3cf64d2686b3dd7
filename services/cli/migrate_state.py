"""`veille migrate-state`: copy the state store into PostgreSQL, with progress, then verify."""

from __future__ import annotations

import sqlalchemy as sa
from rich.console import Console
from rich.progress import Progress, TaskID
from rich.table import Table

from services.store.state.engine import parse_url, redact, store_errors
from services.store.state.state_copy import (
    StateCopyRefused,
    TableCount,
    copy_state,
    open_source,
    open_target,
)


class StateMigrationFailed(RuntimeError):
    """The verification found different counts."""


def migrate_state(
    *,
    source_url: str,
    target_url: str,
    force: bool,
    batch_size: int,
    progress: Progress,
    out: Console,
) -> list[TableCount]:
    """Copies, then prints the per-table counts; StateMigrationFailed on a mismatch."""
    if parse_url(target_url).get_backend_name() != "postgresql":
        raise StateCopyRefused(
            f"--to {redact(target_url)!r} is not PostgreSQL: give "
            "postgresql+psycopg://user:password@host:5432/db"
        )
    if _same(source_url, target_url):
        raise StateCopyRefused("--to names the state store being copied: give another one")
    source = open_source(source_url)
    try:
        target = open_target(target_url)
        try:
            task: list[TaskID] = []
            with progress:

                def started(table: str, total: int) -> None:
                    if task:
                        progress.update(task[0], visible=False)
                    task[:] = [progress.add_task(f"copying {table}", total=total)]

                with store_errors(parse_url(target_url), doing="copy into"):
                    counts = copy_state(
                        source,
                        target,
                        force=force,
                        batch_size=batch_size,
                        started=started,
                        progress=lambda n: progress.advance(task[0], n),
                    )
        finally:
            target.dispose()
    finally:
        source.dispose()
    table = Table("table", "source", "target", "", title="rows per table")
    for count in counts:
        mark = "ok" if count.matches else "[red]MISMATCH[/red]"
        table.add_row(count.table, str(count.source), str(count.target), mark)
    out.print(table)
    out.print(
        f"{len(counts)} tables, {sum(c.source for c in counts)} rows in the source, "
        f"{sum(c.target for c in counts)} in the target"
    )
    bad = [c for c in counts if not c.matches]
    if bad:
        raise StateMigrationFailed(
            f"{len(bad)} table(s) differ (first: {bad[0].table}, {bad[0].source} in the "
            f"source, {bad[0].target} in the target)"
        )
    return counts


def _same(a: str, b: str) -> bool:
    try:
        return sa.make_url(a) == sa.make_url(b)
    except sa.exc.ArgumentError:
        return False
