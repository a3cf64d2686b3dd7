"""Reddit: OAuth app token, search listing with `after`, comments, deleted authors."""

from __future__ import annotations

import base64
import json
import logging
from urllib.parse import parse_qs

import pytest

from services.collector.social.base import SocialSource
from services.collector.social.ratelimit import Backoff
from services.collector.social.reddit import RedditConnector
from services.collector.social.registry import available_kinds
from services.collector.social.runner import collect_social
from services.core.models import RunStatus
from services.core.settings import CollectorSettings
from services.store.state import SqlStateStore
from tests.httpserver import HTTPTestServer
from tests.social.conftest import betamax_response

SEARCH_CASSETTE = "reddit/TestSubreddit.test_search.json"
DELETED_CASSETTE = "reddit/TestComment.test_refresh__deleted_comment.json"
TOKEN_BODY = betamax_response(SEARCH_CASSETTE, 0)[2]
SEARCH_BODY = betamax_response(SEARCH_CASSETTE, 1)[2]
# A comments answer is [post Listing, comment Listing]: built from the cassette's real
# post listing (/comments/52o2fl) and its real deleted comment (/api/info).
POST_AND_EMPTY = betamax_response(DELETED_CASSETTE, 2)[2]
DELETED_INFO = betamax_response(DELETED_CASSETTE, 1)[2]
COMMENTS_BODY = json.dumps([json.loads(POST_AND_EMPTY)[0], json.loads(DELETED_INFO)]).encode()
ENV = {"VEILLE_REDDIT_CLIENT_ID": "app-id", "VEILLE_REDDIT_CLIENT_SECRET": "app-secret"}


def configured(server: HTTPTestServer | None = None) -> RedditConnector:
    connector = RedditConnector()
    options = {"base_url": server.base_url, "auth_url": server.base_url} if server else {}
    connector.configure(options, ENV)
    return connector


def test_a_search_listing_is_parsed() -> None:
    connector = configured()
    connector.comment_posts = 2
    spec = connector.build_request("praw oauth search", since=None, page=None)
    page = connector.parse_response(200, {}, SEARCH_BODY, request=spec)
    assert len(page.items) == 6
    first = page.items[0]
    assert first.platform_id == "t3_3gpbiu"
    assert first.author == "dClauzel"
    assert first.url is not None and first.url.startswith("https://www.reddit.com/r/")
    assert first.title.startswith("[PRAW][OAuth2Util]")
    assert (first.engagement.likes, first.engagement.replies) == (0, 21)
    assert page.positions["t3_3gpbiu"] == 1439370514
    assert page.next_page is None  # the recorded listing has no `after`
    assert [f.context["thread"] for f in page.follow_ups] == ["t3_3gpbiu", "t3_3x4kt2"]


def test_a_deleted_comment_has_no_author_and_no_text() -> None:
    connector = configured()
    spec = connector.comments_request("52o2fl")
    page = connector.parse_response(200, {}, COMMENTS_BODY, request=spec)
    (comment,) = page.items
    assert comment.platform_id == "t1_d7ltvl0"
    assert comment.author is None and comment.text == ""
    details = page.details["t1_d7ltvl0"]
    assert details.author_deleted and details.parent_id == "t3_52o2fl"
    assert details.root_id == "t3_52o2fl"


def test_without_credentials_reddit_is_disabled_with_the_reason() -> None:
    kinds = {info.kind: info for info in available_kinds(env={})}
    assert kinds["reddit"].enabled is False
    assert kinds["reddit"].reason == (
        "VEILLE_REDDIT_CLIENT_ID and VEILLE_REDDIT_CLIENT_SECRET not set (a Reddit OAuth app)"
    )


def test_a_run_gets_a_token_then_searches_and_reads_comments(
    server: HTTPTestServer, settings: CollectorSettings, state: SqlStateStore
) -> None:
    server.add("/api/v1/access_token", method="POST", body=TOKEN_BODY)
    server.add("/search", body=SEARCH_BODY)
    server.add("/comments/3gpbiu", body=COMMENTS_BODY)
    source = SocialSource(
        name="social",
        kind="reddit",
        query="praw OR oauth",
        options={"base_url": server.base_url, "auth_url": server.base_url, "comment_posts": 1},
    )
    result = collect_social(
        source, connector=RedditConnector(), state=state, settings=settings, env=ENV
    )
    assert result.run.status is RunStatus.OK, result.run.error
    token_request = server.requests_for("/api/v1/access_token")[0]
    assert token_request.body == b"grant_type=client_credentials"
    assert (
        token_request.headers["authorization"]
        == "Basic " + base64.b64encode(b"app-id:app-secret").decode()
    )
    search = server.requests_for("/search")[0]
    assert search.headers["authorization"] == "Bearer <ACCESS_TOKEN>"
    assert parse_qs(search.query)["q"] == ["praw OR oauth"]
    assert parse_qs(search.query)["sort"] == ["new"]
    assert len(server.requests_for("/comments/3gpbiu")) == 1
    # The deleted comment says neither praw nor oauth: the query keeps it out.
    assert all(item.platform_id.startswith("t3_") for item in result.items)  # type: ignore[union-attr]
    assert state.get_cursor("social") == {"since": 1458221634}


def test_refused_credentials_show_in_the_status(
    server: HTTPTestServer, settings: CollectorSettings, state: SqlStateStore
) -> None:
    server.add(
        "/api/v1/access_token",
        method="POST",
        status=401,
        body=betamax_response("reddit/TestAuthImplicit.test_implicit__with_invalid_token.json", 0)[
            2
        ],
    )
    source = SocialSource(
        name="social",
        kind="reddit",
        query="praw",
        options={"base_url": server.base_url, "auth_url": server.base_url},
    )
    result = collect_social(
        source, connector=RedditConnector(), state=state, settings=settings, env=ENV
    )
    assert result.run.error == "HTTP 401 Unauthorized: Unauthorized"
    assert "app-secret" not in (result.run.error or "")


def test_an_html_error_body(
    server: HTTPTestServer, settings: CollectorSettings, state: SqlStateStore
) -> None:
    status, _headers, body = betamax_response(
        "reddit/TestReddit.test_bad_request_without_json_text_html_response.json", 1
    )
    server.add("/api/v1/access_token", method="POST", body=TOKEN_BODY)
    server.add("/search", status=status, body=body, headers={"Content-Type": "text/html"})
    source = SocialSource(
        name="social",
        kind="reddit",
        query="praw",
        options={"base_url": server.base_url, "auth_url": server.base_url},
    )
    result = collect_social(
        source, connector=RedditConnector(), state=state, settings=settings, env=ENV
    )
    assert result.run.error == "HTTP 400 Bad Request"


def test_credentials_never_reach_the_logs(
    server: HTTPTestServer,
    settings: CollectorSettings,
    state: SqlStateStore,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    server.add("/api/v1/access_token", method="POST", body=TOKEN_BODY)
    server.add("/search", status=500, body=b'{"message": "boom"}')
    source = SocialSource(
        name="social",
        kind="reddit",
        query="praw",
        options={"base_url": server.base_url, "auth_url": server.base_url},
    )
    result = collect_social(
        source,
        connector=RedditConnector(),
        state=state,
        settings=settings,
        env=ENV,
        backoff=Backoff(max_retries=0),
    )
    assert result.run.error == "HTTP 500 Internal Server Error: boom"
    assert caplog.records  # the failure was logged...
    assert "app-secret" not in caplog.text and "<ACCESS_TOKEN>" not in caplog.text  # ...safely
