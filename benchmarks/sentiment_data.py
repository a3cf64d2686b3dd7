"""The labelled tweets the sentiment scripts train and choose on, read one way.

../shared/corpora/labelled holds, one text a line beside its labels (0 negative,
1 neutral, 2 positive):
- umsab/<language>/{train,val}_text.txt and _labels.txt: UMSAB / XLM-T, eight languages;
- semeval2013-2016-en/text.txt, labels.txt and origin.txt: SemEval 2013-2016 task 4A
  tweets, each with the file it came from (only the train and dev files may be used).

Test splits are held back for acceptance and are not read here. Every script reads these
files through this module, so they all see the same rows in the same order.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

#: the languages the product reads, and their UMSAB folders.
LANGUAGES = {"fr": "french", "en": "english"}
#: the other UMSAB languages, read as extra training tweets.
EXTRA_LANGUAGES = ("spanish", "portuguese", "italian", "german", "arabic", "hindi")
SEMEVAL = "semeval2013-2016-en"
# SemEval 2013-2016 task 4A files that are train or dev sets (the test sets stay out).
SEMEVAL_TRAIN_DEV = (
    "twitter-2013train",
    "twitter-2013dev",
    "twitter-2015train",
    "twitter-2016train",
    "twitter-2016dev",
)
SEED = 0
_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")

Split = dict[str, tuple[list[str], NDArray[np.int64]]]


def unescape(text: str) -> str:
    """SemEval texts write non-ASCII characters as literal \\uXXXX escapes."""
    text = _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def _labels(path: Path) -> list[int]:
    return [int(v) for v in path.read_text(encoding="utf-8").split()]


def read_umsab(folder: Path, split: str) -> tuple[list[str], list[int]]:
    """The texts and labels of one UMSAB language folder's split ('train' or 'val');
    SystemExit when the two files disagree in length."""
    texts, labels = _lines(folder / f"{split}_text.txt"), _labels(folder / f"{split}_labels.txt")
    if len(texts) != len(labels):
        raise SystemExit(f"{folder}: {len(texts)} texts but {len(labels)} labels")
    return texts, labels


def read_semeval(labelled: Path) -> tuple[list[str], list[int], list[str]]:
    """Every SemEval tweet (unescaped), its label and its origin file, in file order; use
    only those whose origin is in SEMEVAL_TRAIN_DEV."""
    folder = labelled / SEMEVAL
    texts = [unescape(t) for t in _lines(folder / "text.txt")]
    labels = _labels(folder / "labels.txt")
    origins = (folder / "origin.txt").read_text(encoding="utf-8").split()
    if not len(texts) == len(labels) == len(origins):
        raise SystemExit(
            f"{folder}: {len(texts)} texts, {len(labels)} labels, {len(origins)} origins"
        )
    return texts, labels, origins


def semeval_train_dev(labelled: Path) -> list[tuple[str, int, int]]:
    """(text, label, line) of the SemEval tweets from train and dev files, in file order."""
    texts, labels, origins = read_semeval(labelled)
    return [
        (t, y, i)
        for i, (t, y, o) in enumerate(zip(texts, labels, origins, strict=True))
        if o in SEMEVAL_TRAIN_DEV
    ]


def read_source(labelled: Path, source: str) -> tuple[list[str], list[int]]:
    """The texts and labels of one source as the embedding cache's order.json names it:
    'semeval' (every line, unescaped) or 'umsab/<language>/<split>'."""
    if source == "semeval":
        texts, labels, _ = read_semeval(labelled)
        return texts, labels
    _, language, split = source.split("/")
    return read_umsab(labelled / "umsab" / language, split)


def read_split(data: Path, split: str) -> Split:
    """{lang: (texts, labels)} of French and English for one split of UMSAB (`data`)."""
    out: Split = {}
    for code, folder in LANGUAGES.items():
        texts, labels = read_umsab(data / folder, split)
        out[code] = (texts, np.asarray(labels, dtype=np.int64))
    return out


def read_extra(labelled: Path, limit: int | None) -> tuple[list[str], NDArray[np.int64]]:
    """The extra training tweets of `labelled` (../shared/corpora/labelled): the six other
    UMSAB languages (train and val) and the SemEval 2013-2016 train and dev files, in a
    fixed shuffled order (seed 0), so the first `limit` are a stratified sample."""
    rows: list[tuple[str, int]] = []
    for language in EXTRA_LANGUAGES:
        for split in ("train", "val"):
            texts, labels = read_umsab(labelled / "umsab" / language, split)
            rows += list(zip(texts, labels, strict=True))
    rows += [(t, y) for t, y, _ in semeval_train_dev(labelled)]
    random.Random(SEED).shuffle(rows)
    rows = rows[:limit] if limit is not None else rows
    return [t for t, _ in rows], np.asarray([y for _, y in rows], dtype=np.int64)
