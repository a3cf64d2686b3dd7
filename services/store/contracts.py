"""The mention index contract: what every backend (embedded, Elasticsearch) provides.

One contract test suite (tests/store/test_index_contract.py) runs against every
backend; a gap in one backend is an `xfail(strict=True)`, never a silent skip.

Semantics every backend honours:
- `upsert` is idempotent by `Mention.id`: writing a mention again replaces it.
  When `upsert` returns, the mentions are durable and visible to `search`.
- Queries are `services.core.query` trees and match exactly what
  `services.core.query.matches` accepts on the same mention.
- Times are UTC; `since` is inclusive, `until` exclusive.
- `MentionFilter.copies` is exact after every `upsert` and `delete`: the store keeps
  each copy's place in its story (story_chain.py) as copies arrive, move or go.
- Cursor pagination is stable: walking every page with `next_cursor` returns each
  matching mention exactly once, while nothing is written in between.
- Errors: `IndexUnavailable` when the backend cannot be reached or is locked,
  `ValueError` for a request it cannot serve (bad cursor, limit out of range), as
  `UnservableRequest` when the caller can change it to one that is served (fewer
  buckets, a longer wildcard prefix): the API answers it with a 400 saying what to change.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from services.core.models import Mention
from services.core.query.ast import MatchAll, Node
from services.core.triage import Triage

if TYPE_CHECKING:
    from services.store.id_digest import DayDigest

MAX_PAGE_SIZE = 500
# Top terms are counted over the newest this many matches: fast on any number of them.
TOP_TERMS_SAMPLE = 10_000


class IndexUnavailable(RuntimeError):
    """The index cannot be reached or opened (locked, missing, network down)."""


class UnservableRequest(ValueError):
    """A request refused as asked (too many buckets, a wildcard expanding too far); the
    message says what to change."""


class SortOrder(StrEnum):
    NEWEST = "newest"
    OLDEST = "oldest"


class Interval(StrEnum):
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"  # ISO weeks, starting on Monday


class Dimension(StrEnum):
    """Keyword fields mentions can be counted by."""

    SENTIMENT = "sentiment"
    BRAND = "brand"
    COMPETITOR = "competitor"
    SOURCE = "source"  # source name
    LANGUAGE = "language"
    TOPIC = "topic"
    STORY = "story"  # mentions per story: how many copies each story has
    AUTHOR = "author"  # the author's handle, as displayed
    COMMUNITY = "community"  # subreddit, forum, blog or feed (services.core.communities)
    STATE = "state"  # triage state (services.core.triage), as stored: in_progress


class StoryCopies(StrEnum):
    """Which copies of each story a filter keeps, by their order in the story (see
    services/store/story_chain.py): every one, only the first published in the window
    (so each story with a copy in the window is kept once), or only the later ones."""

    ALL = "all"
    FIRST = "first"
    LATER = "later"


@dataclass(frozen=True)
class MentionFilter:
    """The mentions a request is about: a query and a time window on `published_at`,
    optionally only some copies of each story, or only some stories (`stories`: their
    `story_chain.story_hash` values; None keeps every story, an empty set none)."""

    query: Node = field(default_factory=MatchAll)
    since: datetime | None = None
    until: datetime | None = None
    copies: StoryCopies = StoryCopies.ALL
    stories: frozenset[int] | None = None


@dataclass(frozen=True)
class SearchRequest:
    filter: MentionFilter = field(default_factory=MentionFilter)
    sort: SortOrder = SortOrder.NEWEST
    limit: int = 20
    cursor: str | None = None  # opaque; from a previous SearchPage.next_cursor


@dataclass(frozen=True)
class SearchPage:
    mentions: list[Mention]
    total: int  # all matches, not only this page
    next_cursor: str | None  # None on the last page


@dataclass(frozen=True)
class CountBucket:
    key: str
    count: int


@dataclass(frozen=True)
class AudienceBucket:
    """One value of a dimension (an author): its matches, and the most followers the
    platform reported for any of them (None where the platform gives no count)."""

    key: str
    count: int
    followers: int | None


@dataclass(frozen=True)
class Reach:
    """The followers of the authors of matching mentions, summed over the mentions whose
    platform gives a count (`counted` of them); None when none does."""

    mentions: int
    counted: int
    followers: int | None


@dataclass(frozen=True)
class TimeBucket:
    start: datetime  # UTC start of the bucket
    count: int
    by: dict[str, int] = field(default_factory=dict)  # split counts, when asked for


class MentionIndex(ABC):
    """Stores analyzed mentions; searches and counts them."""

    @abstractmethod
    def upsert(self, mentions: Sequence[Mention]) -> int:
        """Writes mentions (replacing any with the same id); returns how many were written."""

    @abstractmethod
    def get(self, mention_id: str) -> Mention | None:
        """Returns one mention by id, or None."""

    @abstractmethod
    def search(self, request: SearchRequest) -> SearchPage:
        """Returns one page of matching mentions in the requested order."""

    @abstractmethod
    def count(self, flt: MentionFilter) -> int:
        """Counts matching mentions."""

    @abstractmethod
    def histogram(
        self, flt: MentionFilter, *, interval: Interval, split_by: Dimension | None = None
    ) -> list[TimeBucket]:
        """Counts matches per time bucket, oldest first; empty buckets inside the window
        (`since`..`until`, or the first..last match when open) are included with 0."""

    @abstractmethod
    def terms(
        self, flt: MentionFilter, *, dimension: Dimension, size: int = 10
    ) -> list[CountBucket]:
        """Counts matches per value of a keyword field, largest first, ties by key."""

    @abstractmethod
    def top_terms(
        self, flt: MentionFilter, *, size: int = 20, exclude: Collection[str] = ()
    ) -> list[CountBucket]:
        """The words most matches use (count = mentions using it), largest first: lower-
        cased with their accents as written, without function words, numbers, or the
        words whose folded form is in `exclude` (a brand's own names). Counted over the
        newest `TOP_TERMS_SAMPLE` matches when more match."""

    @abstractmethod
    def audience(
        self, flt: MentionFilter, *, dimension: Dimension, size: int = 10, by_followers: bool
    ) -> list[AudienceBucket]:
        """Per value of a dimension, its matches and the most followers reported for any of
        them; the largest counts first, or the largest audiences (`by_followers`; values
        with no follower count last), ties by key."""

    @abstractmethod
    def reach(self, flt: MentionFilter) -> Reach:
        """The matches, and the followers of their authors where the platform gives them."""

    @abstractmethod
    def story_hashes(self, flt: MentionFilter) -> set[int]:
        """The stories of the matching mentions, as `story_chain.story_hash` values."""

    @abstractmethod
    def story_starts(self, flt: MentionFilter) -> dict[int, int]:
        """Per story of the matching mentions (`story_chain.story_hash`), the earliest
        publication time (epoch microseconds) among its matching mentions."""

    @abstractmethod
    def iter_all(self, flt: MentionFilter, *, batch_size: int = 1000) -> Iterator[Mention]:
        """Yields every matching mention (for export, migration, re-analysis)."""

    def distinct_story_count(self, flt: MentionFilter) -> int | None:
        """The number of stories with a matching mention (each counted once), when this
        backend has a cheaper way to it than `distinct_stories.DistinctStories.count`;
        None (the default) to let that count it from the calls above."""
        return None

    def day_digests(self, flt: MentionFilter) -> dict[date, DayDigest]:
        """Per UTC day of publication, the matching mentions' count and the digest of their
        ids (`id_digest`): equal on a day when two indices hold the same ids there. This
        default reads every mention's JSON; backends override it with a read of the ids
        (or their hashes) alone."""
        from services.store.id_digest import fold_dated

        def pairs() -> Iterator[tuple[datetime, str]]:
            for raw in self.iter_json(flt):
                found = json.loads(raw)
                yield datetime.fromisoformat(str(found["published_at"])), str(found["id"])

        return fold_dated(pairs())

    def iter_json(self, flt: MentionFilter, *, batch_size: int = 1000) -> Iterator[bytes]:
        """Yields every matching mention as JSON (the fields of `Mention`, maybe more),
        oldest first: for a reader of a few fields of many mentions, such as a CSV
        export, that needs no model. A backend that stores the JSON yields it as stored."""
        for mention in self.iter_all(flt, batch_size=batch_size):
            yield mention.model_dump_json().encode("utf-8")

    @abstractmethod
    def set_triage(self, changes: Mapping[str, Triage]) -> int:
        """Replaces the triage (state, assignee, tags) of stored mentions by id, leaving
        the rest of each as it is, in one batch; ids not stored are skipped. Returns how
        many of the ids are stored. Visible to `search` when it returns."""

    @abstractmethod
    def delete(self, mention_ids: Sequence[str]) -> int:
        """Removes mentions by id; returns how many existed."""

    def delete_matching(self, flt: MentionFilter) -> int:
        """Removes every mention matching `flt` (retention, erasure); returns how many.

        Story copies stay exact, as after `delete`. This default deletes page by page
        by id; backends override it with a delete by query."""
        removed = 0
        while True:
            page = self.search(SearchRequest(filter=flt, sort=SortOrder.OLDEST, limit=500))
            if not page.mentions:
                return removed
            removed += self.delete([m.id for m in page.mentions])

    def close(self) -> None:  # noqa: B027 - optional for backends holding nothing
        """Releases files, locks and connections."""

    def outdated_parts(self) -> int:
        """How many parts hold documents an older version wrote without the fields added
        since (`veille reindex` rewrites them); 0 for a backend that rebuilds itself."""
        return 0


def probe_index(url: str, *, timeout: float) -> None:
    """Raises IndexUnavailable unless the server of the index a URL names answers one
    request within `timeout` seconds (not retried); an embedded index has none to ask."""
    scheme, _, _rest = url.partition(":")
    if scheme in {"http", "https"}:
        from services.store.elastic import EsSettings

        EsSettings.from_env(url).probe(timeout)


def open_index(url: str, *, dead_letter_path: str | None = None) -> MentionIndex:
    """Opens the mention index a URL names: `embedded:PATH` or `http(s)://host:9200`;
    a cluster's refusals go to `dead_letter_path` (see `EsSettings.from_env`)."""
    scheme, _, rest = url.partition(":")
    if scheme == "embedded":
        from services.store.embedded.index import EmbeddedIndex

        return EmbeddedIndex(rest.removeprefix("//") or "data/index")
    if scheme in {"http", "https"}:
        from services.store.elastic import EsIndex, EsSettings

        return EsIndex(EsSettings.from_env(url, dead_letter_path=dead_letter_path))
    raise ValueError(
        f"unknown index URL scheme {scheme!r}: use 'embedded:PATH' or 'https://HOST:9200'"
    )
