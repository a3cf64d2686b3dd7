"""Bluesky: `app.bsky.feed.searchPosts` (XRPC) with its cursor.

`sort=latest` gives posts newest first; `since` (inclusive, on the post's sortAt
time) makes runs incremental; the answer's `cursor` pages back. Position: the
sortAt time (the earlier of createdAt and indexedAt), in Unix seconds.

Search increasingly needs a logged-in account. With VEILLE_BLUESKY_IDENTIFIER (a
handle or email) and VEILLE_BLUESKY_APP_PASSWORD (an app password, never the account
password), the connector logs in with `com.atproto.server.createSession` on the PDS
(`auth_url` option, VEILLE_BLUESKY_AUTH_URL, default https://bsky.social), renews its
access token with `refreshSession` a minute before it expires (its JWT `exp`) or after
a 401, and logs in again when the refresh token is refused. It searches through the
PDS then (which proxies `app.bsky.*`), unless a base URL is set. The session is kept
by the connector between runs: createSession has a tight rate limit.
Without credentials it searches the public AppView (`base_url` option,
VEILLE_BLUESKY_BASE_URL, default https://public.api.bsky.app), with
VEILLE_BLUESKY_TOKEN as a Bearer token when set. Rate limits come as `ratelimit-*`
headers.

Pushed down: words, phrases, NEAR as both sides, `author:` as `from:`, `lang:` as
`lang:`, `site:` as `domain:` (searchPosts recommends Lucene-like syntax and documents
these filters). Not pushed: OR (unspecified for searchPosts), NOT, prefixes.
"""

from __future__ import annotations

import base64
import json
import time
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
    epoch,
    iso,
    language,
    load_json,
    parse_time,
)
from services.collector.social.query_pushdown import Pushdown
from services.core.models import Engagement, RawItem

INVALID_HANDLE = "handle.invalid"  # what the AppView shows for an account it cannot verify
PUBLIC_APPVIEW = "https://public.api.bsky.app"
ENTRYWAY = "https://bsky.social"


class BlueskyConnector:
    """Posts from Bluesky's searchPosts."""

    kind = "bluesky"
    pushdown = Pushdown(
        or_operator=None,
        phrases=True,
        fields={"author": "from:", "lang": "lang:", "site": "domain:"},
    )

    def __init__(self) -> None:
        self.base_url = PUBLIC_APPVIEW
        self.auth_url = ENTRYWAY
        self.token: str | None = None  # a static token (VEILLE_BLUESKY_TOKEN)
        self.identifier: str | None = None
        self.password: str | None = None
        self.access_jwt: str | None = None
        self.refresh_jwt: str | None = None
        self.access_expires = 0.0
        self.limit = 100

    def configure(self, source_options: Mapping[str, Any], env: Mapping[str, str]) -> None:
        """Options: base_url, auth_url, limit; credentials from the environment (optional)."""
        identifier = env_value(env, "VEILLE_BLUESKY_IDENTIFIER")
        password = env_value(env, "VEILLE_BLUESKY_APP_PASSWORD")
        if (identifier is None) != (password is None):
            given, missing = (
                ("VEILLE_BLUESKY_IDENTIFIER", "VEILLE_BLUESKY_APP_PASSWORD")
                if identifier
                else ("VEILLE_BLUESKY_APP_PASSWORD", "VEILLE_BLUESKY_IDENTIFIER")
            )
            raise NotConfigured(f"{missing} not set while {given} is (a Bluesky app password)")
        if identifier != self.identifier or password != self.password:
            self.forget_token(refresh_too=True)  # other credentials: another session
        self.identifier, self.password = identifier, password
        auth = source_options.get("auth_url") or env_value(env, "VEILLE_BLUESKY_AUTH_URL")
        self.auth_url = str(auth or ENTRYWAY).rstrip("/")
        default = self.auth_url if identifier else PUBLIC_APPVIEW
        self.base_url = base_url(source_options, env, self.kind, default)
        self.token = env_value(env, "VEILLE_BLUESKY_TOKEN")
        self.limit = min(100, max(1, int(source_options.get("limit", 100))))

    def auth_request(self) -> RequestSpec | None:
        """createSession, refreshSession, or None (a valid session, or no credentials)."""
        if self.identifier is None or self.password is None:
            return None
        if self.access_jwt and time.time() < self.access_expires - 60:
            return None
        if self.refresh_jwt:
            return RequestSpec(
                url=f"{self.auth_url}/xrpc/com.atproto.server.refreshSession",
                method="POST",
                headers={"Authorization": f"Bearer {self.refresh_jwt}"},
                purpose="refresh",
            )
        return RequestSpec(
            url=f"{self.auth_url}/xrpc/com.atproto.server.createSession",
            method="POST",
            json_body={"identifier": self.identifier, "password": self.password},
            purpose="auth",
        )

    def parse_auth(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        """Keeps the session's tokens (createSession and refreshSession answer alike)."""
        data = load_json(body)
        access, refresh = as_str(data.get("accessJwt")), as_str(data.get("refreshJwt"))
        if access is None or refresh is None:
            raise MalformedResponse("no accessJwt/refreshJwt in the session answer")
        self.access_jwt, self.refresh_jwt = access, refresh
        self.access_expires = jwt_expiry(access) or time.time() + 15 * 60

    def auth_headers(self) -> dict[str, str]:
        """The session's access token, else the static token, as a Bearer token."""
        token = self.access_jwt or self.token
        return {"Authorization": f"Bearer {token}"} if token else {}

    def forget_token(self, *, refresh_too: bool = False) -> None:
        """Drops the access token (and the refresh token when asked)."""
        self.access_jwt = None
        self.access_expires = 0.0
        if refresh_too:
            self.refresh_jwt = None

    def build_request(self, query: str, *, since: int | None, page: JSON) -> RequestSpec:
        """A searchPosts call for one page, latest first."""
        params = [("q", query or "*"), ("sort", "latest"), ("limit", str(self.limit))]
        if since is not None:
            params.append(("since", iso(since)))
        if page is not None:
            params.append(("cursor", str(page)))
        return RequestSpec(
            url=f"{self.base_url}/xrpc/app.bsky.feed.searchPosts", params=tuple(params)
        )

    def parse_response(
        self, status: int, headers: Mapping[str, str], body: bytes, *, request: RequestSpec
    ) -> Page:
        """Parses {posts: [postView], cursor?}."""
        data = load_json(body)
        if not isinstance(data.get("posts"), list):
            raise MalformedResponse("no 'posts' list in the searchPosts answer")
        page = Page(next_page=as_str(data.get("cursor")))
        for raw in data["posts"]:
            page.add(parse_post_view(as_dict(raw)))
        return page


def jwt_expiry(token: str) -> float | None:
    """The `exp` claim of a JWT (read, not verified: the PDS checks it), None if unreadable."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, UnicodeDecodeError):
        return None
    expiry = as_int(payload.get("exp")) if isinstance(payload, dict) else None
    return None if expiry is None else float(expiry)


def permalink(uri: str, handle: str | None, did: str | None) -> str | None:
    """The bsky.app URL of an at:// post URI."""
    parts = uri.removeprefix("at://").split("/")
    if len(parts) != 3 or parts[1] != "app.bsky.feed.post":
        return None
    actor = handle if handle and handle != INVALID_HANDLE else did or parts[0]
    return f"https://bsky.app/profile/{actor}/post/{parts[2]}"


def parse_post_view(view: dict[str, Any]) -> tuple[RawItem, int | None, ItemDetails] | None:
    """A postView as an item; None for notFound/blocked posts and views without a URI."""
    uri = as_str(view.get("uri"))
    if uri is None or view.get("notFound") or view.get("blocked"):
        return None
    record = as_dict(view.get("record"))
    author = as_dict(view.get("author"))
    handle = as_str(author.get("handle"))
    did = as_str(author.get("did"))
    created = parse_time(record.get("createdAt"))
    indexed = parse_time(view.get("indexedAt"))
    sort_at = min((t for t in (created, indexed) if t is not None), default=None)
    langs = [lang for lang in as_list(record.get("langs")) if isinstance(lang, str)]
    reply = as_dict(record.get("reply"))
    url = permalink(uri, handle, did)
    item = RawItem(
        source_kind="bluesky",
        source_name="",
        platform_id=uri,
        url=url,
        text=as_str(record.get("text")) or "",
        author=handle if handle != INVALID_HANDLE else None,
        published_at=created or indexed,
        engagement=Engagement(
            likes=as_int(view.get("likeCount")),
            replies=as_int(view.get("replyCount")),
            shares=(as_int(view.get("repostCount")) or 0) + (as_int(view.get("quoteCount")) or 0)
            if view.get("repostCount") is not None or view.get("quoteCount") is not None
            else None,
        ),
        language=language(langs[0]) if langs else None,
    )
    root_uri = as_str(as_dict(reply.get("root")).get("uri"))
    details = ItemDetails(
        kind="reply" if reply else "post",
        author_id=did,
        author_name=as_str(author.get("displayName")),
        author_deleted=handle in (None, INVALID_HANDLE),
        parent_id=as_str(as_dict(reply.get("parent")).get("uri")),
        root_id=root_uri,
        thread_url=permalink(root_uri, None, None) if root_uri else url,
    )
    return item, epoch(sort_at), details
