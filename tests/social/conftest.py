"""Fixtures for the social connector tests: a real HTTP server, a real SQLite state store."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.core.models import Source
from services.core.settings import CollectorSettings
from services.store.state import SqlStateStore, open_state

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def fixture_path(relative: str) -> Path:
    """A file under tests/fixtures/."""
    return FIXTURES / relative


def fixture_json(relative: str) -> Any:
    """A JSON fixture, decoded."""
    return json.loads(fixture_path(relative).read_text(encoding="utf-8"))


def betamax_response(relative: str, index: int) -> tuple[int, dict[str, str], bytes]:
    """Status, headers (first values) and body of one exchange of a betamax cassette."""
    response = fixture_json(relative)["interactions"][index]["response"]
    headers = {name: values[0] for name, values in response["headers"].items()}
    return response["status"]["code"], headers, response["body"]["string"].encode()


def vcr_response(relative: str, index: int) -> tuple[int, dict[str, str], bytes]:
    """Status, headers (first values) and body of one exchange of a vcrpy cassette."""
    cassette = yaml.safe_load(fixture_path(relative).read_text(encoding="utf-8"))
    response = cassette["interactions"][index]["response"]
    headers = {name: values[0] for name, values in response["headers"].items()}
    return response["status"]["code"], headers, response["body"]["string"].encode()


def api_headers(headers: dict[str, str]) -> dict[str, str]:
    """The recorded headers worth replaying (not framing or encoding ones)."""
    dropped = {"content-length", "transfer-encoding", "content-encoding", "connection"}
    return {k: v for k, v in headers.items() if k.lower() not in dropped}


@pytest.fixture
def settings() -> CollectorSettings:
    """Settings that may reach the loopback test server. The time-out is generous: a
    loaded machine (load 15 on 2 cores) has held a local answer for most of a second,
    and costs nothing where the answer comes; time-out tests set their own short one."""
    return CollectorSettings(
        allowed_networks=["127.0.0.0/8"], timeout_seconds=10.0, user_agent="VeilleTest/1.0"
    )


@pytest.fixture
def state(tmp_path: Path) -> Iterator[SqlStateStore]:
    """The real state store on a temporary SQLite file, with a source named 'social'."""
    store = open_state(f"sqlite:///{tmp_path}/s.db")
    store.put_source(Source(name="social", url="https://example.org/"), origin="api")
    yield store
    store.close()


@pytest.fixture
def sleeps() -> list[float]:
    """Records the waits a run asks for instead of sleeping (tests must stay fast)."""
    return []
