"""Deleting an archived workspace for good, on real stores: SQLite files and a
PostgreSQL schema, the embedded index and a real Elasticsearch node.

The workspace kept beside the deleted one is named `<deleted>-2` on purpose: its
Elasticsearch prefix and its PostgreSQL schema start with the deleted one's, so a
deletion by wildcard would take it too.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from services.alerting import saved_searches as ss
from services.core.settings import build_settings
from services.core.workspace import Workspace
from services.runtime.app.context import ServiceContext
from services.runtime.app.workspace_deletion import (
    _es,
    _es_indices,
    delete_workspace,
    inspect_workspace,
)
from services.runtime.app.workspaces import Installation, pg_schema, workspace_settings
from services.store.contracts import MentionFilter
from services.store.state.contract import ConflictError, NotFoundError
from tests.factories import make_mention
from tests.state.conftest import POSTGRES_ENV

ES_URL = os.environ.get("ELASTICSEARCH_URL") or None
needs_es = pytest.mark.skipif(ES_URL is None, reason="set ELASTICSEARCH_URL (a real node)")


@dataclass
class Built:
    inst: Installation
    gone: str  # the workspace deleted
    kept: str  # `<gone>-2`, kept
    keys: dict[str, str]


@pytest.fixture(
    params=[
        pytest.param(("sqlite", "embedded"), id="sqlite-embedded"),
        pytest.param(("postgres", "embedded"), id="postgres-embedded", marks=pytest.mark.postgres),
        pytest.param(
            ("sqlite", "elasticsearch"),
            id="sqlite-elasticsearch",
            marks=[pytest.mark.elasticsearch, needs_es],
        ),
        pytest.param(
            ("postgres", "elasticsearch"),
            id="postgres-elasticsearch",
            marks=[pytest.mark.postgres, pytest.mark.elasticsearch, needs_es],
        ),
    ]
)
def built(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Built]:
    state, index = request.param
    tag = uuid.uuid4().hex[:8]
    gone, kept = f"gone-{tag}", f"gone-{tag}-2"
    admin: sa.Engine | None = None
    schema = f"test_{tag}"
    if state == "sqlite":
        state_url = f"sqlite:///{tmp_path}/data/veille.db"
    else:
        base = os.environ.get(POSTGRES_ENV)
        if not base:
            pytest.skip(f"set {POSTGRES_ENV}")
        admin = sa.create_engine(base)
        with admin.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        state_url = (
            sa.make_url(base)
            .update_query_dict({"options": f"-c search_path={schema}"})
            .render_as_string(hide_password=False)
        )
    index_url = (
        f"embedded:{tmp_path}/data/index"
        if index == "embedded"
        else f"{ES_URL}?prefix=veille-test-{tag}"
    )
    settings = build_settings(
        {
            "data_dir": str(tmp_path / "data"),
            "demo_data": False,
            "store": {"state_url": state_url, "index_url": index_url},
        }
    )
    default = ServiceContext(settings, Workspace())
    _ = default.state  # migrates the installation database
    inst = Installation(default)
    keys: dict[str, str] = {}
    try:
        for ws, mentions in ((gone, 5), (kept, 3)):
            inst.tenancy.create_workspace(ws)
            inst.tenancy.add_user(f"staff-{ws}")
            inst.tenancy.grant(f"staff-{ws}", ws, "analyst")
            keys[ws] = inst.tenancy.create_key(name=f"{ws}-key", workspace=ws, service="tests")
            inst.tenancy.record(
                workspace=ws,
                actor=f"staff-{ws}",
                actor_kind="user",
                kind="x",
                action="y",
                target="",
            )
            ctx = inst.context(ws)
            ctx.index.upsert([make_mention(id=f"{ws}-{i}", text=f"m {i}") for i in range(mentions)])
            ctx.state.record_alert_event(
                rule_name="r",
                kind="volume_spike",
                status="firing",
                dedupe_key="k",
                numbers={"observed": 4},
                channels=[],
            )
            search = ss.SavedSearchIn(name="s", query="m")
            ctx.state.put_spec(
                ss.KIND, name="s", spec=ss.to_record_spec(search), owner=None, visibility="shared"
            )
            render = Path(ctx.settings.data_dir) / "reports" / "weekly" / "20261207"
            render.mkdir(parents=True)
            (render / "meta.json").write_text("{}", encoding="utf-8")
        inst.tenancy.add_user("shared")  # a person of both: stays, with their other role
        inst.tenancy.grant("shared", gone, "viewer")
        inst.tenancy.grant("shared", kept, "viewer")
        keys["default"] = inst.tenancy.create_key(name="d", workspace="default", service="t")
        yield Built(inst, gone, kept, keys)
    finally:
        if index == "elasticsearch":
            for ws in (gone, kept, "default"):
                es = _es(workspace_settings(settings, ws))
                client = es.client().options(ignore_status=404)
                for name in _es_indices(es):
                    client.indices.delete(index=name)
                client.close()
        inst.close()
        default.close()
        if admin is not None:
            with admin.begin() as conn:
                for name in (schema, pg_schema(gone), pg_schema(kept)):
                    conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
            admin.dispose()


def _state_rows(inst: Installation, ws: str) -> int:
    return len(inst.context(ws).state.list_alert_events(limit=100))


def test_deleting_a_workspace_removes_all_it_holds_and_nothing_else(
    built: Built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from services.store.elastic.bulk import ItemFailure
    from services.store.elastic.dead_letters import read_letters, write_dead_letters

    inst, gone, kept = built.inst, built.gone, built.kept
    tenancy = inst.tenancy
    on_es = inst.default.settings.store.index_url.startswith("http")
    dead_letters = tmp_path / "dead-letter.jsonl"
    monkeypatch.setenv("ELASTICSEARCH_DEAD_LETTER", str(dead_letters))
    if on_es:  # a mention of each workspace the cluster refused
        for ws in (gone, kept):
            prefix = _es(workspace_settings(inst.default.settings, ws)).index_prefix
            refused = make_mention(id=f"{ws}-refused")
            write_dead_letters(
                str(dead_letters),
                [ItemFailure(refused.id, refused, 400, "{}")],
                index_prefix=prefix,
            )
    with pytest.raises(ValueError, match="default workspace cannot be deleted"):
        delete_workspace(inst, "default", actor="cli", actor_kind="cli")
    with pytest.raises(ConflictError, match="archive it first"):
        delete_workspace(inst, gone, actor="cli", actor_kind="cli")
    assert tenancy.find_key(built.keys[gone]) is not None  # the refusal changed nothing
    tenancy.archive_workspace(gone)

    plan = inspect_workspace(inst, gone)  # the dry run: counts, removes nothing
    assert (plan.mentions, plan.renders) == (5, 1)
    assert plan.dead_letters == (1 if on_es else 0)
    assert plan.state_rows["alert_events"] == 1 and plan.state_rows["saved_searches"] == 1
    assert plan.register == {
        "keys": 1,
        "sessions": 0,
        "memberships": 2,
        "audit entries": 1,
        "people with no other workspace": 1,
    }
    assert inst.context(gone).index.count(MentionFilter()) == 5

    gone_settings = workspace_settings(inst.default.settings, gone)
    done = delete_workspace(inst, gone, actor="ops", actor_kind="cli")
    assert done.mentions == 5

    # Its keys fail, its register row, people, audit entries and files are gone.
    assert tenancy.find_key(built.keys[gone]) is None
    with pytest.raises(NotFoundError):
        tenancy.get_workspace(gone)
    names = {u.name: u.roles for u in tenancy.list_users()}
    assert f"staff-{gone}" not in names and names["shared"] == {kept: "viewer"}
    assert tenancy.audit(workspace=gone) == []
    [entry] = tenancy.audit(workspace="default", kind="workspace")
    assert (entry.action, entry.target, entry.actor) == ("delete", gone, "ops")
    assert not Path(gone_settings.data_dir).exists()
    backend = sa.make_url(gone_settings.store.state_url).get_backend_name()
    if backend == "postgresql":
        engine = sa.create_engine(os.environ[POSTGRES_ENV])
        with engine.connect() as conn:
            schemas = sa.inspect(conn).get_schema_names()
        engine.dispose()
        assert pg_schema(gone) not in schemas and pg_schema(kept) in schemas
    if gone_settings.store.index_url.startswith("http"):
        gone_es = _es(gone_settings)
        assert _es_indices(gone_es) == []
        client = gone_es.client()
        template = f"{gone_es.index_prefix}-mentions"
        assert not client.indices.exists_index_template(name=template)
        client.close()
        kept_settings = workspace_settings(inst.default.settings, kept)
        assert _es_indices(_es(kept_settings)) != []
        held = [x.mention.id for x in read_letters(str(dead_letters)) if x.mention]
        assert held == [f"{kept}-refused"]  # its refused mentions went with it

    # The other workspace is intact: counts unchanged, its key works.
    assert inst.context(kept).index.count(MentionFilter()) == 3
    assert _state_rows(inst, kept) == 1
    assert inspect_workspace_counts(inst, kept) == (3, 1)
    found = tenancy.find_key(built.keys[kept])
    assert found is not None and found.workspace == kept
    assert tenancy.find_key(built.keys["default"]) is not None

    # A second delete is a clear error, and changes nothing.
    with pytest.raises(NotFoundError, match=gone):
        delete_workspace(inst, gone, actor="ops", actor_kind="cli")
    assert len(tenancy.audit(workspace="default", kind="workspace")) == 1


def inspect_workspace_counts(inst: Installation, ws: str) -> tuple[int, int]:
    """Mentions and renders of a workspace, counted as the deletion would (archived)."""
    inst.tenancy.archive_workspace(ws)
    try:
        plan = inspect_workspace(inst, ws)
    finally:
        inst.tenancy.unarchive_workspace(ws)
    return plan.mentions, plan.renders


def test_an_interrupted_deletion_cannot_be_unarchived_and_finishes_when_run_again(
    tmp_path: Path,
) -> None:
    settings = build_settings(
        {
            "data_dir": str(tmp_path / "data"),
            "demo_data": False,
            "store": {
                "state_url": f"sqlite:///{tmp_path}/data/veille.db",
                "index_url": f"embedded:{tmp_path}/data/index",
            },
        }
    )
    default = ServiceContext(settings, Workspace())
    _ = default.state
    inst = Installation(default)
    try:
        inst.tenancy.create_workspace("acme")
        key = inst.tenancy.create_key(name="k", workspace="acme", service="t")
        inst.context("acme").index.upsert([make_mention(id="a1", text="x")])
        inst.tenancy.archive_workspace("acme")
        # Interrupted right after the first step: nobody can enter, the data is still there.
        inst.tenancy.begin_workspace_deletion("acme", actor="cli", actor_kind="cli")
        assert inst.tenancy.find_key(key) is None
        with pytest.raises(ConflictError, match="must be finished"):
            inst.tenancy.unarchive_workspace("acme")
        data_dir = Path(workspace_settings(settings, "acme").data_dir)
        assert data_dir.exists()

        delete_workspace(inst, "acme", actor="cli", actor_kind="cli")
        assert not data_dir.exists()
        assert [w.id for w in inst.tenancy.list_workspaces()] == ["default"]
        assert len(inst.tenancy.audit(workspace="default", kind="workspace")) == 1
        # The id may be used again, and the new workspace is not taken for a deleted one.
        inst.tenancy.create_workspace("acme")
        inst.tenancy.archive_workspace("acme")
        assert inst.tenancy.unarchive_workspace("acme").archived_at is None
    finally:
        inst.close()
        default.close()
