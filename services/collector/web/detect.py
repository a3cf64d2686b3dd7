"""What kind of page a URL serves: a feed, a forum thread (and which engine), an article.

Pure: decides from the response's content type and the first part of its body, so it
can be tested on recorded pages and run before any full parse.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

PageKind = Literal["feed", "forum", "article", "unknown"]

_HEAD_BYTES = 400_000  # engines announce themselves early; markers in posts come later

# (engine, patterns): the first engine with a matching pattern wins. Ordered so that
# an engine's own markers beat a generic one ("phpBB" appears in many footers).
_ENGINE_MARKERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "discourse",
        (
            r'<meta\s+name="generator"\s+content="Discourse',
            r'name="discourse_theme_id',
            r"data-discourse-setup",
            r'<meta\s+name="discourse-base-uri',
        ),
    ),
    (
        "xenforo",
        (
            r'<html[^>]+id="XF"',
            r'<html[^>]+id="XenForo"',
            r'class="message message--post',
            r"data-xf-init=",
        ),
    ),
    (
        "invision",
        (
            r'class="[^"]*\bipsComment\b',
            r'<meta\s+name="generator"\s+content="Invision',
            r"ipsApp_front",
        ),
    ),
    (
        "vbulletin",
        (
            r'<meta\s+name="generator"\s+content="vBulletin',
            r'id="post_message_\d+"',
            r'class="[^"]*\bpostbitlegacy\b',
        ),
    ),
    (
        "phpbb",
        (
            r'<body[^>]+id="phpbb"',
            r'<meta\s+name="generator"\s+content="phpBB',
            r'<div[^>]+id="p\d+"[^>]+class="post\b',
        ),
    ),
)
_COMPILED = tuple(
    (engine, tuple(re.compile(p, re.IGNORECASE | re.DOTALL) for p in patterns))
    for engine, patterns in _ENGINE_MARKERS
)
_FEED_TYPES = ("rss", "atom", "rdf", "feed+json")
_FEED_ROOT = re.compile(rb"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:rss|feed|rdf:RDF)\b", re.S)
_DISCOURSE_URL = re.compile(r"/t/(?:[^/]+/)?\d+(?:/\d+)?/?$")


@dataclass(frozen=True)
class Detection:
    """The kind of page, and for a forum the engine that serves it."""

    kind: PageKind
    engine: str | None = None
    reason: str = ""


def detect(body: bytes, *, url: str = "", content_type: str = "") -> Detection:
    """Tells a feed, a forum thread (with its engine) and an article apart."""
    media = content_type.split(";", 1)[0].strip().lower()
    if any(token in media for token in _FEED_TYPES) or _FEED_ROOT.match(body[:2000]):
        return Detection("feed", reason=f"feed content ({media or 'XML root'})")
    if media == "application/json" and b'"post_stream"' in body[:_HEAD_BYTES]:
        return Detection("forum", "discourse", "Discourse topic JSON")
    if media and "html" not in media and media != "text/plain":
        return Detection("unknown", reason=f"not an HTML page ({media})")
    head = body[:_HEAD_BYTES].decode("utf-8", "replace")
    for engine, patterns in _COMPILED:
        for pattern in patterns:
            if pattern.search(head):
                if engine == "discourse" and not _DISCOURSE_URL.search(url.split("?", 1)[0]):
                    return Detection("unknown", "discourse", "a Discourse page, not a topic")
                return Detection("forum", engine, f"{engine} marker: {pattern.pattern[:60]}")
    if not head.strip():
        return Detection("unknown", reason="empty page")
    return Detection("article", reason="an HTML page without forum markers")
