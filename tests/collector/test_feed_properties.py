"""Property tests: parse_feed raises nothing but FeedParseError, whatever the bytes."""

from __future__ import annotations

from datetime import UTC

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.collector.feeds import FeedParseError, ParsedFeed, parse_feed
from services.collector.html_text import MAX_TEXT_CHARS
from services.core.models import Source
from tests.collector.conftest import fixture_bytes

SOURCE = Source(name="prop", url="https://example.org/feed.xml")
REAL_FEEDS = [
    fixture_bytes(path)
    for path in (
        "veille/rss2.xml",
        "veille/atom.xml",
        "veille/rdf.xml",
        "veille/jsonfeed.json",
        "feedparser/json/example.json",
        "feedparser/illformed/rss_item_link_corrupted_ampersands.xml",
        "feedparser/encoding/http_text_xml_charset_2.xml",
        "feedparser/wellformed/base/http_entry_link_base_content_location.xml",
    )
]
CONTENT_TYPES = st.sampled_from(
    [
        "",
        "application/rss+xml",
        "application/atom+xml; charset=utf-16",
        "text/html",
        "application/feed+json",
        "application/json; charset=latin-1",
        "text/plain; charset=bogus",
    ]
)
# Bytes that matter to the parsers, so mutations reach interesting states.
SPICY = st.sampled_from(
    [
        b"<",
        b">",
        b"&",
        b";",
        b"]]>",
        b"<![CDATA[",
        b"</item>",
        b"<item>",
        b"<entry>",
        b"{",
        b"}",
        b'"',
        b"\\u",
        b"\\ud800",
        b"\x00",
        b"\xff\xfe",
        b"\xef\xbb\xbf",
        b"&#0;",
        b"&#xD800;",
        b"<script>",
        b"http://[::1",
        b"javascript:",
        b"<link>",
        b"<guid>",
        b"<pubDate>",
        b"9999",
        b"-99",
        b"&amp;",
        b"<!DOCTYPE x [<!ENTITY a 'b'>]>",
        b"\xe9",
        b"\r\n",
    ]
)


def check(body: bytes, content_type: str) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    try:
        parsed = parse_feed(
            body, source=SOURCE, base_url="https://example.org/feed.xml", headers=headers
        )
    except FeedParseError as error:
        assert str(error).startswith("not a feed: ")
        return
    assert isinstance(parsed, ParsedFeed)
    for item in parsed.items:
        assert item.mention_id  # every item can be identified
        item.to_mention()
        assert len(item.text) <= MAX_TEXT_CHARS
        assert item.published_at is None or item.published_at.tzinfo == UTC
        for text in (item.title, item.text, item.author or "", item.url or ""):
            text.encode("utf-8")  # no lone surrogates: any database can store it
            assert "\x00" not in text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=st.binary(max_size=2000), content_type=CONTENT_TYPES)
def test_arbitrary_bytes(body: bytes, content_type: str) -> None:
    check(body, content_type)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    feed=st.sampled_from(REAL_FEEDS),
    mutations=st.lists(
        st.tuples(
            st.sampled_from(["insert", "delete", "replace", "truncate"]),
            st.floats(min_value=0, max_value=1),
            st.one_of(SPICY, st.binary(min_size=1, max_size=8)),
        ),
        min_size=1,
        max_size=6,
    ),
    content_type=CONTENT_TYPES,
)
def test_mutated_real_feeds(
    feed: bytes, mutations: list[tuple[str, float, bytes]], content_type: str
) -> None:
    body = bytearray(feed)
    for operation, where, data in mutations:
        at = int(where * len(body))
        if operation == "insert":
            body[at:at] = data
        elif operation == "delete":
            del body[at : at + len(data) * 4]
        elif operation == "replace":
            body[at : at + len(data)] = data
        else:
            del body[at:]
    check(bytes(body), content_type)


@settings(max_examples=100, deadline=None)
@given(text=st.text(max_size=300))
def test_arbitrary_text_in_json_fields(text: str) -> None:
    import json

    document = {
        "version": "https://jsonfeed.org/version/1.1",
        "items": [
            {
                "id": text,
                "url": text,
                "title": text,
                "content_html": text,
                "date_published": text,
                "authors": [{"name": text}],
                "language": text,
            },
            {"id": "fixed", "content_text": text, "date_modified": text, "url": "/" + text},
        ],
    }
    check(json.dumps(document).encode(), "application/feed+json")
