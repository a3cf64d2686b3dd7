"""Deleting an archived workspace for good: a former client's data, all of it.

    plan = inspect_workspace(installation, "acme")        # what would go (--dry-run)
    delete_workspace(installation, "acme", actor="cli", actor_kind="cli")

Only an archived workspace (never `default`) is deleted. The order never leaves a
half-deleted workspace usable, and each step is idempotent, so running it again after
an interruption finishes the job:

1. the register: its keys, sessions and memberships (nobody may enter), the people
   with a role there and nowhere else, its audit entries (they name its staff); one
   installation-level audit entry records the deletion (the id, no personal data) and
   refuses `unarchive` from then on;
2. the mention index: `DATA_DIR/workspaces/ID/index`, or the Elasticsearch indices,
   template and lifecycle policy of its prefix (found through its alias, never by a
   wildcard: `acme`'s prefix is a prefix of `acme-2`'s);
3. the state store: its SQLite file, or its PostgreSQL schema;
4. its data dir (report renders, topics, anything else under `DATA_DIR/workspaces/ID`);
5. the register row: the id may then be used again.

Its YAML (`CONFIG/workspaces/ID/`) is the operator's and is not touched: the plan
names it so it can be removed too.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

from services.core.settings import Settings
from services.reports.store import Renders
from services.runtime.app.workspaces import (
    Installation,
    pg_schema,
    workspace_config_dir,
    workspace_settings,
)

if TYPE_CHECKING:
    from services.store.elastic import EsSettings

log = logging.getLogger("veille.workspaces")

Progress = Callable[[str], None]


@dataclass
class DeletionPlan:
    """What a workspace holds, as counted before its deletion."""

    workspace: str
    register: dict[str, int]  # keys, sessions, memberships, audit entries, people
    mentions: int = 0
    stories: int = 0
    state_rows: dict[str, int] = field(default_factory=dict)  # table -> rows (non-empty)
    renders: int = 0
    data_dir: Path | None = None  # None: nothing left on disk
    index: str = ""  # the embedded index's folder or the Elasticsearch prefix
    dead_letters: int = 0  # its mentions Elasticsearch refused, held in the dead-letter file
    state: str = ""  # the SQLite file or the PostgreSQL schema
    config_dir: Path | None = None  # its YAML, kept (the operator's files)

    def lines(self) -> list[str]:
        """The plan for people: one line each."""
        rows = ", ".join(f"{t} {n}" for t, n in sorted(self.state_rows.items())) or "none"
        register = ", ".join(f"{k} {n}" for k, n in self.register.items())
        found = [
            f"mentions {self.mentions}, stories {self.stories} (index: {self.index or 'none'})"
            + (f", {self.dead_letters} in the dead-letter file" if self.dead_letters else ""),
            f"state store rows: {rows} (store: {self.state or 'none'})",
            f"report renders {self.renders}; data dir: {self.data_dir or 'none'}",
            f"register: {register}",
            "kept: one installation-level audit entry of the deletion (id, who, when)",
        ]
        if self.config_dir is not None:
            found.append(f"not removed: its YAML in {self.config_dir} (remove it yourself)")
        return found


def inspect_workspace(installation: Installation, workspace_id: str) -> DeletionPlan:
    """Counts what deleting the workspace would remove; changes nothing. Refuses as
    the deletion would (ValueError, NotFoundError, ConflictError)."""
    tenancy = installation.tenancy
    tenancy.deletable_workspace(workspace_id)
    settings = workspace_settings(installation.default.settings, workspace_id)
    plan = DeletionPlan(workspace_id, tenancy.workspace_footprint(workspace_id))
    _count_index(settings, plan)
    _count_state(settings, workspace_id, plan)
    data_dir = Path(settings.data_dir)
    if data_dir.exists():
        plan.data_dir = data_dir
        plan.renders = sum(1 for _ in Renders(data_dir).root.glob("*/*/meta.json"))
    if installation.config_dir is not None:
        config_dir = workspace_config_dir(installation.config_dir, workspace_id)
        plan.config_dir = config_dir if config_dir.exists() else None
    return plan


def delete_workspace(
    installation: Installation,
    workspace_id: str,
    *,
    actor: str,
    actor_kind: str,
    progress: Progress | None = None,
) -> DeletionPlan:
    """Deletes an archived workspace and all it holds (see the module's docstring);
    returns what it held. NotFoundError once it is gone."""
    say = progress or (lambda _: None)
    plan = inspect_workspace(installation, workspace_id)
    settings = workspace_settings(installation.default.settings, workspace_id)
    installation.tenancy.begin_workspace_deletion(workspace_id, actor=actor, actor_kind=actor_kind)
    say("keys, sessions and memberships removed")
    installation.forget(workspace_id)  # close its stores if this process opened them
    _drop_index(settings)
    say("mention index removed")
    _drop_state(settings, workspace_id)
    say("state store removed")
    if Path(settings.data_dir).exists():
        shutil.rmtree(settings.data_dir)
    say("data dir removed")
    installation.tenancy.finish_workspace_deletion(workspace_id)
    installation.notify_changed()
    log.info("workspace deleted", extra={"workspace": workspace_id})
    return plan


# -- the mention index -----------------------------------------------------------


def _is_embedded(settings: Settings) -> bool:
    return settings.store.index_url.partition(":")[0] == "embedded"


def _count_index(settings: Settings, plan: DeletionPlan) -> None:
    from services.store.contracts import MentionFilter, open_index

    url = settings.store.index_url
    if _is_embedded(settings):
        folder = Path(url.partition(":")[2].removeprefix("//"))
        plan.index = str(folder)
        if not folder.exists():
            return
    else:
        from services.store.elastic.dead_letters import read_letters

        es = _es(settings)
        plan.index = es.index_prefix
        held = read_letters(es.dead_letter_path)
        plan.dead_letters = sum(1 for x in held if x.index == es.index_prefix)
        if not _es_indices(es):
            return
    index = open_index(url)
    try:
        plan.mentions = index.count(MentionFilter())
        plan.stories = len(index.story_hashes(MentionFilter()))
    finally:
        index.close()


def _drop_index(settings: Settings) -> None:
    if _is_embedded(settings):
        folder = Path(settings.store.index_url.partition(":")[2].removeprefix("//"))
        if folder.exists():
            shutil.rmtree(folder)
        return
    from services.store.elastic import mapping

    es = _es(settings)
    names = mapping.IndexNames(es.index_prefix)
    client = es.client().options(ignore_status=404)
    try:
        for name in _es_indices(es):
            client.indices.delete(index=name)
        client.indices.delete_index_template(name=names.template)
        # 400: a cluster without index lifecycle management (none was made).
        client.options(ignore_status=(400, 404)).ilm.delete_lifecycle(name=names.policy)
    finally:
        client.close()
    from services.store.elastic.dead_letters import drop_letters

    # Its refused mentions too (DeadLettersBusy while a re-drive runs: run it again).
    drop_letters(es.dead_letter_path, lambda letter: letter.index == es.index_prefix)


def _es(settings: Settings) -> EsSettings:
    from services.store.elastic import EsSettings
    from services.store.elastic.settings import dead_letter_file

    return EsSettings.from_env(
        settings.store.index_url, dead_letter_path=dead_letter_file(settings).path
    )


def _es_indices(es: EsSettings) -> list[str]:
    """The concrete indices behind the prefix's alias (none when it has none)."""
    from services.store.elastic import mapping

    client = es.client().options(ignore_status=404)
    try:
        answer = client.indices.get_alias(name=mapping.IndexNames(es.index_prefix).alias)
        return sorted(answer.body) if answer.meta.status == 200 else []
    finally:
        client.close()


# -- the state store -------------------------------------------------------------


def _pg_engine(settings: Settings) -> sa.Engine:
    url = sa.make_url(settings.store.state_url)
    return sa.create_engine(url.set(drivername="postgresql+psycopg", query={}))


def _is_sqlite(settings: Settings) -> bool:
    return sa.make_url(settings.store.state_url).get_backend_name() == "sqlite"


def _sqlite_path(settings: Settings) -> Path:
    return Path(str(sa.make_url(settings.store.state_url).database))


def _count_state(settings: Settings, workspace_id: str, plan: DeletionPlan) -> None:
    if _is_sqlite(settings):
        path = _sqlite_path(settings)
        plan.state = str(path)
        if not path.exists():
            return
        engine = sa.create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
        schema = None
    else:
        schema = pg_schema(workspace_id)
        plan.state = f"PostgreSQL schema {schema}"
        engine = _pg_engine(settings)
    try:
        with engine.connect() as conn:
            inspector = sa.inspect(conn)
            if schema is not None and schema not in inspector.get_schema_names():
                return
            for name in inspector.get_table_names(schema=schema):
                if name == "alembic_version":
                    continue
                table = sa.table(name, schema=schema)
                rows = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar()
                if rows:
                    plan.state_rows[name] = int(rows)
    finally:
        engine.dispose()


def _drop_state(settings: Settings, workspace_id: str) -> None:
    if _is_sqlite(settings):
        path = _sqlite_path(settings)
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    engine = _pg_engine(settings)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{pg_schema(workspace_id)}" CASCADE')
    finally:
        engine.dispose()
