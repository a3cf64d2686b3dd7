"""Discourse, through its JSON API: `GET /t/{id}.json` gives the topic and its first
posts; `GET /t/{id}/posts.json?post_ids[]=...` the rest of `post_stream.stream`.

Pure: `topic_json_url` and `more_posts_url` build the calls, `parse_topic` reads an
answer (either shape) into a ForumThread.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from services.collector.html_text import html_to_text
from services.collector.web.dates import parse_date
from services.collector.web.forums.model import ForumPost, ForumThread

_TOPIC_PATH = re.compile(
    r"^(?P<prefix>.*?)/t/(?:(?P<slug>[^/]+)/)?(?P<id>\d+)(?:/\d+)?(?:\.json)?/?$"
)
_QUOTE = re.compile(
    r"<aside[^>]*\bclass=[\"'][^\"']*\bquote\b.*?</aside>", re.DOTALL | re.IGNORECASE
)
_BATCH = 20  # Discourse's own page size for post_ids[]


def topic_id(url: str) -> int | None:
    """The topic id in a Discourse topic URL (/t/slug/123, /t/123/4), else None."""
    match = _TOPIC_PATH.match(urlsplit(url).path)
    return int(match.group("id")) if match else None


def topic_json_url(url: str) -> str:
    """The API URL of a topic page's JSON (`/t/{id}.json`); ValueError if not a topic."""
    parts = urlsplit(url)
    match = _TOPIC_PATH.match(parts.path)
    if not match:
        raise ValueError(f"not a Discourse topic URL: {url[:200]}")
    path = f"{match.group('prefix')}/t/{match.group('id')}.json"
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def more_posts_url(topic_url: str, payload: dict[str, Any], *, seen: set[int]) -> str | None:
    """The next `/t/{id}/posts.json` call for stream posts not yet read, or None."""
    stream = payload.get("post_stream", {}).get("stream") or []
    missing = [post_id for post_id in stream if isinstance(post_id, int) and post_id not in seen]
    if not missing:
        return None
    parts = urlsplit(topic_json_url(topic_url))
    path = parts.path.removesuffix(".json") + "/posts.json"
    query = urlencode([("post_ids[]", post_id) for post_id in missing[:_BATCH]])
    return urlunsplit((parts.scheme, parts.netloc, path, query, ""))


def parse_topic(payload: dict[str, Any], *, url: str, title: str | None = None) -> ForumThread:
    """Reads a `/t/{id}.json` (or `/t/{id}/posts.json`) answer into a thread."""
    parts = urlsplit(url)
    base = urlunsplit((parts.scheme, parts.netloc, "", "", ""))
    topic = payload.get("id") if isinstance(payload.get("id"), int) else topic_id(url)
    slug = payload.get("slug") or "topic"
    thread_url = f"{base}/t/{slug}/{topic}" if topic else url
    posts: list[ForumPost] = []
    for raw in payload.get("post_stream", {}).get("posts") or []:
        if not isinstance(raw, dict) or raw.get("hidden") or raw.get("deleted_at"):
            continue
        # A quote repeats another post: the reply link already says which.
        text = html_to_text(_QUOTE.sub("", str(raw.get("cooked") or "")))
        number = raw.get("post_number")
        if not text or not isinstance(number, int):
            continue
        reply_to = raw.get("reply_to_post_number")
        posts.append(
            ForumPost(
                text=text,
                position=number,
                author=str(raw.get("username") or "") or None,
                published_at=parse_date(str(raw.get("created_at") or "")),
                post_id=str(number),
                url=f"{thread_url}/{number}",
                reply_to=str(reply_to) if isinstance(reply_to, int) else None,
            )
        )
    return ForumThread(
        title=str(payload.get("title") or title or ""),
        url=thread_url,
        engine="discourse",
        posts=tuple(posts),
    )
