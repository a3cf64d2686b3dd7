"""Re-analysis in the background of the real service (real analyzer, stores and API)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from services.core.models import Sentiment, SentimentLabel
from services.runtime.app.context import ServiceContext
from tests.factories import BASE_TIME, make_mention

STALE = Sentiment(label=SentimentLabel.NEUTRAL, score=0.123)  # what an "old model" said
TEXTS = [
    "Mon Veloria est tombé en panne au bout de deux jours, service client injoignable.",
    "J'adore mon Veloria, il est léger et la batterie tient une semaine !",
    "Veloria's delivery was late again and nobody answers the phone. Awful.",
    "Great ride on my new Veloria today, best purchase this year.",
]


def _seed(ctx: ServiceContext, count: int) -> None:
    ctx.index.upsert(
        [
            make_mention(
                id=f"r{i:03d}",
                text=f"{TEXTS[i % len(TEXTS)]} (avis {i})",
                sentiment=STALE,
                topics=["old-topic"],
                published_at=BASE_TIME + timedelta(minutes=i),
            )
            for i in range(count)
        ]
    )


def test_reanalysis_runs_in_the_background_and_keeps_corrections(
    ctx: ServiceContext, client: TestClient
) -> None:
    _seed(ctx, 100)
    corrected = client.post("/api/v1/mentions/r001/sentiment", json={"label": "negative"})
    assert corrected.status_code == 201  # against what the model will say about it

    started = client.post("/api/v1/reanalyze", json={"since": "2026-10-01T00:00:00Z"})
    assert started.status_code == 202, started.text
    job_id = started.json()["id"]

    answered_while_running = 0
    slowest = 0.0
    deadline = time.monotonic() + 240
    while True:
        job = client.get(f"/api/v1/reanalyze/{job_id}").json()
        if job["status"] in ("done", "failed"):
            break
        assert time.monotonic() < deadline, job
        before = time.monotonic()
        assert client.get("/api/v1/mentions", params={"limit": 5}).status_code == 200
        assert client.get("/api/v1/health").status_code == 200
        slowest = max(slowest, time.monotonic() - before)
        answered_while_running += 1
        time.sleep(0.05)
    assert job["status"] == "done", job
    assert job["done"] == job["total"] == 100
    assert answered_while_running > 0
    assert slowest < 5.0  # the API never waited for the job

    mentions = client.get("/api/v1/mentions", params={"limit": 200}).json()["mentions"]
    by_id = {m["id"]: m for m in mentions}
    assert all(m["sentiment"]["score"] != STALE.score for m in mentions)  # all re-analyzed
    corrected_label = by_id["r001"]["sentiment"]
    assert (corrected_label["label"], corrected_label["score"], corrected_label["source"]) == (
        "negative",
        1.0,
        "analyst",
    )
    assert by_id["r005"]["sentiment"]["label"] == "positive"  # same text as r001, not a copy
    # topics follow the current taxonomy, which has no "old-topic"
    assert not any("old-topic" in m["topics"] for m in mentions)


def test_reanalysis_refuses_bad_requests(ctx: ServiceContext, client: TestClient) -> None:
    cases = [
        ({"since": "yesterday"}, "since"),
        ({"since": "7x"}, "since"),
        ({"since": "7d", "until": "99999999d"}, "until"),  # before year 1: not a time
        ({"since": "1d", "until": "7d"}, "must be after"),  # relative, in the wrong order
        ({"since": "2026-11-02", "until": "2026-11-01"}, "must be after"),
        ({"since": "2026-11-01", "query": "(veloria OR"}, "character 12"),
    ]
    for payload, needle in cases:
        response = client.post("/api/v1/reanalyze", json=payload)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert needle in response.json()["detail"]
    assert client.get("/api/v1/reanalyze").json() == []
    missing = client.get("/api/v1/reanalyze/nope")
    assert missing.status_code == 404 and "nope" in missing.json()["detail"]


def test_reanalysis_takes_times_before_now_as_search_does(
    ctx: ServiceContext, client: TestClient
) -> None:
    started = client.post("/api/v1/reanalyze", json={"since": "7d", "until": "12h"})
    assert started.status_code == 202, started.text
    spec = started.json()["spec"]
    now = datetime.now(UTC)
    since, until = datetime.fromisoformat(spec["since"]), datetime.fromisoformat(spec["until"])
    assert abs(since - (now - timedelta(days=7))) < timedelta(minutes=1)
    assert abs(until - (now - timedelta(hours=12))) < timedelta(minutes=1)
    job_id = started.json()["id"]
    deadline = time.monotonic() + 60
    while client.get(f"/api/v1/reanalyze/{job_id}").json()["status"] not in ("done", "failed"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
