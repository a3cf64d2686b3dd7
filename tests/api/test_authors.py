"""Authors and communities over the API: top authors, an author's profile, communities."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from services.core.models import AuthorDetails, Mention, Sentiment, SentimentLabel
from services.runtime.app.context import ServiceContext
from tests.factories import BASE_TIME, make_mention

NEG = Sentiment(label=SentimentLabel.NEGATIVE, score=0.9)
POS = Sentiment(label=SentimentLabel.POSITIVE, score=0.8)
SINCE = (BASE_TIME - timedelta(days=10)).isoformat()
UNTIL = (BASE_TIME + timedelta(days=1)).isoformat()
WINDOW = {"since": SINCE, "until": UNTIL}


def _post(
    n: int, author: str, *, followers: int | None, negative: bool, url: str, kind: str = "web"
) -> Mention:
    return make_mention(
        id=f"{author}-{n}",
        author=author,
        author_details=AuthorDetails(followers=followers) if followers is not None else None,
        brands=["Veloria"],
        sentiment=NEG if negative else POS,
        brand_sentiments={"Veloria": NEG if negative else POS},
        url=url,
        source_kind=kind,
        source_name="forum-velo" if kind == "web" else kind,
        published_at=BASE_TIME - timedelta(hours=n + 1),
    )


@pytest.fixture
def voices(ctx: ServiceContext) -> ServiceContext:
    mentions = []
    # Zoé: 4 posts on r/velo, 3 negative toward Veloria, 900 followers on Reddit.
    mentions += [
        _post(
            i,
            "Zoé",
            followers=900,
            negative=i < 3,
            url=f"https://www.reddit.com/r/velo/comments/z{i}/",
        )
        for i in range(4)
    ]
    # bob: 6 forum posts, 1 negative; the forum gives no follower count.
    mentions += [
        _post(i, "bob", followers=None, negative=i == 0, url=f"https://forum.velo.fr/t/{i}")
        for i in range(6)
    ]
    # ana: 1 Mastodon post with 50,000 followers: a timeline, not a community.
    mentions.append(
        _post(
            0,
            "ana",
            followers=50_000,
            negative=False,
            url="https://mastodon.social/@ana/1",
            kind="mastodon",
        )
    )
    # The period before: r/velo had 1 mention, the forum 6.
    mentions += [
        _post(300 + i, "old", followers=None, negative=False, url="https://forum.velo.fr/t/old")
        for i in range(6)
    ]
    mentions.append(
        _post(
            300,
            "Zoé",
            followers=800,
            negative=False,
            url="https://www.reddit.com/r/velo/comments/old/",
        )
    )
    ctx.index.upsert(mentions)
    return ctx


def test_breakdown_by_author(voices: ServiceContext, client: TestClient) -> None:
    body = client.get("/api/v1/stats/breakdown", params={"dimension": "author", **WINDOW}).json()
    assert body["counts"] == [
        {"key": "bob", "count": 6},
        {"key": "Zoé", "count": 4},
        {"key": "ana", "count": 1},
    ]


def test_top_authors_by_mentions_reach_and_negative_share(
    voices: ServiceContext, client: TestClient
) -> None:
    by_mentions = client.get("/api/v1/stats/authors", params={"brand": "veloria", **WINDOW}).json()
    assert by_mentions["brand"] == "Veloria"
    assert [(a["author"], a["mentions"], a["negative"]) for a in by_mentions["authors"]] == [
        ("bob", 6, 1),
        ("Zoé", 4, 3),
        ("ana", 1, 0),
    ]
    # Reach: followers where the platform gives them, summed over those mentions only.
    assert by_mentions["reach"] == {"mentions": 11, "counted": 5, "followers": 4 * 900 + 50_000}

    by_reach = client.get("/api/v1/stats/authors", params={"by": "reach", **WINDOW}).json()
    assert [(a["author"], a["followers"]) for a in by_reach["authors"]] == [
        ("ana", 50_000),
        ("Zoé", 900),
        ("bob", None),  # the forum gives no count: none invented
    ]
    negative = client.get(
        "/api/v1/stats/authors", params={"by": "negative", "brand": "Veloria", **WINDOW}
    ).json()
    assert [(a["author"], a["negative_share"]) for a in negative["authors"]] == [
        ("Zoé", 0.75),
        ("bob", round(1 / 6, 4)),
    ]  # ana wrote fewer than min_mentions (3)
    needs_brand = client.get("/api/v1/stats/authors", params={"by": "negative"})
    assert needs_brand.status_code == 400
    unknown = client.get("/api/v1/stats/authors", params={"brand": "Nope"})
    assert unknown.status_code == 404


def test_author_profile(voices: ServiceContext, client: TestClient) -> None:
    profile = client.get("/api/v1/authors/zoé", params={**WINDOW, "interval": "week"}).json()
    assert profile["author"] == "Zoé" and profile["followers"] == 900
    assert profile["mentions"] == 4
    assert profile["over_time"]["total"] == 4
    by_label = {"negative": 0, "positive": 0}
    for bucket in profile["over_time"]["buckets"]:
        for label, count in bucket["by"].items():
            by_label[label] += count
    assert by_label == {"negative": 3, "positive": 1}
    (veloria,) = profile["toward"]
    assert veloria["name"] == "Veloria" and veloria["sentiment"]["negative"] == 3
    assert veloria["net_sentiment"] == -0.5
    assert profile["communities"] == [{"key": "r/velo", "count": 4}]
    assert profile["sources"] == [{"key": "forum-velo", "count": 4}]
    assert client.get("/api/v1/authors/nobody", params=WINDOW).status_code == 404


def test_communities_by_volume_and_growth(voices: ServiceContext, client: TestClient) -> None:
    params = {"brand": "Veloria", **WINDOW}
    volume = client.get("/api/v1/stats/communities", params=params).json()
    rows = [
        (c["community"], c["kind"], c["mentions"], c["previous"]) for c in volume["communities"]
    ]
    assert rows == [("forum.velo.fr", "site", 6, 6), ("r/velo", "subreddit", 4, 1)]
    growth = client.get("/api/v1/stats/communities", params={"by": "growth", **params}).json()
    assert [(c["community"], c["growth"]) for c in growth["communities"]] == [
        ("r/velo", 3.0),
        ("forum.velo.fr", 0.0),
    ]
    assert growth["communities"][0]["negative"] == 3


def test_author_handles_stay_out_of_logs(
    voices: ServiceContext, client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        client.get("/api/v1/authors/zoé", params=WINDOW)
        client.get("/api/v1/stats/authors", params={"by": "reach", **WINDOW})
        client.get("/api/v1/export/stats/authors", params=WINDOW)
    # Veille's own lines (the test client logs the URLs it requests, handles included).
    logged = " ".join(
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.INFO and r.name.startswith("veille")
    )
    assert "Zoé" not in logged and "zoé" not in logged and "bob" not in logged


def test_communities_since_the_first_century_compare_with_nothing_before(
    voices: ServiceContext, client: TestClient
) -> None:
    # The period before a window reaching back ~2,000 years starts before year 1: it is
    # empty, not a 500 (schemathesis found `since=0046-05-31` on the export route).
    for path in ("/api/v1/stats/communities", "/api/v1/export/stats/communities"):
        answer = client.get(path, params={"by": "growth", "since": "0046-05-31T07:35:43Z"})
        assert answer.status_code == 200, answer.text
    rows = client.get(
        "/api/v1/stats/communities", params={"brand": "Veloria", "since": "0046-05-31T00:00:00Z"}
    ).json()["communities"]
    assert rows and all(c["previous"] == 0 for c in rows)
