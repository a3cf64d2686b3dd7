"""Runs a command in a child process and measures it from outside: wall time and peak
memory (the child's own rusage, from `os.wait4`), killing it at a time limit.

The command is started by a small launcher (`_LAUNCHER`): a process forked straight
from pytest would count pytest's own memory in its peak (Linux keeps the high-water
mark across exec), so the launcher, a bare interpreter, forks and execs it, forwards
SIGINT and SIGTERM to it, and reports its rusage. The command starts with both signals
at their defaults, whatever the test runner inherited.

Hostile-input tests assert bounds this way rather than from inside the process under
test, where a runaway loop or allocation would take the measurement down with it.

    done = run_bounded([sys.executable, "-m", "services.cli", "config", "check"], timeout=60)
    assert not done.killed and done.seconds < 30 and done.peak_rss_mb < 400
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

_LAUNCHER = """
import os, signal, sys
out, command = sys.argv[1], sys.argv[2:]
pid = os.fork()
if pid == 0:
    # Ctrl-C as a terminal gives it: a runner started in the background (where SIGINT
    # is ignored, and an ignored signal survives exec) must not make Python skip its
    # KeyboardInterrupt handler in the command under test.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, set())
    os.execvp(command[0], command)
for sig in (signal.SIGINT, signal.SIGTERM):
    signal.signal(sig, lambda number, frame: os.kill(pid, number))
while True:
    try:
        _, status, usage = os.wait4(pid, 0)
        break
    except InterruptedError:
        continue
with open(out, "w") as f:
    f.write(str(usage.ru_maxrss))
code = os.waitstatus_to_exitcode(status)
sys.exit(code if code >= 0 else 128 - code)
"""


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
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.NamedTemporaryFile("r") as rss,
    ):
        started = time.monotonic()
        process = subprocess.Popen(
            [sys.executable, "-S", "-c", _LAUNCHER, rss.name, *command],
            cwd=REPO,
            env=full_env,
            stdout=out,
            stderr=err,
            start_new_session=True,  # so a kill at the time limit reaches the command too
        )
        killed = False
        while process.poll() is None:
            elapsed = time.monotonic() - started
            if elapsed > timeout:
                os.killpg(process.pid, signal.SIGKILL)
                killed = True
                process.wait()
                break
            if during is not None:
                during(process, elapsed)
            time.sleep(0.05)
        seconds = time.monotonic() - started
        peak_kb = int(rss.read().strip() or 0)
        out.seek(0)
        err.seek(0)
        return Bounded(
            returncode=process.returncode,
            stdout=out.read().decode("utf-8", errors="replace"),
            stderr=err.read().decode("utf-8", errors="replace"),
            seconds=seconds,
            peak_rss_mb=peak_kb / 1024,  # Linux reports KB
            killed=killed,
        )
