"""YouTube Data API v3: search pages, comment threads, quota errors, the API key."""

from __future__ import annotations

import json
import re
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
STATS = fixture_path("youtube/videos_statistics_search_p1.json").read_bytes()
CHANNELS = fixture_path("youtube/channels_statistics_search_p1.json").read_bytes()
VIDEO_SNIPPET = fixture_path("youtube/videos_info_single.json").read_bytes()
WITH_REPLIES = fixture_path("youtube/comment_threads_with_replies.json").read_bytes()
REPLIES_1 = fixture_path("youtube/comments_by_parent_paged_1.json").read_bytes()
REPLIES_2 = fixture_path("youtube/comments_by_parent_paged_2.json").read_bytes()
THREAD_ID = "Ugw5zYU6n9pmIgAZWvN4AaABAg"
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


def test_search_titles_are_unescaped() -> None:
    # search.list escapes titles as HTML ("World&#39;s best"); stored as sent, they would
    # read so in the dashboard, reports and exports, and a query for "World's" would miss.
    connector = YouTubeConnector()
    connector.configure({}, ENV)
    spec = connector.build_request("surfing", since=None, page=None)
    titles = [item.title for item in connector.parse_response(200, {}, P1, request=spec).items]
    assert "World's best surfing 2017" in titles
    assert "SURFING PERFECT PIPE & BACKDOOR || SUNRISE SHACK!" in titles
    assert not [t for t in titles if re.search(r"&(#\d+|#x[0-9a-f]+|[a-z]+);", t, re.I)]


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
    server.add("/youtube/v3/videos", body=STATS)
    server.add("/youtube/v3/channels", body=CHANNELS)
    server.add("/youtube/v3/commentThreads", body=THREADS)
    server.add("/youtube/v3/comments", body=REPLIES_2)
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
    assert kinds == {"video", "comment", "reply"}  # one thread has 2 replies, not inlined


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


def test_statistics_complete_the_videos_of_a_search_page() -> None:
    connector = YouTubeConnector()
    connector.configure({}, ENV)
    page = connector.parse_response(
        200, {}, P1, request=connector.build_request("surfing", since=None, page=None)
    )
    stats_call, channels_call = page.enrich
    assert channels_call.purpose == "channels"
    followers = connector.parse_response(200, {}, CHANNELS, request=channels_call)
    assert followers.detail_updates["gQ_1zX-F_No"] == {"author_followers": 1200}
    ids = dict(stats_call.params)["id"].split(",")
    assert ids == [item.platform_id for item in page.items] and len(ids) == 25
    assert dict(stats_call.params)["part"] == "snippet,statistics"
    updates = connector.parse_response(200, {}, STATS, request=stats_call).updates
    first, second, third = ids[:3]
    assert updates[first]["engagement"].model_dump() == {
        "likes": 10,
        "replies": 0,
        "shares": None,
        "views": 1007,
    }
    assert updates[first]["language"] == "en"
    assert updates[first]["text"].endswith("longer than the search snippet)")
    assert updates[second]["engagement"].replies is None  # comments disabled
    assert third not in updates  # gone private: the video keeps what search said


def test_a_real_videos_answer_without_statistics_gives_the_language() -> None:
    connector = YouTubeConnector()
    connector.configure({}, ENV)
    spec = connector.statistics_request(["D-lhorsDlUQ"])
    updates = connector.parse_response(200, {}, VIDEO_SNIPPET, request=spec).updates
    assert updates["D-lhorsDlUQ"]["language"] == "en"
    assert updates["D-lhorsDlUQ"]["engagement"].views is None


def test_a_run_stores_videos_with_their_views_likes_and_comment_counts(
    server: HTTPTestServer, settings: CollectorSettings, state: SqlStateStore
) -> None:
    server.add("/youtube/v3/search", body=P1)
    server.add("/youtube/v3/videos", body=STATS)
    server.add("/youtube/v3/channels", body=CHANNELS)
    source = SocialSource(
        name="social",
        kind="youtube",
        query="",
        options={"base_url": server.url("/youtube/v3"), "comment_videos": 0},
        max_pages=1,
    )
    result = collect_social(
        source, connector=YouTubeConnector(), state=state, settings=settings, env=ENV
    )
    assert result.run.status is RunStatus.OK, result.run.error
    (call,) = server.requests_for("/youtube/v3/videos")  # one batched call per page
    assert len(parse_qs(call.query)["id"][0].split(",")) == 25
    stored = {c.item.platform_id: c.item for c in state.claim_items(limit=100)}
    video = stored["gQ_1zX-F_No"]
    assert (video.engagement.views, video.engagement.likes, video.engagement.replies) == (
        1007,
        10,
        0,
    )
    assert video.language == "en"
    assert video.author_details is not None and video.author_details.followers == 1200
    (channels,) = server.requests_for("/youtube/v3/channels")
    assert len(parse_qs(channels.query)["id"][0].split(",")) == 18  # each channel once
    second_channel = json.loads(P1)["items"][1]["snippet"]["channelId"]
    assert all(
        item.author_details is not None and item.author_details.followers is None
        for item in stored.values()
        if item.author_details and item.author_details.id == second_channel
    )


def test_comment_threads_and_all_their_replies_are_linked(
    server: HTTPTestServer, settings: CollectorSettings, state: SqlStateStore
) -> None:
    def replies(request: RecordedRequest) -> Response:
        query = parse_qs(request.query)
        assert query["parentId"] == [THREAD_ID]
        return Response(200, REPLIES_2 if "pageToken" in query else REPLIES_1)

    server.add("/youtube/v3/search", body=P1)
    server.add("/youtube/v3/videos", body=STATS)
    server.add("/youtube/v3/channels", body=CHANNELS)
    server.add("/youtube/v3/commentThreads", body=WITH_REPLIES)
    server.add("/youtube/v3/comments", handler=replies)
    source = SocialSource(
        name="social",
        kind="youtube",
        query="",
        options={"base_url": server.url("/youtube/v3"), "comment_videos": 1},
        max_pages=1,
    )
    result = collect_social(
        source, connector=YouTubeConnector(), state=state, settings=settings, env=ENV
    )
    assert result.run.status is RunStatus.OK, result.run.error
    threads_call = parse_qs(server.requests_for("/youtube/v3/commentThreads")[0].query)
    assert threads_call["part"] == ["snippet,replies"]
    assert len(server.requests_for("/youtube/v3/comments")) == 2  # both pages of replies
    stored = {c.item.platform_id: c.item for c in state.claim_items(limit=100)}
    top = stored[THREAD_ID]
    assert top.thread is not None and top.thread.item_kind == "comment"
    assert (top.thread.parent_id, top.thread.root_id) == ("JE8xdDp5B8Q", "JE8xdDp5B8Q")
    reply_ids = {
        pid for pid, item in stored.items() if item.thread and item.thread.item_kind == "reply"
    }
    assert reply_ids == {
        f"{THREAD_ID}.91zT3cYb5B291za6voUoRh",
        f"{THREAD_ID}.91zT3cYb5B291za5eJxzs1",
        f"{THREAD_ID}.91zT3cYb5B291za3E-eR-l",
    }
    reply = stored[f"{THREAD_ID}.91zT3cYb5B291za3E-eR-l"]
    assert reply.thread is not None
    assert (reply.thread.parent_id, reply.thread.root_id) == (THREAD_ID, "JE8xdDp5B8Q")
    assert reply.text == "hey, this is the replay" and reply.author == "kun liu"
    assert reply.author_details is not None
    assert reply.author_details.id == "UCNvMBmCASzTNNX8lW3JRMbw"
    assert reply.url == f"https://www.youtube.com/watch?v=JE8xdDp5B8Q&lc={reply.platform_id}"
