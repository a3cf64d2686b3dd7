"""Query parameters shared by search and stats endpoints."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Query

from services.api.problems import Problem
from services.core.query import parse_query
from services.store.contracts import MentionFilter

QueryText = Annotated[
    str,
    Query(
        max_length=4000,
        description='query language: AND, OR, NOT, -word, (…), "phrase", NEAR/n, word*, '
        "lang:, brand:, competitor:, source:, sentiment: (overall), negative:NAME, "
        "neutral:NAME, positive:NAME (toward a brand or competitor), author:, site:, topic:, "
        "story:, community:, is:duplicate, is:original",
        examples=["veloria AND (livraison OR delivery) -promo", "negative:Veloria"],
    ),
]
Since = Annotated[
    datetime | None,
    Query(description="published at or after (ISO 8601; UTC when no offset)"),
]
Until = Annotated[datetime | None, Query(description="published before (ISO 8601)")]


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


Dedup = Annotated[
    bool,
    Query(
        description="count each story once in the window (reposts, retweets, syndicated "
        "copies), also when its first copy was published before the window"
    ),
]


def mention_filter(
    q: str,
    since: datetime | None,
    until: datetime | None,
    *,
    default_days: int | None = None,
) -> MentionFilter:
    """Builds the filter a request describes; stats default to a recent window."""
    since_utc, until_utc = _utc(since), _utc(until)
    if since_utc and until_utc and since_utc >= until_utc:
        raise Problem(400, "Invalid time window", "`since` must be before `until`")
    if default_days is not None and since_utc is None:
        since_utc = (until_utc or datetime.now(UTC)) - timedelta(days=default_days)
    query = parse_query(q)
    return MentionFilter(query=query, since=since_utc, until=until_utc)
