"""Fixtures for the collector tests: a real HTTP server, settings, a fake state store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from services.core.models import Source
from services.core.settings import CollectorSettings
from tests.collector.fake_state import FakeStateStore
from tests.state.conftest import state_url as state_url  # SQLite, or PostgreSQL when set

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "feeds"


def fixture_bytes(relative: str) -> bytes:
    """The bytes of a feed fixture under tests/fixtures/feeds/."""
    return (FIXTURES / relative).read_bytes()


def make_source(url: str, **fields: Any) -> Source:
    """A feed source named 'test-feed' (override any field)."""
    return Source(**{"name": "test-feed", "url": url, **fields})


@pytest.fixture
def settings() -> CollectorSettings:
    """Collector settings that may reach the loopback test server, with short limits."""
    return CollectorSettings(
        allowed_networks=["127.0.0.0/8"], timeout_seconds=3.0, user_agent="VeilleTest/1.0"
    )


@pytest.fixture
def state() -> FakeStateStore:
    return FakeStateStore()
