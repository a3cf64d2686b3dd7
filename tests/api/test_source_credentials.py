"""The collectors' credentials are the installation's (VEILLE_MASTODON_TOKEN, the Reddit
and Bluesky logins...), sent to the platform's address the installation chose: a source
added through the API cannot point a connector at another address (its `base_url`,
`auth_url` or `instance` option), or anyone who may add a source in any workspace would
receive them. Real stores, a real collection run against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from services.collector.dispatch import SourceCollector
from services.core.models import Source
from services.core.settings import build_settings
from services.core.workspace import Workspace
from services.runtime.app.context import ServiceContext
from tests.apps import app_for
from tests.httpserver import HTTPTestServer, Response

TOKEN = "installation-mastodon-token-3f9a"


@pytest.fixture
def ctx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ServiceContext]:
    monkeypatch.setenv("VEILLE_MASTODON_TOKEN", TOKEN)
    settings = build_settings(
        {
            "data_dir": str(tmp_path),
            "demo_data": False,
            "store": {
                "state_url": f"sqlite:///{tmp_path}/veille.db",
                "index_url": f"embedded:{tmp_path}/index",
            },
            # the attacker's server is on 127.0.0.1 here; on the Internet it needs no allowance
            "collector": {"allowed_networks": ["127.0.0.0/8"]},
        }
    )
    context = ServiceContext(settings, Workspace())
    yield context
    context.close()


@pytest.fixture
def analyst(ctx: ServiceContext) -> Iterator[TestClient]:
    installation = app_for(ctx).state.installation
    installation.tenancy.create_workspace("acme", "Acme")
    key = installation.tenancy.create_key(
        name="acme-analyst", workspace="acme", role="analyst", service="tests"
    )
    with TestClient(app_for(ctx), headers={"X-API-Key": key}) as client:
        yield client


@pytest.mark.parametrize(
    ("kind", "option"),
    [
        ("mastodon", "base_url"),
        ("mastodon", "instance"),
        ("bluesky", "auth_url"),
        ("reddit", "auth_url"),
        ("youtube", "base_url"),
    ],
)
def test_a_source_from_the_api_cannot_send_the_installations_credentials_elsewhere(
    analyst: TestClient, kind: str, option: str
) -> None:
    with HTTPTestServer() as server:
        server.fallback(lambda request: _empty_search())
        body = {"name": "sneaky", "kind": kind, "query": "x", "options": {option: server.url("")}}
        answer = analyst.post("/api/v1/sources", json=body)
        assert answer.status_code == 422, answer.text
        problem = answer.json()
        assert problem["field"] == f"options.{option}"
        assert "workspace YAML" in problem["detail"]
        assert TOKEN not in answer.text
        assert analyst.get("/api/v1/sources/sneaky").status_code == 404
        # A replacement cannot slip it in either.
        body["options"] = {}
        assert analyst.post("/api/v1/sources", json=body).status_code == 201
        body["options"] = {option: server.url("")}
        assert analyst.put("/api/v1/sources/sneaky", json=body).status_code == 422
        assert analyst.get("/api/v1/sources/sneaky").json()["options"] == {}
        assert server.requests == []


def test_the_same_options_in_the_workspace_yaml_still_reach_the_server(ctx: ServiceContext) -> None:
    """The operator's own config keeps pointing a connector anywhere, with the credentials."""
    with HTTPTestServer() as server:
        server.fallback(lambda request: _empty_search())
        source = Source(
            name="own-instance",
            kind="mastodon",
            query="x",
            options={"base_url": server.url("")},
        )
        SourceCollector()(source, state=ctx.state, settings=ctx.settings.collector)
        (request,) = server.requests
        assert request.headers["authorization"] == f"Bearer {TOKEN}"


def test_social_sources_without_an_address_option_are_accepted(analyst: TestClient) -> None:
    body = {"name": "toots", "kind": "mastodon", "query": "veloria", "options": {"hashtag": "x"}}
    assert analyst.post("/api/v1/sources", json=body).status_code == 201
    feed = {"name": "blog", "url": "https://blog.example.org/feed.xml", "options": {"x_url": "y"}}
    assert analyst.post("/api/v1/sources", json=feed).status_code == 201


def _empty_search() -> Response:
    return Response(200, body=json.dumps({"statuses": []}).encode())
