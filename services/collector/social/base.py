"""What a social connector is: a pure request builder and a pure response parser.

One module per platform (searxng's engines): `build_request` turns the pushed-down
query and the saved position into one HTTP call, `parse_response` turns the answer
into a `Page` without any I/O, so it is tested on recorded payloads. A connector
instance is bound to one configured source by `configure`, which raises
`NotConfigured(reason)` when a credential or option is missing (scrapy's
`from_crawler`): the source is then shown as disabled, never crashed on.

Positions are integers that grow with time (a Unix time, a snowflake id): the runner
keeps the highest one seen as the source's `since` and each run fetches from there,
newest first, until it reaches it (see `runner.py`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from services.collector.social.query_pushdown import Pushdown
from services.collector.social.ratelimit import RateLimit
from services.core.models import RawItem

JSON = Any
"""A value decoded from JSON (or ready to be encoded to it)."""


class NotConfigured(Exception):
    """The connector cannot run for this source; `str(error)` says why, for people."""


class MalformedResponse(Exception):
    """The platform answered 2xx with a body that is not what its API documents."""


@dataclass(frozen=True)
class RequestSpec:
    """One HTTP call, described; `purpose` tells `parse_response` what it answers."""

    url: str
    method: str = "GET"
    params: tuple[tuple[str, str], ...] = ()
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    form: Mapping[str, str] | None = field(default=None, repr=False)
    json_body: JSON = field(default=None, repr=False)  # may hold a password: never shown
    basic_auth: tuple[str, str] | None = field(default=None, repr=False)
    purpose: str = "search"
    context: Mapping[str, JSON] = field(default_factory=dict)


@dataclass(frozen=True)
class ItemDetails:
    """What a platform says about an item that `RawItem` has no field for (yet)."""

    kind: str = "post"  # "post", "comment", "video", "reply"
    author_id: str | None = None
    author_name: str | None = None  # the display name; RawItem.author holds the handle
    author_followers: int | None = None
    author_deleted: bool = False
    parent_id: str | None = None  # the platform id of the item replied to
    root_id: str | None = None  # the platform id of the thread's first post
    thread_url: str | None = None


@dataclass(frozen=True)
class Page:
    """One parsed answer.

    `next_page` is the opaque token of the following (older) page, None at the end;
    `positions` maps each item's platform id to its position (see the module doc);
    `follow_ups` are extra calls the runner makes in the same run (comments of a
    post found, "more" stubs), parsed by the same connector; a follow-up whose
    context holds `thread` fetches that thread from its start (see `Revisiting`).
    `enrich` are calls completing this page's items (YouTube's statistics), made
    before the page counts as received; their pages carry `updates`: platform id ->
    RawItem fields to replace, and `detail_updates`: platform id -> ItemDetails fields.
    `watch` names threads not fetched now (no comments yet, or over the per-page
    limit) that later runs fetch while they are young, when their item was kept.
    """

    items: list[RawItem] = field(default_factory=list)
    positions: dict[str, int] = field(default_factory=dict)
    details: dict[str, ItemDetails] = field(default_factory=dict)
    next_page: JSON = None
    follow_ups: list[RequestSpec] = field(default_factory=list)
    enrich: list[RequestSpec] = field(default_factory=list)
    updates: dict[str, dict[str, Any]] = field(default_factory=dict)
    detail_updates: dict[str, dict[str, Any]] = field(default_factory=dict)
    watch: list[str] = field(default_factory=list)
    rate_limit: RateLimit | None = None

    def add(self, parsed: tuple[RawItem, int | None, ItemDetails] | None) -> None:
        """Adds a connector's parsed (item, position, details); None (skipped) adds nothing,
        nor does a None position (the item then takes no part in the cursor)."""
        if parsed is None:
            return
        item, position, details = parsed
        assert item.platform_id is not None
        self.items.append(item)
        if position is not None:
            self.positions[item.platform_id] = position
        self.details[item.platform_id] = details


@runtime_checkable
class Connector(Protocol):
    """A platform's search, bound to one source by `configure`."""

    kind: str
    pushdown: Pushdown

    def configure(self, source_options: Mapping[str, Any], env: Mapping[str, str]) -> None:
        """Binds options and credentials; raises NotConfigured(reason) when unusable."""
        ...

    def build_request(self, query: str, *, since: int | None, page: JSON) -> RequestSpec:
        """The call for one page: `query` in the platform's syntax, newest first."""
        ...

    def parse_response(
        self, status: int, headers: Mapping[str, str], body: bytes, *, request: RequestSpec
    ) -> Page:
        """Parses a 2xx answer; raises MalformedResponse. Pure: no I/O."""
        ...


@runtime_checkable
class Authenticating(Protocol):
    """A connector that must obtain a token before searching (Reddit's OAuth, Bluesky).

    The runner asks `auth_request()` before every call, so an expiring token is
    renewed in time; the connector puts the token in the calls it builds, or, as a
    `RenewingTokens`, lets the runner add it.
    """

    def auth_request(self) -> RequestSpec | None:
        """The token call, or None when the connector holds a valid token (or needs none)."""
        ...

    def parse_auth(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        """Keeps the token from the answer; raises MalformedResponse."""
        ...


@runtime_checkable
class RenewingTokens(Authenticating, Protocol):
    """An authenticating connector whose token the runner adds and renews.

    The runner adds `auth_headers()` to every non-auth call, and after a 401 calls
    `forget_token()` and retries once with a new token. An auth call of purpose
    "refresh" that is refused makes it call `forget_token(refresh_too=True)` and log
    in afresh.
    """

    def auth_headers(self) -> dict[str, str]:
        """The headers that carry the token held ({} when none)."""
        ...

    def forget_token(self, *, refresh_too: bool = False) -> None:
        """Drops the access token (and the refresh token when asked)."""
        ...


@runtime_checkable
class Revisiting(Protocol):
    """A connector whose threads grow after they are found (Reddit, YouTube comments).

    The runner remembers the threads it fetched (in the cursor) and fetches them again
    on later runs while they are younger than `revisit_seconds`, so comments written
    after a post was found are collected too.
    """

    revisit_seconds: int

    def thread_request(self, thread_id: str) -> RequestSpec:
        """The call fetching a thread's newest replies; its context holds `thread`."""
        ...


@dataclass(frozen=True)
class SocialSource:
    """A configured social source, until `Source` can describe one (see the report)."""

    name: str
    kind: str
    query: str = ""
    options: Mapping[str, Any] = field(default_factory=dict)
    max_pages: int = 5


def env_value(env: Mapping[str, str], name: str) -> str | None:
    """An environment variable's value, None when unset or blank."""
    value = env.get(name, "").strip()
    return value or None


def base_url(options: Mapping[str, Any], env: Mapping[str, str], kind: str, default: str) -> str:
    """The API's base URL: the source's `base_url` option, VEILLE_<KIND>_BASE_URL, default."""
    chosen = options.get("base_url") or env_value(env, f"VEILLE_{kind.upper()}_BASE_URL")
    return str(chosen or default).rstrip("/")
