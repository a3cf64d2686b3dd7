"""Hostile requests get a 4xx, never a 500: JSON nested too deep for Python's parser, on
every write route (iterated from the OpenAPI document); a body over 1 MiB, declared or
chunked, is a 413 before it is read; a chart link's token that is not ASCII (real stores)."""

from __future__ import annotations

import json
import re

from fastapi.testclient import TestClient

from services.api.body_limit import MAX_BODY_BYTES
from services.runtime.app.context import ServiceContext
from tests.apps import app_for

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
    assert ctx.state.get_alert_event(event_id).chart_token
    url = f"/api/v1/alerts/events/{event_id}/chart.png"
    with TestClient(app_for(ctx), raise_server_exceptions=False) as anyone:
        for token in ("\u00e9t\u00e9", "x" * 32):
            answer = anyone.get(url, params={"token": token})
            assert answer.status_code == 404, answer.text
            assert answer.json()["title"] == "Chart not found"
