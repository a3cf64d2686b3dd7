"""Evidence for each sentiment label: the sentences it was based on and the words that
weighed most in the n-gram part of the head (services.analyzer.sentiment.head)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from services.analyzer.sentiment.head import SentimentHead
from services.analyzer.sentiment.why_words import CANDIDATES
from services.core.evidence import Evidence, WeightedWord
from services.core.models import Sentiment

MAX_SENTENCES = 3  # of a longer text, the ones that speak most for the label
# Asked of the model: the pipeline then shows the MAX_SHOWN that say something (why_words).
MAX_WORDS = CANDIDATES


def evidence_for(
    head: SentimentHead,
    sentiment: Sentiment,
    *,
    text: str,
    prepared: str,
    sentences: Callable[[str], list[str]],
) -> Evidence:
    """What `sentiment`, given to `text` (read by the head as `prepared`), rests on."""
    parts = sentences(text) or ([text.strip()] if text.strip() else [])
    if len(parts) > MAX_SENTENCES:
        support = head.ngram_support([head.prepare(p) for p in parts], sentiment.label)
        best = sorted(range(len(parts)), key=lambda i: -float(support[i]))[:MAX_SENTENCES]
        parts = [parts[i] for i in sorted(best)]
    words = head.weighed_words(prepared, sentiment.label, MAX_WORDS)
    return Evidence(
        sentences=parts, words=[WeightedWord(text=w, weight=weight) for w, weight in words]
    )


def with_evidence(
    head: SentimentHead,
    sentiments: Sequence[Sentiment],
    *,
    texts: Sequence[str],
    prepared: Sequence[str],
    sentences: Callable[[str], list[str]],
) -> list[Sentiment]:
    """`sentiments` (one per text) with their evidence attached."""
    return [
        s.model_copy(
            update={"evidence": evidence_for(head, s, text=t, prepared=p, sentences=sentences)}
        )
        for s, t, p in zip(sentiments, texts, prepared, strict=True)
    ]
