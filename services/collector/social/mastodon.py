"""Mastodon (any instance): full-text search or hashtag timelines; a token is optional.

Modes, by source option:
- `hashtag: NAME` (and optionally `any: [OTHER, ...]`): `/api/v1/timelines/tag/NAME`,
  newest first, `since_id` for incremental runs and the `Link` header's `rel="next"`
  (its `max_id`) for older pages. Works without a token on most instances.
- otherwise: `/api/v2/search?type=statuses` with the pushed-down query, older pages
  by `max_id`. Many instances only answer status searches to a logged-in token
  (VEILLE_MASTODON_TOKEN) and only for posts that opted in to search.

Position: the status id (a snowflake, growing with time). Instance: the `base_url`
(or `instance`) option, else VEILLE_MASTODON_BASE_URL, else https://mastodon.social.

Pushed down (search mode): words, phrases, NEAR as both sides, `author:` as `from:`,
`lang:` as `language:`. Not pushed: OR (Mastodon's search has none), NOT, prefixes,
`site:`. Hashtag mode pushes nothing: the query is applied here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

from services.collector.html_text import html_to_text
from services.collector.social.base import (
    JSON,
    ItemDetails,
    MalformedResponse,
    NotConfigured,
    Page,
    RequestSpec,
    base_url,
    env_value,
)
from services.collector.social.parsing import (
    as_dict,
    as_int,
    as_list,
    as_str,
    language,
    load_json,
    parse_time,
)
from services.collector.social.query_pushdown import Pushdown
from services.core.models import Engagement, RawItem

_LINK = re.compile(r'<([^>]*)>\s*;\s*rel="?([^";]+)"?')


class MastodonConnector:
    """Statuses from one Mastodon instance's search or hashtag timelines."""

    kind = "mastodon"
    pushdown = Pushdown(
        or_operator=None, phrases=True, fields={"author": "from:", "lang": "language:"}
    )

    def __init__(self) -> None:
        self.base_url = "https://mastodon.social"
        self.token: str | None = None
        self.hashtag: str | None = None
        self.any_tags: list[str] = []
        self.limit = 40

    def configure(self, source_options: Mapping[str, Any], env: Mapping[str, str]) -> None:
        """Options: base_url/instance, hashtag, any, limit; token from VEILLE_MASTODON_TOKEN."""
        options = dict(source_options)
        if "instance" in options and "base_url" not in options:
            options["base_url"] = options["instance"]
        self.base_url = base_url(options, env, self.kind, self.base_url)
        if not self.base_url.startswith(("http://", "https://")):
            raise NotConfigured(f"the instance URL {self.base_url[:100]!r} is not http(s)")
        self.token = env_value(env, "VEILLE_MASTODON_TOKEN")
        hashtag = as_str(options.get("hashtag"))
        self.hashtag = hashtag.lstrip("#") if hashtag else None
        self.any_tags = [t.lstrip("#") for t in as_list(options.get("any")) if as_str(t)]
        self.limit = min(40, max(1, int(options.get("limit", 40))))
        if self.hashtag is not None:
            self.pushdown = Pushdown(or_operator=None, fields={})

    def build_request(self, query: str, *, since: int | None, page: JSON) -> RequestSpec:
        """A hashtag timeline or search call, newest first."""
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        params: list[tuple[str, str]] = [("limit", str(self.limit))]
        if page is not None:
            params.append(("max_id", str(page)))
        if self.hashtag is not None:
            params += [("any[]", tag) for tag in self.any_tags]
            if since is not None:
                params.append(("since_id", str(since)))
            return RequestSpec(
                url=f"{self.base_url}/api/v1/timelines/tag/{self.hashtag}",
                params=tuple(params),
                headers=headers,
                purpose="timeline",
            )
        params += [("q", query), ("type", "statuses"), ("resolve", "false")]
        return RequestSpec(
            url=f"{self.base_url}/api/v2/search",
            params=tuple(params),
            headers=headers,
            purpose="search",
        )

    def parse_response(
        self, status: int, headers: Mapping[str, str], body: bytes, *, request: RequestSpec
    ) -> Page:
        """Parses a timeline (a list, paged by Link) or a search ({statuses: [...]})."""
        if request.purpose == "timeline":
            statuses = load_json(body, expect=list)
            next_page: JSON = next_max_id(headers.get("link", ""))
        else:
            data = load_json(body)
            if not isinstance(data.get("statuses"), list):
                raise MalformedResponse("no 'statuses' list in the search answer")
            statuses = data["statuses"]
            next_page = None
        page = Page(next_page=next_page)
        ids: list[int] = []
        for raw in statuses:
            parsed = parse_status(as_dict(raw))
            page.add(parsed)
            if parsed is not None:
                ids.append(parsed[1])
        if request.purpose == "search" and ids and len(statuses) >= self.limit:
            return Page(page.items, page.positions, page.details, next_page=min(ids))
        return page


def next_max_id(link: str) -> str | None:
    """The `max_id` of a Link header's rel="next" URL (Mastodon's pagination)."""
    for url, rel in _LINK.findall(link):
        if "next" in rel.split():
            values = parse_qs(urlsplit(url).query).get("max_id")
            if values and values[0].isdigit():
                return str(values[0])
    return None


def parse_status(status: dict[str, Any]) -> tuple[RawItem, int, ItemDetails] | None:
    """A status as an item (a boost as the status boosted); None without an id."""
    if isinstance(status.get("reblog"), dict):
        status = status["reblog"]
    status_id = as_str(status.get("id"))
    position = as_int(status_id)
    if status_id is None or position is None:
        return None
    account = as_dict(status.get("account"))
    handle = as_str(account.get("acct"))
    url = as_str(status.get("url")) or as_str(status.get("uri"))
    item = RawItem(
        source_kind="mastodon",
        source_name="",
        platform_id=as_str(status.get("uri")) or status_id,
        url=url,
        title=as_str(status.get("spoiler_text")) or "",
        text=html_to_text(as_str(status.get("content")) or ""),
        author=handle,
        published_at=parse_time(status.get("created_at")),
        engagement=Engagement(
            likes=as_int(status.get("favourites_count")),
            replies=as_int(status.get("replies_count")),
            shares=as_int(status.get("reblogs_count")),
        ),
        language=language(status.get("language")),
    )
    details = ItemDetails(
        kind="reply" if status.get("in_reply_to_id") else "post",
        author_id=as_str(account.get("id")),
        author_name=as_str(account.get("display_name")),
        author_followers=as_int(account.get("followers_count")),
        author_deleted=handle is None,
        parent_id=as_str(status.get("in_reply_to_id")),
        thread_url=url,
    )
    return item, position, details
