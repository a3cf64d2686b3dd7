"""Collects one social source once: saved position in, new items and position out.

Like the feed runner (`services.collector.runner`): items, cursor and run are
recorded in one `record_collection` call, the store drops items it already has, a
failed run is recorded with `record_run` and leaves the cursor as it was, and
`collect_social` never raises.

The cursor is `{"since": P}`: the highest position (see `base.py`) stored so far.
A run asks for pages newest first and stops at the first page reaching `since`
(items at exactly `since` are asked again: the store drops them). When `max_pages`
runs out first, the cursor becomes `{"since": P, "resume": <next page>,
"pending_since": <newest seen>}` and the next run carries on from the page it
stopped at before moving `since` on, so nothing between is skipped. A first run
(no `since`) takes the newest `max_pages` pages only.

A 429 is retried after its Retry-After (or the quota's reset) when that is at most
`Backoff.max_wait_seconds`, a 5xx after an exponential backoff with jitter, both at
most `Backoff.max_retries` times; a spent quota is waited for before the next call.
A 429, 5xx, 4xx, time-out or malformed body that persists ends the run: nothing is
stored, the cursor stays, and the run's error says why ("rate limited: ",
"unreachable: ", "HTTP 503 ...", "malformed response: ", "not configured: ").
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Any

from services.collector.fetching import FetchError
from services.collector.runner import CollectorState
from services.collector.social.base import (
    JSON,
    Authenticating,
    Connector,
    ItemDetails,
    MalformedResponse,
    NotConfigured,
    Page,
    RequestSpec,
    SocialSource,
)
from services.collector.social.http import ApiClient, ApiResponse
from services.collector.social.query_pushdown import local_filter, push_down
from services.collector.social.ratelimit import (
    Backoff,
    RateLimit,
    parse_rate_limit,
    parse_retry_after,
)
from services.core.models import AuthorDetails, RawItem, RunStatus, ThreadLink, utcnow
from services.core.query import QuerySyntaxError, parse_query
from services.core.settings import CollectorSettings
from services.store.state.contract import CollectionRun, NotFoundError

logger = logging.getLogger("veille.collector.social")

MAX_FOLLOW_UPS = 20  # extra calls (comments) per run, so one run stays polite


class RunFailed(Exception):
    """Ends a run; `str(error)` is the run's error, `not_before` when to come back."""

    def __init__(self, message: str, *, not_before: float | None = None) -> None:
        super().__init__(message)
        self.not_before = not_before


@dataclass(frozen=True)
class SocialRun:
    """What a run did: the recorded run, the items kept and what RawItem cannot hold."""

    run: CollectionRun
    items: list[RawItem] = field(default_factory=list)
    details: dict[str, ItemDetails] = field(default_factory=dict)
    cursor: dict[str, Any] | None = None  # the cursor saved; None: left as it was
    not_before: datetime | None = None  # a rate limit asks not to call before then


@dataclass
class _Caller:
    """Makes calls with retries, waiting as the platform's rate limits ask."""

    client: ApiClient
    backoff: Backoff
    sleep: Callable[[float], None]
    clock: Callable[[], float]
    quota_error: Callable[[bytes], bool]
    rate_limit: RateLimit | None = None

    def call(self, spec: RequestSpec) -> ApiResponse:
        for attempt in range(self.backoff.max_retries + 1):
            self._respect_quota()
            response = self.client.send(spec)
            now = self.clock()
            self.rate_limit = parse_rate_limit(response.headers, now) or self.rate_limit
            status = response.status
            if 200 <= status < 300:
                return response
            last = attempt == self.backoff.max_retries
            spent = self._quota_spent() or self.quota_error(response.body)
            if status == 429 or (status == 403 and spent):
                wait = parse_retry_after(response.headers.get("retry-after"), now)
                if wait is None and self.rate_limit is not None:
                    wait = self.rate_limit.wait_seconds(now) or None
                if wait is None:
                    wait = self.backoff.delay(attempt)
                if last or wait > self.backoff.max_wait_seconds:
                    raise RunFailed(
                        f"rate limited: HTTP {status}, retry after {wait:.0f} s",
                        not_before=now + wait,
                    )
                self.sleep(wait)
                continue
            if status >= 500 and not last:
                wait = parse_retry_after(response.headers.get("retry-after"), now)
                backoff = self.backoff.delay(attempt)
                self.sleep(min(wait, self.backoff.max_seconds) if wait else backoff)
                continue
            raise RunFailed(_status_message(response))
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover

    def _quota_spent(self) -> bool:
        return self.rate_limit is not None and self.rate_limit.remaining == 0

    def _respect_quota(self) -> None:
        if self.rate_limit is None:
            return
        now = self.clock()
        wait = self.rate_limit.wait_seconds(now)
        if wait > self.backoff.max_wait_seconds:
            raise RunFailed(
                f"rate limited: quota spent, resets in {wait:.0f} s", not_before=now + wait
            )
        if wait > 0:
            self.sleep(wait)
            self.rate_limit = None


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
    watch = time.monotonic()

    def finished_at() -> datetime:
        return started_at + timedelta(seconds=time.monotonic() - watch)

    def failed(message: str, not_before: float | None = None) -> SocialRun:
        run = CollectionRun(
            source_name=source.name,
            started_at=started_at,
            finished_at=finished_at(),
            status=RunStatus.ERROR,
            items_found=0,
            items_new=0,
            error=message,
        )
        _record_run(state, run)
        logger.warning(
            "collecting %s failed: %s", source.name, message, extra={"source": source.name}
        )
        when = None if not_before is None else datetime.fromtimestamp(not_before, UTC)
        return SocialRun(run=run, not_before=when)

    try:
        connector.configure(source.options, os.environ if env is None else env)
        node = parse_query(source.query)
    except NotConfigured as error:
        return failed(f"not configured: {error}")
    except QuerySyntaxError as error:
        return failed(f"bad query: {error}")
    try:
        cursor = state.get_cursor(source.name)
    except Exception as error:
        logger.exception("cannot read the cursor of %s", source.name, extra={"source": source.name})
        return failed(f"store error: {_describe(error)}")

    since = _int_or_none(cursor.get("since"))
    resume: JSON = cursor.get("resume") if since is not None else None
    pending = _int_or_none(cursor.get("pending_since")) if resume is not None else None
    keep = local_filter(node)
    pushed = push_down(node, connector.pushdown)
    items: dict[str, RawItem] = {}
    details: dict[str, ItemDetails] = {}
    seen_new: set[str] = set()  # platform ids of the items at or after `since`
    newest = pending if pending is not None else since

    def take(page: Page, *, bounded: bool) -> None:
        nonlocal newest
        for found in page.items:
            item = found.model_copy(update={"source_name": source.name})
            position = page.positions.get(item.platform_id or "")
            if bounded and since is not None and position is not None and position < since:
                continue
            # Follow-ups (comments) do not move `since`: it tracks the search's order.
            if bounded and position is not None and (newest is None or position > newest):
                newest = position
            seen_new.add(item.platform_id or "")
            if keep(item):
                items[item.mention_id] = item
                if item.platform_id in page.details:
                    details[item.platform_id] = page.details[item.platform_id]

    try:
        with ApiClient(settings) as client:
            quota_error = getattr(connector, "is_quota_error", _never)
            caller = _Caller(client, backoff or Backoff(), sleep, clock, quota_error)
            if isinstance(connector, Authenticating):
                auth = connector.auth_request()
                if auth is not None:
                    answer = caller.call(auth)
                    connector.parse_auth(answer.status, answer.headers, answer.body)
            page_token = resume
            complete = False
            follow_ups: list[RequestSpec] = []
            for _ in range(max(1, source.max_pages)):
                spec = connector.build_request(pushed, since=since, page=page_token)
                page = _parse(connector, caller.call(spec), spec)
                take(page, bounded=True)
                follow_ups.extend(page.follow_ups)
                positions = page.positions.values()
                reached = since is not None and bool(positions) and min(positions) <= since
                if page.next_page is None or not page.items or reached:
                    complete = True
                    break
                page_token = page.next_page
            # Only the threads of items this run found new (not those of older items).
            wanted = [
                spec
                for spec in follow_ups
                if str(spec.context.get("parent_id", "")) in seen_new
                or "parent_id" not in spec.context
            ]
            for spec in wanted[:MAX_FOLLOW_UPS]:
                take(_parse(connector, caller.call(spec), spec), bounded=False)
    except RunFailed as error:
        return failed(str(error), error.not_before)
    except NotConfigured as error:
        return failed(f"not configured: {error}")
    except (FetchError, MalformedResponse) as error:
        prefix = "malformed response: " if isinstance(error, MalformedResponse) else ""
        return failed(f"{prefix}{error}")
    except Exception as error:  # a bug must not stop the scheduler or other sources
        logger.exception("collecting %s crashed", source.name, extra={"source": source.name})
        return failed(f"internal error: {_describe(error)}")

    new_cursor: dict[str, Any]
    if complete or since is None:
        new_cursor = {"since": newest} if newest is not None else {}
    else:
        new_cursor = {"since": since, "resume": page_token, "pending_since": newest}
    kept = [_with_details(item, details.get(item.platform_id or "")) for item in items.values()]
    run = CollectionRun(
        source_name=source.name,
        started_at=started_at,
        finished_at=finished_at(),
        status=RunStatus.OK,
        items_found=len(kept),
        items_new=0,
    )
    try:
        items_new = state.record_collection(run=run, items=kept, cursor=new_cursor)
    except NotFoundError:
        logger.info("%s was deleted while being collected", source.name)
        return SocialRun(run=run)
    except Exception as error:
        logger.exception("cannot store the items of %s", source.name, extra={"source": source.name})
        return failed(f"store error: {_describe(error)}")
    run = replace(run, items_new=items_new)
    logger.info(
        "collected %s: %d items, %d new",
        source.name,
        run.items_found,
        run.items_new,
        extra={"source": source.name, "items_found": run.items_found},
    )
    return SocialRun(run=run, items=kept, details=details, cursor=new_cursor)


def _parse(connector: Connector, response: ApiResponse, spec: RequestSpec) -> Page:
    try:
        return connector.parse_response(
            response.status, response.headers, response.body, request=spec
        )
    except MalformedResponse:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise MalformedResponse(_describe(error)) from None


def _status_message(response: ApiResponse) -> str:
    try:
        reason = HTTPStatus(response.status).phrase
    except ValueError:
        reason = ""
    detail = _error_detail(response.body)
    message = f"HTTP {response.status} {reason}".rstrip()
    return f"{message}: {detail}" if detail else message


def _error_detail(body: bytes) -> str:
    """The platform's own error message, when the body is JSON that carries one."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return ""
    for key in ("message", "error_description", "error", "detail", "title"):
        value = data.get(key) if isinstance(data, dict) else None
        if isinstance(value, dict):
            value = value.get("message")
        if isinstance(value, str | int) and str(value).strip():
            return " ".join(str(value).split())[:200]
    return ""


def _never(_body: bytes) -> bool:
    return False


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


def _with_details(item: RawItem, details: ItemDetails | None) -> RawItem:
    """The item carrying what the platform said about its author and thread."""
    if details is None:
        return item
    return item.model_copy(
        update={
            "author_details": AuthorDetails(
                id=details.author_id,
                display_name=details.author_name,
                followers=details.author_followers,
                deleted=details.author_deleted,
            ),
            "thread": ThreadLink(
                item_kind=details.kind,
                parent_id=details.parent_id,
                root_id=details.root_id,
                url=details.thread_url,
            ),
        }
    )
