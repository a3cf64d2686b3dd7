"""Topics: tags each mention with every taxonomy topic it is about, from its embedding.

No second embedding pass: the pipeline hands over the vectors it already computed for
the sentiment (each mention's overall text, embedded as an e5 `passage:`).

Matching. A topic's anchors are its description and each of its examples, embedded
once when the analyzer starts, as passages too (plus its name, and its description and
examples as e5 queries, see `_name_and_query_vectors`): the examples are texts like mentions,
so like is compared with like; their e5 `query:` side, a statement of what is sought, is
one more anchor each, which the heads found useful on real posts. e5 similarities
crowd into 0.8-0.95 because all its vectors share a common direction, and mentions of
one market share another:
every vector is first centred on the midpoint of the background's mean and the
anchors' mean, then re-normalised, which spreads the scores. A mention's score for a
topic is its best cosine similarity with one of the topic's anchors, so a French
complaint finds the French example and an English one the English example.

Calibrated thresholds. A score means nothing on its own: "delivery" and "design" do
not have the same spread. Each topic's threshold is taken from data: the scores of a
background of off-topic texts (`topic_data/background.txt`, everyday French and
English posts) are computed against the topic, and the threshold is the score that
only `false_positive_rate` of them reach (the (1 - rate) quantile). So a topic tags
about that share of unrelated mentions, whatever its wording. A mention gets every
topic whose threshold it passes and whose score reaches `margin` (a ratio) of its best
topic's score (multi-label, without the runner-up topics that any on-topic text
half-matches). Centring and the 0.7 ratio were chosen on the texts now in the
calibration split of tests/fixtures/topics; benchmarks/eval_topics.py reports the
held-out split (precision 0.52, recall 0.68). The analyzer no longer tags with it: it
uses the anchors and centre calibrated here to train `classifier.TopicClassifier`
heads (see `model.py`; precision 0.88, recall 0.79 on the same split).
The background vectors for the default model are shipped next to the texts; another
model embeds the texts at start.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from services.analyzer.encoding.embeddings import Embedder, embedding_fingerprint, model_slug
from services.core.topics import Topic

log = logging.getLogger("veille.analyzer")

DATA = Path(__file__).with_name("topic_data")
BACKGROUND = DATA / "background.txt"
DEFAULT_FALSE_POSITIVE_RATE = 0.02
DEFAULT_MARGIN = 0.7

Vectors = NDArray[np.float32]


def background_texts(path: Path = BACKGROUND) -> list[str]:
    """The calibration background: one text per line, `#` lines are comments."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def _digest(texts: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(texts).encode("utf-8")).hexdigest()[:16]


def shipped_vectors_path(embedding_name: str) -> Path:
    """Where the background vectors for a model are shipped (or would be)."""
    return DATA / f"{model_slug(embedding_name)}-background.npz"


def background_vectors(
    embedder: Embedder, texts: Sequence[str], prepare: Callable[[str], str]
) -> Vectors:
    """The background's vectors: shipped ones when they match the texts, else embedded."""
    digest = _digest(texts)
    shipped = shipped_vectors_path(embedder.name)
    if shipped.is_file():
        with np.load(shipped) as data:
            # Files written before the encoder field existed are for the untuned models.
            encoder = str(data["encoder"]) if "encoder" in data.files else embedder.name
            if str(data["digest"]) == digest and encoder == embedding_fingerprint(embedder):
                return np.asarray(data["vectors"], dtype=np.float32)
        log.warning("%s does not match the background or the model; embedding it", shipped.name)
    return embedder.embed([prepare(t) for t in texts])


@dataclass(frozen=True)
class CalibratedTopic:
    """A topic ready to score: its anchor vectors and its threshold."""

    name: str
    anchors: Vectors  # (anchors, dim), unit vectors
    threshold: float
    # How much each anchor counts when heads are trained on it (classifier.py); None: 1 each.
    weights: Vectors | None = None

    def __post_init__(self) -> None:
        if self.weights is not None and len(self.weights) != len(self.anchors):
            raise ValueError(
                f"topic {self.name!r}: {len(self.weights)} anchor weights "
                f"for {len(self.anchors)} anchors"
            )

    def anchor_weights(self) -> Vectors:
        """Each anchor's training weight (1 when none were given)."""
        if self.weights is None:
            return np.ones(len(self.anchors), dtype=np.float32)
        return np.asarray(self.weights, dtype=np.float32)


class TopicAssigner:
    """Scores mention vectors against the taxonomy; built once per taxonomy."""

    def __init__(
        self,
        topics: Sequence[CalibratedTopic],
        *,
        centre: Vectors | None = None,
        margin: float = DEFAULT_MARGIN,
    ) -> None:
        self.topics = list(topics)
        self._centre = centre
        self.margin = margin
        self._names = [t.name for t in self.topics]
        self._thresholds = np.array([t.threshold for t in self.topics], dtype=np.float32)
        if self.topics:
            self._anchors = np.concatenate([t.anchors for t in self.topics])
            self._owner = np.concatenate(
                [np.full(len(t.anchors), i) for i, t in enumerate(self.topics)]
            )
        else:
            self._anchors = np.zeros((0, 1), dtype=np.float32)
            self._owner = np.zeros(0, dtype=np.int64)

    @classmethod
    def calibrate(
        cls,
        topics: Sequence[Topic],
        embedder: Embedder,
        *,
        prepare: Callable[[str], str] = str,
        false_positive_rate: float = DEFAULT_FALSE_POSITIVE_RATE,
        margin: float = DEFAULT_MARGIN,
        background: Vectors | None = None,
    ) -> TopicAssigner:
        """Embeds each topic's anchors and sets its threshold on the background."""
        if not 0.0 < false_positive_rate < 1.0:
            raise ValueError("false_positive_rate must be between 0 and 1")
        if not topics:
            return cls([])
        texts = [prepare(text) for topic in topics for text in topic.anchors()]
        raw = embedder.embed(texts)
        if background is None:
            background = background_vectors(embedder, background_texts(), prepare)
        centre = ((background.mean(axis=0) + raw.mean(axis=0)) / 2).astype(np.float32)
        vectors, background = centred(raw, centre), centred(background, centre)
        extra = _name_and_query_vectors(topics, embedder, prepare)
        calibrated, start = [], 0
        for i, topic in enumerate(topics):
            anchors = vectors[start : start + len(topic.anchors())]
            start += len(anchors)
            anchors = np.concatenate([anchors, centred(extra[i], centre)])
            scores = (background @ anchors.T).max(axis=1)
            threshold = float(np.quantile(scores, 1.0 - false_positive_rate, method="higher"))
            calibrated.append(CalibratedTopic(topic.name, anchors, threshold))
            log.debug("topic %s: threshold %.3f", topic.name, threshold)
        return cls(calibrated, centre=centre, margin=margin)

    @property
    def centre(self) -> Vectors | None:
        """The point vectors are centred on before scoring (None: not centred)."""
        return self._centre

    @property
    def names(self) -> list[str]:
        """Topic names, in taxonomy order."""
        return list(self._names)

    def scores(self, vectors: Vectors) -> Vectors:
        """(mentions, topics) best cosine similarity of each mention with each topic."""
        if not self.topics or len(vectors) == 0:
            return np.zeros((len(vectors), len(self.topics)), dtype=np.float32)
        if self._centre is not None:
            vectors = centred(vectors, self._centre)
        sims = vectors @ self._anchors.T
        out = np.full((len(vectors), len(self.topics)), -1.0, dtype=np.float32)
        for i in range(len(self.topics)):
            out[:, i] = sims[:, self._owner == i].max(axis=1)
        return out

    def assign(self, vectors: Vectors) -> list[list[str]]:
        """Every topic each vector passes the threshold of, best score first."""
        if not self.topics:
            return [[] for _ in range(len(vectors))]
        scores = self.scores(vectors)
        out: list[list[str]] = []
        for row in scores:
            passed = np.flatnonzero((row >= self._thresholds) & (row >= row.max() * self.margin))
            out.append([self._names[i] for i in passed[np.argsort(-row[passed])]])
        return out


def _name_and_query_vectors(
    topics: Sequence[Topic], embedder: Embedder, prepare: Callable[[str], str]
) -> list[Vectors]:
    """More anchors for each topic, raw, in topic order: its name as a passage, then (when
    the model has a query side) its description and each of its examples as e5 queries.
    The name and the description raised every taxonomy's F1 on real posts
    (benchmarks/eval_topics_dev.py: pooled 0.46 -> 0.52); the examples as queries, with
    the threshold moved to match (classifier.TAXONOMY_THRESHOLD), raised it chosen by
    cross-validation (benchmarks/topic_query_examples.py). They are added after the
    centre is taken, so it stays the mean of the texts the user wrote."""
    names = embedder.embed([prepare(t.name) for t in topics])
    embed_queries = getattr(embedder, "embed_queries", None)
    if embed_queries is None:
        return [names[i : i + 1] for i in range(len(topics))]
    texts = [t.anchors() for t in topics]  # the description, then each example
    queries = np.asarray(embed_queries([prepare(q) for row in texts for q in row]), np.float32)
    out, start = [], 0
    for i, row in enumerate(texts):
        out.append(np.concatenate([names[i : i + 1], queries[start : start + len(row)]]))
        start += len(row)
    return out


def centred(vectors: Vectors, centre: Vectors) -> Vectors:
    shifted = vectors.astype(np.float32) - centre
    norms = np.linalg.norm(shifted, axis=1, keepdims=True)
    return np.asarray(shifted / np.maximum(norms, 1e-12), dtype=np.float32)
