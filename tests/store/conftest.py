"""Fixtures running the mention index contract suite against every backend.

Each backend is a `BackendCase` that can open any number of handles on one store, so
tests can close and reopen it or use two handles at once. To add a backend, add a
`pytest.param` to `BACKENDS` (with its marker, e.g. `elasticsearch`) and a case class.

Elasticsearch: when `ELASTICSEARCH_URL` is set, the suite runs against that cluster
(each test in its own index prefix, deleted afterwards; credentials from
ELASTICSEARCH_API_KEY or ELASTICSEARCH_USERNAME/ELASTICSEARCH_PASSWORD):

    ELASTICSEARCH_URL=https://es.example:9200 .venv/bin/pytest tests/store -m elasticsearch

Otherwise it runs against the noida-db emulator, started once per session, and the
results are named as emulator results (`elasticsearch-emulator`). Known gaps are
`xfail(strict=True)` entries in `ELASTIC_GAPS` below.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import pytest

from services.store.contracts import MentionIndex
from services.store.embedded.index import EmbeddedIndex

if TYPE_CHECKING:
    from services.store.elastic import EsSettings

REAL_CLUSTER = os.environ.get("ELASTICSEARCH_URL") or None
ELASTIC_ID = "elasticsearch" if REAL_CLUSTER else "elasticsearch-emulator"
EMULATOR_HEADER = (
    "Elasticsearch contract tests ran against the noida-db emulator, not a real cluster "
    "(set ELASTICSEARCH_URL to run them against one)"
)

# Contract tests the Elasticsearch backend fails, as `(test name prefix, reason)`:
# each becomes an xfail(strict=True) on the Elasticsearch parameter only. Say whether
# the gap is the emulator's (a real cluster passes) or the backend's.
ELASTIC_GAPS: list[tuple[str, str]] = []


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


@dataclass(frozen=True)
class ElasticEndpoint:
    url: str
    emulator: bool


def fresh_settings(endpoint: ElasticEndpoint, *, label: str, dead_letter: Path) -> EsSettings:
    """Settings of indices under a new prefix `veille-LABEL-...` of `endpoint`: the
    cluster's URL and credentials from the environment (ELASTICSEARCH_*), or the
    emulator's URL."""
    from services.store.elastic import EsSettings

    base = EsSettings.from_env(endpoint.url) if not endpoint.emulator else None
    return EsSettings(
        url=endpoint.url if base is None else base.url,
        index_prefix=f"veille-{label}-{uuid.uuid4().hex[:10]}",
        api_key=base.api_key if base else None,
        username=base.username if base else None,
        password=base.password if base else None,
        ca_certs=base.ca_certs if base else None,
        dead_letter_path=str(dead_letter),
    )


class ElasticCase:
    """Mention indices under a fresh prefix in a cluster (or the emulator)."""

    name = "elasticsearch"

    def __init__(self, endpoint: ElasticEndpoint, dead_letter: Path) -> None:
        self.settings = fresh_settings(endpoint, label="test", dead_letter=dead_letter)

    def open(self) -> MentionIndex:
        from services.store.elastic import EsIndex
        from services.store.elastic.bulk import Backoff

        return EsIndex(self.settings, backoff=Backoff(attempts=3, base=0.05))

    def drop(self) -> None:
        """Deletes this test's indices."""
        from services.store.elastic import EsIndex

        index = EsIndex(self.settings)
        try:
            index.drop()
        finally:
            index.close()


BACKENDS = [
    pytest.param("embedded", id="embedded"),
    pytest.param("elasticsearch", id=ELASTIC_ID, marks=pytest.mark.elasticsearch),
]


@pytest.fixture(scope="session")
def elastic_endpoint() -> Iterator[ElasticEndpoint]:
    """ELASTICSEARCH_URL, or a noida-db emulator started for this session."""
    if REAL_CLUSTER:
        yield ElasticEndpoint(url=REAL_CLUSTER, emulator=False)
        return
    from services.store.elastic.emulator import EmulatorUnavailable, running_emulator

    with ExitStack() as stack:
        try:
            url = stack.enter_context(running_emulator())
        except EmulatorUnavailable as error:
            pytest.skip(f"{error}; or set ELASTICSEARCH_URL to test against a cluster")
        yield ElasticEndpoint(url=url, emulator=True)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BackendCase]:
    """The store under test, empty."""
    if request.param == "embedded":
        yield EmbeddedCase(tmp_path / "index")
        return
    if request.param == "elasticsearch":
        endpoint: ElasticEndpoint = request.getfixturevalue("elastic_endpoint")
        case = ElasticCase(endpoint, tmp_path / "dead-letter.jsonl")
        yield case
        case.drop()
        return
    raise AssertionError(f"no case for backend {request.param!r}")


@pytest.fixture
def mention_index(backend: BackendCase) -> Iterator[MentionIndex]:
    """An open, empty mention index of each backend; closed after the test."""
    index = backend.open()
    yield index
    index.close()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Marks the known Elasticsearch gaps as strict xfails, on that backend only."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is None or callspec.params.get("backend") != "elasticsearch":
            continue
        for prefix, reason in ELASTIC_GAPS:
            if item.name.startswith(prefix):
                item.add_marker(pytest.mark.xfail(strict=True, reason=reason))


def pytest_report_header(config: pytest.Config) -> str | None:
    """Says up front which Elasticsearch answers: a real server (with its version) or the
    emulator."""
    if not REAL_CLUSTER:
        return EMULATOR_HEADER
    return f"Elasticsearch contract tests run against {_real_server()}"


def _real_server() -> str:
    """`Elasticsearch 9.2.0 at http://host:9200`, or why the version is unknown."""
    from services.store.elastic import EsSettings
    from services.store.elastic.settings import server_version

    settings = EsSettings.from_env(REAL_CLUSTER)
    client = settings.client()
    try:
        version = ".".join(map(str, server_version(client, settings.url)))
    except Exception as error:  # the tests then say what is wrong, at length
        version = f"(version unknown: {type(error).__name__}: {error})"
    finally:
        client.close()
    return f"Elasticsearch {version} at {_safe(REAL_CLUSTER)}"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Repeats it at the end, where people read results."""
    ran = any(
        ELASTIC_ID in getattr(report, "nodeid", "")
        for reports in terminalreporter.stats.values()
        for report in reports
    )
    if ran:
        where = "a real server, " + _real_server() if REAL_CLUSTER else None
        terminalreporter.write_sep(
            "=", f"Elasticsearch contract tests ran against {where}" if where else EMULATOR_HEADER
        )


def _safe(url: str | None) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url or "")
    return f"{parts.scheme}://{parts.hostname}:{parts.port or 9200}"  # no credentials
