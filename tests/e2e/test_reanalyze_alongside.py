"""`veille reanalyze` in its own process while `veille up` serves: the API keeps answering,
writers take turns on the embedded index, and an analyst's correction survives."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from services.core.models import Sentiment, SentimentLabel
from services.store.embedded.index import EmbeddedIndex
from tests.e2e.service import VeilleProcess, _env, write_workspace
from tests.factories import BASE_TIME, make_mention

STALE = Sentiment(label=SentimentLabel.NEUTRAL, score=0.111)
TEXTS = [
    "Mon Veloria est tombé en panne au bout de deux jours, service client injoignable.",
    "J'adore mon Veloria, il est léger et la batterie tient une semaine !",
    "Veloria's delivery was late again and nobody answers the phone. Awful.",
]


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_reanalyze_process_runs_alongside_the_service(tmp_path: Path) -> None:
    config = write_workspace(tmp_path, sources=[])
    index = EmbeddedIndex(str(tmp_path / "data" / "index"))
    index.upsert(
        [
            make_mention(
                id=f"e{i:02d}",
                text=f"{TEXTS[i % 3]} (post {i})",
                sentiment=STALE,
                published_at=BASE_TIME + timedelta(minutes=i),
            )
            for i in range(48)
        ]
    )
    index.close()
    veille = VeilleProcess(config)
    veille.start()
    job: subprocess.Popen[str] | None = None
    try:
        corrected = veille.post("/mentions/e01/sentiment", {"label": "negative"})
        assert corrected.status_code == 201, corrected.text
        job = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "services.cli",
                "reanalyze",
                "--since",
                "2026-10-01",
                "--batch-size",
                "8",
                "--config",
                str(config),
            ],
            cwd=tmp_path,
            env=_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        slowest, answered = 0.0, 0
        while job.poll() is None:
            before = time.monotonic()
            assert veille.get("/mentions", limit=5)["total"] == 48
            veille.health()
            slowest = max(slowest, time.monotonic() - before)
            answered += 1
            time.sleep(0.2)
        _, stderr = job.communicate()
        assert job.returncode == 0, stderr
        assert "re-analyzed 48 mention(s)" in stderr
        assert answered > 0 and slowest < 5.0
        mentions = veille.get("/mentions", limit=100)["mentions"]
        assert all(m["sentiment"]["score"] != STALE.score for m in mentions)
        by_id = {m["id"]: m for m in mentions}
        assert by_id["e01"]["sentiment"] == {
            "label": "negative",
            "score": 1.0,
            "source": "analyst",
            "evidence": None,
        }
        jobs = veille.get("/reanalyze")
        assert [(j["status"], j["done"]) for j in jobs] == [("done", 48)]
    finally:
        if job is not None and job.poll() is None:
            job.kill()
        veille.stop()
