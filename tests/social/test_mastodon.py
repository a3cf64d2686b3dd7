"""Mastodon: hashtag timelines with Link pagination, search, token optional."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

from services.collector.social.base import SocialSource
from services.collector.social.mastodon import MastodonConnector, next_max_id
from services.collector.social.runner import collect_social
from services.core.models import RunStatus
from services.core.settings import CollectorSettings
from services.store.state import SqlStateStore
from tests.httpserver import HTTPTestServer
from tests.social.conftest import api_headers, vcr_response

TAG_STATUS, TAG_HEADERS, TAG_BODY = vcr_response("mastodon/test_hashtag_tl.yaml", 2)
SEARCH_STATUS, SEARCH_HEADERS, SEARCH_BODY = vcr_response("mastodon/test_search.yaml", 2)
STATUS_ID = "117020593741189701"


def hashtag_connector(base: str = "http://localhost:3000") -> MastodonConnector:
    connector = MastodonConnector()
    connector.configure({"instance": base, "hashtag": "#hoot"}, {})
    return connector


def test_a_hashtag_timeline_page_is_parsed() -> None:
    connector = hashtag_connector()
    spec = connector.build_request("", since=None, page=None)
    assert spec.url == "http://localhost:3000/api/v1/timelines/tag/hoot"
    headers = {k.lower(): v for k, v in TAG_HEADERS.items()}
    page = connector.parse_response(200, headers, TAG_BODY, request=spec)
    (item,) = page.items
    assert (
        item.platform_id
        == f"http://localhost:3000/ap/users/117020566092212359/statuses/{STATUS_ID}"
    )
    assert item.url == f"http://localhost:3000/@mastodonpy_test_2/{STATUS_ID}"
    assert item.text == "#hoot (hashtag toot)"
    assert item.author == "mastodonpy_test_2"
    assert item.language == "ja"
    assert (item.engagement.likes, item.engagement.replies, item.engagement.shares) == (0, 0, 0)
    assert page.positions == {item.platform_id: int(STATUS_ID)}
    assert page.details[item.platform_id].author_followers == 0
    assert page.next_page == STATUS_ID  # from the recorded Link rel="next"


def test_link_header_parsing() -> None:
    assert next_max_id('<https://m.example/api/v1/timelines/tag/a?max_id=42>; rel="next"') == "42"
    assert next_max_id('<https://m.example/x?min_id=42>; rel="prev"') is None
    assert next_max_id("") is None


def test_a_search_answer_without_statuses() -> None:
    connector = MastodonConnector()
    connector.configure({}, {"VEILLE_MASTODON_TOKEN": "secret-token"})
    spec = connector.build_request("veloria", since=None, page=None)
    assert spec.url == "https://mastodon.social/api/v2/search"
    assert spec.headers["Authorization"] == "Bearer secret-token"
    assert "secret-token" not in repr(spec)  # headers are kept out of reprs (and logs)
    page = connector.parse_response(200, {}, SEARCH_BODY, request=spec)
    assert page.items == [] and page.next_page is None


def test_a_hashtag_run_pages_with_since_id(
    server: HTTPTestServer, settings: CollectorSettings, state: SqlStateStore
) -> None:
    body = TAG_BODY.replace(b"http://localhost:3000", server.base_url.encode())
    headers = api_headers(TAG_HEADERS)
    headers["link"] = headers["link"].replace("http://localhost:3000", server.base_url)
    server.add("/api/v1/timelines/tag/hoot", body=body, headers=headers)
    source = SocialSource(
        name="social",
        kind="mastodon",
        query="hoot",
        options={"instance": server.base_url, "hashtag": "hoot"},
        max_pages=2,
    )
    first = collect_social(
        source, connector=MastodonConnector(), state=state, settings=settings, env={}
    )
    assert first.run.status is RunStatus.OK and first.run.items_new == 1
    requests = server.requests_for("/api/v1/timelines/tag/hoot")
    # page 2 asked with the Link's max_id; it returned the same status: position reached
    assert parse_qs(requests[1].query)["max_id"] == [STATUS_ID]
    assert "authorization" not in requests[0].headers  # no token: anonymous
    assert state.get_cursor("social") == {"since": int(STATUS_ID)}

    second = collect_social(
        source, connector=MastodonConnector(), state=state, settings=settings, env={}
    )
    assert second.run.items_new == 0
    assert parse_qs(server.requests_for("/api/v1/timelines/tag/hoot")[-1].query)["since_id"] == [
        STATUS_ID
    ]


def test_a_boost_is_collected_as_the_boosted_status() -> None:
    connector = hashtag_connector()
    original = json.loads(TAG_BODY)[0]
    boost = {"id": "1", "reblog": original, "account": {"acct": "booster"}}
    spec = connector.build_request("", since=None, page=None)
    page = connector.parse_response(200, {}, json.dumps([boost]).encode(), request=spec)
    assert page.items[0].author == "mastodonpy_test_2"
