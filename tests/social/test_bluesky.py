"""Bluesky searchPosts: postViews, notFound/blocked entries, the cursor."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

from services.collector.social.base import SocialSource
from services.collector.social.bluesky import BlueskyConnector
from services.collector.social.runner import collect_social
from services.core.models import RunStatus
from services.core.settings import CollectorSettings
from services.store.state import SqlStateStore
from tests.httpserver import HTTPTestServer, RecordedRequest, Response
from tests.social.conftest import fixture_json

# The real postView of a recorded getPostThread answer; searchPosts returns postViews.
POST: dict[str, Any] = fixture_json("bluesky/thread_view_post_with_embed_media.json")["thread"][
    "post"
]
URI = POST["uri"]
SEARCH = "/xrpc/app.bsky.feed.searchPosts"


def envelope(posts: list[dict[str, Any]], cursor: str | None = None) -> bytes:
    """A searchPosts answer (shape from the app.bsky.feed.searchPosts lexicon)."""
    answer: dict[str, Any] = {"posts": posts, "hitsTotal": len(posts)}
    if cursor:
        answer["cursor"] = cursor
    return json.dumps(answer).encode()


def test_a_post_view_is_parsed() -> None:
    connector = BlueskyConnector()
    connector.configure({}, {})
    spec = connector.build_request("veloria", since=None, page=None)
    not_found = {"uri": "at://did:plc:x/app.bsky.feed.post/1", "notFound": True}
    blocked = {"uri": "at://did:plc:y/app.bsky.feed.post/2", "blocked": True, "author": {}}
    page = connector.parse_response(
        200, {}, envelope([POST, not_found, blocked], "c2"), request=spec
    )
    (item,) = page.items
    assert item.platform_id == URI
    assert item.url == "https://bsky.app/profile/test.marshal.dev/post/3kaheyt6vpc22"
    assert item.author == "test.marshal.dev"
    assert item.text == POST["record"]["text"]
    assert item.language == POST["record"]["langs"][0]
    assert item.engagement.likes == POST["likeCount"]
    assert item.engagement.replies == POST["replyCount"]
    assert page.details[URI].author_name == "Python SDK"
    assert page.details[URI].author_id == "did:plc:kvwvcn5iqfooopmyzvb4qzba"
    assert page.next_page == "c2"


def test_an_unverifiable_handle_counts_as_no_author() -> None:
    connector = BlueskyConnector()
    post = {**POST, "author": {**POST["author"], "handle": "handle.invalid"}}
    spec = connector.build_request("", since=None, page=None)
    (item,) = connector.parse_response(200, {}, envelope([post]), request=spec).items
    assert item.author is None
    assert (
        item.url == "https://bsky.app/profile/did:plc:kvwvcn5iqfooopmyzvb4qzba/post/3kaheyt6vpc22"
    )


def test_a_run_follows_the_cursor_and_resumes_since(
    server: HTTPTestServer, settings: CollectorSettings, state: SqlStateStore
) -> None:
    older = {
        **POST,
        "uri": URI[:-1] + "x",
        "indexedAt": "2023-09-01T00:00:00Z",
        "record": {**POST["record"], "createdAt": "2023-09-01T00:00:00Z"},
    }

    def search(request: RecordedRequest) -> Response:
        cursor = parse_qs(request.query).get("cursor")
        return Response(200, envelope([older]) if cursor else envelope([POST], "next-1"))

    server.add(SEARCH, handler=search)
    source = SocialSource(
        name="social",
        kind="bluesky",
        query='"python sdk" lang:en',
        options={"base_url": server.base_url},
    )
    env = {"VEILLE_BLUESKY_TOKEN": "jwt"}
    first = collect_social(
        source, connector=BlueskyConnector(), state=state, settings=settings, env=env
    )
    assert first.run.status is RunStatus.OK
    sent = [parse_qs(r.query) for r in server.requests_for(SEARCH)]
    assert sent[0]["q"] == ['"python sdk" lang:en'] and sent[0]["sort"] == ["latest"]
    assert sent[1]["cursor"] == ["next-1"]
    assert server.requests_for(SEARCH)[0].headers["authorization"] == "Bearer jwt"
    since = state.get_cursor("social")["since"]
    collect_social(source, connector=BlueskyConnector(), state=state, settings=settings, env=env)
    assert parse_qs(server.requests_for(SEARCH)[-1].query)["since"] == ["2023-09-28T12:49:36Z"]
    assert since == 1695905376
