"""Runs `veille` as a user runs it: a subprocess of this checkout, in a bare environment.

The one runner of the tests that call the command line and wait for it to finish;
`tests/bounded_run.py` measures a run's time and memory, `tests/e2e/service.py` keeps the
service running.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# Nothing inherited from the test run but PATH: a setting the test does not pass is unset.
# The models are read from the local cache only, and tables are wide enough not to wrap.
BASE_ENV = {
    "PATH": "/usr/bin:/bin",
    "PYTHONPATH": str(REPO),
    "HF_HUB_OFFLINE": "1",
    "COLUMNS": "200",
}


def veille(
    *args: str,
    env: Mapping[str, str] | None = None,
    cwd: Path = REPO,
    input: str | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    """`veille ARGS` from this checkout (run in `cwd`), in `BASE_ENV` plus `env`, with
    `input` on its standard input; its output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        cwd=cwd,
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**BASE_ENV, **(env or {})},
    )
