"""How `veille` prints: help that reflows whole sentences, options prompted for not marked
required, tables not cut when piped (real `veille` subprocesses)."""

from __future__ import annotations

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


