"""The workspace's topic heads: versions written by `veille train`, in `<data_dir>/heads/`.

A version is the analysts' topic corrections it was trained on, as the pipeline sees
them (`<model>-topics-v<N>.npz`: their vectors and labels), with the figures of its
training (`.json`). The heads themselves are retrained from it and the current taxonomy
when the analyzer builds its topic model (milliseconds), so a version stays valid after
a topic is added or removed. `current.json` names the version in use under
`<model>-topics`; without one the analyzer uses the taxonomy alone.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from services.analyzer.encoding.embeddings import model_slug
from services.analyzer.sentiment.head_store import (
    heads_dir,
    next_version_stem,
    pointer_name,
    set_pointer,
)
from services.analyzer.topics.model import LabelledTopics

log = logging.getLogger("veille.analyzer")

KIND = "topics"


def pointer_key(embedding: str) -> str:
    """The key of `current.json` that names the topic heads in use for `embedding`."""
    return f"{model_slug(embedding)}-{KIND}"


def next_topic_stem(data_dir: str | Path, embedding: str) -> Path:
    """The stem for a new version of the topic heads."""
    return next_version_stem(data_dir, embedding, kind=KIND)


def save_topic_heads(stem: Path, labelled: LabelledTopics, metadata: dict[str, Any]) -> None:
    """Writes a version: the labelled vectors (.npz) and what it was trained on (.json)."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        stem.with_name(stem.name + ".npz"),
        vectors=np.asarray(labelled.vectors, dtype=np.float32),
        labels=np.array(json.dumps(labelled.labels, ensure_ascii=False)),
    )
    text = json.dumps(metadata, indent=2, ensure_ascii=False) + "\n"
    stem.with_name(stem.name + ".json").write_text(text, encoding="utf-8")


def adopt_topic_heads(data_dir: str | Path, embedding: str, stem: Path) -> None:
    """Makes `stem` the topic heads in use (the analyzer picks it up at its next batch)."""
    set_pointer(data_dir, pointer_key(embedding), stem)


def current_topic_stem(data_dir: str | Path, embedding: str) -> Path | None:
    """The stem of the topic heads in use, or None (taxonomy alone)."""
    name = pointer_name(data_dir, pointer_key(embedding))
    if not name:
        return None
    stem = heads_dir(data_dir) / name
    return stem if stem.with_name(stem.name + ".npz").is_file() else None


def load_topic_heads(stem: Path) -> LabelledTopics | None:
    """The labelled mentions of a version; None (logged) when it cannot be read."""
    try:
        with np.load(stem.with_name(stem.name + ".npz")) as data:
            vectors = np.asarray(data["vectors"], dtype=np.float32)
            labels = json.loads(str(data["labels"]))
    except (OSError, ValueError, KeyError) as exc:
        log.warning("ignoring the topic heads %s: %s", stem, exc)
        return None
    return LabelledTopics(vectors, [[str(n) for n in row] for row in labels])
