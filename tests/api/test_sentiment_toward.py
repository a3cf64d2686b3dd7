"""Sentiment toward one brand in search and charts: `negative:Veloria` and
/stats/sentiment?toward=Veloria read each mention's sentiment toward that name, not its
overall label ("J'adore mon Veloria mais le SAV de Trekko..." is negative overall)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from services.core.models import Sentiment, SentimentLabel
from services.core.query.matcher import keyword_values
from services.runtime.app.context import ServiceContext
from tests.factories import BASE_TIME, make_mention

NEG = Sentiment(label=SentimentLabel.NEGATIVE, score=0.9)
NEU = Sentiment(label=SentimentLabel.NEUTRAL, score=0.6)
POS = Sentiment(label=SentimentLabel.POSITIVE, score=0.8)
WINDOW = {
    "since": (BASE_TIME - timedelta(days=10)).isoformat(),
    "until": (BASE_TIME + timedelta(days=1)).isoformat(),
}

MIXED = [  # negative overall, positive toward Veloria
    make_mention(
        id=f"mixed{i}",
        text="J'adore mon Veloria mais le SAV de Trekko est une catastrophe",
        brands=["Veloria"],
        competitors=["Trekko"],
        sentiment=NEG,
        brand_sentiments={"Veloria": POS, "Trekko": NEG},
        published_at=BASE_TIME - timedelta(days=i),
    )
    for i in range(2)
]
PLAIN = make_mention(  # no sentiment toward a name of its own: its overall one counts
    id="plain",
    text="Veloria ouvre un magasin à Lyon",
    brands=["Veloria"],
    sentiment=NEU,
    published_at=BASE_TIME - timedelta(days=3),
)
UNRELATED = make_mention(
    id="other", text="Trekko en promo", brands=[], competitors=["Trekko"], sentiment=POS
)


def test_the_filters_read_each_names_own_sentiment() -> None:
    mixed = MIXED[0]
    assert keyword_values(mixed, "positive") == ["veloria"]
    assert keyword_values(mixed, "negative") == ["trekko"]
    assert keyword_values(mixed, "sentiment") == ["negative"]
    assert keyword_values(PLAIN, "neutral") == ["veloria"]
    unjudged = make_mention(brands=["Veloria"], sentiment=None)
    assert all(keyword_values(unjudged, label) == [] for label in ("negative", "positive"))


@pytest.fixture
def seeded(ctx: ServiceContext) -> ServiceContext:
    ctx.index.upsert([*MIXED, PLAIN, UNRELATED])
    return ctx


def test_search_by_the_sentiment_toward_a_brand(seeded: ServiceContext, client: TestClient) -> None:
    def ids(q: str) -> set[str]:
        body = client.get("/api/v1/mentions", params={"q": q, "limit": 50}).json()
        return {m["id"] for m in body["mentions"]}

    assert ids("brand:Veloria sentiment:negative") == {"mixed0", "mixed1"}  # overall
    assert ids("negative:Veloria") == set()
    assert ids("positive:Veloria") == {"mixed0", "mixed1"}
    assert ids("neutral:veloria") == {"plain"}
    assert ids("negative:Trekko") == {"mixed0", "mixed1"}
    assert ids("positive:Trekko") == {"other"}


def test_sentiment_over_time_toward_a_brand(seeded: ServiceContext, client: TestClient) -> None:
    def totals(**params: str) -> tuple[int, dict[str, int], int]:
        body = client.get("/api/v1/stats/sentiment", params={**WINDOW, **params}).json()
        by: dict[str, int] = {}
        for bucket in body["buckets"]:
            assert bucket["count"] == sum(bucket["by"].values())
            for label, n in bucket["by"].items():
                by[label] = by.get(label, 0) + n
        return body["total"], by, len(body["buckets"])

    overall = totals(q="brand:Veloria")
    toward = totals(toward="Veloria")
    assert overall[:2] == (3, {"negative": 2, "neutral": 1})
    assert toward[:2] == (3, {"positive": 2, "neutral": 1})
    assert toward[2] == overall[2] >= 11  # the same daily buckets, empty days included
    assert totals(toward="Trekko")[:2] == (3, {"negative": 2, "positive": 1})
    assert totals(toward="Nobody")[:2] == (0, {})
    too_long = client.get("/api/v1/stats/sentiment", params={"toward": "x" * 201})
    assert too_long.status_code == 422 and "toward" in too_long.json()["detail"]
    empty = client.get("/api/v1/stats/sentiment", params={"toward": ""})
    assert empty.status_code == 422 and "toward" in empty.json()["detail"]


def test_share_of_voice_says_how_each_name_is_judged(
    seeded: ServiceContext, client: TestClient
) -> None:
    body = client.get("/api/v1/stats/share-of-voice", params={"brand": "Veloria", **WINDOW}).json()
    shares = {s["name"]: s for s in body["shares"]}
    veloria, trekko = shares["Veloria"], shares["Trekko"]
    assert (veloria["count"], trekko["count"]) == (3, 3)
    assert veloria["sentiment"] == {"negative": 0, "neutral": 1, "positive": 2}
    assert trekko["sentiment"] == {"negative": 2, "neutral": 0, "positive": 1}
    assert veloria["net_sentiment"] == 1.0
    assert trekko["net_sentiment"] == round((1 - 2) / 3, 4)
