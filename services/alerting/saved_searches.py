"""Saved searches: a named query with filters, owned by an API key, private or shared.

A saved search runs as a search or as stats (the API), and is what alert rules watch.
Its query is validated with the query language's parser when it is saved, so a search
that is stored always parses.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.core.query import QuerySyntaxError, parse_query
from services.core.query.ast import And, FieldFilter, MatchAll, Node, Or
from services.core.text import fold_keyword
from services.store.contracts import MentionFilter
from services.store.state.contract import SpecRecord, StateStore

KIND = "saved_search"
Visibility = Literal["private", "shared"]

_RELATIVE = re.compile(r"^\s*(\d+)\s*(m|h|d|w)\s*$")
_UNIT = {"m": 60, "h": 3600, "d": 86400, "w": 604800}
_NAME = r"^[\w][\w .:@/-]{0,199}$"


class TooFarBack(ValueError):
    """A relative time ('99999999d') that reaches before year 1."""


def resolve_time(value: str | None, *, now: datetime) -> datetime | None:
    """'7d' (relative to now), an ISO 8601 time (UTC when no offset), or None."""
    if value is None:
        return None
    match = _RELATIVE.match(value)
    if match:
        try:
            return now - timedelta(seconds=int(match.group(1)) * _UNIT[match.group(2)])
        except OverflowError:
            raise TooFarBack(f"{value.strip()} is too far back") from None
    parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _check_time(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        resolve_time(value, now=datetime.now(UTC))
    except TooFarBack:
        raise
    except ValueError:
        raise ValueError(
            f"{value!r} is neither a relative time ('30m', '12h', '7d', '2w') nor ISO 8601"
        ) from None
    return value.strip()


class SearchFilters(BaseModel):
    """Filters added to the query: a time window and keyword lists (any value matches)."""

    model_config = ConfigDict(extra="forbid")

    since: str | None = Field(default=None, description="'7d' (relative) or ISO 8601")
    until: str | None = Field(default=None, description="'1d' (relative) or ISO 8601")
    languages: list[str] = Field(default_factory=list, examples=[["fr", "en"]])
    sources: list[str] = Field(default_factory=list)
    sentiments: list[Literal["negative", "neutral", "positive"]] = Field(default_factory=list)

    @field_validator("since", "until")
    @classmethod
    def _time(cls, value: str | None) -> str | None:
        return _check_time(value)


class SavedSearchIn(BaseModel):
    """What a client sends to create or replace a saved search."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=_NAME, examples=["veloria-livraison"])
    query: str = Field(max_length=4000, examples=["veloria AND (livraison OR delivery)"])
    filters: SearchFilters = Field(default_factory=SearchFilters)
    visibility: Visibility = "private"
    description: str = Field(default="", max_length=2000)


class SavedSearch(SavedSearchIn):
    """A stored saved search."""

    owner: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    query_error: str | None = Field(
        default=None,
        description="why the stored query is not run (saved before a limit it now "
        "exceeds): edit it to run it again",
    )


def validate_query(search: SavedSearchIn) -> None:
    """Raises QuerySyntaxError (with its position) when the query does not parse."""
    parse_query(search.query)


def to_record_spec(search: SavedSearchIn) -> dict[str, Any]:
    """The JSON stored in the `spec` column."""
    return search.model_dump(mode="json", exclude={"name", "visibility"})


def from_record(record: SpecRecord) -> SavedSearch:
    """Rebuilds a saved search from its stored row, noting a query that no longer parses
    (it is reported, never run: `search_query` raises for it)."""
    search = SavedSearch.model_validate(
        {
            **record.spec,
            "name": record.name,
            "visibility": record.visibility,
            "owner": record.owner,
            "created_at": record.created_at,
            "updated_at": record.updated_at,
        }
    )
    try:
        parse_query(search.query)
    except QuerySyntaxError as error:
        search.query_error = str(error)
    return search


def visible_to(search: SavedSearch, owner: str | None) -> bool:
    """Shared searches are visible to all; private ones only to their owner.

    When API keys are off (owner None), everything is visible: there is only one user.
    """
    return search.visibility == "shared" or owner is None or search.owner == owner


@dataclass(frozen=True)
class Viewer:
    """Who looks at what is built on saved searches (alert rules, their alerts, reports).

    `name` is the caller (None when API keys are off: one user sees everything). A
    private search's rules and reports are its owner's business, and the workspace
    admins': they answer for what is sent from it, so they see, change, render and delete
    them, while the search itself (its query) stays its owner's alone.
    """

    name: str | None
    admin: bool = False


def hidden_searches(searches: Iterable[SavedSearch], viewer: Viewer) -> set[str]:
    """The names of the private saved searches whose rules, alerts and reports the viewer
    may not see: to them those do not exist (a 404, as for the search)."""
    if viewer.admin or viewer.name is None:
        return set()
    return {s.name for s in searches if not visible_to(s, viewer.name)}


def get_saved_search(state: StateStore, name: str) -> SavedSearch:
    """One saved search by name; NotFoundError when absent."""
    return from_record(state.get_spec(KIND, name))


def list_saved_searches(state: StateStore) -> list[SavedSearch]:
    """Every saved search, by name."""
    return [from_record(r) for r in state.list_specs(KIND)]


def _any_of(field: str, values: list[str]) -> Node | None:
    if not values:
        return None
    nodes: tuple[Node, ...] = tuple(FieldFilter(field, fold_keyword(v)) for v in values)
    return nodes[0] if len(nodes) == 1 else Or(nodes)


def search_query(search: SavedSearchIn) -> Node:
    """The query tree of a saved search, its keyword filters included."""
    parts: list[Node] = []
    parsed = parse_query(search.query)
    if not isinstance(parsed, MatchAll):
        parts.append(parsed)
    flt = search.filters
    keyword_filters: list[tuple[str, list[str]]] = [
        ("lang", flt.languages),
        ("source", flt.sources),
        ("sentiment", [str(s) for s in flt.sentiments]),
    ]
    for field, values in keyword_filters:
        node = _any_of(field, values)
        if node is not None:
            parts.append(node)
    if not parts:
        return MatchAll()
    return parts[0] if len(parts) == 1 else And(tuple(parts))


def search_filter(
    search: SavedSearchIn,
    *,
    now: datetime,
    since: datetime | None = None,
    until: datetime | None = None,
) -> MentionFilter:
    """The mention filter a saved search describes; explicit since/until win."""
    return MentionFilter(
        query=search_query(search),
        since=since or resolve_time(search.filters.since, now=now),
        until=until or resolve_time(search.filters.until, now=now),
    )
