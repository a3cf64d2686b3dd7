"""How `veille` prints: help that reflows whole sentences, options prompted for not marked
required, tables not cut when piped (real `veille` subprocesses)."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.service import REPO, write_workspace

pytestmark = pytest.mark.slow  # `veille` subprocesses


def _veille(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO), **env},
    )


def _commands_rows(help_text: str) -> list[list[str]]:
    """The description lines of each row of the help's Commands panel."""
    lines = help_text.split("Commands")[1].splitlines()[1:]
    rows: list[list[str]] = []
    for line in lines:
        if not line.startswith("│"):
            break
        inner = line.strip("│")
        _name, _, description = inner.strip().partition("  ")
        if inner[:3].strip():  # a command's name starts the row
            rows.append([description.strip()])
        else:
            rows[-1].append(inner.strip())
    return rows


@pytest.mark.parametrize("command", [[], ["triage"]], ids=["veille", "triage"])
def test_command_lists_reflow_whole_sentences(command: list[str]) -> None:
    result = _veille(*command, "--help", COLUMNS="80")
    assert result.returncode == 0, result.stderr
    rows = _commands_rows(result.stdout)
    assert len(rows) >= 5
    width = max(len(line) for row in rows for line in row)
    for row in rows:
        # a line is only ever broken where the next word does not fit: a docstring's own
        # line breaks ('...the same command),' then the rest) left lines half empty.
        for line, following in itertools.pairwise(row):
            assert len(line) + 1 + len(following.split()[0]) > width, row


def test_a_password_asked_for_is_not_marked_required(tmp_path: Path) -> None:
    help_text = _veille("users", "set-password", "--help", COLUMNS="120").stdout
    option = help_text[help_text.index("--password") : help_text.index("--config")]
    assert "asked for" in option and "required" not in option
    config = str(write_workspace(tmp_path, sources=[]))
    assert _veille("users", "add", "Alice", "--config", config).returncode == 0
    done = _veille(
        "users", "set-password", "Alice", "--config", config, VEILLE_NEW_PASSWORD="s3cret-pw-42"
    )
    assert done.returncode == 0, done.stderr
    assert "password set for Alice" in done.stdout


def test_piped_tables_keep_their_cells_whole(tmp_path: Path) -> None:
    source = {"name": "blog-velo-reviews", "kind": "feed", "url": "http://blog.invalid/f.xml"}
    config = str(write_workspace(tmp_path, sources=[source]))
    piped = _veille("sources", "status", "--config", config)  # no COLUMNS: rich's 80
    assert piped.returncode == 0, piped.stderr
    assert "…" not in piped.stdout
    row = next(line for line in piped.stdout.splitlines() if "blog-velo-reviews" in line)
    assert row.split("│")[2].strip() == "never_run"
    assert "last run figures" in piped.stdout
    narrow = _veille("sources", "status", "--config", config, COLUMNS="60")
    assert "…" in narrow.stdout  # a width asked for is still obeyed
