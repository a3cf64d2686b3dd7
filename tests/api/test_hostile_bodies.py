"""Hostile request bodies get a 4xx, never a 500: JSON nested too deep for Python's
parser, on every write route (iterated from the OpenAPI document), over real stores."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

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
