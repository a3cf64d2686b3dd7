"""Corrections over the real API, embedded index and SQLite state store."""

from __future__ import annotations

from fastapi.testclient import TestClient

from services.core.models import Sentiment, SentimentLabel
from services.core.topics import Topic
from services.runtime.app.context import ServiceContext
from services.runtime.training.corrections import with_stored_corrections
from tests.factories import make_mention

TEXT = "Le SAV de Veloria a répondu en deux heures, franchement rien à redire."


def _seed_duplicates(ctx: ServiceContext) -> None:
    model = Sentiment(label=SentimentLabel.NEGATIVE, score=0.7)
    ctx.index.upsert(
        [
            make_mention(id="a", text=TEXT, brands=["Veloria"], sentiment=model),
            # The same text reposted elsewhere, with other case, accents and spacing.
            make_mention(
                id="b",
                source_name="other",
                text="  le sav de VELORIA a repondu en deux heures,\nfranchement rien à redire. ",
                brands=["Veloria"],
                sentiment=model,
                brand_sentiments={"Veloria": model},
            ),
            # Same opening words, different ending: not a duplicate.
            make_mention(
                id="c",
                text="Le SAV de Veloria a répondu en deux heures, puis plus rien du tout.",
                brands=["Veloria"],
                sentiment=model,
            ),
        ]
    )


def test_sentiment_correction_applies_to_the_mention_and_its_exact_duplicates(
    ctx: ServiceContext, client: TestClient
) -> None:
    _seed_duplicates(ctx)
    response = client.post("/api/v1/mentions/a/sentiment", json={"label": "positive"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert sorted(body["updated"]) == ["a", "b"]
    assert body["correction"]["author"] == "tests"
    for mention_id in ("a", "b"):
        sentiment = client.get(f"/api/v1/mentions/{mention_id}").json()["sentiment"]
        assert sentiment == {
            "label": "positive",
            "score": 1.0,
            "source": "analyst",
            "evidence": None,
        }
    untouched = client.get("/api/v1/mentions/c").json()["sentiment"]
    assert untouched["label"] == "negative" and untouched["source"] == "model"
    # Searchable by the corrected label at once.
    found = client.get("/api/v1/mentions", params={"q": "sentiment:positive"}).json()
    assert {m["id"] for m in found["mentions"]} == {"a", "b"}


def test_brand_sentiment_and_topics_corrections(ctx: ServiceContext, client: TestClient) -> None:
    _seed_duplicates(ctx)
    response = client.post(
        "/api/v1/mentions/b/sentiment", json={"label": "positif", "brand": "Veloria"}
    )
    assert response.status_code == 201, response.text
    mention = client.get("/api/v1/mentions/a").json()
    assert mention["brand_sentiments"]["Veloria"]["source"] == "analyst"
    assert mention["sentiment"]["source"] == "model"  # overall left as the model said

    response = client.post("/api/v1/mentions/a/topics", json={"topics": ["SAV", " SAV ", "délai"]})
    assert response.status_code == 201, response.text
    mention = client.get("/api/v1/mentions/b").json()
    assert mention["topics"] == ["SAV", "délai"] and mention["topics_source"] == "analyst"
    assert client.get("/api/v1/mentions", params={"q": "topic:sav"}).json()["total"] == 2

    listed = client.get("/api/v1/corrections").json()
    assert [(c["field"], c["brand"], c["label"]) for c in listed] == [
        ("topics", None, ["SAV", "délai"]),
        ("sentiment", "Veloria", "positive"),
    ]


def test_with_a_taxonomy_only_its_topics_are_accepted(
    ctx: ServiceContext, client: TestClient
) -> None:
    _seed_duplicates(ctx)
    delivery = Topic(name="delivery", description="parcels late", examples=["colis en retard"])
    ctx.workspace = ctx.workspace.model_copy(update={"topics": [delivery]})

    refused = client.post("/api/v1/mentions/a/topics", json={"topics": ["delivery", "SAV"]})
    assert refused.status_code == 422, refused.text
    assert "'SAV'" in refused.json()["detail"] and "delivery" in refused.json()["detail"]
    assert client.get("/api/v1/mentions/a").json()["topics_source"] == "model"  # unchanged

    accepted = client.post("/api/v1/mentions/a/topics", json={"topics": ["delivery"]})
    assert accepted.status_code == 201, accepted.text
    assert client.get("/api/v1/mentions/b").json()["topics"] == ["delivery"]


def test_bad_corrections_are_problems_and_change_nothing(
    ctx: ServiceContext, client: TestClient
) -> None:
    _seed_duplicates(ctx)
    cases = [
        ("/api/v1/mentions/a/sentiment", {"label": "furious"}, 422, "label"),
        ("/api/v1/mentions/a/sentiment", {"label": "negative", "brand": "Trekko"}, 422, "Trekko"),
        ("/api/v1/mentions/a/sentiment", {"label": "negative", "extra": 1}, 422, "extra"),
        ("/api/v1/mentions/a/topics", {"topics": ["  "]}, 422, "blank"),
        ("/api/v1/mentions/a/topics", {"topics": "SAV"}, 422, "topics"),
        ("/api/v1/mentions/nope/sentiment", {"label": "negative"}, 404, "nope"),
    ]
    for url, payload, status, needle in cases:
        response = client.post(url, json=payload)
        assert response.status_code == status, (payload, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert needle in response.json()["detail"]
        assert "Traceback" not in response.text
    assert client.get("/api/v1/corrections").json() == []
    assert client.get("/api/v1/mentions/a").json()["sentiment"]["source"] == "model"


def test_corrections_need_an_api_key(ctx: ServiceContext, client: TestClient) -> None:
    _seed_duplicates(ctx)
    response = client.post(
        "/api/v1/mentions/a/sentiment", json={"label": "positive"}, headers={"X-API-Key": ""}
    )
    assert response.status_code == 401
    assert client.get("/api/v1/corrections", headers={"X-API-Key": "bad"}).status_code == 401


def test_stored_corrections_label_new_copies(ctx: ServiceContext, client: TestClient) -> None:
    _seed_duplicates(ctx)
    client.post("/api/v1/mentions/a/sentiment", json={"label": "positive"})
    fresh = make_mention(
        id="new",
        text=TEXT.upper(),
        sentiment=Sentiment(label=SentimentLabel.NEGATIVE, score=0.6),
    )
    other = make_mention(id="other", text="Rien à voir")
    labelled = with_stored_corrections(ctx.state, [fresh, other])
    assert labelled[0].sentiment == Sentiment(
        label=SentimentLabel.POSITIVE, score=1.0, source="analyst"
    )
    assert labelled[1] == other


def test_the_worker_gives_a_new_copy_the_analyst_label(
    ctx: ServiceContext, client: TestClient
) -> None:
    from services.runtime.workers.analysis import process_batch
    from tests.factories import make_item

    _seed_duplicates(ctx)
    client.post("/api/v1/mentions/a/sentiment", json={"label": "positive"})
    client.post("/api/v1/mentions/a/topics", json={"topics": ["SAV"]})
    copy = make_item(
        source_name="imported", platform_id="copy-1", title="", text=TEXT.replace(" ", "  ")
    )
    ctx.state.enqueue_items([copy])

    outcome = process_batch(ctx)

    assert outcome.stored == 1
    stored = client.get(f"/api/v1/mentions/{copy.mention_id}").json()
    assert stored["sentiment"] == {
        "label": "positive",
        "score": 1.0,
        "source": "analyst",
        "evidence": None,
    }
    assert stored["topics"] == ["SAV"] and stored["topics_source"] == "analyst"
    assert stored["brands"] == ["Veloria"]  # the rest is the analyzer's
