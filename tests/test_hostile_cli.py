"""`veille` against hostile servers, measured from outside the process.

Each command runs as a user runs it (a child process, a real SQLite state store, real
servers on 127.0.0.1) and is timed, and its peak memory read, by the parent
(`tests.bounded_run`): a runaway fetch or allocation cannot hide its own cost.
"""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from services.core.models import ErrorKind
from services.store.state.sql import SqlStateStore
from tests.bounded_run import run_bounded, veille
from tests.collector.test_hostile_servers import rss
from tests.hostile_server import DripServer
from tests.httpserver import HTTPTestServer

# The child's start-up (imports) dominates under a loaded CI machine; the bounds below
# are what a hang or a runaway would blow through, not speed targets.
START_UP_SECONDS = 45


@pytest.fixture
def drip() -> Iterator[DripServer]:
    with DripServer(interval=0.05) as server:
        yield server


def _workspace(
    tmp_path: Path, sources: dict[str, str], *, timeout: float, port: int = 18_931
) -> Path:
    lines = ["brands:", "  - name: Veloria", "sources:" if sources else "sources: []"]
    for name, url in sources.items():
        lines += [f"  - name: {name}", f"    url: {url}", "    keep: all"]
    lines += [
        "settings:",
        f"  data_dir: {tmp_path}/data",
        "  demo_data: false",
        "  store:",
        f"    state_url: sqlite:///{tmp_path}/data/veille.db",
        f"    index_url: embedded:{tmp_path}/data/index",
        "  api:",
        f"    port: {port}",
        "  collector:",
        "    allowed_networks: [127.0.0.0/8]",
        f"    timeout_seconds: {timeout}",
        "    max_items_per_run: 100",
    ]
    folder = tmp_path / "config"
    folder.mkdir()
    (folder / "veille.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def test_collect_once_is_bounded_by_the_deadline_with_slow_and_huge_sources(
    tmp_path: Path, drip: DripServer, server: HTTPTestServer
) -> None:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    huge = [
        (f"item {n}", f"http://example.org/h/{n}", start + timedelta(minutes=n))
        for n in range(2_000)
    ]
    server.add("/huge.xml", body=rss(huge).encode())
    server.add("/good.xml", body=rss([("Veloria", "http://example.org/g", start)]).encode())
    sources = {
        **{f"slow-{n}": drip.url(f"/s{n}.xml") for n in range(4)},
        "huge": server.url("/huge.xml"),
        "good": server.url("/good.xml"),
    }
    config = _workspace(tmp_path, sources, timeout=2)

    done = run_bounded(veille("collect", "--once", "--config", str(config)), timeout=240)

    assert not done.killed and done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert done.seconds < START_UP_SECONDS + 30, f"took {done.seconds:.0f} s"
    assert done.peak_rss_mb < 1_000, f"peak memory {done.peak_rss_mb:.0f} MB"
    with SqlStateStore(f"sqlite:///{tmp_path}/data/veille.db") as state:
        statuses = {s.name: s for s in state.list_source_statuses()}
        assert statuses["good"].state == "ok" and statuses["huge"].last_items == 100
        for n in range(4):
            assert statuses[f"slow-{n}"].last_error_kind is ErrorKind.TIMEOUT
        assert state.inbox_counts()["pending"] == 101


@pytest.mark.parametrize("command", [["collect"], ["collect", "--once"], ["up"]], ids=" ".join)
def test_ctrl_c_stops_promptly_while_a_fetch_drips(
    tmp_path: Path, drip: DripServer, command: list[str]
) -> None:
    # A 120 s deadline: only cancelling the fetch can make shutdown prompt.
    config = _workspace(tmp_path, {"slow": drip.url("/feed.xml")}, timeout=120)
    interrupted: dict[str, float] = {}

    def interrupt_once_fetching(process: subprocess.Popen[bytes], elapsed: float) -> None:
        if drip.connections and not interrupted:
            process.send_signal(signal.SIGINT)
            interrupted["at"] = elapsed

    done = run_bounded(
        veille(*command, "--config", str(config)),
        timeout=START_UP_SECONDS + 60,
        during=interrupt_once_fetching,
    )

    assert interrupted, f"the collector never fetched: {done.stdout}{done.stderr}"
    assert not done.killed, f"did not stop on Ctrl-C; it said last: {done.stderr[-1500:]}"
    stopping = done.seconds - interrupted["at"]
    assert stopping < 15, f"took {stopping:.1f} s to stop after Ctrl-C"
    assert "Traceback" not in done.stdout + done.stderr


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ("javascript:alert(1)", "javascript URLs are not collected"),
        ("http://xn--/feed", "redirect to an invalid URL"),
    ],
)
def test_preview_of_a_hostile_redirect_is_a_message(
    tmp_path: Path, server: HTTPTestServer, location: str, expected: str
) -> None:
    server.redirect("/feed.xml", location)
    config = _workspace(tmp_path, {}, timeout=5)
    done = run_bounded(
        veille("sources", "preview", server.url("/feed.xml"), "--config", str(config)),
        timeout=START_UP_SECONDS + 30,
    )
    assert done.returncode == 1 and not done.killed
    assert "Traceback" not in done.stdout + done.stderr
    assert expected in done.stdout + done.stderr
