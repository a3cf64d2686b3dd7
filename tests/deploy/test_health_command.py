"""`veille health`: the health check of the processes without an HTTP port."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.e2e.service import REPO, write_workspace


def veille_health(config: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli", "health", "--config", str(config)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), **env},
    )


def test_healthy_when_both_stores_answer(tmp_path: Path) -> None:
    result = veille_health(write_workspace(tmp_path, sources=[]))
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["status"] == "ok" and body["mentions"] == 0 and body["collectors"] == 0


def test_unhealthy_without_a_traceback_or_the_password_when_a_store_is_down(
    tmp_path: Path,
) -> None:
    down = "postgresql+psycopg://veille:hunter2-secret@127.0.0.1:1/veille"
    result = veille_health(write_workspace(tmp_path, sources=[]), VEILLE_STORE__STATE_URL=down)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr + result.stdout
    assert "hunter2-secret" not in result.stderr + result.stdout
    assert "state store" in result.stderr + result.stdout
