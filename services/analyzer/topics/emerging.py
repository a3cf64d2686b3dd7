"""Emerging topics: recent mentions that fit no topic, grouped and labelled.

Clustering. Vectors are centred on the mean of their language (what every recent
mention in a language shares, the language itself, the brand and the market, says
nothing about what sets a group apart; without it, French and English texts on one
subject fall into two groups), then grouped
by average-linkage agglomeration, merging while two groups' mean similarity reaches
the cut. The cut comes from data, not a fixed cosine: `unrelated_cut` is the
similarity that only 10% of pairs of unrelated texts reach (the topic calibration's
background of everyday posts, centred the same way), so a group's members are on
average closer than unrelated posts almost ever are.
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
UNRELATED_QUANTILE = 0.9
_MIN_WORD_LENGTH = 3


@dataclass(frozen=True)
class Cluster:
    """A group of mentions: their positions in the input, top terms and examples."""

    members: list[int]
    terms: list[str]
    examples: list[int]  # positions, closest to the centroid first


def _centred(
    vectors: NDArray[np.float32], languages: Sequence[str | None] | None = None
) -> NDArray[np.float32]:
    shifted = vectors - vectors.mean(axis=0)
    if languages is not None:
        labels = np.array([lang or "" for lang in languages])
        for lang in set(labels.tolist()):
            rows = labels == lang
            if rows.sum() > 1:
                shifted[rows] = vectors[rows] - vectors[rows].mean(axis=0)
    norms = np.linalg.norm(shifted, axis=1, keepdims=True)
    return np.asarray(shifted / np.maximum(norms, 1e-12), dtype=np.float32)


def unrelated_cut(
    background: NDArray[np.float32],
    languages: Sequence[str | None] | None = None,
    *,
    quantile: float = UNRELATED_QUANTILE,
) -> float:
    """The similarity only `1 - quantile` of pairs of unrelated texts reach."""
    if len(background) < 3:
        raise ValueError("the background needs at least 3 texts")
    unit = _centred(background, languages)
    sims = unit @ unit.T
    return float(np.quantile(sims[np.triu_indices(len(unit), k=1)], quantile))


def group(
    vectors: NDArray[np.float32],
    *,
    cut: float,
    languages: Sequence[str | None] | None = None,
) -> list[list[int]]:
    """Positions of the vectors in each group, largest group first."""
    n = len(vectors)
    if n < 2:
        return [list(range(n))] if n else []
    unit = _centred(vectors, languages)
    sims = (unit @ unit.T).astype(np.float64)
    # Average linkage: merge the two groups whose mean pairwise similarity is highest,
    # until no two groups reach the cut (Lance-Williams update, one row per group).
    np.fill_diagonal(sims, -np.inf)
    sizes = np.ones(n)
    members: list[list[int]] = [[i] for i in range(n)]
    while True:
        flat = int(sims.argmax())
        a, b = divmod(flat, n)
        if sims[a, b] < cut:
            break
        merged = (sizes[a] * sims[a] + sizes[b] * sims[b]) / (sizes[a] + sizes[b])
        sims[a], sims[:, a] = merged, merged
        sims[a, a] = -np.inf
        sims[b], sims[:, b] = -np.inf, -np.inf
        sizes[a] += sizes[b]
        members[a] += members[b]
        members[b] = []
    groups = [sorted(g) for g in members if g]
    return sorted(groups, key=lambda g: (-len(g), g[0]))


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
    cut: float,
    stop_words: Collection[str],
    languages: Sequence[str | None] | None = None,
    min_size: int = DEFAULT_MIN_SIZE,
    examples: int = 3,
) -> list[Cluster]:
    """Groups of at least `min_size` texts, largest first, with top terms and examples."""
    if len(texts) != len(vectors):
        raise ValueError(f"{len(texts)} texts but {len(vectors)} vectors")
    all_groups = group(vectors, cut=cut, languages=languages)
    # Terms are weighed against every group, the dropped small ones too.
    terms = top_terms([[texts[i] for i in g] for g in all_groups], stop_words=stop_words)
    unit = _centred(vectors, languages) if len(vectors) > 1 else vectors
    clusters = []
    for members, words in zip(all_groups, terms, strict=True):
        if len(members) < min_size:
            continue
        centroid = unit[members].mean(axis=0)
        closest = sorted(members, key=lambda i: -float(unit[i] @ centroid))[:examples]
        clusters.append(Cluster(members=[int(i) for i in members], terms=words, examples=closest))
    return clusters
