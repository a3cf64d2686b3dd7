"""A workspace admin sees and changes only the people of their workspace, and a request
that names another workspace than its credential's is refused (real SQLite stores)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from services.store.state.tenancy_tables import memberships, users
from tests.api.tenancy_setup import Tenancy, two_workspaces


@pytest.fixture
def tenancy(tmp_path: Path) -> Any:
    with two_workspaces(tmp_path, "embedded") as built:
        yield built


def test_a_workspace_admin_cannot_see_or_change_people_of_another_workspace(
    tenancy: Tenancy,
) -> None:
    store = tenancy.installation.tenancy
    store.create_workspace("globex", "Globex")
    store.add_user("Bob", email="bob@globex.example.org")
    store.grant("Bob", "globex", "analyst")
    store.add_user("Alice", email="alice@acme.example.org")
    store.grant("Alice", "acme", "analyst")
    with tenancy.client(tenancy.admin_keys["acme"]) as acme:
        unknown = acme.put("/api/v1/users/Nobody/role", json={"role": "viewer"})
        outsider = acme.put("/api/v1/users/Bob/role", json={"role": "viewer"})
        by_email = acme.put("/api/v1/users/bob@globex.example.org/role", json={"role": "viewer"})
        assert unknown.status_code == outsider.status_code == by_email.status_code == 404
        assert "bob@" not in outsider.text and "globex" not in outsider.text
        # The same answer as an unknown name, so names cannot be probed.
        assert outsider.json()["title"] == unknown.json()["title"]
        assert acme.delete("/api/v1/users/Bob/role").status_code == 404
        assert acme.delete("/api/v1/users/Nobody/role").status_code == 404
        assert [u["name"] for u in acme.get("/api/v1/users").json()] == ["Alice"]
        # Their own people they still manage.
        changed = acme.put("/api/v1/users/Alice/role", json={"role": "viewer"})
        assert changed.status_code == 200, changed.text
        assert changed.json()["roles"] == {"acme": "viewer"}
    assert store.get_user("Bob").roles == {"globex": "analyst"}
    # The installation's admins (admins of `default`) keep their power.
    with tenancy.client(tenancy.admin_keys["default"]) as admin:
        granted = admin.put("/api/v1/users/Bob/role", json={"role": "viewer"})
        assert granted.status_code == 200, granted.text
    assert store.get_user("Bob").roles == {"globex": "analyst", "default": "viewer"}


def test_a_request_naming_another_workspace_is_refused(tenancy: Tenancy) -> None:
    with tenancy.client(tenancy.admin_keys["acme"]) as acme:
        assert "bravoquartz" in acme.get("/api/v1/mentions").text
        for answer in (
            acme.get("/api/v1/mentions", headers={"X-Veille-Workspace": "default"}),
            acme.get("/api/v1/mentions", params={"workspace": "default"}),
        ):
            assert answer.status_code == 403, answer.text
            assert answer.headers["content-type"].startswith("application/problem+json")
            body = answer.json()
            assert body["title"] == "Workspace mismatch"
            assert "'default'" in body["detail"] and "'acme'" in body["detail"]
            assert "quartz" not in answer.text
        # Naming its own workspace is fine.
        same = acme.get("/api/v1/mentions", headers={"X-Veille-Workspace": "acme"})
        assert same.status_code == 200 and "bravoquartz" in same.text
        # ?workspace= too, on the routes that refuse parameters they do not take
        # (reviewer finding: exports answered 422 "unknown query parameter").
        for path in ("/api/v1/export/mentions", "/api/v1/export/stats/volume"):
            named = acme.get(path, params={"workspace": "acme"})
            assert named.status_code == 200, named.text
            other = acme.get(path, params={"workspace": "default"})
            assert other.status_code == 403 and other.json()["title"] == "Workspace mismatch"
        assert (
            "bravoquartz" in acme.get("/api/v1/export/mentions", params={"workspace": "acme"}).text
        )


def test_admins_of_default_erase_and_export_an_archived_workspaces_data(
    tenancy: Tenancy,
) -> None:
    erase_url = "/api/v1/workspaces/acme/erasures"
    export_url = "/api/v1/workspaces/acme/authors/bravo_author/data-export"
    with tenancy.client(tenancy.admin_keys["acme"]) as acme:
        assert acme.post(erase_url, json={"author": "bravo_author"}).status_code == 403
    with tenancy.client(tenancy.admin_keys["default"]) as admin:
        assert admin.post("/api/v1/workspaces/acme/archive").status_code == 200
        with tenancy.client(tenancy.admin_keys["acme"]) as acme:
            assert acme.get("/api/v1/mentions").status_code == 403  # archived
        exported = admin.get(export_url)
        assert exported.status_code == 200, exported.text
        assert len(exported.json()["mentions_by_author"]) == 6
        erased = admin.post(erase_url, json={"author": "bravo_author"})
        assert erased.status_code == 201, erased.text
        assert erased.json()["counts"]["mentions_total"] == 6
        assert admin.get(export_url).json()["mentions_by_author"] == []
        assert (
            admin.post("/api/v1/workspaces/nope/erasures", json={"author": "x"}).status_code == 404
        )
        [entry] = tenancy.installation.tenancy.audit(workspace="acme", kind="erasure")
        assert (entry.action, entry.target) == ("create", erased.json()["id"])
        assert admin.post("/api/v1/workspaces/acme/unarchive").status_code == 200
        assert admin.post("/api/v1/workspaces/acme/unarchive").status_code == 409
    with tenancy.client(tenancy.admin_keys["acme"]) as acme:
        assert acme.get("/api/v1/mentions").status_code == 200
        assert "bravoquartz" not in acme.get("/api/v1/mentions").text  # all by bravo_author


def test_a_workspace_admin_cannot_make_a_key_for_a_person_of_another_workspace(
    tenancy: Tenancy,
) -> None:
    store = tenancy.installation.tenancy
    store.create_workspace("globex", "Globex")
    store.add_user("Bob")
    store.grant("Bob", "globex", "analyst")
    with tenancy.client(tenancy.admin_keys["acme"]) as acme:
        body = {"name": "k", "role": "viewer"}
        outsider = acme.post("/api/v1/keys", json={**body, "user": "Bob"})
        unknown = acme.post("/api/v1/keys", json={**body, "user": "Nobody"})
        assert outsider.status_code == unknown.status_code == 422
        assert outsider.json()["title"] == unknown.json()["title"]
    assert [k.name for k in store.list_keys(workspace="acme")] == ["acme-admin"]


def test_a_workspace_admin_cannot_pull_in_another_workspaces_person_by_email(
    tenancy: Tenancy,
) -> None:
    store = tenancy.installation.tenancy
    store.create_workspace("globex", "Globex")
    store.add_user("Bob", email="bob@globex.example.org")
    store.grant("Bob", "globex", "analyst")
    bob_id = store.get_user("Bob").id
    with tenancy.client(tenancy.admin_keys["acme"]) as acme:
        as_name = acme.post(
            "/api/v1/users", json={"name": "bob@globex.example.org", "role": "viewer"}
        )
        taken_name = acme.post("/api/v1/users", json={"name": "Bob", "role": "viewer"})
        in_other_letters = acme.post("/api/v1/users", json={"name": "bOB", "role": "viewer"})
        taken_email = acme.post(
            "/api/v1/users",
            json={"name": "Robert", "email": "BOB@globex.example.org", "role": "viewer"},
        )
        bad_role = acme.post("/api/v1/users", json={"name": "Zoe", "role": "boss"})
        for answer in (as_name, taken_name, in_other_letters, taken_email, bad_role):
            assert answer.status_code == 422, answer.text
            assert answer.json()["title"] == "Invalid request"
            assert "globex" not in answer.text and "exists" not in answer.text
        # A taken name and a taken email read the same: nothing says who or where.
        assert taken_name.json()["detail"] == taken_email.json()["detail"]
        assert "Bob" not in taken_name.text and "bob@" not in taken_email.text
        assert acme.get("/api/v1/users").json() == []
        role = acme.put("/api/v1/users/bob@globex.example.org/role", json={"role": "admin"})
        assert role.status_code == 404
        key = acme.post(
            "/api/v1/keys",
            json={"name": "k", "role": "admin", "user": "bob@globex.example.org"},
        )
        assert key.status_code == 422
    assert store.get_user_by_id(bob_id).roles == {"globex": "analyst"}
    assert [k.name for k in store.list_keys(workspace="acme")] == ["acme-admin"]
    # The installation's admins are told plainly.
    with tenancy.client(tenancy.admin_keys["default"]) as admin:
        conflict = admin.post("/api/v1/users", json={"name": "Bob", "role": "viewer"})
        assert conflict.status_code == 409, conflict.text
        twin = admin.post("/api/v1/users", json={"name": "bob", "role": "viewer"})
        assert twin.status_code == 409, twin.text
        assert twin.json()["detail"] == (
            "a person named 'bob' already exists as 'Bob' (names must differ by more than case)"
        )
    # A workspace admin is told plainly about someone of their own workspace.
    store.grant("Bob", "acme", "viewer")
    with tenancy.client(tenancy.admin_keys["acme"]) as acme:
        own = acme.post("/api/v1/users", json={"name": "BOB", "role": "viewer"})
        assert own.status_code == 409, own.text
        assert "already exists as 'Bob'" in own.json()["detail"]
    assert [u.name for u in store.list_users() if u.name.lower() == "bob"] == ["Bob"]


def test_a_name_that_is_someone_elses_email_stands_for_its_own_holder_only(
    tenancy: Tenancy,
) -> None:
    """An alias: a person of acme whose name (written before names were checked) is the
    email of Bob of globex. Every change acme makes through it reaches its holder only."""
    store = tenancy.installation.tenancy
    store.create_workspace("globex", "Globex")
    store.add_user("Bob", email="bob@globex.example.org")
    store.grant("Bob", "globex", "analyst")
    bob_id = store.get_user("Bob").id
    alias_id = uuid.uuid4().hex
    with store.database.engine.begin() as conn:
        conn.execute(
            sa.insert(users).values(
                id=alias_id, name="bob@globex.example.org", created_at=datetime.now(UTC)
            )
        )
        conn.execute(
            sa.insert(memberships).values(user_id=alias_id, workspace_id="acme", role="viewer")
        )
    alias = "/api/v1/users/bob@globex.example.org/role"
    with tenancy.client(tenancy.admin_keys["acme"]) as acme:
        granted = acme.put(alias, json={"role": "admin"})
        assert granted.status_code == 200, granted.text
        assert granted.json()["email"] is None and granted.json()["roles"] == {"acme": "admin"}
        key = acme.post(
            "/api/v1/keys",
            json={"name": "k", "role": "admin", "user": "bob@globex.example.org"},
        )
        assert key.status_code == 201, key.text
        found = store.find_key(key.json()["key"])
        assert found is not None and found.user == "bob@globex.example.org"
        assert [u["email"] for u in acme.get("/api/v1/users").json()] == [None]
        assert acme.delete(alias).status_code == 204
        assert acme.delete(alias).status_code == 404
    assert store.get_user_by_id(alias_id).roles == {}
    assert store.get_user_by_id(bob_id).roles == {"globex": "analyst"}
    assert store.key_owner_role(found) is None  # the alias's key stopped with its role


def test_an_export_of_another_workspace_is_audited_under_a_receipt(tenancy: Tenancy) -> None:
    url = "/api/v1/workspaces/acme/authors/bravo_author/data-export"
    with tenancy.client(tenancy.admin_keys["default"]) as admin:
        exported = admin.get(url)
        assert exported.status_code == 200, exported.text
        assert exported.json()["mentions_by_author"]
        receipt_id = exported.json()["receipt"]
    [entry] = tenancy.installation.tenancy.audit(workspace="acme", kind="data-export")
    assert (entry.action, entry.target, entry.actor) == ("export", receipt_id, "tests")
    assert "bravo_author" not in f"{entry.target} {entry.action} {entry.kind}"
    assert tenancy.installation.tenancy.audit(workspace="default", kind="data-export") == []


def test_an_erasure_stands_when_its_audit_line_cannot_be_written(
    tenancy: Tenancy, caplog: pytest.LogCaptureFixture
) -> None:
    """The data is gone once erased: a failing audit write (here a real SQLite trigger
    refusing the insert) is logged, without the handle, and the answer is the receipt."""
    engine = tenancy.installation.tenancy.database.engine
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TRIGGER no_audit BEFORE INSERT ON audit_log "
            "BEGIN SELECT RAISE(ABORT, 'audit log unavailable'); END"
        )
    with tenancy.client(tenancy.admin_keys["default"]) as admin:
        erased = admin.post("/api/v1/workspaces/acme/erasures", json={"author": "bravo_author"})
        assert erased.status_code == 201, erased.text
        assert erased.json()["counts"]["mentions_total"] == 6
        export = "/api/v1/workspaces/acme/authors/bravo_author/data-export"
        assert admin.get(export).json()["mentions_by_author"] == []
    # Veille's own log lines (the test client logs the URLs it requests, handle included).
    ours = [r for r in caplog.records if r.name.startswith("veille")]
    errors = [r for r in ours if r.levelname == "ERROR"]
    assert errors and all("bravo_author" not in r.getMessage() for r in ours)
    assert any("audit log" in r.getMessage() and "acme" in r.getMessage() for r in errors)
