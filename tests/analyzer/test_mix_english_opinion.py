"""scripts/mix_english_opinion.py: the share choice, on synthetic readings."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from numpy.typing import NDArray

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "mix_english_opinion.py"
NO_OFFSETS = np.zeros(3, np.float32)


@pytest.fixture(scope="module")
def script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("mix_english_opinion", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _readings(
    gold: NDArray[np.int64], right: float, rng: np.random.Generator
) -> NDArray[np.float32]:
    """Log-probabilities that pick the gold class on about `right` of the rows, else a
    random wrong one, with some confidence noise."""
    n = len(gold)
    guess = np.where(rng.random(n) < right, gold, (gold + rng.integers(1, 3, n)) % 3)
    logits = rng.normal(0.0, 0.3, (n, 3))
    logits[np.arange(n), guess] += rng.uniform(0.2, 1.5, n)
    out: NDArray[np.float32] = (logits - np.log(np.exp(logits).sum(1, keepdims=True))).astype(
        np.float32
    )
    return out


def test_an_opinion_with_other_mistakes_gets_a_share_that_pays_on_held_halves(
    script: ModuleType,
) -> None:
    rng = np.random.default_rng(0)
    gold = rng.integers(0, 3, 2000)
    head, minilm = _readings(gold, 0.7, rng), _readings(gold, 0.7, rng)  # independent errors
    score, minilm_share, vader_share = script.choose_shares(
        gold, head, minilm, np.zeros_like(head), NO_OFFSETS
    )
    assert 0.2 <= minilm_share <= 0.6 and vader_share == 0.0
    head_alone = script.heads.macro_f1(gold, head.argmax(1))
    assert score > head_alone + 0.03
    halves = script.held_halves(gold, head, minilm, np.zeros_like(head), NO_OFFSETS)
    assert halves["mixed"] > halves["head"] + 0.03
    assert all(a > 0 for a, _ in halves["chosen_minilm_vader"])


def test_an_opinion_that_adds_nothing_gets_no_share(script: ModuleType) -> None:
    rng = np.random.default_rng(1)
    gold = rng.integers(0, 3, 2000)
    head = _readings(gold, 0.8, rng)
    noise = _readings(rng.integers(0, 3, 2000), 1.0, rng)  # confident, unrelated to gold
    score, minilm_share, vader_share = script.choose_shares(
        gold, head, noise, noise, NO_OFFSETS, script.VADER_GRID
    )
    assert (minilm_share, vader_share) == (0.0, 0.0)
    assert score == round(script.heads.macro_f1(gold, head.argmax(1)), 5)


def test_a_third_reader_gets_its_share_only_when_offered(script: ModuleType) -> None:
    rng = np.random.default_rng(2)
    gold = rng.integers(0, 3, 2000)
    head, minilm, vader = (_readings(gold, 0.65, rng) for _ in range(3))
    _, _, without = script.choose_shares(gold, head, minilm, vader, NO_OFFSETS)
    _, _, with_vader = script.choose_shares(
        gold, head, minilm, vader, NO_OFFSETS, script.VADER_GRID
    )
    assert without == 0.0 and with_vader > 0.0


def test_class_offsets_are_added_after_the_mix(script: ModuleType) -> None:
    head = np.log(np.asarray([[0.5, 0.3, 0.2]], np.float32))
    other = np.log(np.asarray([[0.2, 0.3, 0.5]], np.float32))
    offsets = np.asarray([0.0, 0.0, 1.0], np.float32)
    reading = script.mixed(head, other, other, (0.25, 0.0), offsets)
    expected = 0.75 * head + 0.25 * other + offsets
    np.testing.assert_allclose(reading, expected, rtol=1e-6)


def test_the_written_file_keeps_minilm_and_records_the_shares(
    tmp_path: Path, script: ModuleType
) -> None:
    source = tmp_path / "source.npz"
    metadata = {"mix": 0.55, "minilm_share": 0.4, "vader_share": 0.15, "recipe": {"rank": 0}}
    arrays = {
        "set:encoder.layer.0.output.dense.bias": np.arange(4, dtype=np.float32),
        "head_weights": np.ones((3, 384), np.float32),
        "head_bias": np.zeros(3, np.float32),
        "vader_weights": np.ones((3, 4), np.float32),
        "vader_bias": np.zeros(3, np.float32),
        "metadata": np.asarray(json.dumps(metadata)),
    }
    np.savez_compressed(source, allow_pickle=False, **arrays)
    output = tmp_path / "out.npz"
    script.write_opinion(source, output, (0.25, 0.0), None, {"how": "test"})
    with np.load(output) as written:
        assert "vader_weights" not in written.files
        np.testing.assert_array_equal(
            written["set:encoder.layer.0.output.dense.bias"], np.arange(4, dtype=np.float32)
        )
        stored = json.loads(str(written["metadata"]))
    assert (stored["mix"], stored["minilm_share"], stored["vader_share"]) == (0.25, 0.25, 0.0)
    assert stored["recipe"] == {"rank": 0} and stored["reselected"] == {"how": "test"}
