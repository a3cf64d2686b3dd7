"""`veille health`: the health check of the processes without an HTTP port."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.cli_runner import veille
from tests.e2e.service import VeilleProcess, write_workspace
from tests.ports import refusing_port


def veille_health(config: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`veille health` on the workspace `config`, with `env` added."""
    return veille("health", "--config", str(config), env=env, timeout=120)


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


def test_elasticsearch_down_says_so_after_one_short_try_without_tracebacks(tmp_path: Path) -> None:
    with refusing_port() as port:
        url = f"http://127.0.0.1:{port}"
        result = veille_health(write_workspace(tmp_path, sources=[]), VEILLE_STORE__INDEX_URL=url)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    # One short try, not the index's retries (a line each) nor the transport's warnings.
    assert "retrying" not in result.stderr and "elastic_transport" not in result.stderr
    assert len(result.stderr.splitlines()) <= 2, result.stderr
    index = json.loads(result.stdout)["index"]
    assert f"cannot reach Elasticsearch at {url} (one try of 0.5 s)" in index, index


def test_a_server_that_is_not_elasticsearch_is_named_as_such(tmp_path: Path) -> None:
    from tests.httpserver import HTTPTestServer

    with HTTPTestServer() as server:
        server.add("/", body=b"<html>hello</html>", headers={"Content-Type": "text/html"})
        result = veille_health(
            write_workspace(tmp_path, sources=[]), VEILLE_STORE__INDEX_URL=server.base_url
        )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert len(result.stderr.splitlines()) <= 10, result.stderr
    index = json.loads(result.stdout)["index"]
    assert "not an Elasticsearch server" in index, index
    assert "mimetype" not in index


def test_up_with_elasticsearch_down_logs_no_tracebacks(tmp_path: Path) -> None:
    with refusing_port() as port:
        down = {"index_url": f"http://127.0.0.1:{port}"}
        up = VeilleProcess(write_workspace(tmp_path, sources=[], demo_data=False, store=down))
        try:
            # Ready once an alert evaluation has failed (its health check, with the index
            # down, waits out the index's retries); on another port if its own is taken.
            up.start(ready=lambda: "alert evaluation failed" in up.log())
        finally:
            up.stop()
    text = up.log_path.read_text(encoding="utf-8", errors="replace")
    assert "alert evaluation failed (Elasticsearch cannot reach it" in text, text
    assert "Traceback" not in text
