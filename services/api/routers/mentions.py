"""Mention search and retrieval."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from services.api.deps import AuthDep, CallerNameDep, ContextDep, IndexDep, StateDep
from services.api.params import QueryText, Since, Until, mention_filter
from services.api.problems import Problem
from services.api.triage_view import MentionView, mention_views
from services.runtime.app.query_hints import warnings_for
from services.stats.aggregates import WARNINGS
from services.store.contracts import MAX_PAGE_SIZE, SearchRequest, SortOrder

router = APIRouter(prefix="/mentions", tags=["mentions"], dependencies=[AuthDep])


class MentionPage(BaseModel):
    total: int
    mentions: list[MentionView]
    next_cursor: str | None
    warnings: list[str] = Field(default_factory=list, description=WARNINGS)


@router.get("", summary="Search mentions")
def search_mentions(
    ctx: ContextDep,
    index: IndexDep,
    state: StateDep,
    me: CallerNameDep,
    q: QueryText = "",
    since: Since = None,
    until: Until = None,
    sort: SortOrder = SortOrder.NEWEST,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 20,
    cursor: Annotated[
        str | None, Query(max_length=200, description="next_cursor of the previous page")
    ] = None,
) -> MentionPage:
    """Returns the mentions matching a query, newest first, one page at a time."""
    flt = mention_filter(q, since, until, me=me)
    request = SearchRequest(filter=flt, sort=sort, limit=limit, cursor=cursor)
    try:
        page = index.search(request)
    except ValueError as exc:
        raise Problem(400, "Invalid request", str(exc)) from exc
    return MentionPage(
        total=page.total,
        mentions=mention_views(state, page.mentions),
        next_cursor=page.next_cursor,
        warnings=warnings_for(ctx, flt.query),
    )


@router.get("/{mention_id}", summary="Get one mention")
def get_mention(mention_id: str, index: IndexDep, state: StateDep) -> MentionView:
    """Returns one mention by id."""
    mention = index.get(mention_id)
    if mention is None:
        raise Problem(404, "Not found", f"no mention has the id {mention_id!r}")
    return mention_views(state, [mention])[0]
