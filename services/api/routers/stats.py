"""Aggregations: volume and sentiment over time, share of voice, breakdowns, top terms."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from services.api.deps import AuthDep, CallerNameOptDep, ContextDep, IndexDep, StateDep
from services.api.params import Dedup, QueryText, Since, Until, mention_filter
from services.core.text import tokenize
from services.runtime.app.query_hints import warnings_for
from services.stats import aggregates
from services.stats.aggregates import WARNINGS, Breakdown, Count, Series, ShareOfVoice
from services.store.contracts import (
    TOP_TERMS_SAMPLE,
    Dimension,
    Interval,
)
from services.store.state.contract import StateStore

router = APIRouter(prefix="/stats", tags=["stats"], dependencies=[AuthDep])

DEFAULT_DAYS = 30


# The answers' models and the helpers, where the reports use them too.
_counter = aggregates.counter
_series = aggregates.series


@router.get("/volume", summary="Mention volume over time")
def volume(
    ctx: ContextDep,
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
    answer = _series(_counter(index, dedup), flt, interval, None)
    return answer.model_copy(update={"warnings": warnings_for(ctx, flt.query)})


@router.get("/sentiment", summary="Sentiment over time")
def sentiment(
    ctx: ContextDep,
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
    answer = aggregates.sentiment(index, flt, interval, toward, dedup)
    return answer.model_copy(update={"warnings": warnings_for(ctx, flt.query, toward=toward)})


@router.get("/share-of-voice", summary="Share of voice against competitors")
def share_of_voice(
    ctx: ContextDep,
    index: IndexDep,
    state: StateDep,
    brand: Annotated[
        str,
        Query(
            description="a brand from the workspace: its name or an alias, blind to case "
            "and accents (a competitor is refused: share of voice is a brand against its "
            "competitors)",
            examples=["Veloria"],
        ),
    ],
    q: QueryText = "",
    since: Since = None,
    until: Until = None,
    dedup: Dedup = False,
    me: CallerNameOptDep = None,
) -> ShareOfVoice:
    """How many mentions name the brand versus each of its competitors."""
    base = mention_filter(q, since, until, default_days=DEFAULT_DAYS, me=me)
    answer = aggregates.share_of_voice(index, state, brand, base, dedup)
    return answer.model_copy(update={"warnings": warnings_for(ctx, base.query)})


@router.get("/breakdown", summary="Counts by sentiment, brand, source, language, topic or story")
def breakdown(
    ctx: ContextDep,
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
    answer = aggregates.breakdown(index, dimension, flt, size, dedup)
    return answer.model_copy(update={"warnings": warnings_for(ctx, flt.query)})


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
    warnings: list[str] = Field(default_factory=list, description=WARNINGS)


def watched_words(state: StateStore) -> list[str]:
    """The folded words of every brand's and competitor's names and aliases."""
    names = [n for b in state.list_brands() for n in b.all_names()]
    names += [n for c in state.list_competitors() for n in c.all_names()]
    return sorted({word for name in names for word in tokenize(name)})


@router.get("/top-terms", summary="Most frequent words")
def top_terms(
    ctx: ContextDep,
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
        warnings=warnings_for(ctx, flt.query),
    )
