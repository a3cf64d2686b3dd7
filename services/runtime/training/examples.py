"""The examples `veille train` learns from and is checked on: the analysts' corrections
(a fixed share held back) and the base data (UMSAB), and their cached embeddings."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np
from numpy.typing import NDArray

from services.analyzer.encoding.embeddings import Embedder, embedding_fingerprint, model_slug
from services.analyzer.pipeline import Analyzer, brand_passages, truncate
from services.core.models import SentimentLabel

HOLD_BACK = 0.2
MIN_HELD_BACK = 2
_EMBED_BATCH = 64
_LANGUAGES = {"french": "fr", "english": "en"}

Progress = Callable[[str, int, int], None]  # (stage, done, total)


class TrainingError(ValueError):
    """Training cannot run: too few corrections, base data missing, a library missing."""


@dataclass(frozen=True)
class Example:
    text: str
    label: SentimentLabel
    language: str | None
    key: str = ""  # what decides whether it is held back


def correction_examples(corrections: Sequence[dict[str, Any]], analyzer: Analyzer) -> list[Example]:
    """One example per current sentiment correction: the judged text, or for a brand the
    passage that names it (what the analyzer judges the brand on)."""
    out: list[Example] = []
    for record in corrections:
        if record["field"] != "sentiment":
            continue
        text = record["text"]
        if record.get("brand"):
            passages = brand_passages(text, analyzer.tagger.tag(text))
            text = passages.get(record["brand"]) or text
        out.append(
            Example(
                text=truncate(text),
                label=SentimentLabel(record["label"]),
                language=record.get("language"),
                key=f"{record['fingerprint']}:{record.get('brand') or ''}",
            )
        )
    return out


class _Keyed(Protocol):
    @property
    def key(self) -> str: ...


KeyedT = TypeVar("KeyedT", bound=_Keyed)


def split_held_back(examples: Sequence[KeyedT]) -> tuple[list[KeyedT], list[KeyedT]]:
    """(trained on, held back). A correction is held back when the hash of its content falls
    in the first HOLD_BACK of the hash range: the same ones at every run, whatever is added
    later, so a held-back text is never trained on. At least MIN_HELD_BACK are held back
    (the lowest hashes), so a small set still gets a check."""

    def rank(example: KeyedT) -> float:
        return int(hashlib.sha256(example.key.encode()).hexdigest()[:12], 16) / 16**12

    ranked = sorted(examples, key=rank)
    cut = sum(1 for e in ranked if rank(e) < HOLD_BACK)
    cut = max(cut, min(MIN_HELD_BACK, len(ranked)))
    return ranked[cut:], ranked[:cut]


def read_base(folder: Path, split: str) -> list[Example]:
    """UMSAB French and English `split` ("train" or "val"): labels 0/1/2 = neg/neu/pos."""
    labels = (SentimentLabel.NEGATIVE, SentimentLabel.NEUTRAL, SentimentLabel.POSITIVE)
    out: list[Example] = []
    for name, code in _LANGUAGES.items():
        texts_path = folder / name / f"{split}_text.txt"
        labels_path = folder / name / f"{split}_labels.txt"
        if not texts_path.is_file() or not labels_path.is_file():
            raise TrainingError(
                f"no base data at {folder} ({texts_path} is missing): pass --base-data with the "
                "UMSAB folder (french/ and english/ train and val files, from cardiffnlp/xlm-t "
                "data/sentiment)"
            )
        texts = texts_path.read_text(encoding="utf-8").splitlines()
        values = labels_path.read_text(encoding="utf-8").split()
        if len(texts) != len(values):
            raise TrainingError(f"{folder / name}: {len(texts)} texts but {len(values)} labels")
        out.extend(
            Example(text=t, label=labels[int(v)], language=code)
            for t, v in zip(texts, values, strict=True)
        )
    return out


def embed_cached(
    embedder: Embedder,
    texts: list[str],
    *,
    cache_dir: Path | None,
    stage: str,
    progress: Progress | None,
) -> NDArray[np.float32]:
    """Embeds prepared texts; with `cache_dir`, reuses the vectors of the same texts."""
    path = None
    if cache_dir is not None:
        key = embedding_fingerprint(embedder)
        digest = hashlib.sha256("\x1e".join([key, *texts]).encode()).hexdigest()[:24]
        path = cache_dir / f"{model_slug(embedder.name)}-{digest}.npy"
        if path.is_file():
            if progress:
                progress(stage, len(texts), len(texts))
            cached: NDArray[np.float32] = np.load(path)
            return cached
    if progress:  # announced before the first batch: the base data takes minutes
        progress(stage, 0, len(texts))
    parts = []
    for first in range(0, len(texts), _EMBED_BATCH):
        parts.append(embedder.embed(texts[first : first + _EMBED_BATCH]))
        if progress:
            progress(stage, min(first + _EMBED_BATCH, len(texts)), len(texts))
    vectors = np.concatenate(parts).astype(np.float32) if parts else np.zeros((0, 1), np.float32)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, vectors)
    return vectors
