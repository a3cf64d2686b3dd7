"""Sentiment evidence in the API's mention JSON, over the real embedded index."""

from __future__ import annotations

from fastapi.testclient import TestClient

from services.core.evidence import Evidence, WeightedWord
from services.core.models import Sentiment, SentimentLabel
from services.runtime.app.context import ServiceContext
from tests.factories import make_mention


def test_mention_json_carries_evidence_and_older_mentions_have_none(
    ctx: ServiceContext, client: TestClient
) -> None:
    evidence = Evidence(
        sentences=["Le SAV de Trekko est une catastrophe."],
        words=[
            WeightedWord(text="catastrophe", weight=0.93),
            WeightedWord(text="sav", weight=-0.1),
        ],
    )
    judged = Sentiment(label=SentimentLabel.NEGATIVE, score=0.8, evidence=evidence)
    ctx.index.upsert(
        [
            make_mention(
                id="e1",
                text="Le SAV de Trekko est une catastrophe.",
                competitors=["Trekko"],
                sentiment=judged,
                brand_sentiments={"Trekko": judged},
            ),
            make_mention(id="e0", sentiment=Sentiment(label=SentimentLabel.NEUTRAL, score=0.5)),
        ]
    )
    body = client.get("/api/v1/mentions/e1").json()
    expected = {
        "sentences": ["Le SAV de Trekko est une catastrophe."],
        "words": [{"text": "catastrophe", "weight": 0.93}, {"text": "sav", "weight": -0.1}],
        "span": None,  # the whole text was judged
    }
    assert body["sentiment"]["evidence"] == expected
    assert body["brand_sentiments"]["Trekko"]["evidence"] == expected
    assert client.get("/api/v1/mentions/e0").json()["sentiment"]["evidence"] is None
