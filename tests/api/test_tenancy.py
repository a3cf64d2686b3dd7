"""Workspaces, people, keys with roles, sign-in and the audit log, over the real API."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from fastapi.testclient import TestClient

from services.core.settings import build_settings
from services.core.workspace import Workspace
from services.runtime.app.context import ServiceContext
from services.store.embedded.index import EmbeddedIndex
from services.store.state import apikeys
from services.store.state.migrate import alembic_config
from tests.api.tenancy_setup import Tenancy, two_workspaces
from tests.apps import app_for
from tests.factories import make_mention

SOURCE = {"name": "new-feed", "url": "https://example.org/feed.xml"}


def _settings(tmp_path: Path) -> Any:
    return build_settings(
        {
            "data_dir": str(tmp_path),
            "demo_data": False,
            "store": {
                "state_url": f"sqlite:///{tmp_path}/veille.db",
                "index_url": f"embedded:{tmp_path}/index",
            },
        }
    )


def test_an_installation_from_before_workspaces_is_migrated_in_place(tmp_path: Path) -> None:
    # An installation at revision 0012 (before workspaces), with a key and mentions.
    engine = sa.create_engine(f"sqlite:///{tmp_path}/veille.db")
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0012")
        old_key = apikeys.insert(conn, name="grafana", now=datetime.now(UTC))
    engine.dispose()
    index = EmbeddedIndex(str(tmp_path / "index"))
    index.upsert([make_mention(id="old1", text="Veloria from before")])
    index.close()
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.iterdir() if "-" not in p.name)

    ctx = ServiceContext(_settings(tmp_path), Workspace())
    try:
        with TestClient(app_for(ctx), headers={"X-API-Key": old_key}) as client:
            me = client.get("/api/v1/me").json()
            assert (me["workspace"], me["role"], me["actor"]) == ("default", "admin", "grafana")
            assert "Veloria from before" in client.get("/api/v1/mentions").text
            assert client.post("/api/v1/sources", json=SOURCE).status_code == 201
            assert [w["id"] for w in client.get("/api/v1/workspaces").json()] == ["default"]
    finally:
        ctx.close()
    # Nothing moved: the same files (SQLite's WAL files aside), no per-workspace folder.
    after = sorted(p.relative_to(tmp_path) for p in tmp_path.iterdir() if "-" not in p.name)
    assert after == before


@pytest.fixture
def tenancy(tmp_path: Path) -> Any:
    with two_workspaces(tmp_path, "embedded") as built:
        yield built


def _admin(tenancy: Tenancy) -> TestClient:
    return tenancy.client(tenancy.admin_keys["default"])


def test_keys_carry_a_workspace_a_role_and_an_expiry(tenancy: Tenancy) -> None:
    with _admin(tenancy) as admin:
        made = admin.post(
            "/api/v1/keys",
            json={"name": "dash", "role": "viewer", "service": "grafana", "workspace": "acme"},
        )
        assert made.status_code == 201, made.text
        key = made.json()["key"]
        assert made.json()["role"] == "viewer" and made.json()["workspace"] == "acme"
        assert made.json()["warnings"] == []
        listed = admin.get("/api/v1/keys").json()
        assert all("key" not in k and k["workspace"] == "default" for k in listed)
    with tenancy.client(key) as viewer:
        assert viewer.get("/api/v1/me").json()["role"] == "viewer"
        assert "bravoquartz" in viewer.get("/api/v1/mentions").text
        refused = viewer.post("/api/v1/sources", json=SOURCE)
        assert refused.status_code == 403 and refused.json()["permission"] == "sources:write"
    # An expired key: 401 saying so.
    key_id = key.split("_", 2)[1]
    engine = sa.create_engine(tenancy.installation.default.settings.store.state_url)
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE api_keys SET expires_at = :t WHERE key_id = :k"),
            {"t": "2020-01-01 00:00:00.000000", "k": key_id},
        )
    engine.dispose()
    with tenancy.client(key) as expired:
        answer = expired.get("/api/v1/mentions")
        assert answer.status_code == 401 and answer.json()["title"] == "API key expired"


@pytest.mark.parametrize(
    "body",
    [
        {"name": "k", "role": "superuser", "service": "x"},  # unknown role
        {"name": "k", "role": "viewer"},  # neither user nor service
        {"name": "k", "role": "viewer", "user": "nobody"},  # unknown user
        {"name": "k", "role": "viewer", "service": "x", "expires_at": "2001-01-01T00:00:00Z"},
        {"name": "k", "role": "viewer", "service": "x", "workspace": "nowhere"},
    ],
)
def test_bad_keys_are_refused_and_nothing_is_created(tenancy: Tenancy, body: Any) -> None:
    with _admin(tenancy) as admin:
        before = admin.get("/api/v1/keys").json()
        answer = admin.post("/api/v1/keys", json=body)
        assert answer.status_code in (404, 422), answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert answer.json()["detail"]
        assert admin.get("/api/v1/keys").json() == before


def test_an_archived_workspace_refuses_its_keys_and_keeps_its_data(tenancy: Tenancy) -> None:
    with _admin(tenancy) as admin:
        assert admin.post("/api/v1/workspaces", json={"id": "Bad Id!"}).status_code == 422
        assert admin.post("/api/v1/workspaces", json={"id": "acme"}).status_code == 409
        assert admin.post("/api/v1/workspaces/default/archive").status_code == 422
        archived = admin.post("/api/v1/workspaces/acme/archive")
        assert archived.status_code == 200 and archived.json()["archived_at"]
        assert admin.post("/api/v1/workspaces/acme/archive").status_code == 409
        refused = admin.post(
            "/api/v1/keys",
            json={"name": "k", "role": "viewer", "service": "x", "workspace": "acme"},
        )
        assert refused.status_code == 422 and "archived" in refused.json()["detail"]
    with tenancy.client(tenancy.admin_keys["acme"]) as acme:
        answer = acme.get("/api/v1/mentions")
        assert answer.status_code == 403 and answer.json()["title"] == "Workspace archived"
    ctx = tenancy.installation.context("acme")
    assert ctx.index.get("bravo-m0") is not None  # data kept


def test_only_admins_of_default_manage_workspaces(tenancy: Tenancy) -> None:
    with tenancy.client(tenancy.admin_keys["acme"]) as acme:
        assert [w["id"] for w in acme.get("/api/v1/workspaces").json()] == ["acme"]
        refused = acme.post("/api/v1/workspaces", json={"id": "other"})
        assert refused.status_code == 403
        other = acme.post(
            "/api/v1/keys",
            json={"name": "k", "role": "admin", "service": "x", "workspace": "default"},
        )
        assert other.status_code == 403
    with _admin(tenancy) as admin:
        ids = [w["id"] for w in admin.get("/api/v1/workspaces").json()]
        assert ids == ["acme", "default"]


def test_people_sign_in_with_a_password_and_their_role_applies(tenancy: Tenancy) -> None:
    with _admin(tenancy) as admin:
        made = admin.post(
            "/api/v1/users",
            json={
                "name": "Alice",
                "email": "alice@example.org",
                "password": "correct horse battery",
                "role": "analyst",
            },
        )
        assert made.status_code == 201, made.text
        assert admin.post("/api/v1/users", json={"name": "Bob", "role": "chief"}).status_code == 422
        assert [u["name"] for u in admin.get("/api/v1/users").json()] == ["Alice"]
    with TestClient(tenancy.app) as browser:
        wrong = browser.post(
            "/api/v1/session", json={"login": "Alice", "password": "wrong password!"}
        )
        assert wrong.status_code == 401
        signed = browser.post(
            "/api/v1/session",
            json={"login": "alice@example.org", "password": "correct horse battery"},
        )
        assert signed.status_code == 200, signed.text
        cookie = signed.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie
        assert browser.get("/api/v1/me").json()["role"] == "analyst"
        assert browser.post("/api/v1/sources", json=SOURCE).status_code == 201
        with _admin(tenancy) as admin:
            assert admin.put("/api/v1/users/Alice/role", json={"role": "viewer"}).status_code == 200
        refused = browser.delete("/api/v1/sources/new-feed")
        assert refused.status_code == 403 and refused.json()["permission"] == "sources:write"
        assert browser.delete("/api/v1/session").status_code == 204
        assert browser.get("/api/v1/mentions").status_code == 401
    # Someone with a role in one other workspace only (a client's team) signs in to it
    # without naming it, as the dashboard's form does.
    with tenancy.client(tenancy.admin_keys["acme"]) as acme_admin:
        made = acme_admin.post(
            "/api/v1/users",
            json={"name": "Carla", "password": "client side secret", "role": "viewer"},
        )
        assert made.status_code == 201, made.text
        # Her admin key is made, and says it acts as the viewer she is.
        over = acme_admin.post("/api/v1/keys", json={"name": "c", "role": "admin", "user": "Carla"})
        assert over.status_code == 201, over.text
        assert over.json()["warnings"] == [
            "Carla is viewer of acme, so this admin key acts as viewer"
        ]
        with tenancy.client(over.json()["key"]) as hers:
            assert hers.get("/api/v1/me").json()["role"] == "viewer"
    with TestClient(tenancy.app) as browser:
        signed = browser.post(
            "/api/v1/session", json={"login": "Carla", "password": "client side secret"}
        )
        assert signed.status_code == 200, signed.text
        assert signed.json() == {"user": "Carla", "workspace": "acme", "role": "viewer"}
        assert browser.get("/api/v1/me").json()["workspace"] == "acme"
        elsewhere = browser.post(
            "/api/v1/session",
            json={"login": "Carla", "password": "client side secret", "workspace": "default"},
        )
        assert elsewhere.status_code == 403
    # the stored session is a hash, not the cookie's token
    token = cookie.split("=", 1)[1].split(";", 1)[0]
    db = Path(tenancy.installation.default.settings.store.state_url.removeprefix("sqlite:///"))
    assert token.encode() not in db.read_bytes()


def test_the_audit_log_records_who_changed_what(tenancy: Tenancy) -> None:
    with _admin(tenancy) as admin:
        assert admin.post("/api/v1/sources", json=SOURCE).status_code == 201
        assert admin.post("/api/v1/sources", json=SOURCE).status_code == 409  # not audited
        assert admin.delete("/api/v1/sources/new-feed").status_code == 204
        made = admin.post("/api/v1/keys", json={"name": "ci", "role": "viewer", "service": "ci"})
        secret = made.json()["key"]
        entries = admin.get("/api/v1/audit").json()["items"]
        rows = [(e["actor"], e["kind"], e["action"], e["target"]) for e in entries]
        assert rows[:3] == [
            ("tests", "key", "create", "ci"),
            ("tests", "source", "delete", "new-feed"),
            ("tests", "source", "create", "new-feed"),
        ]
        assert secret not in admin.get("/api/v1/audit").text
        only = admin.get("/api/v1/audit", params={"kind": "source", "limit": 1}).json()
        assert [e["action"] for e in only["items"]] == ["delete"]
        older = admin.get(
            "/api/v1/audit", params={"kind": "source", "limit": 1, "before": only["next"]}
        ).json()
        assert [e["action"] for e in older["items"]] == ["create"]
        # since/until read as everywhere in the API: before now, or UTC without an offset
        recent = admin.get("/api/v1/audit", params={"kind": "source", "since": "1h"}).json()
        every = admin.get("/api/v1/audit", params={"kind": "source"}).json()
        assert recent["items"] == every["items"] and len(every["items"]) >= 2
        future = admin.get("/api/v1/audit", params={"since": "2199-01-01T00:00:00"}).json()
        assert future["items"] == []
        assert admin.get("/api/v1/audit", params={"until": "1h"}).json()["items"] == []
        bad = admin.get("/api/v1/audit", params={"since": "yesterday"})
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "since"
    # Each workspace reads its own log only; a viewer reads none.
    with tenancy.client(tenancy.admin_keys["acme"]) as acme:
        assert "new-feed" not in acme.get("/api/v1/audit").text
    with tenancy.client(secret) as viewer:
        refused = viewer.get("/api/v1/audit")
        assert refused.status_code == 403 and refused.json()["permission"] == "audit:read"


def test_a_key_whose_owner_lost_their_role_stops_working(tenancy: Tenancy) -> None:
    store = tenancy.installation.tenancy
    store.add_user("Carol")
    store.grant("Carol", "acme", "analyst")
    key = store.create_key(name="carol", workspace="acme", role="analyst", user="Carol")
    with tenancy.client(key) as carol:
        assert carol.get("/api/v1/me").json() | {"permissions": []} == {
            "workspace": "acme",
            "workspaces": ["acme"],  # a key opens its own workspace only
            "role": "analyst",
            "actor": "Carol",
            "actor_kind": "user",
            "permissions": [],
        }
        store.grant("Carol", "acme", "viewer")  # a key never does more than its owner
        assert carol.get("/api/v1/me").json()["role"] == "viewer"
        store.revoke("Carol", "acme")
        assert carol.get("/api/v1/mentions").status_code == 403


def test_an_alert_chart_link_names_its_workspace(tenancy: Tenancy) -> None:
    acme = tenancy.installation.context("acme")
    series = [["2026-11-01T08:00:00+00:00", 2, 2], ["2026-11-01T09:00:00+00:00", 40, 40]]
    event_id = acme.state.record_alert_event(
        rule_name="bravo-rule",
        kind="volume_spike",
        status="firing",
        dedupe_key="chart",
        numbers={"observed": 40, "expected": 2.5, "series": series},
        channels=[],
    )
    assert event_id is not None
    token = acme.state.get_alert_event(event_id).chart_token
    url = f"/api/v1/alerts/events/{event_id}/chart.png"
    with TestClient(tenancy.app) as anonymous:  # Slack has no key
        chart = anonymous.get(url, params={"token": token, "workspace": "acme"})
        assert chart.status_code == 200 and chart.headers["content-type"] == "image/png"
        assert anonymous.get(url, params={"token": token}).status_code == 404  # not default's
        assert (
            anonymous.get(url, params={"token": token, "workspace": "nowhere"}).status_code == 404
        )
        tenancy.installation.tenancy.archive_workspace("acme")
        assert anonymous.get(url, params={"token": token, "workspace": "acme"}).status_code == 404


def test_only_a_persons_own_session_switches_workspace(tenancy: Tenancy) -> None:
    """A person's key may hold less than the person; with any cookie beside it, it must
    not open a session with their full role (the key takes precedence over the cookie)."""
    people = tenancy.installation.tenancy
    people.add_user("Dana", email="dana@example.org", password="dana's long secret")
    people.grant("Dana", "default", "admin")
    people.grant("Dana", "acme", "viewer")
    with _admin(tenancy) as admin:
        made = admin.post("/api/v1/keys", json={"name": "d", "role": "viewer", "user": "Dana"})
        assert made.status_code == 201, made.text
        key = made.json()["key"]
    with tenancy.client(key) as with_key:
        with_key.cookies.set("veille_session", "anything")
        refused = with_key.put("/api/v1/session/workspace", json={"workspace": "default"})
        assert refused.status_code == 400, refused.text
        assert "veille_session" not in refused.headers.get("set-cookie", "")
    with TestClient(tenancy.app) as browser:
        signed = browser.post(
            "/api/v1/session",
            json={"login": "Dana", "password": "dana's long secret", "workspace": "acme"},
        )
        assert signed.status_code == 200, signed.text
        switched = browser.put("/api/v1/session/workspace", json={"workspace": "default"})
        assert switched.status_code == 200, switched.text
        assert browser.get("/api/v1/me").json()["role"] == "admin"


def test_sign_in_and_the_picker_pass_over_an_archived_workspace(tenancy: Tenancy) -> None:
    """A client's person whose first workspace by name was archived signs in to their
    live one, and the picker does not offer the archived one (it would refuse them)."""
    people = tenancy.installation.tenancy
    people.create_workspace("aaa-old", "Former client")
    people.add_user("Enzo", password="enzo's long secret")
    people.grant("Enzo", "aaa-old", "viewer")
    people.grant("Enzo", "acme", "analyst")
    people.archive_workspace("aaa-old")
    with TestClient(tenancy.app) as browser:
        signed = browser.post(
            "/api/v1/session", json={"login": "Enzo", "password": "enzo's long secret"}
        )
        assert signed.status_code == 200, signed.text
        assert signed.json()["workspace"] == "acme"
        assert browser.get("/api/v1/me").json()["workspaces"] == ["acme"]
