"""The Elasticsearch index returns exactly what the matcher accepts (property tests).

The same random corpus and query trees as tests/test_query_agreement.py, against the
Elasticsearch backend (a real cluster with ELASTICSEARCH_URL, else the emulator: the
test id says which). NEAR/n compiled to ordered interval pairs is checked here.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from services.core.query.ast import Node
from services.core.query.parser import QuerySyntaxError, parse_query
from services.store.contracts import MentionIndex
from tests.store.conftest import ELASTIC_ID, ElasticCase, ElasticEndpoint
from tests.test_query_agreement import CORPUS, assert_agrees, queries, query_texts

pytestmark = pytest.mark.elasticsearch


@pytest.fixture(scope="module", params=[pytest.param("es", id=ELASTIC_ID)])
def es_corpus_index(
    elastic_endpoint: ElasticEndpoint, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MentionIndex]:
    case = ElasticCase(elastic_endpoint, Path(tmp_path_factory.mktemp("dl")) / "dead.jsonl")
    index = case.open()
    index.upsert(CORPUS)
    yield index
    index.close()
    case.drop()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(node=queries)
def test_elasticsearch_agrees_with_matcher_on_query_trees(
    es_corpus_index: MentionIndex, node: Node
) -> None:
    assert_agrees(es_corpus_index, CORPUS, node)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=query_texts)
def test_elasticsearch_agrees_with_matcher_on_query_strings(
    es_corpus_index: MentionIndex, text: str
) -> None:
    try:
        node = parse_query(text)
    except QuerySyntaxError:
        return
    assert_agrees(es_corpus_index, CORPUS, node)
