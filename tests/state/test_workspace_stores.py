"""Each workspace's stores: derived from the installation's, the default one unchanged,
and on PostgreSQL a schema of its own in the same database."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from services.core.models import Brand
from services.core.settings import build_settings
from services.core.workspace import Workspace
from services.runtime.app.context import ServiceContext
from services.runtime.app.workspaces import Installation, pg_schema, workspace_settings
from tests.state.conftest import POSTGRES_ENV, POSTGRES_HOWTO


def test_the_default_workspace_keeps_its_settings_and_others_derive_theirs() -> None:
    base = build_settings(
        {
            "data_dir": "/srv/veille",
            "store": {
                "state_url": "sqlite:////srv/veille/state.db",
                "index_url": "https://es.example:9200?prefix=brandx",
            },
        }
    )
    assert workspace_settings(base, "default") is base
    acme = workspace_settings(base, "acme")
    assert acme.data_dir == "/srv/veille/workspaces/acme"
    assert acme.store.state_url == "sqlite:////srv/veille/workspaces/acme/veille.db"
    assert acme.store.index_url == "https://es.example:9200?prefix=brandx-ws-acme"
    assert acme.api == base.api and acme.analyzer == base.analyzer
    with pytest.raises(ValueError, match="invalid workspace id"):
        workspace_settings(base, "../etc")


def test_a_workspace_keeps_the_installation_s_other_postgresql_options() -> None:
    base = build_settings(
        {
            "store": {
                "state_url": "postgresql+psycopg://v:pw@db:5432/veille?options="
                "-c%20statement_timeout%3D5000%20-c%20search_path%3Dveille",
                "index_url": "embedded:/srv/index",
            },
        }
    )
    url = sa.make_url(workspace_settings(base, "acme").store.state_url)
    assert url.query["options"] == "-c statement_timeout=5000 -c search_path=veille_ws_acme"
    assert url.password == "pw"


def test_a_missing_default_schema_is_named(tmp_path: Path) -> None:
    """The default workspace's schema is the URL's search_path, which Veille does not
    create: a missing one is one clear error naming it."""
    from services.store.state.database import StateDatabase
    from services.store.state.errors import StateStoreError

    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(POSTGRES_HOWTO)
    schema = f"test_missing_{uuid.uuid4().hex[:12]}"
    url = sa.make_url(base).update_query_dict({"options": f"-c search_path={schema}"})
    with pytest.raises(StateStoreError) as refused:
        StateDatabase(url.render_as_string(hide_password=False), migrate=True)
    message = str(refused.value)
    assert f"the search_path ({schema}) names none that exists" in message
    assert "CREATE SCHEMA" in message
    assert url.password is None or f":{url.password}@" not in message


def test_elasticsearch_reads_the_prefix_from_the_url() -> None:
    from services.store.elastic import EsSettings

    settings = EsSettings.from_env("http://127.0.0.1:9200?prefix=veille-ws-acme", env={})
    assert settings.index_prefix == "veille-ws-acme"
    assert settings.url == "http://127.0.0.1:9200"
    assert EsSettings.from_env("http://127.0.0.1:9200", env={}).index_prefix == "veille"


def test_on_postgresql_a_workspace_gets_a_schema_of_its_own(tmp_path: Path) -> None:
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(POSTGRES_HOWTO)
    schema = f"test_{uuid.uuid4().hex[:16]}"
    workspace = f"t{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = sa.make_url(base).update_query_dict({"options": f"-c search_path={schema}"})
    settings = build_settings(
        {
            "data_dir": str(tmp_path),
            "store": {
                "state_url": url.render_as_string(hide_password=False),
                "index_url": f"embedded:{tmp_path}/index",
            },
        }
    )
    default = ServiceContext(settings, Workspace())
    installation = Installation(default)
    try:
        installation.tenancy.create_workspace(workspace)
        other = installation.context(workspace)
        other.state.put_brand(Brand(name="Acme"), origin="api")
        default.state.put_brand(Brand(name="Veloria"), origin="api")
        assert [b.name for b in other.state.list_brands()] == ["Acme"]
        assert [b.name for b in default.state.list_brands()] == ["Veloria"]
        assert other.workspace_id == workspace
        with admin.connect() as conn:
            tables = sa.inspect(conn).get_table_names(schema=pg_schema(workspace))
        assert "brands" in tables
    finally:
        installation.close()
        default.close()
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{pg_schema(workspace)}" CASCADE')
        admin.dispose()
