"""Hostile requests get a 4xx, never a 500: JSON nested too deep for Python's parser, on
every write route (iterated from the OpenAPI document); a body over 1 MiB, declared or
chunked, is a 413 before it is read; a chart link's token that is not ASCII; a NUL
character in a name or a lookup, which PostgreSQL cannot store (real stores: SQLite, and
PostgreSQL with VEILLE_TEST_POSTGRES_URL)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from services.api.input_guard import MAX_BODY_BYTES
from services.core.settings import build_settings
from services.core.workspace import Workspace
from services.runtime.app.context import ServiceContext
from tests.apps import app_for
from tests.state.conftest import state_url

__all__ = ["state_url"]  # the state tests' fixture: SQLite, and PostgreSQL when configured

DEEP = "[" * 100_000 + "]" * 100_000


def test_json_nested_too_deep_is_never_a_500(ctx: ServiceContext, api_key: str) -> None:
    app = app_for(ctx)
    checked = 0
    with TestClient(app, headers={"X-API-Key": api_key}, raise_server_exceptions=False) as client:
        for path, operations in app.openapi()["paths"].items():
            url = re.sub(r"{\w+}", "x", path)
            for method in operations:
                if method not in ("post", "put", "patch", "delete"):
                    continue
                answer = client.request(
                    method.upper(), url, content=DEEP, headers={"Content-Type": "application/json"}
                )
                assert answer.status_code < 500, (method, path, answer.text)
                checked += 1
    assert checked > 40


def test_a_body_over_the_limit_is_a_413_before_sign_in(ctx: ServiceContext) -> None:
    """Sign-in is public: a huge body must not be read into memory before anything."""
    huge = b'{"login": "' + b"a" * (MAX_BODY_BYTES + 1) + b'", "password": "x"}'
    with TestClient(app_for(ctx)) as anyone:
        declared = anyone.post(
            "/api/v1/session", content=huge, headers={"Content-Type": "application/json"}
        )
        assert declared.status_code == 413, declared.text
        assert declared.json()["title"] == "Request body too large"
        # Without a Content-Length (chunked), the limit holds as the body arrives.
        chunks = (huge[i : i + 65536] for i in range(0, len(huge), 65536))
        streamed = anyone.post(
            "/api/v1/session", content=chunks, headers={"Content-Type": "application/json"}
        )
        assert streamed.status_code == 413, streamed.text


def test_a_body_within_the_limit_reaches_the_route(ctx: ServiceContext, api_key: str) -> None:
    brand = {"name": "Grandvelo", "context_excluded": ["y" * 200] * 4000}  # about 800 KiB
    with TestClient(app_for(ctx), headers={"X-API-Key": api_key}) as client:
        chunked = (part.encode() for part in (json.dumps(brand)[:100], json.dumps(brand)[100:]))
        answer = client.post(
            "/api/v1/brands", content=chunked, headers={"Content-Type": "application/json"}
        )
        assert answer.status_code == 201, answer.text[:300]
        assert len(client.get("/api/v1/brands/Grandvelo").json()["context_excluded"]) == 4000


def test_a_chart_token_that_is_not_ascii_is_a_404_like_any_wrong_token(
    ctx: ServiceContext,
) -> None:
    """The chart route is public (Slack fetches it): its token is anyone's input."""
    event_id = ctx.state.record_alert_event(
        rule_name="r",
        kind="volume_spike",
        status="firing",
        dedupe_key="k",
        numbers={"observed": 40, "expected": 2.5},
        channels=[],
    )
    assert event_id is not None and ctx.state.get_alert_event(event_id).chart_token
    url = f"/api/v1/alerts/events/{event_id}/chart.png"
    with TestClient(app_for(ctx), raise_server_exceptions=False) as anyone:
        for token in ("\u00e9t\u00e9", "x" * 32):
            answer = anyone.get(url, params={"token": token})
            assert answer.status_code == 404, answer.text
            assert answer.json()["title"] == "Chart not found"


@pytest.fixture
def any_state(state_url: str, tmp_path: Path) -> Iterator[TestClient]:
    settings = build_settings(
        {
            "data_dir": str(tmp_path),
            "demo_data": False,
            "store": {"state_url": state_url, "index_url": f"embedded:{tmp_path}/index"},
        }
    )
    context = ServiceContext(settings, Workspace())
    app = app_for(context)
    key = app.state.installation.tenancy.create_key(name="k", service="tests")
    with TestClient(app, headers={"X-API-Key": key}, raise_server_exceptions=False) as client:
        yield client
    context.close()


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/brands", {"name": "Nul\u0000brand"}, "name"),
        (
            "/api/v1/saved-searches",
            {"name": "s", "query": "a", "description": "x\u0000"},
            "description",
        ),
        ("/api/v1/users", {"name": "Eve\u0000", "role": "viewer"}, "name"),
        ("/api/v1/keys", {"name": "k", "role": "viewer", "service": "svc\u0000"}, "service"),
        ("/api/v1/brands", {"name": "B", "aliases": ["ok", "no\u0000"]}, "aliases[1]"),
    ],
)
def test_a_nul_character_in_a_body_is_a_422_naming_the_field(
    any_state: TestClient, path: str, body: dict[str, object], field: str
) -> None:
    answer = any_state.post(path, json=body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"] == [
        {
            "field": field,
            "code": "nul_character",
            "message": "a NUL character (U+0000) is not allowed",
        }
    ]
    assert any_state.post("/api/v1/brands", json={"name": "Fine"}).status_code == 201


def test_a_nul_character_in_a_lookup_is_a_422(any_state: TestClient) -> None:
    for url in ("/api/v1/brands/x%00y", "/api/v1/sources/x%00", "/api/v1/alert-rules/x%00"):
        assert any_state.get(url).status_code == 422, url
    assert any_state.get("/api/v1/audit", params={"actor": "a\u0000"}).status_code == 422
    # Text that only names the escape is text like any other.
    literal = any_state.post("/api/v1/brands", json={"name": "Back\\u0000slash"})
    assert literal.status_code == 201, literal.text
