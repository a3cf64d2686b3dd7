"""Adding topics through the API (promoting an emerging one), over real stores, the real
model and the real pipeline: kept across restarts, picked up by a running analyzer."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from services.api.app import create_app
from services.core.topics import Topic
from services.core.workspace import Workspace
from services.runtime.app.context import ServiceContext
from services.runtime.workers.reanalyze import job_spec, run_job
from tests.api.conftest import WORKSPACE
from tests.api.test_topics_api import APP as APP_POSTS
from tests.api.test_topics_api import OTHERS, WINDOW
from tests.api.test_topics_api import THEFT as THEFT_POSTS
from tests.factories import BASE_TIME, make_mention

DELIVERY = Topic(
    name="delivery",
    description="Livraison du vélo, retards / delivery of the bike, delays",
    examples=["Toujours pas livré après un mois", "My bike delivery is three weeks late"],
)
THEFT = {
    "name": "theft",
    "description": "Vol de vélo, antivol / bike theft, stolen e-bikes, locks",
    "examples": [
        "Vélo volé cette nuit dans le local à vélos, l'antivol a été scié.",
        "My e-bike was stolen outside the office, the lock was cut in broad daylight.",
        "Second e-bike theft in my street this month, thieves cut a heavy chain lock.",
    ],
}
STOLEN = "On m'a volé mon Veloria devant la gare hier soir, l'antivol a été coupé."


@pytest.fixture
def topics_ctx(ctx: ServiceContext) -> ServiceContext:
    ctx.workspace = Workspace(**{**WORKSPACE.model_dump(), "topics": [DELIVERY.model_dump()]})
    return ctx


@pytest.fixture
def api(topics_ctx: ServiceContext, api_key: str) -> Iterator[TestClient]:
    with TestClient(create_app(topics_ctx), headers={"X-API-Key": api_key}) as client:
        yield client


def test_an_added_topic_is_listed_apart_from_the_yaml_ones_and_survives_a_restart(
    topics_ctx: ServiceContext, api: TestClient, api_key: str
) -> None:
    added = api.post("/api/v1/topics", json=THEFT)
    assert added.status_code == 201, added.text
    assert added.json()["origin"] == "api" and added.json()["added_at"]
    listed = api.get("/api/v1/topics").json()
    assert [(t["name"], t["origin"]) for t in listed] == [
        ("delivery", "workspace"),
        ("theft", "api"),
    ]

    # A restart: a new context and app over the same data folder.
    restarted = ServiceContext(topics_ctx.settings, topics_ctx.workspace)
    try:
        with TestClient(create_app(restarted), headers={"X-API-Key": api_key}) as again:
            names = [t["name"] for t in again.get("/api/v1/topics").json()]
            assert names == ["delivery", "theft"]
            assert again.delete("/api/v1/topics/theft").status_code == 204
            assert [t["name"] for t in again.get("/api/v1/topics").json()] == ["delivery"]
    finally:
        restarted.close()


def test_name_clashes_and_yaml_topics_are_refused_with_a_clear_message(api: TestClient) -> None:
    clash = api.post("/api/v1/topics", json={**THEFT, "name": "Delivery"})
    assert clash.status_code == 409
    assert "'delivery' is defined in the workspace YAML" in clash.json()["detail"]
    assert api.post("/api/v1/topics", json=THEFT).status_code == 201
    twice = api.post("/api/v1/topics", json=THEFT)
    assert twice.status_code == 409 and "already added" in twice.json()["detail"]

    yaml_delete = api.delete("/api/v1/topics/delivery")
    assert yaml_delete.status_code == 409 and "remove it there" in yaml_delete.json()["detail"]
    missing = api.delete("/api/v1/topics/weather")
    assert missing.status_code == 404 and "'weather'" in missing.json()["detail"]
    assert [t["name"] for t in api.get("/api/v1/topics").json()] == ["delivery", "theft"]
    slashed = {**THEFT, "name": "parts & repairs/spares"}
    assert api.post("/api/v1/topics", json=slashed).status_code == 201
    assert api.delete("/api/v1/topics/parts & repairs/spares").status_code == 204


def test_bad_topics_are_refused_and_an_unreadable_file_is_left_alone(
    topics_ctx: ServiceContext, api: TestClient
) -> None:
    short = api.post("/api/v1/topics", json={"name": "x", "description": "no"})
    assert short.status_code == 422
    path = Path(topics_ctx.settings.data_dir) / "topics.json"
    path.write_text('{"topics": [{"name": "theft"', encoding="utf-8")  # a truncated file
    refused = api.post("/api/v1/topics", json=THEFT)
    assert refused.status_code == 503 and "fix or remove it" in refused.json()["detail"]
    assert path.read_text(encoding="utf-8") == '{"topics": [{"name": "theft"'
    assert [t["name"] for t in api.get("/api/v1/topics").json()] == ["delivery"]


def test_the_running_analyzer_tags_with_a_promoted_topic_from_its_next_batch(
    topics_ctx: ServiceContext, api: TestClient
) -> None:
    analyzer = topics_ctx.analyzer
    mention = make_mention(id="s1", text=STOLEN, brands=[], topics=[])
    [before] = analyzer.analyze([mention])
    assert "theft" not in before.topics

    assert api.post("/api/v1/topics", json=THEFT).status_code == 201
    [after] = analyzer.analyze([mention])
    assert after.topics == ["theft"]

    assert api.delete("/api/v1/topics/theft").status_code == 204
    [removed] = analyzer.analyze([mention])
    assert "theft" not in removed.topics
    # Corrections now accept the added topic's name only while it exists.
    topics_ctx.index.upsert([after])
    refused = api.post("/api/v1/mentions/s1/topics", json={"topics": ["theft"]})
    assert refused.status_code == 422 and "the workspace's topics are: delivery" in refused.text


def test_reanalyze_gives_a_promoted_topic_to_stored_mentions(
    topics_ctx: ServiceContext, api: TestClient
) -> None:
    stored = make_mention(id="s2", text=STOLEN, brands=[], topics=[], published_at=BASE_TIME)
    topics_ctx.index.upsert([stored])
    assert api.post("/api/v1/topics", json=THEFT).status_code == 201
    spec = job_spec(since=BASE_TIME - timedelta(days=1), until=None, query="")
    job = topics_ctx.state.create_reanalysis_job(spec)
    assert run_job(topics_ctx, job["id"], yield_to_inbox=False)["done"] == 1
    relabelled = topics_ctx.index.get("s2")
    assert relabelled is not None and relabelled.topics == ["theft"]


def test_an_emerging_group_is_promoted_from_its_draft_and_then_assigned(
    topics_ctx: ServiceContext, api: TestClient
) -> None:
    day = BASE_TIME - timedelta(days=2)
    languages = ["fr", "fr", "en", "en"] * 2
    posts = list(zip(THEFT_POSTS + APP_POSTS, languages, strict=True))
    topics_ctx.index.upsert(
        [
            make_mention(id=f"e{i}", text=t, language=lang, published_at=day + timedelta(minutes=i))
            for i, (t, lang) in enumerate([*posts, *OTHERS])
        ]
    )
    report = api.get("/api/v1/topics/emerging", params=WINDOW).json()
    group = next(t for t in report["topics"] if {"e1", "e2", "e3"} <= set(t["mention_ids"]))
    draft = group["draft"]
    assert draft["examples"] == [e["text"] for e in group["examples"]]
    assert set(draft["name"].split("-")) <= set(group["terms"])

    promoted = api.post("/api/v1/topics", json={**draft, "name": "theft"})
    assert promoted.status_code == 201, promoted.text
    [stolen] = topics_ctx.analyzer.analyze([make_mention(id="new", text=STOLEN, topics=[])])
    assert "theft" in stolen.topics
