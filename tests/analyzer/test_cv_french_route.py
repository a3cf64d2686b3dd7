"""scripts/cv_french_route.py's parts on small data written for this test (the full run
tunes one encoder per fold: far too slow for the suite)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "cv_french_route.py"


@pytest.fixture(scope="module")
def script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("cv_french_route", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def test_each_fold_is_written_per_language_with_no_tweet_on_both_sides(
    tmp_path: Path, script: ModuleType
) -> None:
    texts = [f"tweet {i}" for i in range(24)]
    y = np.asarray([i % 3 for i in range(24)], dtype=np.int64)
    lang = np.asarray([0] * 12 + [1] * 12, dtype=np.int64)
    folds = script.make_folds(y, lang, 2)
    for k, (tr, te) in enumerate(folds):
        script.write_fold(tmp_path / str(k), texts, y, lang, tr, te)
    seen: list[str] = []
    for k in range(2):
        for i, name in enumerate(script.LANGS):
            train = _lines(tmp_path / str(k) / name / "train_text.txt")
            held = _lines(tmp_path / str(k) / name / "val_text.txt")
            assert not set(train) & set(held)
            assert sorted(train + held) == sorted(
                t for t, g in zip(texts, lang, strict=True) if g == i
            )
            labels = [int(v) for v in _lines(tmp_path / str(k) / name / "val_labels.txt")]
            assert labels == [y[texts.index(t)] for t in held]
            seen += held
    assert sorted(seen) == sorted(texts)  # every tweet is held out exactly once


def test_extra_tweets_skip_french_and_english_train_and_the_dropped_ones(
    tmp_path: Path, script: ModuleType
) -> None:
    labelled = tmp_path / "labelled"
    for language, rows in {
        "french": ["Un tweet français", "Encore un"],
        "spanish": ["Me encanta", "Lo odio", "Abre a las nueve"],
    }.items():
        folder = labelled / "umsab" / language
        folder.mkdir(parents=True)
        (folder / "train_text.txt").write_text("\n".join(rows) + "\n", encoding="utf-8")
        labels = {"french": "1\n1\n", "spanish": "2\n0\n1\n"}[language]
        (folder / "train_labels.txt").write_text(labels)
    semeval = labelled / "semeval2013-2016-en"
    semeval.mkdir(parents=True)
    (semeval / "text.txt").write_text("Caf\\u00e9 closed again\n")
    (semeval / "labels.txt").write_text("0\n")
    (semeval / "origin.txt").write_text("twitter-2013train\n")  # as the shared corpus holds
    cache = tmp_path / "veille"
    cache.mkdir()
    order = [
        ["umsab/french/train", 1],
        ["umsab/spanish/train", 2],
        ["semeval", 0],
        ["umsab/spanish/train", 0],
        ["umsab/spanish/train", 1],  # not embedded yet: past the last chunk
    ]
    (cache / "order.json").write_text(json.dumps(order))
    vectors = np.arange(4 * 3, dtype=np.float32).reshape(4, 3)
    np.save(cache / "chunk-0000.npy", vectors[:2])
    np.save(cache / "chunk-0001.npy", vectors[2:])
    texts, x, labels = script.read_veille_extra(cache, labelled, drop={"me encanta"})
    assert texts == ["Abre a las nueve", "Café closed again"]
    assert labels.tolist() == [1, 0]
    np.testing.assert_array_equal(x, vectors[[1, 2]])


def test_a_fold_head_reads_held_out_rows(script: ModuleType) -> None:
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 40)
    centres = np.eye(3, 8, dtype=np.float32) * 3
    x = (centres[y] + rng.normal(scale=0.5, size=(len(y), 8))).astype(np.float32)
    words = ["awful bad", "the shop", "great love"]
    texts = [f"{words[label]} {i}" for i, label in enumerate(y)]
    counts = script.heads.ngram_counts(texts, script.heads.NGRAM_BITS, 1)
    fit, held = np.arange(0, len(y), 2), np.arange(1, len(y), 2)
    args = (x[fit], counts[fit], y[fit], np.ones(len(fit)), x[held], counts[held], 3.0, 3.0)
    embedding_only = script.head_logp(*args, 0.0)
    np.testing.assert_allclose(np.exp(embedding_only).sum(axis=1), 1.0, rtol=1e-5)
    mixed = script.head_logp(*args, 0.3)  # a weighted mix of log-probabilities
    assert not np.allclose(mixed, embedding_only)
    assert (mixed.argmax(axis=1) == y[held]).mean() > 0.95


def test_the_extra_tweets_are_listed_closest_languages_first_without_held_out_splits(
    tmp_path: Path,
) -> None:
    spec = importlib.util.spec_from_file_location(
        "embed_extra_veille", SCRIPT.parent / "embed_extra_veille.py"
    )
    assert spec and spec.loader
    embed = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(embed)
    labelled = tmp_path / "labelled"
    languages = (
        "french",
        "english",
        "spanish",
        "italian",
        "portuguese",
        "german",
        "arabic",
        "hindi",
    )
    for language in languages:
        folder = labelled / "umsab" / language
        folder.mkdir(parents=True)
        for split in ("train", "val", "test"):
            (folder / f"{split}_text.txt").write_text(
                f"{language} {split} a\n{language} {split} b\n"
            )
            (folder / f"{split}_labels.txt").write_text("0\n2\n")  # read with the texts
    semeval = labelled / "semeval2013-2016-en"
    semeval.mkdir()
    (semeval / "text.txt").write_text("dev tweet\ntest tweet\n")
    (semeval / "labels.txt").write_text("1\n1\n")
    (semeval / "origin.txt").write_text("twitter-2013dev\ntwitter-2016test\n")
    rows = embed.rows(labelled)
    sources = [source for source, _, _ in rows]
    assert sources[:4] == ["umsab/french/train"] * 2 + ["umsab/english/train"] * 2
    romance = {
        f"umsab/{lang}/{s}"
        for lang in ("spanish", "italian", "portuguese")
        for s in ("train", "val")
    }
    assert set(sources[4:16]) == romance
    assert sources[16] == "semeval" and [t for s, _, t in rows if s == "semeval"] == ["dev tweet"]
    assert len(rows) == 4 + 12 + 1 + 12
    texts = {text for _, _, text in rows}
    assert not any(" test " in t or t.endswith("test a") for t in texts)
    assert not {"french val a", "english val b"} & texts
