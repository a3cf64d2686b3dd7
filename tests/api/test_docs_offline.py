"""/docs and /redoc load their scripts and styles from Veille itself, never from a CDN."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient


class _Assets(HTMLParser):
    """Collects the URLs a page loads: script src, stylesheet and icon href."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "script" and found.get("src"):
            self.urls.append(str(found["src"]))
        if tag == "link" and found.get("href"):
            self.urls.append(str(found["href"]))


@pytest.mark.parametrize(("page", "script"), [("/docs", "swagger-ui"), ("/redoc", "redoc")])
def test_docs_pages_load_their_assets_from_our_own_origin(
    client: TestClient, page: str, script: str
) -> None:
    response = client.get(page)
    assert response.status_code == 200
    parser = _Assets()
    parser.feed(response.text)
    assert any(script in url for url in parser.urls), parser.urls
    for url in parser.urls:
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc, f"{page} loads {url} from elsewhere"
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 1000 or url.endswith(".png"), url
    # The page reads the OpenAPI document of this server.
    assert "/api/v1/openapi.json" in response.text
    assert "fonts.googleapis" not in response.text


def test_openapi_document_is_served(client: TestClient) -> None:
    assert client.get("/api/v1/openapi.json").json()["info"]["title"] == "Veille"
