"""Several workspaces in one installation, each with stores of its own.

The installation as configured is workspace `default`: its data dir, state store and
mention index stay exactly where they were. Workspace `acme` derives its own from
them, so no query can cross from one workspace to another:

    data dir      DATA_DIR/workspaces/acme/
    state store   SQLite: DATA_DIR/workspaces/acme/veille.db
                  PostgreSQL: the same database, schema `veille_ws_acme`
    mention index embedded: DATA_DIR/workspaces/acme/index
                  Elasticsearch: indices under the prefix `<prefix>-ws-acme`

What a workspace watches is read from `CONFIG/workspaces/acme/*.yaml` (the same
format as `config/*.yaml`; its `settings:` are the installation's). The register of
workspaces, people, keys and the audit log is the installation database's
(`services/store/state/tenancy.py`). The analyzers of all workspaces share the
process-wide embedding models (`load_embedder` caches them), so a workspace costs
its stores and its brand tagger, not another copy of the models.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import sqlalchemy as sa

from services.core.settings import Settings
from services.core.workspace import ConfigError, ConfigProblem, Workspace, load_workspace
from services.runtime.app.context import ServiceContext
from services.store.state.tenancy import DEFAULT_WORKSPACE, TenancyStore, check_workspace_id

log = logging.getLogger("veille.workspaces")

WORKSPACES_DIR = "workspaces"
_SEARCH_PATH = re.compile(r"(?:-c\s*|--)search_path\s*=\s*\S+")


def workspace_settings(base: Settings, workspace_id: str) -> Settings:
    """The settings of a workspace: the installation's, with stores of its own."""
    check_workspace_id(workspace_id)
    if workspace_id == DEFAULT_WORKSPACE:
        return base
    from services.store.elastic.settings import dead_letter_file

    data_dir = Path(base.data_dir) / WORKSPACES_DIR / workspace_id
    store = base.store.model_copy(
        update={
            "state_url": _state_url(base.store.state_url, data_dir, workspace_id),
            "index_url": _index_url(base.store.index_url, data_dir, workspace_id),
            # One dead-letter file for the installation (its lines name their workspace).
            "dead_letter_path": dead_letter_file(base, env={}).path,
        }
    )
    return base.model_copy(update={"data_dir": str(data_dir), "store": store})


def pg_schema(workspace_id: str) -> str:
    """The PostgreSQL schema holding a workspace's state tables."""
    return "veille_ws_" + workspace_id.replace("-", "_")


def _state_url(url: str, data_dir: Path, workspace_id: str) -> str:
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return f"sqlite:///{data_dir / 'veille.db'}"
    # Same server and database, a schema of its own: libpq's `options` sets search_path
    # (the installation's other `-c` settings, a statement_timeout say, are kept).
    given = parsed.query.get("options", "")
    others = _SEARCH_PATH.sub("", " ".join(given) if isinstance(given, tuple) else given).strip()
    options = f"{others} -c search_path={pg_schema(workspace_id)}".strip()
    return parsed.update_query_dict({"options": options}).render_as_string(hide_password=False)


def _index_url(url: str, data_dir: Path, workspace_id: str) -> str:
    scheme, _, _ = url.partition(":")
    if scheme == "embedded":
        return f"embedded:{data_dir / 'index'}"
    from services.store.elastic.settings import DEFAULT_PREFIX

    parts = urlsplit(url)
    query = parse_qs(parts.query)
    base = (
        query.get("prefix", [""])[0]
        or os.environ.get("ELASTICSEARCH_INDEX_PREFIX")
        or DEFAULT_PREFIX
    )
    query["prefix"] = [f"{base}-ws-{workspace_id}"]
    return urlunsplit(
        (parts.scheme, parts.netloc, parts.path, urlencode(query, doseq=True), parts.fragment)
    )


def workspace_config_dir(config_dir: str | Path, workspace_id: str) -> Path:
    """Where a workspace's YAML files live: CONFIG/workspaces/<id>/."""
    folder = Path(config_dir)
    if folder.is_file():
        folder = folder.parent
    return folder / WORKSPACES_DIR / workspace_id


def load_workspace_definition(config_dir: str | Path | None, workspace_id: str) -> Workspace:
    """The brands, sources, topics and reports of a non-default workspace (empty if none)."""
    if config_dir is None:
        return Workspace()
    folder = workspace_config_dir(config_dir, workspace_id)
    if not folder.is_dir() or not any(folder.glob("*.yaml")):
        return Workspace()
    loaded = load_workspace(folder)
    if loaded.workspace.settings:
        raise ConfigError(
            [
                ConfigProblem(
                    str(folder),
                    None,
                    "settings",
                    "a workspace has no settings of its own: they are the installation's "
                    "(config/*.yaml)",
                )
            ]
        )
    return loaded.workspace


class Installation:
    """The workspaces of one installation and the service context of each, opened lazily."""

    def __init__(self, default: ServiceContext, *, config_dir: str | Path | None = None) -> None:
        self.default = default
        self.config_dir = config_dir
        self._contexts: dict[str, ServiceContext] = {DEFAULT_WORKSPACE: default}
        self._lock = threading.Lock()
        #: Called after a workspace is created or archived in this process (`veille up`
        #: starts or stops its loops).
        self.changed: list[Callable[[], None]] = []

    def notify_changed(self) -> None:
        """Tells the listeners that the register's workspaces changed."""
        for listener in list(self.changed):
            listener()

    @cached_property
    def tenancy(self) -> TenancyStore:
        """The register: workspaces, people, keys, sessions, audit log."""
        return TenancyStore(self.default.database)  # the default workspace's, migrated

    def context(self, workspace_id: str) -> ServiceContext:
        """The service context of a workspace (which must be registered)."""
        with self._lock:
            found = self._contexts.get(workspace_id)
            if found is not None:
                return found
        self.tenancy.get_workspace(workspace_id)  # NotFoundError when unknown
        settings = workspace_settings(self.default.settings, workspace_id)
        create_pg_schema(settings, workspace_id)
        ctx = ServiceContext(settings, load_workspace_definition(self.config_dir, workspace_id))
        ctx.workspace_id = workspace_id
        with self._lock:
            return self._contexts.setdefault(workspace_id, ctx)

    def forget(self, workspace_id: str) -> None:
        """Closes a workspace's context if it was opened (before its stores are deleted)."""
        with self._lock:
            ctx = (
                None
                if workspace_id == DEFAULT_WORKSPACE
                else self._contexts.pop(workspace_id, None)
            )
        if ctx is not None:
            ctx.close()

    def live_workspaces(self) -> list[str]:
        """The ids of the workspaces not archived, `default` first."""
        ids = [w.id for w in self.tenancy.list_workspaces(include_archived=False)]
        return sorted(ids, key=lambda i: (i != DEFAULT_WORKSPACE, i))

    def opened(self) -> list[ServiceContext]:
        """The contexts opened so far."""
        with self._lock:
            return list(self._contexts.values())

    def close(self) -> None:
        """Closes the workspaces' contexts it opened (not the default one) and the register."""
        with self._lock:
            others = [c for i, c in self._contexts.items() if i != DEFAULT_WORKSPACE]
            self._contexts = {DEFAULT_WORKSPACE: self.default}
        for ctx in others:
            ctx.close()
        if "tenancy" in self.__dict__:
            self.tenancy.close()
            del self.__dict__["tenancy"]


def create_pg_schema(settings: Settings, workspace_id: str) -> None:
    """Creates the workspace's PostgreSQL schema if its state store is PostgreSQL."""
    url = sa.make_url(settings.store.state_url)
    if url.get_backend_name() != "postgresql":
        return
    engine = sa.create_engine(url.set(drivername="postgresql+psycopg", query={}))
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{pg_schema(workspace_id)}"')
    finally:
        engine.dispose()
    log.debug("schema %s ready", pg_schema(workspace_id))
