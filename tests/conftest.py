"""The fast tier (`make test-fast`, `pytest -m fast`): tests that answer in about a minute.

Every test is marked `fast` unless it needs something slow: a browser, Elasticsearch,
PostgreSQL, the analyzer's models, a `veille` subprocess, Scrapy crawls, PDF rendering, or
is marked `slow`. The heavy ones are named here by module (and by marker), so a new test
module is fast by default: if it is not, add it to HEAVY_MODULES.
"""

from __future__ import annotations

import logging
import os

# As the `veille` command does (services/cli/__init__.py): idle OpenMP threads sleep, so
# the two test workers and the services they start do not spin against each other.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import sqlite3
import threading
from collections.abc import Callable, Iterator
from fnmatch import fnmatch
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from tests.httpserver import HTTPTestServer

TESTS = Path(__file__).resolve().parent

#: Modules (relative to tests/, glob patterns) that are never in the fast tier, and why.
HEAVY_MODULES = (
    "e2e/*",  # the whole service in subprocesses
    "deploy/*",  # Docker/Kubernetes files, `veille health` subprocesses
    "docs/*",  # builds the mkdocs site
    "analyzer/*",  # loads the embedding models (but see FAST_EXCEPTIONS)
    "api/test_dashboard*.py",  # headless Chromium
    "api/test_docs_offline.py",
    "api/test_schemathesis.py",
    "api/test_oidc.py",  # a real OIDC provider (mock-oauth2-server) in a JVM
    "api/test_topic*.py",  # topic heads: models
    "api/test_corrections_api.py",  # re-analysis: models
    "api/test_reanalyze_api.py",
    "api/test_evidence_api.py",
    "api/test_sentiment_toward.py",
    "api/test_preview.py",
    "reports/*",  # PDF rendering (WeasyPrint) and report subprocesses
    "web/*",  # Scrapy crawls and extraction worker pools
    "social/test_registry.py",
    "collector/test_collect_command.py",  # subprocesses
    "collector/test_partition.py",
    "collector/test_scheduler_leases.py",
    "collector/test_hostile_servers.py",  # waits out slow servers on purpose
    "store/test_elastic*.py",
    "store/test_index_migration.py",
    "store/test_distinct_stories.py",
    "state/test_migrations.py",
    "test_*cli*.py",  # `veille` subprocesses
    "test_bounded_run.py",
    "test_batch.py",
    "test_hostile_config.py",
    "test_import_contracts.py",  # runs lint-imports on a copy of the sources
    "test_reanalyze_jobs.py",
    "test_worker_leases.py",
    "test_demo_remove.py",
    "test_train_figures.py",
    "test_workspace.py",
    "test_logs.py",
    "api/test_workspace_isolation.py",  # every GET route, two workspaces, both stores
    "api/test_roles.py",  # every route with each role
    "store/test_governance.py",
    "store/test_triage_index.py",
    "test_triage_survives.py",  # re-analysis: models
    # Measured (--durations): the slowest of what was left, each several CPU-seconds.
    "test_query_agreement.py",  # index vs matcher on generated corpora
    "test_bad_input.py",  # starts the service
    "test_exports_parallel.py",  # process pools
    "api/test_exports.py",
    "api/test_query_limits.py",  # 66,000 mentions
    "api/test_alerts_api.py",
    "api/test_authors.py",
    "alerting/test_default_rules.py",
    "collector/test_feed_properties.py",  # hypothesis
    "social/test_parser_properties.py",  # hypothesis
    "social/test_partial_runs.py",
    "state/test_inbox.py",  # kills claimers on purpose
    "state/test_collection.py",
)
#: Modules inside a heavy folder that are fast all the same.
FAST_EXCEPTIONS = ("analyzer/test_language.py",)
HEAVY_MARKERS = ("slow", "elasticsearch", "postgres")


def _is_fast(item: pytest.Item) -> bool:
    relative = Path(str(item.fspath)).resolve().relative_to(TESTS).as_posix()
    if any(item.get_closest_marker(name) for name in HEAVY_MARKERS):
        return False
    return not _heavy_module(relative)


def _heavy_module(relative: str) -> bool:
    if relative in FAST_EXCEPTIONS:
        return False
    return any(fnmatch(relative, pattern) for pattern in HEAVY_MODULES)


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Under `-m fast`, heavy modules are not even imported (collecting everything takes
    longer than running the fast tier: spaCy, Scrapy, WeasyPrint, torch...), nor heavy
    folders entered."""
    if config.getoption("markexpr", "") != "fast":
        return None
    try:
        relative = collection_path.resolve().relative_to(TESTS).as_posix()
    except ValueError:
        return None
    if collection_path.is_dir():  # nor their conftest.py (reports/ loads WeasyPrint)
        return True if _heavy_folder(relative) else None
    if collection_path.suffix != ".py":
        return None
    return True if _heavy_module(relative) else None


def _heavy_folder(relative: str) -> bool:
    """A folder whose every module is heavy, with no fast exception inside."""
    inside = relative + "/"
    return f"{inside}*" in HEAVY_MODULES and not any(
        fast.startswith(inside) for fast in FAST_EXCEPTIONS
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _is_fast(item):
            item.add_marker(pytest.mark.fast)


# -- one migration per test process ---------------------------------------------------
# Migrating a fresh SQLite state store runs every Alembic revision (a third of a second);
# most tests open one or several. The first fresh store of a test process is migrated for
# real into a template file; later fresh stores get a copy of it (SQLite's backup API, page
# by page, under the store's own connection). Stores that hold anything are migrated for
# real, and so is everything in the migration tests' modules.
_template_lock = threading.Lock()


@pytest.fixture(autouse=True)
def _migrated_state_template(
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    if "migration" in request.path.name:
        return
    from services.store.state import database, migrate

    real: Callable[[Engine], None] = migrate.upgrade_to_head

    def upgrade_to_head(engine: Engine) -> None:
        if engine.dialect.name != "sqlite" or not _copy_template(engine, real, tmp_path_factory):
            real(engine)

    monkeypatch.setattr(database, "upgrade_to_head", upgrade_to_head)


def _copy_template(
    engine: Engine, real: Callable[[Engine], None], factory: pytest.TempPathFactory
) -> bool:
    """Copies the migrated template into an empty SQLite store; False if it is not empty."""
    with _template_lock, engine.connect() as conn:
        target = conn.connection.driver_connection
        assert isinstance(target, sqlite3.Connection)
        if target.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
            return False
        source = sqlite3.connect(_template(real, factory))
        try:
            source.backup(target)
        finally:
            source.close()
    return True


_template_path: list[Path] = []


def _template(real: Callable[[Engine], None], factory: pytest.TempPathFactory) -> Path:
    if not _template_path:
        from services.store.state.engine import create_state_engine, parse_url

        path = factory.mktemp("state-template") / "veille.db"
        engine = create_state_engine(parse_url(f"sqlite:///{path}"))
        try:
            real(engine)
        finally:
            engine.dispose()
        _template_path.append(path)
    return _template_path[0]


# -- logging as each test found it -------------------------------------------------------
# A `veille` command run in-process (main([...]) in the brand tests) calls setup_logging:
# it swaps the root logger's handlers, sets its level, and quiets httpx and friends. Left
# so, every later test of that process captures INFO lines of every library (aiosmtpd's
# SMTP commands, say) or none of httpx's, depending on which worker ran what before.
_SETUP_LOGGING_LOGGERS = ("apscheduler", "httpx", "httpcore", "uvicorn.access", "alembic")


@pytest.fixture(autouse=True)
def _logging_restored() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    named = [logging.getLogger(name) for name in (*_SETUP_LOGGING_LOGGERS, "elastic_transport")]
    levels = [logger.level for logger in named]
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for logger, was in zip(named, levels, strict=True):
        logger.setLevel(was)


@pytest.fixture
def server() -> Iterator[HTTPTestServer]:
    """A real HTTP server on 127.0.0.1 (tests/httpserver.py), serving what the test adds."""
    with HTTPTestServer() as http_server:
        yield http_server
