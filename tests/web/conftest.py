"""Fixtures for the web tests: real pages served by a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from services.collector.scheduler import CollectorScheduler
from services.core.settings import CollectorSettings
from services.store.state import SqlStateStore
from tests.httpserver import HTTPTestServer

PAGES = Path(__file__).resolve().parent.parent / "fixtures" / "pages"


def page_bytes(relative: str) -> bytes:
    """The bytes of a page fixture under tests/fixtures/pages/."""
    return (PAGES / relative).read_bytes()


def gold() -> dict[str, dict[str, Any]]:
    """trafilatura's evaluation entries, by page URL."""
    data: dict[str, dict[str, Any]] = json.loads(
        (PAGES / "trafilatura" / "evaldata_subset.json").read_text(encoding="utf-8")
    )
    return data


def gold_for(file_name: str) -> tuple[str, dict[str, Any]]:
    """The (page URL, entry) of one trafilatura page."""
    for url, entry in gold().items():
        if entry["file"] == file_name:
            return url, entry
    raise KeyError(file_name)


@pytest.fixture
def settings() -> CollectorSettings:
    """Collector settings that may reach the loopback test server, with short limits."""
    return CollectorSettings(
        allowed_networks=["127.0.0.0/8"], timeout_seconds=5.0, user_agent="VeilleTest/1.0"
    )


def serve_page(server: HTTPTestServer, path: str, relative: str) -> str:
    """Serves a page fixture at `path`; returns its URL."""
    server.add(path, body=page_bytes(relative), headers={"Content-Type": "text/html"})
    return server.url(path)


def loopback_scheduler(state: SqlStateStore) -> CollectorScheduler:
    """A scheduler over `state`'s sources that may reach the loopback test server."""
    return CollectorScheduler(
        state,
        CollectorSettings(allowed_networks=["127.0.0.0/8"], timeout_seconds=10),
        sources_provider=state.list_sources,
    )
