"""Collector cursors, collection runs, and each source's status computed from its runs.

Every recorded run updates the source's row in `source_stats` in the same
transaction, so the status is one lookup and survives pruning: only the last
`RUNS_KEPT` runs of a source are kept for `recent_runs`.

Status fields: `last_*` describe the last recorded run (`last_run_at` is its start,
`last_items` its new items, `last_error` its error, None when it succeeded);
`last_success_at` is the start of the last run that was not an error (a 304 counts
as a success: the source answered); `total_items` sums `items_new` over every run
ever recorded; `consecutive_errors` counts the error runs since the last success.

State: 'disabled' when the source is disabled, whatever its runs; 'never_run' before
its first run; 'unreachable' when the last run failed with error kind `unreachable`
or `timeout` (the host could not be resolved, connected to, or answered too late);
'disabled' with the message as its reason for kind `not_configured` (a connector
without its credentials); 'failing' for any other error of the last run; 'ok'
otherwise. The kind is data the collector gives with the run (`CollectionRun.error_kind`),
never read from the message; an error run without one is stored with kind "error".
Messages still start with words for people ("unreachable: ...", "not configured: ...").
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.engine import Connection, Row

from services.core.models import ErrorKind, RunStats, RunStatus, Source, SourceStatus
from services.store.state import tables
from services.store.state.contract import CollectionRun, NotFoundError
from services.store.state.engine import upsert
from services.store.state.workspace import problem_of

RUNS_KEPT = 500
UNREACHABLE_PREFIX = "unreachable:"  # how messages for people begin; states use kinds
NOT_CONFIGURED_PREFIX = "not configured:"
MAX_ERROR_CHARS = 4000
UNREACHABLE_KINDS = frozenset({ErrorKind.UNREACHABLE, ErrorKind.TIMEOUT})

State = Literal["ok", "failing", "unreachable", "never_run", "disabled"]


def get_cursor(conn: Connection, source_name: str) -> dict[str, Any]:
    """The saved cursor of a source, {} when none."""
    c = tables.cursors
    value = conn.execute(
        sa.select(c.c.cursor).where(c.c.source_name == source_name)
    ).scalar_one_or_none()
    return dict(value) if value else {}


def set_cursor(
    conn: Connection, source_name: str, cursor: dict[str, Any], *, now: datetime
) -> None:
    """Saves a source's cursor, replacing the previous one."""
    try:
        json.dumps(cursor)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"a cursor must hold JSON values only: {exc}") from None
    stmt = upsert(conn, tables.cursors).values(
        source_name=source_name, cursor=cursor, updated_at=now
    )
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[tables.cursors.c.source_name],
            set_={"cursor": stmt.excluded.cursor, "updated_at": stmt.excluded.updated_at},
        )
    )


def require_source(conn: Connection, name: str) -> None:
    """Raises NotFoundError unless the source exists; on PostgreSQL, locks its row
    so two runs of one source are recorded one after the other."""
    s = tables.sources
    found = conn.execute(sa.select(s.c.name).where(s.c.name == name).with_for_update()).first()
    if found is None:
        raise NotFoundError(f"no source named {name!r}")


def insert_run(conn: Connection, run: CollectionRun) -> None:
    """Records a run, updates the source's stats and prunes its oldest runs."""
    for moment in (run.started_at, run.finished_at):
        if moment.tzinfo is None:
            raise ValueError("run times must be timezone-aware")
    if run.items_found < 0 or run.items_new < 0:
        raise ValueError("item counts cannot be negative")
    status = RunStatus(run.status)
    error = run.error[:MAX_ERROR_CHARS] if run.error else None
    kind = error_kind_of(status, run.error_kind)
    r = tables.collection_runs
    conn.execute(
        sa.insert(r).values(
            source_name=run.source_name,
            started_at=run.started_at,
            finished_at=run.finished_at,
            status=status.value,
            items_found=run.items_found,
            items_new=run.items_new,
            error=error,
            stats=run.stats,
            error_kind=kind,
        )
    )
    _update_stats(conn, run, status, error, kind)
    _prune(conn, run.source_name)


def recent(conn: Connection, source_name: str, *, limit: int) -> list[CollectionRun]:
    """The last runs of a source, newest first."""
    r = tables.collection_runs
    rows = conn.execute(
        sa.select(r)
        .where(r.c.source_name == source_name)
        .order_by(r.c.started_at.desc(), r.c.id.desc())
        .limit(limit)
    )
    return [
        CollectionRun(
            source_name=row.source_name,
            started_at=row.started_at,
            finished_at=row.finished_at,
            status=RunStatus(row.status),
            items_found=row.items_found,
            items_new=row.items_new,
            error=row.error,
            stats=row.stats,
            error_kind=row.error_kind,
        )
        for row in rows
    ]


def statuses(conn: Connection, name: str | None = None) -> list[SourceStatus]:
    """The status of one source (by name) or of every source, by name."""
    s, st = tables.sources, tables.source_stats
    query = (
        sa.select(s.c.spec, st)
        .select_from(s.outerjoin(st, st.c.source_name == s.c.name))
        .order_by(s.c.name)
    )
    if name is not None:
        query = query.where(s.c.name == name)
    return [_status(row) for row in conn.execute(query)]


def status(conn: Connection, name: str) -> SourceStatus:
    """The status of one source; NotFoundError when absent."""
    found = statuses(conn, name)
    if not found:
        raise NotFoundError(f"no source named {name!r}")
    return found[0]


def error_kind_of(status: RunStatus, kind: str | None) -> str | None:
    """The kind stored with a run: None for a success, a known kind for an error
    ("error" when the collector gave none or one this version does not know)."""
    if status is not RunStatus.ERROR:
        return None
    return kind if kind in ErrorKind.__members__.values() else ErrorKind.ERROR.value


def state_of(*, enabled: bool, last_status: RunStatus | None, last_error_kind: str | None) -> State:
    """The state of a source from its last run (see the module docstring)."""
    if not enabled:
        return "disabled"
    if last_status is None:
        return "never_run"
    if last_status is RunStatus.ERROR:
        if last_error_kind in UNREACHABLE_KINDS:
            return "unreachable"
        if last_error_kind == ErrorKind.NOT_CONFIGURED:
            return "disabled"  # a connector without its credentials switches itself off
        return "failing"
    return "ok"


def _status(row: Row[Any]) -> SourceStatus:
    try:
        source = Source.model_validate(row.spec)
    except ValidationError as exc:
        return _unreadable_status(row, exc)
    last_status = RunStatus(row.last_status) if row.last_status is not None else None
    kind = error_kind_of(last_status, row.last_error_kind) if last_status else None
    return SourceStatus(
        name=source.name,
        kind=source.kind,
        url=str(source.url) if source.url else None,
        enabled=source.enabled,
        last_run_at=row.last_run_at,
        last_success_at=row.last_success_at,
        last_status=last_status,
        last_error=row.last_error,
        last_error_kind=ErrorKind(kind) if kind else None,
        last_items=row.last_items or 0,
        total_items=row.total_items or 0,
        consecutive_errors=row.consecutive_errors or 0,
        state=state_of(enabled=source.enabled, last_status=last_status, last_error_kind=kind),
        disabled_reason=_disabled_reason(source.enabled, kind, row.last_error),
        last_run=RunStats.model_validate(row.last_run_stats) if row.last_run_stats else None,
    )


def _unreadable_status(row: Row[Any], exc: ValidationError) -> SourceStatus:
    """A source whose stored definition no longer validates: listed as disabled with
    why (it is not collected), so it never hides or breaks the other statuses."""
    spec = row.spec if isinstance(row.spec, dict) else {}
    name, kind, url = spec.get("name"), spec.get("kind"), spec.get("url")
    return SourceStatus(
        name=str(name or "?"),
        kind=str(kind or "feed"),
        url=str(url)[:4000] if url else None,
        enabled=False,
        last_run_at=row.last_run_at,
        last_error=row.last_error,
        total_items=row.total_items or 0,
        state="disabled",
        disabled_reason=f"its stored definition does not validate ({problem_of(exc)}); "
        "replace or delete it",
    )


def _disabled_reason(enabled: bool, kind: str | None, last_error: str | None) -> str | None:
    if not enabled:
        return "switched off (enabled: false)"
    if kind == ErrorKind.NOT_CONFIGURED:
        return (last_error or "").removeprefix(NOT_CONFIGURED_PREFIX).strip() or "not configured"
    return None


def _update_stats(
    conn: Connection, run: CollectionRun, status: RunStatus, error: str | None, kind: str | None
) -> None:
    st = tables.source_stats
    previous = conn.execute(sa.select(st).where(st.c.source_name == run.source_name)).first()
    failed = status is RunStatus.ERROR
    values: dict[str, Any] = {
        "last_run_at": run.started_at,
        "last_status": status.value,
        "last_error": error if failed else None,
        "last_error_kind": kind,
        "last_items": run.items_new,
        "last_run_stats": _run_stats(run),
    }
    if previous is None:
        conn.execute(
            sa.insert(st).values(
                source_name=run.source_name,
                last_success_at=None if failed else run.started_at,
                total_items=run.items_new,
                consecutive_errors=1 if failed else 0,
                **values,
            )
        )
        return
    values["total_items"] = previous.total_items + run.items_new
    values["consecutive_errors"] = previous.consecutive_errors + 1 if failed else 0
    values["last_success_at"] = previous.last_success_at if failed else run.started_at
    conn.execute(sa.update(st).where(st.c.source_name == run.source_name).values(**values))


def _run_stats(run: CollectionRun) -> dict[str, Any]:
    """The figures `SourceStatus.last_run` shows, as stored in `last_run_stats`."""
    crawl = run.stats or {}
    figures: dict[str, Any] = {
        "duration_seconds": round((run.finished_at - run.started_at).total_seconds(), 3),
        "items_found": run.items_found,
        "items_stored": run.items_new,
        "errors": {str(k): int(v) for k, v in dict(crawl.get("errors") or {}).items()},
    }
    if crawl.get("pages_fetched") is not None:
        figures["pages_fetched"] = int(crawl["pages_fetched"])
    notes = [str(note)[:500] for note in crawl.get("notes") or []][:20]
    if notes:
        figures["notes"] = notes
    return figures


def _prune(conn: Connection, source_name: str) -> None:
    r = tables.collection_runs
    cutoff = conn.execute(
        sa.select(r.c.started_at, r.c.id)
        .where(r.c.source_name == source_name)
        .order_by(r.c.started_at.desc(), r.c.id.desc())
        .offset(RUNS_KEPT)
        .limit(1)
    ).first()
    if cutoff is None:
        return
    conn.execute(
        sa.delete(r).where(
            r.c.source_name == source_name,
            sa.or_(
                r.c.started_at < cutoff.started_at,
                sa.and_(r.c.started_at == cutoff.started_at, r.c.id <= cutoff.id),
            ),
        )
    )
