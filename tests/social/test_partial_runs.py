"""A run failing on page N keeps pages 1..N-1 and resumes exactly at page N.

Each failure (a 429, a 5xx, a time-out, a malformed body) on the second page, for two
connectors with different paging: Hacker News (page numbers) and Bluesky (an opaque
cursor). The next run must ask for the failed page, not the first one nor the third,
store what it adds once, and move `since` past everything stored.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

import pytest

from services.collector.social.base import Connector, SocialSource
from services.collector.social.bluesky import BlueskyConnector
from services.collector.social.hackernews import HackerNewsConnector
from services.collector.social.ratelimit import Backoff
from services.collector.social.runner import collect_social
from services.core.models import RunStatus
from services.core.settings import CollectorSettings
from services.store.state import SqlStateStore
from tests.httpserver import HTTPTestServer, RecordedRequest, Response
from tests.social.test_bluesky import POST
from tests.social.test_bluesky import envelope as bluesky_envelope
from tests.social.test_hackernews import STORY
from tests.social.test_hackernews import envelope as hn_envelope

SINCE = 1_600_000_000
PAGE_1 = [SINCE + 500, SINCE + 400]  # positions, newest first
PAGE_2 = [SINCE + 300, SINCE + 200]
PAGE_3 = [SINCE + 100, SINCE - 100]  # reaches `since`: the last page


def hn_hit(at: int) -> dict[str, Any]:
    return {**STORY, "objectID": str(at), "created_at_i": at}


def bluesky_post(at: int) -> dict[str, Any]:
    moment = datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return {
        **POST,
        "uri": f"at://did:plc:kvwvcn5iqfooopmyzvb4qzba/app.bsky.feed.post/{at}",
        "indexedAt": moment,
        "record": {**POST["record"], "createdAt": moment},
    }


@dataclass(frozen=True)
class Platform:
    """How one connector pages: its path, page parameter, tokens and answers."""

    kind: str
    path: str
    make: Callable[[], Connector]
    options: Callable[[HTTPTestServer], dict[str, Any]]
    page_param: str
    tokens: tuple[Any, Any]  # the tokens of pages 2 and 3, as the cursor saves them
    answer: Callable[[list[int], Any], bytes]  # positions, next token -> body

    def page_of(self, request: RecordedRequest) -> int:
        token = parse_qs(request.query).get(self.page_param, [None])[0]
        return 1 if token is None else 2 + [str(t) for t in self.tokens].index(token)


HN = Platform(
    kind="hackernews",
    path="/api/v1/search_by_date",
    make=HackerNewsConnector,
    options=lambda server: {"base_url": server.url("/api/v1")},
    page_param="page",
    tokens=(1, 2),  # Algolia's page numbers, 0-based
    answer=lambda at, token: hn_envelope(
        [hn_hit(t) for t in at], page=2 if token is None else token - 1, pages=3
    ),
)
BLUESKY = Platform(
    kind="bluesky",
    path="/xrpc/app.bsky.feed.searchPosts",
    make=BlueskyConnector,
    options=lambda server: {"base_url": server.base_url},
    page_param="cursor",
    tokens=("c2", "c3"),
    answer=lambda at, token: bluesky_envelope([bluesky_post(t) for t in at], token),
)
PLATFORMS = {"hackernews": HN, "bluesky": BLUESKY}


def failure(kind: str) -> Response:
    return {
        "429": Response(429, b'{"message": "slow down"}', {"Retry-After": "3600"}),
        "5xx": Response(503, b'{"message": "overloaded"}'),
        "time-out": Response(200, b"{}", delay=60),  # cut short when the server stops
        "malformed": Response(200, b'{"posts": "nope", "hits": "nope"'),
    }[kind]


TIME_OUT_SECONDS = 2.0

ERRORS = {
    "429": "rate limited: HTTP 429",
    "5xx": "HTTP 503 Service Unavailable: overloaded",
    "time-out": "unreachable: timed out",
    "malformed": "malformed response: ",
}


class Replay:
    """Pages 1-3 of a search, with page 2 failing until `healed`."""

    def __init__(self, platform: Platform, fail: str) -> None:
        self.platform, self.fail, self.healed = platform, fail, False

    def __call__(self, request: RecordedRequest) -> Response:
        page = self.platform.page_of(request)
        if page == 2 and not self.healed:
            return failure(self.fail)
        positions = {1: PAGE_1, 2: PAGE_2, 3: PAGE_3}[page]
        following = self.platform.tokens[page - 1] if page < 3 else None
        return Response(200, self.platform.answer(positions, following))


def run(
    platform: Platform, server: HTTPTestServer, settings: CollectorSettings, state: SqlStateStore
) -> Any:
    return collect_social(
        SocialSource(
            name="social", kind=platform.kind, options=platform.options(server), max_pages=5
        ),
        connector=platform.make(),
        state=state,
        settings=settings,
        env={},
        backoff=Backoff(max_retries=0),
        sleep=lambda _seconds: None,
    )


@pytest.mark.parametrize("fail", ["429", "5xx", "time-out", "malformed"])
@pytest.mark.parametrize("kind", ["hackernews", "bluesky"])
def test_a_failed_page_keeps_the_pages_before_and_resumes_at_it(
    kind: str,
    fail: str,
    server: HTTPTestServer,
    settings: CollectorSettings,
    state: SqlStateStore,
) -> None:
    platform = PLATFORMS[kind]
    replay = Replay(platform, fail)
    server.add(platform.path, handler=replay)
    state.set_cursor("social", {"since": SINCE})

    # Page 1 must come back within the time-out and page 2 never does: where page 2 is
    # to time out, a short one (each such test waits it out) with twice the margin over
    # the longest stall seen on a loaded machine; the generous default elsewhere.
    short = settings.model_copy(update={"timeout_seconds": TIME_OUT_SECONDS})
    first = run(platform, server, short if fail == "time-out" else settings, state)
    assert first.run.status is RunStatus.ERROR
    assert first.run.error.startswith(ERRORS[fail]), first.run.error
    assert "kept 2 items from 1 page(s)" in first.run.error
    assert first.run.items_new == 2
    assert state.get_cursor("social") == {
        "since": SINCE,
        "resume": platform.tokens[0],
        "pending_since": PAGE_1[0],
    }
    status = state.source_status("social")
    assert status.last_status is RunStatus.ERROR and status.last_error == first.run.error

    replay.healed = True
    asked = len(server.requests_for(platform.path))
    second = run(platform, server, settings, state)
    assert second.run.status is RunStatus.OK, second.run.error
    pages = [platform.page_of(r) for r in server.requests_for(platform.path)[asked:]]
    assert pages == [2, 3]  # resumed exactly at the failed page, not before
    assert second.run.items_new == 3  # pages 2 and 3 newer than `since`; none twice
    assert state.get_cursor("social") == {"since": PAGE_1[0]}
    stored = [c.item.published_at for c in state.claim_items(limit=100)]
    expected = [*PAGE_1, *PAGE_2, PAGE_3[0]]
    assert sorted(int(t.timestamp()) for t in stored if t) == sorted(expected)


@pytest.mark.parametrize("kind", ["hackernews", "bluesky"])
def test_a_first_run_failing_part_way_resumes_its_backfill(
    kind: str, server: HTTPTestServer, settings: CollectorSettings, state: SqlStateStore
) -> None:
    platform = PLATFORMS[kind]
    replay = Replay(platform, "5xx")
    server.add(platform.path, handler=replay)
    first = run(platform, server, settings, state)
    assert first.run.items_new == 2
    assert state.get_cursor("social") == {
        "resume": platform.tokens[0],
        "pending_since": PAGE_1[0],
    }
    replay.healed = True
    second = run(platform, server, settings, state)
    assert second.run.status is RunStatus.OK and second.run.items_new == 4
    assert state.get_cursor("social") == {"since": PAGE_1[0]}


@pytest.mark.parametrize("fail", ["429", "5xx", "time-out", "malformed"])
def test_a_failed_first_page_stores_nothing_and_keeps_the_cursor(
    fail: str, server: HTTPTestServer, settings: CollectorSettings, state: SqlStateStore
) -> None:
    server.add(BLUESKY.path, handler=lambda _request: failure(fail))
    saved = {"since": SINCE, "resume": "c2", "pending_since": PAGE_1[0]}
    state.set_cursor("social", saved)
    # Nothing must answer in time here: a time-out as short as it can be.
    short = settings.model_copy(update={"timeout_seconds": 0.3})
    result = run(BLUESKY, server, short if fail == "time-out" else settings, state)
    assert result.run.error.startswith(ERRORS[fail]) and "kept" not in result.run.error
    assert state.get_cursor("social") == saved
    assert state.inbox_counts()["pending"] == 0


def test_a_failed_follow_up_keeps_the_search_and_watches_the_thread(
    server: HTTPTestServer, settings: CollectorSettings, state: SqlStateStore
) -> None:
    """YouTube: the comments call of a new video fails; the video is stored, `since`
    moves on, and the video stays watched so the next run fetches its comments."""
    from services.collector.social.youtube import YouTubeConnector
    from tests.social.test_youtube import CHANNELS, ENV, P1, STATS, THREADS

    failures = iter([Response(503, b'{"message": "backend error"}')])
    nothing_new = json.dumps({"kind": "youtube#searchListResponse", "items": []}).encode()
    searches = iter([Response(200, P1), Response(200, nothing_new)])
    server.add("/youtube/v3/search", handler=lambda _request: next(searches))
    server.add("/youtube/v3/videos", body=STATS)
    server.add("/youtube/v3/channels", body=CHANNELS)
    server.add(
        "/youtube/v3/commentThreads",
        handler=lambda _request: next(failures, Response(200, THREADS)),
    )
    server.add("/youtube/v3/comments", body=json.dumps({"items": []}).encode())
    source = SocialSource(
        name="social",
        kind="youtube",
        options={"base_url": server.url("/youtube/v3"), "comment_videos": 1},
        max_pages=1,
    )

    published = json.loads(P1)["items"][0]["snippet"]["publishedAt"]
    now = datetime.fromisoformat(published.replace("Z", "+00:00")).timestamp() + 3600

    def collect() -> Any:
        return collect_social(
            source,
            connector=YouTubeConnector(),
            state=state,
            settings=settings,
            env=ENV,
            backoff=Backoff(max_retries=0),
            clock=lambda: now,  # an hour after the video was published
        )

    first = collect()
    assert first.run.status is RunStatus.ERROR
    assert first.run.error.startswith("HTTP 503 Service Unavailable: backend error")
    assert first.run.items_new == 25  # the videos, with their statistics
    cursor = state.get_cursor("social")
    assert "resume" not in cursor and cursor["threads"]["gQ_1zX-F_No"][1] == 0  # not visited
    second = collect()  # the search finds nothing new: the watch alone asks for the thread
    assert second.run.status is RunStatus.OK, second.run.error
    revisited = [
        parse_qs(r.query)["videoId"][0] for r in server.requests_for("/youtube/v3/commentThreads")
    ][1:]
    assert sorted(revisited) == sorted(cursor["threads"])  # every video watched, once
    assert "gQ_1zX-F_No" in revisited
    assert second.run.items_new >= 5  # the comment threads, collected late but collected


def test_a_page_whose_statistics_call_fails_is_not_received(
    server: HTTPTestServer, settings: CollectorSettings, state: SqlStateStore
) -> None:
    """YouTube: a search page counts once its videos.list call answered; page 1 here."""
    from services.collector.social.youtube import YouTubeConnector
    from tests.social.test_youtube import ENV, P1

    server.add("/youtube/v3/search", body=P1)
    server.add("/youtube/v3/videos", status=500, body=b'{"error": {"message": "backend"}}')
    state.set_cursor("social", {"since": SINCE})
    result = collect_social(
        SocialSource(
            name="social", kind="youtube", options={"base_url": server.url("/youtube/v3")}
        ),
        connector=YouTubeConnector(),
        state=state,
        settings=settings,
        env=ENV,
        backoff=Backoff(max_retries=0),
    )
    assert result.run.error == "HTTP 500 Internal Server Error: backend"
    assert state.get_cursor("social") == {"since": SINCE}
    assert state.inbox_counts()["pending"] == 0


def test_a_saved_page_the_platform_refuses_does_not_block_the_source(
    server: HTTPTestServer, settings: CollectorSettings, state: SqlStateStore
) -> None:
    def search(request: RecordedRequest) -> Response:
        if "cursor" in parse_qs(request.query):
            return Response(400, b'{"error": "InvalidRequest", "message": "malformed cursor"}')
        return Response(200, BLUESKY.answer(PAGE_3, None))

    server.add(BLUESKY.path, handler=search)
    state.set_cursor("social", {"since": SINCE, "resume": "c2", "pending_since": PAGE_1[0]})
    first = run(BLUESKY, server, settings, state)
    assert first.run.error == (
        "HTTP 400 Bad Request: malformed cursor; the saved page was refused, starting over"
    )
    assert state.get_cursor("social") == {"since": SINCE}
    second = run(BLUESKY, server, settings, state)
    assert second.run.status is RunStatus.OK and second.run.items_new == 1
    assert state.get_cursor("social") == {"since": PAGE_3[0]}
