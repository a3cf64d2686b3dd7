"""Starts the noida-db Elasticsearch API emulator, for tests and benchmarks only.

noida-db's `noida-db` script is a Python wrapper that does not pass signals on to
the server binary it runs, so the binary is started directly: stopping the process
we started then stops the server.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class EmulatorUnavailable(RuntimeError):
    """noida-db is not installed or did not start."""


def _binary() -> Path:
    try:
        from importlib.resources import files

        path = Path(str(files("noida_db").joinpath("noida-db")))
    except ModuleNotFoundError as error:
        raise EmulatorUnavailable("noida-db is not installed (pip install noida-db)") from error
    if not path.is_file():
        raise EmulatorUnavailable(f"the noida-db binary is missing at {path}")
    return path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@contextmanager
def running_emulator(*, timeout: float = 30.0) -> Iterator[str]:
    """Runs the emulator on a free 127.0.0.1 port with a scratch data dir; yields its URL."""
    binary = _binary()
    data_dir = tempfile.mkdtemp(prefix="veille-noida-")
    port = _free_port()
    process = subprocess.Popen(
        [str(binary), "start", "--data-dir", data_dir, "--host", "127.0.0.1",
         "--only", "elasticsearch", "--elasticsearch-port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while not _answers(url):
            if process.poll() is not None or time.monotonic() > deadline:
                error = process.stderr.read(4000).decode(errors="replace") if process.stderr else ""
                raise EmulatorUnavailable(f"the noida-db emulator did not start: {error[-500:]}")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr:
            process.stderr.close()
        shutil.rmtree(data_dir, ignore_errors=True)
