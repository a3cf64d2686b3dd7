"""The domain model: what Veille collects, analyzes and stores.

Pure data (pydantic), no I/O. Every other package speaks in these types.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator, model_validator

from services.core.brand_context import BrandContext
from services.core.evidence import Evidence
from services.core.ids import canonical_url, mention_id
from services.core.triage import Triage


def utcnow() -> datetime:
    """Returns the current time, timezone-aware in UTC."""
    return datetime.now(UTC)


class SentimentLabel(StrEnum):
    NEGATIVE = "negative"
    NEUTRAL = "neutral"
    POSITIVE = "positive"


class Sentiment(BaseModel):
    """A sentiment label with the classifier's confidence in it (0..1)."""

    model_config = ConfigDict(frozen=True)

    label: SentimentLabel
    score: float = Field(ge=0.0, le=1.0, description="probability of `label`")
    evidence: Evidence | None = Field(
        default=None, description="the sentences judged and the words that weighed most"
    )
    source: Literal["model", "analyst"] = Field(
        default="model", description="'analyst' when a person corrected it: analysis keeps it"
    )


class Engagement(BaseModel):
    """Counts the platform reports for a post; None where it gives none."""

    likes: int | None = None
    replies: int | None = None
    shares: int | None = None
    views: int | None = None


class AuthorDetails(BaseModel):
    """What a platform says about an author beyond the handle in `author`."""

    id: str | None = None
    display_name: str | None = None
    followers: int | None = None
    deleted: bool = False


class ThreadLink(BaseModel):
    """Where an item sits in a conversation: a post, or a reply to another item."""

    item_kind: str = Field(default="post", description="post, comment, reply, video...")
    parent_id: str | None = Field(default=None, description="platform id of the item replied to")
    root_id: str | None = Field(default=None, description="platform id of the thread's first post")
    url: str | None = Field(default=None, description="the thread's permalink")


class SourceKind(StrEnum):
    FEED = "feed"
    IMPORT = "import"
    DEMO = "demo"


class Mention(BaseModel):
    """One post, article, comment or item that a source produced.

    The id is deterministic (see `services.core.ids`), so collecting or importing the
    same item twice updates one mention instead of creating two.
    """

    id: str
    source_kind: str
    source_name: str
    url: str | None = None
    title: str = ""
    text: str = ""
    author: str | None = None
    published_at: datetime
    collected_at: datetime = Field(default_factory=utcnow)
    language: str | None = None
    brands: list[str] = Field(default_factory=list)
    competitors: list[str] = Field(default_factory=list)
    sentiment: Sentiment | None = None
    brand_sentiments: dict[str, Sentiment] = Field(
        default_factory=dict, description="sentiment toward each brand or competitor named"
    )
    topics: list[str] = Field(default_factory=list)
    story_id: str | None = Field(
        default=None,
        description="the story this mention belongs to (the id of its first copy seen); "
        "reposts, retweets and syndicated copies share it",
    )
    topics_source: Literal["model", "analyst"] = Field(
        default="model", description="'analyst' when a person corrected the topics"
    )
    engagement: Engagement = Field(default_factory=Engagement)
    author_details: AuthorDetails | None = None
    thread: ThreadLink | None = None
    triage: Triage = Field(
        default_factory=Triage,
        description="workflow state, assignee and tags (the state store holds the record)",
    )

    @field_validator("published_at", "collected_at")
    @classmethod
    def _aware_utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    @property
    def site(self) -> str | None:
        """Host name of the mention's URL, without a leading `www.`."""
        return site_of(self.url)

    @property
    def is_duplicate(self) -> bool:
        """True for a later copy of a story (a repost, retweet or syndicated article)."""
        return self.story_id is not None and self.story_id != self.id

    @property
    def analyzed(self) -> bool:
        """True once the analyzer has labelled this mention."""
        return self.language is not None and self.sentiment is not None


class RawItem(BaseModel):
    """An item as a collector found it, before analysis."""

    source_kind: str
    source_name: str
    platform_id: str | None = None
    url: str | None = None
    title: str = ""
    text: str = ""
    author: str | None = None
    published_at: datetime | None = None
    collected_at: datetime = Field(default_factory=utcnow)
    engagement: Engagement = Field(default_factory=Engagement)
    language: str | None = Field(default=None, description="language the source declares")
    author_details: AuthorDetails | None = None
    thread: ThreadLink | None = None

    @property
    def mention_id(self) -> str:
        """The id the mention built from this item will have."""
        return mention_id(source_kind=self.source_kind, platform_id=self.platform_id, url=self.url)

    def to_mention(self) -> Mention:
        """Builds an unanalyzed mention; the item's publication time defaults to collection."""
        return Mention(
            id=self.mention_id,
            source_kind=self.source_kind,
            source_name=self.source_name,
            url=canonical_url(self.url) if self.url else None,
            title=self.title,
            text=self.text,
            author=self.author,
            published_at=self.published_at or self.collected_at,
            collected_at=self.collected_at,
            engagement=self.engagement,
            language=None,
            author_details=self.author_details,
            thread=self.thread,
        )


Alias = Annotated[str, Field(min_length=1, max_length=200)]


class Brand(BrandContext):
    """A brand to watch: the names people use for it and what not to confuse it with."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "Veloria",
                    "aliases": ["Veloria Bikes", "@veloria", "#veloria"],
                    "exclusions": ["Veloria Street"],
                    "competitors": ["Trekko"],
                }
            ]
        },
    )

    name: Alias
    aliases: list[Alias] = Field(
        default_factory=list, description="other spellings, products, handles (@brand, #brand)"
    )
    exclusions: list[Alias] = Field(
        default_factory=list,
        description="phrases in which an alias does not mean the brand ('jus d'orange')",
    )
    competitors: list[Alias] = Field(
        default_factory=list, description="names of other brands (declared in `competitors:`)"
    )

    def all_names(self) -> list[str]:
        """The brand's name followed by its aliases, without repeats."""
        return list(dict.fromkeys([self.name, *self.aliases]))


class Competitor(BrandContext):
    """A competing brand, tagged so share of voice can be measured."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "Voltaire Cycles",
                    "aliases": ["Voltaire"],
                    "exclusions": ["quai Voltaire"],
                }
            ]
        },
    )

    name: Alias
    aliases: list[Alias] = Field(default_factory=list)
    exclusions: list[Alias] = Field(default_factory=list)

    def all_names(self) -> list[str]:
        """The competitor's name followed by its aliases, without repeats."""
        return list(dict.fromkeys([self.name, *self.aliases]))


MAX_SOURCE_URL_CHARS = 2000


class Source(BaseModel):
    """A place to collect from, polled on its own interval."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "velo-blog",
                    "kind": "feed",
                    "url": "https://example.org/feed.xml",
                    "interval_minutes": 30,
                    "keep": "matching",
                }
            ]
        },
    )

    name: Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[\w .\-]+$")]
    kind: str = Field(
        default="feed",
        pattern=r"^[a-z][a-z0-9_\-]{0,39}$",
        description="feed, web (a blog, news site or forum thread, crawled), or a social "
        "connector: hackernews, mastodon, bluesky, reddit, youtube, x, or a plugin's "
        "(`veille sources kinds`)",
    )
    url: HttpUrl | None = Field(default=None, description="the feed's or site's URL")
    options: dict[str, Any] = Field(
        default_factory=dict,
        description="connector options, e.g. base_url (a self-hosted instance), hashtag, subreddit",
    )
    max_pages: int = Field(default=5, ge=1, le=50, description="result pages per social run")
    interval_minutes: int = Field(default=15, ge=1, le=7 * 24 * 60)
    enabled: bool = True
    query: str | None = Field(
        default=None, description="keep only items matching this query (query language)"
    )
    keep: Literal["matching", "all"] = Field(
        default="matching",
        description="'matching': keep items naming a brand or competitor; 'all': keep every item",
    )
    language: str | None = Field(default=None, description="force the language of every item")

    @field_validator("url")
    @classmethod
    def _storable_url(cls, value: HttpUrl | None) -> HttpUrl | None:
        # The normalised form is what is stored and read back ("http://host" gains a
        # "/"): a URL valid as sent but too long once normalised would fail every read.
        if value is not None and len(str(value)) > MAX_SOURCE_URL_CHARS:
            raise ValueError(
                f"the URL is too long ({len(str(value))} characters once normalised; "
                f"at most {MAX_SOURCE_URL_CHARS})"
            )
        return value

    @model_validator(mode="after")
    def _feed_needs_url(self) -> Source:
        if self.kind in {"feed", "web"} and self.url is None:
            raise ValueError(f"a {self.kind} source needs a url")
        return self


class ErrorKind(StrEnum):
    """Why a run failed, for programs; the run's message says it for people."""

    UNREACHABLE = "unreachable"  # the host could not be resolved or connected to
    TIMEOUT = "timeout"  # the fetch outlasted collector.timeout_seconds
    REFUSED = "refused"  # a URL or address the collector will not fetch
    TOO_LARGE = "too_large"
    HTTP_STATUS = "http_status"
    TOO_MANY_REDIRECTS = "too_many_redirects"
    NETWORK = "network"  # a broken connection or broken HTTP/TLS
    PARSE = "parse"  # the answer is not a usable feed or page
    NOT_CONFIGURED = "not_configured"  # e.g. a connector without its credentials
    RATE_LIMITED = "rate_limited"
    STORE = "store"
    INTERNAL = "internal"
    CANCELLED = "cancelled"  # the collector stopped mid-run (such runs are not recorded)
    ERROR = "error"  # any other


class RunStatus(StrEnum):
    OK = "ok"
    NOT_MODIFIED = "not_modified"
    ERROR = "error"


class RunStats(BaseModel):
    """Figures of one collection run (crawled `web` sources also count pages and errors)."""

    duration_seconds: float
    items_found: int = Field(description="items the run read (known ones included)")
    items_stored: int = Field(
        description="items new or changed, queued for the analyzer, which may drop some "
        "(`keep: matching` drops those naming no brand): what it kept is the source's "
        "`mentions_stored` (the field keeps this name for existing clients)"
    )
    pages_fetched: int | None = Field(default=None, description="pages crawled (web sources)")
    errors: dict[str, int] = Field(
        default_factory=dict, description="errors by kind, e.g. http_404, timeout, refused"
    )
    notes: list[str] = Field(
        default_factory=list,
        description="what the run changed or left out: items over the per-run cap, dates "
        "from the future, a wrong declared charset",
    )


class SourceStatus(BaseModel):
    """What the last collection runs of a source did."""

    name: str
    kind: str
    url: str | None
    enabled: bool
    last_run_at: datetime | None = None
    last_success_at: datetime | None = None
    last_status: RunStatus | None = None
    last_error: str | None = None
    last_error_kind: ErrorKind | None = Field(
        default=None, description="why the last run failed (its state is read from this)"
    )
    last_items: int = 0
    total_items: int = Field(default=0, description="items queued for the analyzer, all runs")
    mentions_stored: int | None = Field(
        default=None,
        description="mentions of this source in the index: the items the analyzer kept "
        "(`keep: matching` drops those naming no brand), less those removed since",
    )
    consecutive_errors: int = 0
    state: Literal["ok", "failing", "unreachable", "never_run", "disabled"] = "never_run"
    disabled_reason: str | None = Field(
        default=None, description="why a source is disabled (switched off, or not configured)"
    )
    last_run: RunStats | None = None


def site_of(url: str | None) -> str | None:
    """Host name of a URL, without a leading `www.` (`Mention.site`)."""
    if not url:
        return None
    from urllib.parse import urlsplit

    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.") or None
