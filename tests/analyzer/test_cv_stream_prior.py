"""scripts/cv_stream_prior.py's parts on small data written for this test (the full run
reads 4,150 tweets with the analyzer: far too slow for the suite)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from numpy.typing import NDArray

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "cv_stream_prior.py"


@pytest.fixture(scope="module")
def script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("cv_stream_prior", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _calibrated(
    rng: np.random.Generator, gold: NDArray[np.int64], reference: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Probabilities that are exact posteriors under `reference` shares: two Gaussian
    readings a class, Bayes' rule applied."""
    means = np.array([[-2.0, 0.0], [0.0, 0.0], [2.0, 0.0]])
    x = means[gold] + rng.normal(size=(len(gold), 2))
    like = np.exp(-0.5 * ((x[:, None, :] - means[None]) ** 2).sum(2))
    post = like * reference
    return np.asarray(post / post.sum(1, keepdims=True))


def test_em_recovers_a_stream_shares_and_shrinks_toward_the_reference(
    script: ModuleType,
) -> None:
    rng = np.random.default_rng(0)
    reference = np.array([1 / 3, 1 / 3, 1 / 3])
    gold = rng.choice(3, 3000, p=[0.1, 0.8, 0.1])
    probs = _calibrated(rng, gold, reference)
    codes = np.zeros(len(gold), dtype=np.int64)
    free = script.em_shares(probs, codes, reference, 0.0)[0]
    assert np.allclose(free, [0.1, 0.8, 0.1], atol=0.03)
    # more pseudo-counts, a neutral share nearer the reference's
    neutral = [script.em_shares(probs, codes, reference, m)[0][1] for m in (0.0, 300.0, 3000.0)]
    assert neutral[0] > neutral[1] > neutral[2] > reference[1]
    assert np.allclose(script.em_shares(probs, codes, reference, np.inf)[0], reference)
    # re-weighted to the stream's shares, the neutral-heavy stream reads better
    logp = np.log(probs)
    active = np.ones(1, dtype=bool)
    adapted = script.shifted(logp, codes, free[None], reference, active)
    base = np.argmax(logp, axis=1)
    assert script.offsets_script.macro(gold, adapted) > script.offsets_script.macro(gold, base)
    assert np.array_equal(script.shifted(logp, codes, free[None], reference, ~active), base)


def test_shares_from_corrections_leave_streams_without_any_at_the_reference(
    script: ModuleType,
) -> None:
    reference = np.array([0.2, 0.4, 0.4])
    gold = np.array([1, 1, 1, 0, 2, 2])
    codes = np.array([0, 0, 0, 1, 1, 1])
    known = np.array([True, True, True, False, False, False])
    shares = script.label_shares(gold, codes, known, 2, reference, 3.0)
    assert np.allclose(shares[0], (np.array([0, 3, 0]) + 3 * reference) / 6)
    assert np.allclose(shares[1], reference)


def test_topics_are_runs_sharing_a_word_and_long_runs_are_cut(script: ModuleType) -> None:
    texts = [f"@Zebra tweet {i}" for i in range(100)] + [f"about #Yak {i}" for i in range(200)]
    texts += ["not in a topic file"]
    origins = ["twitter-2016train"] * 300 + ["twitter-2013train"]
    topic = script.topics(texts, origins)
    assert set(topic) == set(range(300))
    assert {topic[k] for k in range(100)} == {"2016train:zebra"}
    assert {topic[k] for k in range(100, 300)} == {"2016train:yak#0", "2016train:yak#1"}
    ids = script.stream_ids([0, 150, 300], texts, origins, 20)
    assert ids == ["2016train:zebra", "2016train:yak#0", "2013train:0"]


def test_confusions_give_pooled_and_per_stream_scores(script: ModuleType) -> None:
    gold = np.array([0, 1, 2, 1, 1])
    pred = np.array([0, 1, 2, 2, 1])
    codes = np.array([0, 0, 0, 1, 1])
    confusion = script.confusions(gold, pred, codes, 2)
    assert confusion.sum() == 5
    assert script.pooled(confusion) == pytest.approx(script.offsets_script.macro(gold, pred))
    # stream 1 holds only neutral gold: its macro-F1 is neutral's F1 (2/3)
    assert np.allclose(script.per_stream(confusion), [1.0, 2 / 3])
