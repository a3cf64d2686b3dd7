"""`veille reindex`: documents an older version wrote gain the fields added since.

An "older version" is reproduced the way it left a cluster: documents without the new
fields, and a mapping that records fewer fields (or, before records existed, none).
Against ELASTICSEARCH_URL or the noida-db emulator (see conftest.py).
"""

from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from rich.progress import Progress

from services.cli.reindex_index import reindex
from services.core.models import Sentiment, SentimentLabel
from services.core.query.ast import TOWARD_FIELDS
from services.core.query.parser import parse_query
from services.store.contracts import MentionFilter
from services.store.elastic import EsIndex
from services.store.elastic import mapping as es_mapping
from services.store.elastic.backfill import current_fields, rewrite_hits
from services.store.elastic.documents import to_document
from services.store.elastic.mapping import IndexNames
from tests.factories import make_mention
from tests.store.conftest import ELASTIC_ID, ElasticCase, ElasticEndpoint

es_only = pytest.mark.elasticsearch
NEW_FIELDS = [es_mapping.filter_field(name) for name in TOWARD_FIELDS]
NEGATIVE = Sentiment(label=SentimentLabel.NEGATIVE, score=0.9)
POSITIVE = Sentiment(label=SentimentLabel.POSITIVE, score=0.9)


@pytest.fixture(params=[pytest.param("es", id=ELASTIC_ID, marks=es_only)])
def case(elastic_endpoint: ElasticEndpoint, tmp_path: Path) -> Any:
    created = ElasticCase(elastic_endpoint, tmp_path / "dead-letter.jsonl")
    yield created
    created.drop()


def _mentions() -> list[Any]:
    # Negative toward Veloria in a text whose overall label is positive: only the new
    # field finds them.
    return [
        make_mention(
            id=f"old-{n}",
            text="J'adore mon Trekko mais le SAV de Veloria est une catastrophe",
            brands=["Veloria"],
            competitors=["Trekko"],
            sentiment=POSITIVE,
            brand_sentiments={"Veloria": NEGATIVE, "Trekko": POSITIVE},
        )
        for n in range(7)
    ]


def _write_as_older_version(case: ElasticCase, mentions: list[Any], *, record: bool) -> None:
    """Leaves the cluster as a version without the toward fields would have: their
    documents lack them, and the index records fewer fields (`record`) or none."""
    client = case.settings.client()
    names = IndexNames(case.settings.index_prefix)
    older = es_mapping.mappings()
    older["properties"] = {k: v for k, v in older["properties"].items() if k not in NEW_FIELDS}
    if record:
        older["_meta"] = {es_mapping.WRITTEN_FIELDS: sorted(older["properties"])}
    else:
        del older["_meta"]
    settings = es_mapping.index_template(names, with_lifecycle=False)["template"]["settings"]
    client.indices.create(
        index=names.first_index,
        aliases={names.alias: {"is_write_index": True}},
        settings=settings,
        mappings=older,
    )
    for mention in mentions:
        document = {k: v for k, v in to_document(mention).items() if k not in NEW_FIELDS}
        client.index(index=names.alias, id=mention.id, document=document, refresh=True)
    client.close()


def _negative_toward_veloria(index: EsIndex) -> int:
    return index.count(MentionFilter(query=parse_query("negative:Veloria")))


def test_a_new_index_is_up_to_date(case: ElasticCase) -> None:
    index = case.open()
    assert isinstance(index, EsIndex)
    try:
        index.upsert(_mentions())
        assert index.stale_indices() == []
        assert _negative_toward_veloria(index) == 7
    finally:
        index.close()


def test_documents_of_an_older_version_gain_the_new_fields(
    case: ElasticCase, caplog: pytest.LogCaptureFixture
) -> None:
    mentions = _mentions()
    _write_as_older_version(case, mentions, record=True)
    with caplog.at_level(logging.WARNING, logger="veille.store.elastic"):
        index = case.open()
    assert isinstance(index, EsIndex)
    try:
        assert "veille reindex" in caplog.text
        assert _negative_toward_veloria(index) == 0  # what the user would see before
        [stale] = index.stale_indices(count_documents=True)
        assert stale.recorded and stale.documents == 7
        assert set(stale.missing) == set(NEW_FIELDS)
        assert index.outdated_parts() == 1  # what `veille health` reports

        handled: list[int] = []
        [report] = index.rewrite_stale(batch_size=3, progress=handled.append)

        assert (report.rewritten, report.skipped, report.refused) == (7, 0, 0)
        assert handled == [3, 3, 1]
        assert _negative_toward_veloria(index) == 7
        assert index.stale_indices() == [] and index.outdated_parts() == 0
        assert [index.get(m.id) for m in mentions] == mentions  # nothing else changed
    finally:
        index.close()


def _refresh_interval(case: ElasticCase) -> Any:
    client = case.settings.client()
    name = IndexNames(case.settings.index_prefix).first_index
    try:
        answer = client.indices.get_settings(index=name, name="index.refresh_interval")
        # An index without a value of its own is left out of the answer.
        own = answer.body.get(name, {}).get("settings", {})
        return own.get("index", {}).get("refresh_interval")
    finally:
        client.close()


@pytest.mark.parametrize("interval", ["template", None, "5s"])
def test_refreshes_pause_while_an_index_is_rewritten(case: ElasticCase, interval: Any) -> None:
    _write_as_older_version(case, _mentions(), record=True)
    if interval == "template":  # as Veille's template made it
        interval = es_mapping.REFRESH_INTERVAL
    else:  # None: no value of its own (Elasticsearch's default)
        client = case.settings.client()
        name = IndexNames(case.settings.index_prefix).first_index
        client.indices.put_settings(index=name, settings={"index.refresh_interval": interval})
        client.close()
    index = case.open()
    assert isinstance(index, EsIndex)
    during: list[Any] = []
    try:
        index.rewrite_stale(batch_size=4, progress=lambda _: during.append(_refresh_interval(case)))
        assert during == ["-1", "-1"]
        assert _refresh_interval(case) == interval  # as it was (None: the default)
        assert _negative_toward_veloria(index) == 7  # refreshed at the end all the same
    finally:
        index.close()


def test_an_index_made_before_fields_were_recorded_is_rewritten(case: ElasticCase) -> None:
    _write_as_older_version(case, _mentions(), record=False)
    index = case.open()
    assert isinstance(index, EsIndex)
    try:
        [stale] = index.stale_indices()
        assert not stale.recorded
        assert set(stale.missing) == set(current_fields())  # it cannot tell: all of them
        index.rewrite_stale()
        assert _negative_toward_veloria(index) == 7
        assert index.stale_indices() == []
    finally:
        index.close()


def test_a_write_made_after_the_read_is_not_undone(case: ElasticCase) -> None:
    mentions = _mentions()[:2]
    _write_as_older_version(case, mentions, record=True)
    index = case.open()
    assert isinstance(index, EsIndex)
    client = case.settings.client()
    try:
        [stale] = index.stale_indices()
        hits = client.search(index=stale.name, seq_no_primary_term=True, query={"match_all": {}})[
            "hits"
        ]["hits"]
        # An analyst corrects one mention between the read and the rewrite.
        corrected = mentions[0].model_copy(
            update={"brand_sentiments": {"Veloria": POSITIVE, "Trekko": POSITIVE}}
        )
        index.upsert([corrected])

        report = rewrite_hits(client, stale.name, list(hits), backoff=index._backoff)
        client.indices.refresh(index=stale.name)

        assert (report.rewritten, report.skipped) == (1, 1)
        assert index.get(corrected.id) == corrected
        assert _negative_toward_veloria(index) == 1  # the other one, rewritten
    finally:
        client.close()
        index.close()


def _console() -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, width=200), buffer


def test_reindex_command_reports_what_it_rewrote_and_then_nothing(
    case: ElasticCase, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_as_older_version(case, _mentions(), record=True)
    settings_url = case.settings.url
    monkeypatch.setenv("ELASTICSEARCH_INDEX_PREFIX", case.settings.index_prefix)
    console, buffer = _console()
    reindex(
        index_url=settings_url,
        batch_size=4,
        progress=Progress(console=console),
        out=console,
    )
    assert "7 rewritten, 0 already rewritten by a newer write, 0 refused" in buffer.getvalue()

    console, buffer = _console()
    reindex(index_url=settings_url, batch_size=4, progress=Progress(console=console), out=console)
    assert "up to date" in buffer.getvalue()


def test_reindex_on_the_embedded_store_says_there_is_nothing_to_do(tmp_path: Path) -> None:
    console, buffer = _console()
    reindex(
        index_url=f"embedded:{tmp_path / 'index'}",
        batch_size=10,
        progress=Progress(console=console),
        out=console,
    )
    assert "rebuilds itself at start-up" in buffer.getvalue()


def test_reindex_chains_the_stories_of_an_older_version(case: ElasticCase) -> None:
    # Before the story chain: documents without story_hash / story_previous_us. After
    # `veille reindex`, a deduplicated count is exact (old copies no longer count twice).
    from datetime import timedelta

    from services.store.distinct_stories import DistinctStories
    from tests.factories import BASE_TIME

    chain_fields = [es_mapping.STORY_HASH, es_mapping.STORY_PREVIOUS_US]
    stories = [
        make_mention(
            id=f"{lead}-{c}",
            story_id=lead,
            published_at=BASE_TIME + timedelta(hours=hours * (c + 1)),
        )
        for lead, hours, copies in (("a", 1, 3), ("b", 5, 2), ("c", 2, 1))
        for c in range(copies)
    ]
    client = case.settings.client()
    names = IndexNames(case.settings.index_prefix)
    older = es_mapping.mappings()
    older["properties"] = {k: v for k, v in older["properties"].items() if k not in chain_fields}
    older["_meta"] = {es_mapping.WRITTEN_FIELDS: sorted(older["properties"])}
    settings = es_mapping.index_template(names, with_lifecycle=False)["template"]["settings"]
    client.indices.create(
        index=names.first_index,
        aliases={names.alias: {"is_write_index": True}},
        settings=settings,
        mappings=older,
    )
    for mention in stories:
        document = {k: v for k, v in to_document(mention).items() if k not in chain_fields}
        client.index(index=names.alias, id=mention.id, document=document, refresh=True)
    client.close()
    index = case.open()
    assert isinstance(index, EsIndex)
    try:
        everything = MentionFilter()
        assert DistinctStories(index).count(everything) == 6  # every old copy counts
        index.rewrite_stale()
        assert DistinctStories(index).count(everything) == 3
        late = MentionFilter(since=BASE_TIME + timedelta(hours=3))
        assert DistinctStories(index).count(late) == 2  # a (its 3rd copy) and b
    finally:
        index.close()
