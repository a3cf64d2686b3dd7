"""YouTube Data API v3: search pages, comment threads, quota errors, the API key."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

from services.collector.social.base import SocialSource
from services.collector.social.registry import available_kinds
from services.collector.social.runner import collect_social
from services.collector.social.youtube import YouTubeConnector
from services.core.models import RunStatus
from services.core.settings import CollectorSettings
from services.store.state import SqlStateStore
from tests.httpserver import HTTPTestServer, RecordedRequest, Response
from tests.social.conftest import fixture_path

P1 = fixture_path("youtube/search_by_keywords_p1.json").read_bytes()
P2 = fixture_path("youtube/search_by_keywords_p2.json").read_bytes()
THREADS = fixture_path("youtube/comment_threads_by_video_paged_1.json").read_bytes()
ENV = {"VEILLE_YOUTUBE_API_KEY": "yt-key"}


def test_a_search_page_and_comment_threads_are_parsed() -> None:
    connector = YouTubeConnector()
    connector.configure({}, ENV)
    spec = connector.build_request("surfing", since=None, page=None)
    page = connector.parse_response(200, {}, P1, request=spec)
    assert len(page.items) == 25 and page.next_page == "CBkQAA"
    video = page.items[0]
    assert video.platform_id == "gQ_1zX-F_No"
    assert video.url == "https://www.youtube.com/watch?v=gQ_1zX-F_No"
    assert video.title.startswith("SURFING HAWAII")
    assert page.details["gQ_1zX-F_No"].author_id == "UCo_q6aOlvPH7M-j_XGWVgXg"
    assert len(page.follow_ups) == 5 and page.follow_ups[0].purpose == "comments"

    spec = connector.comments_request("F1UP7wRCPH8")
    threads = connector.parse_response(200, {}, THREADS, request=spec)
    first = threads.items[0]
    assert first.platform_id == "UgyZ1jqkHKYvi1-ruOZ4AaABAg"
    assert first.text == "Google.com"
    assert first.author == "himani agarwal"
    assert first.url == "https://www.youtube.com/watch?v=F1UP7wRCPH8&lc=UgyZ1jqkHKYvi1-ruOZ4AaABAg"
    assert (first.engagement.likes, first.engagement.replies) == (0, 0)
    assert threads.details[first.platform_id].parent_id == "F1UP7wRCPH8"
    assert threads.next_page is None


def test_without_an_api_key_youtube_is_disabled() -> None:
    kinds = {info.kind: info for info in available_kinds(env={})}
    assert not kinds["youtube"].enabled
    assert (
        kinds["youtube"].reason is not None and "VEILLE_YOUTUBE_API_KEY" in kinds["youtube"].reason
    )
    assert {info.kind: info for info in available_kinds(env=ENV)}["youtube"].enabled


def test_a_run_pages_and_fetches_comments(
    server: HTTPTestServer, settings: CollectorSettings, state: SqlStateStore
) -> None:
    def search(request: RecordedRequest) -> Response:
        return Response(200, P2 if "pageToken" in parse_qs(request.query) else P1)

    server.add("/youtube/v3/search", handler=search)
    server.add("/youtube/v3/commentThreads", body=THREADS)
    source = SocialSource(
        name="social",
        kind="youtube",
        query="",
        options={"base_url": server.url("/youtube/v3"), "comment_videos": 1},
        max_pages=2,
    )
    result = collect_social(
        source, connector=YouTubeConnector(), state=state, settings=settings, env=ENV
    )
    assert result.run.status is RunStatus.OK, result.run.error
    searches = server.requests_for("/youtube/v3/search")
    assert len(searches) == 2 and parse_qs(searches[1].query)["pageToken"] == ["CBkQAA"]
    assert parse_qs(searches[0].query)["key"] == ["yt-key"]
    assert len(server.requests_for("/youtube/v3/commentThreads")) == 2  # one per page
    kinds = {d.kind for d in result.details.values()}
    assert kinds == {"video", "comment"}


def test_a_quota_error_is_a_rate_limit(
    server: HTTPTestServer, settings: CollectorSettings, state: SqlStateStore
) -> None:
    quota = {"error": {"code": 403, "message": "quota", "errors": [{"reason": "quotaExceeded"}]}}
    server.add("/youtube/v3/search", status=403, body=json.dumps(quota).encode())
    source = SocialSource(
        name="social", kind="youtube", query="surf", options={"base_url": server.url("/youtube/v3")}
    )
    sleeps: list[float] = []
    result = collect_social(
        source,
        connector=YouTubeConnector(),
        state=state,
        settings=settings,
        env=ENV,
        sleep=sleeps.append,
    )
    assert result.run.error is not None and result.run.error.startswith("rate limited: HTTP 403")
    assert "yt-key" not in result.run.error
