"""Several collector processes share the sources by leases (real processes, real SIGKILL).

Each process (`lease_worker.py`) runs a real CollectorScheduler with a SourcePartition
on the same state store (SQLite file, or PostgreSQL when configured); only its `collect`
is a stand-in that records every run in a shared file with its owner and times.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.store.state.leases import LeaseStore
from services.store.state.sql import SqlStateStore

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [f"src{i}" for i in range(6)]
TTL = 1.5  # seconds: heartbeats every 0.5 s


Run = tuple[str, str, float, float]  # owner, source, started, finished


def read_runs(path: Path) -> list[Run]:
    runs: list[Run] = []
    if not path.exists():
        return runs
    for line in path.read_text(encoding="utf-8").splitlines():
        owner, source, started, finished = line.split()
        runs.append((owner, source, float(started), float(finished)))
    return runs


def owners_since(runs: list[Run], since: float) -> dict[str, set[str]]:
    by_source: dict[str, set[str]] = defaultdict(set)
    for owner, source, started, _ in runs:
        if started >= since:
            by_source[source].add(owner)
    return by_source


def wait_for(condition: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.1)


@pytest.fixture
def start_worker(state_url: str, tmp_path: Path) -> Iterator[object]:
    SqlStateStore(state_url).close()  # migrate once, before the workers race
    procs: list[subprocess.Popen[str]] = []
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def start(owner: str) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.collector.lease_worker",
                state_url,
                str(tmp_path / "runs.txt"),
                owner,
                str(TTL),
                *SOURCES,
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        procs.append(proc)
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "started"
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()


def test_two_collectors_split_the_sources_and_survive_a_kill(
    start_worker: object,
    state_url: str,
    tmp_path: Path,
) -> None:
    runs_file = tmp_path / "runs.txt"
    first = start_worker("alpha")  # type: ignore[operator]
    start_worker("beta")  # type: ignore[operator]

    # Balanced within a few heartbeats: 3 sources each, every source collected.
    time.sleep(3 * TTL)
    window = time.time()
    time.sleep(2.0)
    split = owners_since(read_runs(runs_file), window)
    assert set(split) == set(SOURCES), "a source was forgotten"
    assert all(len(owners) == 1 for owners in split.values()), split
    per_owner: defaultdict[str, int] = defaultdict(int)
    for owners in split.values():
        per_owner[next(iter(owners))] += 1
    assert dict(per_owner) == {"alpha": 3, "beta": 3}

    # Never two runs of one source at the same time, handovers included.
    by_source: dict[str, list[Run]] = defaultdict(list)
    for run in read_runs(runs_file):
        by_source[run[1]].append(run)
    for runs in by_source.values():
        runs.sort(key=lambda r: r[2])
        for before, after in itertools.pairwise(runs):
            assert after[2] >= before[3], f"overlapping runs {before} {after}"

    # SIGKILL alpha: it releases nothing; beta takes its sources once the leases expire.
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    killed = time.time()
    leases = LeaseStore(state_url)
    try:
        assert "alpha" in set(leases.live(prefix="source:").values())
        wait_for(
            lambda: set(owners_since(read_runs(runs_file), killed + TTL)) == set(SOURCES),
            timeout=10 * TTL,
        )
        handed_over = owners_since(read_runs(runs_file), killed + TTL)
        assert all(owners == {"beta"} for owners in handed_over.values()), handed_over
        taken = min(
            r[2]
            for r in read_runs(runs_file)
            if r[0] == "beta"
            and r[2] > killed
            and r[1] in {s for s, o in split.items() if o == {"alpha"}}
        )
        assert taken - killed < 3 * TTL  # one ttl plus a heartbeat or two
        assert set(leases.live(prefix="source:").values()) == {"beta"}
    finally:
        leases.close()
