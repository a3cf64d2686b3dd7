"""The register's archive and unarchive on both state backends (SQLite, PostgreSQL)."""

from __future__ import annotations

import pytest

from services.store.state import SqlStateStore
from services.store.state.contract import ConflictError, NotFoundError
from services.store.state.tenancy import TenancyStore


def test_an_archived_workspace_can_be_unarchived_and_its_keys_work_again(
    state_store: SqlStateStore,
) -> None:
    tenancy = TenancyStore(state_store.database)
    tenancy.create_workspace("globex", "Globex")
    key = tenancy.create_key(name="k", workspace="globex", service="tests")
    tenancy.archive_workspace("globex")
    assert tenancy.get_workspace("globex").archived_at is not None
    with pytest.raises(ValueError, match="archived"):
        tenancy.create_key(name="k2", workspace="globex", service="tests")
    assert tenancy.unarchive_workspace("globex").archived_at is None
    assert [w.id for w in tenancy.list_workspaces(include_archived=False)] == [
        "default",
        "globex",
    ]
    found = tenancy.find_key(key)
    assert found is not None and found.workspace == "globex"
    tenancy.create_key(name="k2", workspace="globex", service="tests")
    with pytest.raises(ConflictError):
        tenancy.unarchive_workspace("globex")
    with pytest.raises(NotFoundError):
        tenancy.unarchive_workspace("nope")
