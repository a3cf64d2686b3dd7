"""DELETE /api/v1/workspaces/{id}: admins of `default` delete an archived workspace
for good, audited; the other workspace keeps all it has (embedded index and a real
Elasticsearch node, real SQLite stores)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from services.runtime.app.workspaces import workspace_settings
from services.store.contracts import MentionFilter
from tests.api.tenancy_setup import BACKENDS, Tenancy, two_workspaces


@pytest.fixture(params=BACKENDS)
def tenancy(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Tenancy]:
    with two_workspaces(tmp_path, request.param) as built:
        yield built


def test_admins_of_default_delete_an_archived_workspace_and_nothing_else(
    tenancy: Tenancy,
) -> None:
    inst = tenancy.installation
    acme_dir = Path(workspace_settings(inst.default.settings, "acme").data_dir)
    with tenancy.client(tenancy.admin_keys["acme"]) as acme:
        assert acme.delete("/api/v1/workspaces/acme").status_code == 403
    with tenancy.client(tenancy.admin_keys["default"]) as admin:
        assert admin.delete("/api/v1/workspaces/default").status_code == 422
        live = admin.delete("/api/v1/workspaces/acme")
        assert live.status_code == 409 and "archive it first" in live.json()["detail"]
        assert admin.post("/api/v1/workspaces/acme/archive").status_code == 200

        dry = admin.delete("/api/v1/workspaces/acme", params={"dry_run": True})
        assert dry.status_code == 200, dry.text
        assert dry.json()["deleted"] is False and dry.json()["mentions"] == 6
        assert dry.json()["register"]["keys"] == 1 and acme_dir.exists()

        done = admin.delete("/api/v1/workspaces/acme")
        assert done.status_code == 200, done.text
        assert done.json()["deleted"] is True and done.json()["state_rows"]["alert_events"] == 1
        assert not acme_dir.exists()
        assert admin.delete("/api/v1/workspaces/acme").status_code == 404
        assert [w["id"] for w in admin.get("/api/v1/workspaces").json()] == ["default"]
        assert admin.get("/api/v1/mentions").status_code == 200
    with tenancy.client(tenancy.admin_keys["acme"]) as acme:
        assert acme.get("/api/v1/mentions").status_code == 401

    assert inst.context("default").index.count(MentionFilter()) == 6
    entries = inst.tenancy.audit(kind="workspace")
    newest = entries[0]  # by the key's service
    assert (newest.workspace, newest.action, newest.target, newest.actor) == (
        "default",
        "delete",
        "acme",
        "tests",
    )
    assert inst.tenancy.audit(workspace="acme") == []
    assert len([e for e in entries if e.action == "delete"]) == 1
