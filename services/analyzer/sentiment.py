"""Sentiment from an embedding: a multinomial logistic regression applied with numpy.

A head is two files side by side: `<stem>.npz` (arrays `weights` (3, dim) and `bias`
(3,), no pickle) and `<stem>.json` (metadata: the embedding model it was trained for,
labels in row order, the text preparation it expects, training figures). A head only
makes sense on vectors from the model it was trained on, so loading it for another
model raises `HeadMismatchError`. `scripts/train_sentiment_head.py` writes heads.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from services.analyzer.embeddings import model_slug
from services.core.models import Sentiment, SentimentLabel

HEADS_DIR = Path(__file__).resolve().parent / "heads"
FORMAT_VERSION = 1

# Row order of the shipped heads: the umsab labels 0 negative, 1 neutral, 2 positive.
LABELS: tuple[SentimentLabel, ...] = (
    SentimentLabel.NEGATIVE,
    SentimentLabel.NEUTRAL,
    SentimentLabel.POSITIVE,
)

_HANDLE = re.compile(r"(?<![\w@])@\w+")
_URL = re.compile(r"\b(?:https?://|www\.)\S+", re.IGNORECASE)
_BARE_HTTP = re.compile(r"(?<!\S)https?(?!\S)", re.IGNORECASE)
_SPACES = re.compile(r"\s+")


def prepare_tweet(text: str) -> str:
    """Writes handles as "@user" and links as "http", as in the tweets heads learn from."""
    text = _URL.sub("http", text)
    text = _HANDLE.sub("@user", text)
    return _SPACES.sub(" ", text).strip()


def prepare_strip(text: str) -> str:
    """Drops handles and links: they carry no sentiment."""
    text = _URL.sub(" ", text)
    text = _BARE_HTTP.sub(" ", text)
    text = _HANDLE.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


def prepare_strip_hashes(text: str) -> str:
    """Like `prepare_strip`, and reads hashtags as words ("#génial" -> "génial")."""
    return prepare_strip(text).replace("#", "")


PREPARATIONS: dict[str, Callable[[str], str]] = {
    "tweet": prepare_tweet,
    "strip": prepare_strip,
    "strip_hashes": prepare_strip_hashes,
}


class HeadError(ValueError):
    """A sentiment head file is missing or malformed."""


class HeadMismatchError(HeadError):
    """A head was trained on another embedding model than the one in use."""


@dataclass(frozen=True, eq=False)
class SentimentHead:
    """Logistic-regression weights over one embedding model's vectors."""

    embedding: str
    weights: NDArray[np.float32]
    bias: NDArray[np.float32]
    labels: tuple[SentimentLabel, ...] = LABELS
    preparation: str = "tweet"
    metadata: dict[str, Any] = field(default_factory=dict)
    source: str = "<memory>"

    def __post_init__(self) -> None:
        if self.weights.ndim != 2 or self.weights.shape[0] != len(self.labels):
            raise HeadError(f"head {self.source}: weights must be ({len(self.labels)}, dim)")
        if self.bias.shape != (len(self.labels),):
            raise HeadError(f"head {self.source}: bias must be ({len(self.labels)},)")
        if self.preparation not in PREPARATIONS:
            raise HeadError(f"head {self.source}: unknown preparation {self.preparation!r}")

    @property
    def dim(self) -> int:
        """Embedding dimension the head expects."""
        return int(self.weights.shape[1])

    def prepare(self, text: str) -> str:
        """Rewrites `text` the way the training texts were written before embedding."""
        return PREPARATIONS[self.preparation](text)

    def check_embedder(self, embedding_name: str, dim: int | None = None) -> None:
        """Raises HeadMismatchError unless the head was trained for `embedding_name`."""
        if model_slug(self.embedding) != model_slug(embedding_name):
            raise HeadMismatchError(
                f"head {self.source} was trained for {self.embedding} but the analyzer embeds "
                f"with {embedding_name}: train a head for it (scripts/train_sentiment_head.py) "
                "or set analyzer.sentiment_head to a head made for that model"
            )
        if dim is not None and dim != self.dim:
            raise HeadMismatchError(
                f"head {self.source} expects {self.dim}-dimensional vectors but "
                f"{embedding_name} gives {dim}"
            )

    def probabilities(self, vectors: NDArray[np.float32]) -> NDArray[np.float32]:
        """Class probabilities, one row per vector, columns in `labels` order."""
        if vectors.ndim != 2 or vectors.shape[1] != self.dim:
            raise ValueError(f"expected (n, {self.dim}) vectors, got {vectors.shape}")
        logits = vectors.astype(np.float32, copy=False) @ self.weights.T + self.bias
        logits -= logits.max(axis=1, keepdims=True)
        np.exp(logits, out=logits)
        logits /= logits.sum(axis=1, keepdims=True)
        return logits

    def predict(self, vectors: NDArray[np.float32]) -> list[Sentiment]:
        """The most probable label of each vector, scored by its probability."""
        probs = self.probabilities(vectors)
        best = probs.argmax(axis=1)
        return [
            Sentiment(label=self.labels[i], score=min(1.0, max(0.0, float(probs[row, i]))))
            for row, i in enumerate(best)
        ]

    def save(self, stem: str | Path) -> tuple[Path, Path]:
        """Writes `<stem>.npz` and `<stem>.json`; returns both paths."""
        npz, meta = _paths(stem)
        npz.parent.mkdir(parents=True, exist_ok=True)
        with npz.open("wb") as fh:
            np.savez(fh, weights=self.weights.astype(np.float32), bias=self.bias.astype(np.float32))
        document = {
            **self.metadata,
            "format": FORMAT_VERSION,
            "embedding": self.embedding,
            "dim": self.dim,
            "labels": [label.value for label in self.labels],
            "preparation": self.preparation,
        }
        meta.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
        return npz, meta

    @classmethod
    def load(cls, stem: str | Path) -> SentimentHead:
        """Reads a head from `<stem>.npz` + `<stem>.json` (either file's path also works)."""
        npz, meta = _paths(stem)
        if not npz.is_file() or not meta.is_file():
            raise HeadError(f"no sentiment head at {npz.with_suffix('')} (.npz and .json)")
        try:
            document = json.loads(meta.read_text())
            with np.load(npz, allow_pickle=False) as arrays:
                weights = np.asarray(arrays["weights"], dtype=np.float32)
                bias = np.asarray(arrays["bias"], dtype=np.float32)
            labels = tuple(SentimentLabel(value) for value in document["labels"])
            embedding = str(document["embedding"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise HeadError(f"sentiment head {npz} is unreadable: {exc}") from exc
        if document.get("format") != FORMAT_VERSION:
            raise HeadError(f"sentiment head {npz} has unknown format {document.get('format')!r}")
        return cls(
            embedding=embedding,
            weights=weights,
            bias=bias,
            labels=labels,
            preparation=str(document.get("preparation", "tweet")),
            metadata=document,
            source=str(npz.with_suffix("")),
        )


def _paths(stem: str | Path) -> tuple[Path, Path]:
    base = Path(stem)
    if base.suffix in {".npz", ".json"}:
        base = base.with_suffix("")
    return base.with_name(base.name + ".npz"), base.with_name(base.name + ".json")


def default_head_path(embedding_name: str) -> Path:
    """The shipped head for a model: heads/<model slug>-sentiment."""
    return HEADS_DIR / f"{model_slug(embedding_name)}-sentiment"


def load_head(
    path: str | Path | None, *, embedding_name: str, dim: int | None = None
) -> SentimentHead:
    """Loads the head at `path` (default: the shipped one) and checks it fits the model."""
    target = Path(path) if path is not None else default_head_path(embedding_name)
    if path is None and not target.with_name(target.name + ".npz").is_file():
        raise HeadError(
            f"no shipped sentiment head for {embedding_name}: train one with "
            "scripts/train_sentiment_head.py and set analyzer.sentiment_head to it"
        )
    head = SentimentHead.load(target)
    head.check_embedder(embedding_name, dim)
    return head


def predict_texts(
    head: SentimentHead, embed: Callable[[Sequence[str]], NDArray[np.float32]], texts: list[str]
) -> list[Sentiment]:
    """Prepares, embeds and classifies `texts` in one embedding call."""
    return head.predict(embed([head.prepare(t) for t in texts]))
