"""Runs a command in a child process and measures it from outside: wall time and peak
memory (the child's own rusage, from `os.wait4`), killing it at a time limit.

Hostile-input tests assert bounds this way rather than from inside the process under
test, where a runaway loop or allocation would take the measurement down with it.

    done = run_bounded([sys.executable, "-m", "services.cli", "config", "check"], timeout=60)
    assert not done.killed and done.seconds < 30 and done.peak_rss_mb < 400
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Bounded:
    """How a bounded run ended."""

    returncode: int
    stdout: str
    stderr: str
    seconds: float
    peak_rss_mb: float
    killed: bool  # the time limit was reached


def veille(*args: str) -> list[str]:
    """The command line of `veille ARGS` run from this checkout."""
    import sys

    return [sys.executable, "-m", "services.cli", *args]


def run_bounded(
    command: Sequence[str],
    *,
    timeout: float,
    env: Mapping[str, str] | None = None,
    during: Callable[[subprocess.Popen[bytes], float], None] | None = None,
) -> Bounded:
    """Runs `command` (from the repository, this checkout first on PYTHONPATH) and
    waits for it, at most `timeout` seconds (then SIGKILL). `during(process, elapsed)`
    is called about every 50 ms while it runs (e.g. to send it SIGINT)."""
    full_env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        process = subprocess.Popen(command, cwd=REPO, env=full_env, stdout=out, stderr=err)
        killed = False
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            elapsed = time.monotonic() - started
            if elapsed > timeout:
                process.send_signal(signal.SIGKILL)
                killed = True
                pid, status, usage = os.wait4(process.pid, 0)
                break
            if during is not None:
                during(process, elapsed)
            time.sleep(0.05)
        seconds = time.monotonic() - started
        process.returncode = os.waitstatus_to_exitcode(status)  # keeps Popen from waiting
        out.seek(0)
        err.seek(0)
        return Bounded(
            returncode=process.returncode,
            stdout=out.read().decode("utf-8", errors="replace"),
            stderr=err.read().decode("utf-8", errors="replace"),
            seconds=seconds,
            peak_rss_mb=usage.ru_maxrss / 1024,  # Linux reports KB
            killed=killed,
        )
