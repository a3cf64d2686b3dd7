"""The topic model the analyzer tags with, and where its taxonomy comes from.

The model is `TopicClassifier.from_taxonomy`: linear heads trained at start from the
taxonomy's anchors and the off-topic background, plus, once `veille train` adopted
them, the analysts' topic corrections (`LabelledTopics`). Building it embeds only the
anchors (a few dozen texts); mentions are tagged on the vectors the pipeline already has.

A `TaxonomySource` says what to build from. Its `version()` is cheap and is checked
before every batch, so a topic added through the API, or topic heads adopted by
`veille train`, are used from the next batch on, without a restart.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from services.analyzer.encoding.embeddings import Embedder
from services.analyzer.topics.anchors import (
    TopicAssigner,
    Vectors,
    background_texts,
    background_vectors,
)
from services.analyzer.topics.classifier import TopicClassifier
from services.analyzer.topics.lexical import TopicVocabulary
from services.core.topics import Topic

# Per analyst-labelled mention; each anchor of a topic weighs 10 (less when the topic has
# more than classifier.REFERENCE_ANCHORS anchors).
LABELLED_WEIGHT = 3.0


@dataclass(frozen=True)
class LabelledTopics:
    """Mentions an analyst labelled with topics: their vectors (as the pipeline embeds
    them) and each one's topic names (empty: about none of them)."""

    vectors: Vectors
    labels: list[list[str]] = field(default_factory=list)

    def restricted_to(self, names: Sequence[str]) -> LabelledTopics:
        """The same mentions, with labels outside `names` dropped (a removed topic)."""
        known = set(names)
        return LabelledTopics(self.vectors, [[n for n in row if n in known] for row in self.labels])


class TaxonomySource(Protocol):
    """Where the analyzer's topics (and adopted corrections) come from."""

    def version(self) -> str:
        """Changes whenever `load` would return something else; cheap to call."""
        ...

    def load(self) -> tuple[list[Topic], LabelledTopics | None]:
        """The topics, and the labelled mentions to train on (None: the taxonomy alone)."""
        ...


class StaticTaxonomy:
    """A fixed taxonomy, no corrections."""

    def __init__(self, topics: Sequence[Topic]) -> None:
        self._topics = list(topics)

    def version(self) -> str:
        return taxonomy_digest(self._topics)

    def load(self) -> tuple[list[Topic], LabelledTopics | None]:
        return list(self._topics), None


def taxonomy_digest(topics: Sequence[Topic]) -> str:
    """A short digest of the topics' names and texts, in order."""
    document = json.dumps([t.model_dump() for t in topics], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(document.encode("utf-8")).hexdigest()[:16]


class _VectorsOf:
    """A function from prepared texts to unit vectors, seen as an embedder."""

    def __init__(self, name: str, vectors_of: Callable[[list[str]], Vectors]) -> None:
        self.name = name
        self.dim = 0  # known after the first call
        self._vectors_of = vectors_of

    def embed(self, texts: Sequence[str]) -> Vectors:
        vectors = np.asarray(self._vectors_of(list(texts)), dtype=np.float32)
        self.dim = int(vectors.shape[1])
        return vectors


def second_reading(
    topics: Sequence[Topic],
    vectors_of: Callable[[list[str]], Vectors],
    *,
    prepare: Callable[[str], str],
    name: str = "second reading",
) -> TopicClassifier:
    """Heads for the same topics on another model's vectors (`vectors_of(prepared texts)`),
    trained as the taxonomy-only default is: the English second opinion's MiniLM vectors
    give English texts a second reading (classifier.SECOND_SHARE). Embeds the anchors and
    the background with that model (about 180 short texts)."""
    assigner, background = second_reading_anchors(topics, vectors_of, prepare=prepare, name=name)
    return TopicClassifier.from_taxonomy(assigner, background)


def second_reading_anchors(
    topics: Sequence[Topic],
    vectors_of: Callable[[list[str]], Vectors],
    *,
    prepare: Callable[[str], str],
    name: str = "second reading",
) -> tuple[TopicAssigner, Vectors]:
    """The anchors and the background `second_reading` trains its heads on, in that
    model's space (benchmarks train variants on them)."""
    embedder = _VectorsOf(name, vectors_of)
    background = embedder.embed([prepare(t) for t in background_texts()])
    assigner = TopicAssigner.calibrate(topics, embedder, prepare=prepare, background=background)
    return assigner, background


def build_topic_model(
    topics: Sequence[Topic],
    embedder: Embedder,
    *,
    prepare: Callable[[str], str],
    labelled: LabelledTopics | None = None,
) -> TopicClassifier:
    """Embeds the anchors and trains the heads (taxonomy, background, corrections); the
    topics' own words are the lexical channel (lexical.py). The analyzer adds English
    texts' second reading (`second_reading`) to the taxonomy-only model."""
    if not topics:
        return TopicClassifier([], None)
    background = background_vectors(embedder, background_texts(), prepare)
    assigner = TopicAssigner.calibrate(topics, embedder, prepare=prepare, background=background)
    vocabulary = TopicVocabulary.of(topics)
    if labelled is None or not labelled.labels:
        return TopicClassifier.from_taxonomy(assigner, background, vocabulary=vocabulary)
    known = labelled.restricted_to(assigner.names)
    return TopicClassifier.from_taxonomy(
        assigner,
        background,
        np.asarray(known.vectors, dtype=np.float32),
        known.labels,
        labelled_weight=LABELLED_WEIGHT,
        vocabulary=vocabulary,
    )
