"""X (Twitter) API v2 recent search: the last seven days of posts, bearer token.

Credentials: VEILLE_X_BEARER_TOKEN (an app's bearer token with access to
`/2/tweets/search/recent`). Posts come newest first; `since_id` makes runs incremental
and `meta.next_token` pages back. Position: the post id (a snowflake). Authors come
from the `author_id` expansion (username, name, followers).

Pushed down: words, phrases, NEAR as both sides, OR, `author:` as `from:`, `lang:`,
`site:` as `url:`. Not pushed: NOT, prefixes. X needs a non-empty query of at most 512
characters: a query that pushes down to nothing (or too much) cannot run on X and the
source reports it as not configured.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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

MAX_QUERY = 512
TWEET_FIELDS = "created_at,lang,public_metrics,author_id,conversation_id,referenced_tweets"
USER_FIELDS = "username,name,public_metrics"


class XConnector:
    """Posts from X's recent search."""

    kind = "x"
    pushdown = Pushdown(
        or_operator=" OR ",
        phrases=True,
        fields={"author": "from:", "lang": "lang:", "site": "url:"},
    )

    def __init__(self) -> None:
        self.base_url = "https://api.x.com"
        self.token = ""

    def configure(self, source_options: Mapping[str, Any], env: Mapping[str, str]) -> None:
        """Needs VEILLE_X_BEARER_TOKEN; option: base_url."""
        token = env_value(env, "VEILLE_X_BEARER_TOKEN")
        if token is None:
            raise NotConfigured("VEILLE_X_BEARER_TOKEN not set (an X API v2 bearer token)")
        self.token = token
        self.base_url = base_url(source_options, env, self.kind, self.base_url)

    def build_request(self, query: str, *, since: int | None, page: JSON) -> RequestSpec:
        """A recent-search call for one page, newest first."""
        if not query.strip() or len(query) > MAX_QUERY:
            raise NotConfigured(
                f"X needs a search query of 1 to {MAX_QUERY} characters; "
                f"this query pushes down to {len(query)}"
            )
        params = [
            ("query", query),
            ("max_results", "100"),
            ("tweet.fields", TWEET_FIELDS),
            ("expansions", "author_id"),
            ("user.fields", USER_FIELDS),
        ]
        if since is not None:
            params.append(("since_id", str(since)))
        if page is not None:
            params.append(("next_token", str(page)))
        return RequestSpec(
            url=f"{self.base_url}/2/tweets/search/recent",
            params=tuple(params),
            headers={"Authorization": f"Bearer {self.token}"},
        )

    def parse_response(
        self, status: int, headers: Mapping[str, str], body: bytes, *, request: RequestSpec
    ) -> Page:
        """Parses {data, includes.users, meta}; no `data` means no results."""
        answer = load_json(body)
        if "data" not in answer and "meta" not in answer:
            raise MalformedResponse("neither 'data' nor 'meta' in the answer")
        users = {
            as_str(user.get("id")): user
            for user in (as_dict(u) for u in as_list(as_dict(answer.get("includes")).get("users")))
        }
        meta = as_dict(answer.get("meta"))
        page = Page(next_page=as_str(meta.get("next_token")))
        for raw in as_list(answer.get("data")):
            page.add(parse_post(as_dict(raw), users))
        return page


def parse_post(
    post: dict[str, Any], users: Mapping[str | None, dict[str, Any]]
) -> tuple[RawItem, int, ItemDetails] | None:
    """A post with its expanded author as an item; None without a numeric id."""
    post_id = as_str(post.get("id"))
    position = as_int(post_id)
    if post_id is None or position is None:
        return None
    author_id = as_str(post.get("author_id"))
    user = users.get(author_id, {})
    username = as_str(user.get("username"))
    metrics = as_dict(post.get("public_metrics"))
    url = f"https://x.com/{username or 'i/web'}/status/{post_id}"
    replied = [
        as_str(ref.get("id"))
        for ref in (as_dict(r) for r in as_list(post.get("referenced_tweets")))
        if ref.get("type") == "replied_to"
    ]
    conversation = as_str(post.get("conversation_id"))
    item = RawItem(
        source_kind="x",
        source_name="",
        platform_id=post_id,
        url=url,
        text=as_str(post.get("text")) or "",
        author=username,
        published_at=parse_time(post.get("created_at")),
        engagement=Engagement(
            likes=as_int(metrics.get("like_count")),
            replies=as_int(metrics.get("reply_count")),
            shares=_sum(metrics.get("retweet_count"), metrics.get("quote_count")),
            views=as_int(metrics.get("impression_count")),
        ),
        language=language(post.get("lang")) if post.get("lang") not in ("und", "zxx") else None,
    )
    details = ItemDetails(
        kind="reply" if replied else "post",
        author_id=author_id,
        author_name=as_str(user.get("name")),
        author_followers=as_int(as_dict(user.get("public_metrics")).get("followers_count")),
        author_deleted=username is None,
        parent_id=replied[0] if replied else None,
        root_id=conversation,
        thread_url=f"https://x.com/i/web/status/{conversation}" if conversation else url,
    )
    return item, position, details


def _sum(*values: Any) -> int | None:
    numbers = [n for n in (as_int(v) for v in values) if n is not None]
    return sum(numbers) if numbers else None
