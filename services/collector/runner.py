"""Collects one feed source once: cursor in, items and a new cursor out.

The cursor holds the HTTP validators of the last successful fetch (ETag,
Last-Modified), so an unchanged feed costs a 304 and nothing else. Items, cursor and
run are recorded in one `record_collection` call, so a collector killed mid-run either
stored everything or nothing; the store drops items it already has, so polling the
same feed again stores no duplicates. A failed or unchanged run is recorded with
`record_run` and leaves the cursor as it was. Before storing, items dated in the
future are dated at collection and a run keeps at most `max_items_per_run`
(`item_policy`); those corrections and a wrong declared charset become notes in the
run's stats, shown in the source's status. A failed run carries its error kind.
`collect_source` never raises; a fetch cancelled because the collector is stopping
is not recorded at all (it says nothing about the source).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from services.collector.feeds import FeedParseError, parse_feed
from services.collector.fetching import FetchError, fetch
from services.collector.item_policy import screen_items
from services.core.models import ErrorKind, RawItem, RunStatus, Source, utcnow
from services.core.settings import CollectorSettings
from services.net.deadline import FetchCancelled
from services.store.state.contract import CollectionRun, NotFoundError

logger = logging.getLogger("veille.collector")


class CollectorState(Protocol):
    """The part of the state store contract (`services.store.state.contract.StateStore`)
    the collector uses; any StateStore is one."""

    def get_cursor(self, source_name: str) -> dict[str, Any]: ...

    def record_collection(
        self, *, run: CollectionRun, items: Sequence[RawItem], cursor: dict[str, Any] | None
    ) -> int: ...

    def record_run(self, run: CollectionRun) -> None: ...


def collect_source(
    source: Source,
    *,
    state: CollectorState,
    settings: CollectorSettings,
    now: datetime | None = None,
) -> CollectionRun:
    """Fetches and parses a source once and records the outcome; never raises."""
    started_at = now or utcnow()
    clock = time.monotonic()

    def finished_at() -> datetime:
        return started_at + timedelta(seconds=time.monotonic() - clock)

    def failed(message: str, kind: str, *, record: bool = True) -> CollectionRun:
        run = CollectionRun(
            source_name=source.name,
            started_at=started_at,
            finished_at=finished_at(),
            status=RunStatus.ERROR,
            items_found=0,
            items_new=0,
            error=message,
            error_kind=kind,
        )
        if record:
            _record_run(state, run)
        return run

    try:
        cursor = _validators(state.get_cursor(source.name))
    except Exception as error:
        logger.exception("cannot read the cursor of %s", source.name, extra={"source": source.name})
        return failed(f"store error: {_describe(error)}", ErrorKind.STORE)

    url = str(source.url)
    try:
        result = fetch(
            url,
            settings=settings,
            etag=cursor.get("etag"),
            last_modified=cursor.get("last_modified"),
        )
        if result.not_modified:
            run = CollectionRun(
                source_name=source.name,
                started_at=started_at,
                finished_at=finished_at(),
                status=RunStatus.NOT_MODIFIED,
                items_found=0,
                items_new=0,
            )
            _record_run(state, run)
            logger.info(
                "%s not modified since the last run",
                source.name,
                extra={"source": source.name, "status": run.status.value},
            )
            return run
        parsed = parse_feed(
            result.body,
            source=source,
            base_url=result.final_url,
            headers=result.headers,
            collected_at=started_at,
        )
    except FetchCancelled:
        logger.info("collecting %s stopped: the collector is stopping", source.name)
        return failed("cancelled: the collector is stopping", ErrorKind.CANCELLED, record=False)
    except (FetchError, FeedParseError) as error:
        kind = error.kind if isinstance(error, FetchError) else ErrorKind.PARSE
        run = failed(str(error), kind)
        logger.warning(
            "collecting %s failed: %s",
            source.name,
            error,
            extra={"source": source.name, "status": run.status.value, "url": url},
        )
        return run
    except Exception as error:  # a bug must not stop the scheduler or other sources
        logger.exception("collecting %s crashed", source.name, extra={"source": source.name})
        return failed(f"internal error: {_describe(error)}", ErrorKind.INTERNAL)

    screened = screen_items(parsed.items, now=started_at, settings=settings)
    # Entries skipped or recovered from a broken document are left out too: the status
    # must say so, or a feed whose items all lack a link reads "ok, 0 found".
    notes = [
        *([parsed.charset_note] if parsed.charset_note else []),
        *([parsed.warning] if parsed.warning else []),
        *screened.notes,
    ]
    for note in notes:
        logger.warning("%s: %s", source.name, note, extra={"source": source.name, "url": url})
    new_cursor = {
        key: value
        for key, value in (("etag", result.etag), ("last_modified", result.last_modified))
        if value
    }
    # The store counts what is new; the run passed in carries 0 until it has.
    run = CollectionRun(
        source_name=source.name,
        started_at=started_at,
        finished_at=finished_at(),
        status=RunStatus.OK,
        items_found=len(parsed.items),
        items_new=0,
        stats={"notes": notes} if notes else None,
    )
    try:
        items_new = state.record_collection(run=run, items=screened.items, cursor=new_cursor)
    except NotFoundError:
        logger.info(
            "%s was deleted while being collected; its items are dropped",
            source.name,
            extra={"source": source.name},
        )
        return run
    except Exception as error:
        logger.exception("cannot store the items of %s", source.name, extra={"source": source.name})
        return failed(f"store error: {_describe(error)}", ErrorKind.STORE)
    run = replace(run, items_new=items_new)
    logger.info(
        "collected %s: %d items, %d new in %.1f s",
        source.name,
        run.items_found,
        run.items_new,
        (run.finished_at - run.started_at).total_seconds(),
        extra={
            "source": source.name,
            "status": run.status.value,
            "items_found": run.items_found,
            "items_new": run.items_new,
        },
    )
    return run


def _validators(cursor: Any) -> dict[str, str]:
    """The HTTP validators of a stored cursor; anything else in it is ignored."""
    if not isinstance(cursor, dict):
        return {}
    return {
        key: value
        for key in ("etag", "last_modified")
        if isinstance(value := cursor.get(key), str) and value
    }


def _record_run(state: CollectorState, run: CollectionRun) -> None:
    try:
        state.record_run(run)
    except NotFoundError:
        logger.info(
            "%s was deleted while being collected",
            run.source_name,
            extra={"source": run.source_name},
        )
    except Exception:
        logger.exception(
            "cannot record the run of %s", run.source_name, extra={"source": run.source_name}
        )


def _describe(error: BaseException) -> str:
    text = " ".join(str(error).split())[:200]
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
