"""`veille migrate`: embedded store -> Elasticsearch, resumable and verified per day.

Runs against the noida-db emulator (or ELASTICSEARCH_URL when set), so results here are
emulator results unless a cluster is configured.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest

from services.core.models import Mention
from services.store import index_copy
from services.store.contracts import MentionFilter, MentionIndex
from services.store.elastic import EsIndex, EsSettings
from services.store.embedded.index import EmbeddedIndex
from services.store.index_copy import CopyError, copy_index, mismatches, verify_days
from tests.cli_runner import REPO, veille
from tests.e2e.service import veille_at_a_terminal, write_workspace
from tests.factories import BASE_TIME, make_mention
from tests.httpserver import HTTPTestServer, RecordedRequest, Response
from tests.store.conftest import ElasticEndpoint, fresh_settings

pytestmark = pytest.mark.elasticsearch
MENTIONS = 230  # every 31 minutes from Nov 1, 12:00: six UTC days


def filled_index(path: Path, count: int) -> EmbeddedIndex:
    """An embedded index of `count` mentions, one every 31 minutes from BASE_TIME."""
    index = EmbeddedIndex(str(path), lock_timeout=10.0, writer_idle_seconds=0.2)
    index.upsert(
        [
            make_mention(id=f"mig{n:04d}", published_at=BASE_TIME + timedelta(minutes=31 * n))
            for n in range(count)
        ]
    )
    return index


@pytest.fixture
def source(tmp_path: Path) -> Iterator[EmbeddedIndex]:
    index = filled_index(tmp_path / "index", MENTIONS)
    yield index
    index.close()


@pytest.fixture
def es_settings(elastic_endpoint: ElasticEndpoint, tmp_path: Path) -> Iterator[EsSettings]:
    settings = fresh_settings(
        elastic_endpoint, label="mig", dead_letter=tmp_path / "dead-letter.jsonl"
    )
    yield settings
    index = EsIndex(settings)
    try:
        index.drop()
    finally:
        index.close()


class FailingAfter(EsIndex):
    """A real emulator-backed index whose upsert fails after `ok` batches: a fake outage
    (a cluster cannot be made to fail on cue here), to interrupt a copy midway."""

    ok = 2

    def upsert(self, mentions: Sequence[Mention], *, dead_letter_path: str | None = None) -> int:
        if self.ok == 0:
            raise ConnectionError("simulated outage")
        self.ok -= 1
        return super().upsert(mentions, dead_letter_path=dead_letter_path)


def test_an_interrupted_copy_resumes_and_verifies(
    source: EmbeddedIndex, es_settings: EsSettings, tmp_path: Path
) -> None:
    checkpoint = tmp_path / "checkpoint.json"
    flaky = FailingAfter(es_settings, refresh=False)
    try:
        with pytest.raises(CopyError, match="simulated outage"):
            copy_index(
                source,
                flaky,
                checkpoint=checkpoint,
                batch_size=50,
                source_url="embedded:src",
                target_url=es_settings.url,
            )
    finally:
        flaky.close()
    saved = json.loads(checkpoint.read_text(encoding="utf-8"))
    assert saved["copied"] == 100  # two whole batches

    target = EsIndex(es_settings, refresh=False)
    try:
        done: list[int] = []
        result = copy_index(
            source,
            target,
            checkpoint=checkpoint,
            batch_size=50,
            progress=done.append,
            source_url="embedded:src",
            target_url=es_settings.url,
        )
        # It went on from the 100th mention (re-copying only that instant), not from zero.
        assert result.resumed_from is not None
        assert result.copied == MENTIONS - 99
        assert sum(done) == result.copied
        assert target.count(MentionFilter()) == MENTIONS
        days = verify_days(source, target)
        assert len(days) == 6 and mismatches(days) == []
        assert sum(d.target for d in days) == MENTIONS
    finally:
        target.close()


def test_cli_migrates_prints_the_table_and_fails_on_a_mismatch(
    source: EmbeddedIndex, es_settings: EsSettings, tmp_path: Path
) -> None:
    source.close()  # the command opens it itself
    config = write_workspace(tmp_path / "ws", sources=[])
    env = {"ELASTICSEARCH_INDEX_PREFIX": es_settings.index_prefix}
    for name in ("ELASTICSEARCH_API_KEY", "ELASTICSEARCH_USERNAME", "ELASTICSEARCH_PASSWORD"):
        if os.environ.get(name):
            env[name] = os.environ[name]
    args = [
        "migrate", "--to", es_settings.url, "--from", f"embedded:{tmp_path / 'index'}",
        "--config", str(config), "--checkpoint", str(tmp_path / "cp.json"), "--batch-size", "64",
    ]  # fmt: skip
    first = veille(*args, env=env)
    assert first.returncode == 0, first.stderr
    assert "copied 230 mentions" in first.stdout
    assert "mentions per day" in first.stdout and "MISMATCH" not in first.stdout
    assert (
        "2026-11-01" in first.stdout and "6 days, 230 mentions in the source, 230" in first.stdout
    )

    target = EsIndex(es_settings)
    try:
        assert target.delete(["mig0000"]) == 1  # the target loses a mention of day one
    finally:
        target.close()
    second = veille(*args, env=env)
    assert second.returncode == 1
    assert "resuming from" in second.stdout
    assert "MISMATCH" in second.stdout
    assert (
        "1 day(s) differ (first: 2026-11-01, 24 in the source, 23 in the target, "
        "1 missing from the target)"
    ) in second.stderr
    assert "Traceback" not in second.stderr


def test_a_day_with_as_many_mentions_but_not_the_same_is_a_mismatch(
    source: EmbeddedIndex, es_settings: EsSettings, tmp_path: Path
) -> None:
    """One mention lost and another only in the target, on the same day: the counts agree,
    the ids do not. Found by the day's digest; the other days are not listed id by id."""
    target = EsIndex(es_settings)
    try:
        copy_index(
            source,
            target,
            checkpoint=tmp_path / "cp.json",
            source_url="embedded:src",
            target_url=es_settings.url,
        )
        assert target.delete(["mig0005"]) == 1  # lost, on Nov 1
        assert target.upsert([make_mention(id="stray", published_at=BASE_TIME)]) == 1
        listed: list[date] = []
        real = index_copy._ids_of_day

        def spy(index: MentionIndex, day: date) -> set[str]:
            listed.append(day)
            return real(index, day)

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(index_copy, "_ids_of_day", spy)
            days = verify_days(source, target)
    finally:
        target.close()
    first = days[0]
    assert (first.day.isoformat(), first.source, first.target) == ("2026-11-01", 24, 24)
    assert first.missing == 1 and first.extra_ids == ("stray",) and not first.matches
    assert mismatches(days) == [first]
    assert all(d.matches for d in days[1:])
    assert set(listed) == {first.day}  # only the differing day was read id by id


def test_cli_refuses_copying_an_index_onto_itself(tmp_path: Path) -> None:
    config = write_workspace(tmp_path / "ws", sources=[])
    result = veille(
        "migrate", "--to", "embedded:x", "--from", "embedded:x", "--config", str(config), env={}
    )
    assert result.returncode == 1
    assert "--to names the index being copied" in result.stderr


def test_cli_refuses_a_missing_embedded_index_without_creating_one(tmp_path: Path) -> None:
    config = write_workspace(tmp_path / "ws", sources=[])
    missing = tmp_path / "no-such-index"
    result = veille(
        "migrate", "--to", "http://127.0.0.1:1", "--from", f"embedded:{missing}",
        "--config", str(config), env={},
    )  # fmt: skip
    assert result.returncode == 1
    assert f"no embedded index at {missing}" in result.stderr
    assert not missing.exists()


def test_cli_killed_midway_resumes_where_it_stopped(
    source: EmbeddedIndex, es_settings: EsSettings, tmp_path: Path
) -> None:
    source.close()
    config = write_workspace(tmp_path / "ws", sources=[])
    checkpoint = tmp_path / "cp.json"
    env = {"ELASTICSEARCH_INDEX_PREFIX": es_settings.index_prefix}
    args = [
        sys.executable, "-m", "services.cli", "migrate", "--to", es_settings.url,
        "--from", f"embedded:{tmp_path / 'index'}", "--config", str(config),
        "--checkpoint", str(checkpoint), "--batch-size", "10",
    ]  # fmt: skip
    run = subprocess.Popen(
        args,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), **env},
    )
    try:
        deadline = time.monotonic() + 120
        while not checkpoint.exists() and run.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        run.send_signal(signal.SIGKILL)  # no chance to clean up
    finally:
        run.wait(30)
    copied = json.loads(checkpoint.read_text(encoding="utf-8"))["copied"]
    assert 0 < copied < MENTIONS, "the run was not interrupted midway"

    resumed = veille(*args[3:], env=env)
    assert resumed.returncode == 0, resumed.stderr
    assert f"({copied} mentions copied before" in resumed.stdout
    assert "MISMATCH" not in resumed.stdout
    assert f"{MENTIONS} mentions in the source, {MENTIONS} in the target" in resumed.stdout


def test_cli_migrates_every_workspace_into_indices_of_its_own(
    es_settings: EsSettings, tmp_path: Path
) -> None:
    """`--all-workspaces`: each workspace's embedded index into its own prefix; without
    it, only the selected workspace (`--workspace`, default `default`)."""
    config = write_workspace(tmp_path / "ws", sources=[])
    data = tmp_path / "ws" / "data"
    env = {"ELASTICSEARCH_INDEX_PREFIX": es_settings.index_prefix}
    for name in ("ELASTICSEARCH_API_KEY", "ELASTICSEARCH_USERNAME", "ELASTICSEARCH_PASSWORD"):
        if os.environ.get(name):
            env[name] = os.environ[name]
    created = veille("workspaces", "create", "acme", "--config", str(config), env=env)
    assert created.returncode == 0, created.stderr
    for folder, label, count in ((data, "alpha", 3), (data / "workspaces" / "acme", "bravo", 5)):
        index = EmbeddedIndex(str(folder / "index"))
        index.upsert([make_mention(id=f"{label}{i}", text=label) for i in range(count)])
        index.close()

    def held(prefix: str) -> list[str]:
        target = EsIndex(dataclasses.replace(es_settings, index_prefix=prefix))
        try:
            return sorted(m.id for m in target.iter_all(MentionFilter()))
        finally:
            target.close()

    acme_prefix = f"{es_settings.index_prefix}-ws-acme"
    try:
        one = veille(
            "--workspace", "acme", "migrate", "--to", es_settings.url, "--config", str(config),
            env=env,
        )  # fmt: skip
        assert one.returncode == 0, one.stderr
        assert held(acme_prefix) == [f"bravo{i}" for i in range(5)]
        assert held(es_settings.index_prefix) == []  # the default workspace was not copied

        every = veille(
            "migrate", "--to", es_settings.url, "--config", str(config), "--all-workspaces",
            env=env,
        )  # fmt: skip
        assert every.returncode == 0, every.stderr
        assert "workspace default:" in every.stdout and "workspace acme:" in every.stdout
        assert held(es_settings.index_prefix) == [f"alpha{i}" for i in range(3)]
        assert held(acme_prefix) == [f"bravo{i}" for i in range(5)]

        # Now served from the cluster: `reindex` visits each workspace's indices.
        on_cluster = {**env, "VEILLE_STORE__INDEX_URL": es_settings.url}
        both = veille("reindex", "--config", str(config), "--all-workspaces", env=on_cluster)
        assert both.returncode == 0, both.stderr
        assert "workspace default:" in both.stdout and "workspace acme:" in both.stdout
        refused = veille(
            "migrate", "--to", es_settings.url, "--from", "embedded:x", "--all-workspaces",
            "--config", str(config), env=env,
        )  # fmt: skip
        assert refused.returncode == 2 and "own index" in refused.stderr
    finally:
        acme = EsIndex(dataclasses.replace(es_settings, index_prefix=acme_prefix))
        acme.drop()
        acme.close()


class HeldCluster:
    """The cluster behind a real HTTP relay on 127.0.0.1 that passes `passed` bulk
    requests, then holds each one after until `release()`: a cluster gone slow, and a
    copy surely midway (`held` is set) with all the rest to do, whatever the load."""

    def __init__(self, upstream: str, *, passed: int) -> None:
        self.held = threading.Event()
        self._released = threading.Event()
        self._passed = passed
        self.bulks = 0
        self._upstream = httpx.Client(base_url=upstream, timeout=60)
        self._server = HTTPTestServer()
        self._server.fallback(self._relay)

    def __enter__(self) -> HeldCluster:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
        self._server.stop()
        self._upstream.close()

    @property
    def url(self) -> str:
        return self._server.base_url

    def release(self) -> None:
        """Every request held is dropped (its client gone), every one after passes."""
        self._released.set()

    def _relay(self, request: RecordedRequest) -> Response:
        if request.path.endswith("/_bulk") and not self._released.is_set():
            self.bulks += 1
            if self.bulks > self._passed:
                self.held.set()
                self._released.wait(120)
                return Response(503)
        skip = {"host", "content-length", "connection", "accept-encoding"}
        answer = self._upstream.request(
            request.method,
            request.path + (f"?{request.query}" if request.query else ""),
            headers={k: v for k, v in request.headers.items() if k not in skip},
            content=request.body,
        )
        dropped = {"content-length", "content-encoding", "transfer-encoding", "connection"}
        headers = {k: v for k, v in answer.headers.items() if k.lower() not in dropped}
        return Response(answer.status_code, body=answer.content, headers=headers)


def test_ctrl_c_prints_the_command_that_resumes_and_exits_130(
    es_settings: EsSettings, tmp_path: Path
) -> None:
    """Ctrl-C while a bulk request hangs on a slow cluster: the copy stops at once (it
    does not wait for the request), keeps its checkpoint and prints the command that
    resumes it."""
    filled_index(tmp_path / "index", 10).close()  # the relay, not the size, holds it midway
    config = write_workspace(tmp_path / "ws", sources=[])
    checkpoint = tmp_path / "cp.json"
    env = {"ELASTICSEARCH_INDEX_PREFIX": es_settings.index_prefix}
    with HeldCluster(es_settings.url, passed=2) as cluster:
        # One mention a request: two are copied, the third hangs.
        args = [
            "migrate", "--to", cluster.url, "--from", f"embedded:{tmp_path / 'index'}",
            "--config", str(config), "--checkpoint", str(checkpoint), "--batch-size", "1",
        ]  # fmt: skip
        with (tmp_path / "err").open("w+") as err:
            run = subprocess.Popen(
                veille_at_a_terminal(*args),
                cwd=REPO,
                stdout=subprocess.DEVNULL,
                stderr=err,
                env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), **env},
            )
            stopped = False
            try:
                reached = cluster.held.wait(180)
                if reached:
                    run.send_signal(signal.SIGINT)  # Ctrl-C
                    run.wait(60)
                    stopped = True
            except subprocess.TimeoutExpired:
                pass
            finally:
                run.kill()
                run.wait()
            err.seek(0)
            stderr = err.read()
        assert reached, f"the copy never reached its third request: {stderr}"
        assert stopped, f"Ctrl-C did not stop the copy within 60 s: {stderr}"
        assert cluster.bulks == 3, f"a bulk request was sent again: {stderr}"
        cluster.release()
        copied = json.loads(checkpoint.read_text(encoding="utf-8"))["copied"]
        assert copied == 2, stderr
        assert run.returncode == 130, stderr
        assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr
        assert f"the copy so far is kept (checkpoint {checkpoint})" in stderr
        said = stderr.split("resume it with the same command:", 1)[1].strip().splitlines()[0]
        assert shlex.split(said) == ["veille", *args]  # the exact command

        resumed = veille(*shlex.split(said)[1:], env=env)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming from" in resumed.stdout and "(2 mentions copied before" in resumed.stdout
    assert "10 mentions in the source, 10 in the target" in resumed.stdout


def test_a_rerun_after_erasures_in_the_source_counts_them_apart_and_prunes(
    source: EmbeddedIndex, es_settings: EsSettings, tmp_path: Path
) -> None:
    config = write_workspace(tmp_path / "ws", sources=[])
    env = {"ELASTICSEARCH_INDEX_PREFIX": es_settings.index_prefix}
    args = [
        "migrate", "--to", es_settings.url, "--from", f"embedded:{tmp_path / 'index'}",
        "--config", str(config), "--checkpoint", str(tmp_path / "cp.json"),
    ]  # fmt: skip
    source.close()
    assert veille(*args, env=env).returncode == 0
    # Erased in the source after the copy (an erasure deletes them from the index), and
    # one mention the target lost: only that one is a loss.
    erased = EmbeddedIndex(str(tmp_path / "index"))
    assert erased.delete(["mig0001", "mig0002", "mig0100"]) == 3
    erased.close()
    target = EsIndex(es_settings)
    try:
        assert target.delete(["mig0200"]) == 1
    finally:
        target.close()

    again = veille(*args, env=env)
    assert again.returncode == 1
    assert "3 mention(s) on 2 day(s) are in the target but no longer in the source" in (
        again.stdout
    )
    assert "not a loss" in again.stdout
    assert "2 no longer in the source" in again.stdout
    assert "1 day(s) differ" in again.stderr and "1 missing from the target" in again.stderr

    # The lost one is written again by a fresh copy; the erased ones are pruned.
    (tmp_path / "cp.json").unlink()
    pruned = veille(*args, "--prune", env=env)
    assert pruned.returncode == 0, pruned.stdout + pruned.stderr
    assert "deleted 3 mention(s) from the target that the source no longer holds" in (pruned.stdout)
    assert f"{MENTIONS - 3} mentions in the source, {MENTIONS - 3} in the target" in (pruned.stdout)
    target = EsIndex(es_settings)
    try:
        assert target.get("mig0001") is None and target.get("mig0200") is not None
    finally:
        target.close()
