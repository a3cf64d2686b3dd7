"""The Elasticsearch backend talks to the server major it meets, and refuses others.

The client (9.x when `pip install veille[all]`) asks for `compatible-with=9` on every
call, which an 8.x server refuses with a 400. These tests answer the version probe as
an 8.x, 7.x or 10.x node would, from a real HTTP server on 127.0.0.1 (tests/httpserver.py)
that records what the client sends; the contract suite itself runs against real nodes
of both majors (scripts/start-test-elasticsearch.sh, README "Growing beyond one machine").
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from services.store.elastic import EsIndex, EsSettings
from services.store.elastic.settings import UnsupportedServer, check_supported, parse_version
from services.store.embedded.index import EmbeddedIndex
from tests.cli_runner import veille
from tests.e2e.service import write_workspace
from tests.factories import make_mention
from tests.httpserver import Handler, HTTPTestServer, RecordedRequest, Response

PRODUCT = {"X-Elastic-Product": "Elasticsearch", "Content-Type": "application/json"}


def _node_answering_as(version: str) -> HTTPTestServer:
    """A server that gives `version` as its node's version, and accepts only requests
    whose Accept and Content-Type ask for that major (as Elasticsearch does)."""
    server = HTTPTestServer().start()
    major = version.split(".")[0]
    nodes = {"nodes": {"n1": {"version": version}}}
    server.add("/_nodes/_local", body=json.dumps(nodes).encode(), headers=PRODUCT)
    server.add("/_nodes/_local/_none", body=json.dumps(nodes).encode(), headers=PRODUCT)

    def strict(answer: Mapping[str, object]) -> Handler:
        def handle(request: RecordedRequest) -> Response:
            for name in ("accept", "content-type"):
                value = request.headers.get(name, "")
                if "compatible-with" in value and f"compatible-with={major}" not in value:
                    error = {"error": f"{name} version must be {major}", "status": 400}
                    return Response(400, json.dumps(error).encode(), dict(PRODUCT))
            return Response(200, json.dumps(answer).encode(), dict(PRODUCT))

        return handle

    server.add("/m/_refresh", method="POST", handler=strict({"_shards": {}}))
    search = {"hits": {"total": {"value": 0, "relation": "eq"}, "hits": []}}
    server.add("/m/_search", method="POST", handler=strict(search))
    server.add("/_bulk", method="PUT", handler=strict({"errors": False, "items": []}))
    return server


@pytest.fixture
def node8() -> Iterator[HTTPTestServer]:
    server = _node_answering_as("8.19.0")
    yield server
    server.stop()


def test_an_8x_server_gets_compatible_with_8_on_every_call(node8: HTTPTestServer) -> None:
    client = EsSettings(url=node8.base_url).client()
    client.indices.refresh(index="m")  # no body: the call that mixed 9 and 8 before
    client.search(index="m", query={"match_all": {}})
    client.bulk(operations=[{"index": {"_index": "m", "_id": "1"}}, {"id": "1"}])
    sent = [r for r in node8.requests if r.path.startswith(("/m/", "/_bulk"))]
    assert len(sent) == 3
    for request in sent:
        for name in ("accept", "content-type"):
            value = request.headers.get(name)
            if value is not None:
                assert "compatible-with=8" in value, (request.path, name, value)
    assert "compatible-with=8" in sent[0].headers["accept"]


@pytest.mark.parametrize(
    ("version", "supported"),
    [("7.17.25", False), ("8.12.2", False), ("8.13.0", True), ("8.19.0", True),
     ("9.2.0", True), ("9.2.0-SNAPSHOT", True), ("10.0.0", False)],
)  # fmt: skip
def test_the_supported_range_is_8_13_to_9_x(version: str, supported: bool) -> None:
    if supported:
        check_supported(parse_version(version), "http://es:9200")
    else:
        with pytest.raises(UnsupportedServer, match=r"8\.x \(8\.13\+\) and 9\.x"):
            check_supported(parse_version(version), "http://es:9200")


@pytest.mark.parametrize("version", ["7.17.25", "10.0.0"])
def test_an_unsupported_server_is_refused_before_anything_is_written(version: str) -> None:
    server = _node_answering_as(version)
    try:
        with pytest.raises(UnsupportedServer, match=f"Elasticsearch {version} at"):
            EsIndex(EsSettings(url=server.base_url, index_prefix="m"))
        assert [r.method for r in server.requests] == ["GET"]  # the version probe only
    finally:
        server.stop()


def test_veille_migrate_to_an_unsupported_server_says_why(tmp_path: Path) -> None:
    source = EmbeddedIndex(str(tmp_path / "index"))
    source.upsert([make_mention(id="kept")])
    source.close()
    config = write_workspace(tmp_path / "ws", sources=[])
    server = _node_answering_as("7.17.25")
    try:
        result = veille(
            "migrate", "--to", server.base_url, "--from", f"embedded:{tmp_path / 'index'}",
            "--config", str(config), env={},
        )  # fmt: skip
    finally:
        server.stop()
    assert result.returncode == 1
    assert f"Elasticsearch 7.17.25 at {server.base_url} is not supported" in result.stderr
    assert "Traceback" not in result.stderr
    assert {r.method for r in server.requests} == {"GET"}  # nothing was written
