"""parse_feed on recorded feeds: RSS 2.0, Atom, RDF, JSON Feed, feedparser's fixtures."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.collector.feeds import FeedParseError, parse_feed
from services.collector.html_text import MAX_TEXT_CHARS, html_to_text
from services.core.models import RawItem, Source
from tests.collector.conftest import fixture_bytes

SOURCE = Source(name="news", url="https://news.example.com/feed.xml")
COLLECTED = datetime(2024, 3, 6, 12, 0, tzinfo=UTC)


def parse(
    body: bytes,
    *,
    headers: dict[str, str] | None = None,
    base_url: str = "https://news.example.com/feed.xml",
    source: Source = SOURCE,
) -> tuple[list[RawItem], str | None]:
    parsed = parse_feed(
        body, source=source, base_url=base_url, headers=headers or {}, collected_at=COLLECTED
    )
    return parsed.items, parsed.warning


def feedparser_fixture(relative: str) -> tuple[bytes, dict[str, str]]:
    """A feedparser fixture and the HTTP headers its `Header:` comment lines declare."""
    body = fixture_bytes(f"feedparser/{relative}")
    head = body[:1000].decode("latin-1")
    headers = dict(
        (name.strip(), value.strip())
        for name, value in re.findall(r"^Header:\s*([\w-]+):(.*)$", head, re.MULTILINE)
    )
    return body, headers


# -- the four formats -------------------------------------------------------------------


def test_rss2_items_fields() -> None:
    items, warning = parse(
        fixture_bytes("veille/rss2.xml"), headers={"Content-Type": "application/rss+xml"}
    )

    assert [i.title for i in items] == [
        "Acme lance un nouveau jus d'orange",
        "Relative link, no date",
        "Only a guid",
    ]
    first, relative, guid_only = items
    # A link wins over the guid: the id comes from the canonical URL.
    assert first.platform_id is None
    assert first.url == "https://news.example.com/2024/03/acme-jus?utm_source=rss&utm_medium=feed"
    # content:encoded is preferred to the description; HTML becomes plain text.
    assert (
        first.text
        == "Le groupe Acme annonce un jus « 100 % pur ».\nLes consommateurs sont partagés."
    )
    assert first.author == "Camille Martin"
    assert first.published_at == datetime(2024, 3, 5, 7, 30, tzinfo=UTC)
    assert first.language == "fr-fr"
    assert first.source_kind == "feed" and first.source_name == "news"
    assert first.collected_at == COLLECTED

    assert relative.url == "https://news.example.com/2024/03/relative"
    assert relative.text == "Plain text & an ampersand"
    assert relative.author == "Jeanne Dupont"
    assert relative.published_at is None

    assert guid_only.url is None
    assert guid_only.platform_id == "urn:uuid:6f1c1c9e-0000-4000-8000-000000000001"
    assert guid_only.published_at is None  # "not a date at all"

    # Neither a link nor an id (a javascript: link is no link): skipped, and said so.
    assert warning == "2 entries skipped (no link or id)"
    assert len({i.mention_id for i in items}) == 3


def test_atom_items_fields() -> None:
    items, warning = parse(
        fixture_bytes("veille/atom.xml"), headers={"Content-Type": "application/atom+xml"}
    )

    assert warning is None
    love, second, id_only = items
    assert love.url == "https://blog.example.org/posts/love-acme"  # xml:base resolved
    assert love.title == "Why we love Acme"
    assert love.text == "Full content here."  # content over summary, script dropped
    assert love.author == "Alex Writer"
    assert love.published_at == datetime(2024, 3, 5, 17, 0, tzinfo=UTC)
    assert love.language == "en"

    assert second.author == "Feed Author"  # Atom: entries inherit the feed's author
    assert second.text == "Inline XHTML body"
    assert second.published_at == datetime(2024, 2, 29, 22, 59, 59, tzinfo=UTC)  # updated

    assert id_only.url is None
    assert id_only.platform_id == "tag:blog.example.org,2024:3"
    assert id_only.text == "History of the <blink> tag"  # type="text": brackets are text


def test_rdf_items_in_iso_8859_1() -> None:
    items, warning = parse(fixture_bytes("veille/rdf.xml"))

    assert warning is None
    assert [(i.url, i.title) for i in items] == [
        ("https://rdf.example.net/artikel/1", "Grüße aus München"),
        ("https://rdf.example.net/artikel/2", "Zweiter Artikel"),
    ]
    assert items[0].text == "Schöne Grüße & viel Spaß."
    assert items[0].author == "Max Mustermann"
    assert items[0].published_at == datetime(2024, 3, 1, 7, 0, tzinfo=UTC)
    assert items[1].published_at is None
    assert {i.language for i in items} == {"de"}


def test_json_feed_items_fields() -> None:
    items, warning = parse(
        fixture_bytes("veille/jsonfeed.json"),
        headers={"Content-Type": "application/feed+json"},
        base_url="https://watch.example.com/feed.json",
    )

    assert warning == "2 entries skipped (no link or id)"
    recall, numeric, relative = items
    assert recall.url == "https://watch.example.com/p/1" and recall.platform_id is None
    assert recall.text == "Acme recalled two products."
    assert "alert" not in recall.text
    assert recall.author == "Sam Reporter"
    assert recall.published_at == datetime(2024, 3, 5, 8, 15, tzinfo=UTC)
    assert recall.language == "en-us"

    assert numeric.url is None and numeric.platform_id == "42"
    assert numeric.text == "Plain text\nbody"
    assert numeric.author == "The Watchers"  # JSON Feed: items inherit the feed's authors
    assert numeric.published_at == datetime(2024, 3, 4, tzinfo=UTC)  # date_modified
    assert numeric.language == "en-gb"

    assert relative.url == "https://watch.example.com/p/3"
    assert relative.published_at is None


def test_json_feed_detected_without_a_json_content_type() -> None:
    body = b'\xef\xbb\xbf  {"version": "https://jsonfeed.org/version/1", "items": [{"id": "a"}]}'
    items, warning = parse(body, headers={"Content-Type": "text/plain"})
    assert [i.platform_id for i in items] == ["a"] and warning is None


def test_source_language_overrides_the_feed() -> None:
    source = Source(name="news", url="https://news.example.com/feed.xml", language="en")
    items, _ = parse(fixture_bytes("veille/rss2.xml"), source=source)
    assert {i.language for i in items} == {"en"}


def test_empty_valid_feed_has_no_items_and_no_error() -> None:
    items, warning = parse(b'<rss version="2.0"><channel><title>t</title></channel></rss>')
    assert items == [] and warning is None


def test_duplicate_entries_in_one_document_are_kept_once() -> None:
    entry = "<item><link>https://a.example/1</link><title>x</title></item>"
    body = f'<rss version="2.0"><channel>{entry}{entry}</channel></rss>'.encode()
    items, _ = parse(body)
    assert len(items) == 1


# -- feedparser's fixtures ------------------------------------------------------------------


@pytest.mark.parametrize(
    "relative",
    [
        "encoding/http_text_xml_charset_2.xml",
        "encoding/http_text_xml_charset_overrides_encoding_2.xml",
    ],
)
def test_feedparser_charset_from_http_header(relative: str) -> None:
    # The bytes are windows-1252; only the Content-Type header says so.
    body, headers = feedparser_fixture(relative)
    assert headers == {"Content-type": "text/xml; charset=windows-1252"}
    items, warning = parse(body, headers=headers)
    assert warning is None
    assert [(i.url, i.title, i.text) for i in items] == [
        ("http://purl.org/rss/2.0/?item", "Foo", "This is a \xa3\u201ctest.\u201d")
    ]


def test_feedparser_i18n_feed_without_entries() -> None:
    body, headers = feedparser_fixture("encoding/http_i18n.xml")
    assert parse(body, headers=headers) == ([], None)


def test_feedparser_illformed_feed_recovered_with_a_warning() -> None:
    body, headers = feedparser_fixture("illformed/rss_item_link_corrupted_ampersands.xml")
    items, warning = parse(body, headers=headers)
    assert [i.url for i in items] == ["http://link/get?a=1&b=2"]
    assert warning is not None
    assert warning.startswith("the feed is not well-formed (line ")
    assert warning.endswith("; 1 item recovered")


@pytest.mark.parametrize(
    ("relative", "reason"),
    [
        ("illformed/aaa_illformed.xml", "not a feed: line 7, column 0: unclosed token"),
        ("illformed/rss_empty_document.xml", "not a feed: line 6, column 0: no element found"),
        # The only entry is a broken fragment with no link or id: nothing usable.
        ("illformed/rss_incomplete_cdata.xml", "not a feed: line 6, column 0: XML or text"),
    ],
)
def test_feedparser_illformed_feed_with_nothing_usable(relative: str, reason: str) -> None:
    body, headers = feedparser_fixture(relative)
    with pytest.raises(FeedParseError) as raised:
        parse(body, headers=headers)
    assert str(raised.value).startswith(reason)


@pytest.mark.parametrize(
    ("relative", "url", "platform_id"),
    [
        ("wellformed/rss/item_guid.xml", "http://guid.example.com/", None),  # permalink guid
        ("wellformed/rss/item_guid_conflict_link.xml", "http://link.example.com/", None),
        ("wellformed/rss/item_guid_not_permalink.xml", None, "http://guid.example.com/"),
        ("wellformed/rdf/rdf_item_link.xml", "http://example.com/1", None),
        (
            "wellformed/base/http_entry_link_base_content_location.xml",
            "http://example.com/relative/link",
            None,
        ),
    ],
)
def test_feedparser_links_and_ids(relative: str, url: str | None, platform_id: str | None) -> None:
    body, headers = feedparser_fixture(relative)
    items, _ = parse(body, headers=headers)
    assert [(i.url, i.platform_id) for i in items] == [(url, platform_id)]


def test_feedparser_doctype_with_external_entity_is_not_fetched() -> None:
    body, headers = feedparser_fixture("wellformed/rdf/doctype_contains_entity_decl.xml")
    assert parse(body, headers=headers) == ([], None)


def test_feedparser_json_example() -> None:
    items, warning = parse(fixture_bytes("feedparser/json/example.json"))
    assert warning is None
    assert [(i.url, i.title, i.text, i.author) for i in items] == [
        ("https://example.org/second-item", "post 2", "This is a second item.", "me"),
        ("https://example.org/initial-post", "", "Hello, world!", "you"),
    ]


# -- hostile and broken input ----------------------------------------------------------------


def test_hostile_html_in_summaries_is_stripped() -> None:
    summary = (
        "<![CDATA[<div onclick='x()'>Hello <script>var secret = 'SCRIPT-BODY';</script>"
        "<style>body { background: url(STYLE-BODY) }</style><noscript>NOSCRIPT</noscript>"
        "<iframe src='https://evil.example'>IFRAME</iframe>"
        "<img src=x onerror=alert(1)>world &amp; &lt;friends&gt; &#233;&eacute;"
        "<SCRIPT>UPPER-SCRIPT</SCRIPT></div>]]>"
    )
    body = (
        '<rss version="2.0"><channel><item><link>https://a.example/1</link>'
        f"<title>&lt;b&gt;Bold&lt;/b&gt; title</title><description>{summary}</description>"
        "</item></channel></rss>"
    ).encode()
    items, _ = parse(body)
    assert items[0].text == "Hello world & <friends> éé"
    assert items[0].title == "Bold title"


def test_hostile_html_in_json_feed_is_stripped() -> None:
    body = (
        b'{"version": "https://jsonfeed.org/version/1.1", "items": [{"id": "1", '
        b'"content_html": "<p>ok</p><script>alert(\\"SCRIPT\\")</script><script>unclosed'
        b' SCRIPT forever"}]}'
    )
    items, _ = parse(body)
    assert items[0].text == "ok"


def test_html_to_text() -> None:
    assert html_to_text("<p>One</p><p>Two<br>Three</p>") == "One\nTwo\nThree"
    assert html_to_text("a &lt; b &amp;&amp; c &gt; d") == "a < b && c > d"
    assert html_to_text("  lots \n\t of   space  ") == "lots of space"
    assert html_to_text("<style>x{}</style><template><p>T</p></template>visible") == "visible"
    assert html_to_text("nul\x00 and \x1b control") == "nul and control"
    assert len(html_to_text("word " * 100_000)) == MAX_TEXT_CHARS - 1  # cut, then stripped


def test_dates_never_crash() -> None:
    entries = "".join(
        f"<item><link>https://a.example/{n}</link><pubDate>{date}</pubDate></item>"
        for n, date in enumerate(
            [
                "Mon, 99 Foo 2024 99:99:99 GMT",
                "0000-00-00T00:00:00Z",
                "9999-12-31T23:59:59-23:59",
                "Tue, 05 Mar 2024 08:30:00 +0100",
                "",
            ]
        )
    )
    items, _ = parse(f'<rss version="2.0"><channel>{entries}</channel></rss>'.encode())
    assert len(items) == 5
    dates = [i.published_at for i in items]
    assert dates[3] == datetime(2024, 3, 5, 7, 30, tzinfo=UTC)
    assert all(d is None or d.tzinfo == UTC for d in dates)


def test_items_with_unusable_links_fall_back_to_their_id() -> None:
    body = (
        b'<rss version="2.0"><channel>'
        b"<item><link>http://[::1/broken</link><guid isPermaLink='false'>g1</guid></item>"
        b"<item><link>http://host:99999/port</link><guid isPermaLink='false'>g2</guid></item>"
        b"<item><link>data:text/html,hi</link><guid isPermaLink='false'>g3</guid></item>"
        b"</channel></rss>"
    )
    items, _ = parse(body)
    assert [(i.url, i.platform_id) for i in items] == [(None, "g1"), (None, "g2"), (None, "g3")]


@pytest.mark.parametrize(
    ("body", "headers", "message"),
    [
        (b"", {}, "not a feed: empty document"),
        (b"   \n ", {}, "not a feed: empty document"),
        (
            b"<!DOCTYPE html><html><head><title>Hi</title></head><body>page</body></html>",
            {"Content-Type": "text/html; charset=utf-8"},
            "not a feed: the document is an HTML page",
        ),
        (b"<note><to>x</to></note>", {}, "not a feed: no RSS, Atom or RDF content found"),
        (b"just some text", {}, "not a feed: "),
        (b'{"items": 3}', {}, "not a feed: the JSON document is not a JSON Feed"),
        (b"[1, 2]", {"Content-Type": "application/json"}, "not a feed: the JSON document"),
        (b'{"items": [', {}, "not a feed: invalid JSON (line 1 column 12"),
        (b"\xff\xfe{\x00", {}, "not a feed: "),
        (b"[" * 100_000, {"Content-Type": "application/json"}, "not a feed: "),
    ],
)
def test_malformed_documents_raise_a_clear_error(
    body: bytes, headers: dict[str, str], message: str
) -> None:
    with pytest.raises(FeedParseError) as raised:
        parse(body, headers=headers)
    assert str(raised.value).startswith(message)


def test_entity_expansion_bomb_is_harmless() -> None:
    declarations = '<!ENTITY l0 "lol">' + "".join(
        f'<!ENTITY l{n} "{f"&l{n - 1};" * 10}">' for n in range(1, 10)
    )
    body = (
        f'<?xml version="1.0"?><!DOCTYPE rss [{declarations}]>'
        '<rss version="2.0"><channel><item><link>https://a.example/1</link>'
        "<description>&l9;</description></item></channel></rss>"
    ).encode()
    try:
        items, _ = parse(body)
    except FeedParseError:
        return  # refusing the document is fine too
    assert len(items[0].text) <= MAX_TEXT_CHARS


def test_external_entities_are_not_resolved(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    body = (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY xxe SYSTEM "{secret.as_uri()}">]>'
        '<rss version="2.0"><channel><item><link>https://a.example/1</link>'
        "<description>[&xxe;]</description></item></channel></rss>"
    ).encode()
    try:
        items, _ = parse(body)
    except FeedParseError:
        return
    assert "TOP-SECRET" not in items[0].text


def test_character_references_that_name_no_character() -> None:
    # Emoji written as two UTF-16 surrogate references (seen in the wild) are joined;
    # references to no character at all become U+FFFD instead of crashing feedparser.
    body = (
        b'<rss version="2.0"><channel><item><link>https://a.example/1</link>'
        b"<title>smile &#55357;&#56832; lone &#xD800; nul &#0;</title></item>"
        b"<item><link>https://a.example/2</link><title>fine &#233;</title></item>"
        b"</channel></rss"  # ill-formed too: the loose parser takes over
    )
    items, _ = parse(body)
    assert [i.title for i in items] == ["smile \U0001f600 lone \ufffd nul \ufffd", "fine é"]
