"""Aggregations: volume and sentiment over time, share of voice, breakdowns, top terms."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from services.api.deps import AuthDep, CallerNameOptDep, IndexDep, StateDep
from services.api.params import Dedup, QueryText, Since, Until, mention_filter
from services.core.query.ast import TOWARD_FIELDS, And, FieldFilter, Node, Or
from services.core.text import fold_keyword, tokenize
from services.store.contracts import (
    TOP_TERMS_SAMPLE,
    Dimension,
    Interval,
    MentionFilter,
    MentionIndex,
    TimeBucket,
)
from services.store.distinct_stories import DistinctStories
from services.store.state.contract import StateStore

router = APIRouter(prefix="/stats", tags=["stats"], dependencies=[AuthDep])

DEFAULT_DAYS = 30


class Bucket(BaseModel):
    start: datetime
    count: int
    by: dict[str, int] = {}


class Series(BaseModel):
    interval: Interval
    since: datetime | None
    until: datetime | None
    total: int
    buckets: list[Bucket]


class Share(BaseModel):
    name: str
    role: str  # "brand" or "competitor"
    count: int
    share: float  # 0..1 of all the counted mentions
    sentiment: dict[str, int] = Field(
        default_factory=dict,
        description="of those mentions, how many are negative, neutral and positive toward "
        "this name (negative:NAME...)",
    )
    net_sentiment: float | None = Field(
        default=None,
        description="(positive - negative) / (positive + negative) toward this name, from -1 "
        "to 1; none without a positive or negative mention",
    )


class ShareOfVoice(BaseModel):
    brand: str
    since: datetime | None
    until: datetime | None
    total: int
    shares: list[Share]


class Count(BaseModel):
    key: str
    count: int


class Breakdown(BaseModel):
    dimension: str
    total: int
    counts: list[Count]


def _counter(index: MentionIndex, dedup: bool) -> MentionIndex | DistinctStories:
    """The index itself, or its view counting each story once in the window."""
    return DistinctStories(index) if dedup else index


def _series(
    index: MentionIndex | DistinctStories,
    flt: MentionFilter,
    interval: Interval,
    split: Dimension | None,
) -> Series:
    buckets = index.histogram(flt, interval=interval, split_by=split)
    return Series(
        interval=interval,
        since=flt.since,
        until=flt.until,
        total=sum(b.count for b in buckets),
        buckets=[Bucket(start=b.start, count=b.count, by=b.by) for b in buckets],
    )


@router.get("/volume", summary="Mention volume over time")
def volume(
    index: IndexDep,
    q: QueryText = "",
    since: Since = None,
    until: Until = None,
    interval: Interval = Interval.DAY,
    dedup: Dedup = False,
    me: CallerNameOptDep = None,
) -> Series:
    """Counts matching mentions per hour, day or week (default: the last 30 days)."""
    flt = mention_filter(q, since, until, default_days=DEFAULT_DAYS, me=me)
    return _series(_counter(index, dedup), flt, interval, None)


@router.get("/sentiment", summary="Sentiment over time")
def sentiment(
    index: IndexDep,
    q: QueryText = "",
    since: Since = None,
    until: Until = None,
    interval: Interval = Interval.DAY,
    dedup: Dedup = False,
    toward: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=200,
            description="a brand or competitor: count the mentions that name it, split by "
            "the sentiment toward it ('J'adore Veloria mais Trekko...' is positive toward "
            "Veloria) instead of the mentions' overall sentiment",
            examples=["Veloria"],
        ),
    ] = None,
    me: CallerNameOptDep = None,
) -> Series:
    """Counts matching mentions per time bucket, split by negative/neutral/positive."""
    flt = mention_filter(q, since, until, default_days=DEFAULT_DAYS, me=me)
    if toward is None:
        return _series(_counter(index, dedup), flt, interval, Dimension.SENTIMENT)
    return _sentiment_toward(_counter(index, dedup), flt, interval, fold_keyword(toward))


def _sentiment_toward(
    index: MentionIndex | DistinctStories, flt: MentionFilter, interval: Interval, name: str
) -> Series:
    """The matches naming `name`, per bucket, split by the sentiment toward it: one
    histogram per label (the `negative:NAME` filters), laid on the histogram of all three
    so that the buckets span the same window."""

    def histogram(clause: Node) -> list[TimeBucket]:
        narrowed = MentionFilter(query=And((flt.query, clause)), since=flt.since, until=flt.until)
        return index.histogram(narrowed, interval=interval)

    named = histogram(Or(tuple(FieldFilter(label, name) for label in TOWARD_FIELDS)))
    by_start: dict[datetime, dict[str, int]] = {b.start: {} for b in named}
    for label in TOWARD_FIELDS:
        for bucket in histogram(FieldFilter(label, name)):
            row = by_start.get(bucket.start)  # always there: a label's matches are named's
            if row is not None and bucket.count:
                row[label] = bucket.count
    return Series(
        interval=interval,
        since=flt.since,
        until=flt.until,
        total=sum(b.count for b in named),
        buckets=[Bucket(start=b.start, count=b.count, by=by_start[b.start]) for b in named],
    )


@router.get("/share-of-voice", summary="Share of voice against competitors")
def share_of_voice(
    index: IndexDep,
    state: StateDep,
    brand: Annotated[str, Query(description="a brand from the workspace", examples=["Veloria"])],
    q: QueryText = "",
    since: Since = None,
    until: Until = None,
    dedup: Dedup = False,
    me: CallerNameOptDep = None,
) -> ShareOfVoice:
    """How many mentions name the brand versus each of its competitors."""
    target = state.get_brand(brand)
    base = mention_filter(q, since, until, default_days=DEFAULT_DAYS, me=me)

    def count(field: str, name: str) -> int:
        clause: Node = FieldFilter(field, fold_keyword(name))
        query: Node = And((base.query, clause))
        flt = MentionFilter(query=query, since=base.since, until=base.until)
        return _counter(index, dedup).count(flt)

    def share(name: str, role: str, n: int, total: int) -> Share:
        toward = {label: count(label, name) for label in TOWARD_FIELDS}
        polar = toward["positive"] + toward["negative"]
        return Share(
            name=name,
            role=role,
            count=n,
            share=round(n / total, 4) if total else 0.0,
            sentiment=toward,
            net_sentiment=round((toward["positive"] - toward["negative"]) / polar, 4)
            if polar
            else None,
        )

    names = [(target.name, "brand")] + [(c, "competitor") for c in target.competitors]
    counts = [count(role, name) for name, role in names]
    total = sum(counts)
    return ShareOfVoice(
        brand=target.name,
        since=base.since,
        until=base.until,
        total=total,
        shares=[share(name, role, n, total) for (name, role), n in zip(names, counts, strict=True)],
    )


@router.get("/breakdown", summary="Counts by sentiment, brand, source, language, topic or story")
def breakdown(
    index: IndexDep,
    dimension: Dimension,
    q: QueryText = "",
    since: Since = None,
    until: Until = None,
    size: Annotated[int, Query(ge=1, le=100)] = 10,
    dedup: Dedup = False,
    me: CallerNameOptDep = None,
) -> Breakdown:
    """Counts matching mentions per value of one field, largest first (`story`: the
    largest stories, with how many copies each has)."""
    flt = mention_filter(q, since, until, default_days=DEFAULT_DAYS, me=me)
    counter = _counter(index, dedup)
    counts = counter.terms(flt, dimension=dimension, size=size)
    return Breakdown(
        dimension=dimension.value,
        total=counter.count(flt),
        counts=[Count(key=c.key, count=c.count) for c in counts],
    )


class TopTerms(BaseModel):
    since: datetime | None
    until: datetime | None
    total: int = Field(description="the matching mentions")
    counted: int = Field(description="the newest of them whose words are counted")
    left_out: list[str] = Field(
        description="the watched names' words, in every such mention, so left out (folded)"
    )
    counts: list[Count] = Field(
        description="words as written (lower-cased, accents kept), with how many of the "
        "mentions use each; no function words ('le', 'je', 'the') or numbers ('dix', '10')"
    )


def watched_words(state: StateStore) -> list[str]:
    """The folded words of every brand's and competitor's names and aliases."""
    names = [n for b in state.list_brands() for n in b.all_names()]
    names += [n for c in state.list_competitors() for n in c.all_names()]
    return sorted({word for name in names for word in tokenize(name)})


@router.get("/top-terms", summary="Most frequent words")
def top_terms(
    index: IndexDep,
    state: StateDep,
    q: QueryText = "",
    since: Since = None,
    until: Until = None,
    size: Annotated[int, Query(ge=1, le=100)] = 20,
    dedup: Dedup = False,
    me: CallerNameOptDep = None,
) -> TopTerms:
    """The words most matching mentions use, as written, without function words, numbers
    or the watched brands' and competitors' own names."""
    flt = mention_filter(q, since, until, default_days=DEFAULT_DAYS, me=me)
    counter = _counter(index, dedup)
    left_out = watched_words(state)
    words = counter.top_terms(flt, size=size, exclude=left_out)
    total = counter.count(flt)
    return TopTerms(
        since=flt.since,
        until=flt.until,
        total=total,
        counted=min(total, TOP_TERMS_SAMPLE),
        left_out=left_out,
        counts=[Count(key=c.key, count=c.count) for c in words],
    )
