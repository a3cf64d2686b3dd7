"""Triage fields in the mention index (contract: `MentionIndex.set_triage`), on every
backend: partial updates, the `state:`/`tag:`/`assignee:` filters, counts by state, and
triage surviving story rechains, embedded rebuilds and a copy to Elasticsearch."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import tantivy

from services.core.query import parse_query
from services.core.triage import Triage, TriageState
from services.store.contracts import (
    CountBucket,
    Dimension,
    MentionFilter,
    MentionIndex,
    SearchPage,
    SearchRequest,
    StoryCopies,
)
from services.store.embedded import schema
from services.store.embedded.index import EmbeddedIndex
from tests.factories import BASE_TIME, make_mention
from tests.store.conftest import ElasticEndpoint

ANSWERED = Triage(state=TriageState.ANSWERED, assignee="Zoé Martin", tags=["Légal", "vip"])
ESCALATED = Triage(state=TriageState.ESCALATED, tags=["legal"])


def ids(index: MentionIndex, query: str, **extra: object) -> set[str]:
    flt = MentionFilter(query=parse_query(query), **extra)  # type: ignore[arg-type]
    return {m.id for m in index.iter_all(flt)}


def test_set_triage_changes_only_the_triage(mention_index: MentionIndex) -> None:
    mentions = [make_mention(id=f"t{n}", text=f"Veloria numéro {n}") for n in range(4)]
    mention_index.upsert(mentions)

    assert mention_index.set_triage({"t0": ANSWERED, "t1": ESCALATED, "absent": ANSWERED}) == 2

    assert mention_index.get("t0") == mentions[0].model_copy(update={"triage": ANSWERED})
    assert mention_index.get("t2") == mentions[2]  # untouched
    assert ids(mention_index, "state:new") == {"t2", "t3"}
    assert ids(mention_index, "state:answered") == {"t0"}
    assert ids(mention_index, "tag:legal") == {"t0", "t1"}  # folded: Légal = legal
    assert ids(mention_index, 'assignee:"zoe martin"') == {"t0"}
    assert ids(mention_index, "numero AND NOT state:new AND -tag:vip") == {"t1"}
    assert mention_index.get("absent") is None  # an unknown id is not created


def test_set_triage_back_to_new_and_untagged(mention_index: MentionIndex) -> None:
    mention_index.upsert([make_mention(id="back")])
    mention_index.set_triage({"back": ANSWERED})
    mention_index.set_triage({"back": Triage()})
    assert ids(mention_index, "state:new") == {"back"}
    assert ids(mention_index, "tag:legal OR assignee:zoe*") == set()
    assert mention_index.count(MentionFilter()) == 1


def test_counts_by_state(mention_index: MentionIndex) -> None:
    mention_index.upsert([make_mention(id=f"c{n}") for n in range(5)])
    mention_index.set_triage({"c0": ANSWERED, "c1": ANSWERED, "c2": ESCALATED})
    assert mention_index.terms(MentionFilter(), dimension=Dimension.STATE) == [
        CountBucket("answered", 2),
        CountBucket("new", 2),
        CountBucket("escalated", 1),
    ]


def test_triage_keeps_story_chains_and_survives_a_new_copy(mention_index: MentionIndex) -> None:
    day = BASE_TIME + timedelta(days=3)
    first = make_mention(id="s1", story_id="s1", published_at=day)
    later = make_mention(id="s2", story_id="s1", published_at=day + timedelta(hours=2))
    mention_index.upsert([first, later])
    firsts = MentionFilter(copies=StoryCopies.FIRST)
    assert {m.id for m in mention_index.iter_all(firsts)} == {"s1"}

    mention_index.set_triage({"s1": ANSWERED, "s2": ESCALATED})
    assert {m.id for m in mention_index.iter_all(firsts)} == {"s1"}  # chain unchanged

    # A repost arriving before both rechains the story: the stored copies keep triage.
    earlier = make_mention(id="s0", story_id="s1", published_at=day - timedelta(hours=1))
    mention_index.upsert([earlier])
    assert {m.id for m in mention_index.iter_all(firsts)} == {"s0"}
    stored = mention_index.get("s1")
    assert stored is not None and stored.triage == ANSWERED
    assert ids(mention_index, "state:answered OR state:escalated") == {"s1", "s2"}


def test_a_large_batch_in_one_call(mention_index: MentionIndex) -> None:
    mention_index.upsert([make_mention(id=f"b{n:04d}") for n in range(1200)])
    changed = mention_index.set_triage({f"b{n:04d}": ANSWERED for n in range(0, 1200, 2)})
    assert changed == 600
    assert mention_index.count(MentionFilter(query=parse_query("state:answered"))) == 600
    assert mention_index.count(MentionFilter(query=parse_query("state:new"))) == 600


def test_an_embedded_rebuild_keeps_triage(tmp_path: Path) -> None:
    """An index written with an older schema (no triage fields) is rebuilt from the stored
    mentions, triage included."""
    path = tmp_path / "index"
    builder = tantivy.SchemaBuilder()
    builder.add_text_field(schema.ID, tokenizer_name="raw", index_option="basic")
    builder.add_bytes_field(schema.SOURCE, stored=True)
    path.mkdir()
    old = tantivy.Index(builder.build(), path=str(path))
    writer = old.writer(heap_size=15_000_000, num_threads=1)
    mention = make_mention(id="kept", triage=ANSWERED)
    source = mention.model_dump_json().encode()
    writer.add_document(tantivy.Document(**{schema.ID: mention.id, schema.SOURCE: source}))
    writer.commit()
    writer.wait_merging_threads()

    index = EmbeddedIndex(str(path))
    try:
        assert index.get("kept") == mention
        assert ids(index, "state:answered tag:vip") == {"kept"}
    finally:
        index.close()


@pytest.fixture
def es_target(elastic_endpoint: ElasticEndpoint, tmp_path: Path) -> Iterator[MentionIndex]:
    from services.store.elastic import EsIndex, EsSettings

    settings = dataclasses.replace(
        EsSettings.from_env(elastic_endpoint.url),
        index_prefix=f"veille-triage-{uuid.uuid4().hex[:10]}",
        dead_letter_path=str(tmp_path / "dead-letter.jsonl"),
    )
    index = EsIndex(settings)
    yield index
    index.drop()
    index.close()


@pytest.mark.elasticsearch
def test_migrating_to_elasticsearch_keeps_triage(tmp_path: Path, es_target: MentionIndex) -> None:
    from services.store.index_copy import copy_index

    source = EmbeddedIndex(str(tmp_path / "src"), writer_idle_seconds=0)
    try:
        source.upsert([make_mention(id=f"mig{n}") for n in range(3)])
        source.set_triage({"mig1": ANSWERED})
        copy_index(
            source,
            es_target,
            checkpoint=tmp_path / "checkpoint.json",
            batch_size=2,
            source_url="embedded:src",
            target_url="es",
        )
    finally:
        source.close()
    assert ids(es_target, "state:answered tag:legal") == {"mig1"}
    assert ids(es_target, "state:new") == {"mig0", "mig2"}


@pytest.mark.elasticsearch
def test_elasticsearch_documents_from_before_triage_are_new(
    elastic_endpoint: ElasticEndpoint, tmp_path: Path
) -> None:
    """Documents an older version wrote (no triage fields, no triage in the mention) count
    as new before `veille reindex`, take a triage change, and keep it through the rewrite."""
    from services.store.elastic import EsIndex
    from services.store.elastic import mapping as es_mapping
    from services.store.elastic.documents import to_document
    from services.store.elastic.mapping import IndexNames
    from tests.store.conftest import ElasticCase

    case = ElasticCase(elastic_endpoint, tmp_path / "dead-letter.jsonl")
    client = case.settings.client()
    try:
        names = IndexNames(case.settings.index_prefix)
        new_fields = {es_mapping.filter_field(n) for n in ("state", "tag", "assignee")}
        older = es_mapping.mappings()
        older["properties"] = {k: v for k, v in older["properties"].items() if k not in new_fields}
        older["_meta"] = {es_mapping.WRITTEN_FIELDS: sorted(older["properties"])}
        template = es_mapping.index_template(names, with_lifecycle=False)
        client.indices.create(
            index=names.first_index,
            aliases={names.alias: {"is_write_index": True}},
            settings=template["template"]["settings"],
            mappings=older,
        )
        for n in range(3):
            document = to_document(make_mention(id=f"e{n}"))
            document = {k: v for k, v in document.items() if k not in new_fields}
            del document[es_mapping.MENTION]["triage"]
            client.index(index=names.alias, id=f"e{n}", document=document, refresh=True)

        index = case.open()
        assert isinstance(index, EsIndex)
        try:
            assert ids(index, "state:new") == {"e0", "e1", "e2"}
            assert index.set_triage({"e1": ANSWERED}) == 1
            assert ids(index, "state:new") == {"e0", "e2"}
            assert ids(index, "state:answered tag:legal") == {"e1"}
            index.rewrite_stale()
            assert ids(index, "state:new") == {"e0", "e2"}
            stored = index.get("e1")
            assert stored is not None and stored.triage == ANSWERED
        finally:
            index.close()
    finally:
        client.close()
        case.drop()


def test_the_inbox_pages_stories_on_every_backend(mention_index: MentionIndex) -> None:
    """`triage_inbox.story_page`: one row per story (its first matching copy, its
    matching copies counted), newest story first, paged by story."""
    from services.runtime.app.triage_inbox import story_page

    day = BASE_TIME + timedelta(days=5)
    copies = [
        make_mention(id=f"c{n}", story_id="c0", published_at=day + timedelta(minutes=n))
        for n in range(5)
    ]
    alone = [make_mention(id=f"a{n}", published_at=day + timedelta(hours=n + 1)) for n in range(2)]
    mention_index.upsert(copies + alone)
    mention_index.set_triage({"c0": ANSWERED})  # the story's first copy no longer matches
    flt = MentionFilter(query=parse_query("state:new"))
    rows, cursor = [], None
    for _ in range(3):
        page = story_page(mention_index, flt, limit=1, cursor=cursor)
        assert page.total == 3
        rows += [(r.mention.id, r.copies) for r in page.rows]
        cursor = page.next_cursor
    assert rows == [("a1", 1), ("a0", 1), ("c1", 4)] and cursor is None


def test_the_inbox_reads_only_what_a_page_needs_in_story_order(
    mention_index: MentionIndex,
) -> None:
    """Reviewer finding: every inbox page read the story of every match. Now a page walks
    the matches newest first only until it is full, and still orders stories by their
    first matching copy: story `x`, whose repost is the newest match, starts oldest."""
    from services.runtime.app.triage_inbox import story_page

    day = BASE_TIME + timedelta(days=9)
    alone = [
        make_mention(id=f"a{n:03}", published_at=day + timedelta(minutes=n)) for n in range(300)
    ]
    story = [
        make_mention(id=f"x{n}", story_id="x0", published_at=day + timedelta(minutes=m))
        for n, m in enumerate((-10, 150, 400))
    ]
    mention_index.upsert(alone + story)
    flt = MentionFilter(query=parse_query("state:new"))

    read: list[int] = []  # the matches each step of the walk read (a spy on the real index)
    search = mention_index.search

    def counted(request: SearchRequest) -> SearchPage:
        page = search(request)
        if request.limit > 1:
            read.append(len(page.mentions))
        return page

    starts: list[frozenset[int] | None] = []
    story_starts = mention_index.story_starts

    def asked(flt: MentionFilter) -> dict[int, int]:
        starts.append(flt.stories)
        return story_starts(flt)

    mention_index.search = counted  # type: ignore[method-assign]
    mention_index.story_starts = asked  # type: ignore[method-assign]
    try:
        first = story_page(mention_index, flt, limit=3, walk=10)
        assert [r.mention.id for r in first.rows] == ["a299", "a298", "a297"]
        assert first.total == 301 and first.next_cursor
        assert sum(read) <= 20 and None not in starts  # not the 303 matches
        order: list[str] = []
        cursor = None
        while True:
            page = story_page(mention_index, flt, limit=40, cursor=cursor, walk=7)
            order += [r.mention.id for r in page.rows]
            cursor = page.next_cursor
            if cursor is None:
                break
    finally:
        del mention_index.search, mention_index.story_starts
    assert order == [f"a{n:03}" for n in reversed(range(300))] + ["x0"]
    rows = story_page(mention_index, flt, limit=400).rows
    assert [(r.mention.id, r.copies) for r in rows][-1] == ("x0", 3)
