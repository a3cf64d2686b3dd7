"""Emerging-topic clustering and labels, on vectors and texts (no model needed)."""

from __future__ import annotations

import numpy as np
import pytest

from services.analyzer.topics.emerging import find_clusters, group, top_terms, unrelated_cut
from services.store.embedded.stopwords import STOP_WORDS

DIM = 64
# Every vector of a real model shares a direction (anisotropy); centring removes it.
COMMON = np.full(DIM, 0.25, dtype=np.float32)


def _scattered(count: int, rng: np.random.Generator) -> np.ndarray:
    """Posts on subjects of their own, as most of what fits no topic is."""
    points = rng.normal(size=(count, DIM)).astype(np.float32) / np.sqrt(DIM) + COMMON
    return np.asarray(points / np.linalg.norm(points, axis=1, keepdims=True))


def _around(direction: int, count: int, rng: np.random.Generator) -> np.ndarray:
    base = np.zeros(DIM, dtype=np.float32)
    base[direction] = 1.0
    points = base + COMMON + rng.normal(scale=0.05, size=(count, DIM)).astype(np.float32)
    return np.asarray(points / np.linalg.norm(points, axis=1, keepdims=True))


def test_groups_follow_the_data_and_ignore_order() -> None:
    rng = np.random.default_rng(3)
    vectors = np.concatenate(
        [_around(0, 5, rng), _around(1, 4, rng), _around(2, 6, rng), _scattered(40, rng)]
    )
    cut = unrelated_cut(_scattered(100, rng), quantile=0.95)
    planted = [set(range(5)), set(range(5, 9)), set(range(9, 15))]
    groups = [set(g) for g in group(vectors, cut=cut)]
    for members in planted:
        # The cut lets about 5% of unrelated posts through: one may join a group.
        assert any(g >= members and len(g - members) <= 1 for g in groups)
    last = len(vectors) - 1
    mirrored = [{last - i for i in g} for g in group(vectors[::-1].copy(), cut=cut)]
    assert sorted(map(sorted, mirrored)) == sorted(map(sorted, groups))


def test_top_terms_are_distinctive_words_without_stop_words() -> None:
    groups = [
        ["Le vélo a été volé devant la gare", "Encore un vélo volé, l'antivol scié"],
        ["Le vélo ne se connecte plus à l'application", "L'application du vélo plante"],
    ]
    theft, app = top_terms(groups, stop_words=STOP_WORDS, size=3)
    assert "vole" in theft and "application" in app
    assert "velo" not in theft[:1] and "velo" not in app[:1]  # in every group: not distinctive
    assert not set(theft + app) & STOP_WORDS


def test_small_groups_are_dropped_and_examples_come_from_the_group() -> None:
    rng = np.random.default_rng(5)
    vectors = np.concatenate(
        [_around(0, 5, rng), _around(1, 2, rng), _around(2, 5, rng), _scattered(30, rng)]
    )
    texts = [f"antivol volé {i}" for i in range(5)] + ["x y z", "a b c"]
    texts += [f"batterie autonomie {i}" for i in range(5)]
    texts += [f"divers {i}" for i in range(30)]
    cut = unrelated_cut(_scattered(100, rng), quantile=0.95)
    clusters = find_clusters(texts, vectors, cut=cut, stop_words=STOP_WORDS)
    assert all(len(c.members) >= 3 for c in clusters)
    assert not any({5, 6} <= set(c.members) for c in clusters)  # the pair is too small
    theft = next(c for c in clusters if 0 in c.members)
    assert set(range(5)) <= set(theft.members)
    assert theft.terms[:2] == ["antivol", "vole"]
    for cluster in clusters:
        assert len(cluster.examples) == 3
        assert set(cluster.examples) <= set(cluster.members)


def test_texts_and_vectors_must_match() -> None:
    with pytest.raises(ValueError, match="2 texts but 1 vectors"):
        find_clusters(["a", "b"], np.ones((1, 4), dtype=np.float32), cut=0.5, stop_words=STOP_WORDS)
