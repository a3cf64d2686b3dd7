"""POST /api/v1/sources/preview against a real page on 127.0.0.1."""

from __future__ import annotations

from fastapi.testclient import TestClient

from services.runtime.app.context import ServiceContext
from tests.httpserver import HTTPTestServer
from tests.web.conftest import serve_page


def test_preview_a_forum_thread(ctx: ServiceContext, client: TestClient) -> None:
    ctx.settings.collector.allowed_networks = ["127.0.0.0/8"]
    with HTTPTestServer() as server:
        url = serve_page(server, "/threads/pepe.230143/", "trafilatura/katzen-forum.net-Pepe.html")
        response = client.post("/api/v1/sources/preview", json={"url": url})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["kind"], body["engine"]) == ("forum", "xenforo")
    assert body["items"][0]["author"] == "Pepemaus"


def test_preview_refuses_private_addresses_by_default(client: TestClient) -> None:
    with HTTPTestServer() as server:
        response = client.post("/api/v1/sources/preview", json={"url": server.url("/x")})
    assert response.status_code == 422
    assert "refused" in response.json()["detail"]
