"""A 429, a 5xx, a time-out, a malformed body: the cursor stays, the status says why."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest

from services.collector.social.base import SocialSource
from services.collector.social.hackernews import HackerNewsConnector
from services.collector.social.ratelimit import Backoff
from services.collector.social.runner import SocialRun, collect_social
from services.core.models import RunStatus
from services.core.settings import CollectorSettings
from services.store.state import SqlStateStore
from tests.httpserver import HTTPTestServer, Response
from tests.social.conftest import fixture_json

PATH = "/api/v1/search_by_date"
CURSOR = {"since": 1300000000}
OK_BODY = json.dumps({"hits": [], "page": 0, "nbPages": 1}).encode()
NOW = 1_700_000_000.0


def run(
    server: HTTPTestServer,
    settings: CollectorSettings,
    state: SqlStateStore,
    sleeps: list[float],
    **backoff: float,
) -> SocialRun:
    return collect_social(
        SocialSource(name="social", kind="hackernews", options={"base_url": server.url("/api/v1")}),
        connector=HackerNewsConnector(),
        state=state,
        settings=settings,
        env={},
        backoff=Backoff(jitter=lambda: 1.0, **backoff),  # type: ignore[arg-type]
        sleep=sleeps.append,
        clock=lambda: NOW,
    )


def assert_failed_keeping_cursor(state: SqlStateStore, result: SocialRun, error: str) -> None:
    assert result.run.status is RunStatus.ERROR
    assert result.run.error is not None and result.run.error.startswith(error), result.run.error
    assert state.get_cursor("social") == CURSOR
    status = state.source_status("social")
    assert status.last_status is RunStatus.ERROR and status.last_error == result.run.error
    assert state.inbox_counts()["pending"] == 0


@pytest.fixture(autouse=True)
def saved_cursor(state: SqlStateStore) -> None:
    state.set_cursor("social", CURSOR)


def test_a_long_retry_after_ends_the_run(
    server: HTTPTestServer, settings: CollectorSettings, state: SqlStateStore, sleeps: list[float]
) -> None:
    server.add(PATH, status=429, body=b'{"message": "slow down"}', headers={"Retry-After": "3600"})
    result = run(server, settings, state, sleeps)
    assert_failed_keeping_cursor(state, result, "rate limited: HTTP 429, retry after 3600 s")
    assert result.not_before == datetime.fromtimestamp(NOW + 3600, UTC)
    assert len(server.requests_for(PATH)) == 1 and sleeps == []  # no hammering


def test_a_short_retry_after_is_waited_then_retried(
    server: HTTPTestServer, settings: CollectorSettings, state: SqlStateStore, sleeps: list[float]
) -> None:
    answers = iter(
        [
            Response(
                429,
                b"",
                {"Retry-After": format_datetime(datetime.fromtimestamp(NOW + 7, UTC), usegmt=True)},
            ),
            Response(200, OK_BODY),
        ]
    )
    server.add(PATH, handler=lambda _request: next(answers))
    result = run(server, settings, state, sleeps)
    assert result.run.status is RunStatus.OK
    assert sleeps == [7.0]


def test_a_persistent_429_is_retried_a_bounded_number_of_times(
    server: HTTPTestServer, settings: CollectorSettings, state: SqlStateStore, sleeps: list[float]
) -> None:
    server.add(PATH, status=429, body=b"", headers={"Retry-After": "2"})
    result = run(server, settings, state, sleeps, max_retries=2)
    assert_failed_keeping_cursor(state, result, "rate limited: HTTP 429")
    assert len(server.requests_for(PATH)) == 3 and sleeps == [2.0, 2.0]


def test_a_spent_quota_is_waited_for_before_the_next_call(
    server: HTTPTestServer, settings: CollectorSettings, state: SqlStateStore, sleeps: list[float]
) -> None:
    # Reddit-style headers: the quota is spent for 5 more seconds.
    spent = {"x-ratelimit-remaining": "0.0", "x-ratelimit-reset": "5"}
    hit = {**{"objectID": "1", "created_at_i": 1400000000, "_tags": ["story"], "title": "a"}}
    pages = iter(
        [
            Response(200, json.dumps({"hits": [hit], "page": 0, "nbPages": 2}).encode(), spent),
            Response(200, OK_BODY),
        ]
    )
    server.add(PATH, handler=lambda _request: next(pages))
    result = run(server, settings, state, sleeps)
    assert result.run.status is RunStatus.OK
    assert sleeps == [5.0]


def test_a_5xx_is_retried_with_backoff_then_reported(
    server: HTTPTestServer, settings: CollectorSettings, state: SqlStateStore, sleeps: list[float]
) -> None:
    error = fixture_json("youtube/error_permission_resp.json")  # a real JSON error body
    server.add(PATH, status=503, body=json.dumps(error).encode())
    result = run(server, settings, state, sleeps, base_seconds=1.0, max_retries=2)
    assert_failed_keeping_cursor(
        state, result, "HTTP 503 Service Unavailable: The caller does not have permission"
    )
    assert sleeps == [1.0, 2.0]  # exponential (jitter pinned to its maximum)


def test_a_time_out_is_reported_as_unreachable(
    server: HTTPTestServer, settings: CollectorSettings, state: SqlStateStore, sleeps: list[float]
) -> None:
    server.add(PATH, body=OK_BODY, delay=60)  # cut short when the server stops
    fast = settings.model_copy(update={"timeout_seconds": 0.3})
    result = run(server, fast, state, sleeps)
    assert_failed_keeping_cursor(state, result, "unreachable: timed out")
    assert state.source_status("social").state == "unreachable"


@pytest.mark.parametrize(
    "body",
    [b"<html>oops</html>", b"[]", b'{"results": []}', b'{"hits": [], "page": 0, "nbPages": 2'],
)
def test_a_malformed_body_is_reported(
    server: HTTPTestServer,
    settings: CollectorSettings,
    state: SqlStateStore,
    sleeps: list[float],
    body: bytes,
) -> None:
    server.add(PATH, body=body)
    result = run(server, settings, state, sleeps)
    assert_failed_keeping_cursor(state, result, "malformed response: ")


def test_a_4xx_is_not_retried(
    server: HTTPTestServer, settings: CollectorSettings, state: SqlStateStore, sleeps: list[float]
) -> None:
    server.add(PATH, status=400, body=b'{"message": "invalid numericFilters"}')
    result = run(server, settings, state, sleeps)
    assert_failed_keeping_cursor(state, result, "HTTP 400 Bad Request: invalid numericFilters")
    assert len(server.requests_for(PATH)) == 1


def test_a_private_base_url_is_refused_by_the_ssrf_guard(
    state: SqlStateStore, sleeps: list[float]
) -> None:
    result = collect_social(
        SocialSource(
            name="social", kind="hackernews", options={"base_url": "http://127.0.0.1:9/api/v1"}
        ),
        connector=HackerNewsConnector(),
        state=state,
        settings=CollectorSettings(),
        env={},
        sleep=sleeps.append,
    )
    assert_failed_keeping_cursor(state, result, "refused: 127.0.0.1 is a loopback address")


def test_a_bad_query_is_reported(state: SqlStateStore, sleeps: list[float]) -> None:
    result = collect_social(
        SocialSource(name="social", kind="hackernews", query='"unclosed'),
        connector=HackerNewsConnector(),
        state=state,
        settings=CollectorSettings(),
        env={},
    )
    assert_failed_keeping_cursor(state, result, "bad query: ")


def test_an_option_of_the_wrong_type_is_reported(state: SqlStateStore, sleeps: list[float]) -> None:
    from services.collector.social.reddit import RedditConnector

    result = collect_social(
        SocialSource(name="social", kind="reddit", options={"revisit_hours": "two days"}),
        connector=RedditConnector(),
        state=state,
        settings=CollectorSettings(),
        env={"VEILLE_REDDIT_CLIENT_ID": "id", "VEILLE_REDDIT_CLIENT_SECRET": "secret"},
    )
    assert_failed_keeping_cursor(state, result, "not configured: a bad option: ValueError")
