"""`veille retention`, `veille erase`, `veille gdpr export`, run as a user runs them (a
subprocess) on a real workspace: an erasure killed mid-way resumes and completes, and
posts by the erased author collected afterwards are dropped at ingest."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from services.core.models import RawItem
from services.store.contracts import MentionFilter
from services.store.embedded.index import EmbeddedIndex
from services.store.state import open_state
from services.store.state.governance import ErasureJob, GovernanceStore
from tests.cli_runner import veille
from tests.e2e.service import REPO, write_workspace
from tests.factories import make_mention

NOW = datetime.now(UTC)
BY_AUTHOR = 1500
OTHERS = 40
pytestmark = pytest.mark.slow  # several `veille` processes


@pytest.fixture
def config(tmp_path: Path) -> Path:
    folder = write_workspace(tmp_path, sources=[], retention={"days": {"x": 30}})
    index = EmbeddedIndex(str(tmp_path / "data" / "index"))
    mentions = [
        make_mention(
            id=f"jd{i:05d}",
            author="jdupont",
            text=f"Veloria message {i}",
            published_at=NOW - timedelta(minutes=i),
        )
        for i in range(BY_AUTHOR)
    ] + [
        make_mention(
            id=f"o{i:03d}",
            author="marie",
            source_kind="x",
            text=f"Veloria autre {i}",
            published_at=NOW - timedelta(days=i),
        )
        for i in range(OTHERS)
    ]
    for first in range(0, len(mentions), 500):
        index.upsert(mentions[first : first + 500])
    index.close()
    return folder


def _state_url(config: Path) -> str:
    workspace = yaml.safe_load((config / "veille.yaml").read_text(encoding="utf-8"))
    return str(workspace["settings"]["store"]["state_url"])


def _job(config: Path) -> ErasureJob | None:
    """The only erasure job, or None while the process has not recorded it yet."""
    try:
        store = GovernanceStore(_state_url(config))
    except Exception:  # the database is being created and migrated
        return None
    try:
        jobs = store.erasures()
    except Exception:
        return None
    finally:
        store.close()
    return jobs[0] if jobs else None


def _index_ids(config: Path) -> set[str]:
    index = EmbeddedIndex(str(config.parent / "data" / "index"))
    try:
        return {m.id for m in index.iter_all(MentionFilter())}
    finally:
        index.close()


def test_an_erasure_killed_mid_way_resumes_and_completes(config: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "services.cli", "erase", "--author", "@JDupont"]
    log = config.parent / "erase.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [*command, "--batch-size", "5", "--config", str(config)],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )
    deadline = time.monotonic() + 120
    job = None
    try:
        while time.monotonic() < deadline:
            job = _job(config)
            if job is not None and job.step == "mentions" and job.progress >= 100:
                break
            assert process.poll() is None, log.read_text(encoding="utf-8")
            time.sleep(0.02)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(30)
    assert job is not None and job.status == "running"
    killed = _job(config)
    assert killed is not None and killed.status == "running"
    assert 100 <= killed.progress < BY_AUTHOR, "the kill must land mid-way"
    assert killed.identifier is not None  # kept until done, to resume

    resumed = veille("erase", "--resume", "--config", str(config))
    assert resumed.returncode == 0, resumed.stderr
    done = _job(config)
    assert done is not None and done.status == "done" and done.identifier is None
    assert done.counts["mentions"] == {"feed": BY_AUTHOR}
    assert done.counts["stories"] == BY_AUTHOR
    assert json.loads(resumed.stdout)["counts"]["mentions_total"] == BY_AUTHOR
    assert _index_ids(config) == {f"o{i:03d}" for i in range(OTHERS)}
    assert "jdupont" not in (resumed.stdout + resumed.stderr).lower()


def test_posts_collected_after_an_erasure_are_dropped_at_ingest(config: Path) -> None:
    erased = veille("erase", "--author", "jdupont", "--config", str(config))
    assert erased.returncode == 0, erased.stderr
    assert json.loads(erased.stdout)["counts"]["mentions_total"] == BY_AUTHOR
    assert "jdupont" not in (erased.stdout + erased.stderr).lower()

    state = open_state(_state_url(config))
    try:
        # The same post collected again, a new one by the author, one naming them, one not.
        again = RawItem(
            source_kind="feed",
            source_name="test-feed",
            url="https://www.example.org/posts/again",
            text="Veloria message 3",
            author="jdupont",
            published_at=NOW,
        )
        about = again.model_copy(
            update={"url": "https://www.example.org/p/2", "author": "lea", "text": "@jdupont a dit"}
        )
        other = again.model_copy(
            update={"url": "https://www.example.org/p/3", "author": "lea", "text": "Veloria ok"}
        )
        assert state.enqueue_items([again, about, other]) == 3
    finally:
        state.close()
    analyzed = veille("analyze", "--config", str(config))
    assert analyzed.returncode == 0, analyzed.stderr
    ids = _index_ids(config)
    assert other.mention_id in ids
    assert again.mention_id not in ids and about.mention_id not in ids
    assert len(ids) == OTHERS + 1
    assert "jdupont" not in (analyzed.stdout + analyzed.stderr).lower()


def test_retention_and_erasure_commands(config: Path, tmp_path: Path) -> None:
    dry = veille("retention", "apply", "--dry-run", "--config", str(config))
    assert dry.returncode == 0, dry.stderr
    assert "x: would delete 10" in dry.stdout  # days 30..39 of the 40 daily posts
    applied = veille("retention", "apply", "--config", str(config))
    assert applied.returncode == 0 and "x: deleted 10" in applied.stdout
    shown = veille("retention", "show", "--config", str(config))
    assert shown.returncode == 0 and "x" in shown.stdout and "cli" in shown.stdout

    exported = tmp_path / "jd.json"
    result = veille(
        "gdpr", "export", "--author", "jdupont", "-o", str(exported), "--config", str(config)
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(exported.read_text(encoding="utf-8"))
    assert len(data["mentions_by_author"]) == BY_AUTHOR

    for args in (["--author", "   "], ["--text", ""], []):
        refused = veille("erase", *args, "--config", str(config))
        assert refused.returncode == 2, refused.stdout
        assert "error" in refused.stderr and "Traceback" not in refused.stderr
    assert _job(config) is None  # nothing was recorded

    bad = write_workspace(tmp_path / "bad", sources=[], retention={"days": {"tiktok": 30}})
    wrong = veille("retention", "apply", "--config", str(bad))
    assert wrong.returncode == 2
    assert "settings.retention.days.tiktok" in wrong.stderr
    checked = veille("config", "check", "--config", str(bad))
    assert checked.returncode == 2 and "settings.retention.days.tiktok" in checked.stderr
    zero = write_workspace(tmp_path / "zero", sources=[], retention={"days": {"x": 0}})
    refused = veille("retention", "apply", "--config", str(zero))
    assert refused.returncode == 2 and "retention.days.x" in refused.stderr
