"""The labelled-tweet readers every sentiment script uses (benchmarks/sentiment_data.py),
on a tiny corpus written here in the shared corpora's layout."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import sentiment_data as sd


def _write(folder: Path, name: str, lines: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")


@pytest.fixture
def labelled(tmp_path: Path) -> Path:
    for language in ("french", "english", *sd.EXTRA_LANGUAGES):
        for split in ("train", "val"):
            texts = [f"{language} {split} {i} é" for i in range(3)]
            _write(tmp_path / "umsab" / language, f"{split}_text.txt", texts)
            _write(tmp_path / "umsab" / language, f"{split}_labels.txt", ["0", "1", "2"])
    semeval = tmp_path / sd.SEMEVAL
    _write(semeval, "text.txt", ["caf\\u00e9 ok", "held back", "smile \\ud83d\\ude00"])
    _write(semeval, "labels.txt", ["2", "0", "1"])
    _write(semeval, "origin.txt", ["twitter-2013train", "twitter-2016test", "twitter-2016dev"])
    return tmp_path


def test_splits_read_french_and_english_in_file_order(labelled: Path) -> None:
    split = sd.read_split(labelled / "umsab", "val")
    assert list(split) == ["fr", "en"]
    texts, labels = split["fr"]
    assert texts == ["french val 0 é", "french val 1 é", "french val 2 é"]
    assert labels.tolist() == [0, 1, 2]


def test_semeval_is_unescaped_and_test_files_stay_out(labelled: Path) -> None:
    texts, labels, origins = sd.read_semeval(labelled)
    assert texts == ["café ok", "held back", "smile 😀"]  # a surrogate pair made whole
    assert labels == [2, 0, 1] and origins[1] == "twitter-2016test"
    assert sd.semeval_train_dev(labelled) == [("café ok", 2, 0), ("smile 😀", 1, 2)]
    assert sd.read_source(labelled, "semeval") == (texts, labels)
    assert sd.read_source(labelled, "umsab/german/train")[0][0] == "german train 0 é"


def test_extra_tweets_are_shuffled_the_same_way_every_time(labelled: Path) -> None:
    texts, labels = sd.read_extra(labelled, None)
    assert len(texts) == len(sd.EXTRA_LANGUAGES) * 2 * 3 + 2  # no French/English, no test
    assert "held back" not in texts and not any(t.startswith("french") for t in texts)
    assert texts != sorted(texts)  # shuffled
    again, _ = sd.read_extra(labelled, 5)
    assert again == texts[:5] and len(labels) == len(texts)


def test_a_labels_file_out_of_step_is_refused(labelled: Path) -> None:
    _write(labelled / "umsab" / "english", "train_labels.txt", ["0", "1"])
    with pytest.raises(SystemExit, match="3 texts but 2 labels"):
        sd.read_split(labelled / "umsab", "train")
