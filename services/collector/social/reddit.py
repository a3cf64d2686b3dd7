"""Reddit: the search listing (posts) and the comments of the posts found, over OAuth.

Credentials: a Reddit "script" or "web" app's VEILLE_REDDIT_CLIENT_ID and
VEILLE_REDDIT_CLIENT_SECRET (application-only OAuth, `client_credentials` grant);
VEILLE_REDDIT_USER_AGENT is sent when set (Reddit asks for a descriptive one). The
token is asked from `auth_url` (default https://www.reddit.com), the API from
`base_url` (default https://oauth.reddit.com); both configurable for tests.

`/search` (or `/r/SUB/search` with the `subreddit` option) with `sort=new` returns
posts newest first, `after` pages back; Reddit has no "since" parameter, so runs stop
at the first page reaching the saved position. Position: `created_utc`. For each new
post with comments (at most `comment_posts` per page, default 5), its comment tree
(`/comments/ID?sort=new`) is fetched in the same run, and its "more" stubs are
followed: `/api/morechildren` for hidden replies, `/comments/ID/_/COMMENT` for
"continue this thread". Reddit's search finds posts only, so comments written later
on a matching post are collected by fetching its tree again on later runs while the
post is younger than the `revisit_hours` option (default 48; 0 turns it off).

The token (valid `expires_in` seconds, a day) is renewed a minute before it expires
and after a 401; it is sent only to `base_url`, never logged.

Pushed down: words, phrases, NEAR as both sides, OR, `author:`, `site:`. Not pushed:
NOT, prefixes, `lang:` (Reddit declares no language).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import Any

from services.collector.html_text import clean
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
    load_json,
    parse_time,
)
from services.collector.social.query_pushdown import Pushdown
from services.core.models import Engagement, RawItem

SITE = "https://www.reddit.com"
MORE_CHILDREN = 100  # ids per morechildren call, as Reddit documents
_GONE = frozenset({"[deleted]", "[removed]"})


class RedditConnector:
    """Posts and comments from Reddit's search."""

    kind = "reddit"
    pushdown = Pushdown(
        or_operator=" OR ", phrases=True, fields={"author": "author:", "site": "site:"}
    )

    def __init__(self) -> None:
        self.base_url = "https://oauth.reddit.com"
        self.auth_url = SITE
        self.client_id = ""
        self.client_secret = ""
        self.user_agent: str | None = None
        self.subreddit: str | None = None
        self.comment_posts = 5
        self.token: str | None = None
        self.token_expires = 0.0
        self.revisit_seconds = 48 * 3600

    def configure(self, source_options: Mapping[str, Any], env: Mapping[str, str]) -> None:
        """Needs VEILLE_REDDIT_CLIENT_ID and _SECRET; options: subreddit, comment_posts,
        revisit_hours."""
        client_id = env_value(env, "VEILLE_REDDIT_CLIENT_ID")
        client_secret = env_value(env, "VEILLE_REDDIT_CLIENT_SECRET")
        missing = [
            name
            for name, value in (
                ("VEILLE_REDDIT_CLIENT_ID", client_id),
                ("VEILLE_REDDIT_CLIENT_SECRET", client_secret),
            )
            if value is None
        ]
        if missing or client_id is None or client_secret is None:
            raise NotConfigured(f"{' and '.join(missing)} not set (a Reddit OAuth app)")
        self.client_id, self.client_secret = client_id, client_secret
        self.user_agent = env_value(env, "VEILLE_REDDIT_USER_AGENT")
        self.base_url = base_url(source_options, env, self.kind, self.base_url)
        auth = source_options.get("auth_url") or env_value(env, "VEILLE_REDDIT_AUTH_URL")
        self.auth_url = str(auth or SITE).rstrip("/")
        self.subreddit = as_str(source_options.get("subreddit"))
        self.comment_posts = max(0, int(source_options.get("comment_posts", 5)))
        self.revisit_seconds = int(float(source_options.get("revisit_hours", 48)) * 3600)

    def _headers(self) -> dict[str, str]:
        return {"User-Agent": self.user_agent} if self.user_agent else {}

    def auth_headers(self) -> dict[str, str]:
        """The bearer token held, for the API calls."""
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def forget_token(self, *, refresh_too: bool = False) -> None:
        """Drops the token (after a 401); the next call asks for a new one."""
        self.token = None
        self.token_expires = 0.0

    def auth_request(self) -> RequestSpec | None:
        """The application-only token call, unless the token held is still valid."""
        if self.token and time.time() < self.token_expires - 60:
            return None
        return RequestSpec(
            url=f"{self.auth_url}/api/v1/access_token",
            method="POST",
            form={"grant_type": "client_credentials"},
            basic_auth=(self.client_id, self.client_secret),
            headers={"User-Agent": self.user_agent} if self.user_agent else {},
            purpose="auth",
        )

    def parse_auth(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        """Keeps the access token and its expiry."""
        data = load_json(body)
        token = as_str(data.get("access_token"))
        if token is None:
            raise MalformedResponse(f"no access token: {as_str(data.get('error')) or '?'}")
        self.token = token
        self.token_expires = time.time() + (as_int(data.get("expires_in")) or 3600)

    def build_request(self, query: str, *, since: int | None, page: JSON) -> RequestSpec:
        """A search listing call for one page, newest first."""
        path = f"/r/{self.subreddit}/search" if self.subreddit else "/search"
        params = [
            ("q", query),
            ("sort", "new"),
            ("t", "all"),
            ("limit", "100"),
            ("type", "link"),
            ("raw_json", "1"),
        ]
        if self.subreddit:
            params.append(("restrict_sr", "1"))
        if page is not None:
            params.append(("after", str(page)))
        return RequestSpec(url=self.base_url + path, params=tuple(params), headers=self._headers())

    def comments_request(self, post_id: str) -> RequestSpec:
        """The comment tree of a post, newest first."""
        return RequestSpec(
            url=f"{self.base_url}/comments/{post_id}",
            params=(("sort", "new"), ("limit", "100"), ("raw_json", "1")),
            headers=self._headers(),
            purpose="comments",
            context={"thread": f"t3_{post_id}", "link_id": f"t3_{post_id}"},
        )

    def thread_request(self, thread_id: str) -> RequestSpec:
        """The comment tree of a post found earlier (its fullname, `t3_...`)."""
        return self.comments_request(thread_id.removeprefix("t3_"))

    def more_requests(self, stub: dict[str, Any], link_id: str) -> list[RequestSpec]:
        """The calls expanding a "more" stub: morechildren, or "continue this thread"."""
        children = [c for c in as_list(stub.get("children")) if isinstance(c, str) and c]
        if not children:
            parent = as_str(stub.get("parent_id"))
            if parent is None or not parent.startswith("t1_"):
                return []
            post, comment = link_id.removeprefix("t3_"), parent.removeprefix("t1_")
            return [
                RequestSpec(
                    url=f"{self.base_url}/comments/{post}/_/{comment}",
                    params=(("sort", "new"), ("limit", "100"), ("raw_json", "1")),
                    headers=self._headers(),
                    purpose="comments",
                    context={"link_id": link_id},
                )
            ]
        return [
            RequestSpec(
                url=f"{self.base_url}/api/morechildren",
                params=(
                    ("api_type", "json"),
                    ("link_id", link_id),
                    ("children", ",".join(children[start : start + MORE_CHILDREN])),
                    ("sort", "new"),
                    ("limit_children", "false"),
                    ("raw_json", "1"),
                ),
                headers=self._headers(),
                purpose="more",
                context={"link_id": link_id},
            )
            for start in range(0, len(children), MORE_CHILDREN)
        ]

    def parse_response(
        self, status: int, headers: Mapping[str, str], body: bytes, *, request: RequestSpec
    ) -> Page:
        """Parses a search Listing, a comments answer ([post Listing, comment Listing])
        or a morechildren answer ({json: {data: {things: [...]}}})."""
        link_id = str(request.context.get("link_id", ""))
        if request.purpose in ("comments", "more"):
            if request.purpose == "comments":
                answer = load_json(body, expect=list)
                if len(answer) < 2:
                    raise MalformedResponse("a comments answer has two listings")
                things = walk_comments(as_dict(answer[1]))
            else:
                data = as_dict(as_dict(load_json(body).get("json")).get("data"))
                if not isinstance(data.get("things"), list):
                    raise MalformedResponse("no 'things' list in the morechildren answer")
                things = iter([as_dict(thing) for thing in data["things"]])
            page = Page()
            for thing in things:
                if thing.get("kind") == "more":
                    page.follow_ups.extend(self.more_requests(as_dict(thing.get("data")), link_id))
                elif thing.get("kind") == "t1":
                    page.add(parse_comment(as_dict(thing.get("data"))))
            return page
        listing = load_json(body)
        data = as_dict(listing.get("data"))
        if listing.get("kind") != "Listing" or not isinstance(data.get("children"), list):
            raise MalformedResponse("not a Listing")
        page = Page(next_page=as_str(data.get("after")))
        for child in data["children"]:
            child = as_dict(child)
            if child.get("kind") != "t3":
                continue
            parsed = parse_post(as_dict(child.get("data")))
            page.add(parsed)
            post = as_dict(child.get("data"))
            post_id = as_str(post.get("id"))
            if parsed is None or not post_id:
                continue
            has_comments = (as_int(post.get("num_comments")) or 0) > 0
            if has_comments and len(page.follow_ups) < self.comment_posts:
                page.follow_ups.append(self.comments_request(post_id))
            else:  # no comments yet, or over the limit: later runs fetch them
                page.watch.append(f"t3_{post_id}")
        return page


def _author(data: dict[str, Any]) -> str | None:
    author = as_str(data.get("author"))
    return None if author is None or author in _GONE else author


def _text(value: Any) -> str:
    text = as_str(value) or ""
    return "" if text in _GONE else clean(text)


def parse_post(data: dict[str, Any]) -> tuple[RawItem, int, ItemDetails] | None:
    """A t3 (link or self post) as an item; None without a fullname or time."""
    name = as_str(data.get("name"))
    created = as_int(data.get("created_utc"))
    if name is None or created is None:
        return None
    permalink = as_str(data.get("permalink"))
    url = SITE + permalink if permalink else as_str(data.get("url"))
    author = _author(data)
    item = RawItem(
        source_kind="reddit",
        source_name="",
        platform_id=name,
        url=url,
        title=as_str(data.get("title")) or "",
        text=_text(data.get("selftext")),
        author=author,
        published_at=parse_time(created),
        engagement=Engagement(
            likes=as_int(data.get("score")),
            replies=as_int(data.get("num_comments")),
            shares=as_int(data.get("num_crossposts")),
            views=as_int(data.get("view_count")),
        ),
    )
    details = ItemDetails(
        kind="post",
        author_id=as_str(data.get("author_fullname")),
        author_deleted=author is None,
        root_id=name,
        thread_url=url,
    )
    return item, created, details


def walk_comments(listing: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every thing (t1 comment or "more" stub) in a comment Listing, depth first."""
    for child in as_list(as_dict(listing.get("data")).get("children")):
        child = as_dict(child)
        yield child
        if child.get("kind") == "t1":
            yield from walk_comments(as_dict(as_dict(child.get("data")).get("replies")))


def parse_comment(data: dict[str, Any]) -> tuple[RawItem, int, ItemDetails] | None:
    """A t1 (comment) as an item; None without a fullname or time."""
    name = as_str(data.get("name"))
    created = as_int(data.get("created_utc"))
    if name is None or created is None:
        return None
    permalink = as_str(data.get("permalink"))
    author = _author(data)
    link_id = as_str(data.get("link_id"))
    item = RawItem(
        source_kind="reddit",
        source_name="",
        platform_id=name,
        url=SITE + permalink if permalink else None,
        title=as_str(data.get("link_title")) or "",
        text=_text(data.get("body")),
        author=author,
        published_at=parse_time(created),
        engagement=Engagement(likes=as_int(data.get("score"))),
    )
    details = ItemDetails(
        kind="comment",
        author_id=as_str(data.get("author_fullname")),
        author_deleted=author is None,
        parent_id=as_str(data.get("parent_id")),
        root_id=link_id,
        thread_url=f"{SITE}/comments/{link_id.removeprefix('t3_')}" if link_id else None,
    )
    return item, created, details
