"""Any JSON answer: a connector's parser returns a Page or raises MalformedResponse, never more."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.collector.social.base import MalformedResponse, RequestSpec
from services.collector.social.bluesky import BlueskyConnector
from services.collector.social.reddit import RedditConnector
from services.collector.social.youtube import YouTubeConnector

SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
KEYS = st.sampled_from(
    [
        "kind", "data", "children", "json", "things", "items", "id", "snippet", "statistics",
        "replies", "comments", "topLevelComment", "totalReplyCount", "parentId", "videoId",
        "name", "created_utc", "parent_id", "link_id", "count", "posts", "cursor", "uri",
        "record", "author", "nextPageToken", "after", "t1", "t3", "more", "Listing",
    ]
)  # fmt: skip
VALUES = st.recursive(
    SCALARS | KEYS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=6),
    max_leaves=30,
)


def connectors() -> list[tuple[Any, RequestSpec]]:
    """Each connector with each kind of call it parses."""
    reddit = RedditConnector()
    reddit.configure({}, {"VEILLE_REDDIT_CLIENT_ID": "i", "VEILLE_REDDIT_CLIENT_SECRET": "s"})
    youtube = YouTubeConnector()
    youtube.configure({}, {"VEILLE_YOUTUBE_API_KEY": "k"})
    bluesky = BlueskyConnector()
    bluesky.configure({}, {})
    return [
        (reddit, reddit.build_request("q", since=None, page=None)),
        (reddit, reddit.thread_request("t3_abc")),
        (reddit, reddit.more_requests({"children": ["a"]}, "t3_abc")[0]),
        (youtube, youtube.build_request("q", since=None, page=None)),
        (youtube, youtube.statistics_request(["v"])),
        (youtube, youtube.channels_request({"c": ["v"]})),
        (youtube, youtube.comments_request("v")),
        (youtube, youtube.replies_request("c", "v", None)),
        (bluesky, bluesky.build_request("q", since=None, page=None)),
    ]


CALLS = connectors()


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(value=VALUES, call=st.sampled_from(range(len(CALLS))))
def test_a_parser_never_fails_otherwise(value: Any, call: int) -> None:
    connector, spec = CALLS[call]
    body = json.dumps(value).encode()
    try:
        page = connector.parse_response(200, {}, body, request=spec)
    except MalformedResponse:
        return
    assert all(item.platform_id for item in page.items)
    assert set(page.details) <= {item.platform_id for item in page.items}
