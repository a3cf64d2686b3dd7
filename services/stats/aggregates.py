"""Volume and sentiment over time, share of voice and breakdowns, on a `MentionFilter`.

The stats routers (services/api/routers/stats.py) turn a request into a filter and call
these; the reports (services/reports/figures.py) call them for their windows.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from services.core.brand_names import BrandNames, UnknownBrand
from services.core.models import Brand
from services.core.query.ast import TOWARD_FIELDS, And, FieldFilter, Node, Or
from services.core.text import fold_keyword
from services.store.contracts import Dimension, Interval, MentionFilter, MentionIndex, TimeBucket
from services.store.distinct_stories import DistinctStories
from services.store.state.contract import NotFoundError, StateStore

WARNINGS = (
    "filters that name nothing known (a brand, competitor, topic or language typo), "
    "with what to write instead; empty when every filter names something known"
)


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
    warnings: list[str] = Field(default_factory=list, description=WARNINGS)


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
    warnings: list[str] = Field(default_factory=list, description=WARNINGS)


class Count(BaseModel):
    key: str
    count: int


class Breakdown(BaseModel):
    dimension: str
    total: int
    counts: list[Count]
    warnings: list[str] = Field(default_factory=list, description=WARNINGS)


def narrowed(flt: MentionFilter, clause: Node) -> MentionFilter:
    """`flt`'s matches that also match `clause`."""
    return MentionFilter(query=And((flt.query, clause)), since=flt.since, until=flt.until)


def counter(index: MentionIndex, dedup: bool) -> MentionIndex | DistinctStories:
    """The index itself, or its view counting each story once in the window."""
    return DistinctStories(index) if dedup else index


def series(
    index: MentionIndex | DistinctStories,
    flt: MentionFilter,
    interval: Interval,
    split: Dimension | None,
) -> Series:
    """The matches per bucket, split by `split`'s values when given."""
    buckets = index.histogram(flt, interval=interval, split_by=split)
    return Series(
        interval=interval,
        since=flt.since,
        until=flt.until,
        total=sum(b.count for b in buckets),
        buckets=[Bucket(start=b.start, count=b.count, by=b.by) for b in buckets],
    )


def sentiment(
    index: MentionIndex, flt: MentionFilter, interval: Interval, toward: str | None, dedup: bool
) -> Series:
    """The matches per bucket, split by their sentiment, or toward `toward` when given."""
    if toward is None:
        return series(counter(index, dedup), flt, interval, Dimension.SENTIMENT)
    return sentiment_toward(counter(index, dedup), flt, interval, fold_keyword(toward))


def sentiment_toward(
    index: MentionIndex | DistinctStories, flt: MentionFilter, interval: Interval, name: str
) -> Series:
    """The matches naming `name`, per bucket, split by the sentiment toward it: one
    histogram per label (the `negative:NAME` filters), laid on the histogram of all three
    so that the buckets span the same window."""

    def histogram(clause: Node) -> list[TimeBucket]:
        return index.histogram(narrowed(flt, clause), interval=interval)

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


def share_of_voice(
    index: MentionIndex, state: StateStore, brand: str, base: MentionFilter, dedup: bool
) -> ShareOfVoice:
    """How many of `base`'s matches name the brand versus each of its competitors
    (NotFoundError for an unknown brand)."""
    target = find_brand(state, brand)

    def count(field: str, name: str) -> int:
        return counter(index, dedup).count(narrowed(base, FieldFilter(field, fold_keyword(name))))

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


def find_brand(state: StateStore, name: str) -> Brand:
    """The brand named `name` or one of its aliases, blind to case and accents, as the query
    language matches names; NotFoundError saying what to ask for (a competitor's name, too)."""
    names = BrandNames.of(state)
    try:
        found = names.resolve(name, ("brand",))
    except UnknownBrand as exc:
        if exc.found is None:
            raise NotFoundError(str(exc)) from None
        competitor = exc.found.name
        rivals = [b.name for b in names.brands if competitor in b.competitors]
        ask = (
            "ask for " + " or ".join(f"brand={r}" for r in rivals)
            if rivals
            else "add it to a brand's competitors"
        )
        raise NotFoundError(
            f"{competitor!r} is a competitor, not a brand: share of voice is computed "
            f"for a brand against its competitors; {ask} ({competitor} is counted "
            "among its competitors)"
        ) from None
    assert isinstance(found.entity, Brand)
    return found.entity


def breakdown(
    index: MentionIndex, dimension: Dimension, flt: MentionFilter, size: int, dedup: bool
) -> Breakdown:
    """The matches per value of one field, largest first."""
    counting = counter(index, dedup)
    counts = counting.terms(flt, dimension=dimension, size=size)
    return Breakdown(
        dimension=dimension.value,
        total=counting.count(flt),
        counts=[Count(key=c.key, count=c.count) for c in counts],
    )
