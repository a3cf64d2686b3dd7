"""The topic taxonomy, and emerging topics: what recent mentions talk about outside it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from services.api.deps import AuthDep, ContextDep
from services.api.params import Since, Until, _utc
from services.core.topics import Topic
from services.runtime.emerging_topics import DEFAULT_LIMIT, MAX_LIMIT, EmergingReport

router = APIRouter(prefix="/topics", tags=["topics"], dependencies=[AuthDep])


@router.get("", summary="List the topic taxonomy")
def list_topics(ctx: ContextDep) -> list[Topic]:
    """The topics mentions are tagged with, as the workspace YAML defines them."""
    return list(ctx.workspace.topics)


@router.get("/emerging", summary="Emerging topics")
def emerging(
    ctx: ContextDep,
    since: Since = None,
    until: Until = None,
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description="newest mentions without a topic to cluster")
    ] = DEFAULT_LIMIT,
    min_size: Annotated[int, Query(ge=2, le=100, description="smallest group shown")] = 3,
) -> EmergingReport:
    """Groups the recent mentions that fit no topic (default: the last 7 days), each with
    its top terms and three example mentions. Embeds them again: allow a few seconds."""
    from services.runtime.emerging_topics import emerging_topics

    return emerging_topics(
        ctx, since=_utc(since), until=_utc(until), limit=limit, min_size=min_size
    )
