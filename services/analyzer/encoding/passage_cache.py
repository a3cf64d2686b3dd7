"""Embeddings of passages that come back, kept across brand-tagger rebuilds.

Each brand correction rebuilds the tagger (ServiceContext.brands_changed), which reads every
corrected passage, description and example again: without this, one new verdict embeds them
all. Keyed by the model's name and the exact text, so a vector is never reused by another
model or for a text that differs by a character.

The bound is a least-recently-used one on an OrderedDict: a cache library would hold the
vectors, but looking a batch up and embedding only its misses in one call is ours anyway.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import NDArray

Embed = Callable[[Sequence[str]], NDArray[np.float32]]

#: passages kept (each a vector of a few hundred floats: ~1.5 kB at 384 dimensions).
MAX_PASSAGES = 8192


class PassageCache:
    """An `Embed` that embeds only the texts it has not seen with this model lately."""

    def __init__(self, model: str, embed: Embed, *, max_passages: int = MAX_PASSAGES) -> None:
        self.model = model
        self._embed = embed
        self._max = max_passages
        self._vectors: OrderedDict[tuple[str, str], NDArray[np.float32]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._vectors)

    def __call__(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """The vectors of `texts`, in order (one embedding call for those not kept)."""
        if not texts:
            return self._embed(texts)
        found: dict[str, NDArray[np.float32]] = {}
        with self._lock:
            for text in texts:
                vector = self._vectors.get((self.model, text))
                if vector is not None:
                    self._vectors.move_to_end((self.model, text))
                    found[text] = vector
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        if missing:
            # embedded outside the lock: a rebuild and analysis can embed at once
            fresh = self._embed(missing)
            with self._lock:
                for text, vector in zip(missing, fresh, strict=True):
                    found[text] = vector
                    self._vectors[(self.model, text)] = vector
                    self._vectors.move_to_end((self.model, text))
                while len(self._vectors) > self._max:
                    self._vectors.popitem(last=False)
        return np.stack([found[t] for t in texts]).astype(np.float32, copy=False)
