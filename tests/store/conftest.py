"""Fixtures running the mention index contract suite against every backend.

Each backend is a `BackendCase` that can open any number of handles on one store, so
tests can close and reopen it or use two handles at once. To add a backend, add a
`pytest.param` to `BACKENDS` (with its marker, e.g. `elasticsearch`) and a case class.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import pytest

from services.store.contracts import MentionIndex
from services.store.embedded.index import EmbeddedIndex


class BackendCase(Protocol):
    """Opens handles on one empty store of one backend."""

    name: str

    def open(self) -> MentionIndex: ...


class EmbeddedCase:
    """An embedded index in a fresh temporary directory."""

    name = "embedded"

    def __init__(self, path: Path) -> None:
        self.path = path

    def open(self) -> MentionIndex:
        # A short lock timeout keeps a test that leaves the writer held from hanging.
        return EmbeddedIndex(str(self.path), lock_timeout=10.0, writer_idle_seconds=0.2)


BACKENDS = [pytest.param("embedded", id="embedded")]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> BackendCase:
    """The store under test, empty."""
    if request.param == "embedded":
        return EmbeddedCase(tmp_path / "index")
    raise AssertionError(f"no case for backend {request.param!r}")


@pytest.fixture
def mention_index(backend: BackendCase) -> Iterator[MentionIndex]:
    """An open, empty mention index of each backend; closed after the test."""
    index = backend.open()
    yield index
    index.close()
