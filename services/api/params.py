"""Query parameters shared by search and stats endpoints."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Path, Query
from pydantic import BeforeValidator

from services.alerting.saved_searches import TooFarBack, resolve_time
from services.api.problems import Problem
from services.core.query import parse_query
from services.core.query.ast import mentions_me, resolve_me
from services.store.contracts import MentionFilter

QueryText = Annotated[
    str,
    Query(
        max_length=4000,
        description='query language: AND, OR, NOT, -word, (…), "phrase", NEAR/n, word*, '
        "lang:, brand:, competitor:, source:, sentiment: (overall), negative:NAME, "
        "neutral:NAME, positive:NAME (toward a brand or competitor), author:, site:, topic:, "
        "story:, community:, is:duplicate, is:original, state: (triage: new, in_progress, "
        "answered, escalated, ignored), tag:, assignee:NAME, assignee:me; French field names "
        "and values too: négatif:NAME, marque:, concurrent:, langue:, sujet:, auteur:, "
        'état:"en cours", sentiment:négatif',
        examples=["veloria AND (livraison OR delivery) -promo", "negative:Veloria"],
    ),
]
# Row ids are SQL BIGINTs: a larger number would overflow the driver, not miss a row.
MAX_ROW_ID = 2**63 - 1
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="a row id, from a listing")]
Before = Annotated[
    int | None, Query(ge=1, le=MAX_ROW_ID, description="next_before of the previous page")
]


def _relative_time(value: object) -> object:
    """'7d', '12h', '30m', '2w' (before now) or ISO 8601, read as the CLI reads --since;
    what it cannot read is left to the datetime parser, whose 422 names the field; a
    relative time before year 1 is a 422 saying so (the parser would call it "too short")."""
    if isinstance(value, str):
        try:
            return resolve_time(value, now=datetime.now(UTC))
        except TooFarBack:
            raise
        except (ValueError, OverflowError):
            return value
    return value


TIME_FORMS = (
    "an ISO 8601 time (UTC when no offset) or a time before now: 30m, 12h, 7d, 2w "
    "(minutes, hours, days, weeks), as the CLI's --since"
)
#: a time in a request body: ISO 8601 or before now ('7d'), as `since=` and `until=` take.
BodyTime = Annotated[datetime, BeforeValidator(_relative_time)]
Since = Annotated[
    datetime | None,
    BeforeValidator(_relative_time),
    Query(description=f"published at or after: {TIME_FORMS}", examples=["7d"]),
]
Until = Annotated[
    datetime | None,
    BeforeValidator(_relative_time),
    Query(description=f"published before: {TIME_FORMS}", examples=["1d"]),
]


def to_utc(value: datetime | None) -> datetime | None:
    """A request's time in UTC (naive means UTC); 400 when UTC falls outside years 1-9999."""
    if value is None:
        return None
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:
        raise Problem(
            400, "Invalid time", f"{value.isoformat()} is outside years 1 to 9999 in UTC"
        ) from None


_utc = to_utc


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
    me: str | None = None,
) -> MentionFilter:
    """Builds the filter a request describes; stats default to a recent window; `me` is
    who `assignee:me` names (a 400 where the route does not know its caller)."""
    since_utc, until_utc = _utc(since), _utc(until)
    if since_utc and until_utc and since_utc >= until_utc:
        raise Problem(400, "Invalid time window", "`since` must be before `until`")
    if default_days is not None and since_utc is None:
        try:
            since_utc = (until_utc or datetime.now(UTC)) - timedelta(days=default_days)
        except OverflowError:  # `until` in the first days of year 1
            raise Problem(
                400,
                "Invalid time window",
                "`until` is too early: give a later one or `since`",
                code="too_far_back",
            ) from None
    query = parse_query(q)
    if mentions_me(query):
        if me is None:
            raise Problem(
                400,
                "Invalid query",
                "assignee:me is understood in searches, stats and triage; "
                "name the assignee here (assignee:NAME)",
            )
        query = resolve_me(query, me)
    return MentionFilter(query=query, since=since_utc, until=until_utc)
