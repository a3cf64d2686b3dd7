"""`veille collect` (scheduled mode) as a container runs it: two processes on one state
store, real feeds on a local HTTP server, stopped with SIGTERM like `docker stop`."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import sqlalchemy as sa

from tests.e2e.service import REPO, write_workspace
from tests.httpserver import HTTPTestServer

RSS = (
    '<rss version="2.0"><channel><item><title>Veloria</title>'
    "<link>https://example.org{path}</link><description>Veloria bikes</description>"
    "</item></channel></rss>"
)


def start_collector(config: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "services.cli", "collect", "--config", str(config),
         "--lease-seconds", "6"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"},
    )  # fmt: skip


def test_two_collect_processes_share_the_feeds_and_release_them_on_sigterm(
    tmp_path: Path,
) -> None:
    names = [f"feed{i}" for i in range(4)]
    with HTTPTestServer() as server:
        for name in names:
            server.add(f"/{name}.xml", body=RSS.format(path=f"/{name}").encode())
        config = write_workspace(
            tmp_path,
            sources=[
                {"name": name, "url": server.url(f"/{name}.xml"), "interval_minutes": 1}
                for name in names
            ],
        )
        procs = [start_collector(config)]
        time.sleep(1.0)  # the first one migrates the fresh store
        procs.append(start_collector(config))
        engine = sa.create_engine(f"sqlite:///{tmp_path}/data/veille.db")
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if all(server.requests_for(f"/{name}.xml") for name in names):
                    break
                time.sleep(0.2)
            assert all(server.requests_for(f"/{name}.xml") for name in names)
            # The collectors even out (2 feeds each) within a few heartbeats (2 s).
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                with engine.connect() as conn:
                    owners = conn.execute(
                        sa.text("SELECT name, owner FROM leases WHERE name LIKE 'source:%'")
                    ).all()
                per_owner = sorted(Counter(owner for _, owner in owners).values())
                if per_owner == [2, 2]:
                    break
                time.sleep(0.5)
            assert per_owner == [2, 2], owners
            assert sorted(name for name, _ in owners) == [f"source:{n}" for n in names]
            # Within one interval each feed was fetched once: a feed handed over is next
            # fetched one interval after its previous owner fetched it, not at once.
            assert all(len(server.requests_for(f"/{name}.xml")) == 1 for name in names)
            for proc in procs:
                proc.send_signal(signal.SIGTERM)
            for proc in procs:
                assert proc.wait(60) == 0, proc.stderr.read() if proc.stderr else ""
            with engine.connect() as conn:
                left = conn.execute(sa.text("SELECT count(*) FROM leases")).scalar()
            assert left == 0  # handed over at once, not after the lease time
        finally:
            engine.dispose()
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
                proc.wait(10)
                for stream in (proc.stdout, proc.stderr):
                    if stream is not None:
                        stream.close()
