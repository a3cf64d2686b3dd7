"""Emerging topics: recent mentions that fit no topic, grouped and labelled.

Clustering. Vectors are centred on their own mean (what every recent mention shares,
the brand and the market, says nothing about what sets a group apart) and grouped
greedily: each mention joins the closest group centroid if the similarity reaches
the batch's own `pair_quantile` of pairwise similarities, else starts a group; a
second pass re-assigns each mention to its best final centroid. A data-derived cut
instead of a fixed cosine keeps working when the model or the mix of texts changes.
Groups under `min_size` mentions are dropped as noise.

Labels. Each group's top terms are its most distinctive words, c-TF-IDF style: a
word's frequency in the group times log(1 + average words per group / the word's
frequency over all groups), on folded words without French and English stop words,
so words every group uses sink. Examples are the three mentions closest to the
group's centroid.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from services.core.text import tokenize

DEFAULT_MIN_SIZE = 3
DEFAULT_PAIR_QUANTILE = 0.9
_MIN_WORD_LENGTH = 3


@dataclass(frozen=True)
class Cluster:
    """A group of mentions: their positions in the input, top terms and examples."""

    members: list[int]
    terms: list[str]
    examples: list[int]  # positions, closest to the centroid first


def _centred(vectors: NDArray[np.float32]) -> NDArray[np.float32]:
    shifted = vectors - vectors.mean(axis=0)
    norms = np.linalg.norm(shifted, axis=1, keepdims=True)
    return np.asarray(shifted / np.maximum(norms, 1e-12), dtype=np.float32)


def group(
    vectors: NDArray[np.float32], *, pair_quantile: float = DEFAULT_PAIR_QUANTILE
) -> list[list[int]]:
    """Positions of the vectors in each group, largest group first."""
    n = len(vectors)
    if n < 2:
        return [list(range(n))] if n else []
    unit = _centred(vectors)
    sims = unit @ unit.T
    cut = float(np.quantile(sims[np.triu_indices(n, k=1)], pair_quantile))
    centroids: list[NDArray[np.float32]] = []
    sums: list[NDArray[np.float32]] = []
    for i in range(n):
        if centroids:
            scores = np.array([c @ unit[i] for c in centroids])
            best = int(scores.argmax())
            if scores[best] >= cut:
                sums[best] = sums[best] + unit[i]
                centroids[best] = sums[best] / np.linalg.norm(sums[best])
                continue
        sums.append(unit[i].copy())
        centroids.append(unit[i].copy())
    final = np.stack(centroids)
    owner = (unit @ final.T).argmax(axis=1)  # second pass: each to its best centroid
    groups = [[int(i) for i in np.flatnonzero(owner == g)] for g in range(len(final))]
    return sorted((g for g in groups if g), key=lambda g: (-len(g), g[0]))


def top_terms(
    groups: Sequence[Sequence[str]], *, stop_words: Collection[str], size: int = 5
) -> list[list[str]]:
    """The `size` most distinctive folded words of each group of texts (c-TF-IDF)."""
    counts = [
        Counter(
            w
            for text in texts
            for w in tokenize(text)
            if len(w) >= _MIN_WORD_LENGTH and w not in stop_words and not w.isdigit()
        )
        for texts in groups
    ]
    overall: Counter[str] = Counter()
    for c in counts:
        overall.update(c)
    average = sum(overall.values()) / max(len(counts), 1)
    out = []
    for c in counts:
        total = sum(c.values()) or 1
        weight = {w: (n / total) * math.log(1 + average / overall[w]) for w, n in c.items()}
        out.append(sorted(weight, key=lambda w: (-weight[w], w))[:size])
    return out


def find_clusters(
    texts: Sequence[str],
    vectors: NDArray[np.float32],
    *,
    stop_words: Collection[str],
    min_size: int = DEFAULT_MIN_SIZE,
    pair_quantile: float = DEFAULT_PAIR_QUANTILE,
    examples: int = 3,
) -> list[Cluster]:
    """Groups of at least `min_size` texts, largest first, with top terms and examples."""
    if len(texts) != len(vectors):
        raise ValueError(f"{len(texts)} texts but {len(vectors)} vectors")
    all_groups = group(vectors, pair_quantile=pair_quantile)
    # Terms are weighed against every group, the dropped small ones too.
    terms = top_terms([[texts[i] for i in g] for g in all_groups], stop_words=stop_words)
    unit = _centred(vectors) if len(vectors) > 1 else vectors
    clusters = []
    for members, words in zip(all_groups, terms, strict=True):
        if len(members) < min_size:
            continue
        centroid = unit[members].mean(axis=0)
        closest = sorted(members, key=lambda i: -float(unit[i] @ centroid))[:examples]
        clusters.append(Cluster(members=[int(i) for i in members], terms=words, examples=closest))
    return clusters
