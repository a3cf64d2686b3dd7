"""Emerging topics over the stored mentions: the recent ones no topic fits, clustered.

Vectors are not stored in the index, so the mentions considered are embedded again,
at most `limit` of them (the newest first, one copy per story): about 10 s for 200
on two CPU cores, which keeps the request interactive. Storing vectors would make
every stored mention 1.5 KB larger to save that on an occasional request.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, Field, ValidationError

from services.analyzer.encoding.embeddings import load_embedder
from services.analyzer.language.detection import detect_languages
from services.analyzer.mentions.fingerprint import overall_text
from services.analyzer.sentiment.head import load_head
from services.analyzer.topics.anchors import background_texts, background_vectors
from services.analyzer.topics.emerging import find_clusters, unrelated_cut
from services.core.models import Mention
from services.core.query import parse_query
from services.core.topics import Topic
from services.runtime.app.context import ServiceContext
from services.store.contracts import MentionFilter, SearchRequest, SortOrder
from services.store.embedded.stopwords import STOP_WORDS

DEFAULT_DAYS = 7
DEFAULT_LIMIT = 200
MAX_LIMIT = 1000
_PAGE = 500


class EmergingExample(BaseModel):
    id: str
    text: str
    url: str | None
    published_at: datetime


class EmergingTopic(BaseModel):
    """A group of recent mentions no topic fits: promote it by adding a topic."""

    size: int = Field(description="mentions in the group (one per story)")
    terms: list[str] = Field(description="its most distinctive words, folded")
    examples: list[EmergingExample]
    mention_ids: list[str]
    draft: Topic | None = Field(
        default=None,
        description="a topic to POST to /api/v1/topics to promote the group: rename it and "
        "reword its description first",
    )


def draft_topic(terms: list[str], examples: list[str]) -> Topic | None:
    """A topic made of a group's top words and examples (None if they make no valid one)."""
    from services.analyzer.pipeline import truncate  # not at import: it loads spaCy and torch

    try:
        return Topic(
            name="-".join(terms[:2])[:60],
            description=f"Mentions about {', '.join(terms[:5])}",
            examples=[truncate(text, 500) for text in examples],
        )
    except ValidationError:
        return None


class EmergingReport(BaseModel):
    since: datetime
    until: datetime | None
    considered: int = Field(description="recent mentions without a topic that were clustered")
    topics: list[EmergingTopic]


def _unassigned(ctx: ServiceContext, flt: MentionFilter, limit: int) -> list[Mention]:
    found: list[Mention] = []
    cursor: str | None = None
    while len(found) < limit:
        page = ctx.index.search(
            SearchRequest(filter=flt, sort=SortOrder.NEWEST, limit=_PAGE, cursor=cursor)
        )
        found.extend(m for m in page.mentions if not m.topics and overall_text(m).strip())
        cursor = page.next_cursor
        if cursor is None:
            break
    return found[:limit]


def emerging_topics(
    ctx: ServiceContext,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = DEFAULT_LIMIT,
    min_size: int = 3,
    progress: Callable[[str], None] | None = None,
) -> EmergingReport:
    """Clusters the newest `limit` mentions without a topic published in the window."""
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be between 1 and {MAX_LIMIT}")
    since = since or datetime.now(UTC) - timedelta(days=DEFAULT_DAYS)
    flt = MentionFilter(query=parse_query("-is:duplicate"), since=since, until=until)
    mentions = _unassigned(ctx, flt, limit)
    if progress is not None:
        progress(f"embedding {len(mentions)} mentions without a topic")
    from services.analyzer.pipeline import truncate

    texts = [truncate(overall_text(m)) for m in mentions]
    # The embedder and head alone: the API process needs no brand tagger or story memory.
    embedder = load_embedder(ctx.settings.analyzer.embedding)
    prepare = load_head(ctx.settings.analyzer.sentiment_head, embedding_name=embedder.name).prepare
    vectors = embedder.embed([prepare(t) for t in texts])
    background = background_texts()
    cut = unrelated_cut(
        background_vectors(embedder, background, prepare),
        detect_languages(background, expected=["fr", "en"]),
    )
    clusters = find_clusters(
        texts,
        vectors,
        cut=cut,
        stop_words=STOP_WORDS,
        languages=[m.language for m in mentions],
        min_size=min_size,
    )
    topics = [
        EmergingTopic(
            size=len(c.members),
            terms=c.terms,
            examples=[
                EmergingExample(
                    id=mentions[i].id,
                    text=texts[i],
                    url=mentions[i].url,
                    published_at=mentions[i].published_at,
                )
                for i in c.examples
            ],
            mention_ids=[mentions[i].id for i in c.members],
            draft=draft_topic(c.terms, [texts[i] for i in c.examples]),
        )
        for c in clusters
    ]
    return EmergingReport(since=since, until=until, considered=len(mentions), topics=topics)
