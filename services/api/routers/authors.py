"""Authors and communities: who talks about a brand, and where.

Reach is the sum of followers where the platform gives them (Reddit, Mastodon, Bluesky,
YouTube...), said as such: an author whose platform gives no count has `followers: null`,
never an invented figure, and `reach.counted` says how many mentions the sum covers.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from services.api.deps import AuthDep, IndexDep, StateDep
from services.api.params import QueryText, Since, Until, mention_filter
from services.api.problems import Problem
from services.api.routers.stats import DEFAULT_DAYS
from services.core.brand_names import BrandNames, UnknownBrand
from services.core.query.ast import TOWARD_FIELDS, FieldFilter, Node, Or
from services.core.text import fold_keyword
from services.stats.aggregates import Count, Series, narrowed
from services.stats.aggregates import series as _series
from services.store.contracts import (
    Dimension,
    Interval,
    MentionFilter,
    MentionIndex,
    SearchRequest,
    SortOrder,
)
from services.store.state.contract import StateStore

router = APIRouter(tags=["authors"], dependencies=[AuthDep])

# Every value of a dimension, within what `terms` returns on both backends.
ALL_VALUES = 50_000


class ReachFigures(BaseModel):
    mentions: int = Field(description="the matching mentions")
    counted: int = Field(description="of them, those whose platform gives a follower count")
    followers: int | None = Field(
        description="the followers of their authors, summed over the counted mentions; "
        "null when no platform gave a count"
    )


class AuthorOrder(StrEnum):
    MENTIONS = "mentions"
    REACH = "reach"
    NEGATIVE = "negative"


class AuthorRow(BaseModel):
    author: str
    mentions: int
    followers: int | None = Field(
        description="the most followers the platform reported for this author; null where "
        "it gives none"
    )
    negative: int | None = Field(
        default=None, description="of the mentions, those negative toward `brand`"
    )
    negative_share: float | None = Field(default=None, description="negative / mentions, 0..1")


class TopAuthors(BaseModel):
    by: AuthorOrder
    brand: str | None
    since: datetime | None
    until: datetime | None
    reach: ReachFigures
    authors: list[AuthorRow]


def _name(state: StateStore, name: str) -> str:
    """A watched brand's or competitor's name as declared (from it or an alias); 404
    naming the known ones otherwise."""
    try:
        return BrandNames.of(state).resolve(name).name
    except UnknownBrand as exc:
        raise Problem(404, "Not found", str(exc)) from None


def _named(name: str) -> Node:
    return Or(tuple(FieldFilter(label, fold_keyword(name)) for label in TOWARD_FIELDS))


def _naming(
    state: StateStore, flt: MentionFilter, brand: str | None
) -> tuple[MentionFilter, str | None]:
    """The request's filter narrowed to the mentions naming `brand` when one is given, and
    that brand's declared name (404 for an unknown one)."""
    if not brand:
        return flt, None
    name = _name(state, brand)
    return narrowed(flt, _named(name)), name


def _negatives(
    index: MentionIndex, flt: MentionFilter, name: str | None, dimension: Dimension
) -> dict[str, int]:
    """The mentions negative toward `name`, per value of `dimension`; none without a name."""
    if name is None:
        return {}
    return _counts(index, narrowed(flt, FieldFilter("negative", fold_keyword(name))), dimension)


def _reach(index: MentionIndex, flt: MentionFilter) -> ReachFigures:
    found = index.reach(flt)
    return ReachFigures(mentions=found.mentions, counted=found.counted, followers=found.followers)


def _counts(index: MentionIndex, flt: MentionFilter, dimension: Dimension) -> dict[str, int]:
    return {b.key: b.count for b in index.terms(flt, dimension=dimension, size=ALL_VALUES)}


Size = Annotated[int, Query(ge=1, le=100)]
MinMentions = Annotated[
    int,
    Query(ge=1, le=1000, description="rank by share or growth only values with this many"),
]
BrandParam = Annotated[
    str | None,
    Query(min_length=1, max_length=200, description="a brand or competitor", examples=["Veloria"]),
]


@router.get("/stats/authors", summary="Top authors by mentions, reach or negative share")
def top_authors(
    index: IndexDep,
    state: StateDep,
    q: QueryText = "",
    since: Since = None,
    until: Until = None,
    brand: BrandParam = None,
    by: AuthorOrder = AuthorOrder.MENTIONS,
    size: Size = 10,
    min_mentions: MinMentions = 3,
) -> TopAuthors:
    """The authors of the matching mentions (naming `brand` when given), ranked by how many
    mentions they wrote, by their followers, or by the share of theirs negative toward
    `brand` (among authors with at least `min_mentions`)."""
    flt, name = _naming(state, mention_filter(q, since, until, default_days=DEFAULT_DAYS), brand)
    if by == AuthorOrder.NEGATIVE and name is None:
        raise Problem(400, "Brand needed", "by=negative ranks by the share negative toward a brand")
    negatives = _negatives(index, flt, name, Dimension.AUTHOR)
    wanted = ALL_VALUES if by == AuthorOrder.NEGATIVE else size
    found = index.audience(
        flt, dimension=Dimension.AUTHOR, size=wanted, by_followers=by == AuthorOrder.REACH
    )
    rows = [
        AuthorRow(
            author=b.key,
            mentions=b.count,
            followers=b.followers,
            negative=negatives.get(b.key, 0) if name is not None else None,
            negative_share=round(negatives.get(b.key, 0) / b.count, 4)
            if name is not None
            else None,
        )
        for b in found
    ]
    if by == AuthorOrder.NEGATIVE:
        rows = sorted(
            (r for r in rows if r.mentions >= min_mentions),
            key=lambda r: (-(r.negative_share or 0.0), -r.mentions, r.author),
        )[:size]
    return TopAuthors(
        by=by, brand=name, since=flt.since, until=flt.until, reach=_reach(index, flt), authors=rows
    )


class Toward(BaseModel):
    name: str
    role: str  # "brand" or "competitor"
    mentions: int
    sentiment: dict[str, int] = Field(description="negative, neutral, positive toward the name")
    net_sentiment: float | None


class AuthorProfile(BaseModel):
    author: str
    display_name: str | None
    followers: int | None = Field(description="the most the platform reported; null if none")
    since: datetime | None
    until: datetime | None
    mentions: int
    reach: ReachFigures
    over_time: Series = Field(description="the author's mentions over time, by sentiment")
    toward: list[Toward] = Field(description="sentiment toward each brand and competitor named")
    sources: list[Count]
    communities: list[Count]


@router.get("/authors/{author}", summary="An author's profile")
def author_profile(
    index: IndexDep,
    state: StateDep,
    author: Annotated[str, Path(min_length=1, max_length=300, description="the handle")],
    since: Since = None,
    until: Until = None,
    interval: Interval = Interval.DAY,
) -> AuthorProfile:
    """One author's mentions over time, their sentiment toward each watched brand and
    competitor, and where they write (default: the last 30 days)."""
    base = mention_filter("", since, until, default_days=DEFAULT_DAYS)
    flt = narrowed(base, FieldFilter("author", fold_keyword(author)))
    latest = index.search(SearchRequest(filter=flt, sort=SortOrder.NEWEST, limit=1))
    if not latest.mentions:
        raise Problem(404, "Not found", "no mention of this author in the time window")
    shown = index.audience(flt, dimension=Dimension.AUTHOR, size=1, by_followers=True)[0]
    details = latest.mentions[0].author_details
    roles = [(b.name, "brand") for b in state.list_brands()]
    roles += [(c.name, "competitor") for c in state.list_competitors()]
    toward = []
    for name, role in roles:
        counts = {
            label: index.count(narrowed(flt, FieldFilter(label, fold_keyword(name))))
            for label in TOWARD_FIELDS
        }
        total = sum(counts.values())
        if not total:
            continue
        polar = counts["positive"] + counts["negative"]
        toward.append(
            Toward(
                name=name,
                role=role,
                mentions=total,
                sentiment=counts,
                net_sentiment=round((counts["positive"] - counts["negative"]) / polar, 4)
                if polar
                else None,
            )
        )
    return AuthorProfile(
        author=shown.key,
        display_name=details.display_name if details else None,
        followers=shown.followers,
        since=flt.since,
        until=flt.until,
        mentions=latest.total,
        reach=_reach(index, flt),
        over_time=_series(index, flt, interval, Dimension.SENTIMENT),
        toward=toward,
        sources=[
            Count(key=b.key, count=b.count) for b in index.terms(flt, dimension=Dimension.SOURCE)
        ],
        communities=[
            Count(key=b.key, count=b.count) for b in index.terms(flt, dimension=Dimension.COMMUNITY)
        ],
    )


class CommunityOrder(StrEnum):
    VOLUME = "volume"
    GROWTH = "growth"


class CommunityRow(BaseModel):
    community: str = Field(description="r/NAME, a site's host, or a feed's name")
    kind: str = Field(description="subreddit, site or feed")
    mentions: int
    previous: int = Field(description="mentions in the period of the same length before")
    growth: float | None = Field(
        description="(mentions - previous) / previous; null when new (no previous mention)"
    )
    negative: int | None = Field(default=None, description="negative toward `brand`")


class Communities(BaseModel):
    by: CommunityOrder
    brand: str | None
    since: datetime | None
    until: datetime | None
    previous_since: datetime
    communities: list[CommunityRow]


def _kind(community: str) -> str:
    if community.startswith("r/"):
        return "subreddit"
    return "site" if "." in community and " " not in community else "feed"


@router.get("/stats/communities", summary="Where a brand is discussed, by volume or growth")
def communities(
    index: IndexDep,
    state: StateDep,
    q: QueryText = "",
    since: Since = None,
    until: Until = None,
    brand: BrandParam = None,
    by: CommunityOrder = CommunityOrder.VOLUME,
    size: Size = 10,
    min_mentions: MinMentions = 3,
) -> Communities:
    """The forums, subreddits, blogs and feeds of the matching mentions (naming `brand`
    when given), by volume or by growth against the period of the same length before
    (new ones first; only those with at least `min_mentions`). Timelines of people
    (Mastodon, Bluesky, X, YouTube) are not communities and are left out."""
    flt, name = _naming(state, mention_filter(q, since, until, default_days=DEFAULT_DAYS), brand)
    assert flt.since is not None  # the default window sets it
    end = flt.until or datetime.now(UTC)
    try:
        previous_since = flt.since - (end - flt.since)
    except OverflowError:  # a window reaching back to the first centuries: nothing before
        previous_since = datetime.min.replace(tzinfo=UTC)
    before = MentionFilter(query=flt.query, since=previous_since, until=flt.since)
    now = _counts(index, flt, Dimension.COMMUNITY)
    then = _counts(index, before, Dimension.COMMUNITY)
    negatives = _negatives(index, flt, name, Dimension.COMMUNITY)
    rows = [
        CommunityRow(
            community=key,
            kind=_kind(key),
            mentions=count,
            previous=then.get(key, 0),
            growth=round((count - then[key]) / then[key], 4) if then.get(key) else None,
            negative=negatives.get(key, 0) if name is not None else None,
        )
        for key, count in now.items()
    ]
    if by == CommunityOrder.GROWTH:
        rows = [r for r in rows if r.mentions >= min_mentions]
        rows.sort(
            key=lambda r: (r.growth is not None, -(r.growth or 0.0), -r.mentions, r.community)
        )
    else:
        rows.sort(key=lambda r: (-r.mentions, r.community))
    return Communities(
        by=by,
        brand=name,
        since=flt.since,
        until=flt.until,
        previous_since=before.since or flt.since,
        communities=rows[:size],
    )
