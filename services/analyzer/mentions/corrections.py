"""Analyst corrections applied to mentions: pure functions, no I/O.

A correction record (see `services.store.state.corrections`) names a field
("sentiment", with a brand or not, "topics", or "brand": whether the mention is about a
brand or competitor) and the label an analyst chose. Applied
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
    """A copy of `mention` with the corrections applied, oldest first (the newest wins).

    A text naming one brand or competitor is judged whole for it, so there the overall
    sentiment and the sentiment toward it are one reading: correcting either sets both."""
    update: dict[str, Any] = {}
    brand_sentiments = dict(mention.brand_sentiments)
    named = {"brand": list(mention.brands), "competitor": list(mention.competitors)}
    for record in sorted(records, key=lambda r: int(r.get("id") or 0)):
        if record["field"] == "sentiment":
            only = named["brand"] + named["competitor"]  # as earlier brand verdicts left it
            single = only[0] if len(only) == 1 else None
            sentiment = analyst_sentiment(record["label"])
            brand = record.get("brand") or None
            if brand is not None:
                brand_sentiments[brand] = sentiment
            if brand is None or brand == single:
                update["sentiment"] = sentiment
            if brand is None and single is not None:
                brand_sentiments[single] = sentiment
        elif record["field"] == "topics":
            update["topics"] = list(record["label"])
            update["topics_source"] = "analyst"
        elif record["field"] == "brand":
            _tag(named, record["brand"], record["label"])
    # A brand the analyst says the mention is not about keeps no sentiment toward it,
    # even one an analyst gave before; one they added is judged like the whole text.
    before = {*mention.brands, *mention.competitors}
    after = {*named["brand"], *named["competitor"]}
    for name in before - after:
        brand_sentiments.pop(name, None)
    overall = update.get("sentiment", mention.sentiment)
    for name in after - before:
        if name not in brand_sentiments and overall is not None:
            brand_sentiments[name] = overall
    if named["brand"] != mention.brands:
        update["brands"] = named["brand"]
    if named["competitor"] != mention.competitors:
        update["competitors"] = named["competitor"]
    if brand_sentiments != mention.brand_sentiments:
        update["brand_sentiments"] = brand_sentiments
    return mention.model_copy(update=update) if update else mention


def _tag(named: dict[str, list[str]], name: str, label: Mapping[str, Any]) -> None:
    """Adds or removes `name` (a brand or a competitor, as `label["role"]` says)."""
    for names in named.values():
        if name in names:
            names.remove(name)
    if label.get("about_brand"):
        named["competitor" if label.get("role") == "competitor" else "brand"].append(name)
