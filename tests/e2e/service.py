"""Runs `veille` as a real subprocess against a temporary workspace, for end-to-end tests."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import yaml

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A port nothing listens on now. Another process may take it before its user binds
    it: servers in this process should bind port 0 themselves (tests/smtp_server.py), and
    `VeilleProcess.start` moves to another port when it finds this one taken."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def write_workspace(folder: Path, *, sources: list[dict[str, Any]], **settings: Any) -> Path:
    """A workspace watching Veloria (and Trekko), storing everything under `folder`."""
    config = folder / "config"
    config.mkdir(parents=True, exist_ok=True)
    base_settings: dict[str, Any] = {
        "data_dir": str(folder / "data"),
        "demo_data": False,
        "store": {
            "state_url": f"sqlite:///{folder}/data/veille.db",
            "index_url": f"embedded:{folder}/data/index",
        },
        "collector": {"allowed_networks": ["127.0.0.0/8"], "timeout_seconds": 10},
        "api": {"port": free_port()},
    }
    for key, value in settings.items():
        if isinstance(value, dict):
            base_settings.setdefault(key, {}).update(value)
        else:
            base_settings[key] = value
    workspace = {
        "brands": [{"name": "Veloria", "aliases": ["@veloria"], "competitors": ["Trekko"]}],
        "competitors": [{"name": "Trekko"}],
        "sources": sources,
        "settings": base_settings,
    }
    (config / "veille.yaml").write_text(yaml.safe_dump(workspace), encoding="utf-8")
    return config


class VeilleProcess:
    """`veille up` in a subprocess, with helpers to call its API."""

    def __init__(self, config: Path, *, cwd: Path | None = None) -> None:
        self.config = config
        self.cwd = cwd or config.parent
        workspace = yaml.safe_load((config / "veille.yaml").read_text(encoding="utf-8"))
        self.port = workspace["settings"]["api"]["port"]
        self.base = f"http://127.0.0.1:{self.port}/api/v1"
        self.log_path = self.cwd / f"veille-{time.monotonic_ns()}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.key: str | None = None

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Runs another `veille` command on the same workspace."""
        return subprocess.run(
            [sys.executable, "-m", "services.cli", *args, "--config", str(self.config)],
            cwd=self.cwd,
            env=_env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def start(self, ready: Callable[[], bool] | None = None) -> None:
        """Starts `veille up` and waits for the API to answer its health check, or for
        `ready` instead (then no key is made): a service whose stores are down answers
        its health check only after their retries, which a busy machine stretches."""
        condition = self._health_answers if ready is None else self._running_and(ready)
        # `veille up` must be given a port number, free when chosen but not held: another
        # test's server may take it before veille binds it. Then veille exits at once saying
        # so, and it is started again on another port (three tries).
        for attempt in range(3):
            log = self.log_path.open("wb")
            self.process = subprocess.Popen(
                veille_at_a_terminal("up", "--config", str(self.config)),
                cwd=self.cwd,
                env=_env(),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            log.close()
            try:
                self.wait_for(
                    condition,
                    timeout=180,
                    what="the API to answer" if ready is None else "the service to be ready",
                )
                break
            except AssertionError:
                if attempt == 2 or not _PORT_TAKEN.search(self.log()):
                    raise
                self._move_to(free_port())
        if self.key is None and ready is None:
            result = self.cli("keys", "create", "--name", "e2e", "--quiet")
            assert result.returncode == 0, result.stderr
            self.key = result.stdout.strip()

    def _move_to(self, port: int) -> None:
        workspace = yaml.safe_load((self.config / "veille.yaml").read_text(encoding="utf-8"))
        workspace["settings"]["api"]["port"] = port
        (self.config / "veille.yaml").write_text(yaml.safe_dump(workspace), encoding="utf-8")
        self.port = port
        self.base = f"http://127.0.0.1:{port}/api/v1"

    def _health_answers(self) -> bool:
        return self._health() is not None

    def _running_and(self, ready: Callable[[], bool]) -> Callable[[], bool]:
        def condition() -> bool:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"veille up exited early:\n{self.log()}")
            return ready()

        return condition

    def _health(self) -> dict[str, Any] | None:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"veille up exited early:\n{self.log()}")
        try:
            response = httpx.get(f"{self.base}/health", timeout=5)
        except httpx.HTTPError:
            return None
        body: dict[str, Any] = response.json()
        return body

    def health(self) -> dict[str, Any]:
        body = self._health()
        assert body is not None
        return body

    def get(self, path: str, **params: Any) -> Any:
        response = httpx.get(
            f"{self.base}{path}", params=params, headers={"X-API-Key": self.key or ""}, timeout=30
        )
        response.raise_for_status()
        return response.json()

    def post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        return httpx.post(
            f"{self.base}{path}", json=body, headers={"X-API-Key": self.key or ""}, timeout=30
        )

    def all_mention_ids(self, q: str = "") -> list[str]:
        ids: list[str] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"q": q, "limit": 100}
            if cursor:
                params["cursor"] = cursor
            page = self.get("/mentions", **params)
            ids += [m["id"] for m in page["mentions"]]
            cursor = page["next_cursor"]
            if not cursor:
                return ids

    def wait_for(self, condition: Callable[[], Any], *, timeout: float, what: str) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = condition()
            if result:
                return result
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what}\n{self.log()}")

    def kill(self) -> None:
        """kill -9: no chance to clean up."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)

    def stop(self) -> int:
        """Ctrl-C, as a user would; returns the exit code."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-6000:]


# Ctrl-C as a terminal gives it: a runner started in the background ignores SIGINT, and
# an ignored signal survives exec. The command is exec'd by this bare interpreter after
# resetting it (not by a preexec_fn, unsafe in a process with threads, as xdist's are).
_WITH_DEFAULT_SIGNALS = [
    sys.executable,
    "-c",
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
    "signal.pthread_sigmask(signal.SIG_SETMASK, set()); "
    "os.execv(sys.executable, [sys.executable, *sys.argv[1:]])",
]


def veille_at_a_terminal(*args: str) -> list[str]:
    """The command line of `veille ARGS` from this checkout, with Ctrl-C (SIGINT) at its
    default as in a terminal, whatever the test runner inherited."""
    return [*_WITH_DEFAULT_SIGNALS, "-m", "services.cli", *args]


# What `veille up` says when its port is taken: its own check, or uvicorn's bind error.
_PORT_TAKEN = re.compile(r"cannot\s+listen\s+on|address\s+already\s+in\s+use", re.IGNORECASE)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO)
    env["HF_HUB_OFFLINE"] = "1"
    env.pop("VEILLE_CONFIG", None)
    return env


def rss(items: list[dict[str, str]], *, title: str = "Test feed") -> bytes:
    """A small RSS 2.0 document."""
    entries = "".join(
        f"<item><title>{i['title']}</title><link>{i['link']}</link>"
        f"<description>{i['text']}</description>"
        f"<pubDate>{i.get('date', 'Fri, 20 Nov 2026 10:00:00 GMT')}</pubDate></item>"
        for i in items
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{title}</title><link>http://example.org/</link>{entries}</channel></rss>"
    ).encode()


def dumps(value: Any) -> str:
    return json.dumps(value, indent=1, ensure_ascii=False)
