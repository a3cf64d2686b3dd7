"""Analyst corrections applied to mentions: pure functions, no I/O.

A correction record (see `services.store.state.corrections`) names a field
("sentiment", with a brand or not, or "topics") and the label an analyst chose. Applied
labels are marked `source="analyst"` (`topics_source` for topics) so they are visible,
and so analysis never replaces them: the worker and re-analysis apply the stored
corrections again to whatever the model produced.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from services.core.models import Mention, Sentiment, SentimentLabel


def analyst_sentiment(label: str) -> Sentiment:
    """The sentiment an analyst chose: certain, and marked as theirs."""
    return Sentiment(label=SentimentLabel(label), score=1.0, source="analyst")


def apply_corrections(mention: Mention, records: Iterable[Mapping[str, Any]]) -> Mention:
    """A copy of `mention` with the corrections applied, oldest first (the newest wins)."""
    update: dict[str, Any] = {}
    brand_sentiments = dict(mention.brand_sentiments)
    for record in records:
        if record["field"] == "sentiment":
            sentiment = analyst_sentiment(record["label"])
            if record.get("brand"):
                brand_sentiments[record["brand"]] = sentiment
            else:
                update["sentiment"] = sentiment
        elif record["field"] == "topics":
            update["topics"] = list(record["label"])
            update["topics_source"] = "analyst"
    if brand_sentiments != mention.brand_sentiments:
        update["brand_sentiments"] = brand_sentiments
    return mention.model_copy(update=update) if update else mention
