"""The topic taxonomy, and emerging topics: what recent mentions talk about outside it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from services.api.deps import AuthDep, ContextDep
from services.api.params import Since, Until, _utc
from services.api.problems import Problem
from services.core.topics import Topic
from services.runtime.app.topic_store import (
    TopicConflictError,
    TopicEntry,
    TopicNotFoundError,
    TopicStore,
)
from services.runtime.topics.emerging import DEFAULT_LIMIT, MAX_LIMIT, EmergingReport

router = APIRouter(prefix="/topics", tags=["topics"], dependencies=[AuthDep])


@router.get("", summary="List the topic taxonomy")
def list_topics(ctx: ContextDep) -> list[TopicEntry]:
    """The topics mentions are tagged with: the workspace YAML's (`origin: workspace`),
    then those added through the API or `veille topics add` (`origin: api`)."""
    return ctx.taxonomy.topics()


@router.post(
    "",
    summary="Add a topic (e.g. promote an emerging one)",
    status_code=status.HTTP_201_CREATED,
    responses={409: {"description": "the name is taken"}},
)
def add_topic(topic: Topic, ctx: ContextDep) -> TopicEntry:
    """Adds a topic to the taxonomy, kept across restarts (not in the YAML, which is
    yours). New mentions get it from the analyzer's next batch; `veille reanalyze
    --since ...` gives it to stored ones. Take the examples from an emerging topic's."""
    try:
        return TopicStore(ctx.settings.data_dir).add(topic, workspace=ctx.workspace.topics)
    except TopicConflictError as exc:
        raise Problem(409, "Topic already exists", str(exc), code="name_taken") from None
    except ValueError as exc:  # the topics file cannot be read: leave it untouched
        raise Problem(503, "Topics unavailable", str(exc)) from None


@router.delete(
    "/{name:path}",  # a topic name may hold a "/"
    summary="Remove a topic added through the API",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={404: {"description": "no such topic"}, 409: {"description": "a YAML topic"}},
)
def delete_topic(name: Annotated[str, Path(max_length=60)], ctx: ContextDep) -> Response:
    """Removes an added topic (the YAML's are removed by editing the file). Stored
    mentions keep it until `veille reanalyze --since ...`."""
    try:
        TopicStore(ctx.settings.data_dir).remove(name, workspace=ctx.workspace.topics)
    except TopicConflictError as exc:
        raise Problem(409, "Topic defined in the workspace", str(exc)) from None
    except TopicNotFoundError as exc:
        raise Problem(404, "Topic not found", str(exc), code="not_found") from None
    except ValueError as exc:
        raise Problem(503, "Topics unavailable", str(exc)) from None
    return Response(status_code=status.HTTP_204_NO_CONTENT)


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
    from services.runtime.topics.emerging import emerging_topics

    return emerging_topics(
        ctx, since=_utc(since), until=_utc(until), limit=limit, min_size=min_size
    )
