"""Corrections over the real API, embedded index and SQLite state store."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from services.core.models import Brand, Sentiment, SentimentLabel
from services.core.settings import build_settings
from services.core.topics import Topic
from services.core.workspace import Workspace
from services.runtime.app.context import ServiceContext
from services.runtime.training.corrections import with_stored_corrections
from tests.apps import app_for
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
    # Veloria is the only name: the text is judged whole for it, so both readings change
    # (the triage inbox, by overall sentiment, and the dashboard's, toward the brand, agree).
    assert (mention["sentiment"]["label"], mention["sentiment"]["source"]) == (
        "positive",
        "analyst",
    )

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


def test_a_brand_correction_removes_the_tag_and_later_analysis_keeps_it(
    ctx: ServiceContext, client: TestClient
) -> None:
    _seed_duplicates(ctx)
    response = client.post(
        "/api/v1/mentions/a/brands", json={"brand": "Veloria", "about_brand": False}
    )
    assert response.status_code == 201, response.text
    assert sorted(response.json()["updated"]) == ["a", "b"]
    for mention_id in ("a", "b"):
        mention = client.get(f"/api/v1/mentions/{mention_id}").json()
        assert mention["brands"] == [] and "Veloria" not in mention["brand_sentiments"]
    assert client.get("/api/v1/mentions/c").json()["brands"] == ["Veloria"]  # not a copy
    found = client.get("/api/v1/mentions", params={"q": "brand:Veloria"}).json()
    assert [m["id"] for m in found["mentions"]] == ["c"]

    # What the analyzer says next time does not bring the tag back.
    reanalyzed = make_mention(id="a", text=TEXT, brands=["Veloria"])
    assert with_stored_corrections(ctx.state, [reanalyzed])[0].brands == []

    listed = client.get("/api/v1/corrections").json()
    assert (listed[0]["field"], listed[0]["brand"], listed[0]["label"]) == (
        "brand",
        "Veloria",
        {"about_brand": False, "role": "brand"},
    )


def test_a_brand_correction_adds_a_missed_competitor_with_the_texts_sentiment(
    ctx: ServiceContext, client: TestClient
) -> None:
    _seed_duplicates(ctx)
    response = client.post(
        "/api/v1/mentions/b/brands", json={"brand": "Trekko", "about_brand": True}
    )
    assert response.status_code == 201, response.text
    # Accepted (a reply may be about a brand it never names), with a word about it.
    [warning] = response.json()["warnings"]
    assert "the mention's text does not name Trekko:" in warning, warning
    mention = client.get("/api/v1/mentions/a").json()
    assert mention["brands"] == ["Veloria"] and mention["competitors"] == ["Trekko"]
    assert mention["brand_sentiments"]["Trekko"]["label"] == "negative"  # the text's own
    found = client.get("/api/v1/mentions", params={"q": "competitor:Trekko"}).json()
    assert {m["id"] for m in found["mentions"]} == {"a", "b"}
    # Taken back: the newest verdict wins, and the sentiment toward it goes with the tag.
    response = client.post(
        "/api/v1/mentions/a/brands", json={"brand": "Trekko", "about_brand": False}
    )
    assert response.status_code == 201, response.text
    mention = client.get("/api/v1/mentions/b").json()
    assert mention["competitors"] == [] and "Trekko" not in mention["brand_sentiments"]


def test_a_rejection_on_an_untagged_mention_that_has_the_name_is_kept_as_a_verdict(
    ctx: ServiceContext, client: TestClient
) -> None:
    # The analyzer rightly left "trekko" out here (kept by a keep: all source, or an
    # import): the analyst confirms it, and the verdict is there for the tagger to learn.
    ctx.index.upsert(
        [
            make_mention(id="d", text="Trekko, le nom de notre randonnée en Écosse.", brands=[]),
            make_mention(id="e", text="Une randonnée en Écosse, sans nom.", brands=[]),
        ]
    )
    response = client.post(
        "/api/v1/mentions/d/brands", json={"brand": "trekko", "about_brand": False}
    )
    assert response.status_code == 201, response.text
    assert response.json()["correction"]["label"] == {"about_brand": False, "role": "competitor"}
    mention = client.get("/api/v1/mentions/d").json()
    assert mention["brands"] == [] and mention["competitors"] == []
    [listed] = client.get("/api/v1/corrections").json()
    assert (listed["mention_id"], listed["brand"]) == ("d", "Trekko")
    assert [c.about_brand for c in ctx.brand_corrections() if c.brand == "Trekko"] == [False]
    # A text without the name or an alias has nothing to reject.
    response = client.post(
        "/api/v1/mentions/e/brands", json={"brand": "Trekko", "about_brand": False}
    )
    assert response.status_code == 422
    assert "neither the name nor an alias" in response.json()["detail"]


def test_bad_brand_corrections_are_problems_and_change_nothing(
    ctx: ServiceContext, client: TestClient
) -> None:
    _seed_duplicates(ctx)
    cases = [
        ({"brand": "Pear", "about_brand": False}, 422, "brands: Veloria; competitors: Trekko"),
        ({"brand": "Trekko", "about_brand": False}, 422, "not tagged with 'Trekko'"),
        ({"brand": "Veloria"}, 422, "about_brand"),
        ({"brand": "Veloria", "about_brand": "maybe"}, 422, "about_brand"),
        ({"brand": "", "about_brand": True}, 422, "brand"),
    ]
    for payload, status, needle in cases:
        response = client.post("/api/v1/mentions/a/brands", json=payload)
        assert response.status_code == status, (payload, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert needle in response.text, (payload, response.text)
    missing = client.post(
        "/api/v1/mentions/nope/brands", json={"brand": "Veloria", "about_brand": True}
    )
    assert missing.status_code == 404
    assert client.get("/api/v1/mentions/a").json()["brands"] == ["Veloria"]
    assert client.get("/api/v1/corrections").json() == []


APPLE_RECORDS = "Apple Records reissues the White Album on vinyl for the Beatles anniversary"
REJECTED = [
    "The Beatles founded Apple Records in 1968 to release their own albums",
    "Apple Records signed James Taylor and Badfinger after the Beatles",
    "Rare Apple Records pressing of Hey Jude sold at auction",
]


def _apple_context(tmp_path: Path) -> ServiceContext:
    settings = build_settings(
        {
            "data_dir": str(tmp_path),
            "store": {
                "state_url": f"sqlite:///{tmp_path}/veille.db",
                "index_url": f"embedded:{tmp_path}/index",
            },
        }
    )
    apple = Brand(name="Apple", description="the iPhone and Mac maker", ambiguous=True)
    context = ServiceContext(settings, Workspace(brands=[apple]))
    context.sync_workspace()
    return context


def _confidence(ctx: ServiceContext, text: str) -> float:
    """The probability that the occurrence of the brand's name in `text` is the brand
    (before any threshold: a dropped occurrence has one too)."""
    tagger = ctx.analyzer.tagger
    (occurrence,) = [o for _, o in tagger.occurrences([text])[0] if o is not None]
    return float(tagger.judge.confidences([occurrence])[0])


def test_the_tagger_learns_the_recorded_brand_corrections(tmp_path: Path) -> None:
    """The running analyzer learns a rejected sense at once; after a restart it learns
    it again from the state store."""
    ctx = _apple_context(tmp_path)
    try:
        before = _confidence(ctx, APPLE_RECORDS)
        ctx.index.upsert(
            [make_mention(id=f"r{i}", text=t, brands=["Apple"]) for i, t in enumerate(REJECTED)]
        )
        key = ctx.state.create_api_key("tests")
        with TestClient(app_for(ctx), headers={"X-API-Key": key}) as client:
            for i in range(len(REJECTED)):
                response = client.post(
                    f"/api/v1/mentions/r{i}/brands", json={"brand": "Apple", "about_brand": False}
                )
                assert response.status_code == 201, response.text
        learned = _confidence(ctx, APPLE_RECORDS)
        assert learned < before
        # Their mentions gone (retention, erasure), the verdicts go, and the running
        # tagger forgets their passages at once.
        from services.runtime.governance.retention import prune_orphans

        ctx.index.delete([f"r{i}" for i in range(len(REJECTED))])
        assert prune_orphans(ctx)["corrections"] == len(REJECTED)
        assert _confidence(ctx, APPLE_RECORDS) == pytest.approx(before, abs=1e-6)
        ctx.state.add_correction(  # one again, for the restart below
            mention_id="r0",
            fingerprint="f0",
            field="brand",
            brand="Apple",
            label={"about_brand": False, "role": "brand"},
            text=REJECTED[0],
            language="en",
            author="tests",
        )
        ctx.brands_changed()
        learned = _confidence(ctx, APPLE_RECORDS)
        assert learned < before
    finally:
        ctx.close()
    restarted = _apple_context(tmp_path)
    try:
        assert _confidence(restarted, APPLE_RECORDS) == pytest.approx(learned, abs=1e-6)
    finally:
        restarted.close()


def test_corrections_arriving_together_rebuild_the_tagger_once_more_not_once_each(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each rebuild embeds every corrected passage again: ten requests while one rebuild
    runs are served by one more, which still sees every correction."""
    import threading
    import time

    ctx = _apple_context(tmp_path)
    try:
        analyzer = ctx.analyzer
        rebuild = analyzer.update_workspace
        seen: list[int] = []

        def slow_rebuild(*args: object) -> None:
            seen.append(len(args[2]))  # type: ignore[arg-type]
            time.sleep(0.3)
            rebuild(*args)  # type: ignore[arg-type]

        monkeypatch.setattr(analyzer, "update_workspace", slow_rebuild)
        threads = []
        for i, text in enumerate(REJECTED * 4):
            ctx.state.add_correction(
                mention_id=f"m{i}",
                fingerprint=f"f{i}",
                field="brand",
                brand="Apple",
                label={"about_brand": False, "role": "brand"},
                text=text,
                language="en",
                author="tests",
            )
            threads.append(threading.Thread(target=ctx.brands_changed))
            threads[-1].start()
        for thread in threads:
            thread.join()
        assert 1 <= len(seen) <= 3 < len(threads)
        assert seen[-1] == len(threads)  # the last rebuild learned every correction
    finally:
        ctx.close()


def test_brand_names_are_matched_as_in_queries_and_bad_bodies_say_why(
    ctx: ServiceContext, client: TestClient
) -> None:
    _seed_duplicates(ctx)
    response = client.post(
        "/api/v1/mentions/a/brands", json={"brand": "VELORIA", "about_brand": False}
    )
    assert response.status_code == 201, response.text
    assert response.json()["correction"]["brand"] == "Veloria"  # the workspace's spelling
    assert response.json()["warnings"] == []  # about_brand false: nothing to say
    assert client.get("/api/v1/mentions/a").json()["brands"] == []
    by_alias = client.post(
        "/api/v1/mentions/a/brands", json={"brand": "@Veloria", "about_brand": True}
    )
    assert by_alias.status_code == 201, by_alias.text  # an alias names it too
    assert by_alias.json()["warnings"] == []  # the text names Veloria
    assert client.get("/api/v1/mentions/a").json()["brands"] == ["Veloria"]

    garbled = client.post(
        "/api/v1/mentions/a/brands",
        content=b'{"brand": "Veloria", about_brand: true}',
        headers={"Content-Type": "application/json"},
    )
    assert garbled.status_code == 422
    assert garbled.json()["errors"][0]["field"] == "body"
    assert "not valid JSON" in garbled.json()["detail"]


def test_the_openapi_document_describes_errors_as_they_are_sent(client: TestClient) -> None:
    document = client.get("/api/v1/openapi.json").json()
    responses = document["paths"]["/api/v1/mentions/{mention_id}/brands"]["post"]["responses"]
    for status in ("404", "422"):
        assert list(responses[status]["content"]) == ["application/problem+json"], status
    problem = document["components"]["schemas"]["Problem"]
    assert {"title", "status", "detail"} <= set(problem["required"])


def test_with_two_names_the_sentiment_toward_one_leaves_the_overall_alone(
    ctx: ServiceContext, client: TestClient
) -> None:
    model = Sentiment(label=SentimentLabel.NEGATIVE, score=0.7)
    ctx.index.upsert(
        [
            make_mention(
                id="two",
                text="Mon Trekko roule, mon Veloria est en panne",
                brands=["Veloria"],
                competitors=["Trekko"],
                sentiment=model,
                brand_sentiments={"Veloria": model, "Trekko": model},
            ),
            make_mention(
                id="one", text="Veloria, rien à redire", brands=["Veloria"], sentiment=model
            ),
        ]
    )
    toward = client.post(
        "/api/v1/mentions/two/sentiment", json={"label": "positive", "brand": "Trekko"}
    )
    assert toward.status_code == 201, toward.text
    two = client.get("/api/v1/mentions/two").json()
    assert two["sentiment"]["source"] == "model"
    assert two["brand_sentiments"]["Trekko"]["label"] == "positive"
    assert two["brand_sentiments"]["Veloria"]["source"] == "model"

    overall = client.post("/api/v1/mentions/one/sentiment", json={"label": "positive"})
    assert overall.status_code == 201, overall.text
    one = client.get("/api/v1/mentions/one").json()
    assert one["brand_sentiments"]["Veloria"]["label"] == "positive"  # its one name too
    found = client.get("/api/v1/mentions", params={"q": "positive:Veloria"}).json()
    assert [m["id"] for m in found["mentions"]] == ["one"]
