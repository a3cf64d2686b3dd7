"""Collects one social source once: saved position in, new items and position out.

Like the feed runner (`services.collector.runner`): items, cursor and run are
recorded in one `record_collection` call, the store drops items it already has, and
`collect_social` never raises.

The cursor is `{"since": P}`: the highest position (see `base.py`) stored so far.
A run asks for pages newest first and stops at the first page reaching `since`
(items at exactly `since` are asked again: the store drops them). When `max_pages`
runs out first, the cursor becomes `{"since": P, "resume": <next page>,
"pending_since": <newest seen>}` and the next run carries on from the page it
stopped at before moving `since` on, so nothing between is skipped. A first run
(no `since`) takes the newest `max_pages` pages only.

Partial runs: when page N fails (a 429, 5xx, time-out or malformed body that
retries did not cure, see `calls.py`), the pages before it are stored and the
cursor resumes exactly at page N, the same way; the run is recorded as an error
whose message says why and what was kept. A failure on the first page stores
nothing and leaves the cursor as it was, except when it is a saved page the
platform refuses as invalid (a 400, 404, 410 or 422: page tokens expire): the next
run then pages down to `since` from the newest page. Follow-ups (comments) come after the
search pages; when one fails the search pages and the replies received are stored,
and the threads not fetched stay watched (`threads.py`) for the next run.
"""

from __future__ import annotations

import logging
import os
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from services.collector.fetching import FetchError
from services.collector.item_policy import screen_items
from services.collector.runner import CollectorState
from services.collector.social.base import (
    JSON,
    Connector,
    ItemDetails,
    MalformedResponse,
    NotConfigured,
    Page,
    RequestSpec,
    Revisiting,
    SocialSource,
)
from services.collector.social.calls import Caller, RunFailed
from services.collector.social.harvest import Harvest, next_cursor
from services.collector.social.http import ApiClient, ApiResponse
from services.collector.social.query_pushdown import local_filter, push_down
from services.collector.social.ratelimit import Backoff
from services.collector.social.threads import ThreadWatch
from services.core.models import ErrorKind, RawItem, RunStatus, utcnow
from services.core.query import QuerySyntaxError, parse_query
from services.core.settings import CollectorSettings
from services.store.state.contract import CollectionRun, NotFoundError

logger = logging.getLogger("veille.collector.social")

MAX_FOLLOW_UPS = 20  # extra calls (comments) per run, so one run stays polite
MAX_REVISITS = 10  # of which at most this many revisit threads found by earlier runs

__all__ = ["MAX_FOLLOW_UPS", "RunFailed", "SocialRun", "collect_social"]


@dataclass(frozen=True)
class SocialRun:
    """What a run did: the recorded run, the items kept and what RawItem cannot hold."""

    run: CollectionRun
    items: list[RawItem] = field(default_factory=list)
    details: dict[str, ItemDetails] = field(default_factory=dict)
    cursor: dict[str, Any] | None = None  # the cursor saved; None: left as it was
    not_before: datetime | None = None  # a rate limit asks not to call before then


def collect_social(
    source: SocialSource,
    *,
    connector: Connector,
    state: CollectorState,
    settings: CollectorSettings,
    env: Mapping[str, str] | None = None,
    now: datetime | None = None,
    backoff: Backoff | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.time,
) -> SocialRun:
    """Searches a social source once and records the outcome; never raises."""
    started_at = now or utcnow()
    watch_started = time.monotonic()

    def finished_at() -> datetime:
        return started_at + timedelta(seconds=time.monotonic() - watch_started)

    def failed(message: str, kind: ErrorKind, not_before: float | None = None) -> SocialRun:
        run = CollectionRun(
            source_name=source.name,
            started_at=started_at,
            finished_at=finished_at(),
            status=RunStatus.ERROR,
            items_found=0,
            items_new=0,
            error=message,
            error_kind=kind.value,
        )
        _record_run(state, run)
        logger.warning(
            "collecting %s failed: %s", source.name, message, extra={"source": source.name}
        )
        return SocialRun(run=run, not_before=_moment(not_before))

    try:
        connector.configure(source.options, os.environ if env is None else env)
        node = parse_query(source.query)
    except NotConfigured as error:
        return failed(f"not configured: {error}", ErrorKind.NOT_CONFIGURED)
    except QuerySyntaxError as error:
        return failed(f"bad query: {error}", ErrorKind.ERROR)
    except (ValueError, TypeError) as error:  # an option of the wrong type ("5 posts")
        return failed(f"not configured: a bad option: {_describe(error)}", ErrorKind.NOT_CONFIGURED)
    try:
        cursor = state.get_cursor(source.name)
    except Exception as error:
        logger.exception("cannot read the cursor of %s", source.name, extra={"source": source.name})
        return failed(f"store error: {_describe(error)}", ErrorKind.STORE)

    since = _int_or_none(cursor.get("since"))
    resume: JSON = cursor.get("resume")
    pending = _int_or_none(cursor.get("pending_since")) if resume is not None else None
    harvest = Harvest(
        since=since,
        newest=pending if pending is not None else since,
        keep=local_filter(node),
        source_name=source.name,
    )
    window = connector.revisit_seconds if isinstance(connector, Revisiting) else 0
    watch = ThreadWatch.from_cursor(cursor.get("threads"), window_seconds=window, now=clock())
    pushed = push_down(node, connector.pushdown)
    page_token = resume
    pages_done = 0
    complete = search_failed = False
    failure: RunFailed | None = None
    try:
        with ApiClient(settings) as client:
            caller = Caller(client, backoff or Backoff(), sleep, clock, connector)
            caller.authenticate()  # before building calls: some connectors put the token in
            follow_ups: list[RequestSpec] = []
            to_watch: list[str] = []
            try:
                for _ in range(max(1, source.max_pages)):
                    spec = connector.build_request(pushed, since=since, page=page_token)
                    page = _enriched(connector, caller, _parse(connector, caller.call(spec), spec))
                    harvest.take(page, bounded=True)
                    pages_done += 1
                    follow_ups.extend(page.follow_ups)
                    to_watch.extend(page.watch)
                    positions = page.positions.values()
                    reached = since is not None and bool(positions) and min(positions) <= since
                    if page.next_page is None or not page.items or reached:
                        complete = True
                        break
                    page_token = page.next_page
            except (RunFailed, FetchError, MalformedResponse, NotConfigured) as error:
                if pages_done == 0 and not _stale_token(error, resume):
                    raise
                failure = _as_failure(error)
                search_failed = True
                if pages_done == 0:  # a page token kept too long: never block the source
                    page_token = None
                    failure = RunFailed(
                        f"{failure}; the saved page was refused, starting over", kind=failure.kind
                    )
            fresh = _fresh_follow_ups(follow_ups, harvest, watch, window)
            if window > 0:
                _watch_kept(to_watch, harvest, watch)
            if failure is None:
                failure = _follow(connector, caller, harvest, watch, fresh, window)
    except (RunFailed, FetchError, MalformedResponse, NotConfigured) as error:
        failure = _as_failure(error)
        return failed(str(failure), _kind(failure), failure.not_before)
    except Exception as error:  # a bug must not stop the scheduler or other sources
        logger.exception("collecting %s crashed", source.name, extra={"source": source.name})
        return failed(f"internal error: {_describe(error)}", ErrorKind.INTERNAL)

    new_cursor = next_cursor(
        harvest,
        page_token=page_token,
        complete=complete,
        failed=search_failed,
        watch=watch,
    )
    # Dates only: pages already bound how many items a run keeps, and the cursor has
    # moved past every item of these pages, so capping here would lose them for good.
    screened = screen_items(harvest.kept(), now=started_at, settings=settings, cap=False)
    kept = screened.items
    message = None if failure is None else str(failure)
    if failure is not None and pages_done > 0:
        message = f"{failure}; kept {len(kept)} items from {pages_done} page(s)" + (
            ", the next run resumes at the page that failed" if search_failed else ""
        )
    run = CollectionRun(
        source_name=source.name,
        started_at=started_at,
        finished_at=finished_at(),
        status=RunStatus.OK if failure is None else RunStatus.ERROR,
        items_found=len(kept),
        items_new=0,
        error=message,
        error_kind=None if failure is None else _kind(failure).value,
        stats={"notes": screened.notes} if screened.notes else None,
    )
    try:
        items_new = state.record_collection(run=run, items=kept, cursor=new_cursor)
    except NotFoundError:
        logger.info("%s was deleted while being collected", source.name)
        return SocialRun(run=run)
    except Exception as error:
        logger.exception("cannot store the items of %s", source.name, extra={"source": source.name})
        return failed(f"store error: {_describe(error)}", ErrorKind.STORE)
    run = replace(run, items_new=items_new)
    if message is not None:
        logger.warning(
            "collecting %s failed part way: %s", source.name, message, extra={"source": source.name}
        )
    logger.info(
        "collected %s: %d items, %d new",
        source.name,
        run.items_found,
        run.items_new,
        extra={"source": source.name, "items_found": run.items_found},
    )
    return SocialRun(
        run=run,
        items=kept,
        details=harvest.details,
        cursor=new_cursor,
        not_before=_moment(failure.not_before if failure is not None else None),
    )


def _stale_token(error: Exception, resume: JSON) -> bool:
    """A resumed page refused as invalid: its token expired (X keeps them for a while)."""
    return (
        resume is not None and isinstance(error, RunFailed) and error.status in (400, 404, 410, 422)
    )


def _as_failure(error: Exception) -> RunFailed:
    if isinstance(error, RunFailed):
        return error
    if isinstance(error, NotConfigured):
        return RunFailed(f"not configured: {error}", kind=ErrorKind.NOT_CONFIGURED)
    if isinstance(error, MalformedResponse):
        return RunFailed(f"malformed response: {error}", kind=ErrorKind.PARSE)
    if isinstance(error, FetchError):
        return RunFailed(str(error), kind=error.kind)
    return RunFailed(str(error))


def _kind(failure: RunFailed) -> ErrorKind:
    try:
        return ErrorKind(failure.kind)
    except ValueError:
        return ErrorKind.ERROR


def _enriched(connector: Connector, caller: Caller, page: Page) -> Page:
    """The page with its items completed by the page's `enrich` calls."""
    items, details = page.items, dict(page.details)
    for spec in page.enrich:
        answer = _parse(connector, caller.call(spec), spec)
        items = [
            item.model_copy(update=answer.updates[item.platform_id or ""])
            if (item.platform_id or "") in answer.updates
            else item
            for item in items
        ]
        for platform_id, fields in answer.detail_updates.items():
            if platform_id in details:
                details[platform_id] = replace(details[platform_id], **fields)
    return replace(page, items=items, details=details) if page.enrich else page


def _fresh_follow_ups(
    follow_ups: list[RequestSpec], harvest: Harvest, watch: ThreadWatch, window: int
) -> list[RequestSpec]:
    """The follow-ups of items this run found new; their threads start being watched."""
    fresh = []
    for spec in follow_ups:
        thread = spec.context.get("thread")
        if thread is None:
            fresh.append(spec)
        elif str(thread) in harvest.seen_new:
            fresh.append(spec)
            if window > 0:
                posted = harvest.seen_new[str(thread)]
                watch.add(str(thread), posted_at=posted if posted is not None else int(watch.now))
    return fresh


def _watch_kept(threads: list[str], harvest: Harvest, watch: ThreadWatch) -> None:
    """Starts watching the threads of kept items that this run does not fetch."""
    kept_ids = {item.platform_id for item in harvest.items.values()}
    for thread in threads:
        if thread in kept_ids:
            posted = harvest.seen_new.get(thread)
            watch.add(thread, posted_at=int(watch.now) if posted is None else posted)


def _follow(
    connector: Connector,
    caller: Caller,
    harvest: Harvest,
    watch: ThreadWatch,
    fresh: list[RequestSpec],
    window: int,
) -> RunFailed | None:
    """Makes the follow-up calls (new threads, then revisits, then their "more" stubs)."""
    queue = deque(fresh)
    if window > 0 and isinstance(connector, Revisiting):
        started = {str(spec.context["thread"]) for spec in fresh if "thread" in spec.context}
        budget = min(MAX_REVISITS, MAX_FOLLOW_UPS - len(fresh))
        for thread in watch.due(limit=budget, exclude=started):
            queue.append(connector.thread_request(thread))
    calls = 0
    expanded: dict[str, int] = {}  # thread -> its "more" calls made in this run
    while queue and calls < MAX_FOLLOW_UPS:
        spec = queue.popleft()
        calls += 1
        try:
            page = _parse(connector, caller.call(spec), spec)
        except (RunFailed, FetchError, MalformedResponse, NotConfigured) as error:
            return _as_failure(error)
        harvest.take(page, bounded=False)
        root = spec.context.get("thread")
        if root is not None:
            watch.visited(str(root))
            nested = _rotated(page.follow_ups, watch.offset(str(root)))
        else:
            nested = page.follow_ups
        origin = str(root) if root is not None else spec.context.get("origin")
        if root is None and origin is not None:
            expanded[str(origin)] = expanded.get(str(origin), 0) + 1
        if origin is not None:
            nested = [replace(n, context={**n.context, "origin": origin}) for n in nested]
        queue.extend(nested)
    # A tree with more stubs than calls left: the next visit starts where this one ended.
    unfinished = {str(spec.context["origin"]) for spec in queue if "origin" in spec.context}
    for tree, count in expanded.items():
        watch.set_offset(tree, watch.offset(tree) + count if tree in unfinished else 0)
    return None


def _rotated(specs: list[RequestSpec], offset: int) -> list[RequestSpec]:
    if not specs or offset <= 0:
        return specs
    start = offset % len(specs)
    return specs[start:] + specs[:start]


def _parse(connector: Connector, response: ApiResponse, spec: RequestSpec) -> Page:
    try:
        return connector.parse_response(
            response.status, response.headers, response.body, request=spec
        )
    except MalformedResponse:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise MalformedResponse(_describe(error)) from None


def _moment(unix: float | None) -> datetime | None:
    return None if unix is None else datetime.fromtimestamp(unix, UTC)


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _record_run(state: CollectorState, run: CollectionRun) -> None:
    try:
        state.record_run(run)
    except NotFoundError:
        logger.info("%s was deleted while being collected", run.source_name)
    except Exception:
        logger.exception("cannot record the run of %s", run.source_name)


def _describe(error: BaseException) -> str:
    text = " ".join(str(error).split())[:200]
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
