"""Sentiment from an embedding: a multinomial logistic regression applied with numpy,
optionally mixed with a character/word n-gram model of the text itself.

A head is two files side by side: `<stem>.npz` (arrays `weights` (3, dim) and `bias`
(3,), no pickle) and `<stem>.json` (metadata: the embedding model it was trained for,
labels in row order, the text preparation it expects, training figures). A head only
makes sense on vectors from the model it was trained on, so loading it for another
model raises `HeadMismatchError`. `scripts/train_sentiment_head.py` writes heads.

An n-gram block (format 2) adds arrays `ngram_weights` (3, 2**bits), `ngram_bias` (3,)
and `ngram_idf` (2**bits,): a logistic regression over hashed (crc32) character 2-5-grams
within words plus word uni/bigrams of the lower-cased prepared text, tf-idf weighted and
L2-normalised, so no vocabulary is stored. Its log-probabilities are mixed with the
embedding model's: `(1 - mix) * log p_embedding + mix * log p_ngram` (json `ngram`:
`bits`, `mix`, `terms_version`: services.analyzer.sentiment.ngram_terms). Run time needs numpy
only (scipy is used for training); it costs well under 1% of the embedding time.

Class offsets (format 3) add an array `class_offsets` (3,) to the final log-probabilities:
per-class shifts of the decision, chosen by cross-validation on train for macro-F1 (a
plain LR favours the big neutral class). Heads of formats 1 and 2 have none.

Any format may name `expressions` in its json (`weight`): hand-written idioms and emoji
(services.analyzer.sentiment.expressions) shift the final log-probabilities of the texts they occur
in; a reader that predates them loads the head and ignores them.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from services.analyzer.encoding.embeddings import model_slug
from services.analyzer.sentiment import ngram_terms as _terms
from services.analyzer.sentiment.expressions import ExpressionLexicon, load_expressions, normalise
from services.core.models import Sentiment, SentimentLabel

HEADS_DIR = Path(__file__).resolve().parent / "heads"
FORMAT_VERSION = 3
# 1: embedding weights only; 2: optional n-gram block; 3: optional class offsets
READABLE_FORMATS = (1, 2, 3)

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


def ngram_terms(text: str, version: int = 1) -> list[str]:
    """The n-gram terms of a prepared text: character 2- to 5-grams of each word padded
    with spaces, word unigrams and word bigrams, all lower-cased (version 2 adds negation
    scope, emoji and emphasis cues: see services.analyzer.sentiment.ngram_terms)."""
    return _terms.terms(text, version)


def ngram_counts(texts: Sequence[str], bits: int, version: int = 1) -> Any:
    """Hashed term counts as a scipy CSR matrix (len(texts), 2**bits)."""
    import scipy.sparse as sp  # type: ignore[import-untyped]

    mask = (1 << bits) - 1
    indptr = [0]
    indices: list[int] = []
    for text in texts:
        indices.extend(
            zlib.crc32(term.encode("utf-8")) & mask for term in ngram_terms(text, version)
        )
        indptr.append(len(indices))
    data = np.ones(len(indices), dtype=np.float32)
    matrix = sp.csr_matrix(
        (data, np.asarray(indices, dtype=np.int64), np.asarray(indptr, dtype=np.int64)),
        shape=(len(texts), 1 << bits),
    )
    matrix.sum_duplicates()
    return matrix


def ngram_idf(counts: Any) -> NDArray[np.float32]:
    """Smoothed idf of each hashed term over the rows of `counts`."""
    df = np.bincount(counts.indices, minlength=counts.shape[1])
    idf: NDArray[np.float32] = (np.log((1 + counts.shape[0]) / (1 + df)) + 1).astype(np.float32)
    return idf


def ngram_tfidf(counts: Any, idf: NDArray[np.float32]) -> Any:
    """Sublinear tf times idf, rows L2-normalised (a new CSR matrix)."""
    import scipy.sparse as sp

    out = counts.astype(np.float32, copy=True)
    out.data = (1 + np.log(out.data)) * idf[out.indices]
    norms = np.sqrt(np.asarray(out.multiply(out).sum(axis=1)).ravel()) + 1e-9
    return sp.diags((1 / norms).astype(np.float32)) @ out


def ngram_scores(
    texts: Sequence[str],
    weights: NDArray[np.float32],
    idf: NDArray[np.float32],
    version: int = 1,
) -> NDArray[np.float32]:
    """`ngram_tfidf(ngram_counts(texts)) @ weights.T` with numpy only (the run-time path)."""
    mask = weights.shape[1] - 1
    out = np.zeros((len(texts), weights.shape[0]), dtype=np.float32)
    for row, text in enumerate(texts):
        hashed = [zlib.crc32(term.encode("utf-8")) & mask for term in ngram_terms(text, version)]
        if not hashed:
            continue
        columns, counts = np.unique(np.asarray(hashed, dtype=np.int64), return_counts=True)
        values = (1 + np.log(counts.astype(np.float32))) * idf[columns]
        values /= np.sqrt(float(values @ values)) + 1e-9
        out[row] = weights[:, columns] @ values
    return out


def log_softmax(logits: NDArray[np.float32]) -> NDArray[np.float32]:
    """Log-probabilities of each row of logits (numerically stable)."""
    logits = logits - logits.max(axis=1, keepdims=True)
    out: NDArray[np.float32] = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    return out


# Another model's log-probabilities of the texts, and the share they get in the mix: one
# for all rows, or one per row (services/analyzer/sentiment/second_opinion.py).
OpinionReading = tuple[NDArray[np.float32], float | NDArray[np.float32]]


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
    ngram_weights: NDArray[np.float32] | None = None
    ngram_bias: NDArray[np.float32] | None = None
    ngram_idf: NDArray[np.float32] | None = None
    ngram_mix: float = 0.0
    ngram_version: int = 1
    class_offsets: NDArray[np.float32] | None = None
    expression_weight: float = 0.0
    expressions: ExpressionLexicon | None = None  # the shipped ones, unless a workspace adds

    def __post_init__(self) -> None:
        if self.weights.ndim != 2 or self.weights.shape[0] != len(self.labels):
            raise HeadError(f"head {self.source}: weights must be ({len(self.labels)}, dim)")
        if self.bias.shape != (len(self.labels),):
            raise HeadError(f"head {self.source}: bias must be ({len(self.labels)},)")
        if self.preparation not in PREPARATIONS:
            raise HeadError(f"head {self.source}: unknown preparation {self.preparation!r}")
        if self.ngram_weights is not None:
            size = self.ngram_weights.shape[-1]
            if (
                self.ngram_weights.shape != (len(self.labels), size)
                or size & (size - 1)
                or self.ngram_bias is None
                or self.ngram_bias.shape != (len(self.labels),)
                or self.ngram_idf is None
                or self.ngram_idf.shape != (size,)
            ):
                raise HeadError(f"head {self.source}: malformed n-gram block")
            if self.ngram_version not in _terms.TERMS_VERSIONS:
                raise HeadError(f"head {self.source}: unknown n-gram terms version")
            if not 0.0 <= self.ngram_mix <= 1.0:
                raise HeadError(f"head {self.source}: n-gram mix must be within [0, 1]")
        if self.class_offsets is not None and (
            self.class_offsets.shape != (len(self.labels),)
            or not np.isfinite(self.class_offsets).all()
        ):
            raise HeadError(f"head {self.source}: class offsets must be {len(self.labels)} numbers")
        if not 0.0 <= self.expression_weight <= 5.0:
            raise HeadError(f"head {self.source}: expression weight must be within [0, 5]")

    @property
    def uses_text(self) -> bool:
        """Whether the head also reads the prepared texts (n-gram block)."""
        return self.ngram_weights is not None and self.ngram_mix > 0

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

    def probabilities(
        self,
        vectors: NDArray[np.float32],
        texts: Sequence[str] | None = None,
        *,
        opinion: OpinionReading | None = None,
    ) -> NDArray[np.float32]:
        """Class probabilities, one row per vector, columns in `labels` order.

        `texts` are the prepared texts the vectors were embedded from (`prepare`); a head
        with an n-gram block mixes in its reading of them. Without texts such a head
        falls back to its embedding model alone (a little less accurate). `opinion` is
        another model's log-probabilities of the same texts and the share they get, one
        for all rows or one per row (0: not mixed), mixed in before the expressions
        (services/analyzer/sentiment/second_opinion.py)."""
        if vectors.ndim != 2 or vectors.shape[1] != self.dim:
            raise ValueError(f"expected (n, {self.dim}) vectors, got {vectors.shape}")
        logits = vectors.astype(np.float32, copy=False) @ self.weights.T + self.bias
        if self.uses_text and texts is not None:
            if len(texts) != vectors.shape[0]:
                raise ValueError(f"{len(texts)} texts for {vectors.shape[0]} vectors")
            assert self.ngram_weights is not None and self.ngram_idf is not None
            assert self.ngram_bias is not None
            ngram_logits = ngram_scores(
                texts, self.ngram_weights, self.ngram_idf, self.ngram_version
            )
            ngram_logits += self.ngram_bias
            logits = (1 - self.ngram_mix) * log_softmax(logits) + self.ngram_mix * log_softmax(
                ngram_logits.astype(np.float32)
            )
        if opinion is not None:
            other, share = opinion
            weight = np.asarray(share, dtype=np.float32).reshape(-1, 1)
            if other.shape != logits.shape or weight.shape[0] not in (1, len(logits)):
                raise ValueError(f"opinion {other.shape} for {logits.shape} texts")
            logits = (1 - weight) * log_softmax(logits) + weight * other
        if texts is not None:
            logits = logits + self.expression_shift(texts)
        if self.class_offsets is not None:
            logits = logits + self.class_offsets
        logits = logits - logits.max(axis=1, keepdims=True)
        np.exp(logits, out=logits)
        logits /= logits.sum(axis=1, keepdims=True)
        probs: NDArray[np.float32] = logits.astype(np.float32, copy=False)
        return probs

    @property
    def uses_expressions(self) -> bool:
        return self.expressions is not None and self.expression_weight > 0

    def expression_shift(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """What the expressions in each text add to each label's log-probability."""
        if not self.uses_expressions:
            return np.zeros((len(texts), len(self.labels)), dtype=np.float32)
        assert self.expressions is not None
        return self._polarity_shift(self.expressions.polarity(texts))

    def _polarity_shift(self, polarity: NDArray[np.float32]) -> NDArray[np.float32]:
        """Polarity times the weight onto the positive label, minus it onto the negative."""
        shift = np.zeros((len(polarity), len(self.labels)), dtype=np.float32)
        shift[:, self.labels.index(SentimentLabel.POSITIVE)] = polarity * self.expression_weight
        shift[:, self.labels.index(SentimentLabel.NEGATIVE)] = -polarity * self.expression_weight
        return shift

    def predict(
        self,
        vectors: NDArray[np.float32],
        texts: Sequence[str] | None = None,
        *,
        opinion: OpinionReading | None = None,
    ) -> list[Sentiment]:
        """The most probable label of each vector (and its prepared text, and another
        model's opinion: see `probabilities`), scored by its probability."""
        return self.labelled(self.probabilities(vectors, texts, opinion=opinion))

    def labelled(self, probs: NDArray[np.float32]) -> list[Sentiment]:
        """The most probable label of each row of `probs` (see `probabilities`), scored by
        its probability."""
        best = probs.argmax(axis=1)
        return [
            Sentiment(label=self.labels[i], score=min(1.0, max(0.0, float(probs[row, i]))))
            for row, i in enumerate(best)
        ]

    def save(self, stem: str | Path) -> tuple[Path, Path]:
        """Writes `<stem>.npz` and `<stem>.json`; returns both paths."""
        npz, meta = _paths(stem)
        npz.parent.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, Any] = {
            "weights": self.weights.astype(np.float32),
            "bias": self.bias.astype(np.float32),
        }
        document: dict[str, Any] = {**self.metadata}
        document.pop("ngram", None)
        document.pop("expressions", None)
        if self.expression_weight > 0:
            document["expressions"] = {
                "weight": self.expression_weight,
                "lexicon": "services/analyzer/sentiment/lexicon/expressions.yaml",
            }
        if self.ngram_weights is not None:
            assert self.ngram_bias is not None and self.ngram_idf is not None
            arrays["ngram_weights"] = self.ngram_weights.astype(np.float32)
            arrays["ngram_bias"] = self.ngram_bias.astype(np.float32)
            arrays["ngram_idf"] = self.ngram_idf.astype(np.float32)
            document["ngram"] = {
                "bits": int(self.ngram_weights.shape[1]).bit_length() - 1,
                "mix": self.ngram_mix,
                "terms_version": self.ngram_version,
                "terms": "crc32-hashed char 2-5-grams in space-padded words + word 1-2-grams, "
                "lower-cased; sublinear tf-idf, L2-normalised",
            }
        if self.class_offsets is not None:
            arrays["class_offsets"] = self.class_offsets.astype(np.float32)
        with npz.open("wb") as fh:
            np.savez_compressed(fh, **arrays)
        document = {
            **document,
            "format": self._format(),
            "embedding": self.embedding,
            "dim": self.dim,
            "labels": [label.value for label in self.labels],
            "preparation": self.preparation,
        }
        meta.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
        return npz, meta

    def _format(self) -> int:
        """The oldest format that holds this head, so older readers still load it."""
        if self.class_offsets is not None:
            return FORMAT_VERSION
        return 2 if self.ngram_weights is not None else 1

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
                ngram = {
                    name: np.asarray(arrays[name], dtype=np.float32)
                    for name in ("ngram_weights", "ngram_bias", "ngram_idf")
                    if name in arrays.files
                }
                offsets = (
                    np.asarray(arrays["class_offsets"], dtype=np.float32)
                    if "class_offsets" in arrays.files
                    else None
                )
            mix = float(document.get("ngram", {}).get("mix", 0.0)) if ngram else 0.0
            version = int(document.get("ngram", {}).get("terms_version", 1))
            labels = tuple(SentimentLabel(value) for value in document["labels"])
            embedding = str(document["embedding"])
            expression_weight = float(document.get("expressions", {}).get("weight", 0.0))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise HeadError(f"sentiment head {npz} is unreadable: {exc}") from exc
        if document.get("format") not in READABLE_FORMATS:
            raise HeadError(f"sentiment head {npz} has unknown format {document.get('format')!r}")
        return cls(
            embedding=embedding,
            weights=weights,
            bias=bias,
            labels=labels,
            preparation=str(document.get("preparation", "tweet")),
            metadata=document,
            source=str(npz.with_suffix("")),
            ngram_weights=ngram.get("ngram_weights"),
            ngram_bias=ngram.get("ngram_bias"),
            ngram_idf=ngram.get("ngram_idf"),
            ngram_mix=mix,
            ngram_version=version,
            class_offsets=offsets,
            expression_weight=expression_weight,
            expressions=load_expressions() if expression_weight > 0 else None,
        )

    def weighed_words(
        self, prepared: str, label: SentimentLabel, limit: int = 6
    ) -> list[tuple[str, float]]:
        """The words and phrases of a prepared text that moved the n-gram model most
        toward `label` (weight > 0) or away from it (< 0), strongest first: each term's
        tf-idf value times its weight for `label` minus its mean weight for the others,
        summed over the terms a word or phrase produced. The expressions found come first
        (services.analyzer.sentiment.expressions). Only those without an n-gram block."""
        if not prepared.strip():
            return []
        row = self.labels.index(label)
        others = [i for i in range(len(self.labels)) if i != row]
        cues = self._expression_cues(prepared, row, others)
        if not self.uses_text:
            return cues[:limit]
        assert self.ngram_weights is not None and self.ngram_idf is not None
        mask = self.ngram_weights.shape[1] - 1
        surfaced = _terms.surfaced_terms(prepared, self.ngram_version)
        columns = [zlib.crc32(term.encode("utf-8")) & mask for term, _ in surfaced]
        unique, counts = np.unique(np.asarray(columns, dtype=np.int64), return_counts=True)
        values = (1 + np.log(counts.astype(np.float32))) * self.ngram_idf[unique]
        values /= np.sqrt(float(values @ values)) + 1e-9
        toward = self.ngram_weights[row, unique] - self.ngram_weights[others][:, unique].mean(0)
        per_column = dict(zip(unique.tolist(), (values * toward / counts).tolist(), strict=True))
        totals: dict[str, float] = {}
        for column, (_, surface) in zip(columns, surfaced, strict=True):
            totals[surface] = totals.get(surface, 0.0) + per_column[column]
        ranked = sorted(totals.items(), key=lambda kv: -abs(kv[1]))
        # A word the n-gram model also weighed ("j'adore") is shown once, with both weights.
        cue_index = {words: i for i, (words, _) in enumerate(cues)}
        kept = []
        for surface, value in ranked:
            same = cue_index.get(normalise(surface))
            if same is not None:
                cues[same] = (cues[same][0], round(cues[same][1] + value, 4))
            elif abs(value) >= 1e-4:
                kept.append((surface, round(value, 4)))
        return (cues + kept)[:limit]

    def _expression_cues(
        self, prepared: str, row: int, others: list[int]
    ) -> list[tuple[str, float]]:
        """The expressions found, weighed like the n-gram terms: toward `row` minus the
        mean toward the others. They come first: each outweighs any single term."""
        if not self.uses_expressions:
            return []
        assert self.expressions is not None
        cues = []
        for words, polarity in self.expressions.find(prepared):
            one = self._polarity_shift(np.asarray([polarity], dtype=np.float32))[0]
            toward = float(one[row] - one[others].mean())
            if abs(toward) >= 1e-4:
                cues.append((words, round(toward, 4)))
        return sorted(cues, key=lambda kv: -abs(kv[1]))

    def ngram_support(self, prepared: Sequence[str], label: SentimentLabel) -> NDArray[np.float32]:
        """How much the n-gram model and the expressions favour `label` over the others
        for each text (zeros when the head reads no text)."""
        out = np.zeros(len(prepared), dtype=np.float32)
        if not prepared:
            return out
        row = self.labels.index(label)
        others = [i for i in range(len(self.labels)) if i != row]
        logits = self.expression_shift(prepared)
        if self.uses_text:
            assert self.ngram_weights is not None and self.ngram_idf is not None
            logits = logits + ngram_scores(
                prepared, self.ngram_weights, self.ngram_idf, self.ngram_version
            )
        support: NDArray[np.float32] = logits[:, row] - logits[:, others].mean(axis=1)
        return support


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
    prepared = [head.prepare(t) for t in texts]
    return head.predict(embed(prepared), prepared)
