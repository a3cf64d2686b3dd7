"""`veille workspaces`, `veille users`, `veille keys` with roles, and `--workspace`,
run as a user runs them (subprocesses over a real SQLite file)."""

from __future__ import annotations

from pathlib import Path

from tests.cli_runner import veille
from tests.e2e.service import write_workspace


def test_workspaces_people_and_keys_from_the_command_line(tmp_path: Path) -> None:
    config = str(write_workspace(tmp_path, sources=[]))
    assert (
        veille("workspaces", "create", "acme", "--name", "Acme", "--config", config).returncode == 0
    )
    bad = veille("workspaces", "create", "Not Valid", "--config", config)
    assert bad.returncode == 2 and "invalid workspace id" in bad.stderr
    assert "Traceback" not in bad.stderr
    listing = veille("workspaces", "list", "--config", config).stdout
    assert "acme" in listing and "default" in listing

    assert (
        veille(
            "users",
            "add",
            "Alice",
            "--email",
            "alice@example.org",
            "--workspace",
            "acme",
            "--role",
            "analyst",
            "--config",
            config,
        ).returncode
        == 0
    )
    twin = veille("users", "add", "alice", "--workspace", "acme", "--config", config)
    assert twin.returncode == 2, twin.stdout
    assert (
        "a person named 'alice' already exists as 'Alice' (names must differ by more than case)"
        in " ".join(twin.stderr.split())
    )
    assert "Traceback" not in twin.stderr
    as_email = veille("users", "add", "alice@example.org", "--config", config)
    assert as_email.returncode == 2 and "may not be an email" in as_email.stderr
    assert "Traceback" not in as_email.stderr
    unknown_role = veille(
        "users", "grant", "Alice", "--workspace", "acme", "--role", "boss", "--config", config
    )
    assert unknown_role.returncode == 2 and "unknown role 'boss'" in unknown_role.stderr
    assert "acme: analyst" in veille("users", "list", "--config", config).stdout

    key = veille(
        "keys",
        "create",
        "--name",
        "alice-laptop",
        "--workspace",
        "acme",
        "--role",
        "viewer",
        "--user",
        "Alice",
        "--expires",
        "30d",
        "--quiet",
        "--config",
        config,
    ).stdout.strip()
    assert key.startswith("vk_")
    keys = veille("keys", "list", "--config", config).stdout
    assert "alice-laptop" in keys and "viewer" in keys and "Alice" in keys
    # A key above its person's role is made, but says it acts as the person's role.
    over = veille(
        "keys", "create", "--name", "a2", "--workspace", "acme", "--role", "admin",
        "--user", "Alice", "--quiet", "--config", config,
    )  # fmt: skip
    assert over.returncode == 0 and over.stdout.strip().startswith("vk_")
    assert "note: Alice is analyst of acme, so this admin key acts as analyst" in over.stderr
    assert "note:" not in veille(
        "keys", "create", "--name", "a3", "--workspace", "acme", "--role", "viewer",
        "--user", "Alice", "--config", config,
    ).stderr  # fmt: skip
    stranger = veille(
        "keys", "create", "--name", "x", "--workspace", "acme", "--user", "Bob", "--config", config
    )
    assert stranger.returncode == 2 and "no user 'Bob'" in stranger.stderr

    # --workspace selects whose data a command reads; an unknown one is a clear error.
    assert veille("--workspace", "acme", "sources", "status", "--config", config).returncode == 0
    nowhere = veille("--workspace", "nowhere", "sources", "status", "--config", config)
    assert nowhere.returncode == 2 and "no workspace 'nowhere'" in nowhere.stderr
    assert (tmp_path / "data" / "workspaces" / "acme" / "veille.db").exists() or any(
        tmp_path.rglob("workspaces/acme/veille.db")
    )

    assert veille("workspaces", "archive", "acme", "--config", config).returncode == 0
    archived = veille("--workspace", "acme", "sources", "status", "--config", config)
    assert archived.returncode == 2 and "archived" in archived.stderr
    again = veille("workspaces", "archive", "acme", "--config", config)
    assert again.returncode == 2 and "already archived" in again.stderr
