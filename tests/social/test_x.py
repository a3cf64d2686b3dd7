"""X recent search, on SYNTHETIC payloads (see tests/fixtures/x/README.md)."""

from __future__ import annotations

from urllib.parse import parse_qs

from services.collector.social.base import SocialSource
from services.collector.social.runner import collect_social
from services.collector.social.x import XConnector
from services.core.models import RunStatus
from services.core.settings import CollectorSettings
from services.store.state import SqlStateStore
from tests.httpserver import HTTPTestServer, RecordedRequest, Response
from tests.social.conftest import fixture_path

P1 = fixture_path("x/synthetic_recent_search_p1.json").read_bytes()
P2 = fixture_path("x/synthetic_recent_search_p2.json").read_bytes()
ENV = {"VEILLE_X_BEARER_TOKEN": "x-token"}
PATH = "/2/tweets/search/recent"


def test_posts_and_expanded_authors_are_parsed() -> None:
    connector = XConnector()
    connector.configure({}, ENV)
    spec = connector.build_request("veloria", since=None, page=None)
    page = connector.parse_response(200, {}, P1, request=spec)
    post, reply = page.items
    assert post.platform_id == "1790000000000000002"
    assert post.url == "https://x.com/rider_one/status/1790000000000000002"
    assert post.author == "rider_one" and post.language == "en"
    assert (
        post.engagement.likes,
        post.engagement.replies,
        post.engagement.shares,
        post.engagement.views,
    ) == (10, 1, 3, 250)
    assert page.details[post.platform_id].author_followers == 1234
    assert reply.author is None and page.details[reply.platform_id or ""].author_deleted
    assert page.details[reply.platform_id or ""].parent_id == "1789999999999999999"
    assert page.positions[post.platform_id] == 1790000000000000002
    assert page.next_page == "b26v89c19zqg8o3fpds"
    assert connector.parse_response(200, {}, P2, request=spec).items == []


def test_a_run_pages_and_resumes_with_since_id(
    server: HTTPTestServer, settings: CollectorSettings, state: SqlStateStore
) -> None:
    def search(request: RecordedRequest) -> Response:
        return Response(200, P2 if "next_token" in parse_qs(request.query) else P1)

    server.add(PATH, handler=search)
    source = SocialSource(
        name="social",
        kind="x",
        query="veloria -street lang:en",
        options={"base_url": server.base_url},
    )
    first = collect_social(source, connector=XConnector(), state=state, settings=settings, env=ENV)
    assert first.run.status is RunStatus.OK and first.run.items_new == 2
    request = server.requests_for(PATH)[0]
    assert request.headers["authorization"] == "Bearer x-token"
    assert parse_qs(request.query)["query"] == ["veloria lang:en"]
    assert state.get_cursor("social") == {"since": 1790000000000000002}
    second = collect_social(source, connector=XConnector(), state=state, settings=settings, env=ENV)
    assert second.run.items_new == 0
    assert parse_qs(server.requests_for(PATH)[-1].query)["since_id"] == ["1790000000000000002"]


def test_a_query_x_cannot_express_is_reported(
    server: HTTPTestServer, settings: CollectorSettings, state: SqlStateStore
) -> None:
    source = SocialSource(
        name="social", kind="x", query="-veloria", options={"base_url": server.base_url}
    )
    result = collect_social(source, connector=XConnector(), state=state, settings=settings, env=ENV)
    assert result.run.error is not None and result.run.error.startswith("not configured: X needs")
    assert server.requests == []


def test_without_a_token_the_run_says_not_configured(
    settings: CollectorSettings, state: SqlStateStore
) -> None:
    source = SocialSource(name="social", kind="x", query="veloria")
    result = collect_social(source, connector=XConnector(), state=state, settings=settings, env={})
    assert (
        result.run.error
        == "not configured: VEILLE_X_BEARER_TOKEN not set (an X API v2 bearer token)"
    )
    assert state.get_cursor("social") == {}
