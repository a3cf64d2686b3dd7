"""What a real Elasticsearch node shows and an emulator may hide (issue 20).

Each test holds against a real server (the one scripts/start-test-elasticsearch.sh
starts in CI, or ELASTICSEARCH_URL) and against the noida-db emulator where it can;
the few that need analysis or the lifecycle API skip on the emulator and say so.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import ApiError

from services.core.query.parser import parse_query
from services.core.triage import Triage, TriageState
from services.store.contracts import Dimension, IndexUnavailable, MentionFilter
from services.store.elastic import EsIndex
from services.store.elastic import index as es_index_module
from services.store.elastic import mapping as es_mapping
from tests.factories import BASE_TIME, make_mention
from tests.store.conftest import ELASTIC_ID, ElasticCase, ElasticEndpoint

pytestmark = pytest.mark.elasticsearch


@pytest.fixture(params=[pytest.param("es", id=ELASTIC_ID)])
def es_index(elastic_endpoint: ElasticEndpoint, tmp_path: Path) -> Iterator[EsIndex]:
    case = ElasticCase(elastic_endpoint, tmp_path / "dead-letter.jsonl")
    index = case.open()
    assert isinstance(index, EsIndex)
    yield index
    index.close()
    case.drop()


def _real_only(endpoint: ElasticEndpoint, what: str) -> None:
    if endpoint.emulator:
        pytest.skip(f"the emulator does not implement {what}: real nodes only")


def _tokens(index: EsIndex, text: str, *, field: str = "", analyzer: str = "") -> list[str]:
    client = index._client
    if field:
        answer = client.indices.analyze(index=index.names.first_index, text=text, field=field)
    else:
        answer = client.indices.analyze(index=index.names.first_index, text=text, analyzer=analyzer)
    return [token["token"] for token in answer["tokens"]]


def test_the_production_analyzers_run_on_the_node(
    es_index: EsIndex, elastic_endpoint: ElasticEndpoint
) -> None:
    # The template's whitespace, elision, stemmer and asciifolding components exist on
    # the node (the test distribution gets them from tests/es-analysis-plugin).
    _real_only(elastic_endpoint, "elision (deploy/elasticsearch/EMULATOR.md)")
    words = _tokens(es_index, "a-b  l'avis c.d", field=es_mapping.TITLE_WORDS)
    assert words == ["a-b", "l'avis", "c.d"]
    # The French analyzer of the Kibana full-text fields, defined even when they are off.
    french = _tokens(es_index, "L'Élection des chevaux", analyzer="veille_french")
    assert french == ["election", "des", "cheval"]


def test_the_template_on_the_node_is_the_production_template(
    es_index: EsIndex, elastic_endpoint: ElasticEndpoint
) -> None:
    client = es_index._client
    answer = client.indices.get_index_template(name=es_index.names.template)
    template = answer["index_templates"][0]["index_template"]["template"]
    expected = es_mapping.index_template(es_index.names, with_lifecycle=es_index.lifecycle_managed)[
        "template"
    ]
    assert template["mappings"]["properties"] == expected["mappings"]["properties"]
    settings = template["settings"]["index"]
    assert (
        settings["analysis"]["analyzer"].keys()
        == expected["settings"]["analysis"]["analyzer"].keys()
    )
    # Lifecycle management is used exactly when the server offers it (Elastic's test
    # distribution has no ILM: then rollover is by EsIndex.rollover() only).
    assert ("lifecycle" in settings) == es_index.lifecycle_managed


# The template before the lean mapping (docs/operations/elasticsearch.md): English and
# keyword copies of the texts, and an inverted index on `terms`.
_ENGLISH: dict[str, Any] = {
    "filter": {
        "veille_english_possessive": {"type": "stemmer", "language": "possessive_english"},
        "veille_english_stemmer": {"type": "stemmer", "language": "light_english"},
    },
    "analyzer": {
        "veille_english": {
            "type": "custom",
            "tokenizer": "standard",
            "filter": ["veille_english_possessive", "lowercase", "veille_english_stemmer"],
        }
    },
}


def _previous_template(names: es_mapping.IndexNames) -> tuple[dict[str, Any], dict[str, Any]]:
    template = es_mapping.index_template(names, with_lifecycle=False, full_text=True)
    settings, mappings = template["template"]["settings"], template["template"]["mappings"]
    for part in ("filter", "analyzer"):
        settings["analysis"][part] = {**settings["analysis"][part], **_ENGLISH[part]}
    for field in ("title", "text"):
        mappings["properties"][field]["fields"] = {
            "en": {"type": "text", "analyzer": "veille_english"},
            "raw": {"type": "keyword", "ignore_above": 256},
        }
    mappings["properties"][es_mapping.TERMS] = {"type": "keyword"}
    mappings["properties"]["embedding"] = {  # mapped, never written
        "type": "dense_vector",
        "dims": 384,
        "index": True,
        "similarity": "cosine",
    }
    # ... and it predates a field: opening the index adds it, without touching the rest.
    del mappings["properties"][es_mapping.FOLLOWERS]
    return settings, mappings


def test_an_index_made_with_the_previous_template_keeps_working(
    elastic_endpoint: ElasticEndpoint, tmp_path: Path
) -> None:
    _real_only(elastic_endpoint, "the analysis components of the previous template")
    case = ElasticCase(elastic_endpoint, tmp_path / "dead-letter.jsonl")
    names = es_mapping.IndexNames(case.settings.index_prefix)
    client = case.settings.client()
    settings, mappings = _previous_template(names)
    client.indices.create(
        index=names.first_index,
        aliases={names.alias: {"is_write_index": True}},
        settings=settings,
        mappings=mappings,
    )
    index = case.open()
    try:
        assert isinstance(index, EsIndex)
        fields = client.indices.get_mapping(index=names.first_index)[names.first_index]
        properties = fields["mappings"]["properties"]
        assert properties[es_mapping.FOLLOWERS] == {"type": "long"}  # the missing one, added
        assert "index" not in properties[es_mapping.TERMS]  # the changed one, left as it was
        mentions = [
            make_mention(id=f"old-{n}", title="Batterie du vélo", text="livraison rapide")
            for n in range(3)
        ]
        assert index.upsert(mentions) == 3
        assert index.count(MentionFilter(query=parse_query("livraison"))) == 3
        assert {b.key for b in index.top_terms(MentionFilter(), size=5)} >= {"livraison"}
        # Kibana's fields of that template still answer on its documents.
        for field, query in (("title.en", "batterie"), ("title.raw", "Batterie du vélo")):
            kind = "match" if field == "title.en" else "term"
            hits = client.count(index=names.alias, query={kind: {field: query}})
            assert hits["count"] == 3, field
        # The next index (rollover) gets the current template, with the Kibana full-text
        # fields: the installation had them, and the setting is not given.
        assert index.full_text
        newest = index.rollover()
        current = client.indices.get_mapping(index=newest)[newest]["mappings"]["properties"]
        assert "fields" not in current["title"]
        assert current[es_mapping.TERMS] == {"type": "keyword", "index": False}
        assert "embedding" not in current  # no vector field: the source is not rewritten
        assert current["dim_brand"] == {"type": "keyword", "index": False}
        # Breakdowns read the displayed values from either index's doc values.
        index.upsert([make_mention(id="new-0", title="Batterie", brands=["Veloria"])])
        by_brand = index.terms(MentionFilter(), dimension=Dimension.BRAND)
        assert {b.key: b.count for b in by_brand}["Veloria"] == 4
    finally:
        index.close()
        client.close()
        case.drop()


def _full_text_case(
    endpoint: ElasticEndpoint, tmp_path: Path, full_text: bool | None
) -> ElasticCase:
    case = ElasticCase(endpoint, tmp_path / "dead-letter.jsonl")
    case.settings = dataclasses.replace(case.settings, kibana_full_text=full_text)
    return case


@pytest.mark.parametrize("full_text", [False, True])
def test_the_kibana_full_text_fields_are_there_only_when_asked_for(
    elastic_endpoint: ElasticEndpoint, tmp_path: Path, full_text: bool
) -> None:
    _real_only(elastic_endpoint, "the French analyzer (elision, stemmer)")
    case = _full_text_case(elastic_endpoint, tmp_path, full_text)
    index = case.open()
    client = case.settings.client()
    try:
        assert isinstance(index, EsIndex) and index.full_text is full_text
        mentions = [
            make_mention(id="a", title="L'Élection des chevaux", text="Livraisons rapides"),
            make_mention(id="b", title="Un vélo", text="rien à dire"),
        ]
        assert index.upsert(mentions) == 2
        name = index.names.first_index
        properties = client.indices.get_mapping(index=name)[name]["mappings"]["properties"]
        assert ("title" in properties, "text" in properties) == (full_text, full_text)
        # Kibana-style searches: stemmed, folded, elided on the full-text fields.
        for field, words in (("title", "election cheval"), ("text", "livraison rapide")):
            query = {"match": {field: {"query": words, "operator": "and"}}}
            found = client.search(index=index.names.alias, query=query)["hits"]["hits"]
            assert [hit["_id"] for hit in found] == (["a"] if full_text else [])
        # Veille's own queries are the same either way.
        assert index.count(MentionFilter(query=parse_query('"des chevaux"'))) == 1
        assert not index.stale_indices()
    finally:
        index.close()
        client.close()
        case.drop()


def test_turning_the_kibana_full_text_fields_on_later_asks_for_a_reindex(
    elastic_endpoint: ElasticEndpoint, tmp_path: Path
) -> None:
    _real_only(elastic_endpoint, "the French analyzer (elision, stemmer)")
    case = _full_text_case(elastic_endpoint, tmp_path, None)  # a new installation: off
    index = case.open()
    client = case.settings.client()
    try:
        assert isinstance(index, EsIndex) and not index.full_text
        index.upsert([make_mention(id="a", text="Livraisons rapides")])
        index.close()
        unset = case.open()  # not set: keeps what the indices have (off)
        assert isinstance(unset, EsIndex) and not unset.full_text
        unset.close()
        case.settings = dataclasses.replace(case.settings, kibana_full_text=True)
        index = case.open()
        assert isinstance(index, EsIndex) and index.full_text
        [stale] = index.stale_indices()
        assert set(stale.missing) == {"title", "text"}
        index.upsert([make_mention(id="b", text="Livraison lente")])
        assert [report.complete for report in index.rewrite_stale()] == [True]
        assert index.stale_indices() == []
        query = {"match": {"text": "livraison"}}
        assert client.count(index=index.names.alias, query=query)["count"] == 2
        # Unset again, the installation now keeps them.
        index.close()
        case.settings = dataclasses.replace(case.settings, kibana_full_text=None)
        index = case.open()
        assert isinstance(index, EsIndex) and index.full_text
    finally:
        index.close()
        client.close()
        case.drop()


def test_processes_set_differently_for_full_text_do_not_refuse_each_others_writes(
    elastic_endpoint: ElasticEndpoint, tmp_path: Path
) -> None:
    # Every process rewrites the shared template when it opens the index, so an index made
    # later (a rollover) follows whichever started last; a process writing the full-text
    # fields must not see its documents refused by an index made without them.
    _real_only(elastic_endpoint, "the French analyzer (elision, stemmer)")
    case = _full_text_case(elastic_endpoint, tmp_path, True)
    with_fields = case.open()
    case.settings = dataclasses.replace(case.settings, kibana_full_text=False)
    without = case.open()  # the template is now the one without the fields
    client = case.settings.client()
    try:
        assert isinstance(with_fields, EsIndex) and with_fields.full_text
        assert isinstance(without, EsIndex) and not without.full_text
        new_index = without.rollover()
        properties = client.indices.get_mapping(index=new_index)[new_index]["mappings"]
        assert "title" not in properties["properties"]
        assert with_fields.upsert([make_mention(id="a", title="Livraisons rapides")]) == 1
        assert without.upsert([make_mention(id="b", title="Livraison lente")]) == 1
        assert not Path(case.settings.dead_letter_path).exists()
        query = {"match": {"title": "livraison"}}
        found = client.search(index=with_fields.names.alias, query=query)["hits"]["hits"]
        assert {hit["_id"] for hit in found} == {"a"}
        # A rollover by the process with the fields gives the new index its fields at once.
        newer = with_fields.rollover()
        properties = client.indices.get_mapping(index=newer)[newer]["mappings"]["properties"]
        assert {"title", "text"} <= set(properties)
    finally:
        with_fields.close()
        without.close()
        client.close()
        case.drop()


def test_lifecycle_is_used_when_the_server_has_it(
    es_index: EsIndex, elastic_endpoint: ElasticEndpoint
) -> None:
    _real_only(elastic_endpoint, "index lifecycle management")
    try:
        es_index._client.ilm.get_lifecycle(name=es_index.names.policy)
        has_policy = True
    except ApiError as error:
        # 404: ILM is there and the policy is not; 400 "no handler": no ILM at all.
        assert error.status_code in {400, 404}, error
        has_policy = False
    assert has_policy == es_index.lifecycle_managed


def test_iter_all_reads_every_index_as_of_the_call_oldest_first(
    es_index: EsIndex, elastic_endpoint: ElasticEndpoint, request: pytest.FixtureRequest
) -> None:
    if elastic_endpoint.emulator:
        reason = "emulator gap: its point in time over an alias reads the first index only"
        request.applymarker(pytest.mark.xfail(strict=True, reason=reason))
    first = [
        make_mention(id=f"a{i}", published_at=BASE_TIME + timedelta(hours=i)) for i in range(5)
    ]
    es_index.upsert(first)
    es_index.rollover()
    second = [
        make_mention(id=f"b{i}", published_at=BASE_TIME - timedelta(hours=i + 1)) for i in range(5)
    ]
    es_index.upsert(second)
    walk = es_index.iter_all(MentionFilter(), batch_size=3)  # a point in time: opened now
    head = next(walk)
    es_index.upsert([make_mention(id="late", published_at=BASE_TIME - timedelta(days=9))])
    es_index.delete(["a4"])
    rest = [head, *walk]
    expected = sorted(first + second, key=lambda m: (m.published_at, m.id))
    assert [m.id for m in rest] == [m.id for m in expected]
    assert es_index.count(MentionFilter()) == 10  # the late one in, a4 out


def test_indices_deleted_behind_its_back_are_index_unavailable(es_index: EsIndex) -> None:
    es_index.upsert([make_mention(id="gone")])
    for name in es_index.indices():
        es_index._client.indices.delete(index=name)
    with pytest.raises(IndexUnavailable, match="missing"):
        es_index.count(MentionFilter())
    with pytest.raises(IndexUnavailable, match="missing"):
        list(es_index.iter_all(MentionFilter()))


def test_server_version_is_read_and_supported(es_index: EsIndex) -> None:
    answer: Any = es_index._client.nodes.info(node_id="_local", metric="_none")
    (node,) = answer["nodes"].values()
    assert ".".join(map(str, es_index.server_version)) == node["version"].split("-")[0]


def test_writes_are_visible_at_once_though_the_periodic_refresh_is_slow(
    es_index: EsIndex, elastic_endpoint: ElasticEndpoint
) -> None:
    _real_only(elastic_endpoint, "index settings")
    client = es_index._client
    name = es_index.names.first_index
    answer = client.indices.get_settings(index=name, name="index.refresh_interval")
    assert answer[name]["settings"]["index"]["refresh_interval"] == es_mapping.REFRESH_INTERVAL
    # Each write refreshes explicitly: nothing waits for the periodic refresh.
    mentions = [make_mention(id=f"v{n}", title="batterie", story_id="s") for n in range(30)]
    assert es_index.upsert(mentions) == 30
    assert es_index.count(MentionFilter(query=parse_query("batterie"))) == 30
    es_index.set_triage({"v1": Triage(state=TriageState.ANSWERED, tags=["urgent"])})
    assert es_index.count(MentionFilter(query=parse_query("tag:urgent"))) == 1
    assert es_index.delete(["v2", "v3"]) == 2
    assert es_index.count(MentionFilter()) == 28
    assert es_index.delete_matching(MentionFilter(query=parse_query("tag:urgent"))) == 1
    assert es_index.count(MentionFilter()) == 27


def test_writes_sent_in_several_chunks_over_several_indices_are_visible_at_once(
    es_index: EsIndex, elastic_endpoint: ElasticEndpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A bulk request's refresh covers only the shards it touched: after a rollover, the
    # chunks before the last may have gone to another index, which must be refreshed too.
    _real_only(elastic_endpoint, "index settings")
    monkeypatch.setattr(es_index_module, "_BULK_DELETES", 1)
    es_index.upsert([make_mention(id=f"old{n}", title="recall") for n in range(3)])
    es_index.rollover()
    es_index.upsert([make_mention(id=f"new{n}", title="recall") for n in range(3)])
    assert len(es_index.indices()) == 2
    assert es_index.delete_matching(MentionFilter(query=parse_query("recall"))) == 6
    assert es_index.count(MentionFilter()) == 0
