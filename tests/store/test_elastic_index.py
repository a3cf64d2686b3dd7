"""What only the Elasticsearch backend has: rollover, dead letters, retries, settings.

Against ELASTICSEARCH_URL or the noida-db emulator (see conftest.py); the retry tests
use a fake client, named as such, since no server here can be made to answer 429.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from elastic_transport import ConnectionError as TransportConnectionError

from services.core.models import Mention
from services.store.contracts import IndexUnavailable, MentionFilter, open_index
from services.store.elastic import EsIndex, EsSettings, redrive
from services.store.elastic.bulk import Backoff, send_bulk
from services.store.elastic.mapping import IndexNames
from tests.factories import make_mention
from tests.store.conftest import ELASTIC_ID, ElasticCase, ElasticEndpoint

es_only = pytest.mark.elasticsearch


@pytest.fixture(params=[pytest.param("es", id=ELASTIC_ID, marks=es_only)])
def case(elastic_endpoint: ElasticEndpoint, tmp_path: Path) -> Any:
    created = ElasticCase(elastic_endpoint, tmp_path / "dead-letter.jsonl")
    yield created
    created.drop()


def test_upsert_after_rollover_replaces_in_the_old_index(case: ElasticCase) -> None:
    index = case.open()
    assert isinstance(index, EsIndex)
    try:
        first = make_mention(id="kept", text="before rollover")
        index.upsert([first, make_mention(id="other")])
        new_index = index.rollover()
        assert index.indices()[-1] == new_index
        second = first.model_copy(update={"text": "after rollover"})
        assert index.upsert([second, make_mention(id="fresh")]) == 2
        assert index.count(MentionFilter()) == 3
        assert index.get("kept") == second
        assert index.delete(["kept", "fresh"]) == 2
        assert index.count(MentionFilter()) == 1
    finally:
        index.close()


def test_refused_items_go_to_the_dead_letter_file_and_redrive(case: ElasticCase) -> None:
    settings = case.settings
    client = settings.client()
    names = IndexNames(settings.index_prefix)
    # A first index whose mapping refuses text authors: a real per-item refusal.
    client.indices.create(
        index=names.first_index,
        aliases={names.alias: {"is_write_index": True}},
        mappings={"properties": {"kw_author": {"type": "long"}}},
    )
    client.close()
    index = case.open()
    assert isinstance(index, EsIndex)
    try:
        good = make_mention(id="good", author=None)
        bad = make_mention(id="bad", author="Zoé")
        assert index.upsert([good, bad]) == 1
        dead = Path(settings.dead_letter_path)
        records = [json.loads(line) for line in dead.read_text().splitlines()]
        assert [(r["mention"]["id"], r["status"]) for r in records] == [("bad", 400)]
        assert index.get("bad") is None

        index.rollover()  # the new write index has the template's mapping
        assert redrive(str(dead), index) == (1, 0)
        assert index.get("bad") == bad
        assert not dead.exists() or dead.read_text() == ""
        assert redrive(str(dead), index) == (0, 0)
    finally:
        index.close()


@es_only
def test_open_index_picks_elasticsearch_by_scheme(
    elastic_endpoint: ElasticEndpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A prefix of its own, deleted afterwards: safe on a real cluster too.
    monkeypatch.setenv("ELASTICSEARCH_INDEX_PREFIX", f"veille-open-index-{uuid.uuid4().hex[:8]}")
    index = open_index(elastic_endpoint.url)
    assert isinstance(index, EsIndex)
    try:
        assert index.count(MentionFilter()) == 0
    finally:
        index.drop()
        index.close()


def test_unreachable_cluster_is_index_unavailable() -> None:
    settings = EsSettings(url="http://127.0.0.1:9", request_timeout=1)
    with pytest.raises(IndexUnavailable, match="cannot reach"):
        EsIndex(settings, backoff=Backoff(attempts=2, base=0.0))


def test_settings_keep_credentials_out_of_urls_and_reprs() -> None:
    settings = EsSettings.from_env(
        "https://veille:s3cret@es.example:9200",
        env={"ELASTICSEARCH_API_KEY": "KEY123", "ELASTICSEARCH_INDEX_PREFIX": "acme"},
    )
    assert settings.url == "https://es.example:9200"
    assert settings.username == "veille" and settings.password == "s3cret"
    assert settings.index_prefix == "acme"
    assert "s3cret" not in repr(settings) and "KEY123" not in repr(settings)
    with pytest.raises(ValueError, match="ELASTICSEARCH_URL"):
        EsSettings.from_env(None, env={})


@pytest.mark.parametrize(
    ("value", "expected"),
    [("", None), ("true", True), (" Yes", True), ("1", True), ("false", False), ("OFF", False)],
)
def test_the_kibana_full_text_setting_is_read_from_the_environment(
    value: str, expected: bool | None
) -> None:
    env = {"ELASTICSEARCH_KIBANA_FULL_TEXT": value}
    assert EsSettings.from_env("http://es:9200", env=env).kibana_full_text is expected
    assert EsSettings.from_env("http://es:9200", env={}).kibana_full_text is None


def test_a_kibana_full_text_setting_that_is_not_yes_or_no_is_refused() -> None:
    with pytest.raises(ValueError, match="ELASTICSEARCH_KIBANA_FULL_TEXT must be true or false"):
        EsSettings.from_env("http://es:9200", env={"ELASTICSEARCH_KIBANA_FULL_TEXT": "kibana"})


class FakeBulkClient:
    """A fake client (no server can be made to answer 429 here): scripted bulk answers."""

    def __init__(self, answers: list[Any]) -> None:
        self.answers = answers
        self.bodies: list[list[dict[str, Any]]] = []

    def bulk(self, *, operations: bytes, refresh: Any, filter_path: str) -> Any:
        # send_bulk sends NDJSON bytes, serialised by itself
        self.bodies.append([json.loads(line) for line in operations.splitlines()])
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def _item(status: int) -> dict[str, Any]:
    error = None if status < 300 else {"type": "x", "reason": f"status {status}"}
    return {"index": {"status": status, "error": error}}


def _op(mention: Mention) -> Any:
    return ({"index": {"_index": "a", "_id": mention.id}}, mention, {"id": mention.id})


def test_bulk_retries_429_items_and_connection_errors_with_backoff() -> None:
    pauses: list[float] = []
    backoff = Backoff(attempts=4, base=0.1, sleep=pauses.append)
    one, two = make_mention(id="one"), make_mention(id="two")
    client = FakeBulkClient(
        [
            TransportConnectionError("network down"),
            {"errors": True, "items": [_item(201), _item(429)]},
            {"errors": False, "items": [_item(201)]},
        ]
    )
    failures = send_bulk(client, [_op(one), _op(two)], backoff=backoff, refresh=True)  # type: ignore[arg-type]
    assert failures == []
    assert [len(body) for body in client.bodies] == [4, 4, 2]  # only "two" sent again
    assert client.bodies[-1][0]["index"]["_id"] == "two"
    assert len(pauses) == 2 and all(p > 0 for p in pauses)


def test_bulk_reports_items_refused_for_good() -> None:
    backoff = Backoff(attempts=2, base=0.0, sleep=lambda _: None)
    one, two = make_mention(id="one"), make_mention(id="two")
    client = FakeBulkClient(
        [
            {"errors": True, "items": [_item(400), _item(503)]},
            {"errors": True, "items": [_item(503)]},
        ]
    )
    failures = send_bulk(client, [_op(one), _op(two)], backoff=backoff, refresh=True)  # type: ignore[arg-type]
    assert sorted((f.mention_id, f.status) for f in failures) == [("one", 400), ("two", 503)]
