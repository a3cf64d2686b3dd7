"""`veille up`'s loops follow the register: a workspace created while the service runs
starts at once (over the API) or at the next poll (from another process), and an archived
one stops, without a restart."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from services.runtime.app.context import ServiceContext
from services.runtime.workers.workspace_loops import WorkspaceLoops
from tests.api.tenancy_setup import Tenancy, two_workspaces


class RecordedLoops:
    """Stands in for the real loops (collector, analysis worker with its models...), which
    other tests cover: records which workspace's loops were started and stopped."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.stopped: list[str] = []

    def __call__(self, ctx: ServiceContext) -> list[Callable[[], None]]:
        workspace = ctx.workspace_id
        self.started.append(workspace)
        return [lambda: self.stopped.append(workspace)]


def _eventually(check: Callable[[], bool], seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return check()


@pytest.fixture
def tenancy(tmp_path: Path) -> Iterator[Tenancy]:
    with two_workspaces(tmp_path, "embedded") as built:
        yield built


def test_a_workspace_created_over_the_api_starts_at_once_and_stops_when_archived(
    tenancy: Tenancy,
) -> None:
    recorded = RecordedLoops()
    # A poll far longer than the test: only the API's notice can start the new workspace.
    loops = WorkspaceLoops(tenancy.installation, start_loops=recorded, poll_seconds=3600)
    loops.start()
    try:
        assert loops.running() == ["acme", "default"]
        with tenancy.client(tenancy.admin_keys["default"]) as admin:
            assert admin.post("/api/v1/workspaces", json={"id": "globex"}).status_code == 201
            assert _eventually(lambda: "globex" in loops.running())
            assert recorded.started.count("globex") == 1
            assert admin.post("/api/v1/workspaces/acme/archive").status_code == 200
            # The loops' thread drops it from running() first, then stops its loops:
            # wait for the stop, which comes last.
            assert _eventually(lambda: recorded.stopped == ["acme"])
        assert "acme" not in loops.running() and recorded.stopped == ["acme"]
        assert sorted(loops.running()) == ["default", "globex"]
    finally:
        loops.stop()
    assert sorted(recorded.stopped) == ["acme", "default", "globex"]


def test_a_workspace_created_by_another_process_starts_at_the_next_poll(
    tenancy: Tenancy,
) -> None:
    recorded = RecordedLoops()
    loops = WorkspaceLoops(tenancy.installation, start_loops=recorded, poll_seconds=0.1)
    loops.start()
    try:
        # What `veille workspaces create` does in its own process: the register only.
        tenancy.installation.tenancy.create_workspace("initech")
        assert _eventually(lambda: "initech" in loops.running())
        assert recorded.started.count("initech") == 1
    finally:
        loops.stop()


def test_one_workspace_that_cannot_start_leaves_the_others_running(tenancy: Tenancy) -> None:
    recorded = RecordedLoops()

    def fragile(ctx: ServiceContext) -> list[Callable[[], None]]:
        if ctx.workspace_id == "broken":
            raise RuntimeError("cannot open its stores")
        return recorded(ctx)

    loops = WorkspaceLoops(tenancy.installation, start_loops=fragile, poll_seconds=0.1)
    loops.start()
    try:
        tenancy.installation.tenancy.create_workspace("broken")
        tenancy.installation.tenancy.create_workspace("later")
        assert _eventually(lambda: "later" in loops.running())
        assert "broken" not in loops.running() and "default" in loops.running()
    finally:
        loops.stop()


def test_an_archived_workspace_keeps_only_its_retention_until_unarchived(
    tenancy: Tenancy,
) -> None:
    full, retention = RecordedLoops(), RecordedLoops()
    loops = WorkspaceLoops(
        tenancy.installation, start_loops=full, start_archived=retention, poll_seconds=3600
    )
    loops.start()
    try:
        assert loops.retaining() == []
        tenancy.installation.tenancy.archive_workspace("acme")
        loops.sync()
        assert loops.running() == ["default"]
        assert loops.retaining() == ["acme"]  # its personal data still expires
        assert retention.started == ["acme"]
        tenancy.installation.tenancy.unarchive_workspace("acme")
        loops.sync()
        assert loops.running() == ["acme", "default"] and loops.retaining() == []
        assert retention.stopped == ["acme"]
        assert full.started.count("acme") == 2
    finally:
        loops.stop()


def test_a_deleted_workspace_s_retention_stops(tenancy: Tenancy) -> None:
    from services.runtime.app.workspace_deletion import delete_workspace

    full, retention = RecordedLoops(), RecordedLoops()
    loops = WorkspaceLoops(
        tenancy.installation, start_loops=full, start_archived=retention, poll_seconds=3600
    )
    loops.start()
    try:
        tenancy.installation.tenancy.archive_workspace("acme")
        loops.sync()
        assert loops.retaining() == ["acme"]
        delete_workspace(tenancy.installation, "acme", actor="cli", actor_kind="cli")
        loops.sync()
        # The deletion also woke the loops' thread, whose own sync may be the one that
        # takes acme out and stops its retention, just after ours returns.
        assert _eventually(lambda: retention.stopped == ["acme"])
        assert loops.retaining() == [] and retention.stopped == ["acme"]
        assert loops.running() == ["default"]
    finally:
        loops.stop()
