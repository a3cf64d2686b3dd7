"""An archived workspace's personal data stays erasable, exportable and expiring, and
`veille erase` is audited with its receipt's id; run as a user runs them (subprocesses)
on real SQLite stores."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from services.store.contracts import MentionFilter
from services.store.embedded.index import EmbeddedIndex
from services.store.state.tenancy import TenancyStore
from tests.cli_runner import veille
from tests.e2e.service import write_workspace
from tests.factories import make_mention

NOW = datetime.now(UTC)
pytestmark = pytest.mark.slow  # several `veille` processes


def test_an_archived_workspace_can_still_be_erased_exported_and_expired(tmp_path: Path) -> None:
    config = write_workspace(tmp_path, sources=[], retention={"days": {"x": 30}})
    args = ["--config", str(config)]
    assert veille("workspaces", "create", "globex", *args).returncode == 0
    index = EmbeddedIndex(str(tmp_path / "data" / "workspaces" / "globex" / "index"))
    index.upsert(
        [make_mention(id=f"jd{i}", author="jdupont", text=f"Veloria {i}") for i in range(3)]
        + [
            make_mention(
                id=f"old{i}",
                author="marie",
                source_kind="x",
                text=f"Veloria ancien {i}",
                published_at=NOW - timedelta(days=40 + i),
            )
            for i in range(4)
        ]
    )
    index.close()
    assert veille("workspaces", "archive", "globex", *args).returncode == 0
    globex = ["--workspace", "globex"]

    exported = tmp_path / "jd.json"
    result = veille(*globex, "gdpr", "export", "--author", "jdupont", "-o", str(exported), *args)
    assert result.returncode == 0, result.stderr
    assert len(json.loads(exported.read_text(encoding="utf-8"))["mentions_by_author"]) == 3

    erased = veille(*globex, "erase", "--author", "@jdupont", *args)
    assert erased.returncode == 0, erased.stderr
    receipt = json.loads(erased.stdout)
    assert receipt["requested_by"] == "cli"
    assert sum(receipt["counts"]["mentions"].values()) == 3

    applied = veille(*globex, "retention", "apply", *args)
    assert applied.returncode == 0, applied.stderr
    assert "x: deleted 4" in applied.stdout

    tenancy = TenancyStore(f"sqlite:///{tmp_path}/data/veille.db")
    try:
        entries = tenancy.audit(workspace="globex", kind="erasure")
        assert [(e.action, e.target, e.actor) for e in entries] == [
            ("create", receipt["id"], "cli")
        ]
        assert "jdupont" not in repr(entries)
    finally:
        tenancy.close()

    # Still refused for what an archived workspace no longer does.
    assert veille(*globex, "collect", "--once", *args).returncode == 2
    back = veille("workspaces", "unarchive", "globex", *args)
    assert back.returncode == 0, back.stderr
    listed = veille("workspaces", "list", *args)
    assert "globex" in listed.stdout
    assert veille("workspaces", "unarchive", "globex", *args).returncode == 2  # not archived


def test_veille_workspaces_delete_refuses_counts_asks_and_removes(tmp_path: Path) -> None:
    config = write_workspace(tmp_path, sources=[])
    args = ["--config", str(config)]
    for ws in ("globex", "initech"):
        assert veille("workspaces", "create", ws, *args).returncode == 0
        index = EmbeddedIndex(str(tmp_path / "data" / "workspaces" / ws / "index"))
        index.upsert([make_mention(id=f"{ws}{i}", text=f"Veloria {i}") for i in range(3)])
        index.close()
    key = veille("keys", "create", "--workspace", "globex", "--name", "k", *args)
    assert key.returncode == 0, key.stderr

    refused = veille("workspaces", "delete", "default", "--yes", *args)
    assert refused.returncode == 2 and "default workspace cannot be deleted" in refused.stderr
    live = veille("workspaces", "delete", "globex", "--yes", *args)
    assert live.returncode == 2 and "archive it first" in live.stderr
    assert veille("workspaces", "archive", "globex", *args).returncode == 0

    dry = veille("workspaces", "delete", "globex", "--dry-run", *args)
    assert dry.returncode == 0, dry.stderr
    assert "mentions 3" in dry.stdout and "keys 1" in dry.stdout
    assert "nothing removed" in dry.stdout
    data = tmp_path / "data" / "workspaces"
    assert (data / "globex" / "index").exists()
    declined = veille("workspaces", "delete", "globex", *args, input="n\n")
    assert declined.returncode == 1 and (data / "globex").exists()

    deleted = veille("workspaces", "delete", "globex", "--yes", *args)
    assert deleted.returncode == 0, deleted.stderr
    assert "deleted workspace globex" in deleted.stdout
    assert not (data / "globex").exists() and (data / "initech" / "index").exists()
    listed = veille("workspaces", "list", *args).stdout
    assert "globex" not in listed and "initech" in listed
    again = veille("workspaces", "delete", "globex", "--yes", *args)
    assert again.returncode == 2 and "no workspace 'globex'" in again.stderr
    kept = EmbeddedIndex(str(data / "initech" / "index"))
    try:
        assert kept.count(MentionFilter()) == 3
    finally:
        kept.close()
