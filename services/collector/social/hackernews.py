"""Hacker News through the Algolia search API (hn.algolia.com/api/v1), no credentials.

`search_by_date` with `tags=(story,comment)` returns stories and comments newest
first; `numericFilters=created_at_i>=SINCE` makes runs incremental and `page` pages
back. Position: `created_at_i` (Unix seconds).

Pushed down: words, phrases as words (Algolia's phrase syntax needs advancedSyntax),
NEAR as both sides, `author:` as the `author_NAME` tag. Not pushed: OR (Algolia has
none in `query`), NOT, prefixes, `site:`, `lang:` (HN declares no language).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from services.collector.html_text import html_to_text
from services.collector.social.base import (
    JSON,
    ItemDetails,
    MalformedResponse,
    Page,
    RequestSpec,
    base_url,
)
from services.collector.social.parsing import (
    as_dict,
    as_int,
    as_list,
    as_str,
    load_json,
    parse_time,
)
from services.collector.social.query_pushdown import Pushdown
from services.core.models import Engagement, RawItem

ITEM_URL = "https://news.ycombinator.com/item?id="


class HackerNewsConnector:
    """Stories and comments from Hacker News' Algolia search."""

    kind = "hackernews"
    pushdown = Pushdown(or_operator=None, phrases=False)

    def __init__(self) -> None:
        self.base_url = "https://hn.algolia.com/api/v1"
        self.hits_per_page = 100
        self.author: str | None = None

    def configure(self, source_options: Mapping[str, Any], env: Mapping[str, str]) -> None:
        """No credentials needed; options: base_url, hits_per_page, author."""
        self.base_url = base_url(source_options, env, self.kind, self.base_url)
        self.hits_per_page = min(1000, max(1, int(source_options.get("hits_per_page", 100))))
        self.author = as_str(source_options.get("author"))

    def build_request(self, query: str, *, since: int | None, page: JSON) -> RequestSpec:
        """A search_by_date call for one page, newest first."""
        tags = "(story,comment)"
        if self.author:
            tags += f",author_{self.author}"
        params = [
            ("query", query),
            ("tags", tags),
            ("hitsPerPage", str(self.hits_per_page)),
        ]
        if since is not None:
            params.append(("numericFilters", f"created_at_i>={since}"))
        if page is not None:
            params.append(("page", str(as_int(page) or 0)))
        return RequestSpec(url=f"{self.base_url}/search_by_date", params=tuple(params))

    def parse_response(
        self, status: int, headers: Mapping[str, str], body: bytes, *, request: RequestSpec
    ) -> Page:
        """Parses a search answer: {hits, page, nbPages}."""
        data = load_json(body)
        if "hits" not in data:
            raise MalformedResponse("no 'hits' in the answer")
        page = Page()
        for hit in as_list(data["hits"]):
            page.add(parse_hit(as_dict(hit)))
        current, count = as_int(data.get("page")), as_int(data.get("nbPages"))
        next_page = None
        if current is not None and count is not None and current + 1 < count:
            next_page = current + 1
        return replace(page, next_page=next_page)


def parse_hit(hit: dict[str, Any]) -> tuple[RawItem, int, ItemDetails] | None:
    """One Algolia hit (story or comment) as an item; None when it has no id or time."""
    object_id = as_str(hit.get("objectID"))
    created = as_int(hit.get("created_at_i"))
    if object_id is None or created is None:
        return None
    tags = [t for t in as_list(hit.get("_tags")) if isinstance(t, str)]
    is_comment = "comment" in tags or hit.get("comment_text") is not None
    author = as_str(hit.get("author"))
    text_html = as_str(hit.get("comment_text") if is_comment else hit.get("story_text")) or ""
    permalink = ITEM_URL + object_id
    story_id = as_str(hit.get("story_id"))
    item = RawItem(
        source_kind="hackernews",
        source_name="",
        platform_id=object_id,
        url=permalink,
        title=as_str(hit.get("story_title" if is_comment else "title")) or "",
        text=html_to_text(text_html) if text_html else "",
        author=author,
        published_at=parse_time(created),
        engagement=Engagement(
            likes=as_int(hit.get("points")),
            replies=as_int(hit.get("num_comments")),
        ),
    )
    details = ItemDetails(
        kind="comment" if is_comment else "story",
        author_deleted=author is None,
        parent_id=as_str(hit.get("parent_id")),
        root_id=story_id,
        thread_url=ITEM_URL + story_id if story_id else permalink,
    )
    return item, created, details
